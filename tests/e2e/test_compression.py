"""Response compression (SPEC §10, listeners[].compression): gzip for the
clients whose Accept-Encoding takes it, over HTTP/1.1 and HTTP/2, streamed
as the server sends; never on encoded, ranged, small, no-transform or HEAD
responses; Vary: Accept-Encoding on every response eligible by type."""

import gzip
import hashlib
import json
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import zlib

import backends as B
from lbdtest import (HOST, HttpClient, LbdTestCase, RssSampler, admin_request, config, free_port,
                     lbd_bin, listener, pool, wait_port)

CURL = shutil.which("curl")
NGHTTPD = shutil.which("nghttpd")

JSON_BODY = json.dumps([{"id": i, "name": "item %d" % i, "tags": ["a", "b", "c"]}
                        for i in range(400)]).encode()
HTML_PART = b"<p>" + b"lbd streams this paragraph of text. " * 200 + b"</p>\n"


def random_bytes(n, seed):
    return random.Random(seed).randbytes(n)


def handler(backend, req):
    """One answer per path; /json has a length, /chunked has none."""
    path = req.target.split("?")[0]
    text = [("Content-Type", "text/html; charset=utf-8")]
    if path == "/json":
        return B.Response(200, JSON_BODY, headers=[
            ("Content-Type", "Application/JSON; charset=utf-8"), ("ETag", '"v1"'),
            ("Vary", "Origin")])
    if path == "/chunked":
        return B.Response(200, [HTML_PART] * 300, chunked=True, headers=text)
    if path == "/small":
        return B.Response(200, b"<p>short</p>", headers=text)
    if path == "/encoded":
        return B.Response(200, gzip.compress(HTML_PART), headers=text + [
            ("Content-Encoding", "gzip")])
    if path == "/range":
        return B.Response(206, HTML_PART[:2000], headers=text + [
            ("Content-Range", "bytes 0-1999/%d" % len(HTML_PART))])
    if path == "/no-transform":
        return B.Response(200, HTML_PART, headers=text + [
            ("Cache-Control", "public, no-transform")])
    if path == "/png":
        return B.Response(200, HTML_PART, headers=[("Content-Type", "image/png")])
    if path == "/vary-star":
        return B.Response(200, HTML_PART, headers=text + [("Vary", "*")])
    if path == "/close":    # the server's close ends the body
        return B.Response(200, HTML_PART * 20, no_length=True, close=True, headers=text)
    if path == "/abort":
        return B.Response(200, [HTML_PART] * 50, chunked=True, abort_after=30000,
                          headers=text)
    if path == "/empty":
        return B.Response(204, b"", headers=text)
    return B.Response(404, b"no\n", headers=[("Content-Type", "text/plain")])


def metric(lbd, name, **labels):
    text = admin_request(lbd.admin_socket, "GET", "/metrics").body.decode()
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{") and line.split("{", 1)[1].startswith(want + "}"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


class CompressionTest(LbdTestCase):
    def start(self, compression=None, handler_fn=handler):
        b = self.backends.http("b1", handler=handler_fn)
        self.port = free_port()
        lst = listener("web", self.port, "p")
        lst["compression"] = compression if compression is not None else {
            "types": ["text/html", "application/json"], "min_size": "1k"}
        self.lbd = self.start_lbd(config([lst], [pool("p", [b])]))
        return b

    def get(self, target, accept="gzip", method="GET", version="HTTP/1.1"):
        headers = [("Accept-Encoding", accept)] if accept is not None else []
        with HttpClient(self.port) as c:
            return c.request(method=method, target=target, headers=headers, version=version)

    def test_length_body_is_gzipped(self):
        self.start()
        r = self.get("/json", accept="deflate, gzip;q=0.8")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-encoding"), "gzip")
        self.assertIsNone(r.header("content-length"))
        self.assertEqual(r.header("transfer-encoding"), "chunked")
        self.assertEqual(r.headers_all("vary"), ["Origin, Accept-Encoding"])
        self.assertEqual(r.header("etag"), 'W/"v1"')
        self.assertEqual(gzip.decompress(r.body), JSON_BODY)
        self.assertLess(len(r.body), len(JSON_BODY) // 4)
        line = self.lbd.access_lines(count=1)[0]
        self.assertEqual(line["status"], 200)
        self.assertEqual(metric(self.lbd, "lbd_listener_compressed_responses_total",
                                listener="web"), 1)
        self.assertEqual(metric(self.lbd, "lbd_listener_compression_in_bytes_total",
                                listener="web"), len(JSON_BODY))

    def test_chunked_body_with_curl(self):
        self.start()
        out = subprocess.run([CURL, "-s", "--compressed", "-D", "-",
                              "http://%s:%d/chunked" % (HOST, self.port)],
                             capture_output=True, timeout=20)
        head, _, body = out.stdout.partition(b"\r\n\r\n")
        self.assertIn(b"content-encoding: gzip", head.lower())
        self.assertIn(b"vary: accept-encoding", head.lower())
        self.assertEqual(body, HTML_PART * 300)

    def test_no_gzip_for_clients_that_refuse_it(self):
        self.start()
        for accept in (None, "", "identity", "gzip;q=0, *", "gzip; q=0.000", "br",
                       "*;q=0"):
            r = self.get("/json", accept=accept)
            self.assertIsNone(r.header("content-encoding"), accept)
            self.assertEqual(r.body, JSON_BODY, accept)
            self.assertEqual(r.header("content-length"), str(len(JSON_BODY)), accept)
            self.assertEqual(r.headers_all("vary"), ["Origin, Accept-Encoding"], accept)
            self.assertEqual(r.header("etag"), '"v1"', accept)
        for accept in ("br;q=1, *;q=0.5", "X-GZIP", "gzip;q=1.0"):
            r = self.get("/json", accept=accept)
            self.assertEqual(r.header("content-encoding"), "gzip", accept)
            self.assertEqual(gzip.decompress(r.body), JSON_BODY, accept)

    def test_responses_left_as_they_are(self):
        self.start()
        r = self.get("/encoded")
        self.assertEqual(gzip.decompress(r.body), HTML_PART)
        self.assertEqual(r.headers_all("content-encoding"), ["gzip"])
        self.assertEqual(r.headers_all("vary"), [])
        for path in ("/range", "/no-transform", "/png"):
            r = self.get(path)
            self.assertIsNone(r.header("content-encoding"), path)
            self.assertEqual(r.headers_all("vary"), [], path)
            self.assertIsNotNone(r.header("content-length"), path)
        self.assertEqual(self.get("/range").status, 206)
        r = self.get("/small")   # under min_size: eligible, not worth it
        self.assertEqual((r.body, r.header("content-length")), (b"<p>short</p>", "12"))
        self.assertEqual(r.headers_all("vary"), ["Accept-Encoding"])
        r = self.get("/vary-star")
        self.assertEqual(r.header("content-encoding"), "gzip")
        self.assertEqual(r.headers_all("vary"), ["*"])
        r = self.get("/empty")
        self.assertEqual((r.status, r.header("content-encoding")), (204, None))

    def test_head_and_http10_get_no_gzip(self):
        self.start()
        r = self.get("/json", method="HEAD")
        self.assertEqual((r.status, r.body), (200, b""))
        self.assertIsNone(r.header("content-encoding"))
        self.assertEqual(r.header("content-length"), str(len(JSON_BODY)))
        self.assertEqual(r.headers_all("vary"), ["Origin, Accept-Encoding"])
        r = self.get("/json", version="HTTP/1.0")
        self.assertIsNone(r.header("content-encoding"))
        self.assertEqual(r.body, JSON_BODY)

    def test_server_close_and_abort(self):
        self.start()
        r = self.get("/close")
        self.assertEqual(r.header("content-encoding"), "gzip")
        self.assertEqual(gzip.decompress(r.body), HTML_PART * 20)
        with HttpClient(self.port) as c:
            c.send(b"GET /abort HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
            r = c.read_head()
            self.assertEqual(r.header("content-encoding"), "gzip")
            with self.assertRaises(Exception):
                c.read_body(r)
        self.assertEqual(self.get("/json").header("content-encoding"), "gzip")
        self.assertEqual(metric(self.lbd, "lbd_listener_compressed_responses_total",
                                listener="web"), 2)

    def test_defaults_with_true(self):
        self.start(compression=True)
        r = self.get("/json")
        self.assertEqual(gzip.decompress(r.body), JSON_BODY)
        r = self.get("/small")
        self.assertIsNone(r.header("content-encoding"))

    @unittest.skipUnless(CURL, "no curl")
    def test_http2_client(self):
        self.start()
        for path, want in (("/json", JSON_BODY), ("/chunked", HTML_PART * 300)):
            out = subprocess.run([CURL, "-s", "--http2-prior-knowledge", "--compressed", "-D",
                                  "-", "http://%s:%d%s" % (HOST, self.port, path)],
                                 capture_output=True, timeout=20)
            head, _, body = out.stdout.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/2 200"), head)
            self.assertIn(b"content-encoding: gzip", head, path)
            self.assertIn(b"accept-encoding",
                          head.split(b"vary:", 1)[1].split(b"\r\n")[0].lower())
            self.assertNotIn(b"content-length", head, path)
            self.assertEqual(body, want, path)
        self.assertEqual(metric(self.lbd, "lbd_listener_compressed_responses_total",
                                listener="web"), 2)

    @unittest.skipUnless(NGHTTPD and CURL, "no nghttpd or curl")
    def test_from_an_http2_server(self):
        docroot = tempfile.mkdtemp(prefix="lbd-gz-")
        self.addCleanup(shutil.rmtree, docroot)
        with open(os.path.join(docroot, "index.html"), "wb") as f:
            f.write(HTML_PART * 40)
        sport = free_port()
        proc = subprocess.Popen([NGHTTPD, "--no-tls", "-d", docroot, str(sport)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(proc.wait, 5)
        self.addCleanup(proc.kill)
        self.assertTrue(wait_port(sport, timeout=10))
        self.port = free_port()
        lst = listener("web", self.port, "p")
        lst["compression"] = True
        self.lbd = self.start_lbd(config([lst], [pool("p", ["%s:%d" % (HOST, sport)],
                                                      protocol="h2")]))
        r = self.get("/index.html")
        self.assertEqual(r.header("content-encoding"), "gzip")
        self.assertIsNone(r.header("content-length"))
        self.assertEqual(gzip.decompress(r.body), HTML_PART * 40)
        out = subprocess.run([CURL, "-s", "--http2-prior-knowledge", "--compressed", "-D", "-",
                              "http://%s:%d/index.html" % (HOST, self.port)],
                             capture_output=True, timeout=20)
        head, _, body = out.stdout.partition(b"\r\n\r\n")
        self.assertIn(b"content-encoding: gzip", head)
        self.assertNotIn(b"content-length", head)
        self.assertEqual(body, HTML_PART * 40)
        r = self.get("/index.html", accept=None)
        self.assertEqual(r.body, HTML_PART * 40)
        self.assertEqual(r.headers_all("vary"), ["Accept-Encoding"])

    def test_a_pausing_server_is_flushed(self):
        go_on = threading.Event()

        def paused(backend, req):
            def body():
                yield HTML_PART
                go_on.wait(5)
                yield HTML_PART
            return B.Response(200, body(), chunked=True, headers=[("Content-Type", "text/html")])

        self.addCleanup(go_on.set)
        self.start(handler_fn=paused)
        with HttpClient(self.port) as c:
            c.send(B"GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
            r = c.read_head()
            self.assertEqual(r.header("content-encoding"), "gzip")
            d = zlib.decompressobj(wbits=31)
            got = bytearray()
            deadline = time.monotonic() + 3
            while len(got) < len(HTML_PART) and time.monotonic() < deadline:
                size = int(c._line(deadline).split(b";")[0], 16)
                got += d.decompress(c._take(size, deadline))
                c._line(deadline)
            self.assertEqual(bytes(got), HTML_PART)   # before the server went on
            go_on.set()
            c.read_body(r, sink=lambda b: got.extend(d.decompress(b)))
            self.assertEqual(bytes(got), HTML_PART * 2)
            self.assertTrue(d.eof)

    def test_slow_reader_keeps_memory_bounded(self):
        n = 48 * 1024 * 1024
        data = random_bytes(1 << 20, 7)   # does not compress: gzip's out = in

        def big(backend, req):
            return B.Response(200, (data for _ in range(n >> 20)), chunked=True,
                              headers=[("Content-Type", "text/plain")])

        self.start(compression={"types": ["text/plain"]}, handler_fn=big)
        base = self.lbd.rss_kb()
        with HttpClient(self.port, timeout=30) as c:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            with RssSampler(self.lbd) as rss:
                c.send(b"GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
                time.sleep(1.5)   # reads nothing: lbd must stop reading the server
                r = c.read_head()
                d = zlib.decompressobj(wbits=31)
                h = hashlib.sha256()
                count = [0]

                def sink(b):
                    out = d.decompress(b)
                    count[0] += len(out)
                    h.update(out)
                c.read_body(r, sink=sink, timeout=30)
        self.assertEqual(count[0], n)
        self.assertEqual(h.hexdigest(), hashlib.sha256(data * (n >> 20)).hexdigest())
        self.assertLess(rss.max_kb - base, 24 * 1024, "lbd grew while the client was slow")


class CompressionConfigTest(LbdTestCase):
    def check(self, compression):
        lst = listener("web", free_port(), "p")
        lst["compression"] = compression
        text = config([lst], [pool("p", ["127.0.0.1:9"])])
        tmp = tempfile.mkdtemp(prefix="lbd-gz-")
        self.addCleanup(shutil.rmtree, tmp)
        path = os.path.join(tmp, "lbd.yaml")
        with open(path, "w") as f:
            f.write(text.replace("@ACCESS_LOG@", "off").replace("@TMPDIR@", tmp))
        return subprocess.run([lbd_bin(), "-t", "-c", path], capture_output=True, text=True,
                              timeout=20)

    def test_good_and_bad(self):
        for good in (True, False, {}, {"types": ["text/*", "Application/JSON"], "level": 9,
                                       "min_size": 0}):
            r = self.check(good)
            self.assertEqual(r.returncode, 0, (good, r.stderr))
        for bad, why in (({"types": ["text/html; charset=utf-8"]}, "media type"),
                         ({"types": ["html"]}, "media type"),
                         ({"level": 10}, "from 1 to 9"),
                         ({"min_size": "big"}, "size"),
                         ({"gzip": True}, "gzip"),
                         ("yes", "true or false")):
            r = self.check(bad)
            self.assertNotEqual(r.returncode, 0, bad)
            self.assertIn("listeners[0].compression", r.stderr, bad)
            self.assertIn(why, r.stderr, bad)


if __name__ == "__main__":
    unittest.main()

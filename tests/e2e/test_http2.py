"""HTTP/2 from clients (SPEC §9) with real clients: curl (--http2 over TLS
by ALPN, --http2-prior-knowledge for h2c), nghttp and h2load. Each stream
is a request like any other: the server gets HTTP/1.1 with Host from
:authority, X-Forwarded-*, the body chunked when the client gave no
length; routes, lbd's own errors, sticky cookies, limits and the access log
(`protocol` HTTP/2.0) apply; `http2: false` turns it off; a stop sends
GOAWAY and lets open streams finish."""

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest

import backends as B
from lbdtest import (HOST, LbdTestCase, HttpClient, config, free_port, listener,
                     metric, pool)

try:
    import h2.connection
    import h2.events
except ImportError:
    h2 = None

CURL = shutil.which("curl")
NGHTTP = shutil.which("nghttp")
H2LOAD = shutil.which("h2load")


def curl(*args, timeout=20, data=None):
    """curl -s with ARGS; returns (http_version, status, headers, body)."""
    out = subprocess.run([CURL, "-s", "-D", "-", "-w", "\n%{http_version} %{http_code}"]
                         + list(args), input=data, capture_output=True, timeout=timeout)
    text = out.stdout
    tail = text.rsplit(b"\n", 1)
    version, code = tail[1].decode().split()
    head, _, body = tail[0].partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return version, int(code), headers, body


@unittest.skipUnless(CURL, "no curl")
class Http2Test(LbdTestCase):
    def start(self, handler=None, backends=None, listener_kw=None, pool_kw=None, **cfg_kw):
        bs = backends or [self.backends.http("b1", handler)]
        port = free_port()
        lst = listener("web", port, "p")
        lst.update(listener_kw or {})
        lbd = self.start_lbd(config([lst], [pool("p", bs, **(pool_kw or {}))], **cfg_kw))
        return lbd, port, bs

    def url(self, port, path="/"):
        return "http://%s:%d%s" % (HOST, port, path)

    # ---- h2c with prior knowledge ----------------------------------------

    def test_h2c_request_reaches_the_server_as_http11(self):
        lbd, port, (b,) = self.start()
        version, status, headers, body = curl("--http2-prior-knowledge",
                                              self.url(port, "/a?b=c"))
        self.assertEqual((version, status, body), ("2", 200, b"b1\n"))
        self.assertEqual(headers["x-backend"], ["b1"])
        req = b.wait_requests(1)[0]
        self.assertEqual((req.method, req.target, req.version), ("GET", "/a?b=c", "HTTP/1.1"))
        self.assertEqual(req.header("host"), "%s:%d" % (HOST, port))
        self.assertEqual(req.header("x-forwarded-for"), HOST)
        self.assertEqual(req.header("x-forwarded-proto"), "http")
        self.assertIsNone(req.header("te"))
        line = lbd.access_lines(count=1)[0]
        self.assertEqual((line["protocol"], line["status"], line["path"]),
                         ("HTTP/2.0", 200, "/a?b=c"))
        self.assertEqual(metric(lbd, "lbd_listener_http2_connections_total", listener="web"), 1)
        self.assertEqual(metric(lbd, "lbd_listener_http2_requests_total", listener="web"), 1)

    def test_http1_still_served_on_the_same_listener(self):
        lbd, port, _ = self.start()
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 200)
            self.assertEqual(c.request().status, 200)
        self.assertEqual(curl("--http2-prior-knowledge", self.url(port))[:2], ("2", 200))
        protocols = [ln["protocol"] for ln in lbd.access_lines(count=3)]
        self.assertEqual(protocols, ["HTTP/1.1", "HTTP/1.1", "HTTP/2.0"])

    def test_body_with_length_and_without(self):
        lbd, port, (b,) = self.start(B.digest_handler)
        data = B.pattern_bytes(300000)
        want = ("%d %s\n" % (len(data), B.pattern_sha256(len(data)))).encode()
        # With a length (Content-Length passes on) and without (curl -T -:
        # the stream has no length, the server gets it chunked).
        r = curl("--http2-prior-knowledge", "--data-binary", "@-", self.url(port, "/len"),
                 data=data)
        self.assertEqual((r[0], r[1], r[3]), ("2", 200, want))
        r = curl("--http2-prior-knowledge", "-T", "-", self.url(port, "/chunked"), data=data)
        self.assertEqual((r[0], r[1], r[3]), ("2", 200, want))
        reqs = b.wait_requests(2)
        self.assertEqual(reqs[0].header("content-length"), "300000")
        self.assertEqual(reqs[1].header("transfer-encoding"), "chunked")
        self.assertIsNone(reqs[1].header("content-length"))

    def test_large_response_streams(self):
        n = 4 * 1024 * 1024
        lbd, port, _ = self.start(B.big_handler(n, chunked=True))
        version, status, headers, body = curl("--http2-prior-knowledge", self.url(port))
        self.assertEqual((version, status, len(body)), ("2", 200, n))
        self.assertEqual(headers["x-sha256"], [B.pattern_sha256(n)])
        self.assertNotIn("transfer-encoding", headers)

    def test_lbd_errors_are_http2_answers(self):
        b = self.backends.http("b1")
        port = free_port()
        dead = free_port()
        lbd = self.start_lbd(config(
            [listener("web", port, routes=[
                {"match": {"path_prefix": "/dead"}, "pool": "dead"},
                {"match": {"host": "app.test"}, "pool": "p"}])],
            [pool("p", [b]), pool("dead", ["%s:%d" % (HOST, dead)])]))
        r = curl("--http2-prior-knowledge", self.url(port, "/nowhere"))
        self.assertEqual((r[0], r[1], r[3]), ("2", 404, b"404 Not Found\n"))
        self.assertEqual(r[2]["content-type"], ["text/plain"])
        r = curl("--http2-prior-knowledge", self.url(port, "/dead"))
        self.assertEqual((r[0], r[1]), ("2", 502))
        r = curl("--http2-prior-knowledge", "-H", "Host: app.test", self.url(port))
        self.assertEqual((r[0], r[1]), ("2", 200))
        self.assertEqual([ln["status"] for ln in lbd.access_lines(count=3)], [404, 502, 200])

    def test_header_list_over_the_limit_gets_431(self):
        lbd, port, (b,) = self.start(limits={"header_size": "4k"})
        r = curl("--http2-prior-knowledge", "-H", "X-Big: " + "a" * 5000, self.url(port))
        self.assertEqual((r[0], r[1]), ("2", 431))
        self.assertNothingReached(b)
        self.assertEqual(curl("--http2-prior-knowledge", self.url(port))[:2], ("2", 200))

    def test_sticky_cookie_over_http2(self):
        bs = [self.backends.http("s1"), self.backends.http("s2")]
        lbd, port, _ = self.start(backends=bs, pool_kw={"balance": "sticky_cookie"})
        r = curl("--http2-prior-knowledge", self.url(port))
        self.assertEqual(r[1], 200)
        cookie = r[2]["set-cookie"][0].split(";")[0]
        first = r[2]["x-backend"][0]
        for _ in range(6):
            r = curl("--http2-prior-knowledge", "-H", "Cookie: " + cookie, self.url(port))
            self.assertEqual(r[2]["x-backend"], [first])
            self.assertNotIn("set-cookie", r[2])

    @unittest.skipUnless(NGHTTP, "no nghttp")
    def test_cookie_crumbs_are_joined(self):
        lbd, port, (b,) = self.start()
        out = subprocess.run([NGHTTP, "-n", "-H", "cookie: a=1", "-H", "cookie: b=2",
                              self.url(port)], capture_output=True, timeout=10)
        self.assertEqual(out.returncode, 0, out.stderr)
        req = b.wait_requests(1)[0]
        self.assertEqual(req.headers_all("cookie"), ["a=1; b=2"])

    @unittest.skipUnless(NGHTTP, "no nghttp")
    def test_streams_are_multiplexed_on_one_connection(self):
        lbd, port, (b,) = self.start(B.delay_handler(0.3))
        urls = [self.url(port, "/s%d" % i) for i in range(20)]
        t0 = time.monotonic()
        out = subprocess.run([NGHTTP, "-n", "-s"] + urls, capture_output=True, timeout=20)
        elapsed = time.monotonic() - t0
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(len(b.wait_requests(20)), 20)
        # Twenty 0.3 s requests side by side, not one after the other.
        self.assertLess(elapsed, 3.0)
        self.assertEqual(metric(lbd, "lbd_listener_http2_connections_total", listener="web"), 1)

    @unittest.skipUnless(H2LOAD, "no h2load")
    def test_h2load_bounded_run_all_succeed(self):
        lbd, port, _ = self.start()
        out = subprocess.run([H2LOAD, "-n", "3000", "-c", "4", "-m", "10", self.url(port)],
                             capture_output=True, timeout=60, text=True)
        self.assertIn("3000 succeeded, 0 failed, 0 errored", out.stdout, out.stdout)
        self.assertIn("3000 2xx", out.stdout)
        self.assertEqual(metric(lbd, "lbd_listener_http2_requests_total", listener="web"),
                         3000)

    def test_h2_max_requests_then_goaway(self):
        lbd, port, _ = self.start(limits={"h2_max_requests": 5})
        if not NGHTTP:
            self.skipTest("no nghttp")
        urls = [self.url(port, "/r%d" % i) for i in range(5)]
        out = subprocess.run([NGHTTP, "-nv"] + urls, capture_output=True, timeout=10, text=True)
        # The fifth stream is served, and GOAWAY names it as the last.
        last = re.findall(r"send HEADERS frame <[^>]*stream_id=(\d+)>", out.stdout)[-1]
        self.assertRegex(out.stdout, r"recv GOAWAY frame.*\n.*last_stream_id=%s, "
                         r"error_code=NO_ERROR" % last)
        self.assertEqual(out.stdout.count(":status: 200"), 5)

    # ---- off, and the end ------------------------------------------------

    def test_http2_false_serves_http1_only(self):
        lbd, port, (b,) = self.start(listener_kw={"http2": False})
        r = subprocess.run([CURL, "-s", "-o", "/dev/null", "-w", "%{http_code}",
                            "--http2-prior-knowledge", self.url(port)],
                           capture_output=True, timeout=10, text=True)
        self.assertNotEqual(r.stdout, "200")
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 200)
        self.assertEqual(metric(lbd, "lbd_listener_http2_connections_total", listener="web"), 0)

    def test_stop_sends_goaway_and_open_streams_finish(self):
        lbd, port, (b,) = self.start(B.delay_handler(1.0))
        result = {}

        def run():
            result["r"] = curl("--http2-prior-knowledge", self.url(port, "/slow"))
        t = threading.Thread(target=run)
        t.start()
        b.wait_requests(1)
        lbd.proc.send_signal(signal.SIGTERM)
        t.join(10)
        self.assertEqual(result["r"][:2], ("2", 200))
        self.assertEqual(lbd.wait(10), 0)

    @unittest.skipUnless(h2, "no python3-h2")
    def test_reload_that_removes_the_listener_sends_goaway(self):
        b = self.backends.http("b1")
        port, other = free_port(), free_port()
        cfg = lambda p: config([listener("web%d" % p, p, "p")], [pool("p", [b])])
        lbd = self.start_lbd(cfg(port))
        sock = socket.create_connection((HOST, port), timeout=5)
        self.addCleanup(sock.close)
        conn = h2.connection.H2Connection()
        conn.initiate_connection()

        def request(sid):
            conn.send_headers(sid, [(":method", "GET"), (":path", "/"), (":scheme", "http"),
                                    (":authority", "x")], end_stream=True)
            sock.sendall(conn.data_to_send())
            status, goaway = None, False
            deadline = time.monotonic() + 5
            while status is None and time.monotonic() < deadline:
                for ev in conn.receive_data(sock.recv(65536)):
                    if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                        status = int(dict(ev.headers)[b":status"])
                    elif isinstance(ev, h2.events.ConnectionTerminated):
                        goaway = True
                sock.sendall(conn.data_to_send())
            return status, goaway

        self.assertEqual(request(1)[0], 200)
        self.assertTrue(lbd.reload(cfg(other))[0])
        status, goaway = request(3)
        self.assertEqual(status, 503)
        # The GOAWAY follows the answer.
        deadline = time.monotonic() + 5
        while not goaway and time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                break
            goaway = any(isinstance(ev, h2.events.ConnectionTerminated)
                         for ev in conn.receive_data(data))
        self.assertTrue(goaway)

    def test_reload_new_streams_take_the_new_generation(self):
        if not NGHTTP:
            self.skipTest("no nghttp")
        b1, b2 = self.backends.http("old"), self.backends.http("new")
        port = free_port()
        cfg = lambda b: config([listener("web", port, "p")], [pool("p", [b])])
        lbd = self.start_lbd(cfg(b1))
        self.assertTrue(lbd.reload(cfg(b2))[0])
        r = curl("--http2-prior-knowledge", self.url(port))
        self.assertEqual(r[2]["x-backend"], ["new"])
        self.assertEqual(lbd.access_lines(count=1)[0]["generation"], 2)


if __name__ == "__main__":
    unittest.main()

"""The test backends and client helpers, checked directly (no lbd needed),
so that a failing proxy test points at lbd and not at its test tools."""

import hashlib
import os
import re
import socket
import time
import unittest

from lbdtest import (Backends, HttpClient, build_request, chunked, http_raw,
                     parse_responses, free_port, Incomplete, _bind_ports, config,
                     listener, pool)
import backends as B


class BackendSelfTest(unittest.TestCase):
    def setUp(self):
        self.bs = Backends()
        self.addCleanup(self.bs.stop_all)

    def test_default_keepalive_and_recording(self):
        b = self.bs.http("alpha")
        with HttpClient(b.port) as c:
            for i in range(3):
                r = c.request("GET", "/n%d" % i, headers=[("X-A", "1"), ("X-A", "2")])
                self.assertEqual(r.status, 200)
                self.assertEqual(r.body, b"alpha\n")
                self.assertEqual(r.header("X-Backend"), "alpha")
        reqs = b.wait_requests(3)
        self.assertEqual([r.target for r in reqs], ["/n0", "/n1", "/n2"])
        self.assertEqual({r.conn_id for r in reqs}, {1})
        self.assertEqual(reqs[0].headers_all("x-a"), ["1", "2"])
        self.assertEqual(reqs[0].joined("X-A"), "1, 2")
        self.assertEqual(reqs[0].header("host"), "example.com")

    def test_echo_chunked_request_and_100_continue(self):
        b = self.bs.http("e", B.echo_handler)
        with HttpClient(b.port) as c:
            c.send(b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                   b"Expect: 100-continue\r\n\r\n")
            r = c.read_response(interim=True)
            self.assertEqual(r.status, 100)
            c.send(chunked([b"hello", b" ", b"world"]))
            r = c.read_response()
            self.assertEqual(r.body, b"hello world")
        req = b.wait_requests(1)[0]
        self.assertTrue(req.chunked)
        self.assertEqual(req.chunk_sizes, [5, 1, 5])
        self.assertEqual(req.body_sha256, hashlib.sha256(b"hello world").hexdigest())

    def test_big_streaming_and_chunked_response(self):
        n = 3 * 1000 * 1000 + 7
        for ch in (False, True):
            b = self.bs.http("big%d" % ch, B.big_handler(n, chunked=ch))
            h = hashlib.sha256()
            with HttpClient(b.port) as c:
                c.send(build_request())
                r = c.read_response(sink=h.update)
            self.assertEqual(r.chunked, ch)
            self.assertEqual(h.hexdigest(), B.pattern_sha256(n))
            self.assertEqual(r.header("X-Sha256"), B.pattern_sha256(n))

    def test_head_204_304_no_body(self):
        def handler(backend, req):
            code = int(req.target.strip("/") or 200)
            return B.Response(code, b"x" * 10)
        b = self.bs.http("h", handler)
        with HttpClient(b.port) as c:
            c.send(build_request("HEAD", "/200") + build_request("GET", "/204")
                   + build_request("GET", "/304") + build_request("GET", "/200"))
            rs = [c.read_response(m) for m in ("HEAD", "GET", "GET", "GET")]
        self.assertEqual([r.status for r in rs], [200, 204, 304, 200])
        self.assertEqual(rs[0].header("content-length"), "10")
        self.assertEqual(rs[0].body, b"")
        self.assertEqual(rs[3].body, b"x" * 10)

    def test_behaviours_reset_close_garbage_hang_delay(self):
        cases = [("reset", B.RESET), ("close", B.CLOSE), ("garbage", B.Raw(b"NOT HTTP\r\n\r\n"))]
        for name, action in cases:
            b = self.bs.http(name, lambda be, r, a=action: a)
            data = http_raw(b.port, build_request(), timeout=2)
            if name == "garbage":
                self.assertEqual(data, b"NOT HTTP\r\n\r\n")
            else:
                self.assertEqual(data, b"")
            self.assertEqual(len(b.wait_requests(1)), 1)
        b = self.bs.http("hang", lambda be, r: B.HANG)
        t0 = time.monotonic()
        self.assertEqual(http_raw(b.port, build_request(), timeout=0.3), b"")
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        b = self.bs.http("slow", B.delay_handler(0.3))
        t0 = time.monotonic()
        with HttpClient(b.port) as c:
            self.assertEqual(c.request().status, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)

    def test_reset_after_head_skips_body(self):
        b = self.bs.http("r", on_head=lambda be, r: B.RESET)
        data = http_raw(b.port, build_request("POST", "/", body=b"x" * 100), timeout=2)
        self.assertEqual(data, b"")
        req = b.wait_requests(1)[0]
        self.assertFalse(req.complete)

    def test_abort_mid_response(self):
        b = self.bs.http("a", B.big_handler(1000000, abort_after=100000))
        with HttpClient(b.port) as c:
            c.send(build_request())
            with self.assertRaises(Incomplete):
                c.read_response()

    def test_websocket_echo(self):
        ws = self.bs.websocket("ws")
        with HttpClient(ws.port) as c:
            c.send(build_request("GET", "/chat", headers=[
                ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("Sec-WebSocket-Version", "13")]))
            r = c.read_response()
            self.assertEqual(r.status, 101)
            self.assertEqual(r.header("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            for payload in (b"hi", os.urandom(300), os.urandom(70000)):
                c.send(B.ws_frame(payload, 0x2, mask=os.urandom(4)))
                fin, op, got, masked = B.ws_read_frame(lambda n: c._take(n, time.monotonic() + 2))
                self.assertEqual((fin, op, got, masked), (True, 2, payload, False))
            c.send(B.ws_frame(b"\x03\xe8", 0x8, mask=b"abcd"))
            fin, op, got, _ = B.ws_read_frame(lambda n: c._take(n, time.monotonic() + 2))
            self.assertEqual((op, got), (8, b"\x03\xe8"))
        self.assertEqual(ws.upgraded, 1)

    def test_tcp_echo_half_close(self):
        t = self.bs.tcp("t")
        with socket.create_connection(("127.0.0.1", t.port), timeout=2) as s:
            s.sendall(b"ping")
            self.assertEqual(s.recv(10), b"ping")
            s.shutdown(socket.SHUT_WR)
            data = b""
            while True:
                d = s.recv(100)
                if not d:
                    break
                data += d
            self.assertEqual(data, b"bye from t\n")

    def test_process_backend_killable(self):
        p = self.bs.process("k", args=["--big", "50000000"])
        with HttpClient(p.port) as c:
            c.send(build_request())
            c._fill(time.monotonic() + 2)
            p.kill()
            with self.assertRaises(Incomplete):
                c.read_response()

    def test_helpers(self):
        rs = parse_responses(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\n"
                             b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n")
        self.assertEqual([(r.status, r.body) for r in rs], [(200, b"ok"), (204, b""), (200, b"ab")])
        self.assertNotEqual(free_port(), 0)
        cfg = config([listener("a", 1234, "p")], [pool("p", ["127.0.0.1:1"])])
        self.assertEqual(_bind_ports(cfg), [("127.0.0.1", 1234)])


class SuiteListTest(unittest.TestCase):
    """Makefile.am's E2E_FILES is what `make check` runs: a test file left
    out of it would never run there."""

    def test_every_file_is_listed(self):
        here = os.path.dirname(os.path.abspath(__file__))
        top = os.environ.get("TOP_SRCDIR", os.path.join(here, "..", ".."))
        with open(os.path.join(top, "Makefile.am")) as f:
            text = f.read()
        m = re.search(r"^E2E_FILES =((?:.*\\\n)*.*)$", text, re.M)
        self.assertIsNotNone(m, "no E2E_FILES in Makefile.am")
        listed = {os.path.basename(w) for w in m.group(1).replace("\\", " ").split()}
        files = {n for n in os.listdir(here) if n.startswith("test_") and n.endswith(".py")}
        self.assertEqual(sorted(files - listed), [], "missing from E2E_FILES in Makefile.am")
        self.assertEqual(sorted(listed - files), [], "in E2E_FILES, but no such file")


if __name__ == "__main__":
    unittest.main()

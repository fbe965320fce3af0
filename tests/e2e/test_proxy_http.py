"""HTTP proxying: request rewriting, keep-alive, pipelining, HTTP/1.0,
bodyless responses, Expect: 100-continue, body re-framing (SPEC §3)."""

import hashlib
import socket
import subprocess
import time
import unittest

import backends as B
from lbdtest import (LbdTestCase, HttpClient, build_request, chunked, curl, free_port,
                     http_request, parse_responses, simple_config, config, listener, pool)


def tokens(value):
    return [t.strip().lower() for t in (value or "").split(",") if t.strip()]


class ForwardingTest(LbdTestCase):
    def test_simple_get_with_curl(self):
        lbd, port, b = self.one_backend()
        out = curl("--http1.1", "-i", "http://127.0.0.1:%d/hello?x=1" % port,
                   "-H", "Host: www.example.com")
        self.assertEqual(out.returncode, 0, out.stderr)
        head, _, body = out.stdout.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertIn(b"x-backend: b1", head.lower())
        self.assertEqual(body, b"b1\n")
        req = b.wait_requests(1)[0]
        self.assertEqual((req.method, req.target, req.version), ("GET", "/hello?x=1", "HTTP/1.1"))
        self.assertEqual(req.headers_all("host"), ["www.example.com"])

    def test_forwarding_headers_and_hop_by_hop_removal(self):
        lbd, port, b = self.one_backend()
        hdrs = [
            ("X-Forwarded-For", "10.1.2.3"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "evil.example.net"),
            ("Forwarded", "for=10.1.2.3"),
            ("Connection", "keep-alive, X-Hop-Custom"),
            ("X-Hop-Custom", "drop me"),
            ("Keep-Alive", "timeout=5"),
            ("Proxy-Connection", "keep-alive"),
            ("TE", "trailers"),
            ("Trailer", "X-Checksum"),
            ("Upgrade", "h2c"),
            ("X-End-To-End", "keep me"),
            ("User-Agent", "lbd-e2e"),
        ]
        with HttpClient(port) as c:
            r = c.request("GET", "/fw", hdrs, host="app.example.com:8080")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, b"b1\n")
            # keep-alive was requested and must still work after the Connection rewrite
            self.assertEqual(c.request("GET", "/again", host="app.example.com").status, 200)
        req = b.wait_requests(1)[0]
        self.assertEqual(req.target, "/fw")
        self.assertEqual(req.headers_all("host"), ["app.example.com:8080"])
        for h in ("x-hop-custom", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"):
            self.assertFalse(req.has_header(h), "%s forwarded: %r" % (h, req.headers))
        # whatever Connection lbd sends upstream, it must not carry the client's tokens
        self.assertNotIn("x-hop-custom", tokens(req.joined("connection")))
        self.assertEqual(req.header("x-end-to-end"), "keep me")
        self.assertEqual(req.header("user-agent"), "lbd-e2e")
        self.assertEqual(req.joined("x-forwarded-for"), "10.1.2.3, 127.0.0.1")
        self.assertEqual(req.headers_all("x-forwarded-proto"), ["http"])
        self.assertEqual(req.headers_all("x-forwarded-host"), ["app.example.com:8080"])
        # RFC 7239 §4: a host with a port is not a token, so it is quoted.
        # from an untrusted client, Forwarded is lbd's alone
        self.assertEqual(req.headers_all("forwarded"),
                         ['for=127.0.0.1;host="app.example.com:8080";proto=http'])

    def test_forwarding_headers_without_client_values(self):
        lbd, port, b = self.one_backend()
        self.assertEqual(http_request(port, "GET", "/", host="h.example.com").status, 200)
        req = b.wait_requests(1)[0]
        self.assertEqual(req.headers_all("x-forwarded-for"), ["127.0.0.1"])
        self.assertEqual(req.headers_all("x-forwarded-proto"), ["http"])
        self.assertEqual(req.headers_all("x-forwarded-host"), ["h.example.com"])
        self.assertEqual(req.headers_all("forwarded"), ["for=127.0.0.1;host=h.example.com;proto=http"])

    def test_forwarded_ipv6_client_is_quoted(self):
        try:
            with socket.socket(socket.AF_INET6) as s:
                s.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback")
        b = self.backends.http("b6")
        port = free_port("::1")
        self.start_lbd(config([listener("v6", port, "p", host="::1")], [pool("p", [b])]))
        with HttpClient(port, host="::1") as c:
            self.assertEqual(c.request(host="v6.example.com").status, 200)
        req = b.wait_requests(1)[0]
        self.assertEqual(req.headers_all("x-forwarded-for"), ["::1"])
        self.assertEqual(req.headers_all("forwarded"), ['for="[::1]";host=v6.example.com;proto=http'])

    def test_content_length_body_forwarded_unchanged(self):
        lbd, port, b = self.one_backend(B.echo_handler)
        body = bytes(range(256)) * 40
        r = http_request(port, "POST", "/cl", [("Content-Type", "application/octet-stream")], body)
        self.assertEqual((r.status, r.body), (200, body))
        req = b.wait_requests(1)[0]
        self.assertEqual(req.header("content-length"), str(len(body)))
        self.assertFalse(req.has_header("transfer-encoding"))
        self.assertEqual(req.body, body)

    def test_chunked_body_reframed_chunked(self):
        lbd, port, b = self.one_backend(B.echo_handler)
        parts = [b"a", b"hello", b"x" * 100, bytes(range(256)) * 12, b"end"]
        with HttpClient(port) as c:
            c.send(build_request("POST", "/ch", [("Transfer-Encoding", "chunked")]))
            for p in parts:  # in separate writes, so lbd streams them
                c.send(chunked([p])[:-5])
                time.sleep(0.01)
            c.send(b"0\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.body, b"".join(parts))
            # the connection is still usable: framing ended where it should
            self.assertEqual(c.request("GET", "/after").status, 200)
        req = b.wait_requests(1)[0]
        self.assertTrue(req.chunked, req.headers)
        self.assertEqual(tokens(req.joined("transfer-encoding")), ["chunked"])
        self.assertFalse(req.has_header("content-length"))
        self.assertEqual(req.body, b"".join(parts))
        self.assertEqual(req.body_len, sum(map(len, parts)))

    def test_chunk_extensions_and_trailers_accepted(self):
        lbd, port, b = self.one_backend(B.echo_handler)
        with HttpClient(port) as c:
            c.send(build_request("POST", "/ext", [("Transfer-Encoding", "chunked")])
                   + b"5;name=value\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n")
            r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"hello"))

    def test_chunked_response_passed_to_http11_client(self):
        parts = [b"one ", b"two ", b"three" * 1000]
        lbd, port, b = self.one_backend(B.chunked_handler(parts))
        with HttpClient(port) as c:
            r = c.request()
            self.assertEqual(r.body, b"".join(parts))
            r2 = c.request()
            self.assertEqual(r2.body, b"".join(parts))

    def test_response_headers_and_status_passed(self):
        def handler(be, req):
            return B.Response(201, b"made", reason="Created",
                              headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
                                       ("X-Odd", "  spaced  value")])
        lbd, port, b = self.one_backend(handler)
        r = http_request(port, "POST", "/", body=b"x")
        self.assertEqual((r.status, r.body), (201, b"made"))
        self.assertEqual(r.headers_all("set-cookie"), ["a=1", "b=2"])
        self.assertEqual(r.header("x-odd"), "spaced  value")


class KeepAliveTest(LbdTestCase):
    def test_client_keepalive_many_requests_one_connection(self):
        lbd, port, b = self.one_backend(B.echo_handler)
        with HttpClient(port) as c:
            for i in range(20):
                r = c.request("POST", "/k%d" % i, body=b"body%d" % i)
                self.assertEqual(r.body, b"body%d" % i)
                self.assertEqual(r.header("x-path"), "/k%d" % i)

    def test_server_connection_reused(self):
        """Sequential requests (also from different client connections) use
        pooled keep-alive connections to the server."""
        lbd, port, b = self.one_backend()
        for i in range(5):
            with HttpClient(port) as c:
                for j in range(2):
                    self.assertEqual(c.request("GET", "/r%d" % i).status, 200)
        reqs = b.wait_requests(10)
        self.assertEqual(len(reqs), 10)
        self.assertLessEqual(len({r.conn_id for r in reqs}), 2,
                             "server connections not reused: %d" % b.connections)
        self.assertLessEqual(b.connections, 2)

    def test_server_close_is_not_reused(self):
        """A server that answers `Connection: close` gets a new connection
        next time, and the client never notices."""
        lbd, port, b = self.one_backend(lambda be, r: B.Response(200, b"c", close=True))
        with HttpClient(port) as c:
            for i in range(4):
                self.assertEqual(c.request().body, b"c")
        self.assertEqual(b.connections, 4)

    def test_pipelined_requests_answered_in_order(self):
        def handler(be, req):
            # the first request is the slowest, so out-of-order answers show
            delay = {"/1": 0.3, "/2": 0.15, "/3": 0.0, "/4": 0.05}.get(req.target, 0)
            time.sleep(delay)
            return B.Response(200, req.target.encode(), headers=[("X-Backend", be.name)])
        b1 = self.backends.http("p1", handler)
        b2 = self.backends.http("p2", handler)
        port = free_port()
        self.start_lbd(simple_config(port, [b1, b2]))
        with HttpClient(port) as c:
            c.send(b"".join(build_request("GET", "/%d" % i) for i in (1, 2, 3))
                   + build_request("HEAD", "/4") + build_request("POST", "/5", body=b"12345"))
            rs = [c.read_response(m) for m in ("GET", "GET", "GET", "HEAD", "POST")]
        self.assertEqual([r.status for r in rs], [200] * 5)
        self.assertEqual([r.body for r in rs], [b"/1", b"/2", b"/3", b"", b"/5"])
        self.assertEqual(rs[3].header("content-length"), "2")

    def test_pipelined_burst_in_one_segment(self):
        lbd, port, b = self.one_backend(B.echo_handler)
        n = 50
        with HttpClient(port) as c:
            c.send(b"".join(build_request("GET", "/q%d" % i) for i in range(n)))
            rs = [c.read_response() for _ in range(n)]
        self.assertEqual([r.header("x-path") for r in rs], ["/q%d" % i for i in range(n)])

    def test_idle_client_connection_closed_after_client_idle(self):
        lbd, port, b = self.one_backend(timeouts={"client_idle": "300ms"})
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 200)
            t0 = time.monotonic()
            self.assertTrue(c.closed_within(3.0), "idle keep-alive connection not closed")
            self.assertGreater(time.monotonic() - t0, 0.2)


class Http10Test(LbdTestCase):
    def _http10(self, handler):
        lbd, port, b = self.one_backend(handler)
        with HttpClient(port) as c:
            c.send(b"GET /old HTTP/1.0\r\nHost: old.example.com\r\n\r\n")
            data = c.read_until_close(3)
            self.assertTrue(c.eof, "lbd kept an HTTP/1.0 connection open")
        rs = parse_responses(data)
        self.assertEqual(len(rs), 1, data[:300])
        r = rs[0]
        self.assertRegex(r.version, r"^HTTP/1\.[01]$")
        self.assertIsNone(r.header("transfer-encoding"), "chunked sent to an HTTP/1.0 client")
        return r, b

    def test_http10_content_length(self):
        r, b = self._http10(B.echo_handler)
        self.assertEqual(r.status, 200)
        req = b.wait_requests(1)[0]
        self.assertEqual(req.header("host"), "old.example.com")

    def test_http10_gets_chunked_response_unchunked(self):
        parts = [b"alpha-", b"beta-", b"gamma" * 500]
        r, b = self._http10(B.chunked_handler(parts))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"".join(parts))
        if r.header("content-length") is not None:
            self.assertEqual(int(r.header("content-length")), len(r.body))

    def test_http10_with_curl(self):
        lbd, port, b = self.one_backend()
        out = curl("--http1.0", "http://127.0.0.1:%d/" % port)
        self.assertEqual((out.returncode, out.stdout), (0, b"b1\n"), out.stderr)


class BodylessResponseTest(LbdTestCase):
    def _handler(self, be, req):
        if req.target == "/204":
            return B.Response(204)
        if req.target == "/304":
            # a 304 may carry the Content-Length of the representation
            return B.Response(304, headers=[("Content-Length", "50"), ("ETag", '"v1"')])
        if req.target == "/1xx":
            return B.Response(200, b"after-103", interim=[
                b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"])
        return B.Response(200, b"y" * 1000, headers=[("X-Backend", be.name)])

    def test_head_204_304_have_no_body(self):
        lbd, port, b = self.one_backend(self._handler)
        with HttpClient(port) as c:
            r = c.request("HEAD", "/")
            self.assertEqual((r.status, r.header("content-length")), (200, "1000"))
            r = c.request("GET", "/204")
            self.assertEqual(r.status, 204)
            self.assertIsNone(r.header("transfer-encoding"))
            r = c.request("GET", "/304", [("If-None-Match", '"v1"')])
            self.assertEqual(r.status, 304)
            # had lbd sent a body after any of them, this response would be garbage
            r = c.request("GET", "/")
            self.assertEqual((r.status, r.body), (200, b"y" * 1000))
            c.sock.settimeout(0.2)
            try:
                extra = c.sock.recv(100)
            except socket.timeout:
                extra = b""
            self.assertEqual(extra, b"", "bytes after the last response")

    def test_head_pipelined_then_get(self):
        lbd, port, b = self.one_backend(self._handler)
        with HttpClient(port) as c:
            c.send(build_request("HEAD", "/") + build_request("GET", "/") + build_request("HEAD", "/"))
            rs = [c.read_response(m) for m in ("HEAD", "GET", "HEAD")]
        self.assertEqual([len(r.body) for r in rs], [0, 1000, 0])

    def test_interim_1xx_from_server_then_final(self):
        lbd, port, b = self.one_backend(self._handler)
        with HttpClient(port) as c:
            c.send(build_request("GET", "/1xx"))
            r = c.read_response(interim=True)
            if r.status == 103:        # forwarding 103 is allowed, dropping it too
                r = c.read_response()
            self.assertEqual((r.status, r.body), (200, b"after-103"))


class ExpectContinueTest(LbdTestCase):
    def test_expect_100_continue(self):
        lbd, port, b = self.one_backend(B.echo_handler)
        with HttpClient(port) as c:
            c.send(build_request("POST", "/up", [("Expect", "100-continue"),
                                                 ("Content-Length", "11")]))
            r = c.read_response(interim=True, timeout=3)
            self.assertEqual(r.status, 100, "no 100 Continue before the body was sent")
            c.send(b"hello world")
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, b"hello world"))
            self.assertEqual(c.request("GET", "/next").status, 200)
        req = b.wait_requests(1)[0]
        self.assertEqual(req.body, b"hello world")

    def test_expect_100_continue_with_curl(self):
        lbd, port, b = self.one_backend(B.digest_handler)
        body = b"z" * 200000
        t0 = time.monotonic()
        p = curl("--http1.1", "-H", "Expect: 100-continue", "--expect100-timeout", "5",
                 "--data-binary", "@-", "http://127.0.0.1:%d/c" % port, input=body)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, ("%d %s\n" % (len(body), hashlib.sha256(body).hexdigest())).encode())
        self.assertLess(time.monotonic() - t0, 4, "curl waited for a 100 Continue that never came")


if __name__ == "__main__":
    unittest.main()


class UnixSocketTest(LbdTestCase):
    def test_unix_listener_and_unix_server(self):
        """A unix: bind is served by every worker, a unix: server is
        reached, and lbd removes its socket file when it stops."""
        import os
        import socket as so
        import tempfile
        from lbdtest import config, listener, pool
        d = tempfile.mkdtemp(prefix="lbd-unix-")
        front, back = os.path.join(d, "front.sock"), os.path.join(d, "back.sock")
        srv = so.socket(so.AF_UNIX)
        srv.bind(back)
        srv.listen(8)
        self.addCleanup(srv.close)

        def serve():
            for _ in range(2):
                c, _ = srv.accept()
                c.recv(65536)
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nunix\n")
                c.close()
        import threading
        threading.Thread(target=serve, daemon=True).start()
        port = free_port()
        web = listener("web", port, "p")
        web["bind"] = ["unix:" + front, "127.0.0.1:%d" % port]
        lbd = self.start_lbd(config([web], [pool("p", ["unix:" + back])], workers=2))
        out = subprocess.run(["curl", "-s", "--unix-socket", front, "http://x/"],
                             capture_output=True, timeout=10).stdout
        self.assertEqual(out, b"unix\n")
        with HttpClient(port) as c:
            self.assertEqual(c.request().body, b"unix\n")
        self.assertEqual(lbd.stop(), 0)
        self.assertFalse(os.path.exists(front), "socket file left behind")

"""Every error status lbd produces itself (SPEC §3): format, when it is
sent, what happens to the connection, and its one access-log line."""

import socket
import time

import backends as B
from lbdtest import (LbdTestCase, HttpClient, Incomplete, build_request, chunked, config,
                     free_port, listener, pool, server, simple_config)


class ErrorStatusTest(LbdTestCase):
    def assertLogged(self, lbd, statuses):
        """The access log holds exactly one line per request, with STATUSES."""
        lines = lbd.access_lines(count=len(statuses), timeout=2)
        time.sleep(0.25)   # a surplus line would have been flushed by now
        lines = lbd.access_lines()
        self.assertEqual([ln["status"] for ln in lines], statuses)
        return lines

    def test_400_malformed_request_closes(self):
        lbd, port, b = self.one_backend()
        with HttpClient(port) as c:
            c.send(b"THIS IS NOT HTTP\r\n\r\n")
            r = c.read_response()
            self.assertErrorResponse(r, 400)
            self.assertTrue(c.closed_within(2), "connection left open after 400")
        self.assertNothingReached(b)
        self.assertLogged(lbd, [400])

    def test_400_after_good_request_on_same_connection(self):
        lbd, port, b = self.one_backend()
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 200)
            c.send(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
            self.assertErrorResponse(c.read_response(), 400)
            self.assertTrue(c.closed_within(2))
        self.assertEqual(len(b.wait_requests(2, timeout=0.3)), 1)
        self.assertLogged(lbd, [200, 400])

    def test_404_no_route(self):
        b = self.backends.http("api")
        port = free_port()
        lbd = self.start_lbd(config(
            [listener("web", port, routes=[{"match": {"host": "api.example.com"}, "pool": "p"}])],
            [pool("p", [b])]))
        with HttpClient(port) as c:
            r = c.request(host="other.example.com")
            self.assertErrorResponse(r, 404)
        self.assertNothingReached(b)
        line = self.assertLogged(lbd, [404])[0]
        self.assertIsNone(line["pool"])
        self.assertIsNone(line["server"])
        self.assertIsNone(line["upstream_time"])

    def test_408_partial_head(self):
        lbd, port, b = self.one_backend(timeouts={"header": "400ms", "client_idle": "5s"})
        with HttpClient(port) as c:
            t0 = time.monotonic()
            c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            r = c.read_response(timeout=3)
            elapsed = time.monotonic() - t0
            self.assertErrorResponse(r, 408)
            self.assertGreater(elapsed, 0.3)
            self.assertLess(elapsed, 2.5)
            self.assertTrue(c.closed_within(2))
        self.assertNothingReached(b)
        self.assertLogged(lbd, [408])

    def test_404_keeps_or_closes_the_connection_as_asked(self):
        """A request answered 404 at its head leaves the connection as the
        request asked: open by default, closed with Connection: close."""
        b = self.backends.http("api")
        port = free_port()
        lbd = self.start_lbd(config(
            [listener("web", port, routes=[{"match": {"path_prefix": "/api"}, "pool": "p"}])],
            [pool("p", [b])]))
        with HttpClient(port) as c:
            r = c.request("GET", "/nowhere")
            self.assertErrorResponse(r, 404)
            self.assertIsNone(r.header("connection"))
            self.assertEqual(c.request("GET", "/api/x").status, 200)
            r = c.request("GET", "/nowhere", [("Connection", "close")])
            self.assertEqual(r.status, 404)
            self.assertEqual(r.header("connection"), "close")
            self.assertTrue(c.closed_within(2))
        self.assertLogged(lbd, [404, 200, 404])

    def test_404_with_a_body_closes_the_connection(self):
        """A request refused at its head with body bytes to follow is not
        read to its end: lbd answers and closes (and stays up)."""
        b = self.backends.http("api")
        port = free_port()
        lbd = self.start_lbd(config(
            [listener("web", port, routes=[{"match": {"path_prefix": "/api"}, "pool": "p"}])],
            [pool("p", [b])]))
        for body in (b"Content-Length: 5\r\n\r\nhello",
                     b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"):
            with HttpClient(port) as c:
                c.send(b"POST /nowhere HTTP/1.1\r\nHost: x\r\n" + body)
                r = c.read_response()
                self.assertErrorResponse(r, 404)
                self.assertEqual(r.header("connection"), "close")
                self.assertTrue(c.closed_within(2))
        with HttpClient(port) as c:
            self.assertEqual(c.request("GET", "/api/x").status, 200)
        self.assertLogged(lbd, [404, 404, 200])

    def test_408_first_request_deadline_runs_from_accept(self):
        """The first head must be complete within `header` of connecting,
        however late its first byte comes."""
        lbd, port, b = self.one_backend(timeouts={"header": "800ms", "client_idle": "5s"})
        with HttpClient(port) as c:
            t0 = time.monotonic()
            time.sleep(0.5)
            c.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
            r = c.read_response(timeout=3)
            elapsed = time.monotonic() - t0
            self.assertErrorResponse(r, 408)
            self.assertLess(elapsed, 1.25, "deadline restarted at the first byte")
        self.assertNothingReached(b)

    def test_408_slowloris_trickle(self):
        """Bytes keep arriving, but the head is never complete in time."""
        lbd, port, b = self.one_backend(timeouts={"header": "500ms", "client_idle": "5s"})
        with HttpClient(port) as c:
            c.send(b"GET / HTTP/1.1\r\n")
            t0 = time.monotonic()
            got = None
            for i in range(40):        # one header line every 100 ms, 4 s at most
                try:
                    c.send(b"X-%d: a\r\n" % i)
                except OSError:
                    break
                c.sock.settimeout(0.1)
                try:
                    got = c.sock.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    got = b""
                break
            self.assertIsNotNone(got, "head never timed out")
            self.assertLess(time.monotonic() - t0, 3)
            if got:
                self.assertTrue(got.startswith(b"HTTP/1.1 408 "), got)
        self.assertNothingReached(b)

    def test_idle_connection_closed_without_408(self):
        lbd, port, b = self.one_backend(timeouts={"header": "300ms", "client_idle": "300ms"})
        with HttpClient(port) as c:
            self.assertTrue(c.closed_within(3), "idle connection never closed")
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 200)
            self.assertTrue(c.closed_within(3))
        time.sleep(0.3)
        self.assertEqual([ln["status"] for ln in lbd.access_lines()], [200])

    def test_413_content_length_over_limit_before_contacting_server(self):
        lbd, port, b = self.one_backend(B.echo_handler, limits={"body_size": "1k"})
        with HttpClient(port) as c:
            c.send(build_request("POST", "/big", [("Content-Length", "2000")]))
            r = c.read_response(timeout=3)   # body not sent: lbd decides on the head
            self.assertErrorResponse(r, 413)
        self.assertNothingReached(b)
        with HttpClient(port) as c:    # at the limit is fine
            r = c.request("POST", "/ok", body=b"x" * 1024)
            self.assertEqual((r.status, len(r.body)), (200, 1024))
        self.assertLogged(lbd, [413, 200])

    def test_413_chunked_over_limit_mid_stream(self):
        lbd, port, b = self.one_backend(B.echo_handler, limits={"body_size": "1k"})
        with HttpClient(port) as c:
            c.send(build_request("POST", "/ch", [("Transfer-Encoding", "chunked")]))
            c.send(chunked([b"a" * 600])[:-5])
            time.sleep(0.05)
            try:
                c.send(chunked([b"b" * 600])[:-5] + b"0\r\n\r\n")
            except OSError:
                pass
            try:
                r = c.read_response()
            except Incomplete as e:
                self.fail("no 413 although nothing was sent back yet (%r)" % e.received)
            self.assertErrorResponse(r, 413)
        time.sleep(0.1)
        for req in b.requests:   # the server may have seen the start, never all of it
            self.assertLessEqual(req.body_len, 1024)
            self.assertFalse(req.complete and req.body_len == 1200)
        self.assertLogged(lbd, [413])

    def test_413_pool_limit_overrides_default(self):
        b = self.backends.http("b", B.echo_handler)
        port = free_port()
        lbd = self.start_lbd(config([listener("web", port, "p")],
                                    [pool("p", [b], limits={"body_size": 100})],
                                    limits={"body_size": "1m"}))
        with HttpClient(port) as c:
            self.assertErrorResponse(c.request("POST", "/", body=b"x" * 101), 413)
        with HttpClient(port) as c:
            self.assertEqual(c.request("POST", "/", body=b"x" * 100).status, 200)

    def test_431_header_size(self):
        lbd, port, b = self.one_backend(limits={"header_size": "1k"})
        with HttpClient(port) as c:
            c.send(build_request("GET", "/", [("X-Big", "v" * 2000)]))
            self.assertErrorResponse(c.read_response(), 431)
        with HttpClient(port) as c:   # a head well under the limit passes
            self.assertEqual(c.request("GET", "/", [("X-Small", "v" * 300)]).status, 200)
        self.assertEqual(len(b.requests), 1)
        self.assertLogged(lbd, [431, 200])

    def test_431_too_many_headers(self):
        lbd, port, b = self.one_backend(limits={"headers": 10})
        with HttpClient(port) as c:
            c.send(build_request("GET", "/", [("X-H%d" % i, "1") for i in range(20)]))
            self.assertErrorResponse(c.read_response(), 431)
        self.assertNothingReached(b)
        with HttpClient(port) as c:
            self.assertEqual(c.request("GET", "/", [("X-H%d" % i, "1") for i in range(5)]).status, 200)

    def test_502_connect_refused(self):
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [server(self.backends.dead_address(), "dead")],
                                           retries=0))
        with HttpClient(port) as c:
            self.assertErrorResponse(c.request(), 502)
            # the client connection survives a server failure
            self.assertErrorResponse(c.request(), 502)
        lines = self.assertLogged(lbd, [502, 502])
        self.assertEqual(lines[0]["pool"], "p")
        self.assertIsNone(lines[0]["upstream_time"])

    def _server_failure(self, name, handler=None, on_head=None):
        b = self.backends.http(name, handler, on_head=on_head)
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [b], retries=2))
        with HttpClient(port) as c:
            c.send(build_request("GET", "/" + name))
            self.assertErrorResponse(c.read_response(), 502)
        # a failed request is not replayed: the one server saw it once
        self.assertEqual(len(b.wait_requests(2, timeout=0.3)), 1)
        self.assertLogged(lbd, [502])

    def test_502_reset_before_response(self):
        self._server_failure("reset", lambda be, r: B.RESET)

    def test_502_reset_after_head(self):
        self._server_failure("resethead", on_head=lambda be, r: B.RESET)

    def test_502_reset_mid_response_head(self):
        """The server sends half a response head, then resets."""
        self._server_failure("resetmidhead", lambda be, r: B.Raw(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/pl", reset=True))

    def test_502_close_mid_response_head(self):
        self._server_failure("closemidhead", lambda be, r: B.Raw(
            b"HTTP/1.1 200 OK\r\nContent-Le", close=True))

    def test_502_close_without_response(self):
        self._server_failure("close", lambda be, r: B.CLOSE)

    def test_502_garbage_response(self):
        self._server_failure("garbage", lambda be, r: B.Raw(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"))

    def test_503_all_weights_zero(self):
        b1 = self.backends.http("z1")
        b2 = self.backends.http("z2")
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [server(b1, weight=0), server(b2, weight=0)]))
        with HttpClient(port) as c:
            self.assertErrorResponse(c.request(), 503)
        self.assertNothingReached(b1)
        self.assertNothingReached(b2)
        line = self.assertLogged(lbd, [503])[0]
        self.assertEqual(line["pool"], "p")
        self.assertIsNone(line["server"])
        self.assertIsNone(line["upstream_time"])

    def test_backup_server_used_only_without_primary(self):
        prim = self.backends.http("prim")
        bak = self.backends.http("bak")
        port = free_port()
        self.start_lbd(simple_config(port, [server(prim), server(bak, backup=True)]))
        with HttpClient(port) as c:
            for _ in range(6):
                self.assertEqual(c.request().body, b"prim\n")
        self.assertEqual(bak.requests, [])

    def test_504_server_silent(self):
        b = self.backends.http("hang", lambda be, r: B.HANG)
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [b], pool_kw={"timeouts": {"server": "300ms"}}))
        with HttpClient(port) as c:
            t0 = time.monotonic()
            r = c.request(timeout=4)
            elapsed = time.monotonic() - t0
            self.assertErrorResponse(r, 504)
            self.assertGreater(elapsed, 0.25)
            self.assertLess(elapsed, 2.5)
        line = self.assertLogged(lbd, [504])[0]
        self.assertEqual(line["server"], "hang")

    def test_slow_upload_is_not_a_server_timeout(self):
        """`server` bounds the server's silence once it has the request; a
        client that uploads slowly (but within client_idle) is served."""
        b = self.backends.http("echo", B.echo_handler)
        port = free_port()
        self.start_lbd(simple_config(port, [b], pool_kw={"timeouts": {"server": "300ms"}}))
        with HttpClient(port, timeout=5) as c:
            c.send(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n")
            for i in range(8):        # 8 bytes over ~1.2 s, 4 times the server timeout
                time.sleep(0.15)
                c.send(b"%d" % i)
            r = c.read_response(timeout=4)
            self.assertEqual((r.status, r.body), (200, b"01234567"))

    def test_501_unknown_transfer_coding(self):
        lbd, port, b = self.one_backend()
        with HttpClient(port) as c:
            c.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                   b"5\r\nhello\r\n0\r\n\r\n")
            self.assertErrorResponse(c.read_response(), 501)
            self.assertTrue(c.closed_within(2))
        self.assertNothingReached(b)
        self.assertLogged(lbd, [501])

    def test_505_unsupported_version(self):
        lbd, port, b = self.one_backend()
        with HttpClient(port) as c:
            c.send(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n")
            self.assertErrorResponse(c.read_response(), 505)
            self.assertTrue(c.closed_within(2))
        self.assertNothingReached(b)

    def test_504_server_silent_mid_body_closes_client(self):
        """After the head was sent on, a silent server can only end in a
        closed client connection."""
        b = self.backends.http("stall", lambda be, r: B.Raw(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", close=False))
        port = free_port()
        self.start_lbd(simple_config(port, [b], pool_kw={"timeouts": {"server": "300ms"}}))
        with HttpClient(port) as c:
            c.send(build_request())
            with self.assertRaises(Incomplete) as cm:
                c.read_response(timeout=4)
            self.assertNotEqual(cm.exception.args[0], "timed out", "client left hanging")

    def test_more_body_than_announced(self):
        """Bytes after the announced body are not taken for the next
        response: the client gets the announced body, and that server
        connection is not reused."""
        b = self.backends.http("extra", lambda be, r: B.Raw(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabHTTP/1.1 200 OK\r\n"
            b"Content-Length: 6\r\n\r\nforged", close=False))
        port = free_port()
        self.start_lbd(simple_config(port, [b]))
        with HttpClient(port) as c:
            for i in range(3):
                r = c.request("GET", "/r%d" % i)
                self.assertEqual((r.status, r.body), (200, b"ab"))
        self.assertEqual(len({req.conn_id for req in b.requests}), 3,
                         "a connection with stray bytes was reused")

    def _closes_second_request(self):
        """A server that closes a keep-alive connection when its second
        request arrives, without answering it: the race every pool meets."""
        seen = {}

        def handler(be, r):
            seen[r.conn_id] = seen.get(r.conn_id, 0) + 1
            return B.CLOSE if seen[r.conn_id] == 2 else B.Response(200, b"ok\n")
        return self.backends.http("racy", handler)

    def test_stale_pooled_connection_get_is_resent(self):
        b = self._closes_second_request()
        port = free_port()
        self.start_lbd(simple_config(port, [b]))
        for i in range(4):
            with HttpClient(port) as c:
                r = c.request("GET", "/g%d" % i)
                self.assertEqual((r.status, r.body), (200, b"ok\n"))

    def test_stale_pooled_connection_post_is_not_replayed(self):
        b = self._closes_second_request()
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [b]))
        with HttpClient(port) as c:
            self.assertEqual(c.request("POST", "/p0", body=b"x").status, 200)
        with HttpClient(port) as c:
            r = c.request("POST", "/p1", body=b"y")
            self.assertErrorResponse(r, 502)
        self.assertEqual([q.target for q in b.requests].count("/p1"), 1, "POST replayed")
        self.assertTrue(lbd.alive())

    def test_errors_do_not_leak_connections(self):
        """Many failing requests, then lbd still serves normally."""
        good = self.backends.http("good")
        port = free_port()
        lbd = self.start_lbd(config(
            [listener("web", port, routes=[
                {"match": {"path_prefix": "/dead"}, "pool": "dead"},
                {"match": {"path_prefix": "/good"}, "pool": "good"}])],
            [pool("dead", [server(self.backends.dead_address(), "d")], retries=0),
             pool("good", [good])]))
        for i in range(50):
            with HttpClient(port) as c:
                c.send(build_request("GET", ["/dead", "/nothing", "/good"][i % 3]))
                self.assertIn(c.read_response().status, (502, 404, 200))
            with HttpClient(port) as c:
                c.send(b"\x00\x01garbage\r\n\r\n")
                c.read_until_close(2)
        with HttpClient(port) as c:
            self.assertEqual(c.request("GET", "/good").status, 200)
        self.assertTrue(lbd.alive())

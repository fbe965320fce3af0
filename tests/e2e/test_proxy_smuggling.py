"""Request smuggling defences (SPEC §3): hostile requests get 400, the
connection is closed, and the server receives not a single byte; hostile
responses become 502. Positive controls make sure that strictness does not
turn away legal messages."""

import time

import backends as B
from lbdtest import LbdTestCase, HttpClient, Incomplete, build_request, free_port, simple_config

H = b"POST /s HTTP/1.1\r\nHost: example.com\r\n"
G = b"GET /s HTTP/1.1\r\nHost: example.com\r\n"
# appended to every vector: a request that must never reach the server
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: example.com\r\n\r\n"

# (name, raw request[, status]) — each must get its status (400 unless
# given) and a closed connection
HOSTILE_REQUESTS = [
    ("cl-and-te", H + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("te-and-cl", H + b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n"),
    ("cl-and-te-identity-chunked", H + b"Content-Length: 3\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n"),
    ("two-differing-cl", H + b"Content-Length: 3\r\nContent-Length: 5\r\n\r\nabcde"),
    ("cl-list-differing", H + b"Content-Length: 3, 5\r\n\r\nabcde"),
    ("cl-non-numeric", H + b"Content-Length: 3a\r\n\r\nabc"),
    ("cl-plus-sign", H + b"Content-Length: +3\r\n\r\nabc"),
    ("cl-negative", H + b"Content-Length: -1\r\n\r\nabc"),
    ("cl-overflow", H + b"Content-Length: 99999999999999999999999\r\n\r\nabc"),
    ("te-gzip", H + b"Transfer-Encoding: gzip\r\n\r\nabc"),
    ("te-chunked-gzip", H + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
    ("te-xchunked", H + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
    ("te-chunked-then-identity-header", H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n"),
    ("te-identity", H + b"Transfer-Encoding: identity\r\n\r\n"),
    ("te-space-before-colon", H + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
    ("te-vertical-tab", H + b"Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n"),
    ("chunk-size-non-hex", H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
    ("chunk-size-overflow", H + b"Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nhello\r\n0\r\n\r\n"),
    ("chunk-size-negative", H + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n"),
    ("chunk-size-0x-prefix", H + b"Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"),
    ("chunk-size-empty", H + b"Transfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n"),
    ("chunk-data-longer-than-size", H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n"),
    ("nul-in-header-value", G + b"X-A: a\x00b\r\n\r\n"),
    ("nul-in-header-name", G + b"X-\x00A: b\r\n\r\n"),
    ("bare-cr-in-header-value", G + b"X-A: a\rb\r\n\r\n"),
    ("space-before-colon-cl", H + b"Content-Length : 3\r\n\r\nabc"),
    ("space-in-header-name", G + b"X A: b\r\n\r\n"),
    ("bad-char-in-header-name", G + b"X(A): b\r\n\r\n"),
    ("empty-header-name", G + b": b\r\n\r\n"),
    ("obs-fold", G + b"X-A: a\r\n b\r\n\r\n"),
    ("obs-fold-te", H + b"X-A: a\r\n Transfer-Encoding: chunked\r\n\r\n"),
    ("obs-fold-after-empty-value", G + b"X-A:\r\n b\r\n\r\n"),
    ("obs-fold-of-spaces", G + b"X-A:\r\n \r\n\r\n"),
    ("header-line-without-colon", G + b"X-A b\r\n\r\n"),
    ("request-line-http09", b"GET /\r\n\r\n"),
    ("request-line-double-space", b"GET  /s HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    ("request-line-extra-token", b"GET /s HTTP/1.1 x\r\nHost: example.com\r\n\r\n"),
    ("request-line-bad-method-char", b"G\x01T /s HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    ("request-line-space-in-target", b"GET /a b HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    ("request-line-bad-version", b"GET /s HTTP/1.x\r\nHost: example.com\r\n\r\n"),
    ("request-line-lowercase-version", b"GET /s http/1.1\r\nHost: example.com\r\n\r\n"),
    ("cl-duplicate-identical", H + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
    ("cl-space-inside", H + b"Content-Length: 1 2\r\n\r\n"),
    ("cl-empty", H + b"Content-Length: \r\n\r\n"),
    ("te-chunked-twice", H + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"),
    ("te-empty", H + b"Transfer-Encoding: \r\n\r\n0\r\n\r\n"),
    ("te-comma-only", H + b"Transfer-Encoding: ,\r\n\r\n"),
    ("te-in-http10", b"POST /s HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("cl-and-te-in-http10", b"POST /s HTTP/1.0\r\nContent-Length: 3\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\nabc"),
    ("te-gzip-then-chunked", H + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    ("chunk-missing-crlf-after-data", H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n"),
    ("chunk-ext-control-byte", H + b"Transfer-Encoding: chunked\r\n\r\n3;a=\x01\r\nabc\r\n0\r\n\r\n"),
    ("chunk-lf-line-endings", H + b"Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n"),
    ("bare-lf-line-endings", b"GET /s HTTP/1.1\nHost: example.com\n\n"),
    ("nul-in-target", b"GET /a\x00b HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    ("absolute-form-userinfo", b"GET http://u@example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    ("absolute-form-other-scheme", b"GET ftp://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    ("asterisk-form-not-options", b"GET * HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    ("connect-method", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 405),
    ("http-version-2", b"GET /s HTTP/2.0\r\nHost: example.com\r\n\r\n", 505),
    ("host-missing-http11", b"GET /s HTTP/1.1\r\n\r\n"),
    ("host-twice", b"GET /s HTTP/1.1\r\nHost: a.example.com\r\nHost: b.example.com\r\n\r\n"),
    ("host-with-slash", b"GET /s HTTP/1.1\r\nHost: example.com/x\r\n\r\n"),
    ("host-with-space", b"GET /s HTTP/1.1\r\nHost: example .com\r\n\r\n"),
    ("expect-unknown", G + b"Expect: 200-ok\r\n\r\n", 417),
    ("over-long-uri", b"GET /" + b"x" * 17000 + b" HTTP/1.1\r\nHost: example.com\r\n\r\n", 431),
    ("over-long-header", G + b"X-A: " + b"y" * 17000 + b"\r\n\r\n", 431),
    ("too-many-headers", G + b"".join(b"X-%d: a\r\n" % i for i in range(101)) + b"\r\n", 431),
    ("over-long-method", b"A" * 17000 + b" / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    ("method-not-a-token", b"G\"T /s HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    ("method-then-tab", b"FOO\t/s HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    ("http-version-1.2", b"GET /s HTTP/1.2\r\nHost: example.com\r\n\r\n", 505),
]

# (name, raw request, expected body at the server) — legal, must be served
LEGAL_REQUESTS = [
    ("te-chunked-mixed-case", H + b"Transfer-Encoding: ChUnKeD\r\n\r\n3\r\nabc\r\n0\r\n\r\n", b"abc"),
    ("chunk-size-uppercase-hex-with-ext", H + b"Transfer-Encoding: chunked\r\n\r\nA;x=1\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
    ("chunk-size-leading-zeros", H + b"Transfer-Encoding: chunked\r\n\r\n003\r\nabc\r\n0\r\n\r\n", b"abc"),
    ("header-value-tab-and-obs-text", G + b"X-A: a\tb \xe9\r\n\r\n", b""),
    ("cl-zero", H + b"Content-Length: 0\r\n\r\n", b""),
    ("extension-method", b"FOO /s HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc", b"abc"),
    ("empty-header-value", G + b"X-Empty:\r\n\r\n", b""),
]

# (name, raw response) — the client gets 502 (or, once the head has been
# passed on, a connection closed before a complete response)
HOSTILE_RESPONSES = [
    ("cl-and-te", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("two-differing-cl", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\nabcd"),
    ("cl-negative", b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nab"),
    ("garbage-status-line", b"HTTP/1.1 abc OK\r\nContent-Length: 2\r\n\r\nab"),
    ("not-http", b"<html>hello</html>\r\n\r\n"),
    ("status-line-http09-style", b"200 OK\r\n\r\n"),
    ("nul-in-header", b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nab"),
    ("space-before-colon", b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nab"),
    ("obs-fold-after-empty-value", b"HTTP/1.1 200 OK\r\nX-A:\r\n b\r\nContent-Length: 2\r\n\r\nab"),
    ("bare-cr-in-header", b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nab"),
    ("te-not-ending-in-chunked", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nab"),
    ("obs-fold", b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nab"),
    ("two-digit-status", b"HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nab"),
    ("one-digit-status", b"HTTP/1.1 2 OK\r\nContent-Length: 2\r\n\r\nab"),
    ("two-digit-interim", b"HTTP/1.1 10\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab"),
]
HOSTILE_RESPONSE_BODIES = [
    ("chunk-size-non-hex", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n"),
    ("chunk-size-overflow", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nab\r\n0\r\n\r\n"),
    ("chunk-missing-crlf-after-data", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX0\r\n\r\n"),
]


class SmugglingTest(LbdTestCase):
    def setUp(self):
        super().setUp()
        self.b = self.backends.http("victim", B.echo_handler)
        self.port = free_port()
        self.lbd = self.start_lbd(simple_config(self.port, [self.b]))

    def test_table_size(self):
        self.assertGreaterEqual(len(HOSTILE_REQUESTS), 60)

    def test_hostile_requests_rejected(self):
        for name, raw, *expected in HOSTILE_REQUESTS:
            status = expected[0] if expected else 400
            with self.subTest(name):
                before_bytes = self.b.bytes_received
                before_reqs = len(self.b.requests)
                with HttpClient(self.port, timeout=3) as c:
                    c.send(raw + SMUGGLED)
                    try:
                        r = c.read_response()
                    except Incomplete as e:
                        self.fail("no response (%s) got %r" % (e, e.received[:200]))
                    self.assertErrorResponse(r, status)
                    self.assertTrue(c.closed_within(2), "connection left open")
                time.sleep(0.05)
                self.assertEqual(self.b.bytes_received, before_bytes, "server received bytes")
                self.assertEqual(len(self.b.requests), before_reqs, self.b.requests[before_reqs:])
        self.assertNotIn("/smuggled", self.b.targets())
        self.assertEqual(self.b.bytes_received, 0)
        self.assertTrue(self.lbd.alive())
        # one access-log line per rejected request
        lines = self.lbd.access_lines(count=len(HOSTILE_REQUESTS))
        self.assertEqual([ln["status"] for ln in lines],
                         [(e[2] if len(e) > 2 else 400) for e in HOSTILE_REQUESTS])

    def test_legal_requests_served(self):
        for name, raw, body in LEGAL_REQUESTS:
            with self.subTest(name):
                with HttpClient(self.port) as c:
                    c.send(raw)
                    r = c.read_response()
                    self.assertEqual((r.status, r.body), (200, body))
                    # the connection stays usable: the body ended where it should
                    self.assertEqual(c.request("GET", "/next").status, 200)
                self.assertEqual(self.b.requests[-2].body, body)

    def test_smuggling_after_keepalive_request(self):
        """A hostile request that follows a good one on the same connection."""
        with HttpClient(self.port) as c:
            self.assertEqual(c.request().status, 200)
            n = self.b.bytes_received
            c.send(HOSTILE_REQUESTS[0][1] + SMUGGLED)
            self.assertErrorResponse(c.read_response(), 400)
            self.assertTrue(c.closed_within(2))
        time.sleep(0.05)
        self.assertEqual(self.b.bytes_received, n)
        self.assertEqual(len(self.b.requests), 1)


class ResponseSmugglingTest(LbdTestCase):
    def _serve(self, raw):
        b = self.backends.http("bad", lambda be, r, raw=raw: B.Raw(raw, close=False))
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [b], retries=0))
        return lbd, port

    def test_hostile_responses_502(self):
        for name, raw in HOSTILE_RESPONSES:
            with self.subTest(name):
                lbd, port = self._serve(raw)
                with HttpClient(port) as c:
                    c.send(build_request())
                    self.assertErrorResponse(c.read_response(), 502)
                self.assertEqual([ln["status"] for ln in lbd.access_lines(count=1)], [502])

    def test_switch_the_server_does_not_name_502(self):
        """A 101 to an upgrade request, without Upgrade and Connection:
        upgrade (lbd would parse the tunnel as HTTP), or with a body's
        framing, is refused."""
        upgrade = [("Connection", "Upgrade"), ("Upgrade", "websocket")]
        for name, raw in [
            ("no-connection-upgrade", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"),
            ("no-upgrade", b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n"),
            ("bare", b"HTTP/1.1 101 Switching Protocols\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
            ("chunked-101", b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
            ("length-101", b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
             b"Content-Length: 5\r\n\r\nhello"),
        ]:
            with self.subTest(name):
                lbd, port = self._serve(raw)
                with HttpClient(port) as c:
                    c.send(build_request(headers=upgrade))
                    self.assertErrorResponse(c.read_response(), 502)
                self.assertEqual([ln["status"] for ln in lbd.access_lines(count=1)], [502])

    def test_hostile_response_bodies(self):
        for name, raw in HOSTILE_RESPONSE_BODIES:
            with self.subTest(name):
                lbd, port = self._serve(raw)
                with HttpClient(port) as c:
                    c.send(build_request())
                    try:
                        r = c.read_response()
                    except Incomplete as e:
                        self.assertNotEqual(e.args[0], "timed out", "client left hanging")
                        continue
                    except (ValueError, AssertionError) as e:
                        self.fail("lbd passed the invalid chunk on: %s" % e)
                    self.assertErrorResponse(r, 502)

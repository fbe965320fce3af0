"""Legal requests (SPEC §3): every method form, target form, header shape,
version and framing a client may send is served, and what the server
receives is valid HTTP/1.1, as a strict checker reads the raw bytes. The
hostile corpus, which must be refused, is in test_proxy_smuggling.py.
Also: empty field values, HTTP/1.0 requests made valid HTTP/1.1, OPTIONS *,
extension methods, HTTP/1.2, unix: clients in Forwarded, trusted proxies'
X-Forwarded-Proto, X-Forwarded-Host and Forwarded."""

import os
import re
import socket
import tempfile
import threading
import time

import backends as B
from lbdtest import (LbdTestCase, HttpClient, build_request, config, free_port, listener, pool)

TCHAR = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# RFC 3986 pchar, "/" and "?" (origin-form), percent-encodings checked apart
ORIGIN = re.compile(rb"^/[A-Za-z0-9\-._~%!$&'()*+,;=:@/?]*$")
PCT = re.compile(rb"%(?![0-9A-Fa-f]{2})")
# VCHAR / obs-text, with SP and HTAB inside
FIELD_VALUE = re.compile(rb"^(?:[\x21-\x7e\x80-\xff](?:[ \t\x21-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$")
HOST = re.compile(rb"^(?:[A-Za-z0-9\-._~%!$&'()*+,;=]*|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?$")
HOP_BY_HOP = {b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade",
              b"transfer-encoding", b"connection"}


class Invalid(Exception):
    pass


class Incomplete(Exception):
    pass


def _line(buf, pos):
    """The line at POS (without CRLF) and the position after it; bare CR
    or LF are invalid (RFC 9112 §2.2)."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        if b"\n" in buf[pos:]:
            raise Invalid("bare LF")
        raise Incomplete()
    line = bytes(buf[pos:end])
    if b"\r" in line or b"\n" in line:
        raise Invalid("bare CR or LF in %r" % line)
    return line, end + 2


def _fields(buf, pos):
    fields = []
    while True:
        line, pos = _line(buf, pos)
        if line == b"":
            return fields, pos
        if line[:1] in (b" ", b"\t"):
            raise Invalid("obs-fold: %r" % line)
        name, colon, value = line.partition(b":")
        if not colon or not TCHAR.match(name):
            raise Invalid("bad field line %r" % line)
        value = value.strip(b" \t")
        if not FIELD_VALUE.match(value):
            raise Invalid("bad field value %r" % line)
        fields.append((name.lower(), value))


def strict_request(buf):
    """One HTTP/1.1 request at the start of BUF, checked against RFC 9110
    and 9112 as a strict origin server would. Returns (request, its length)
    or raises Invalid, or Incomplete when more bytes are needed."""
    line, pos = _line(buf, 0)
    parts = line.split(b" ")
    if len(parts) != 3:
        raise Invalid("request line %r" % line)
    method, target, version = parts
    if not TCHAR.match(method):
        raise Invalid("method %r" % method)
    if version != b"HTTP/1.1":
        raise Invalid("version %r" % version)
    if target == b"*":
        if method != b"OPTIONS":
            raise Invalid("* with %r" % method)
    elif not ORIGIN.match(target) or PCT.search(target):
        raise Invalid("target %r" % target)
    fields, pos = _fields(buf, pos)
    get = lambda n: [v for k, v in fields if k == n]
    hosts = get(b"host")
    if len(hosts) != 1 or not HOST.match(hosts[0]):
        raise Invalid("Host %r" % hosts)
    conn = [t.strip().lower() for v in get(b"connection") for t in v.split(b",") if t.strip()]
    for name, _ in fields:
        if name in HOP_BY_HOP - {b"connection", b"transfer-encoding"} and \
                not (name == b"upgrade" and b"upgrade" in conn):
            raise Invalid("hop-by-hop field %r forwarded" % name)
        if name in conn and name != b"upgrade":
            raise Invalid("field %r named by Connection forwarded" % name)
    for t in conn:
        if t not in (b"upgrade", b"close", b"keep-alive"):
            raise Invalid("Connection token %r" % t)
    cls, tes = get(b"content-length"), get(b"transfer-encoding")
    if cls and tes:
        raise Invalid("Content-Length and Transfer-Encoding")
    body = bytearray()
    chunked = False
    if tes:
        if tes != [b"chunked"]:
            raise Invalid("Transfer-Encoding %r" % tes)
        chunked = True
        while True:
            size_line, pos = _line(buf, pos)
            if not re.match(rb"^[0-9A-Fa-f]+$", size_line):
                raise Invalid("chunk size %r" % size_line)
            size = int(size_line, 16)
            if size == 0:
                trailers, pos = _fields(buf, pos)
                break
            if len(buf) < pos + size + 2:
                raise Incomplete()
            body += buf[pos:pos + size]
            if buf[pos + size:pos + size + 2] != b"\r\n":
                raise Invalid("no CRLF after chunk data")
            pos += size + 2
    elif cls:
        if len(cls) != 1 or not re.match(rb"^[0-9]+$", cls[0]):
            raise Invalid("Content-Length %r" % cls)
        n = int(cls[0])
        if len(buf) < pos + n:
            raise Incomplete()
        body += buf[pos:pos + n]
        pos += n
    return {"method": method.decode("latin-1"), "target": target.decode("latin-1"),
            "fields": fields, "body": bytes(body), "chunked": chunked,
            "raw": bytes(buf[:pos])}, pos


class StrictBackend:
    """A server that reads what lbd sends with strict_request, records every
    request (or the first violation) and answers 200 "ok"."""

    def __init__(self, name="strict"):
        self.name = name
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.requests, self.errors = [], []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, c):
        buf = bytearray()
        c.settimeout(0.1)
        with c:
            while not self.stop.is_set():
                try:
                    req, n = strict_request(buf)
                except Incomplete:
                    try:
                        data = c.recv(65536)
                    except socket.timeout:
                        continue
                    except OSError:
                        return
                    if not data:
                        return
                    buf += data
                    continue
                except Invalid as e:
                    with self.lock:
                        self.errors.append("%s in %r" % (e, bytes(buf[:2000])))
                    return
                del buf[:n]
                with self.lock:
                    self.requests.append(req)
                try:
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                except OSError:
                    return

    def wait(self, n, timeout=3.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) + len(self.errors) >= n:
                    break
            time.sleep(0.01)
        with self.lock:
            return list(self.requests), list(self.errors)

    def close(self):
        self.stop.set()
        self.sock.close()
        for t in self.threads:
            t.join(2)


E = b"Host: example.com\r\n"
BIG = b"v" * 6000

# (name, raw bytes a client sends, the responses it reads, what the server
# must see: a dict of request -> expected values, one per request)
LEGAL = [
    # methods
    ("get", b"GET / HTTP/1.1\r\n" + E + b"\r\n", [{"method": "GET", "target": "/"}]),
    ("head", b"HEAD /h HTTP/1.1\r\n" + E + b"\r\n", [{"method": "HEAD"}]),
    ("post-length", b"POST /p HTTP/1.1\r\n" + E + b"Content-Length: 5\r\n\r\nhello",
     [{"method": "POST", "body": b"hello"}]),
    ("put-chunked", b"PUT /u HTTP/1.1\r\n" + E + b"Transfer-Encoding: chunked\r\n\r\n"
     b"3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n",
     [{"method": "PUT", "body": b"abc0123456789"}]),
    ("delete", b"DELETE /d HTTP/1.1\r\n" + E + b"\r\n", [{"method": "DELETE"}]),
    ("patch", b"PATCH /p HTTP/1.1\r\n" + E + b"Content-Length: 2\r\n\r\n{}", [{"method": "PATCH"}]),
    ("options-origin", b"OPTIONS /o HTTP/1.1\r\n" + E + b"\r\n", [{"method": "OPTIONS"}]),
    ("options-asterisk", b"OPTIONS * HTTP/1.1\r\n" + E + b"\r\n",
     [{"method": "OPTIONS", "target": "*"}]),
    ("trace", b"TRACE /t HTTP/1.1\r\n" + E + b"\r\n", [{"method": "TRACE"}]),
    ("webdav-known", b"PROPFIND /dav HTTP/1.1\r\n" + E + b"Depth: 1\r\n\r\n",
     [{"method": "PROPFIND"}]),
    ("m-search", b"M-SEARCH / HTTP/1.1\r\n" + E + b"\r\n", [{"method": "M-SEARCH"}]),
    ("extension-method", b"BREW /pot HTTP/1.1\r\n" + E + b"Content-Length: 3\r\n\r\ntea",
     [{"method": "BREW", "body": b"tea"}]),
    ("extension-method-symbols", b"X-MY_VERB.2 / HTTP/1.1\r\n" + E + b"\r\n",
     [{"method": "X-MY_VERB.2"}]),
    ("extension-method-lowercase", b"purge /c HTTP/1.1\r\n" + E + b"\r\n", [{"method": "purge"}]),
    ("rtsp-name-over-http", b"PLAY /p HTTP/1.1\r\n" + E + b"\r\n", [{"method": "PLAY"}]),
    ("webdav-version-control", b"VERSION-CONTROL /v HTTP/1.1\r\n" + E + b"\r\n",
     [{"method": "VERSION-CONTROL"}]),
    # targets
    ("target-query", b"GET /a/b?c=d&e=%20f HTTP/1.1\r\n" + E + b"\r\n",
     [{"target": "/a/b?c=d&e=%20f"}]),
    ("target-sub-delims", b"GET /a;b=c:d@e!$&'()*+,=~/x HTTP/1.1\r\n" + E + b"\r\n",
     [{"target": "/a;b=c:d@e!$&'()*+,=~/x"}]),
    ("target-absolute", b"GET http://example.com/abs?q=1 HTTP/1.1\r\nHost: other\r\n\r\n",
     [{"target": "/abs?q=1", "host": b"example.com"}]),
    ("target-absolute-port", b"GET https://Example.com:8443/x HTTP/1.1\r\n" + E + b"\r\n",
     [{"target": "/x", "host": b"Example.com:8443"}]),
    ("target-absolute-no-path", b"GET http://example.com HTTP/1.1\r\n" + E + b"\r\n",
     [{"target": "/"}]),
    ("target-absolute-query-only", b"GET http://example.com?q=/x HTTP/1.1\r\n" + E + b"\r\n",
     [{"target": "/?q=/x"}]),
    # header shapes
    ("empty-values", b"GET / HTTP/1.1\r\n" + E + b"X-Empty:\r\nCookie: \r\n"
     b"Accept-Encoding:\t\r\nX-Last:\r\n\r\n",
     [{"fields": [(b"x-empty", b""), (b"cookie", b""), (b"accept-encoding", b""),
                  (b"x-last", b"")]}]),
    ("empty-host", b"GET / HTTP/1.1\r\nHost:\r\n\r\n", [{"host": b""}]),
    ("value-whitespace", b"GET / HTTP/1.1\r\n" + E + b"X-A:\t  a \t b  \t\r\n\r\n",
     [{"fields": [(b"x-a", b"a \t b")]}]),
    ("value-obs-text", b"GET / HTTP/1.1\r\n" + E + b"X-A: caf\xe9 \xff\r\n\r\n",
     [{"fields": [(b"x-a", b"caf\xe9 \xff")]}]),
    ("name-all-tchars", b"GET / HTTP/1.1\r\n" + E + b"X-!#$%&'*+.^_`|~9: v\r\n\r\n",
     [{"fields": [(b"x-!#$%&'*+.^_`|~9", b"v")]}]),
    ("repeated-fields", b"GET / HTTP/1.1\r\n" + E + b"Accept: a\r\nACCEPT: b\r\n\r\n",
     [{"fields": [(b"accept", b"a"), (b"accept", b"b")]}]),
    ("long-value", b"GET / HTTP/1.1\r\n" + E + b"X-Big: " + BIG + b"\r\n\r\n",
     [{"fields": [(b"x-big", BIG)]}]),
    ("host-ipv6-port", b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", [{"host": b"[::1]:8080"}]),
    ("hop-by-hop-fields", b"GET / HTTP/1.1\r\n" + E + b"Connection: keep-alive, X-Hop, TE\r\n"
     b"X-Hop: 1\r\nTE: trailers\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n"
     b"Trailer: X-T\r\nUpgrade: h2c\r\n\r\n", [{}]),
    ("upgrade", b"GET /ws HTTP/1.1\r\n" + E + b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
     [{"fields": [(b"upgrade", b"websocket")]}]),
    ("expect-continue", b"POST /e HTTP/1.1\r\n" + E + b"Expect: 100-continue\r\n"
     b"Content-Length: 2\r\n\r\nok", [{"body": b"ok"}]),
    ("connection-close", b"GET / HTTP/1.1\r\n" + E + b"Connection: close\r\n\r\n", [{}]),
    # versions
    ("http10-host", b"GET /old HTTP/1.0\r\n" + E + b"\r\n", [{"host": b"example.com"}]),
    ("http10-no-host", b"GET /old HTTP/1.0\r\n\r\n", [{"host": "SERVER"}]),
    ("http10-keep-alive", b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
     [{"host": "SERVER"}]),
    ("http10-body", b"POST /old HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc",
     [{"body": b"abc", "host": "SERVER"}]),
    ("http10-expect", b"POST /old HTTP/1.0\r\n" + E + b"Expect: 100-continue\r\n"
     b"Content-Length: 1\r\n\r\nx", [{"absent": [b"expect"]}]),
    ("http10-upgrade", b"GET /old HTTP/1.0\r\n" + E + b"Connection: upgrade\r\n"
     b"Upgrade: websocket\r\n\r\n", [{"absent": [b"upgrade"]}]),
    # framing
    ("length-zero", b"POST /z HTTP/1.1\r\n" + E + b"Content-Length: 0\r\n\r\n", [{"body": b""}]),
    ("chunked-empty", b"POST /z HTTP/1.1\r\n" + E + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     [{"body": b""}]),
    ("chunked-leading-zeros", b"POST /z HTTP/1.1\r\n" + E + b"Transfer-Encoding: Chunked\r\n\r\n"
     b"0003\r\nabc\r\n0\r\n\r\n", [{"body": b"abc"}]),
    ("empty-lines-first", b"\r\n\r\nGET /after HTTP/1.1\r\n" + E + b"\r\n", [{"target": "/after"}]),
    ("pipelined", b"GET /1 HTTP/1.1\r\n" + E + b"\r\nBREW /2 HTTP/1.1\r\n" + E
     + b"Content-Length: 1\r\n\r\nx" + b"OPTIONS * HTTP/1.1\r\n" + E + b"\r\n",
     [{"target": "/1"}, {"method": "BREW", "target": "/2"}, {"target": "*"}]),
]


class LegalCorpusTest(LbdTestCase):
    def setUp(self):
        super().setUp()
        self.b = StrictBackend()
        self.addCleanup(self.b.close)
        self.port = free_port()
        self.start_lbd(config([listener("web", self.port, "p")], [pool("p", [self.b])]))

    def check(self, name, raw, wants, split=None):
        before = len(self.b.requests)
        with HttpClient(self.port, timeout=5) as c:
            if split:
                for i in range(0, len(raw), split):
                    c.send(raw[i:i + split])
                    time.sleep(0.002)
            else:
                c.send(raw)
            for want in wants:
                method = want.get("method", "GET")
                r = c.read_response(method)
                self.assertEqual(r.status, 200, (name, r))
        reqs, errors = self.b.wait(before + len(wants))
        self.assertEqual(errors, [], name)
        got = reqs[before:]
        self.assertEqual(len(got), len(wants), name)
        for req, want in zip(got, wants):
            fields = req["fields"]
            hosts = [v for k, v in fields if k == b"host"]
            for key in ("method", "target", "body"):
                if key in want:
                    self.assertEqual(req[key], want[key], (name, key))
            if "host" in want:
                self.assertEqual(hosts, [want["host"] if want["host"] != "SERVER"
                                         else self.b.address.encode()], name)
            for f in want.get("fields", []):
                self.assertIn(f, fields, name)
            for a in want.get("absent", []):
                self.assertNotIn(a, [k for k, _ in fields], name)

    def test_legal_requests_reach_the_server_valid(self):
        for name, raw, wants in LEGAL:
            with self.subTest(name):
                self.check(name, raw, wants)

    def test_legal_requests_split_byte_by_byte(self):
        """The same bytes in reads of one byte: spans cross reads."""
        for name, raw, wants in LEGAL:
            if len(raw) > 1000:
                continue
            with self.subTest(name):
                self.check(name, raw, wants, split=1)

    def test_checker_refuses_what_it_should(self):
        """The checker itself: each of these is not valid HTTP/1.1."""
        for raw in [b"GET / HTTP/1.0\r\nHost: a\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
                    b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", b"GET / HTTP/1.1\nHost: a\r\n\r\n",
                    b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: a\r\nKeep-Alive: 1\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n",
                    b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", b"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n"]:
            with self.assertRaises(Invalid, msg=raw):
                strict_request(raw)
        ok = b"GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n"
        self.assertEqual(strict_request(ok + b"next")[1], len(ok))


class EmptyValueTest(LbdTestCase):
    def test_empty_values_both_ways(self):
        """RFC 9110 §5.5 allows an empty field value, in a request (it was
        400) and in a response (it was 502)."""
        lbd, port, b = self.one_backend(
            lambda be, r: B.Raw(b"HTTP/1.1 200 OK\r\nX-Empty:\r\nSet-Cookie: \r\n"
                                b"Content-Length: 2\r\n\r\nok", close=False))
        with HttpClient(port) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nCookie:\r\n"
                   b"Accept-Encoding: \r\n\r\n")
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, b"ok"))
            self.assertEqual(r.header("x-empty"), "")
            self.assertEqual(c.request().status, 200)
        req = b.wait_requests(1)[0]
        self.assertIn(b"\r\nX-Empty:\r\nCookie:\r\nAccept-Encoding:\r\n", req.raw_head)


class OddRequestTest(LbdTestCase):
    def test_http10_without_host_gets_the_servers_address(self):
        lbd, port, b = self.one_backend()
        with HttpClient(port) as c:
            c.send(b"GET /old HTTP/1.0\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
        req = b.wait_requests(1)[0]
        self.assertEqual(req.version, "HTTP/1.1")
        self.assertEqual(req.headers_all("host"), [b.address])

    def test_options_asterisk_routed_by_host(self):
        b = self.backends.http("any")
        port = free_port()
        self.start_lbd(config([listener("web", port, "p")], [pool("p", [b])]))
        with HttpClient(port) as c:
            c.send(b"OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n")
            self.assertEqual(c.read_response("OPTIONS").status, 200)
        self.assertEqual(b.wait_requests(1)[0].target, "*")

    def test_options_asterisk_goes_to_the_hosts_pool(self):
        api, web = self.backends.http("api"), self.backends.http("web")
        port = free_port()
        routes = [{"match": {"host": "api.example.com", "path_prefix": "/v1"}, "pool": "api"},
                  {"match": {"path_prefix": "/"}, "pool": "web"}]
        self.start_lbd(config([listener("l", port, routes=routes)],
                              [pool("api", [api]), pool("web", [web])]))
        for host, b in (("api.example.com", api), ("www.example.com", web)):
            with HttpClient(port) as c:
                c.send(b"OPTIONS * HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())
                self.assertEqual(c.read_response("OPTIONS").status, 200, host)
            self.assertEqual(b.wait_requests(1)[0].target, "*")

    def test_extension_methods_are_forwarded(self):
        lbd, port, b = self.one_backend(B.echo_handler)
        for m in ("FOO", "BREW", "purge", "PLAY", "X-CUSTOM.1"):
            with HttpClient(port) as c:
                c.send(build_request(m, "/m", body=b"abc"))
                r = c.read_response(m)
                self.assertEqual((r.status, r.body), (200, b"abc"), m)
                self.assertEqual(c.request().status, 200)
            self.assertEqual(b.requests[-2].method, m)
        self.assertEqual([ln["method"] for ln in lbd.access_lines(count=10)][::2],
                         ["FOO", "BREW", "purge", "PLAY", "X-CUSTOM.1"])

    def test_http_1x_above_1_is_505(self):
        lbd, port, b = self.one_backend()
        for v in (b"HTTP/1.2", b"HTTP/1.9", b"HTTP/3.0"):
            with HttpClient(port) as c:
                c.send(b"GET / " + v + b"\r\nHost: a\r\n\r\n")
                self.assertErrorResponse(c.read_response(), 505)
                self.assertTrue(c.closed_within(2))
        self.assertNothingReached(b)

    def test_unix_client_is_forwarded_as_unknown(self):
        b = self.backends.http("b")
        d = tempfile.mkdtemp(prefix="lbd-legal-")
        self.addCleanup(lambda: os.path.exists(front) and os.unlink(front))
        self.addCleanup(lambda: os.rmdir(d))
        front = os.path.join(d, "front.sock")
        port = free_port()
        web = listener("web", port, "p")
        web["bind"] = ["unix:" + front, "127.0.0.1:%d" % port]
        self.start_lbd(config([web], [pool("p", [b])]))
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(3)
            s.connect(front)
            s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data)
        self.assertEqual(b.wait_requests(1)[0].headers_all("forwarded"),
                         ["for=unknown;host=h;proto=http"])


class TrustedProxyTest(LbdTestCase):
    HEADERS = [("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "https"),
               ("X-Forwarded-Host", "shop.example.com"),
               ("Forwarded", "for=203.0.113.9;host=shop.example.com;proto=https")]

    def _start(self, trusted):
        b = self.backends.http("b")
        port = free_port()
        web = listener("web", port, "p")
        if trusted:
            web["trusted_proxies"] = ["127.0.0.1"]
        self.start_lbd(config([web], [pool("p", [b])]))
        with HttpClient(port) as c:
            self.assertEqual(c.request("GET", "/", self.HEADERS, host="lbd.internal").status, 200)
        return b.wait_requests(1)[0]

    def test_trusted_peer_keeps_proto_host_and_forwarded(self):
        """A TLS-terminating balancer in front of lbd said https: the app
        behind lbd still sees https."""
        req = self._start(True)
        self.assertEqual(req.headers_all("x-forwarded-proto"), ["https"])
        self.assertEqual(req.headers_all("x-forwarded-host"), ["shop.example.com"])
        self.assertEqual(req.joined("x-forwarded-for"), "203.0.113.9, 127.0.0.1")
        self.assertEqual(req.joined("forwarded").replace(", ", ","),
                         "for=203.0.113.9;host=shop.example.com;proto=https,"
                         "for=127.0.0.1;host=lbd.internal;proto=http")

    def test_untrusted_peer_gets_them_replaced(self):
        req = self._start(False)
        self.assertEqual(req.headers_all("x-forwarded-proto"), ["http"])
        self.assertEqual(req.headers_all("x-forwarded-host"), ["lbd.internal"])
        self.assertEqual(req.joined("x-forwarded-for"), "203.0.113.9, 127.0.0.1")
        self.assertEqual(req.headers_all("forwarded"),
                         ["for=127.0.0.1;host=lbd.internal;proto=http"])

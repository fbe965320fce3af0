"""Programmable backends for lbd's end-to-end tests (python3 stdlib only).

Every server listens on 127.0.0.1 on a port of its own, serves each
connection in a thread, records what it received and stops cleanly:

- HTTPBackend: an HTTP/1.1 keep-alive server written on raw sockets, so a
  test controls every byte it sends back. It records each request (method,
  target, version, header list, body, chunk sizes, connection id) as soon as
  its head has arrived, and answers with whatever the handler returns: a
  Response (fixed, streamed, chunked, delayed, aborted part-way) or an action
  (RESET, CLOSE, HANG, Raw bytes). Its default answer is 200 with the
  backend's name in the body and an `X-Backend: NAME` header.
- WebSocketBackend: the same server that upgrades `Upgrade: websocket`
  requests (RFC 6455 handshake) and echoes every frame.
- TcpEchoBackend: echoes bytes; when the client half-closes it sends a
  farewell line, then closes its own side.

Each takes tls=SSLContext (server side) to speak TLS instead: the handshake
runs in the connection's thread, and tls_handshakes, tls_resumed (sessions
resumed) and tls_errors (failed handshakes) count what happened.

Run as a script, it starts one backend in the foreground so that a test can
kill the whole process (`python3 backends.py http --name a --port P`).
"""

import argparse
import base64
import hashlib
import random
import socket
import ssl
import struct
import sys
import threading
import time

__all__ = [
    "Request", "Response", "Raw", "RESET", "CLOSE", "HANG",
    "HTTPBackend", "WebSocketBackend", "TcpEchoBackend",
    "default_handler", "echo_handler", "digest_handler", "delay_handler",
    "big_handler", "chunked_handler", "pattern_stream", "pattern_sha256",
    "ws_accept_key", "ws_frame", "ws_read_frame",
]

# ---------------------------------------------------------------------------
# Deterministic payloads: a prime-length random block repeated, so that a
# dropped, duplicated or reordered piece changes the digest.
_PATTERN_LEN = 65521
_PATTERN = random.Random(20240229).randbytes(_PATTERN_LEN)
_PATTERN3 = _PATTERN * 3
_SLICE = 65536


def pattern_stream(n, offset=0):
    """Yield N bytes of the pattern (starting at OFFSET) in 64 KiB pieces."""
    pos = offset
    end = offset + n
    while pos < end:
        k = min(_SLICE, end - pos)
        start = pos % _PATTERN_LEN
        yield memoryview(_PATTERN3)[start:start + k]
        pos += k


def pattern_bytes(n, offset=0):
    return b"".join(bytes(p) for p in pattern_stream(n, offset))


_digest_cache = {}


def pattern_sha256(n):
    if n not in _digest_cache:
        h = hashlib.sha256()
        for piece in pattern_stream(n):
            h.update(piece)
        _digest_cache[n] = h.hexdigest()
    return _digest_cache[n]


# ---------------------------------------------------------------------------
class Request:
    """One request as a backend received it."""

    def __init__(self, conn_id, method, target, version, headers, raw_head):
        self.conn_id = conn_id
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers            # [(name, value)] in arrival order
        self.raw_head = raw_head
        self.body = b""                   # the first STORE_LIMIT bytes
        self.body_len = 0
        self._sha = hashlib.sha256()
        self.body_sha256 = self._sha.hexdigest()
        self.chunked = False
        self.chunk_sizes = []             # sizes as received when chunked
        self.trailers = []
        self.complete = False             # body fully read
        self.time = time.monotonic()

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def headers_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has_header(self, name):
        return bool(self.headers_all(name))

    def joined(self, name):
        """All values of NAME joined by ', ' (how list headers combine)."""
        vals = self.headers_all(name)
        return ", ".join(vals) if vals else None

    def _add_body(self, data, store_limit):
        self.body_len += len(data)
        self._sha.update(data)
        if len(self.body) < store_limit:
            self.body += bytes(data[:store_limit - len(self.body)])

    def _finish(self):
        self.body_sha256 = self._sha.hexdigest()
        self.complete = True

    def __repr__(self):
        return "<Request #%d %s %s %s body=%d>" % (
            self.conn_id, self.method, self.target, self.version, self.body_len)


class Response:
    """What an HTTPBackend sends back.

    body: bytes, or an iterable of bytes (streamed; give `length` unless
    chunked or close-delimited). chunked=True frames the body in chunks of
    `chunk_size` (or as the iterable yields them). close=True closes after
    the response; no_length=True sends neither Content-Length nor chunked
    (close-delimited). delay: seconds before the head; body_delay: seconds
    between head and body. abort_after=N resets the connection after N body
    bytes. For HEAD requests the body is not sent.
    """

    def __init__(self, status=200, body=b"", headers=None, reason=None,
                 chunked=False, chunk_size=None, length=None, close=False,
                 no_length=False, delay=0.0, body_delay=0.0, abort_after=None,
                 version="HTTP/1.1", interim=None):
        self.status = status
        self.reason = reason or _REASONS.get(status, "Status")
        self.body = body
        self.headers = list(headers or [])
        self.chunked = chunked
        self.chunk_size = chunk_size
        self.length = length
        self.close = close
        self.no_length = no_length
        self.delay = delay
        self.body_delay = body_delay
        self.abort_after = abort_after
        self.version = version
        self.interim = interim or []      # raw interim responses (1xx)


class Raw:
    """Send DATA as-is, then close (close=True) or keep reading."""

    def __init__(self, data, close=True, reset=False):
        self.data = data
        self.close = close
        self.reset = reset


class _Action:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


RESET = _Action("RESET")      # close with RST (SO_LINGER 0), no response
CLOSE = _Action("CLOSE")      # close with FIN, no response
HANG = _Action("HANG")        # never answer (until the backend stops)

_REASONS = {100: "Continue", 101: "Switching Protocols", 200: "OK",
            201: "Created", 204: "No Content", 301: "Moved Permanently",
            304: "Not Modified", 400: "Bad Request", 404: "Not Found",
            413: "Content Too Large", 500: "Internal Server Error",
            503: "Service Unavailable"}


# Handlers: f(backend, request) -> Response | action ------------------------
def default_handler(backend, req):
    return Response(200, ("%s\n" % backend.name).encode(),
                    headers=[("X-Backend", backend.name),
                             ("Content-Type", "text/plain")])


def health_handler(path="/healthz", then=default_handler):
    """PATH answers with backend.health_status (200 until a test sets it),
    so a test can make a server's health check fail and pass again; other
    paths go to THEN. backend.health_checks counts the checks seen."""
    def handler(backend, req):
        if req.target == path:
            with backend._lock:
                backend.health_checks = getattr(backend, "health_checks", 0) + 1
            status = getattr(backend, "health_status", 200)
            return Response(status, b"health\n", headers=[("Content-Type", "text/plain")])
        return then(backend, req)
    return handler


def echo_handler(backend, req):
    """Echo the request body; X-Path, X-Method tell what arrived."""
    return Response(200, req.body, headers=[
        ("X-Backend", backend.name), ("X-Path", req.target),
        ("X-Method", req.method), ("X-Body-Length", str(req.body_len))])


def digest_handler(backend, req):
    """Answer with the length and sha256 of the body (for big uploads)."""
    return Response(200, ("%d %s\n" % (req.body_len, req.body_sha256)).encode(),
                    headers=[("X-Backend", backend.name)])


def delay_handler(seconds, then=default_handler):
    def handler(backend, req):
        time.sleep(seconds)
        return then(backend, req)
    return handler


def big_handler(n, chunked=False, abort_after=None, digest_header=True):
    """Stream N pattern bytes generated on the fly (X-Sha256: their digest)."""
    def handler(backend, req):
        headers = [("X-Backend", backend.name)]
        if digest_header:
            headers.append(("X-Sha256", pattern_sha256(n)))
        return Response(200, pattern_stream(n), length=None if chunked else n,
                        chunked=chunked, abort_after=abort_after, headers=headers)
    return handler


def chunked_handler(parts):
    """Answer with a chunked body, one chunk per element of PARTS."""
    def handler(backend, req):
        return Response(200, list(parts), chunked=True,
                        headers=[("X-Backend", backend.name)])
    return handler


# ---------------------------------------------------------------------------
class _Closed(Exception):
    pass


class _BadRequest(Exception):
    pass


class _Conn:
    """A connection's socket with a byte buffer in front of it."""

    def __init__(self, server, sock, conn_id):
        self.server = server
        self.sock = sock
        self.id = conn_id
        self.buf = bytearray()

    def _fill(self):
        try:
            data = self.sock.recv(262144)
        except OSError:
            raise _Closed()
        if not data:
            raise _Closed()
        self.server._count_in(len(data))
        self.buf += data

    def readline(self, limit=1 << 20):
        start = 0
        while True:
            i = self.buf.find(b"\n", start)
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            if len(self.buf) > limit:
                raise _BadRequest("line too long")
            start = len(self.buf)
            self._fill()

    def read_some(self, n):
        if not self.buf:
            self._fill()
        k = min(n, len(self.buf))
        data = bytes(self.buf[:k])
        del self.buf[:k]
        return data

    def read_exact(self, n):
        out = bytearray()
        while len(out) < n:
            out += self.read_some(n - len(out))
        return bytes(out)

    def send(self, data):
        self.sock.sendall(data)


class _Server:
    """Listening socket, accept thread, per-connection threads, stop()."""

    kind = "server"

    def __init__(self, name, port=0, host="127.0.0.1", tls=None):
        self.name = name
        self.host = host
        self.tls = tls
        self.tls_handshakes = 0
        self.tls_resumed = 0
        self.tls_errors = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._socks = set()
        self._threads = []
        self.connections = 0            # connections accepted
        self.closed_ids = set()         # ids of the connections that ended
        self.bytes_received = 0
        self.errors = []
        self.lsock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, port))
        self.lsock.listen(512)
        self.port = self.lsock.getsockname()[1]
        self._accepter = None

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    def start(self):
        self._accepter = threading.Thread(target=self._accept_loop,
                                          name="accept-" + self.name, daemon=True)
        self._accepter.start()
        return self

    def __enter__(self):
        return self.start() if self._accepter is None else self

    def __exit__(self, *exc):
        self.stop()

    def _count_in(self, n):
        with self._lock:
            self.bytes_received += n

    def _accept_loop(self):
        self.lsock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                sock, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._stop.is_set():
                    sock.close()
                    break
                self.connections += 1
                conn_id = self.connections
                self._socks.add(sock)
            t = threading.Thread(target=self._serve_wrapper, args=(sock, conn_id),
                                 name="%s-conn%d" % (self.name, conn_id), daemon=True)
            self._threads.append(t)
            t.start()

    def _wrap(self, sock):
        """The TLS handshake, bounded; None when it failed."""
        raw = sock
        try:
            sock.settimeout(5.0)
            sock = self.tls.wrap_socket(sock, server_side=True)
            sock.settimeout(None)
        except (ssl.SSLError, OSError) as e:
            with self._lock:
                self.tls_errors.append(str(e))
            return None
        with self._lock:
            self._socks.discard(raw)
            self._socks.add(sock)
            self.tls_handshakes += 1
            if sock.session_reused:
                self.tls_resumed += 1
        return sock

    def _serve_wrapper(self, sock, conn_id):
        try:
            if self.tls is not None:
                wrapped = self._wrap(sock)
                if wrapped is None:
                    return
                sock = wrapped
            self.serve(_Conn(self, sock, conn_id))
        except (_Closed, ConnectionError, BrokenPipeError, OSError):
            pass
        except _BadRequest as e:
            with self._lock:
                self.errors.append(str(e))
        except Exception as e:  # keep going; the test inspects .errors
            with self._lock:
                self.errors.append("%s: %r" % (type(e).__name__, e))
        finally:
            try:
                sock.close()
            except OSError:
                pass
            with self._lock:
                self._socks.discard(sock)
                self.closed_ids.add(conn_id)

    def serve(self, conn):
        raise NotImplementedError

    def stop(self):
        """Stop accepting, shut every connection down, join the threads."""
        self._stop.set()
        try:
            self.lsock.close()
        except OSError:
            pass
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._accepter:
            self._accepter.join(2)
        deadline = time.monotonic() + 3
        for t in list(self._threads):
            t.join(max(0.01, deadline - time.monotonic()))

    def stopped(self):
        return self._stop.is_set()


def _reset(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


class HTTPBackend(_Server):
    """A keep-alive HTTP/1.1 server on raw sockets.

    handler(backend, request) -> Response | Raw | RESET | CLOSE | HANG is
    called once the body has been read. on_head(backend, request) -> None |
    action is called before the body is read (None = carry on), e.g. to
    reset after the head. send_continue: answer `Expect: 100-continue`
    with a 100 before reading the body.
    """

    kind = "http"

    def __init__(self, name, handler=None, on_head=None, port=0,
                 host="127.0.0.1", send_continue=True, store_limit=1 << 20, tls=None):
        super().__init__(name, port=port, host=host, tls=tls)
        self.handler = handler or default_handler
        self.on_head = on_head
        self.send_continue = send_continue
        self.store_limit = store_limit
        self.requests = []
        self.inflight = 0
        self.max_inflight = 0
        self._req_cond = threading.Condition(self._lock)

    # -- inspection --------------------------------------------------------
    def wait_requests(self, n, timeout=3.0):
        """Wait until N requests were recorded; return the list (copy)."""
        deadline = time.monotonic() + timeout
        with self._req_cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._req_cond.wait(left)
            return list(self.requests)

    def targets(self):
        with self._lock:
            return [r.target for r in self.requests]

    def reset_stats(self):
        with self._lock:
            self.requests = []
            self.bytes_received = 0
            self.errors = []
            self.max_inflight = self.inflight

    # -- serving -----------------------------------------------------------
    def serve(self, conn):
        while not self._stop.is_set():
            req = self._read_head(conn)
            if req is None:
                return
            with self._req_cond:
                self.requests.append(req)
                self.inflight += 1
                self.max_inflight = max(self.max_inflight, self.inflight)
                self._req_cond.notify_all()
            try:
                keep = self._serve_one(conn, req)
            finally:
                with self._lock:
                    self.inflight -= 1
            if not keep:
                return

    def _serve_one(self, conn, req):
        if self.on_head:
            action = self.on_head(self, req)
            if action is not None:
                return self._do(conn, req, action)
        if req.header("expect", "").lower() == "100-continue" and self.send_continue \
                and self._has_body(req):
            conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        self._read_body(conn, req)
        with self._req_cond:
            self._req_cond.notify_all()
        if req.header("upgrade", "").lower() == "websocket" and isinstance(self, WebSocketBackend):
            return self._websocket(conn, req)
        return self._do(conn, req, self.handler(self, req))

    def _read_head(self, conn):
        try:
            line = conn.readline()
            while line in (b"\r\n", b"\n"):   # tolerated between requests
                line = conn.readline()
        except _Closed:
            return None
        raw = bytearray(line)
        parts = line.rstrip(b"\r\n").split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            raise _BadRequest("bad request line %r" % line)
        headers = []
        while True:
            h = conn.readline()
            raw += h
            if h in (b"\r\n", b"\n"):
                break
            if b":" not in h:
                raise _BadRequest("bad header line %r" % h)
            k, v = h.split(b":", 1)
            headers.append((k.decode("latin-1"), v.strip(b" \t\r\n").decode("latin-1")))
        return Request(conn.id, parts[0].decode("latin-1"), parts[1].decode("latin-1"),
                       parts[2].decode("latin-1"), headers, bytes(raw))

    @staticmethod
    def _has_body(req):
        te = req.header("transfer-encoding")
        if te and te.split(",")[-1].strip().lower() == "chunked":
            return True
        cl = req.header("content-length")
        return bool(cl and cl.strip() != "0")

    def _read_body(self, conn, req):
        te = req.joined("transfer-encoding")
        if te and te.split(",")[-1].strip().lower() == "chunked":
            req.chunked = True
            while True:
                line = conn.readline()
                size_s = line.split(b";", 1)[0].strip()
                try:
                    size = int(size_s, 16)
                except ValueError:
                    raise _BadRequest("bad chunk size %r" % line)
                if size == 0:
                    break
                if len(req.chunk_sizes) < 100000:
                    req.chunk_sizes.append(size)
                left = size
                while left:
                    data = conn.read_some(left)
                    req._add_body(data, self.store_limit)
                    left -= len(data)
                if conn.readline() not in (b"\r\n", b"\n"):
                    raise _BadRequest("no CRLF after chunk")
            while True:
                t = conn.readline()
                if t in (b"\r\n", b"\n"):
                    break
                req.trailers.append(t)
        else:
            cl = req.header("content-length")
            if cl:
                left = int(cl)
                while left:
                    data = conn.read_some(min(left, 262144))
                    req._add_body(data, self.store_limit)
                    left -= len(data)
        req._finish()

    def _do(self, conn, req, action):
        """Carry out ACTION; return True to keep the connection."""
        if action is RESET:
            _reset(conn.sock)
            raise _Closed()
        if action is CLOSE:
            return False
        if action is HANG:
            while not self._stop.wait(0.05):
                pass
            return False
        if isinstance(action, Raw):
            conn.send(action.data)
            if action.reset:
                _reset(conn.sock)
                raise _Closed()
            return not action.close
        return self._respond(conn, req, action)

    def _respond(self, conn, req, r):
        if r.delay:
            if self._stop.wait(r.delay):
                return False
        for interim in r.interim:
            conn.send(interim)
        head = ["%s %d %s" % (r.version, r.status, r.reason)]
        names = {k.lower() for k, _ in r.headers}
        bodyless_status = r.status < 200 or r.status in (204, 304)
        body = r.body
        if isinstance(body, str):
            body = body.encode()
        if r.chunked:
            if "transfer-encoding" not in names:
                head.append("Transfer-Encoding: chunked")
        elif not r.no_length and "content-length" not in names and not bodyless_status:
            length = r.length if r.length is not None else len(body)
            head.append("Content-Length: %d" % length)
        close = r.close or _wants_close(req)
        if close and "connection" not in names:
            head.append("Connection: close")
        head += ["%s: %s" % kv for kv in r.headers]
        conn.send(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if req.method == "HEAD" or bodyless_status:
            return not close
        if r.body_delay and self._stop.wait(r.body_delay):
            return False
        pieces = [body] if isinstance(body, (bytes, bytearray, memoryview)) else body
        sent = 0
        for piece in pieces:
            if not piece:
                continue
            if r.abort_after is not None and sent + len(piece) >= r.abort_after:
                k = r.abort_after - sent
                if k > 0:
                    conn.send(_frame(piece[:k], r.chunked))
                _reset(conn.sock)
                raise _Closed()
            if r.chunked and r.chunk_size:
                for i in range(0, len(piece), r.chunk_size):
                    conn.send(_frame(piece[i:i + r.chunk_size], True))
            else:
                conn.send(_frame(piece, r.chunked))
            sent += len(piece)
            if self._stop.is_set():
                return False
        if r.chunked:
            conn.send(b"0\r\n\r\n")
        return not close and not r.no_length

    # -- WebSocket (WebSocketBackend only) ---------------------------------
    def _websocket(self, conn, req):
        key = req.header("sec-websocket-key", "")
        conn.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                   % ws_accept_key(key)).encode())
        self.upgraded += 1
        while not self._stop.is_set():
            fin, opcode, payload, masked = ws_read_frame(conn.read_exact)
            if not masked:
                raise _BadRequest("unmasked client frame")
            if opcode == 0x8:        # close: answer with the same code
                conn.send(ws_frame(payload[:2], 0x8))
                return False
            if opcode == 0x9:        # ping
                conn.send(ws_frame(payload, 0xA))
            elif opcode in (0x0, 0x1, 0x2):
                conn.send(ws_frame(payload, opcode, fin=fin))
        return False


def _frame(piece, chunked):
    if not chunked:
        return piece
    return b"%x\r\n" % len(piece) + bytes(piece) + b"\r\n"


def _wants_close(req):
    conn = [t.strip().lower() for t in (req.joined("connection") or "").split(",")]
    if req.version == "HTTP/1.0":
        return "keep-alive" not in conn
    return "close" in conn


# ---------------------------------------------------------------------------
# WebSocket (RFC 6455), client and server halves.
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_accept_key(key):
    return base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()


def ws_frame(payload, opcode=0x1, fin=True, mask=None):
    """Build a frame; MASK is 4 bytes (client frames) or None (server)."""
    payload = bytes(payload)
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask:
        head += mask
        payload = _ws_mask(payload, mask)
    return head + payload


def _ws_mask(data, mask):
    if not data:
        return data
    key = (mask * (len(data) // 4 + 1))[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(len(data), "big")


def ws_read_frame(read_exact):
    """Read one frame with READ_EXACT(n); return (fin, opcode, payload, masked)."""
    b0, b1 = read_exact(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", read_exact(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", read_exact(8))[0]
    masked = bool(b1 & 0x80)
    mask = read_exact(4) if masked else None
    payload = read_exact(n) if n else b""
    if masked:
        payload = _ws_mask(payload, mask)
    return bool(b0 & 0x80), b0 & 0x0F, payload, masked


class WebSocketBackend(HTTPBackend):
    """HTTPBackend that upgrades WebSocket requests and echoes frames."""

    kind = "websocket"

    def __init__(self, name, **kw):
        super().__init__(name, **kw)
        self.upgraded = 0


# ---------------------------------------------------------------------------
class TcpEchoBackend(_Server):
    """Echo every byte; on the client's half-close send `bye from NAME\\n`
    (farewell) and close. greeting, when set, is sent on accept."""

    kind = "tcp"

    def __init__(self, name, port=0, host="127.0.0.1", farewell=True, greeting=None,
                 tls=None):
        super().__init__(name, port=port, host=host, tls=tls)
        self.farewell = farewell
        self.greeting = greeting
        self.half_closed = 0

    def serve(self, conn):
        sock = conn.sock
        if self.greeting:
            sock.sendall(self.greeting)
        while not self._stop.is_set():
            data = sock.recv(262144)
            if not data:
                break
            self._count_in(len(data))
            sock.sendall(data)
        else:
            return
        with self._lock:
            self.half_closed += 1
        if self.farewell:
            sock.sendall(("bye from %s\n" % self.name).encode())
        sock.shutdown(socket.SHUT_WR)


# ---------------------------------------------------------------------------
def main(argv=None):
    p = argparse.ArgumentParser(description="run one lbd test backend")
    p.add_argument("kind", choices=["http", "websocket", "tcp"])
    p.add_argument("--name", default="backend")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--big", type=int, help="answer every request with N pattern bytes")
    p.add_argument("--chunked", action="store_true", help="with --big: chunked")
    p.add_argument("--delay", type=float, default=0.0)
    a = p.parse_args(argv)
    if a.kind == "tcp":
        srv = TcpEchoBackend(a.name, port=a.port)
    else:
        handler = big_handler(a.big, chunked=a.chunked, digest_header=False) \
            if a.big else default_handler
        if a.delay:
            handler = delay_handler(a.delay, handler)
        cls = WebSocketBackend if a.kind == "websocket" else HTTPBackend
        srv = cls(a.name, handler=handler, port=a.port)
    srv.start()
    print("listening %d" % srv.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    sys.exit(main())

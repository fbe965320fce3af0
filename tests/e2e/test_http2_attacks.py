"""HTTP/2 abuse (SPEC §9): rapid reset, CONTINUATION floods, SETTINGS and
PING floods, a window that never opens, an HPACK bomb, streams over
limits.h2_max_streams. Each attack runs on its own connection against a
running lbd, bounded in frames and in time, and each test checks that:

- lbd's resident size stays bounded;
- the server behind lbd sees a bounded number of requests;
- the abuser gets GOAWAY (ENHANCE_YOUR_CALM) or a close;
- lbd_listener_http2_abuse_total moved for the right reason, and the error
  log says so once;
- another client, on its own connections, keeps getting 200s meanwhile.

The attackers speak through h2's H2Connection where it can say what they
say, and write frames by hand where it cannot (CONTINUATION without end,
an HPACK block that expands to 100,000 fields)."""

import re
import socket
import struct
import threading
import time

import backends as B
from lbdtest import (HOST, LbdTestCase, admin_request, config, free_port, listener, pool)

try:
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events
    import h2.settings
    import hpack
except ImportError:  # run-e2e prefers /usr/bin/python3, which has python3-h2
    h2 = None

ENHANCE_YOUR_CALM = 0xb
# Frame types and flags (RFC 9113 §6).
HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, CONTINUATION = 1, 3, 4, 6, 7, 9
END_STREAM, END_HEADERS = 0x1, 0x4
# What lbd may grow by while it is attacked: generous, because the
# sanitizer build keeps freed memory in quarantine for a while.
RSS_BOUND_KB = 64 * 1024
ABUSE = "lbd_listener_http2_abuse_total"


def frame(ftype, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream_id) + payload


def request_fields(path="/", method="GET"):
    return [(":method", method), (":scheme", "http"), (":authority", "example.com"),
            (":path", path), ("user-agent", "h2-attack")]


def client_connection():
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    return conn


def connect(port, rcvbuf=None, timeout=5.0):
    """A TCP connection to lbd; RCVBUF (set before connecting, so that the
    window it advertises stays that small) for attackers that never read."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect((HOST, port))
    return s


def send_all(sock, data, timeout=3.0):
    """Send DATA; False once lbd stopped taking it (closed, reset, or not
    reading for TIMEOUT)."""
    sock.settimeout(timeout)
    try:
        sock.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        return False


class Ending:
    """How a connection ended, as its client read it: the GOAWAY error
    codes, the RST_STREAM codes and the response statuses by stream, and
    whether lbd closed it."""

    def __init__(self):
        self.goaways = []
        self.resets = {}
        self.statuses = {}
        self.closed = False
        self.frames = 0

    def __repr__(self):
        return "Ending(goaways=%r, closed=%r, frames=%d, resets=%d, statuses=%r)" % (
            self.goaways, self.closed, self.frames, len(self.resets),
            dict(list(self.statuses.items())[:5]))


def read_ending(sock, timeout=5.0, until_goaway=False):
    """Read what lbd sends until it closes the connection (or, with
    UNTIL_GOAWAY, until a GOAWAY came), at most TIMEOUT seconds; frames are
    parsed by hand, so that whatever the attacker did, what lbd answered
    can be read."""
    out = Ending()
    decoder = hpack.Decoder()
    decoder.max_allowed_table_size = 1 << 16
    buf = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(1 << 20)
        except socket.timeout:
            break
        except (ConnectionResetError, BrokenPipeError):
            out.closed = True
            break
        if not data:
            out.closed = True
            break
        buf += data
        pos = 0
        while len(buf) - pos >= 9:
            length = int.from_bytes(buf[pos:pos + 3], "big")
            if len(buf) - pos < 9 + length:
                break
            ftype = buf[pos + 3]
            sid = int.from_bytes(buf[pos + 5:pos + 9], "big") & 0x7fffffff
            payload = bytes(buf[pos + 9:pos + 9 + length])
            pos += 9 + length
            out.frames += 1
            if ftype == GOAWAY:
                out.goaways.append(int.from_bytes(payload[4:8], "big"))
            elif ftype == RST_STREAM:
                out.resets[sid] = int.from_bytes(payload[:4], "big")
            elif ftype == HEADERS:
                # lbd sends no padding or priority; every block fits a frame.
                for name, value in decoder.decode(payload):
                    if name in (":status", b":status"):
                        out.statuses[sid] = int(value)
        del buf[:pos]
        if until_goaway and out.goaways:
            break
    return out


def h2_get(port, path="/by", timeout=5.0):
    """One GET over a new HTTP/2 connection (prior knowledge); its status."""
    with connect(port, timeout=timeout) as s:
        conn = client_connection()
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, request_fields(path), end_stream=True)
        s.sendall(conn.data_to_send())
        status = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = s.recv(65536)
            if not data:
                raise ConnectionError("lbd closed the connection")
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived):
                    status = int(dict(ev.headers)[b":status"])
                elif isinstance(ev, h2.events.DataReceived):
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    return status
                elif isinstance(ev, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
                    raise ConnectionError("lbd ended the request: %r" % ev)
            s.sendall(conn.data_to_send())
        raise TimeoutError("no answer within %ss" % timeout)


class Bystander:
    """Another client, on connections of its own, asking for /by over and
    over while an attack runs; .statuses, .errors."""

    def __init__(self, port):
        self.port = port
        self.statuses = []
        self.errors = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.statuses.append(h2_get(self.port))
            except Exception as e:  # noqa: BLE001 - every failure is reported
                self.errors.append(repr(e))
            self._stop.wait(0.02)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(10)


def slow_handler(path_prefix, seconds):
    """Paths under PATH_PREFIX answer after SECONDS; the others at once."""
    def handler(backend, req):
        if req.target.startswith(path_prefix):
            time.sleep(seconds)
        return B.default_handler(backend, req)
    return handler


class Http2AttackTest(LbdTestCase):
    def setUp(self):
        if h2 is None:
            self.skipTest("python3-h2 is not installed for this Python")
        super().setUp()

    # -- set-up and checks ---------------------------------------------------
    def start(self, handler=None, limits=None, timeouts=None, routes=None):
        b = self.backends.http("b1", handler)
        port = free_port()
        lbd = self.start_lbd(config([listener("web", port, "p", routes=routes)], [pool("p", [b])],
                                    limits=limits, timeouts=timeouts))
        # Warm up, so that what is measured is the attack's, not start-up's.
        self.assertEqual(h2_get(port), 200)
        return lbd, port, b

    def abuse(self, lbd, reason):
        """The value of lbd_listener_http2_abuse_total for REASON."""
        r = admin_request(lbd.admin_socket, "GET", "/metrics")
        self.assertEqual(r.status, 200)
        pat = re.compile(r'^%s\{listener="web",reason="%s"\} (\d+)$' % (ABUSE, reason), re.M)
        m = pat.search(r.body.decode())
        self.assertIsNotNone(m, "no %s for %s in /metrics" % (ABUSE, reason))
        return int(m.group(1))

    def attacked(self, lbd, port, b, reason):
        """A context for one attack: the checks every attack shares."""
        return Attack(self, lbd, port, b, reason)

    def assertEndedCalm(self, ending):
        """GOAWAY with ENHANCE_YOUR_CALM, or at least a close."""
        self.assertTrue(ENHANCE_YOUR_CALM in ending.goaways or
                        (ending.closed and not ending.goaways), ending)

    # -- (a) rapid reset (CVE-2023-44487) ----------------------------------------
    def test_rapid_reset_of_proxied_streams(self):
        """Thousands of requests, each reset right after its HEADERS: the
        server behind lbd sees a few of them, then the connection ends."""
        lbd, port, b = self.start(handler=slow_handler("/a", 0.2))
        with self.attacked(lbd, port, b, "rapid_reset") as atk:
            s = atk.sock = connect(port)
            conn = client_connection()
            sent = 0
            for batch in range(50):
                for _ in range(100):
                    sid = conn.get_next_available_stream_id()
                    conn.send_headers(sid, request_fields("/a%d" % sid), end_stream=True)
                    conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
                if not send_all(s, conn.data_to_send()):
                    break
                sent += 100
            atk.ending = read_ending(s)
        self.assertGreaterEqual(sent, 100)
        # lbd ends the connection after H2_GLITCHES_MAX streams reset in
        # flight; a read pass opens at most H2_NEW_STREAMS_PER_PASS more.
        self.assertLessEqual(atk.requests, 100 + 32 + 32)

    def test_rapid_reset_of_answered_streams(self):
        """Resets that come after lbd answered (404: no route) cost no
        server anything, but nghttp2's rate limit on RST_STREAM (a burst of
        1000) still ends the connection."""
        lbd, port, b = self.start(routes=[{"match": {"path_prefix": "/by"}, "pool": "p"}])
        with self.attacked(lbd, port, b, "rapid_reset") as atk:
            s = atk.sock = connect(port)
            conn = client_connection()
            for batch in range(40):
                for _ in range(100):
                    sid = conn.get_next_available_stream_id()
                    conn.send_headers(sid, request_fields("/none"), end_stream=True)
                    conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
                if not send_all(s, conn.data_to_send()):
                    break
            atk.ending = read_ending(s)
        self.assertEqual(atk.requests, 0)

    # -- (b) CONTINUATION flood (CVE-2024-27316 and kin) -------------------------
    def test_continuation_without_end(self):
        lbd, port, b = self.start()
        with self.attacked(lbd, port, b, "continuation") as atk:
            s = atk.sock = connect(port)
            conn = client_connection()
            s.sendall(conn.data_to_send())
            enc = hpack.Encoder()
            block = enc.encode(request_fields("/cont"))
            # HEADERS without END_HEADERS, then CONTINUATIONs that never end
            # the block, each with one more field.
            flood = [frame(HEADERS, END_STREAM, 1, block)]
            field = enc.encode([("x-filler", "y" * 40)])
            flood += [frame(CONTINUATION, 0, 1, field)] * 20000
            data = b"".join(flood)
            for i in range(0, len(data), 1 << 16):
                if not send_all(s, data[i:i + (1 << 16)]):
                    break
            atk.ending = read_ending(s)
        self.assertEqual(atk.requests, 0)

    # -- (c) SETTINGS and PING floods -------------------------------------------
    def flood(self, one_frame, reason):
        """Frames that each need an answer, with the answers never read."""
        lbd, port, b = self.start()
        with self.attacked(lbd, port, b, reason) as atk:
            s = atk.sock = connect(port, rcvbuf=4096)
            conn = client_connection()
            s.sendall(conn.data_to_send())
            chunk = one_frame * ((1 << 16) // len(one_frame))
            deadline = time.monotonic() + 6
            sent = 0
            while time.monotonic() < deadline and sent < (64 << 20):
                if not send_all(s, chunk, timeout=1.0):
                    break
                sent += len(chunk)
            atk.ending = read_ending(s, timeout=5)
        self.assertEqual(atk.requests, 0)

    def test_settings_flood(self):
        entry = struct.pack(">HI", h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS, 100)
        self.flood(frame(SETTINGS, 0, 0, entry), "flood")

    def test_ping_flood(self):
        self.flood(frame(PING, 0, 0, b"12345678"), "flood")

    # -- (d) a window that never opens ------------------------------------------
    def test_zero_window_stall(self):
        """SETTINGS_INITIAL_WINDOW_SIZE 0, then a request for a large
        response: the response waits on a window that never opens, lbd stops
        reading from the server, and after timeouts.client_idle the
        connection ends."""
        size = 64 << 20
        produced = [0]

        def big(backend, req):
            if req.target != "/big":
                return B.default_handler(backend, req)

            def body():
                for piece in B.pattern_stream(size):
                    produced[0] += len(piece)
                    yield piece
            return B.Response(200, body(), length=size)

        lbd, port, b = self.start(handler=big, timeouts={"client_idle": "1s"})
        with self.attacked(lbd, port, b, "zero_window") as atk:
            s = atk.sock = connect(port)
            conn = client_connection()
            conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
            conn.send_headers(1, request_fields("/big"), end_stream=True)
            s.sendall(conn.data_to_send())
            t0 = time.monotonic()
            atk.ending = read_ending(s, timeout=8)
            waited = time.monotonic() - t0
        self.assertEqual(atk.requests, 1)
        self.assertEqual(atk.ending.statuses.get(1), 200, atk.ending)
        # client_idle (1s) once the stall was seen, looked for every second.
        self.assertLess(waited, 6)
        # lbd took from the server what its buffers hold, not the body.
        self.assertLess(produced[0], size // 2)

    # -- (e) an HPACK bomb ------------------------------------------------------
    def test_hpack_bomb(self):
        """One small dynamic-table entry, then 100,000 one-byte references
        to it: a 100 KB block that expands to 100,000 fields. lbd answers
        431 on that stream without keeping them; streams like it, again
        and again, end the connection."""
        lbd, port, b = self.start()
        with self.attacked(lbd, port, b, "glitches") as atk:
            s = atk.sock = connect(port)
            conn = client_connection()
            s.sendall(conn.data_to_send())
            enc = hpack.Encoder()
            # 0xbe: the first dynamic entry (RFC 7541 §2.3.3), x-bomb.
            head = enc.encode(request_fields("/bomb")) + enc.encode([("x-bomb", "boom")])

            def block(sid, repeats):
                data = head + b"\xbe" * repeats
                pieces = [data[i:i + 16384] for i in range(0, len(data), 16384)]
                out = [frame(HEADERS, END_STREAM | (END_HEADERS if len(pieces) == 1 else 0),
                             sid, pieces[0])]
                for i, p in enumerate(pieces[1:], 1):
                    out.append(frame(CONTINUATION, END_HEADERS if i == len(pieces) - 1 else 0,
                                     sid, p))
                return b"".join(out)

            s.sendall(block(1, 100000))
            # The rest: smaller bombs on new streams, until lbd has enough.
            send_all(s, b"".join(block(sid, 500) for sid in range(3, 3 + 2 * 120, 2)))
            atk.ending = read_ending(s)
        self.assertEqual(atk.ending.statuses.get(1), 431, atk.ending)
        self.assertEqual(atk.requests, 0)

    # -- (f) more streams than limits.h2_max_streams ------------------------------
    def test_streams_over_the_limit(self):
        """Against a slow server, the streams over h2_max_streams are refused
        (and never reach it); a client that keeps opening them is cut off
        once H2_GLITCHES_MAX were refused."""
        lbd, port, b = self.start(handler=slow_handler("/slow", 1.5),
                                  limits={"h2_max_streams": 10})
        with self.attacked(lbd, port, b, "streams") as atk:
            s = atk.sock = connect(port)
            conn = client_connection()
            for _ in range(400):
                sid = conn.get_next_available_stream_id()
                conn.send_headers(sid, request_fields("/slow%d" % sid), end_stream=True)
            send_all(s, conn.data_to_send())
            atk.ending = read_ending(s, timeout=6)
        self.assertLessEqual(atk.requests, 10)
        self.assertLessEqual(b.max_inflight, 10 + 1)  # the bystander's own


class Attack:
    """The checks every attack shares: lbd's size before and after, the
    bystander, the counter and the log line, the requests that reached the
    server (.requests, the bystander's left out)."""

    def __init__(self, test, lbd, port, b, reason):
        self.test, self.lbd, self.port, self.b, self.reason = test, lbd, port, b, reason
        self.sock = None
        self.ending = None
        self.requests = None

    def __enter__(self):
        self.rss_before = self.lbd.rss_kb()
        self.count_before = self.test.abuse(self.lbd, self.reason)
        self.t0 = time.monotonic()
        self.by = Bystander(self.port).__enter__()
        return self

    def __exit__(self, etype, exc, tb):
        if self.sock:
            self.sock.close()
        # The bystander keeps asking a little after the attack as well (a
        # few answers at least, when the attack was over at once).
        time.sleep(0.3)
        deadline = time.monotonic() + 5
        while len(self.by.statuses) < 3 and not self.by.errors and time.monotonic() < deadline:
            time.sleep(0.05)
        self.by.__exit__()
        if etype is not None:
            return False
        t = self.test
        rss_after = self.lbd.rss_kb()
        t.assertLess(rss_after - self.rss_before, RSS_BOUND_KB,
                     "lbd grew from %d to %d KiB" % (self.rss_before, rss_after))
        t.assertIsNotNone(self.ending)
        t.assertEndedCalm(self.ending)
        logged = [ln for ln in self.lbd.stderr().splitlines() if "HTTP/2 " in ln]
        t.assertEqual(t.abuse(self.lbd, self.reason), self.count_before + 1,
                      "%r; %s" % (self.ending, logged))
        lines = [ln for ln in logged if "HTTP/2 %s:" % self.reason in ln]
        t.assertEqual(len(lines), 1, lines)
        t.assertIn("the connection ends with GOAWAY", lines[0])
        t.assertEqual(self.by.errors, [])
        t.assertGreaterEqual(len(self.by.statuses), 3, "the bystander was not served")
        t.assertEqual(set(self.by.statuses), {200})
        self.requests = len([r for r in self.b.wait_requests(0, timeout=0)
                             if not r.target.startswith("/by")])
        return False

"""Tunnels: WebSocket upgrades on http listeners and tcp listeners
(byte tunnel, half-close, tunnel idle timeout)."""

import hashlib
import os
import socket
import threading
import time

import backends as B
from lbdtest import (LbdTestCase, HttpClient, build_request, config, free_port, listener,
                     pool, simple_config)

WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


class WebSocketTest(LbdTestCase):
    def _upgrade(self, port, ws, path="/chat"):
        c = HttpClient(port, timeout=5)
        self.addCleanup(c.close)
        c.send(build_request("GET", path, [
            ("Upgrade", "websocket"), ("Connection", "keep-alive, Upgrade"),
            ("Sec-WebSocket-Key", WS_KEY), ("Sec-WebSocket-Version", "13"),
            ("Origin", "http://example.com")]))
        r = c.read_head()
        self.assertEqual(r.status, 101, r)
        self.assertEqual(r.header("upgrade", "").lower(), "websocket")
        self.assertIn("upgrade", r.header("connection", "").lower())
        self.assertEqual(r.header("sec-websocket-accept"), B.ws_accept_key(WS_KEY))
        return c

    def _frame(self, c):
        return B.ws_read_frame(lambda n: c._take(n, time.monotonic() + 5))

    def test_websocket_echo(self):
        ws = self.backends.websocket("ws")
        port = free_port()
        self.start_lbd(simple_config(port, [ws]))
        c = self._upgrade(port, ws)
        req = ws.wait_requests(1)[0]
        self.assertEqual(req.header("upgrade", "").lower(), "websocket")
        self.assertIn("upgrade", req.header("connection", "").lower())
        self.assertEqual(req.header("sec-websocket-key"), WS_KEY)
        for payload, op in ((b"hello", 1), (os.urandom(1000), 2), (os.urandom(200000), 2)):
            c.send(B.ws_frame(payload, op, mask=os.urandom(4)))
            self.assertEqual(self._frame(c), (True, op, payload, False))
        c.send(B.ws_frame(b"are you there", 0x9, mask=b"1234"))
        self.assertEqual(self._frame(c)[1:3], (0xA, b"are you there"))
        c.send(B.ws_frame(b"\x03\xe8", 0x8, mask=b"abcd"))
        self.assertEqual(self._frame(c)[1:3], (0x8, b"\x03\xe8"))
        self.assertTrue(c.closed_within(3), "tunnel not closed after the server closed")

    def test_websocket_many_messages_both_directions_concurrently(self):
        ws = self.backends.websocket("ws")
        port = free_port()
        self.start_lbd(simple_config(port, [ws]))
        c = self._upgrade(port, ws)
        msgs = [os.urandom(1 + (i * 7919) % 30000) for i in range(200)]

        def writer():
            for m in msgs:
                c.send(B.ws_frame(m, 2, mask=os.urandom(4)))
        t = threading.Thread(target=writer)
        t.start()
        h_in, h_out = hashlib.sha256(), hashlib.sha256()
        for m in msgs:
            h_out.update(m)
            h_in.update(self._frame(c)[2])
        t.join(10)
        self.assertEqual(h_in.hexdigest(), h_out.hexdigest())

    def test_websocket_tunnel_idle_timeout(self):
        ws = self.backends.websocket("ws")
        port = free_port()
        self.start_lbd(simple_config(port, [ws], timeouts={"tunnel": "400ms"}))
        c = self._upgrade(port, ws)
        for _ in range(4):                 # activity keeps it open past the timeout
            time.sleep(0.2)
            c.send(B.ws_frame(b"k", 1, mask=b"abcd"))
            self.assertEqual(self._frame(c)[2], b"k")
        t0 = time.monotonic()
        self.assertTrue(c.closed_within(3), "idle tunnel not closed")
        self.assertGreater(time.monotonic() - t0, 0.3)

    def test_refused_upgrade_stays_http(self):
        """A server that answers an Upgrade with 200 keeps the connection HTTP."""
        b = self.backends.http("plain")
        port = free_port()
        self.start_lbd(simple_config(port, [b]))
        with HttpClient(port) as c:
            r = c.request("GET", "/", [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                       ("Sec-WebSocket-Key", WS_KEY),
                                       ("Sec-WebSocket-Version", "13")])
            self.assertEqual((r.status, r.body), (200, b"plain\n"))
            self.assertEqual(c.request("GET", "/next").status, 200)


class TcpTunnelTest(LbdTestCase):
    def _start(self, **kw):
        e = self.backends.tcp("echo")
        port = free_port()
        self.start_lbd(config([listener("tcp", port, "echo", protocol="tcp")],
                              [pool("echo", [e])], **kw))
        return e, port

    @staticmethod
    def _read_all(s, timeout=5):
        s.settimeout(timeout)
        out = bytearray()
        while True:
            d = s.recv(262144)
            if not d:
                return bytes(out)
            out += d

    def test_echo_and_half_close(self):
        e, port = self._start()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"hello tunnel\n")
            got = b""
            while len(got) < 13:
                got += s.recv(100)
            self.assertEqual(got, b"hello tunnel\n")
            s.shutdown(socket.SHUT_WR)        # half-close: we still receive the reply
            self.assertEqual(self._read_all(s), b"bye from echo\n")
        self.assertGreaterEqual(e.half_closed, 1)   # (lbd's readiness probe adds one)

    def test_big_echo_with_half_close(self):
        e, port = self._start()
        n = 20 * 1000 * 1000
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            def writer():
                for piece in B.pattern_stream(n):
                    s.sendall(piece)
                s.shutdown(socket.SHUT_WR)
            t = threading.Thread(target=writer)
            t.start()
            h = hashlib.sha256()
            s.settimeout(10)
            total = 0
            tail = b""
            while True:
                d = s.recv(262144)
                if not d:
                    break
                take = max(0, min(len(d), n - total))
                h.update(d[:take])
                tail += d[take:]
                total += take
            t.join(10)
        self.assertEqual(total, n)
        self.assertEqual(h.hexdigest(), B.pattern_sha256(n))
        self.assertEqual(tail, b"bye from echo\n")

    def test_server_first_protocol(self):
        """A server that speaks first (SMTP-like greeting) through the tunnel."""
        g = self.backends.tcp("greeter", greeting=b"220 ready\r\n")
        port = free_port()
        self.start_lbd(config([listener("smtp", port, "g", protocol="tcp")], [pool("g", [g])]))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            self.assertEqual(s.recv(100), b"220 ready\r\n")

    def test_tunnel_idle_timeout(self):
        e, port = self._start(timeouts={"tunnel": "400ms"})
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"x")
            self.assertEqual(s.recv(10), b"x")
            t0 = time.monotonic()
            s.settimeout(3)
            try:
                data = s.recv(10)
            except ConnectionResetError:
                data = b""
            self.assertEqual(data, b"", "idle tunnel not closed")
            self.assertGreater(time.monotonic() - t0, 0.3)
            self.assertLess(time.monotonic() - t0, 2.5)

    def test_server_refuses_closes_client(self):
        port = free_port()
        self.start_lbd(config([listener("tcp", port, "d", protocol="tcp")],
                              [pool("d", [self.backends.dead_address()])], retries=0))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.settimeout(3)
            try:
                data = s.recv(10)
            except ConnectionResetError:
                data = b""
            self.assertEqual(data, b"")

    def test_many_parallel_tunnels(self):
        e, port = self._start()
        errors = []

        def one(i):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    msg = b"msg-%d-" % i * 100
                    s.sendall(msg)
                    s.shutdown(socket.SHUT_WR)
                    if self._read_all(s) != msg + b"bye from echo\n":
                        errors.append(i)
            except OSError as ex:
                errors.append((i, ex))
        ts = [threading.Thread(target=one, args=(i,)) for i in range(50)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(10)
        self.assertEqual(errors, [])

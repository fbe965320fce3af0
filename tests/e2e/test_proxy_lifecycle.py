"""Graceful stop, max_connections and the access log (SPEC §1, §2, §6)."""

import json
import re
import signal
import socket
import threading
import time

import backends as B
from lbdtest import (LbdTestCase, HttpClient, Incomplete, build_request, free_port,
                     simple_config, server, wait_port)

ACCESS_KEYS = ["time", "client", "listener", "method", "path", "protocol", "host", "status",
               "bytes", "bytes_in", "pool", "server", "upstream_time", "total_time",
               "generation"]


class GracefulStopTest(LbdTestCase):
    def _stop_with_request_in_flight(self, sig):
        lbd, port, b = self.one_backend(B.delay_handler(0.8), timeouts={"drain": "5s"})
        result = {}

        def client():
            try:
                with HttpClient(port, timeout=5) as c:
                    result["resp"] = c.request("GET", "/inflight")
                    result["closed"] = c.closed_within(2)
            except Exception as e:  # noqa: BLE001 — asserted below
                result["error"] = e
        t = threading.Thread(target=client)
        t.start()
        b.wait_requests(1, timeout=2)
        t0 = time.monotonic()
        lbd.proc.send_signal(sig)
        time.sleep(0.2)
        # stop accepting: new connections are refused (or closed unanswered)
        try:
            with HttpClient(port, timeout=1) as c2:
                c2.send(build_request("GET", "/late"))
                with self.assertRaises((Incomplete, OSError)):
                    c2.read_response(timeout=1)
        except ConnectionRefusedError:
            pass
        t.join(5)
        rc = lbd.wait(5)
        self.assertNotIn("error", result)
        r = result["resp"]
        self.assertEqual((r.status, r.body), (200, b"b1\n"))
        self.assertTrue(result["closed"], "connection not closed after the last response")
        self.assertEqual(rc, 0)
        self.assertLess(time.monotonic() - t0, 3)
        self.assertNotIn("/late", b.targets())
        self.assertEqual([ln["status"] for ln in lbd.access_lines(count=1)], [200])

    def test_sigterm_finishes_inflight_request(self):
        self._stop_with_request_in_flight(signal.SIGTERM)

    def test_sigint_finishes_inflight_request(self):
        self._stop_with_request_in_flight(signal.SIGINT)

    def test_idle_keepalive_connections_closed_promptly(self):
        lbd, port, b = self.one_backend(timeouts={"drain": "10s", "client_idle": "60s"})
        idle = []
        for _ in range(5):
            c = HttpClient(port)
            self.addCleanup(c.close)
            self.assertEqual(c.request().status, 200)
            idle.append(c)
        t0 = time.monotonic()
        lbd.proc.send_signal(signal.SIGTERM)
        for c in idle:
            self.assertTrue(c.closed_within(3), "idle keep-alive connection kept open")
        self.assertEqual(lbd.wait(5), 0)
        self.assertLess(time.monotonic() - t0, 3, "lbd waited for idle connections")

    def test_drain_timeout_bounds_the_stop(self):
        lbd, port, b = self.one_backend(lambda be, r: B.HANG,
                                        timeouts={"drain": "500ms", "server": "60s"})
        c = HttpClient(port, timeout=5)
        self.addCleanup(c.close)
        c.send(build_request("GET", "/forever"))
        b.wait_requests(1, timeout=2)
        t0 = time.monotonic()
        lbd.proc.send_signal(signal.SIGTERM)
        rc = lbd.wait(5)
        elapsed = time.monotonic() - t0
        self.assertEqual(rc, 0)
        self.assertGreater(elapsed, 0.4)
        self.assertLess(elapsed, 3)

    def test_stop_without_connections_is_quick(self):
        lbd, port, b = self.one_backend()
        t0 = time.monotonic()
        self.assertEqual(lbd.stop(signal.SIGTERM, timeout=5), 0)
        self.assertLess(time.monotonic() - t0, 1.5)
        self.assertFalse(wait_port(port, timeout=0.2))


class MaxConnectionsTest(LbdTestCase):
    def test_max_connections_enforced_and_recovers(self):
        b = self.backends.http("slow", B.delay_handler(0.3))
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [b], max_connections=5, workers=2))
        results = []
        lock = threading.Lock()

        def client(i):
            try:
                with HttpClient(port, timeout=6) as c:
                    r = c.request("GET", "/c%d" % i, timeout=6)
                    out = r.status
            except (Incomplete, OSError) as e:
                out = type(e).__name__
            with lock:
                results.append(out)
        ts = [threading.Thread(target=client, args=(i,)) for i in range(30)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(15)
        self.assertTrue(lbd.alive(), "lbd died under connection load")
        self.assertEqual(len(results), 30)
        self.assertLessEqual(b.max_inflight, 5, "more than max_connections served at once")
        self.assertGreater(results.count(200), 0)
        # load gone: lbd serves again
        time.sleep(0.2)
        for i in range(3):
            with HttpClient(port) as c:
                self.assertEqual(c.request("GET", "/after").status, 200)

    def test_many_connections_opened_and_dropped(self):
        lbd, port, b = self.one_backend(max_connections=20)
        socks = []
        try:
            for _ in range(100):
                s = socket.socket()
                s.settimeout(0.5)
                try:
                    s.connect(("127.0.0.1", port))
                except OSError:
                    pass
                socks.append(s)
        finally:
            for s in socks:
                s.close()
        time.sleep(0.3)
        self.assertTrue(lbd.alive())
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 200)


class AccessLogTest(LbdTestCase):
    def test_line_fields(self):
        lbd, port, b = self.one_backend(B.echo_handler)
        with HttpClient(port) as c:
            req = build_request("POST", "/path/x?y=1&z=%20", [("User-Agent", "lbd-e2e/1.0"),
                                                              ("Referer", "http://r/")],
                                body=b"0123456789", host="log.example.com")
            c.send(req)
            r = c.read_response()
            received = len(r.raw_head) + len(r.body)
        t0 = time.monotonic()
        raw = lbd.access_lines(count=1, raw=True, timeout=2)
        self.assertEqual(len(raw), 1)
        self.assertLess(time.monotonic() - t0, 1.0, "access line not flushed promptly")
        line = json.loads(raw[0])
        self.assertEqual(list(line)[:len(ACCESS_KEYS)], ACCESS_KEYS)
        self.assertIn("user_agent", line)
        self.assertRegex(line["client"], r"^127\.0\.0\.1(:\d+)?$")
        self.assertEqual(line["listener"], "web")
        self.assertEqual(line["method"], "POST")
        self.assertEqual(line["path"], "/path/x?y=1&z=%20")
        self.assertEqual(line["protocol"], "HTTP/1.1")
        self.assertEqual(line["host"], "log.example.com")
        self.assertEqual(line["status"], 200)
        self.assertEqual(line["bytes"], received)
        self.assertEqual(line["bytes_in"], len(req))
        self.assertEqual(line["pool"], "p")
        self.assertEqual(line["server"], "b1")
        self.assertEqual(line["generation"], 1)
        self.assertEqual(line["user_agent"], "lbd-e2e/1.0")
        self.assertIsInstance(line["upstream_time"], float)
        self.assertGreaterEqual(line["total_time"], line["upstream_time"])
        self.assertLess(line["total_time"], 5)
        for key in ("upstream_time", "total_time"):
            self.assertRegex(raw[0], r'"%s":\s*\d+\.\d{3}[,}]' % key)

    def test_times_reflect_server_delay(self):
        lbd, port, b = self.one_backend(B.delay_handler(0.3))
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 200)
        line = lbd.access_lines(count=1)[0]
        self.assertGreaterEqual(line["upstream_time"], 0.29)
        self.assertLess(line["upstream_time"], 2)
        self.assertGreaterEqual(line["total_time"], line["upstream_time"])

    def test_one_line_per_request_on_keepalive(self):
        lbd, port, b = self.one_backend()
        with HttpClient(port) as c:
            for i in range(10):
                c.request("GET", "/k%d" % i)
            c.send(build_request("GET", "/p1") + build_request("HEAD", "/p2"))
            c.read_response()
            c.read_response("HEAD")
        lines = lbd.access_lines(count=12)
        time.sleep(0.3)
        lines = lbd.access_lines()
        self.assertEqual([ln["path"] for ln in lines],
                         ["/k%d" % i for i in range(10)] + ["/p1", "/p2"])
        self.assertEqual(lines[-1]["method"], "HEAD")

    def test_http10_protocol_and_null_fields(self):
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [server(self.backends.dead_address(), "gone")],
                                           retries=0))
        with HttpClient(port) as c:
            c.send(b"GET /old HTTP/1.0\r\n\r\n")
            c.read_until_close(3)
        raw = lbd.access_lines(count=1, raw=True)
        self.assertEqual(len(raw), 1)
        line = json.loads(raw[0])
        self.assertEqual(line["protocol"], "HTTP/1.0")
        self.assertEqual(line["status"], 502)
        self.assertIsNone(line["upstream_time"])
        self.assertRegex(raw[0], r'"upstream_time":\s*null')
        self.assertIsInstance(line["total_time"], float)

    def test_log_escaping_is_valid_json(self):
        lbd, port, b = self.one_backend()
        with HttpClient(port) as c:
            r = c.request("GET", '/q?a="b"&c=\\d', [("User-Agent", 'ua "quoted" \\ \xe9')])
            self.assertEqual(r.status, 200)
        line = lbd.access_lines(count=1)[0]     # json.loads would have failed otherwise
        self.assertEqual(line["path"], '/q?a="b"&c=\\d')
        self.assertTrue(line["user_agent"].startswith('ua "quoted" \\'))

    def test_stderr_log_has_no_access_lines(self):
        lbd, port, b = self.one_backend()
        with HttpClient(port) as c:
            c.request("GET", "/only-in-access-log")
        lbd.access_lines(count=1)
        lbd.stop()
        self.assertNotIn("/only-in-access-log", lbd.stderr())
        self.assertFalse(re.search(r"\bpanic|assert|AddressSanitizer", lbd.stderr()), lbd.stderr())


class DescriptorExhaustionTest(LbdTestCase):
    def test_out_of_descriptors_neither_crashes_nor_spins(self):
        """With more connections than descriptors, lbd pauses accepting
        (the rest wait in the backlog), uses no CPU meanwhile, and serves
        normally once descriptors are free again."""
        b = self.backends.http("b")
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [b], workers=1,
                                           timeouts={"header": "30s", "client_idle": "30s"}),
                             nofile=64)
        socks = []
        try:
            for _ in range(120):
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            time.sleep(0.5)
            before = lbd.cpu_seconds()
            time.sleep(1.0)
            self.assertLess(lbd.cpu_seconds() - before, 0.3, "lbd spins while out of descriptors")
            self.assertTrue(lbd.alive(), "lbd died when descriptors ran out")
        finally:
            for s in socks:
                s.close()
        deadline = time.time() + 5
        while True:
            try:
                with HttpClient(port, timeout=2) as c:
                    self.assertEqual(c.request("GET", "/after").status, 200)
                break
            except (Incomplete, OSError):
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        for _ in range(5):
            with HttpClient(port) as c:
                self.assertEqual(c.request("GET", "/again").status, 200)
        self.assertIn("Too many open files", lbd.stderr())

    def test_admin_connection_waiting_while_out_of_descriptors(self):
        """An admin client that connects while descriptors are out waits in
        the backlog without lbd's main loop spinning, and is answered once
        descriptors are free."""
        b = self.backends.http("b")
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [b], workers=1,
                                           timeouts={"header": "30s", "client_idle": "30s"}),
                             nofile=64)
        socks = []
        admin = socket.socket(socket.AF_UNIX)
        try:
            for _ in range(120):
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            time.sleep(0.5)
            admin.connect(lbd.admin_socket)
            admin.sendall(b"GET /healthz HTTP/1.1\r\nHost: lbd\r\n\r\n")
            time.sleep(0.3)
            before = lbd.cpu_seconds()
            time.sleep(1.0)
            self.assertLess(lbd.cpu_seconds() - before, 0.3,
                            "lbd spins while an admin client waits for a descriptor")
        finally:
            for s in socks:
                s.close()
        admin.settimeout(10)
        answer = b""
        while b"\r\n\r\nok" not in answer:
            chunk = admin.recv(4096)
            if not chunk:
                break
            answer += chunk
        admin.close()
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer)

"""Reload without dropping a connection (SPEC §5): SIGHUP re-reads the file;
a bad file changes nothing; listening sockets whose address stays are kept;
requests in flight, tunnels and keep-alive connections carry on."""

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

import backends as B
from lbdtest import (LbdTestCase, HttpClient, Incomplete, build_request, config, free_port,
                     listener, pool, server, simple_config)


def one_pool(port, backends_list, **kw):
    return simple_config(port, backends_list, **kw)


class ReloadTest(LbdTestCase):
    def test_reload_switches_servers_and_generation(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        port = free_port()
        lbd = self.start_lbd(one_pool(port, [a]))
        with HttpClient(port) as c:
            self.assertEqual(c.request().body, b"a\n")
        self.assertEqual(lbd.reload(one_pool(port, [b])), (True, 2))
        for _ in range(3):
            with HttpClient(port) as c:
                self.assertEqual(c.request().body, b"b\n")
        gens = [ln["generation"] for ln in lbd.access_lines(count=4)]
        self.assertEqual(gens, [1, 2, 2, 2])

    def test_keepalive_connection_takes_the_newest_generation(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        port = free_port()
        lbd = self.start_lbd(one_pool(port, [a]))
        with HttpClient(port) as c:
            self.assertEqual(c.request().body, b"a\n")
            self.assertTrue(lbd.reload(one_pool(port, [b]))[0])
            self.assertEqual(c.request().body, b"b\n")

    def test_invalid_file_changes_nothing(self):
        a = self.backends.http("a")
        port = free_port()
        good = one_pool(port, [a])
        lbd = self.start_lbd(good)
        ok, errors = lbd.reload(good.replace("servers:", "servrs:"))
        self.assertFalse(ok)
        self.assertTrue(errors, "no error lines")
        self.assertRegex(errors[0], r"lbd\.yaml:\d+:\d+: pools\[0\]")
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 200)
        self.assertEqual(lbd.reload(good), (True, 2))  # the rejected one took no number

    def test_bind_conflict_rejects_the_reload(self):
        a = self.backends.http("a")
        port, taken = free_port(), socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        self.addCleanup(taken.close)
        lbd = self.start_lbd(one_pool(port, [a]))
        cfg = config([listener("web", port, "p"), listener("two", taken.getsockname()[1], "p")],
                     [pool("p", [a])])
        ok, errors = lbd.reload(cfg)
        self.assertFalse(ok)
        self.assertIn("cannot bind", " ".join(errors))
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 200)

    def test_listener_added_and_removed(self):
        a = self.backends.http("a")
        p1, p2 = free_port(), free_port()
        lbd = self.start_lbd(config([listener("one", p1, "p")], [pool("p", [a])]))
        held = HttpClient(p1)
        self.addCleanup(held.close)
        self.assertEqual(held.request().status, 200)
        self.assertTrue(lbd.reload(config([listener("two", p2, "p")], [pool("p", [a])]))[0])
        with HttpClient(p2) as c:
            self.assertEqual(c.request().status, 200)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", p1), timeout=2).close()
        # A keep-alive connection of the removed listener: its next request
        # has nothing to route it, and the connection ends.
        r = held.request()
        self.assertEqual((r.status, r.header("connection")), (503, "close"))

    def test_request_in_flight_finishes_on_its_generation(self):
        slow = self.backends.http("slow", B.delay_handler(1.0))
        fast = self.backends.http("fast")
        port = free_port()
        lbd = self.start_lbd(one_pool(port, [slow]))
        result = {}

        def run():
            with HttpClient(port, timeout=10) as c:
                result["r"] = c.request(timeout=10)
        t = threading.Thread(target=run)
        t.start()
        time.sleep(0.3)
        self.assertEqual(lbd.reload(one_pool(port, [fast])), (True, 2))
        self.assertIn("2 generations live", lbd.stderr())   # the request holds generation 1
        t.join(10)
        self.assertEqual((result["r"].status, result["r"].body), (200, b"slow\n"))
        self.assertEqual(lbd.reload(one_pool(port, [fast])), (True, 3))
        self.assertRegex(lbd.stderr().splitlines()[-1], r"generation 3 serving .* 1 generation live")

    def test_streaming_response_spans_reloads(self):
        n = 20 * 1024 * 1024
        b = self.backends.http("big", B.big_handler(n))
        port = free_port()
        lbd = self.start_lbd(one_pool(port, [b]))
        import hashlib
        h = hashlib.sha256()
        got = {"bytes": 0}

        def sink(data):
            h.update(data)
            got["bytes"] += len(data)
            time.sleep(0.001)   # a slow reader, so that the transfer spans the reloads
        result = {}

        def run():
            with HttpClient(port, timeout=30) as c:
                c.send(build_request("GET", "/big"))
                result["r"] = c.read_response(sink=sink, timeout=30)
        t = threading.Thread(target=run)
        t.start()
        for i in range(3):
            time.sleep(0.2)
            self.assertTrue(lbd.reload(one_pool(port, [b]))[0])
        t.join(30)
        self.assertEqual(result["r"].status, 200)
        self.assertEqual(got["bytes"], n)
        self.assertEqual(h.hexdigest(), B.pattern_sha256(n))

    def test_websocket_and_tcp_tunnels_span_reloads(self):
        ws, echo = self.backends.websocket("ws"), self.backends.tcp("echo")
        hp, tp = free_port(), free_port()
        cfg = config([listener("web", hp, "w"), listener("tcp", tp, "t", protocol="tcp")],
                     [pool("w", [ws]), pool("t", [echo])])
        lbd = self.start_lbd(cfg)
        c = HttpClient(hp)
        self.addCleanup(c.close)
        r = c.request("GET", "/", [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                                    ("Sec-WebSocket-Version", "13")])
        self.assertEqual(r.status, 101)
        t = socket.create_connection(("127.0.0.1", tp), timeout=5)
        self.addCleanup(t.close)
        for i in range(3):
            self.assertTrue(lbd.reload(cfg)[0])
            msg = b"message %d" % i
            c.send(B.ws_frame(msg, mask=os.urandom(4)))
            frame = B.ws_read_frame(lambda n: c._take(n, time.monotonic() + 5))
            self.assertEqual(frame[2], msg)
            t.sendall(msg)
            self.assertEqual(t.recv(100), msg)

    def _load_while_reloading(self, close):
        """Requests in a loop on several connections while lbd reloads 20
        times between two configurations: every request answered 200."""
        a, b, c2 = self.backends.http("a"), self.backends.http("b"), self.backends.http("c")
        port = free_port()
        cfg1 = one_pool(port, [a, b], workers=2)
        cfg2 = config([listener("web", port, "p")],
                      [pool("p", [server(b, weight=3), server(c2)])], workers=2)
        lbd = self.start_lbd(cfg1)
        stop = threading.Event()
        errors, done = [], [0]
        lock = threading.Lock()

        def client():
            conn = None
            while not stop.is_set():
                try:
                    if conn is None:
                        conn = HttpClient(port, timeout=5)
                    hdrs = [("Connection", "close")] if close else []
                    r = conn.request("GET", "/x", hdrs, timeout=5)
                    if r.status != 200:
                        raise AssertionError("status %d" % r.status)
                    with lock:
                        done[0] += 1
                    if close:
                        conn.close()
                        conn = None
                except Exception as e:  # noqa: BLE001 — any failure counts
                    with lock:
                        errors.append(repr(e))
                    conn = None
            if conn:
                conn.close()
        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        try:
            for i in range(20):
                time.sleep(0.05)
                self.assertTrue(lbd.reload(cfg2 if i % 2 == 0 else cfg1)[0])
        finally:
            stop.set()
            for t in threads:
                t.join(10)
        self.assertEqual(errors, [])
        self.assertGreater(done[0], 100)

    def test_keepalive_load_while_reloading(self):
        self._load_while_reloading(close=False)

    def test_connection_close_load_while_reloading(self):
        self._load_while_reloading(close=True)


class ReloadUnderWrkTest(LbdTestCase):
    """wrk at 64 keep-alive connections and a Connection: close run while lbd
    reloads repeatedly: no socket error and no non-2xx answer."""

    def _run(self, extra_args):
        if not shutil.which("wrk"):
            self.skipTest("wrk is not installed")
        backends_ = [self.backends.http("b1"), self.backends.http("b2"), self.backends.http("b3")]
        port = free_port()
        cfg1 = one_pool(port, backends_[:2], workers=2)
        cfg2 = config([listener("web", port, "p")],
                      [pool("p", [server(backends_[1], weight=2), server(backends_[2])])],
                      workers=2)
        lbd = self.start_lbd(cfg1)
        seconds = float(os.environ.get("LBD_RELOAD_SECONDS", "4"))
        wrk = subprocess.Popen(["wrk", "-t2", "-d%ds" % seconds] + extra_args +
                               ["http://127.0.0.1:%d/" % port],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        reloads = 0
        t_end = time.monotonic() + seconds - 0.5
        while time.monotonic() < t_end:
            time.sleep(0.1)
            self.assertTrue(lbd.reload(cfg2 if reloads % 2 == 0 else cfg1)[0])
            reloads += 1
        out = wrk.communicate(timeout=seconds + 30)[0]
        if os.environ.get("LBD_RELOAD_REPORT"):
            summary = re.search(r"\d+ requests in [^\n]*", out)
            print("\n%s: %s, %d reloads" % (" ".join(extra_args), summary.group(0) if summary
                                            else "?", reloads), file=sys.stderr)
        self.assertNotIn("Socket errors", out, out)
        self.assertNotIn("Non-2xx", out, out)
        self.assertRegex(out, r"\d+ requests in")
        self.assertGreater(reloads, 10)

    def test_wrk_keepalive(self):
        self._run(["-c64"])

    def test_wrk_connection_close(self):
        self._run(["-c16", "-H", "Connection: close"])

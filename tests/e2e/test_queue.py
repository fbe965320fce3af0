"""Server slots and the pool's queue (SPEC §10): with
max_requests_per_server a server never has more requests in flight, the
others wait in FIFO order and are all served; a full queue and a wait past
queue.timeout get 503 with Retry-After and their own termination in the
access log; a client that leaves while waiting leaves the queue at once; a
reload keeps the waiters; hashed requests wait for their own server and
move with the balancer when it goes away; HTTP/2 clients with many streams
and h2 pools respect the cap; a TCP connection waits for a slot too;
/status and /metrics show the queue; a queue without the cap is refused."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest

from lbdtest import (HOST, LbdTestCase, HttpClient, admin_request, check_config, config,
                     free_port, listener, pool)
from backends import delay_handler
from test_h2_upstream import Server
from test_metrics import check_histograms, parse_exposition

try:
    import h2
except ImportError:
    h2 = None

HERE = os.path.dirname(os.path.abspath(__file__))
NGHTTP = shutil.which("nghttp")


def status(lbd):
    return json.loads(admin_request(lbd.admin_socket, "GET", "/status").body)


def pool_status(lbd, name="p"):
    return [p for p in status(lbd)["pools"] if p["name"] == name][0]


def metric(text, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r"^%s(?:\{(.*)\})? (\S+)$" % re.escape(name), line)
        if m and ",".join(sorted((m.group(1) or "").split(","))) == want:
            return float(m.group(2))
    return None


def wait_for(what, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = what()
        if v:
            return v
        time.sleep(0.02)
    return what()


class Requests:
    """Requests sent one after another with SPACING seconds between them,
    each on its own connection and thread; results by index."""

    def __init__(self, port, targets, spacing=0.05, headers=None, timeout=15.0):
        self.results = [None] * len(targets)
        self.threads = []
        for i, t in enumerate(targets):
            th = threading.Thread(target=self._one, args=(port, i, t, headers, timeout),
                                  daemon=True)
            th.start()
            self.threads.append(th)
            time.sleep(spacing)

    def _one(self, port, i, target, headers, timeout):
        try:
            with HttpClient(port, timeout=timeout) as c:
                self.results[i] = c.request(target=target, headers=headers)
        except Exception as e:  # noqa: BLE001 (reported by the test)
            self.results[i] = e

    def join(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        for th in self.threads:
            th.join(max(0.01, deadline - time.monotonic()))
        return self.results


class QueueTest(LbdTestCase):
    def start(self, delay, cap=1, queue=None, nbackends=1, workers=1, **pool_kw):
        bs = [self.backends.http("b%d" % i, handler=delay_handler(delay))
              for i in range(nbackends)]
        port = free_port()
        kw = dict(pool_kw, max_requests_per_server=cap)
        if queue is not None:
            kw["queue"] = queue
        lbd = self.start_lbd(config([listener("web", port, "p")], [pool("p", bs, **kw)],
                                    workers=workers))
        return lbd, port, bs

    def test_everyone_served_in_order_within_the_cap(self):
        lbd, port, (b,) = self.start(0.15, queue={"size": 50, "timeout": "20s"}, workers=2)
        targets = ["/r%d" % i for i in range(8)]
        got = Requests(port, targets).join()
        self.assertEqual([getattr(r, "status", r) for r in got], [200] * 8)
        self.assertEqual(b.targets(), targets)
        self.assertEqual(b.max_inflight, 1)
        lines = lbd.access_lines(count=8, timeout=3)
        self.assertEqual({ln["termination"] for ln in lines}, {"ok"})
        ps = wait_for(lambda: pool_status(lbd)["queue"]["length"] == 0 and pool_status(lbd))
        self.assertEqual(ps["queue"]["length"], 0)
        self.assertGreater(ps["queue"]["max_wait_ms"], 0)
        self.assertEqual(ps["servers"][0]["active"], 0)

    def test_full_queue_503_with_retry_after(self):
        lbd, port, (b,) = self.start(0.6, queue={"size": 1, "timeout": "7s"})
        got = Requests(port, ["/a", "/b", "/c", "/d"], spacing=0.1).join()
        self.assertEqual([r.status for r in got], [200, 200, 503, 503])
        for r in got[2:]:
            self.assertErrorResponse(r, 503)
            self.assertEqual(r.header("retry-after"), "7")
        self.assertIsNone(got[0].header("retry-after"))
        self.assertEqual(b.targets(), ["/a", "/b"])
        lines = lbd.access_lines(count=4, timeout=3)
        full = [ln for ln in lines if ln["status"] == 503]
        self.assertEqual({ln["termination"] for ln in full}, {"queue_full"})
        self.assertEqual({ln["pool"] for ln in full}, {"p"})
        text = admin_request(lbd.admin_socket, "GET", "/metrics").body.decode()
        self.assertEqual(metric(text, "lbd_pool_queue_rejected_total", pool="p",
                                reason="queue_full"), 2)
        self.assertEqual(metric(text, "lbd_pool_queue_rejected_total", pool="p",
                                reason="queue_timeout"), 0)

    def test_queue_timeout_503(self):
        lbd, port, (b,) = self.start(1.0, queue={"size": 10, "timeout": "200ms"})
        got = Requests(port, ["/slow", "/waits"], spacing=0.1).join()
        self.assertEqual(got[0].status, 200)
        self.assertErrorResponse(got[1], 503)
        self.assertEqual(got[1].header("retry-after"), "1")
        self.assertEqual(b.targets(), ["/slow"])
        lines = lbd.access_lines(count=2, timeout=3)
        self.assertEqual(sorted(ln["termination"] for ln in lines), ["ok", "queue_timeout"])
        ps = pool_status(lbd)
        self.assertEqual(ps["queue"]["queue_timeout"], 1)
        self.assertEqual(ps["queue"]["length"], 0)

    def test_client_leaving_the_queue(self):
        lbd, port, (b,) = self.start(0.8, queue={"size": 10, "timeout": "10s"})
        first = Requests(port, ["/first"])
        c = HttpClient(port)
        c.send(b"GET /gone HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(wait_for(lambda: pool_status(lbd)["queue"]["length"] == 1))
        c.close()
        self.assertTrue(wait_for(lambda: pool_status(lbd)["queue"]["length"] == 0, 2.0))
        self.assertEqual(first.join()[0].status, 200)
        # its slot was never taken: the next request is served at once
        with HttpClient(port) as c2:
            self.assertEqual(c2.request(target="/next").status, 200)
        self.assertEqual(b.targets(), ["/first", "/next"])
        self.assertTrue(wait_for(lambda: pool_status(lbd)["servers"][0]["active"] == 0))

    def test_status_and_metrics_while_waiting(self):
        lbd, port, (b,) = self.start(1.0, queue={"size": 10, "timeout": "10s"})
        reqs = Requests(port, ["/1", "/2", "/3"])
        self.assertTrue(wait_for(lambda: pool_status(lbd)["queue"]["length"] == 2))
        ps = pool_status(lbd)
        self.assertEqual(ps["max_requests_per_server"], 1)
        self.assertEqual((ps["queue"]["size"], ps["queue"]["timeout_ms"]), (10, 10000))
        self.assertEqual(ps["servers"][0]["active"], 1)
        self.assertEqual(ps["servers"][0]["queued"], 0)   # round_robin: any server
        text = admin_request(lbd.admin_socket, "GET", "/metrics").body.decode()
        parsed = parse_exposition(text)
        check_histograms(parsed["types"], parsed["samples"])
        self.assertEqual(metric(text, "lbd_pool_queue_length", pool="p"), 2)
        self.assertEqual(parsed["types"]["lbd_pool_queue_wait_seconds"], "histogram")
        self.assertEqual([r.status for r in reqs.join()], [200, 200, 200])
        text = admin_request(lbd.admin_socket, "GET", "/metrics").body.decode()
        self.assertEqual(metric(text, "lbd_pool_queue_length", pool="p"), 0)
        self.assertGreaterEqual(metric(text, "lbd_pool_queue_wait_seconds_count", pool="p"), 2)

    def test_reload_keeps_the_waiters(self):
        lbd, port, (b,) = self.start(0.5, queue={"size": 10, "timeout": "10s"})
        reqs = Requests(port, ["/1", "/2", "/3"])
        self.assertTrue(wait_for(lambda: pool_status(lbd)["queue"]["length"] == 2))
        text = config([listener("web", port, "p")],
                      [pool("p", [b], max_requests_per_server=1,
                            queue={"size": 20, "timeout": "10s"})])
        lbd.reload(text)
        self.assertEqual([r.status for r in reqs.join()], [200, 200, 200])
        self.assertEqual(b.max_inflight, 1)
        self.assertEqual(b.targets(), ["/1", "/2", "/3"])
        self.assertEqual(pool_status(lbd)["queue"]["size"], 20)

    def test_hashed_requests_wait_for_their_own_server(self):
        lbd, port, bs = self.start(0.3, nbackends=2, queue={"size": 10, "timeout": "10s"},
                                   balance="ip_hash", hash_key="header:X-User")
        got = Requests(port, ["/1", "/2", "/3"], headers=[("X-User", "alice")]).join()
        self.assertEqual([r.status for r in got], [200, 200, 200])
        served = [b for b in bs if b.targets()]
        self.assertEqual(len(served), 1)       # the other server stayed idle
        self.assertEqual(served[0].targets(), ["/1", "/2", "/3"])
        self.assertEqual(served[0].max_inflight, 1)

    def test_waiters_for_a_server_that_goes_away_move_on(self):
        lbd, port, bs = self.start(1.0, nbackends=2, queue={"size": 10, "timeout": "10s"},
                                   balance="ip_hash", hash_key="header:X-User")
        hdr = [("X-User", "bob")]
        busy = Requests(port, ["/busy"], headers=hdr)
        self.assertTrue(wait_for(lambda: any(b.targets() for b in bs)))
        own = [b for b in bs if b.targets()][0]
        other = [b for b in bs if b is not own][0]
        waiting = Requests(port, ["/waits"], headers=hdr)
        self.assertTrue(wait_for(lambda: pool_status(lbd)["queue"]["length"] == 1))
        ps = pool_status(lbd)
        self.assertEqual([s["queued"] for s in ps["servers"] if s["name"] == own.name], [1])
        path = "/servers/p/%s/disable" % own.name
        self.assertEqual(admin_request(lbd.admin_socket, "POST", path).status, 200)
        # the balancer now hashes bob to the other server: the waiter goes there
        r = waiting.join()[0]
        self.assertEqual((r.status, r.header("x-backend")), (200, other.name))
        self.assertEqual(busy.join()[0].status, 200)
        self.assertEqual(own.targets(), ["/busy"])

    def test_tcp_connection_waits_for_a_slot(self):
        b = self.backends.tcp("t1")
        port = free_port()
        self.start_lbd(config([listener("tcp", port, "p", protocol="tcp")],
                              [pool("p", [b], max_requests_per_server=1,
                                    queue={"size": 5, "timeout": "10s"})]))
        first = socket.create_connection((HOST, port), timeout=5)
        first.sendall(b"one")
        self.assertEqual(first.recv(16), b"one")
        second = socket.create_connection((HOST, port), timeout=5)
        second.sendall(b"two")
        second.settimeout(0.4)
        with self.assertRaises(socket.timeout):
            second.recv(16)              # waiting: the server has no slot
        first.close()
        second.settimeout(5)
        self.assertEqual(second.recv(16), b"two")
        second.close()

    @unittest.skipUnless(NGHTTP, "no nghttp")
    def test_http2_streams_respect_the_cap(self):
        lbd, port, (b,) = self.start(0.1, cap=2, queue={"size": 100, "timeout": "20s"})
        urls = ["http://%s:%d/s%d" % (HOST, port, i) for i in range(12)]
        out = subprocess.run([NGHTTP, "-n", "-s"] + urls, capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = lbd.access_lines(count=12, timeout=5)
        self.assertEqual([ln["status"] for ln in lines], [200] * 12)
        self.assertEqual({ln["protocol"] for ln in lines}, {"HTTP/2.0"})
        self.assertEqual(len(b.targets()), 12)
        self.assertEqual(b.max_inflight, 2)

    @unittest.skipUnless(NGHTTP and h2, "no nghttp or python3-h2")
    def test_h2_pool_streams_respect_the_cap(self):
        sport = free_port()
        s = Server([sys.executable, os.path.join(HERE, "h2_backend.py"), "s1", str(sport),
                    "0", "200", "0.15"])
        self.addCleanup(s.stop)
        self.assertTrue(s.ready.wait(10))
        port = free_port()
        self.start_lbd(config([listener("web", port, "p")],
                              [pool("p", ["%s:%d" % (HOST, sport)], protocol="h2",
                                    max_requests_per_server=3,
                                    queue={"size": 100, "timeout": "20s"})]))
        urls = ["http://%s:%d/s%d" % (HOST, port, i) for i in range(12)]
        out = subprocess.run([NGHTTP, "-n", "-s"] + urls, capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        with HttpClient(port) as c:   # and an HTTP/1.1 client through the same pool
            self.assertEqual(c.request(target="/h1").status, 200)
        self.assertEqual(s.count("req ", 13), 13)
        inflight = peak = 0
        for line in list(s.lines):
            inflight += line.startswith("start ") - line.startswith("req ")
            peak = max(peak, inflight)
        self.assertEqual(peak, 3, s.lines)

    @unittest.skipUnless(NGHTTP, "no nghttp")
    def test_http2_queue_full(self):
        lbd, port, (b,) = self.start(0.5, cap=1, queue={"size": 2, "timeout": "9s"})
        urls = ["http://%s:%d/s%d" % (HOST, port, i) for i in range(6)]
        subprocess.run([NGHTTP, "-n"] + urls, capture_output=True, timeout=30)
        lines = lbd.access_lines(count=6, timeout=5)
        self.assertEqual(sorted(ln["status"] for ln in lines), [200] * 3 + [503] * 3)
        self.assertEqual({ln["termination"] for ln in lines if ln["status"] == 503},
                         {"queue_full"})
        self.assertEqual(b.max_inflight, 1)


class QueueConfigTest(unittest.TestCase):
    def check(self, pool_lines):
        return check_config(self, "global: {admin: {socket: @TMPDIR@/admin.sock}}\n"
                            "listeners:\n"
                            "  - name: web\n"
                            "    bind: 127.0.0.1:8080\n"
                            "    routes: [{pool: p}]\n"
                            "pools:\n"
                            "  - name: p\n"
                            "    servers: [{address: 127.0.0.1:9000}]\n" + pool_lines)

    def test_good(self):
        for lines in ("    max_requests_per_server: 10\n",
                      "    max_requests_per_server: 10\n    queue: {size: 5, timeout: 2s}\n",
                      "    max_requests_per_server: 0\n"):
            _, r = self.check(lines)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_bad(self):
        for lines, where in (("    queue: {size: 5}\n", r":9:5: pools\[0\]\.queue: applies only"),
                             ("    max_requests_per_server: 1\n    queue: {size: 0}\n",
                              r":10:19: "),
                             ("    max_requests_per_server: 1\n    queue: {timeout: 0s}\n",
                              r":10:22: "),
                             ("    max_requests_per_server: -1\n", r":9:30: ")):
            path, r = self.check(lines)
            self.assertNotEqual(r.returncode, 0, lines)
            self.assertRegex(r.stderr, re.escape(path) + where, lines)


if __name__ == "__main__":
    unittest.main()

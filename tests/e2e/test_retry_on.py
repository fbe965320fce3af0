"""Retries by status (SPEC §10): a route's retry_on sends an idempotent
request without a body to another server of the pool when its server
answers a listed status (502 also for a close before any answer, 504 also
for timeouts.server), never once the response reached the client, never a
request with a body, and within the pool's retry_budget."""

import os
import re
import shutil
import subprocess
import sys
import unittest

from backends import RESET, Response, big_handler, delay_handler, default_handler
from lbdtest import (check_config, HOST, LbdTestCase, HttpClient, config, free_port, listener,
                     metric, pool)
from test_h2_upstream import Server

try:
    import h2  # noqa: F401 (the h2c backend needs it)
except ImportError:
    h2 = None

CURL = shutil.which("curl")
HERE = os.path.dirname(os.path.abspath(__file__))


def answer(status):
    def handler(backend, req):
        return Response(status, b"from %s\n" % backend.name.encode(),
                        headers=[("X-Backend", backend.name)])
    return handler


class RetryOnTest(LbdTestCase):
    def start(self, first, second=default_handler, route_kw=None, pool_kw=None, retries=None):
        b1 = self.backends.http("b1", handler=first)
        b2 = self.backends.http("b2", handler=second)
        port = free_port()
        route = {"match": {"path_prefix": "/"}, "pool": "p", "retry_on": [502, 503, 504]}
        route.update(route_kw or {})
        lbd = self.start_lbd(config([listener("web", port, routes=[route])],
                                    [pool("p", [b1, b2], **(pool_kw or {}))], retries=retries))
        return lbd, port, b1, b2

    def get(self, port, n, method="GET", body=b""):
        with HttpClient(port) as c:
            return [c.request(method, "/r%d" % i, body=body) for i in range(n)]

    def test_503_goes_to_the_other_server(self):
        lbd, port, b1, b2 = self.start(answer(503))
        rs = self.get(port, 6)
        self.assertEqual([r.status for r in rs], [200] * 6)
        self.assertEqual({r.header("x-backend") for r in rs}, {"b2"})
        lines = lbd.access_lines(count=6, timeout=3)
        retried = [ln for ln in lines if ln["retries"] == 1]
        # round-robin sends every other request to b1 first
        self.assertEqual(len(retried), len(b1.requests))
        self.assertGreaterEqual(len(retried), 2)
        self.assertEqual({ln["server"] for ln in lines}, {"b2"})
        self.assertEqual(metric(lbd, "lbd_pool_retries_total", pool="p", reason="status"),
                         len(retried))
        self.assertIn("answered 503; retrying /r", lbd.stderr())

    def test_idempotent_methods_without_a_body_are_retried(self):
        lbd, port, b1, _ = self.start(answer(503))
        for method in ("HEAD", "OPTIONS", "PUT", "DELETE"):
            rs = self.get(port, 2, method=method)
            self.assertEqual([r.status for r in rs], [200, 200], method)
        self.assertGreaterEqual(len(b1.requests), 4)

    def test_a_request_with_a_body_is_not_replayed(self):
        lbd, port, b1, b2 = self.start(answer(503))
        for method in ("POST", "PUT"):
            rs = self.get(port, 2, method=method, body=b"payload")
            self.assertEqual(sorted(r.status for r in rs), [200, 503], method)
        lines = lbd.access_lines(count=4, timeout=3)
        self.assertEqual([ln["retries"] for ln in lines], [0] * 4)
        self.assertEqual(len(b1.requests) + len(b2.requests), 4)

    def test_a_status_not_listed_passes_through(self):
        lbd, port, b1, _ = self.start(answer(500))
        rs = self.get(port, 2)
        self.assertEqual(sorted(r.status for r in rs), [200, 500])

    def test_close_before_any_answer_and_timeout(self):
        lbd, port, b1, _ = self.start(lambda b, r: RESET)
        self.assertEqual([r.status for r in self.get(port, 2)], [200, 200])
        self.assertEqual(metric(lbd, "lbd_pool_retries_total", pool="p", reason="reset"),
                         len(b1.requests))

        lbd, port, b1, _ = self.start(delay_handler(2.0),
                                      route_kw={"timeouts": {"server": "200ms"}})
        self.assertEqual([r.status for r in self.get(port, 2)], [200, 200])
        self.assertEqual(metric(lbd, "lbd_pool_retries_total", pool="p", reason="timeout"),
                         len(b1.requests))
        self.assertGreaterEqual(len(b1.requests), 1)

    def test_no_retry_once_the_response_started(self):
        lbd, port, b1, b2 = self.start(big_handler(1 << 20, abort_after=1000))
        with HttpClient(port) as c:
            c.send(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            head = c.read_head()
            self.assertEqual(head.status, 200)
            self.assertLess(len(c.read_until_close(3)), 1 << 20)
        line = lbd.access_lines(count=1, timeout=3)[0]
        self.assertEqual(line["retries"], 0)
        self.assertEqual(b2.requests, [])

    def test_every_server_fails_last_answer_wins(self):
        lbd, port, b1, b2 = self.start(answer(503), answer(503), retries=1)
        rs = self.get(port, 2)
        self.assertEqual([r.status for r in rs], [503, 503])
        lines = lbd.access_lines(count=2, timeout=3)
        self.assertEqual([ln["retries"] for ln in lines], [1, 1])
        # the second server's answer, not lbd's own
        self.assertEqual([r.body[:5] for r in rs], [b"from "] * 2)

    def test_no_other_server_the_answer_goes_through(self):
        b1 = self.backends.http("b1", handler=answer(503))
        port = free_port()
        route = {"match": {"path_prefix": "/"}, "pool": "p", "retry_on": [503]}
        lbd = self.start_lbd(config([listener("web", port, routes=[route])],
                                    [pool("p", [b1])]))
        rs = self.get(port, 2)
        self.assertEqual([(r.status, r.body) for r in rs], [(503, b"from b1\n")] * 2)
        lines = lbd.access_lines(count=2, timeout=3)
        self.assertEqual([(ln["retries"], ln["server"]) for ln in lines], [(0, "b1")] * 2)

    def test_connect_failures_are_counted_apart(self):
        b2 = self.backends.http("b2")
        port = free_port()
        dead = "127.0.0.1:%d" % free_port()
        lbd = self.start_lbd(config([listener("web", port, "p")], [pool("p", [dead, b2])]))
        self.assertEqual([r.status for r in self.get(port, 2)], [200, 200])
        retried = sum(ln["retries"] for ln in lbd.access_lines(count=2, timeout=3))
        self.assertGreaterEqual(retried, 1)
        self.assertEqual(metric(lbd, "lbd_pool_retries_total", pool="p",
                                reason="connect_failure"), retried)
        self.assertEqual(metric(lbd, "lbd_pool_retries_total", pool="p", reason="status"), 0)

    def test_budget_spent_passes_the_answer_through(self):
        # A full bucket holds 10 retries; 1 % of 15 requests adds none.
        lbd, port, _, _ = self.start(answer(503), answer(503), retries=1,
                                     pool_kw={"retry_budget": "1%"})
        rs = self.get(port, 15)
        self.assertEqual([r.status for r in rs], [503] * 15)
        lines = lbd.access_lines(count=15, timeout=3)
        self.assertEqual([ln["retries"] for ln in lines], [1] * 10 + [0] * 5)
        self.assertEqual(metric(lbd, "lbd_pool_retry_budget_exhausted_total", pool="p"), 5)
        self.assertEqual(metric(lbd, "lbd_pool_retries_total", pool="p", reason="status"), 10)

    @unittest.skipUnless(CURL, "no curl")
    def test_http2_client(self):
        lbd, port, b1, _ = self.start(answer(503))
        for _ in range(2):
            out = subprocess.run([CURL, "-s", "--http2-prior-knowledge", "-o", os.devnull,
                                  "-w", "%{http_version} %{http_code}",
                                  "http://%s:%d/" % (HOST, port)],
                                 capture_output=True, text=True, timeout=20)
            self.assertEqual(out.stdout, "2 200")
        lines = lbd.access_lines(count=2, timeout=3)
        self.assertEqual(sum(ln["retries"] for ln in lines), len(b1.requests))
        self.assertGreaterEqual(len(b1.requests), 1)
        # a body is never sent twice, from an HTTP/2 client either
        codes = []
        for _ in range(2):
            out = subprocess.run([CURL, "-s", "--http2-prior-knowledge", "-o", os.devnull,
                                  "-w", "%{http_code}", "-d", "payload",
                                  "http://%s:%d/" % (HOST, port)],
                                 capture_output=True, text=True, timeout=20)
            codes.append(out.stdout)
        self.assertEqual(sorted(codes), ["200", "503"])

    @unittest.skipUnless(h2, "no python3-h2")
    def test_h2_pool(self):
        servers = []
        for name, status in (("s1", 503), ("s2", 200)):
            sport = free_port()
            s = Server([sys.executable, os.path.join(HERE, "h2_backend.py"), name, str(sport),
                        "0", str(status)])
            self.addCleanup(s.stop)
            self.assertTrue(s.ready.wait(10))
            servers.append("127.0.0.1:%d" % sport)
        port = free_port()
        route = {"match": {"path_prefix": "/"}, "pool": "p", "retry_on": [503]}
        lbd = self.start_lbd(config([listener("web", port, routes=[route])],
                                    [pool("p", servers, protocol="h2")]))
        rs = self.get(port, 4)
        self.assertEqual([r.status for r in rs], [200] * 4)
        self.assertEqual({r.header("x-backend") for r in rs}, {"s2"})
        lines = lbd.access_lines(count=4, timeout=3)
        retried = sum(ln["retries"] for ln in lines)
        self.assertGreaterEqual(retried, 1)
        self.assertEqual(metric(lbd, "lbd_pool_retries_total", pool="p", reason="status"),
                         retried)


class RetryOnConfigTest(unittest.TestCase):
    def check(self, route_extra, pool_extra=""):
        text = ("global: {admin: {socket: @TMPDIR@/admin.sock}}\n" +
                "listeners:\n"
                "  - name: web\n"
                "    bind: 127.0.0.1:8080\n"
                "    routes:\n"
                "      - pool: p\n"
                "        retry_on: " + route_extra + "\n"
                "pools:\n"
                "  - name: p\n"
                "    servers: [{address: 127.0.0.1:9000}]\n" + pool_extra)
        return check_config(self, text)

    def test_good(self):
        for route, p in (("[502, 503, 504]", ""), ("[500]", "    retry_budget: 0%\n"),
                         ("[503]", "    retry_budget: 100%\n")):
            _, r = self.check(route, p)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_bad(self):
        for route, p, where in (("[404]", "", "7:20"), ("503", "", "7:19"),
                                ("[503]", "    retry_budget: 150%\n", "11:19"),
                                ("[503]", "    retry_budget: 20\n", "11:19")):
            path, r = self.check(route, p)
            self.assertNotEqual(r.returncode, 0, route + p)
            self.assertRegex(r.stderr, r"%s:%s: " % (re.escape(path), where), route + p)


if __name__ == "__main__":
    unittest.main()

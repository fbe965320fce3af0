"""Rate limits per route (SPEC §10): over its rate a client gets 429 with
Retry-After while other keys go on; one budget across worker threads; the
access log and /metrics agree; a reload that keeps the rule keeps the
budgets; bad rules are refused with file:line:col."""

import os
import re
import shutil
import subprocess
import threading
import time
import unittest

from lbdtest import (check_config, HOST, LbdTestCase, HttpClient, config, free_port, listener,
                     metric, pool)

CURL = shutil.which("curl")


def limited_config(port, b, rule, workers=1):
    routes = [{"match": {"path_prefix": "/"}, "pool": "p", "rate_limit": rule}]
    return config([listener("web", port, routes=routes)], [pool("p", [b])], workers=workers)


class RateLimitTest(LbdTestCase):
    def start(self, rule, workers=1):
        b = self.backends.http("b1")
        port = free_port()
        lbd = self.start_lbd(limited_config(port, b, rule, workers))
        return lbd, port, b

    def test_over_the_rate_429_other_keys_unaffected(self):
        lbd, port, _ = self.start({"key": "header:X-Client", "rate": "1/m", "burst": 3})
        with HttpClient(port) as c:
            got = [c.request(headers=[("X-Client", "a")]) for _ in range(5)]
            self.assertEqual([r.status for r in got], [200, 200, 200, 429, 429])
            r = got[3]
            self.assertErrorResponse(r, 429)
            self.assertEqual(r.body, b"429 Too Many Requests\n")
            self.assertGreaterEqual(int(r.header("retry-after")), 1)
            self.assertEqual(int(r.header("retry-after")), 60)   # one a minute
            self.assertIsNone(got[0].header("retry-after"))
            # the connection stays open; another key has its own budget
            self.assertEqual(c.request(headers=[("X-Client", "b")]).status, 200)
            # without the header the client address is the key
            self.assertEqual([c.request().status for _ in range(4)], [200, 200, 200, 429])
        lines = lbd.access_lines(count=10, timeout=3)
        self.assertEqual([ln["status"] for ln in lines],
                         [200, 200, 200, 429, 429, 200, 200, 200, 200, 429])
        limited = [ln for ln in lines if ln["status"] == 429]
        self.assertEqual({ln["termination"] for ln in limited}, {"rate_limited"})
        self.assertEqual({ln["pool"] for ln in limited}, {None})
        self.assertEqual(metric(lbd, "lbd_route_rate_limited_total", listener="web", route="0"),
                         len(limited))

    @unittest.skipUnless(CURL, "no curl")
    def test_http2_429_carries_retry_after(self):
        lbd, port, _ = self.start({"rate": "1/m", "burst": 1})
        url = "http://%s:%d/" % (HOST, port)
        heads = ""
        for _ in range(2):
            out = subprocess.run([CURL, "-s", "--http2-prior-knowledge", "-D", "-", "-o",
                                  os.devnull, url], capture_output=True, timeout=20)
            heads += out.stdout.decode("latin-1").lower()
        self.assertRegex(heads, r"http/2 200")
        self.assertRegex(heads, r"http/2 429")
        self.assertRegex(heads, r"retry-after: 60\r\n")
        lines = lbd.access_lines(count=2, timeout=3)
        self.assertEqual([ln["termination"] for ln in lines], ["ok", "rate_limited"])

    def test_rate_holds_across_two_workers(self):
        rate, secs = 40, 5.0
        lbd, port, _ = self.start({"rate": "%d/s" % rate, "burst": 1}, workers=2)
        ok, sent = [0, 0], [0, 0]
        first, last = [None, None], [None, None]
        stop = time.monotonic() + secs

        def load(i):
            # several connections, so that both workers take some
            conns = [HttpClient(port) for _ in range(4)]
            n = 0
            while time.monotonic() < stop:
                at = time.monotonic()
                if conns[n % 4].request().status == 200:
                    ok[i] += 1
                first[i] = first[i] or at
                last[i] = at
                n += 1
                sent[i] += 1
                time.sleep(0.002)   # bounded: about 400 requests a second
            for c in conns:
                c.close()

        threads = [threading.Thread(target=load, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # The rate holds over the time the clients actually sent (on a busy
        # machine their threads start late), offered well above it.
        window = max(last) - min(first)
        want = rate * window + 1
        self.assertGreater(sum(sent), 2 * want, (sent, window))
        self.assertGreater(sum(ok), want * 0.9, (ok, window))
        self.assertLess(sum(ok), want * 1.1, (ok, window))
        lines = lbd.access_lines(count=sum(sent), timeout=5)
        self.assertEqual(sum(1 for ln in lines if ln["status"] == 200), sum(ok))
        self.assertEqual(metric(lbd, "lbd_route_rate_limited_total", listener="web", route="0"),
                         sum(1 for ln in lines if ln["status"] == 429))

    def test_reload_keeps_an_unchanged_rule(self):
        b = self.backends.http("b1")
        port = free_port()
        lbd = self.start_lbd(limited_config(port, b, {"rate": "1/m", "burst": 2}))
        with HttpClient(port) as c:
            self.assertEqual([c.request().status for _ in range(3)], [200, 200, 429])
        lbd.reload(limited_config(port, b, {"rate": "1/m", "burst": 2}))
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 429)
        self.assertEqual(metric(lbd, "lbd_route_rate_limited_total", listener="web", route="0"),
                         2)
        # a changed rule starts afresh
        lbd.reload(limited_config(port, b, {"rate": "2/m", "burst": 2}))
        with HttpClient(port) as c:
            self.assertEqual([c.request().status for _ in range(3)], [200, 200, 429])


class RateLimitCheckTest(unittest.TestCase):
    def check(self, rule_yaml):
        text = ("global: {admin: {socket: @TMPDIR@/admin.sock}}\n" +
                "listeners:\n"
                "  - name: web\n"
                "    bind: 127.0.0.1:8080\n"
                "    routes:\n"
                "      - pool: p\n"
                "        rate_limit: " + rule_yaml + "\n"
                "pools:\n"
                "  - name: p\n"
                "    servers: [{address: 127.0.0.1:9000}]\n")
        return check_config(self, text)

    def test_good_rules(self):
        for rule in ("{key: client_ip, rate: 100/s, burst: 50}", "{rate: 5/m}",
                     "{key: 'header:X-Client', rate: 1/s, table_size: 64}"):
            _, r = self.check(rule)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_bad_rules(self):
        for rule, col, what in (("{rate: 0/s}", 28, "N/s or N/m"),
                                ("{rate: 10/h}", 28, "N/s or N/m"),
                                ("{rate: fast}", 28, "N/s or N/m"),
                                ("{key: 'cookie:x', rate: 1/s}", 27, "client_ip or header"),
                                ("{burst: 3}", 21, "rate"),
                                ("{rate: 1/s, burst: 0}", 40, "burst")):
            path, r = self.check(rule)
            self.assertNotEqual(r.returncode, 0, rule)
            self.assertRegex(r.stderr, r"%s:7:%d: .*%s" % (re.escape(path), col, what), rule)

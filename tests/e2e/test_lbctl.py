"""lbctl (SPEC §1): every command against a running lbd, its output, and
its exit status: 0 done, 1 refused or a wrong command line, 2 lbd cannot be
reached (the message names the socket)."""

import collections
import json
import os
import signal
import threading
import time

import backends as B

from lbdtest import (HttpClient, LbdTestCase, free_port, lbctl, server, simple_config)


class LbctlTest(LbdTestCase):
    def setUp(self):
        super().setUp()
        self.a, self.b = self.backends.http("a"), self.backends.http("b")
        self.port = free_port()

    def start(self, **kw):
        self.lbd = self.start_lbd(simple_config(self.port, [self.a, self.b], **kw))
        return self.lbd

    def ctl(self, *args, **kw):
        return lbctl(*args, socket_path=self.lbd.admin_socket, **kw)

    def names(self, n):
        out = []
        for i in range(n):
            with HttpClient(self.port) as c:
                out.append(c.request("GET", "/%d" % i).header("x-backend"))
        return out

    def test_status_table_and_json(self):
        self.start()
        self.names(4)
        r = self.ctl("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("generation 1", r.stdout)
        self.assertRegex(r.stdout, r"(?m)^web\s+http\s+\d+\s+127\.0\.0\.1:%d$" % self.port)
        self.assertRegex(r.stdout, r"(?m)^p\s+a\s+%s\s+up\s+1\s+0\s+2\s+0\s+none$"
                         % self.a.address)
        r = self.ctl("status", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["generation"], 1)
        self.assertEqual([s["requests"] for s in doc["pools"][0]["servers"]], [2, 2])

    def test_drain_disable_enable(self):
        self.start()
        r = self.ctl("drain", "p", "a")
        self.assertEqual((r.returncode, r.stdout), (0, "pool p: server a: draining\n"), r.stderr)
        self.assertEqual(set(self.names(4)), {"b"})
        r = self.ctl("disable", "p", "b")
        self.assertEqual((r.returncode, r.stdout), (0, "pool p: server b: disabled\n"))
        r = self.ctl("enable", "p", "a")
        self.assertEqual((r.returncode, r.stdout), (0, "pool p: server a: up\n"))
        self.assertEqual(set(self.names(4)), {"a"})
        self.assertEqual(self.ctl("enable", "p", "b").returncode, 0)
        self.assertEqual(collections.Counter(self.names(4)), {"a": 2, "b": 2})

    def test_drain_wait(self):
        """drain --wait returns once the server's requests in flight end;
        with a timeout that passes first it exits 1 and says how many."""
        slow = self.backends.http("slow", B.delay_handler(1.0))
        self.lbd = self.start_lbd(simple_config(self.port, [slow]))
        done = {}

        def slow_request():
            with HttpClient(self.port, timeout=10) as c:
                done["status"] = c.request(timeout=10).status
        t = threading.Thread(target=slow_request)
        t.start()
        self.addCleanup(t.join, 10)
        slow.wait_requests(1)
        r = self.ctl("drain", "p", "slow", "--wait", "200ms")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "pool p: server slow: draining\n")
        self.assertEqual(r.stderr, "lbctl: drain --wait: pool p: server slow still has 1 "
                                   "active request after 200ms\n")
        start = time.monotonic()
        r = self.ctl("drain", "p", "slow", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "pool p: server slow: draining\n"
                                   "pool p: server slow: no active requests\n")
        t.join(10)
        self.assertEqual(done.get("status"), 200)
        self.assertLess(time.monotonic() - start, 5)
        # an idle server: at once; bad arguments: exit 1
        r = self.ctl("drain", "p", "slow", "--wait", "5s")
        self.assertEqual(r.returncode, 0, r.stderr)
        for args in [("--wait", "soon"), ("--wait", "0s"), ("--now",), ("--wait", "1s", "x")]:
            r = self.ctl("drain", "p", "slow", *args)
            self.assertEqual(r.returncode, 1, args)
            self.assertTrue(r.stderr.startswith("lbctl: drain"), r.stderr)

    def test_status_table_keeps_columns_with_long_names(self):
        long_pool = "payments-api-canary-v2-7f9c8d6b5-production-eu-west"
        long_srv = "payments-api-7f9c8d6b5-x2k4p.payments.svc.cluster"
        from lbdtest import config, listener, pool
        self.lbd = self.start_lbd(config([listener("web", self.port, long_pool)],
                                         [pool(long_pool, [server(self.a, name=long_srv),
                                                           server(self.b)])]))
        r = self.ctl("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        head = next(i for i, l in enumerate(lines) if l.startswith("POOL"))
        rows = lines[head:head + 3]
        # every column starts where its heading does
        starts = [rows[0].index("SERVER"), rows[0].index("ADDRESS"), rows[0].index("STATE")]
        for row in rows[1:]:
            fields = row.split()
            self.assertEqual(row.index(fields[1], len(fields[0])), starts[0], row)
            self.assertEqual(row.index(fields[2], starts[0] + len(fields[1])), starts[1], row)
            self.assertEqual(row.index(fields[3], starts[1] + len(fields[2])), starts[2], row)
        self.assertTrue(rows[1].startswith(long_pool + " "), rows[1])

    def test_server_names_with_special_characters(self):
        self.lbd = self.start_lbd(simple_config(self.port, [server(self.a.address),
                                                            server(self.b, name="[b]/2")]))
        self.assertEqual(self.ctl("drain", "p", self.a.address).returncode, 0)
        self.assertEqual(self.ctl("disable", "p", "[b]/2").returncode, 0)
        doc = json.loads(self.ctl("status", "--json").stdout)
        self.assertEqual([s["state"] for s in doc["pools"][0]["servers"]],
                         ["draining", "disabled"])

    def test_refusals_exit_1(self):
        self.start()
        r = self.ctl("drain", "p", "nobody")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "lbctl: drain: pool p has no server named nobody\n")
        r = self.ctl("enable", "nopool", "a")
        self.assertEqual((r.returncode, r.stderr), (1, "lbctl: enable: no pool named nopool\n"))
        for args in [("weight", "p", "a", "x"), ("weight", "p", "a", "257"),
                     ("weight", "p", "a", "-1"), ("weight", "p", "a")]:
            r = self.ctl(*args)
            self.assertEqual(r.returncode, 1, args)
            self.assertTrue(r.stderr.startswith("lbctl: "), r.stderr)

    def test_usage_errors_exit_1(self):
        self.start()
        for args in [(), ("frobnicate",), ("drain", "p"), ("status", "--xml"),
                     ("reload", "now"), ("stop", "x")]:
            r = self.ctl(*args)
            self.assertEqual(r.returncode, 1, args)
            self.assertIn("usage: lbctl", r.stderr)
        r = lbctl("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: lbctl", r.stdout)
        r = lbctl("-V")
        self.assertRegex(r.stdout, r"^lbctl \d+\.\d+\.\d+\n$")

    def test_unreachable_exit_2_names_the_socket(self):
        self.start()
        missing = os.path.join(self.lbd.dir, "nothing.sock")
        r = lbctl("status", socket_path=missing)
        self.assertEqual(r.returncode, 2)
        self.assertIn(missing, r.stderr)
        self.assertEqual(r.stdout, "")
        # a file that is no socket, and a socket nobody listens on
        r = lbctl("reload", socket_path=self.lbd.config_path)
        self.assertEqual(r.returncode, 2)
        self.assertIn(self.lbd.config_path, r.stderr)

    def test_socket_from_environment(self):
        self.start()
        r = lbctl("status", "--json", env={"LBD_SOCKET": self.lbd.admin_socket})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["generation"], 1)
        # -s wins over LBD_SOCKET
        r = lbctl("status", socket_path=self.lbd.admin_socket,
                  env={"LBD_SOCKET": "/nonexistent/lbd.sock"})
        self.assertEqual(r.returncode, 0, r.stderr)
        r = lbctl("status", env={"LBD_SOCKET": "/nonexistent/lbd.sock"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent/lbd.sock", r.stderr)

    def test_default_socket_named_when_unreachable(self):
        r = lbctl("status")
        if r.returncode == 0:
            self.skipTest("an lbd listens on the default socket")
        self.assertEqual(r.returncode, 2)
        self.assertIn("/run/lbd/admin.sock", r.stderr)

    def test_stop(self):
        self.start()
        r = self.ctl("stop")
        self.assertEqual((r.returncode, r.stdout), (0, "lbd is stopping\n"), r.stderr)
        self.assertEqual(self.lbd.wait(10), 0)
        r = self.ctl("stop")
        self.assertEqual(r.returncode, 2)

    def test_health(self):
        """0 while serving, 1 while draining (a request holds the drain
        open), 2 once lbd is gone."""
        b = self.backends.http("slow", B.delay_handler(1.5))
        port = free_port()
        self.lbd = self.start_lbd(simple_config(port, [b]))
        r = self.ctl("health")
        self.assertEqual((r.returncode, r.stdout), (0, "ok\n"), r.stderr)
        done = {}

        def slow_request():
            with HttpClient(port, timeout=10) as c:
                done["status"] = c.request(timeout=10).status
        t = threading.Thread(target=slow_request)
        t.start()
        time.sleep(0.3)
        self.lbd.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        r = self.ctl("health")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        t.join(10)
        self.assertEqual(done.get("status"), 200)
        self.assertEqual(self.lbd.wait(10), 0)
        self.assertEqual(self.ctl("health").returncode, 2)

"""Reloads through the admin API and lbctl (SPEC §1, §5, §6): accepted,
rejected with every error, and PUT weight applied by a new generation;
systemd hears RELOADING=1 and READY=1 around each."""

import collections
import os

from lbdtest import (HttpClient, LbdTestCase, admin_request, free_port, lbctl, server,
                     simple_config)
from test_notify import FakeSystemd


class AdminReloadTest(LbdTestCase):
    def setUp(self):
        super().setUp()
        self.a, self.b = self.backends.http("a"), self.backends.http("b")
        self.port = free_port()

    def names(self, n):
        out = []
        with HttpClient(self.port) as c:
            for i in range(n):
                out.append(c.request("GET", "/%d" % i).header("x-backend"))
        return out

    def test_reload_accepted_and_rejected(self):
        lbd = self.start_lbd(simple_config(self.port, [self.a]))
        self.assertEqual(set(self.names(4)), {"a"})
        lbd.rewrite(simple_config(self.port, [self.a, self.b]))
        r = admin_request(lbd, "POST", "/reload")
        self.assertEqual((r.status, r.json), (200, {"ok": True, "generation": 2}), r)
        self.assertEqual(collections.Counter(self.names(4)), {"a": 2, "b": 2})
        self.assertEqual(admin_request(lbd, "GET", "/status").json["generation"], 2)

        lbd.rewrite(simple_config(self.port, [self.a]).replace("workers: 1", "workers: 0")
                    .replace("retries", "retires"))
        r = admin_request(lbd, "POST", "/reload")
        self.assertEqual(r.status, 422, r)
        doc = r.json
        self.assertIs(doc["ok"], False)
        self.assertTrue(doc["errors"])
        for e in doc["errors"]:
            self.assertRegex(e, r"^%s:\d+:\d+: global\.workers: " % lbd.config_path)
        # the old generation keeps serving
        self.assertEqual(collections.Counter(self.names(4)), {"a": 2, "b": 2})

    def test_lbctl_reload(self):
        lbd = self.start_lbd(simple_config(self.port, [self.a]))
        lbd.rewrite(simple_config(self.port, [self.a, self.b]))
        r = lbctl("reload", socket_path=lbd.admin_socket)
        self.assertEqual((r.returncode, r.stdout), (0, "reloaded: generation 2\n"), r.stderr)
        lbd.rewrite("global:\n  workers: many\n" + simple_config(self.port, [self.a])
                    .split("\n", 1)[1].replace("  workers: 1\n", ""))
        r = lbctl("reload", socket_path=lbd.admin_socket)
        self.assertEqual(r.returncode, 1, r)
        lines = r.stderr.splitlines()
        self.assertRegex(lines[0], r"^%s:2:12: global\.workers: expected auto or an integer"
                         % lbd.config_path)
        self.assertEqual(lines[-1],
                         "lbctl: reload rejected; the running configuration stays")
        self.assertEqual(set(self.names(2)), {"a", "b"})

    def test_lbctl_reload_prints_restart_warnings(self):
        """A setting that changes only with a restart is named in the
        reload's answer and in lbctl reload's output, not only in the log."""
        lbd = self.start_lbd(simple_config(self.port, [self.a]))
        lbd.rewrite(simple_config(self.port, [self.a], workers=2))
        r = lbctl("reload", socket_path=lbd.admin_socket)
        self.assertEqual((r.returncode, r.stdout), (0, "reloaded: generation 2\n"), r.stderr)
        self.assertEqual(r.stderr, "lbctl: warning: global.workers changes with a restart; "
                         "1 workers stay\n")
        # nothing to warn about: no warnings, nothing on stderr
        lbd.rewrite(simple_config(self.port, [self.a]))
        r = lbctl("reload", socket_path=lbd.admin_socket)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "reloaded: generation 3\n", ""))
        r = admin_request(lbd, "POST", "/reload")
        self.assertEqual((r.status, r.json), (200, {"ok": True, "generation": 4}), r)
        lbd.rewrite(simple_config(self.port, [self.a], fmt="combined"))
        r = admin_request(lbd, "POST", "/reload")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json["warnings"]), 1, r.json)
        self.assertIn("global.log.format", r.json["warnings"][0])
        self.assertIn("global.log.format", lbd.stderr())

    def test_weight_changes_shares(self):
        lbd = self.start_lbd(simple_config(self.port, [self.a, self.b]))
        self.assertEqual(collections.Counter(self.names(10)), {"a": 5, "b": 5})
        r = admin_request(lbd, "PUT", "/servers/p/a/weight", {"weight": 3})
        self.assertEqual((r.status, r.json), (200, {"ok": True, "generation": 2, "weight": 3}))
        self.assertEqual(collections.Counter(self.names(40)), {"a": 30, "b": 10})
        st = admin_request(lbd, "GET", "/status").json
        self.assertEqual([s["weight"] for s in st["pools"][0]["servers"]], [3, 1])
        r = lbctl("weight", "p", "b", "0", socket_path=lbd.admin_socket)
        self.assertEqual((r.returncode, r.stdout),
                         (0, "pool p: server b: weight 0 (generation 3)\n"), r.stderr)
        self.assertEqual(set(self.names(6)), {"a"})
        # the weight set by the API outlives a reload of the file
        self.assertEqual(admin_request(lbd, "POST", "/reload").status, 200)
        self.assertEqual(set(self.names(6)), {"a"})
        r = admin_request(lbd, "PUT", "/servers/p/nobody/weight", "2")
        self.assertEqual(r.status, 404)

    def test_weight_with_rejected_file_changes_nothing(self):
        lbd = self.start_lbd(simple_config(self.port, [self.a, self.b]))
        lbd.rewrite("global: 5\n")
        r = admin_request(lbd, "PUT", "/servers/p/a/weight", "4")
        self.assertEqual(r.status, 422, r)
        lbd.rewrite(simple_config(self.port, [self.a, self.b]))
        self.assertEqual(admin_request(lbd, "POST", "/reload").status, 200)
        self.assertEqual(collections.Counter(self.names(10)), {"a": 5, "b": 5})

    def test_systemd_hears_reloads(self):
        path = "@lbd-e2e-notify-reload-%d" % os.getpid()
        fake = FakeSystemd(path)
        self.addCleanup(fake.close)
        lbd = self.start_lbd(simple_config(self.port, [self.a]), env={"NOTIFY_SOCKET": path})
        fake.wait_for("READY=1")
        fake.messages.clear()
        self.assertEqual(admin_request(lbd, "POST", "/reload").status, 200)
        reloading = fake.wait_for("RELOADING=1")
        self.assertRegex(reloading, r"(?m)^MONOTONIC_USEC=\d+$")
        ready = fake.wait_for("READY=1")
        self.assertIn("STATUS=serving configuration generation 2", ready.split("\n"))
        fake.messages.clear()
        lbd.rewrite("global: 5\n")
        self.assertEqual(admin_request(lbd, "POST", "/reload").status, 422)
        fake.wait_for("RELOADING=1")
        self.assertIn("STATUS=serving configuration generation 2",
                      fake.wait_for("READY=1").split("\n"))

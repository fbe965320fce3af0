"""Reloads through the admin API and lbctl (SPEC §1, §5, §6): accepted,
rejected with every error; runtime weights applied at once without reading
the file, kept across reloads until reset, and forgotten with the server
they were set on; systemd hears RELOADING=1 and READY=1 around each
reload."""

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

    def weights(self, lbd):
        st = admin_request(lbd, "GET", "/status").json
        return [(s["name"], s["weight"], s["weight_source"]) for s in st["pools"][0]["servers"]]

    def test_weight_changes_shares_without_a_reload(self):
        lbd = self.start_lbd(simple_config(self.port, [self.a, self.b]))
        self.assertEqual(collections.Counter(self.names(10)), {"a": 5, "b": 5})
        r = admin_request(lbd, "PUT", "/servers/p/a/weight", {"weight": 3})
        self.assertEqual((r.status, r.json),
                         (200, {"ok": True, "weight": 3, "weight_source": "runtime"}))
        self.assertEqual(collections.Counter(self.names(40)), {"a": 30, "b": 10})
        self.assertEqual(self.weights(lbd), [("a", 3, "runtime"), ("b", 1, "config")])
        self.assertEqual(admin_request(lbd, "GET", "/status").json["generation"], 1)
        r = lbctl("weight", "p", "b", "0", socket_path=lbd.admin_socket)
        self.assertEqual((r.returncode, r.stdout),
                         (0, "pool p: server b: weight 0 (set at run time; --reset returns "
                             "to the file's)\n"), r.stderr)
        self.assertEqual(set(self.names(6)), {"a"})
        # the weight set at run time outlives a reload of the file, which says so
        self.assertEqual(admin_request(lbd, "POST", "/reload").status, 200)
        self.assertEqual(set(self.names(6)), {"a"})
        self.assertIn("pool p: server b: the weight 0 set at run time stays (the file says 1",
                      lbd.stderr())
        r = lbctl("weight", "p", "b", "--reset", socket_path=lbd.admin_socket)
        self.assertEqual((r.returncode, r.stdout),
                         (0, "pool p: server b: weight 1 (the file's)\n"), r.stderr)
        self.assertEqual(collections.Counter(self.names(40)), {"a": 30, "b": 10})
        r = admin_request(lbd, "PUT", "/servers/p/nobody/weight", "2")
        self.assertEqual(r.status, 404)

    def test_weight_does_not_read_the_file(self):
        """A broken or edited file is neither read nor applied by a weight change."""
        lbd = self.start_lbd(simple_config(self.port, [self.a, self.b]))
        lbd.rewrite("global: 5\n")
        r = admin_request(lbd, "PUT", "/servers/p/a/weight", "4")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(collections.Counter(self.names(50)), {"a": 40, "b": 10})
        lbd.rewrite(simple_config(self.port, [self.a]))
        r = admin_request(lbd, "DELETE", "/servers/p/a/weight")
        self.assertEqual((r.status, r.json),
                         (200, {"ok": True, "weight": 1, "weight_source": "config"}))
        self.assertEqual(collections.Counter(self.names(10)), {"a": 5, "b": 5})
        self.assertEqual(admin_request(lbd, "GET", "/status").json["generation"], 1)

    def test_patch_sets_the_weight_of_a_file_server(self):
        lbd = self.start_lbd(simple_config(self.port, [self.a, self.b]))
        r = admin_request(lbd, "PATCH", "/pools/p/servers/b", {"weight": 0})
        self.assertEqual((r.status, r.json["weight_source"]), (200, "runtime"))
        self.assertEqual(set(self.names(6)), {"a"})
        r = admin_request(lbd, "PATCH", "/pools/p/servers/b", {"address": "127.0.0.1:1"})
        self.assertEqual(r.status, 409, r)
        for body, status in [("{\"weight\": 300}", 400), ("x", 400)]:
            self.assertEqual(admin_request(lbd, "PATCH", "/pools/p/servers/b", body).status,
                             status)
        self.assertEqual(admin_request(lbd, "PATCH", "/pools/p/servers/zz", "1").status, 404)
        self.assertEqual(admin_request(lbd, "PATCH", "/pools/q/servers/b", "1").status, 404)
        self.assertEqual(admin_request(lbd, "PUT", "/pools/p/servers/b", "1").status, 405)
        self.assertEqual(self.weights(lbd), [("a", 1, "config"), ("b", 0, "runtime")])

    def test_runtime_state_goes_with_its_server(self):
        """A server removed from the file and added back later starts afresh:
        no drain, no weight of the old machine."""
        lbd = self.start_lbd(simple_config(self.port, [self.a, self.b]))
        self.assertEqual(admin_request(lbd, "POST", "/servers/p/b/drain").status, 200)
        self.assertEqual(admin_request(lbd, "PUT", "/servers/p/a/weight", "0").status, 200)
        self.assertEqual(lbd.reload(simple_config(self.port, [self.a])), (True, 2))
        self.assertEqual(lbd.reload(simple_config(self.port, [self.b])), (True, 3))
        self.assertEqual(lbd.reload(simple_config(self.port, [self.a, self.b])), (True, 4))
        st = admin_request(lbd, "GET", "/status").json["pools"][0]["servers"]
        self.assertEqual([(s["name"], s["state"], s["weight"], s["weight_source"])
                          for s in st],
                         [("a", "up", 1, "config"), ("b", "up", 1, "config")])
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

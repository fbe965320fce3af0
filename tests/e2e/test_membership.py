"""Servers added, changed and removed at run time through the admin API and
lbctl (SPEC §7): a POST adds a server that takes requests at once, PATCH
changes it, DELETE drains it (its requests finish) before it is gone; every
bad call is answered and changes nothing; servers added at run time survive
reloads, and restarts with global.state_file."""

import collections
import json
import os
import shutil
import tempfile
import threading
import time

import backends as B
from lbdtest import (HttpClient, LbdTestCase, LoadLoop, admin_request, build_request, config,
                     free_port, lbctl,
                     listener, pool, server)


class MembershipTest(LbdTestCase):
    def setUp(self):
        super().setUp()
        self.a, self.b, self.c = (self.backends.http(n) for n in "abc")
        self.port = free_port()

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="lbd-members-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def cfg(self, servers=None, state_file=None, **pool_kw):
        text = config([listener("web", self.port, "p")],
                      [pool("p", servers if servers is not None else [self.a], **pool_kw)])
        if state_file:
            text = text.replace("global:\n", "global:\n  state_file: %s\n" % state_file, 1)
        return text

    def names(self, n):
        out = []
        with HttpClient(self.port) as c:
            for i in range(n):
                r = c.request("GET", "/r%d" % i)
                self.assertEqual(r.status, 200, r)
                out.append(r.header("x-backend"))
        return collections.Counter(out)

    def servers(self, lbd):
        r = admin_request(lbd, "GET", "/pools/p/servers")
        self.assertEqual(r.status, 200, r)
        return {s["name"]: s for s in r.json["servers"]}

    def add(self, lbd, name, backend, **kw):
        body = {"name": name, "address": backend.address}
        body.update(kw)
        return admin_request(lbd, "POST", "/pools/p/servers", body)

    def test_add_set_delete(self):
        lbd = self.start_lbd(self.cfg())
        r = self.add(lbd, "b9", self.b)
        self.assertEqual((r.status, r.json), (201, {"ok": True, "pool": "p", "server": "b9"}))
        self.assertEqual(self.names(10), {"a": 5, "b": 5})
        st = self.servers(lbd)
        self.assertEqual((st["b9"]["origin"], st["b9"]["state"], st["b9"]["weight"]),
                         ("api", "up", 1))
        self.assertEqual(st[self.a.name]["origin"], "config")
        # the generation did not change: no reload
        self.assertEqual(admin_request(lbd, "GET", "/status").json["generation"], 1)
        r = admin_request(lbd, "PATCH", "/pools/p/servers/b9", {"weight": 3})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.names(40), {"a": 10, "b": 30})
        r = admin_request(lbd, "PATCH", "/pools/p/servers/b9", {"address": self.c.address})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.names(40), {"a": 10, "c": 30})
        self.assertEqual(self.servers(lbd)["b9"]["address"], self.c.address)
        r = admin_request(lbd, "DELETE", "/pools/p/servers/b9")
        self.assertEqual(r.status, 202, r)
        self.assertEqual(self.names(6), {"a": 6})
        deadline = time.monotonic() + 5
        while "b9" in self.servers(lbd) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertNotIn("b9", self.servers(lbd))
        self.assertIn("pool p: server b9 drained: it is gone", lbd.stderr())

    def test_bad_calls_change_nothing(self):
        lbd = self.start_lbd(self.cfg())
        self.assertEqual(self.add(lbd, "b9", self.b).status, 201)
        before = self.servers(lbd)
        cases = [
            ("POST", "/pools/nope/servers", {"name": "x", "address": "127.0.0.1:1"}, 404),
            ("POST", "/pools/p/servers", {"name": "b9", "address": "127.0.0.1:1"}, 409),
            ("POST", "/pools/p/servers", {"name": self.a.name, "address": "127.0.0.1:1"}, 409),
            ("POST", "/pools/p/servers", {"name": "x", "address": "nowhere:1"}, 400),
            ("POST", "/pools/p/servers", {"name": "x", "address": "127.0.0.1:99999"}, 400),
            ("POST", "/pools/p/servers", {"name": "x", "address": "127.0.0.1:1",
                                          "weight": 300}, 400),
            ("POST", "/pools/p/servers", {"name": "x", "address": "127.0.0.1:1",
                                          "colour": "red"}, 400),
            ("POST", "/pools/p/servers", {"address": "127.0.0.1:1"}, 400),
            ("POST", "/pools/p/servers", "{not json", 400),
            ("POST", "/pools/p/servers", "[1]", 400),
            ("PATCH", "/pools/p/servers/%s" % self.a.name, {"address": "127.0.0.1:1"}, 409),
            ("PATCH", "/pools/p/servers/zz", {"weight": 1}, 404),
            ("PATCH", "/pools/p/servers/b9", {"weight": -1}, 400),
            ("PATCH", "/pools/p/servers/b9", {"name": "other"}, 400),
            ("DELETE", "/pools/p/servers/%s" % self.a.name, None, 409),
            ("DELETE", "/pools/p/servers/zz", None, 404),
            ("PUT", "/pools/p/servers", None, 405),
        ]
        for method, path, body, status in cases:
            r = admin_request(lbd, method, path, body)
            self.assertEqual(r.status, status, (method, path, body, r.body))
            self.assertIs(r.json["ok"], False, r.body)
        self.assertEqual(self.servers(lbd), before)
        self.assertEqual(self.names(10), {"a": 5, "b": 5})

    def test_delete_lets_a_slow_request_finish(self):
        slow = self.backends.http("slow", B.delay_handler(1.0))
        lbd = self.start_lbd(self.cfg())
        self.assertEqual(self.add(lbd, "s", slow, weight=100).status, 201)
        got = {}

        def request():
            with HttpClient(self.port) as c:
                for i in range(20):  # until the slow server has one
                    r = c.request("GET", "/slow%d" % i)
                    if r.header("x-backend") == "slow":
                        got["r"] = r
                        return
        t = threading.Thread(target=request)
        t.start()
        time.sleep(0.3)
        self.assertEqual(admin_request(lbd, "DELETE", "/pools/p/servers/s").status, 202)
        self.assertEqual(self.servers(lbd)["s"]["state"], "draining")
        self.assertEqual(self.names(4), {"a": 4})
        t.join(10)
        self.assertEqual(got["r"].status, 200)
        deadline = time.monotonic() + 5
        while "s" in self.servers(lbd) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertNotIn("s", self.servers(lbd))

    def test_changes_under_load_lose_no_request(self):
        lbd = self.start_lbd(self.cfg())
        load = LoadLoop(self.port)
        self.addCleanup(load.stop)
        steps = [("POST", "/pools/p/servers", {"name": "b9", "address": self.b.address}, 201),
                 ("PATCH", "/pools/p/servers/b9", {"weight": 3}, 200),
                 ("PATCH", "/pools/p/servers/b9", {"address": self.c.address}, 200),
                 ("DELETE", "/pools/p/servers/b9", None, 202)] * 3
        for method, path, body, status in steps:
            time.sleep(0.15)
            deadline = time.monotonic() + 5
            while "b9" in self.servers(lbd) and method == "POST" and \
                    time.monotonic() < deadline:
                time.sleep(0.02)  # the last one still drains
            self.assertEqual(admin_request(lbd, method, path, body).status, status)
        time.sleep(0.2)
        load.stop()
        self.assertEqual(load.errors, [])
        self.assertEqual(set(load.statuses), {200}, load.statuses)
        self.assertEqual(set(load.served), {"a", "b", "c"})

    def test_delete_lets_an_open_websocket_finish(self):
        ws = self.backends.websocket("ws")
        lbd = self.start_lbd(self.cfg(servers=[{"name": "a", "address": self.a.address,
                                                "weight": 0}]))
        self.assertEqual(self.add(lbd, "w", ws).status, 201)
        c = HttpClient(self.port, timeout=5)
        self.addCleanup(c.close)
        c.send(build_request("GET", "/chat", [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")]))
        self.assertEqual(c.read_head().status, 101)
        self.assertEqual(admin_request(lbd, "DELETE", "/pools/p/servers/w").status, 202)
        # An upgraded connection is a tunnel: it holds no request, so the
        # server leaves the list at once; the tunnel is never cut.
        deadline = time.monotonic() + 5
        while "w" in self.servers(lbd) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertNotIn("w", self.servers(lbd))
        for payload in (b"still", b"here", os.urandom(5000)):
            c.send(B.ws_frame(payload, 2, mask=b"abcd"))
            got = B.ws_read_frame(lambda n: c._take(n, time.monotonic() + 5))
            self.assertEqual(got[2], payload)
        c.send(B.ws_frame(b"\x03\xe8", 0x8, mask=b"abcd"))
        self.assertEqual(B.ws_read_frame(lambda n: c._take(n, time.monotonic() + 5))[1], 0x8)

    def test_lbctl_server_commands(self):
        lbd = self.start_lbd(self.cfg())
        r = lbctl("server", "add", "p", "b9", self.b.address, "--weight", "2",
                  socket_path=lbd.admin_socket)
        self.assertEqual((r.returncode, r.stdout), (0, "pool p: server b9 added\n"), r.stderr)
        r = lbctl("servers", "p", socket_path=lbd.admin_socket)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?m)^b9\s+%s\s+api\s+up\s+2\b" % self.b.address)
        r = lbctl("server", "set", "p", "b9", "--weight", "1", socket_path=lbd.admin_socket)
        self.assertEqual((r.returncode, r.stdout), (0, "pool p: server b9 changed\n"), r.stderr)
        r = lbctl("server", "add", "p", "b9", self.b.address, socket_path=lbd.admin_socket)
        self.assertEqual(r.returncode, 1)
        self.assertIn("has a server named b9 already", r.stderr)
        r = lbctl("server", "del", "p", "b9", socket_path=lbd.admin_socket)
        self.assertEqual((r.returncode, r.stdout),
                         (0, "pool p: server b9 removed: it drains, then it is gone\n"),
                         r.stderr)

    def test_survives_reloads_and_the_file_takes_a_name_over(self):
        lbd = self.start_lbd(self.cfg())
        self.assertEqual(self.add(lbd, "b9", self.b).status, 201)
        self.assertEqual(lbd.reload(self.cfg([self.a, self.c])), (True, 2))
        self.assertEqual(self.names(12), {"a": 4, "b": 4, "c": 4})
        self.assertEqual(self.servers(lbd)["b9"]["origin"], "api")
        # the file now names b9: it is the file's
        self.assertEqual(lbd.reload(self.cfg([self.a, server(self.c, name="b9")])), (True, 3))
        st = self.servers(lbd)
        self.assertEqual(st["b9"]["origin"], "config")
        self.assertEqual(st["b9"]["address"], self.c.address)
        self.assertEqual(admin_request(lbd, "DELETE", "/pools/p/servers/b9").status, 409)

    def test_state_file_across_restarts(self):
        path = os.path.join(self.tmpdir(), "state.json")
        lbd = self.start_lbd(self.cfg(state_file=path))
        self.assertEqual(self.add(lbd, "b9", self.b, weight=2, backup=False).status, 201)
        with open(path) as f:
            doc = json.load(f)
        self.assertEqual(doc["servers"], [{"pool": "p", "name": "b9", "address": self.b.address,
                                           "weight": 2, "backup": False}])
        lbd.stop()
        lbd = self.start_lbd(self.cfg(state_file=path))
        self.assertEqual(self.servers(lbd)["b9"]["weight"], 2)
        self.assertEqual(self.names(30), {"a": 10, "b": 20})
        self.assertEqual(admin_request(lbd, "DELETE", "/pools/p/servers/b9").status, 202)
        with open(path) as f:
            self.assertEqual(json.load(f)["servers"], [])

    def test_corrupt_state_file_stops_the_start(self):
        path = os.path.join(self.tmpdir(), "state.json")
        with open(path, "w") as f:
            f.write('{"servers": [{"pool": "p", "name": "x"}]}')
        lbd = self.start_lbd(self.cfg(state_file=path), wait=False)
        self.assertEqual(lbd.wait(), 1)
        self.assertIn("state file %s: server 1: expected pool, name, address" % path,
                      lbd.stderr())
        with open(path) as f:  # never written over
            self.assertIn('"name": "x"', f.read())

    def test_unwritable_state_file_refuses_the_change(self):
        d = os.path.join(self.tmpdir(), "gone")
        lbd = self.start_lbd(self.cfg(state_file=os.path.join(d, "state.json")))
        r = self.add(lbd, "b9", self.b)
        self.assertEqual(r.status, 500, r)
        self.assertIn("the state file", r.json["error"])
        self.assertNotIn("b9", self.servers(lbd))

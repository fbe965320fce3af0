"""Pools that follow DNS (SPEC §7), against a real DNS server (unbound,
dnsserver.py): SRV names in the Consul style and A records with a port, a
record that appears takes requests within refresh + 1 s, one that goes
drains after hold, a resolver that stops answering changes nothing (and
says so in lbd_discovery_stale_seconds), an authoritative empty answer
empties the pool only after empty_after and a second answer, lbd starts
while DNS is down, a moved SRV target keeps its identity, reloads keep what
was found, and lbd -t asks nothing."""

import collections
import os
import socket
import subprocess
import threading
import time
import unittest

import backends as B
import dnsserver
from lbdtest import (HttpClient, LbdTestCase, LoadLoop, admin_request, config, free_port,
                     http_request, lbd_bin, listener, pool)

SRV = "_http._tcp.api.service.consul"
REFRESH = "1s"


def wait_for(what, predicate, timeout, step=0.1):
    """Poll PREDICATE until it returns a true value; the last value, or
    AssertionError naming WHAT after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise AssertionError("%s: not within %.1f s (last: %r)" % (what, timeout, got))
        time.sleep(step)


@unittest.skipUnless(dnsserver.available(), "unbound is not installed (apt-get install unbound)")
class DiscoveryTest(LbdTestCase):
    def setUp(self):
        super().setUp()
        self.dns = dnsserver.DnsServer()
        self.addCleanup(self.dns.stop)
        self.port = free_port()

    # --- helpers ------------------------------------------------------------
    def cfg(self, dns=SRV, port=None, static=(), hold="1s", empty_after="2s",
            discovery=True, timeout="300ms", **pool_kw):
        d = {"dns": dns, "resolver": "local", "refresh": REFRESH, "hold": hold,
             "empty_after": empty_after}
        if port is not None:
            d["port"] = port
        kw = dict(pool_kw, discovery=d) if discovery else dict(pool_kw)
        text = config([listener("web", self.port, "p")], [pool("p", list(static), **kw)])
        return self.with_resolver(text, timeout)

    def with_resolver(self, text, timeout="300ms", name="local"):
        """TEXT with resolvers[]: NAME, the test's unbound."""
        return text.replace("listeners:\n", "resolvers:\n- name: %s\n  nameservers: [%s]\n"
                            "  timeout: %s\n  attempts: 1\nlisteners:\n"
                            % (name, self.dns.ns, timeout), 1)

    def static_cfg(self, servers):
        """Pool p of SERVERS, without discovery; the test's unbound is the
        resolvers[] entry "default", which static host names ask."""
        return self.with_resolver(config([listener("web", self.port, "p")], [pool("p", servers)]),
                                  name="default")

    def srv_target(self, name, backend, host="127.0.0.1"):
        """An SRV record of SRV for BACKEND's port, its target NAME with an
        A record of HOST."""
        target = "%s.node.service.consul" % name
        self.dns.add_records(["%s. 5 IN A %s" % (target, host),
                              "%s. 5 IN SRV 1 1 %d %s." % (SRV, backend.port, target)])
        return "%s:%d" % (target, backend.port)

    def servers(self, lbd):
        r = admin_request(lbd, "GET", "/pools/p/servers")
        self.assertEqual(r.status, 200, r)
        return {s["name"]: s for s in r.json["servers"]}

    def names(self, n):
        out = []
        with HttpClient(self.port) as c:
            for i in range(n):
                r = c.request("GET", "/r%d" % i)
                self.assertEqual(r.status, 200, r)
                out.append(r.header("x-backend"))
        return collections.Counter(out)

    def status_of(self, n=1):
        out = []
        for i in range(n):
            with HttpClient(self.port) as c:
                out.append(c.request("GET", "/s%d" % i).status)
        return out

    def stale_seconds(self, lbd):
        r = admin_request(lbd, "GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        for line in r.body.decode().splitlines():
            if line.startswith('lbd_discovery_stale_seconds{pool="p"}'):
                return float(line.split()[-1])
        self.fail("no lbd_discovery_stale_seconds for pool p in /metrics")

    def generation(self, lbd):
        return admin_request(lbd, "GET", "/status").json["generation"]

    def backends_on(self, hosts):
        """HTTP backends on HOSTS (loopback addresses) that share one port,
        as A records carry no port."""
        for _ in range(20):
            port = free_port()
            try:
                return [self.backends.http("b%d" % i, host=h, port=port)
                        for i, h in enumerate(hosts)]
            except OSError:
                continue
        self.fail("no port free on %s" % (hosts,))

    # --- the tests ----------------------------------------------------------
    def test_srv_members_come_and_go_without_reload(self):
        a, b, c = (self.backends.http(n) for n in "abc")
        ida = self.srv_target("a", a)
        idb = self.srv_target("b", b)
        lbd = self.start_lbd(self.cfg())
        wait_for("both SRV targets", lambda: set(self.servers(lbd)) == {ida, idb}, 3)
        st = self.servers(lbd)
        self.assertEqual({s["origin"] for s in st.values()}, {"dns"})
        self.assertEqual(st[ida]["address"], a.address)
        self.assertEqual(self.names(10), {"a": 5, "b": 5})
        # DNS owns them: their weight changes at run time, nothing else.
        r = admin_request(lbd, "PATCH", "/pools/p/servers/%s" % idb, {"weight": 3})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.names(8), {"a": 2, "b": 6})
        for method, body in (("DELETE", None), ("PATCH", {"address": c.address})):
            r = admin_request(lbd, method, "/pools/p/servers/%s" % ida, body)
            self.assertEqual(r.status, 409, r)
            self.assertIn("discovery", r.json["error"], r.json)
        r = admin_request(lbd, "POST", "/servers/p/%s/drain" % ida)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.names(4), {"b": 4})
        r = admin_request(lbd, "POST", "/servers/p/%s/enable" % ida)
        self.assertEqual(r.status, 200, r)
        r = admin_request(lbd, "DELETE", "/servers/p/%s/weight" % idb)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.names(10), {"a": 5, "b": 5})

        # A new record takes requests within refresh + 1 s.
        t0 = time.monotonic()
        idc = self.srv_target("c", c)
        wait_for("the new target in the pool", lambda: idc in self.servers(lbd), 2.5)
        self.assertLess(time.monotonic() - t0, 2.5)
        self.assertEqual(self.names(9), {"a": 3, "b": 3, "c": 3})

        # A record gone: the server keeps serving for hold, then drains.
        self.dns.remove(SRV)
        self.dns.add_records(["%s. 5 IN SRV 1 1 %d a.node.service.consul." % (SRV, a.port),
                              "%s. 5 IN SRV 1 1 %d c.node.service.consul." % (SRV, c.port)])
        wait_for("b gone after hold", lambda: idb not in self.servers(lbd), 4)
        self.assertEqual(self.names(10), {"a": 5, "c": 5})
        self.assertEqual(self.generation(lbd), 1, "discovery changes no generation")
        log = lbd.stderr()
        self.assertIn("server %s (%s) found by discovery" % (idc, c.address), log)
        self.assertIn("server %s is gone from discovery's answers: it drains" % idb, log)

    def test_changes_under_load_lose_no_request(self):
        a, c = (self.backends.http(n) for n in "ac")
        slow = self.backends.http("slow", B.delay_handler(2.5))
        self.srv_target("a", a)
        ids = self.srv_target("slow", slow)
        lbd = self.start_lbd(self.cfg(hold="0s"))
        wait_for("both targets", lambda: len(self.servers(lbd)) == 2, 3)
        # Slow requests in flight on the server that will go.
        got = []
        threads = [threading.Thread(target=lambda i=i: got.append(self._get("/slow%d" % i)))
                   for i in range(4)]
        for t in threads:
            t.start()
        wait_for("slow requests in flight", lambda: slow.inflight >= 1, 2, 0.02)
        load = LoadLoop(self.port)
        self.addCleanup(load.stop)
        self.dns.remove(SRV)
        self.srv_target("a", a)
        wait_for("the slow server draining or gone",
                 lambda: self.servers(lbd).get(ids, {}).get("state", "gone")
                 in ("draining", "gone"), 3)
        idc = self.srv_target("c", c)
        wait_for("c takes requests", lambda: load.served["c"] > 0, 2.5)
        for t in threads:
            t.join(10)
        wait_for("the slow server gone", lambda: ids not in self.servers(lbd), 3)
        time.sleep(0.3)
        load.stop()
        self.assertEqual(sorted(r[0] for r in got), [200] * 4, got)
        self.assertIn("slow", [r[1] for r in got], got)
        self.assertEqual(load.errors, [])
        self.assertEqual(set(load.statuses), {200}, load.statuses)
        self.assertIn(idc, self.servers(lbd))

    def _get(self, path):
        try:
            with HttpClient(self.port, timeout=10) as cl:
                r = cl.request("GET", path)
                return (r.status, r.header("x-backend"))
        except Exception as e:
            return (None, repr(e))

    def test_a_records_with_a_port_beside_a_static_server(self):
        static = self.backends.http("static")
        b0, b1 = self.backends_on(["127.0.0.2", "127.0.0.3"])
        self.dns.add_records(["api.test. 5 IN A 127.0.0.2", "api.test. 5 IN A 127.0.0.3"])
        lbd = self.start_lbd(self.cfg(dns="api.test", port=b0.port, static=[static]))
        want = {"127.0.0.2:%d" % b0.port, "127.0.0.3:%d" % b0.port}
        wait_for("both A records", lambda: want <= set(self.servers(lbd)), 3)
        st = self.servers(lbd)
        self.assertEqual(st["static"]["origin"], "config")
        self.assertEqual(self.names(30), {"static": 10, "b0": 10, "b1": 10})

    def test_failing_resolver_keeps_the_last_answer(self):
        a, b = (self.backends.http(n) for n in "ab")
        self.srv_target("a", a)
        self.srv_target("b", b)
        lbd = self.start_lbd(self.cfg())
        wait_for("both targets", lambda: len(self.servers(lbd)) == 2, 3)
        self.assertEqual(self.stale_seconds(lbd), 0)
        load = LoadLoop(self.port)
        self.addCleanup(load.stop)
        self.dns.stop_answering()
        try:
            # Ten seconds of lookups that time out (0.3 s each, then 1 s,
            # 2 s... of back-off): every request is served meanwhile.
            time.sleep(10)
            self.assertGreaterEqual(self.stale_seconds(lbd), 9)
            self.assertEqual(len(self.servers(lbd)), 2)
        finally:
            self.dns.cont()
        load.stop()
        self.assertEqual((dict(load.statuses), load.errors), ({200: sum(load.statuses.values())}, []))
        self.assertGreater(load.statuses[200], 100)
        self.assertEqual(set(load.served), {"a", "b"})
        wait_for("fresh answers again", lambda: self.stale_seconds(lbd) == 0, 4)
        log = lbd.stderr()
        self.assertIn("the resolver failed", log)
        self.assertIn("the last answer stands (2 servers)", log)
        self.assertIn("the resolver answers again", log)
        self.assertEqual(log.count("the resolver failed"), 1, "one warning a failing run")

    def test_empty_answer_empties_the_pool_only_after_empty_after(self):
        a = self.backends.http("a")
        self.srv_target("a", a)
        lbd = self.start_lbd(self.cfg(empty_after="3s", hold="0s"))
        wait_for("the target", lambda: len(self.servers(lbd)) == 1, 3)
        self.dns.remove(SRV)  # NXDOMAIN from now on
        t0 = time.monotonic()
        # Answers come every second; the pool keeps its server for 3 s.
        while time.monotonic() - t0 < 2.2:
            self.assertEqual(self.status_of(), [200])
            time.sleep(0.2)
        wait_for("the pool emptied", lambda: not self.servers(lbd), 4)
        self.assertGreaterEqual(time.monotonic() - t0, 2.9)
        self.assertEqual(self.status_of(2), [503, 503])
        self.assertIn("the servers stay until empty_after has passed", lbd.stderr())
        # Records again: the pool serves again.
        self.srv_target("a", a)
        wait_for("served again", lambda: self.status_of() == [200], 3)

    def test_starts_while_dns_is_down_then_serves(self):
        a = self.backends.http("a")
        self.srv_target("a", a)
        self.dns.stop_answering()
        try:
            lbd = self.start_lbd(self.cfg())
            self.assertEqual(self.status_of(2), [503, 503])
            self.assertEqual(self.servers(lbd), {})
        finally:
            self.dns.cont()
        t0 = time.monotonic()
        wait_for("served once DNS answers", lambda: self.status_of() == [200], 3)
        self.assertLess(time.monotonic() - t0, 3)

    def test_moved_target_keeps_its_identity(self):
        a, = self.backends_on(["127.0.0.1"])
        b = self.backends.http("moved", host="127.0.0.4", port=a.port)
        ida = self.srv_target("a", a)
        lbd = self.start_lbd(self.cfg())
        wait_for("the target", lambda: ida in self.servers(lbd), 3)
        self.assertEqual(self.names(3), {"b0": 3})
        self.dns.remove("a.node.service.consul")
        self.dns.add_records(["a.node.service.consul. 5 IN A 127.0.0.4"])
        wait_for("the new address", lambda: self.servers(lbd).get(ida, {}).get("address")
                 == b.address, 3)
        self.assertEqual(list(self.servers(lbd)), [ida])
        self.assertEqual(self.names(3), {"moved": 3})
        # The same server: its counters went on (3 requests before, 3 after).
        self.assertEqual(self.servers(lbd)[ida]["requests"], 6)
        self.assertIn("server %s moved (%s)" % (ida, b.address), lbd.stderr())

    def test_reload_keeps_found_servers_and_dropping_discovery_drains_them(self):
        a, b, static = (self.backends.http(n) for n in ("a", "b", "static"))
        ida = self.srv_target("a", a)
        idb = self.srv_target("b", b)
        lbd = self.start_lbd(self.cfg(static=[static]))
        wait_for("both targets", lambda: {ida, idb} <= set(self.servers(lbd)), 3)
        # The same discovery: the servers stay, nothing is found again.
        lbd.reload(self.cfg(static=[static]))
        self.assertEqual(set(self.servers(lbd)), {ida, idb, "static"})
        self.assertEqual(self.names(9), {"a": 3, "b": 3, "static": 3})
        self.assertEqual(lbd.stderr().count("found by discovery"), 2)
        # New settings: the found servers serve on, through the reload and
        # the first answer under them.
        lbd.reload(self.cfg(static=[static], hold="2s"))
        self.assertEqual(self.names(9), {"a": 3, "b": 3, "static": 3})
        time.sleep(1.2)
        self.assertEqual(set(self.servers(lbd)), {ida, idb, "static"})
        self.assertNotIn("drains", lbd.stderr())
        # Discovery removed: the found servers drain, the static one stays.
        lbd.reload(self.cfg(static=[static], discovery=False))
        wait_for("found servers gone", lambda: set(self.servers(lbd)) == {"static"}, 3)
        self.assertEqual(self.names(4), {"static": 4})

    def test_two_instances_place_every_key_alike(self):
        """SPEC §8: instances that follow the same name agree on ip_hash,
        whatever order their answers came in."""
        bs = [self.backends.http(n) for n in ("a", "b", "c", "d")]
        for name, b in zip("abcd", bs):
            self.srv_target(name, b)
        ports = []
        for _ in range(2):
            self.port = free_port()
            lbd = self.start_lbd(self.cfg(balance="ip_hash", hash_key="header:X-Key"))
            wait_for("four targets", lambda: len(self.servers(lbd)) == 4, 3)
            ports.append(self.port)

        def placement(port):
            out = {}
            with HttpClient(port) as c:
                for k in range(40):
                    r = c.request("GET", "/", [("X-Key", "user%d" % k)])
                    self.assertEqual(r.status, 200, r)
                    out[k] = r.header("x-backend")
            return out
        first, second = placement(ports[0]), placement(ports[1])
        self.assertEqual(first, second)
        self.assertEqual(set(first.values()), {"a", "b", "c", "d"})

    def test_pools_following_one_name_share_its_queries(self):
        a, b = (self.backends.http(n) for n in "ab")
        ida = self.srv_target("a", a)
        self.srv_target("b", b)
        d = {"dns": SRV, "resolver": "local", "refresh": "1s", "hold": "3s"}
        routes = [{"match": {"path_prefix": "/q"}, "pool": "q"},
                  {"match": {"path_prefix": "/"}, "pool": "p"}]
        lbd = self.start_lbd(self.with_resolver(config(
            [listener("web", self.port, routes=routes)],
            [pool("p", [], discovery=d), pool("q", [], discovery=dict(d, hold="0s"))])))
        t0 = time.monotonic()
        wait_for("both pools found both", lambda: all(
            len(admin_request(lbd, "GET", "/pools/%s/servers" % n).json["servers"]) == 2
            for n in "pq"), 3)
        time.sleep(max(0.0, 3.5 - (time.monotonic() - t0)))
        # One lookup a second for both pools (jitter takes up to a tenth off).
        n = self.dns.query_count(SRV, "SRV")
        self.assertLessEqual(n, 6, "two pools, one name: %d SRV queries in 3.5 s" % n)
        self.assertEqual(http_request(self.port, target="/q").status, 200)
        # Each pool keeps its own rules: q (hold 0s) lets a go before p (3s).
        self.dns.remove(SRV)
        self.srv_target("b", b)
        wait_for("a gone from q", lambda: ida not in [
            s["name"] for s in admin_request(lbd, "GET", "/pools/q/servers").json["servers"]], 2.5)
        self.assertIn(ida, self.servers(lbd))

    def test_static_name_that_does_not_resolve_keeps_only_that_server_down(self):
        a = self.backends.http("a")
        servers = [a, {"name": "ghost", "address": "nowhere.invalid:80"}]
        text = config([listener("web", self.port, "p")], [pool("p", servers)])
        path = os.path.join(self.dns.dir, "static.yaml")
        with open(path, "w") as f:
            f.write(text.replace("@ACCESS_LOG@", "/dev/null").replace("@TMPDIR@", self.dns.dir))
        p = subprocess.run([lbd_bin(), "-t", "-c", path], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("warning: pool p: server ghost: nowhere.invalid:80 does not resolve",
                      p.stderr)
        lbd = self.start_lbd(text)
        self.assertEqual(self.names(6), {"a": 6})
        st = self.servers(lbd)
        self.assertEqual((st["ghost"]["state"], st["ghost"]["address"]),
                         ("down", "nowhere.invalid:80"))
        self.assertIn("server ghost: nowhere.invalid:80 does not resolve", lbd.stderr())
        r = admin_request(lbd, "GET", "/metrics")
        self.assertIn('lbd_server_up{pool="p",server="ghost"} 0', r.body.decode())
        # A reload says it again, and applies; once the name is fixed, it serves.
        b = self.backends.http("b")
        lbd.reload(config([listener("web", self.port, "p")],
                          [pool("p", [a, {"name": "ghost", "address": b.address}])]))
        self.assertEqual(self.names(6), {"a": 3, "b": 3})
        self.assertEqual(self.servers(lbd)["ghost"]["state"], "up")

    def test_static_name_follows_its_ttl_keeping_its_identity(self):
        b0, b1 = self.backends_on(["127.0.0.2", "127.0.0.3"])
        self.dns.add_a("app.test", "127.0.0.2", ttl=1)
        written = "app.test.:%d" % b0.port
        lbd = self.start_lbd(self.static_cfg([{"name": "app", "address": written}]))
        wait_for("app at 127.0.0.2", lambda: self.servers(lbd)["app"].get("resolved")
                 == b0.address, 3)
        self.assertEqual(self.names(4), {"b0": 4})
        gen = self.generation(lbd)
        load = LoadLoop(self.port)
        self.addCleanup(load.stop)
        wait_for("load on b0", lambda: load.served["b0"] > 20, 3, 0.02)
        self.dns.remove("app.test")
        self.dns.add_a("app.test", "127.0.0.3", ttl=1)
        t0 = time.monotonic()
        wait_for("load on b1", lambda: load.served["b1"] > 0, 3, 0.02)  # TTL + 2 s
        moved_after = time.monotonic() - t0
        time.sleep(0.3)
        load.stop()
        self.assertEqual((dict(load.statuses), load.errors), ({200: sum(load.statuses.values())}, []))
        # Every new request goes to the new address.
        self.assertEqual(self.names(6), {"b1": 6})
        st = self.servers(lbd)["app"]
        self.assertEqual((st["address"], st["resolved"], st["origin"], st["state"]),
                         (written, b1.address, "config", "up"))
        # The same server: its counters went on, with no reload.
        self.assertEqual(st["requests"], 4 + sum(load.statuses.values()) + 6)
        self.assertEqual(self.generation(lbd), gen)
        self.assertLess(moved_after, 3)
        self.assertIn("server app (%s) moved to %s" % (written, b1.address), lbd.stderr())
        # A reload (whose load cannot resolve the name: the system's
        # resolver does not know it) keeps the address the name has now.
        lbd.reload()
        self.assertEqual(self.names(4), {"b1": 4})
        st = self.servers(lbd)["app"]
        self.assertEqual((st["resolved"], st["state"], st["requests"]),
                         (b1.address, "up", 4 + sum(load.statuses.values()) + 10))

    def test_static_name_that_resolves_later_comes_up_without_reload(self):
        a = self.backends.http("a")
        late, = self.backends_on(["127.0.0.4"])
        written = "late.test.:%d" % late.port
        lbd = self.start_lbd(self.static_cfg([a, {"name": "late", "address": written}]))
        self.assertEqual(self.names(4), {"a": 4})
        self.assertEqual(self.servers(lbd)["late"]["state"], "down")
        log = lbd.stderr()
        self.assertIn("server late: %s does not resolve; the server stays down until its name "
                      "resolves" % written, log)
        wait_for("NXDOMAIN said", lambda: "server late (%s): NXDOMAIN" % written in lbd.stderr(), 2)
        gen = self.generation(lbd)
        self.dns.add_a("late.test", "127.0.0.4", ttl=1)
        # An empty answer is asked again within refresh's default, 5 s.
        wait_for("late serves", lambda: self.names(2).get("b0"), 7, 0.2)
        self.assertEqual(self.names(4), {"a": 2, "b0": 2})
        st = self.servers(lbd)["late"]
        self.assertEqual((st["state"], st["resolved"]), ("up", late.address))
        self.assertEqual(self.generation(lbd), gen)
        self.assertIn("server late: %s resolves now, to %s" % (written, late.address),
                      lbd.stderr())

    def test_static_name_keeps_its_address_while_the_resolver_is_down(self):
        b0, = self.backends_on(["127.0.0.2"])
        self.dns.add_a("app.test", "127.0.0.2", ttl=1)
        lbd = self.start_lbd(self.static_cfg([{"name": "app",
                                                "address": "app.test.:%d" % b0.port}]))
        wait_for("app resolved", lambda: self.servers(lbd)["app"].get("resolved"), 3)
        load = LoadLoop(self.port)
        self.addCleanup(load.stop)
        self.dns.stop_answering()
        try:
            # Queries time out (0.3 s) then back off (1 s, 2 s): none
            # takes the server away.
            wait_for("the failure said", lambda: "the resolver failed" in lbd.stderr(), 3)
            time.sleep(2.5)
            self.assertEqual(self.servers(lbd)["app"]["state"], "up")
        finally:
            self.dns.cont()
        load.stop()
        self.assertEqual((dict(load.statuses), load.errors), ({200: sum(load.statuses.values())}, []))
        self.assertGreater(load.statuses[200], 50)
        self.assertIn("server app (app.test.:%d): the resolver failed (timeout); its address "
                      "stays as it is" % b0.port, lbd.stderr())

    def test_check_mode_asks_no_dns(self):
        path = os.path.join(self.dns.dir, "lbd.yaml")
        with open(path, "w") as f:
            f.write(self.cfg().replace("@ACCESS_LOG@", "/dev/null")
                    .replace("@TMPDIR@", self.dns.dir))
        p = subprocess.run([lbd_bin(), "-t", "-c", path], capture_output=True, text=True,
                           timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.dns.query_count(SRV), 0)

    def test_bad_discovery_configs_are_refused(self):
        path = os.path.join(self.dns.dir, "bad.yaml")
        base = self.cfg()
        cases = [
            (base.replace("resolver: local", "resolver: nope"), "nope"),
            (base.replace("dns: %s" % SRV, "dns: api.test"), "port"),
            (base.replace("refresh: 1s", "refresh: 10ms"), "refresh"),
            (base.replace("nameservers: [%s]" % self.dns.ns, "nameservers: [nowhere:53]"),
             "nameservers"),
        ]
        for text, word in cases:
            with open(path, "w") as f:
                f.write(text.replace("@ACCESS_LOG@", "/dev/null")
                        .replace("@TMPDIR@", self.dns.dir))
            p = subprocess.run([lbd_bin(), "-t", "-c", path], capture_output=True, text=True,
                               timeout=10)
            self.assertNotEqual(p.returncode, 0, text)
            self.assertIn(word, p.stderr, (word, p.stderr))
        self.assertEqual(self.dns.query_count(SRV), 0)


if __name__ == "__main__":
    unittest.main()

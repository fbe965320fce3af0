"""Richer route matching (SPEC §10): match takes path (exact, without the
query), methods, headers (names in any case, values exact) and query
(parameters as sent, not percent-decoded); every condition of a match must
hold, the first matching route wins, a request no route matches gets 404;
HTTP/2 streams route the same way; conditions that cannot match are
refused by `lbd -t` at their file:line:col. A route's split shares its
requests between pools by weight, and a split_key keeps one client on one
side."""

import shutil
import subprocess
import unittest

from lbdtest import (check_config, HttpClient, LbdTestCase, config, free_port, listener, pool)

CURL = shutil.which("curl")


class RouteMatchTest(LbdTestCase):
    def start(self):
        names = ["exact", "methods", "headers", "query", "all"]
        backends = {n: self.backends.http(n) for n in names}
        port = free_port()
        routes = [
            {"match": {"path": "/exact"}, "pool": "exact"},
            {"match": {"path": "/all", "methods": ["PUT"], "headers": {"X-Env": "beta"},
                       "query": {"v": "2"}}, "pool": "all"},
            {"match": {"methods": ["DELETE", "PATCH"]}, "pool": "methods"},
            {"match": {"headers": {"X-Env": "beta", "X-Tier": "gold"}}, "pool": "headers"},
            {"match": {"query": {"v": "2", "flag": ""}}, "pool": "query"},
        ]
        lbd = self.start_lbd(config([listener("web", port, routes=routes)],
                                    [pool(n, [backends[n]]) for n in names]))
        return lbd, port

    def backend(self, c, method="GET", target="/", headers=None):
        r = c.request(method=method, target=target, headers=headers)
        return r.header("x-backend") if r.status == 200 else r.status

    def test_each_condition_alone(self):
        lbd, port = self.start()
        with HttpClient(port) as c:
            self.assertEqual(self.backend(c, target="/exact"), "exact")
            self.assertEqual(self.backend(c, target="/exact?x=1"), "exact")
            self.assertEqual(self.backend(c, target="/exact/"), 404)
            self.assertEqual(self.backend(c, target="/exactly"), 404)
            self.assertEqual(self.backend(c, "DELETE", "/x"), "methods")
            self.assertEqual(self.backend(c, "PATCH", "/x"), "methods")
            self.assertEqual(self.backend(c, "POST", "/x"), 404)
            hs = [("x-env", "beta"), ("X-TIER", "gold")]
            self.assertEqual(self.backend(c, headers=hs), "headers")
            self.assertEqual(self.backend(c, headers=hs[:1]), 404)
            self.assertEqual(self.backend(c, headers=[("X-Env", "Beta"), hs[1]]), 404)
            self.assertEqual(self.backend(c, target="/?flag&v=2"), "query")
            self.assertEqual(self.backend(c, target="/?v=2&flag="), "query")
            self.assertEqual(self.backend(c, target="/?v=2"), 404)
            self.assertEqual(self.backend(c, target="/?v=%32&flag"), 404)

    def test_all_conditions_together(self):
        lbd, port = self.start()
        hs = [("X-Env", "beta")]
        with HttpClient(port) as c:
            self.assertEqual(self.backend(c, "PUT", "/all?v=2", hs), "all")
            # One condition short: a later route, or none.
            self.assertEqual(self.backend(c, "GET", "/all?v=2", hs), 404)
            self.assertEqual(self.backend(c, "PUT", "/all?v=3", hs), 404)
            self.assertEqual(self.backend(c, "PUT", "/all?v=2"), 404)
            self.assertEqual(self.backend(c, "PUT", "/al?v=2", hs), 404)
        lines = lbd.access_lines(count=5)
        self.assertEqual([ln["status"] for ln in lines], [200, 404, 404, 404, 404])

    @unittest.skipUnless(CURL, "curl is not installed")
    def test_http2_streams_route_the_same_way(self):
        lbd, port = self.start()
        out = subprocess.run(
            [CURL, "-s", "--http2-prior-knowledge", "-X", "PUT", "-H", "X-Env: beta",
             "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
             "-D", "-", "http://127.0.0.1:%d/all?v=2" % port],
            capture_output=True, text=True, timeout=10).stdout
        self.assertIn("x-backend: all", out.lower())
        self.assertTrue(out.endswith("2 200"), out)
        code = subprocess.run(
            [CURL, "-s", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}",
             "http://127.0.0.1:%d/all?v=2" % port],
            capture_output=True, text=True, timeout=10).stdout
        self.assertEqual(code, "404")


class SplitTest(LbdTestCase):
    def start(self, split_key=None):
        stable, canary = self.backends.http("stable"), self.backends.http("canary")
        port = free_port()
        route = {"split": [{"pool": "stable", "weight": 80}, {"pool": "canary", "weight": 20}]}
        if split_key:
            route["split_key"] = split_key
        self.start_lbd(config([listener("web", port, routes=[route])],
                              [pool("stable", [stable]), pool("canary", [canary])]))
        return port

    def test_shares_follow_the_weights(self):
        port = self.start()
        counts = {"stable": 0, "canary": 0}
        with HttpClient(port) as c:
            for _ in range(2000):
                counts[c.request().header("x-backend")] += 1
        self.assertAlmostEqual(counts["canary"] / 2000, 0.20, delta=0.05)

    def test_keyed_shares_and_a_client_keeps_its_side(self):
        port = self.start("header:X-User")
        counts = {"stable": 0, "canary": 0}
        with HttpClient(port) as c:
            for i in range(2000):
                r = c.request(headers=[("X-User", "user-%d" % i)])
                counts[r.header("x-backend")] += 1
            self.assertAlmostEqual(counts["canary"] / 2000, 0.20, delta=0.05)
            sides = {c.request(headers=[("X-User", "user-7")]).header("x-backend")
                     for _ in range(50)}
        self.assertEqual(len(sides), 1)

    def test_client_ip_key(self):
        port = self.start("client_ip")
        sides = set()
        for _ in range(20):
            with HttpClient(port) as c:
                sides.add(c.request().header("x-backend"))
        self.assertEqual(len(sides), 1)

    def test_cookie_key(self):
        port = self.start("cookie:uid")
        with HttpClient(port) as c:
            for uid in ("a", "b", "c"):
                sides = {c.request(headers=[("Cookie", "x=1; uid=%s" % uid)])
                         .header("x-backend") for _ in range(20)}
                self.assertEqual(len(sides), 1)


class InvalidMatchTest(unittest.TestCase):
    def check(self, routes):
        text = ("listeners:\n  - name: web\n    bind: 127.0.0.1:1\n    routes:\n" + routes +
                "pools:\n  - { name: p, servers: [ { address: 127.0.0.1:2 } ] }\n")
        _, r = check_config(self, text)
        self.assertNotEqual(r.returncode, 0)
        return r.stderr

    def test_conditions_refused_at_their_place(self):
        err = self.check("      - { match: { path: api }, pool: p }\n"
                         "      - { match: { methods: [GET, post] }, pool: p }\n"
                         "      - { match: { headers: { \"X A\": b } }, pool: p }\n"
                         "      - { match: { query: { \"a=b\": c } }, pool: p }\n")
        self.assertIn("lbd.yaml:5:26: listeners[0].routes[0].match.path: expected a path "
                      "starting with \"/\"", err)
        self.assertIn("lbd.yaml:6:35: listeners[0].routes[1].match.methods[1]: expected a "
                      "request method in upper case", err)
        self.assertIn("lbd.yaml:7:31: listeners[0].routes[2].match.headers.X A: expected a "
                      "header field name", err)
        self.assertIn("lbd.yaml:8:29: listeners[0].routes[3].match.query.a=b: expected a "
                      "query parameter name", err)

    def test_split_refused_at_its_place(self):
        err = self.check("      - { split: [ { pool: p, weight: 1 } ], pool: p }\n"
                         "      - { pool: p, split_key: client_ip }\n"
                         "      - { split: [ { pool: p, weight: 0 } ] }\n")
        self.assertIn("lbd.yaml:5:11: listeners[0].routes[0].split: a route has one of pool, "
                      "split and redirect", err)
        self.assertIn("lbd.yaml:6:20: listeners[0].routes[1].split_key: split_key needs "
                      "split", err)
        self.assertIn("lbd.yaml:7:18: listeners[0].routes[2].split: the weights of a split "
                      "add up to 0", err)


if __name__ == "__main__":
    unittest.main()

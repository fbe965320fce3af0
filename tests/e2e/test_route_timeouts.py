"""Per-route timeouts (SPEC §10): a route's timeouts.server and
timeouts.connect override its pool's for the requests of that route only;
a route takes no client-side timeout."""

import re
import time
import unittest

from lbdtest import (check_config, LbdTestCase, HttpClient, config, free_port, listener, pool)
from backends import delay_handler


class RouteTimeoutsTest(LbdTestCase):
    def test_route_server_timeout_overrides_the_pool(self):
        b = self.backends.http("b1", handler=delay_handler(1.0))
        port = free_port()
        routes = [{"match": {"path_prefix": "/quick"}, "pool": "p",
                   "timeouts": {"server": "200ms", "connect": "500ms"}},
                  {"match": {"path_prefix": "/"}, "pool": "p"}]
        lbd = self.start_lbd(config([listener("web", port, routes=routes)], [pool("p", [b])]))
        with HttpClient(port) as c:
            t0 = time.monotonic()
            r = c.request(target="/quick")
            self.assertEqual(r.status, 504)
            self.assertLess(time.monotonic() - t0, 0.9)
        with HttpClient(port) as c:
            self.assertEqual(c.request(target="/other").status, 200)   # the pool's 10s
        lines = lbd.access_lines(count=2, timeout=3)
        self.assertEqual([ln["termination"] for ln in lines], ["server_timeout", "ok"])
        self.assertIn("timeouts.server, 200ms", lbd.stderr())


class RouteTimeoutsConfigTest(unittest.TestCase):
    def check(self, timeouts):
        text = ("global: {admin: {socket: @TMPDIR@/admin.sock}}\n" +
                "listeners:\n"
                "  - name: web\n"
                "    bind: 127.0.0.1:8080\n"
                "    routes:\n"
                "      - pool: p\n"
                "        timeouts: " + timeouts + "\n"
                "pools:\n"
                "  - name: p\n"
                "    servers: [{address: 127.0.0.1:9000}]\n")
        return check_config(self, text)

    def test_good(self):
        _, r = self.check("{connect: 2s, server: 1m}")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_bad(self):
        for t, col in (("{server: 0s}", 28), ("{header: 1s}", 20), ("{connect: soon}", 29)):
            path, r = self.check(t)
            self.assertNotEqual(r.returncode, 0, t)
            self.assertRegex(r.stderr, r"%s:7:%d: " % (re.escape(path), col), t)


if __name__ == "__main__":
    unittest.main()

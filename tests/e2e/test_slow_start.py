"""Slow start (pools[].slow_start, SPEC §7): a server that joins its pool
through a reload, or comes back after failing its health checks, takes its
share of requests gradually; /status shows the share it has reached
(`ramp`), and no request fails meanwhile."""

import collections
import time

import backends as B
from lbdtest import HttpClient, LbdTestCase, config, free_port, listener, pool, server
from test_health import HC, server_status, wait_for, wait_state


def ramping_or_down(status):
    return "ramp" in status or status["state"] != "up"


class SlowStartTest(LbdTestCase):
    def names(self, port, n):
        out = []
        with HttpClient(port) as c:
            for i in range(n):
                r = c.request("GET", "/r%d" % i)
                self.assertEqual(r.status, 200, r)
                out.append(r.header("x-backend"))
        return collections.Counter(out)

    def test_a_server_added_by_a_reload_ramps_up(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        port = free_port()

        def cfg(servers):
            return config([listener("web", port, "p")],
                          [pool("p", servers, slow_start="3s")])
        lbd = self.start_lbd(cfg([a]))
        self.assertNotIn("ramp", server_status(lbd, "p", a.name))
        self.assertEqual(lbd.reload(cfg([a, b])), (True, 2))
        first = self.names(port, 100)
        self.assertEqual(sum(first.values()), 100)
        self.assertLess(first[b.name], 25, first)      # 5-10 % of an equal share at first
        self.assertGreater(first[b.name], 0, first)    # never left out
        ramp = server_status(lbd, "p", b.name).get("ramp")
        self.assertIsNotNone(ramp)
        self.assertLess(ramp, 0.5)
        wait_for(lambda: "ramp" not in server_status(lbd, "p", b.name), 6)
        last = self.names(port, 100)
        self.assertEqual(last, {a.name: 50, b.name: 50})
        self.assertIn("pool p: server %s: slow start over" % b.name, lbd.stderr())

    def test_a_server_back_from_failing_checks_ramps_up(self):
        a = self.backends.http("a", B.health_handler())
        b = self.backends.http("b", B.health_handler())
        port = free_port()
        lbd = self.start_lbd(config([listener("web", port, "p")],
                                    [pool("p", [server(a), server(b)], health_check=HC,
                                          slow_start="3s")]))
        self.assertEqual(self.names(port, 10), {a.name: 5, b.name: 5})
        b.health_status = 500
        wait_state(lbd, b.name, "down", 5)
        self.assertEqual(self.names(port, 10), {a.name: 10})
        b.health_status = 200
        wait_state(lbd, b.name, "up", 5)
        self.assertLess(self.names(port, 100)[b.name], 30)
        # "ramp" is also absent while a server is down (a check that timed
        # out on a busy machine): the ramp is over once the server is up
        # without one.
        wait_for(lambda: not ramping_or_down(server_status(lbd, "p", b.name)), 6)
        self.assertEqual(self.names(port, 10), {a.name: 5, b.name: 5})

    def test_servers_present_at_start_do_not_ramp(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        port = free_port()
        lbd = self.start_lbd(config([listener("web", port, "p")],
                                    [pool("p", [a, b], slow_start="1h")]))
        self.assertEqual(self.names(port, 10), {a.name: 5, b.name: 5})
        self.assertNotIn("ramp", server_status(lbd, "p", b.name))

"""round_robin (SPEC §4), routing, retries on connect failure and the
rule that a request is never replayed once a server saw any of it (§3)."""

import collections
import threading

import backends as B
from lbdtest import (LbdTestCase, HttpClient, build_request, config, free_port, listener,
                     pool, server, simple_config)


def max_run(seq):
    best = run = 0
    prev = object()
    for x in seq:
        run = run + 1 if x == prev else 1
        prev = x
        best = max(best, run)
    return best


class RoundRobinTest(LbdTestCase):
    def _sequence(self, port, n, new_connection_every=1):
        """Names of the servers that answered N sequential requests."""
        names = []
        c = None
        for i in range(n):
            if i % new_connection_every == 0:
                if c:
                    c.close()
                c = HttpClient(port)
            r = c.request("GET", "/rr%d" % i)
            self.assertEqual(r.status, 200)
            names.append(r.header("x-backend"))
        c.close()
        return names

    def test_equal_weights_alternate(self):
        bs = [self.backends.http("s%d" % i) for i in range(3)]
        port = free_port()
        self.start_lbd(simple_config(port, bs))
        names = self._sequence(port, 30, new_connection_every=5)
        self.assertEqual(collections.Counter(names), {"s0": 10, "s1": 10, "s2": 10})
        self.assertEqual(max_run(names), 1, names)
        # strictly periodic: every window of 3 holds each server once
        for i in range(len(names) - 2):
            self.assertEqual(sorted(names[i:i + 3]), ["s0", "s1", "s2"], names)

    def test_weights_1_1_2_exact_one_worker(self):
        a, b, c = (self.backends.http(n) for n in ("a", "b", "c"))
        port = free_port()
        self.start_lbd(simple_config(port, [server(a, weight=1), server(b, weight=1),
                                            server(c, weight=2)]))
        names = self._sequence(port, 400, new_connection_every=50)
        self.assertEqual(collections.Counter(names), {"a": 100, "b": 100, "c": 200})
        # smooth: every window of 4 consecutive requests holds 1, 1, 2
        for i in range(0, len(names) - 3):
            cnt = collections.Counter(names[i:i + 4])
            self.assertEqual((cnt["a"], cnt["b"], cnt["c"]), (1, 1, 2), names[i:i + 4])
        self.assertLessEqual(max_run(names), 2)

    def test_heavy_server_not_bursty(self):
        """Weights 1,1,4: smooth WRR spreads the heavy server out (a plain
        weighted round-robin would send it four in a row)."""
        a, b, c = (self.backends.http(n) for n in ("a", "b", "c"))
        port = free_port()
        self.start_lbd(simple_config(port, [server(a, weight=1), server(b, weight=1),
                                            server(c, weight=4)]))
        names = self._sequence(port, 60, new_connection_every=60)
        self.assertEqual(collections.Counter(names), {"a": 10, "b": 10, "c": 40})
        self.assertLessEqual(max_run(names), 3, names)
        self.assertLessEqual(max_run([n for n in names if n != "c"]), 2)

    def test_weights_1_1_2_across_workers(self):
        a, b, c = (self.backends.http(n) for n in ("a", "b", "c"))
        port = free_port()
        self.start_lbd(simple_config(port, [server(a, weight=1), server(b, weight=1),
                                            server(c, weight=2)], workers=4))
        counts = collections.Counter()
        lock = threading.Lock()
        errors = []

        def client(k):
            try:
                for j in range(5):              # new connections: spread over workers
                    with HttpClient(port) as cl:
                        for i in range(10):
                            r = cl.request("GET", "/w%d-%d-%d" % (k, j, i))
                            with lock:
                                counts[r.header("x-backend")] += 1
            except Exception as e:  # noqa: BLE001 — reported below
                errors.append(e)
        ts = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(sum(counts.values()), 400)
        for name, share in (("a", 0.25), ("b", 0.25), ("c", 0.5)):
            self.assertAlmostEqual(counts[name] / 400, share, delta=0.02, msg=dict(counts))

    def test_tcp_listener_round_robin(self):
        import socket
        e1 = self.backends.tcp("e1")
        e2 = self.backends.tcp("e2")
        port = free_port()
        self.start_lbd(config([listener("t", port, "tp", protocol="tcp")], [pool("tp", [e1, e2])]))
        names = []
        for i in range(6):
            with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
                s.sendall(b"x")
                s.shutdown(socket.SHUT_WR)
                data = b""
                while not data.endswith(b"\n"):
                    d = s.recv(100)
                    if not d:
                        break
                    data += d
                names.append(data.decode().rsplit(" ", 1)[-1].strip())
        self.assertEqual(collections.Counter(names), {"e1": 3, "e2": 3})
        self.assertEqual(max_run(names), 1)


class RoutingTest(LbdTestCase):
    def test_host_and_path_routes_first_match_wins(self):
        api, wild, static = (self.backends.http(n) for n in ("api", "wild", "static"))
        port = free_port()
        self.start_lbd(config(
            [listener("web", port, routes=[
                {"match": {"host": "a.example.com", "path_prefix": "/api"}, "pool": "api"},
                {"match": {"host": "*.example.com"}, "pool": "wild"},
                {"match": {"path_prefix": "/static"}, "pool": "static"}])],
            [pool("api", [api]), pool("wild", [wild]), pool("static", [static])]))
        cases = [
            ("a.example.com", "/api/users", "api"),
            ("a.example.com", "/api", "api"),
            ("a.example.com", "/other", "wild"),       # host matches, prefix not
            ("b.example.com", "/api/users", "wild"),
            ("a.example.com", "/static/x.css", "wild"),  # first match wins
            ("example.com", "/static/x.css", "static"),  # *.example.com is not example.com
            ("www.example.org", "/static/", "static"),
            ("A.Example.COM", "/api/x", "api"),        # host names are case-insensitive
            ("a.example.com:8080", "/api/x", "api"),   # the port is not part of the name
            ("example.com", "/", None),
            ("notexample.com", "/api", None),
            ("www.example.org", "/", None),
        ]
        with HttpClient(port) as c:
            for host, path, want in cases:
                with self.subTest(host=host, path=path):
                    r = c.request("GET", path, host=host)
                    if want is None:
                        self.assertErrorResponse(r, 404)
                    else:
                        self.assertEqual((r.status, r.header("x-backend")), (200, want))
        self.assertEqual(api.targets(), ["/api/users", "/api", "/api/x", "/api/x"])

    def test_routes_per_listener(self):
        one, two = self.backends.http("one"), self.backends.http("two")
        p1, p2 = free_port(), free_port()
        self.start_lbd(config([listener("l1", p1, "one"), listener("l2", p2, "two")],
                              [pool("one", [one]), pool("two", [two])]))
        for port, want in ((p1, "one"), (p2, "two"), (p1, "one")):
            with HttpClient(port) as c:
                self.assertEqual(c.request().header("x-backend"), want)

    def test_bind_list(self):
        b = self.backends.http("b")
        p1, p2 = free_port(), free_port()
        lst = listener("multi", p1, "p")
        lst["bind"] = ["127.0.0.1:%d" % p1, "127.0.0.1:%d" % p2]
        self.start_lbd(config([lst], [pool("p", [b])]))
        for port in (p1, p2):
            with HttpClient(port) as c:
                self.assertEqual(c.request().status, 200)


class RetryTest(LbdTestCase):
    def test_connect_failure_retried_on_other_servers(self):
        live = self.backends.http("live")
        dead1, dead2 = self.backends.dead_address(), self.backends.dead_address()
        port = free_port()
        lbd = self.start_lbd(simple_config(
            port, [server(dead1, "dead1"), server(dead2, "dead2"), server(live)], retries=2))
        for i in range(9):
            with HttpClient(port) as c:
                r = c.request("GET", "/try%d" % i)
                self.assertEqual((r.status, r.body), (200, b"live\n"))
        self.assertEqual(len(live.requests), 9)     # each request reached it exactly once
        lines = lbd.access_lines(count=9)
        self.assertEqual({ln["server"] for ln in lines}, {"live"})

    def test_retries_zero_means_no_retry(self):
        live = self.backends.http("live")
        port = free_port()
        self.start_lbd(simple_config(port, [server(self.backends.dead_address(), "dead"),
                                            server(live)], retries=0))
        statuses = collections.Counter()
        with HttpClient(port) as c:
            for i in range(10):
                statuses[c.request().status] += 1
        self.assertEqual(statuses, {200: 5, 502: 5})

    def test_retries_exhausted(self):
        port = free_port()
        deads = [server(self.backends.dead_address(), "d%d" % i) for i in range(4)]
        live = self.backends.http("live")
        self.start_lbd(simple_config(port, deads + [server(live)], retries=1))
        statuses = collections.Counter()
        with HttpClient(port) as c:
            for i in range(10):
                statuses[c.request().status] += 1
        # 2 tries over 4 dead + 1 live: some requests cannot reach the live one
        self.assertGreater(statuses[502], 0)
        self.assertGreater(statuses[200], 0)
        self.assertEqual(statuses[200], len(live.requests))

    def test_request_never_replayed_after_reaching_a_server(self):
        resetter = self.backends.http("resetter", on_head=lambda be, r: B.RESET)
        recorder = self.backends.http("recorder", B.echo_handler)
        port = free_port()
        self.start_lbd(simple_config(port, [server(resetter), server(recorder)], retries=2))
        outcomes = []
        for i in range(6):
            body = b"payment-%d" % i
            with HttpClient(port) as c:
                c.send(build_request("POST", "/pay/%d" % i, body=body))
                r = c.read_response()
            hit_resetter = "/pay/%d" % i in resetter.targets()
            outcomes.append(hit_resetter)
            if hit_resetter:
                self.assertErrorResponse(r, 502)
                self.assertNotIn("/pay/%d" % i, recorder.targets(), "request replayed")
            else:
                self.assertEqual((r.status, r.body), (200, body))
        self.assertIn(True, outcomes)
        self.assertIn(False, outcomes)
        self.assertEqual(sorted(resetter.targets() + recorder.targets()),
                         sorted("/pay/%d" % i for i in range(6)))

    def test_get_not_replayed_after_server_closed(self):
        closer = self.backends.http("closer", lambda be, r: B.CLOSE)
        recorder = self.backends.http("recorder")
        port = free_port()
        self.start_lbd(simple_config(port, [server(closer), server(recorder)], retries=2))
        for i in range(4):
            with HttpClient(port) as c:
                c.send(build_request("GET", "/g%d" % i))
                r = c.read_response()
            if "/g%d" % i in closer.targets():
                self.assertErrorResponse(r, 502)
                self.assertNotIn("/g%d" % i, recorder.targets())
        self.assertEqual(len(closer.requests) + len(recorder.requests), 4)

"""Active and passive health checks (SPEC §2 health_check and passive, §4
down servers get no requests, §6 state and check in /status)."""

import os
import socket
import subprocess
import time

import backends as B
from lbdtest import (HOST, HttpClient, LbdTestCase, admin_request, config, free_port,
                     lbctl, lbd_bin, listener, pool, server)

# Short enough for quick tests, long enough for a loaded 2-CPU machine.
INTERVAL = 0.1
HC = {"type": "http", "path": "/healthz", "interval": "100ms", "timeout": "100ms",
      "rise": 2, "fall": 2}
# What a state change may take beyond its checks on a loaded machine.
SLACK = 1.5


def server_status(lbd, pool_name, name):
    doc = admin_request(lbd, "GET", "/status").json
    for p in doc["pools"]:
        if p["name"] == pool_name:
            for s in p["servers"]:
                if s["name"] == name:
                    return s
    raise AssertionError("no server %s/%s in /status" % (pool_name, name))


def wait_for(pred, timeout, step=0.02):
    """Seconds until PRED() was true; AssertionError after TIMEOUT."""
    t0 = time.monotonic()
    while True:
        if pred():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError("condition not met within %ss" % timeout)
        time.sleep(step)


def get1(port, target="/", headers=None):
    """One request on a connection of its own."""
    with HttpClient(port) as c:
        return c.request("GET", target, headers=headers)


def wait_state(lbd, name, state, timeout, pool_name="p"):
    return wait_for(lambda: server_status(lbd, pool_name, name)["state"] == state, timeout)


class HealthTestCase(LbdTestCase):
    def checked_pool(self, names, hc=None, backup=(), **kw):
        """Backends NAMES with a switchable /healthz; a pool `p` of them
        with active checks; lbd in front. Returns (lbd, port, backends)."""
        bs = [self.backends.http(n, B.health_handler()) for n in names]
        servers = [server(b, backup=True if b.name in backup else None) for b in bs]
        port = free_port()
        cfg = config([listener("web", port, "p")],
                     [pool("p", servers, health_check=hc or HC, **kw)])
        lbd = self.start_lbd(cfg)
        for b in bs:
            wait_for(lambda b=b: server_status(lbd, "p", b.name)["check"].get("checks", 0) > 0,
                     5)
        return lbd, port, bs

    def get_all(self, port, n, **kw):
        """N requests on one connection; the X-Backend of each (all 200)."""
        names = []
        with HttpClient(port) as c:
            for i in range(n):
                r = c.request("GET", "/r%d" % i, **kw)
                self.assertEqual(r.status, 200, r)
                names.append(r.header("x-backend"))
        return names


class ActiveCheckTest(HealthTestCase):
    def test_failing_check_leaves_rotation_and_returns(self):
        lbd, port, (a, b) = self.checked_pool(["a", "b"])
        self.assertEqual(server_status(lbd, "p", "a")["check"]["status"], "passing")
        self.assertRegex(server_status(lbd, "p", "a")["check"]["last"], r"^200 in \d+ms$")
        self.assertEqual(sorted(set(self.get_all(port, 6))), ["a", "b"])

        a.health_status = 500
        t0 = time.monotonic()
        errors = []

        def down():
            r = get1(port, "/during")
            if r.status != 200:
                errors.append(r)
            return server_status(lbd, "p", "a")["state"] == "down"
        wait_for(down, 5)
        took = time.monotonic() - t0
        # fall × interval (with its jitter) + timeout
        self.assertLess(took, 2 * INTERVAL * 1.1 + 0.1 + SLACK)
        self.assertEqual(errors, [])
        st = server_status(lbd, "p", "a")
        self.assertEqual(st["check"]["status"], "failing")
        self.assertRegex(st["check"]["last"], r"^status 500 in \d+ms$")
        self.assertGreaterEqual(st["check"]["failing_in_a_row"], 2)
        self.assertIn("pool p: server a is down: 2 failed checks, last: status 500 in",
                      lbd.stderr())
        self.assertEqual(set(self.get_all(port, 6)), {"b"})

        a.health_status = 200
        t0 = time.monotonic()
        wait_state(lbd, "a", "up", 5)
        self.assertLess(time.monotonic() - t0, 2 * INTERVAL * 1.1 + 0.1 + SLACK)
        self.assertIn("pool p: server a is up: 2 passing checks, last: 200 in", lbd.stderr())
        self.assertEqual(sorted(set(self.get_all(port, 6))), ["a", "b"])

    def test_checks_are_spread_and_once_per_server(self):
        """One check per interval per server, not one per worker thread."""
        bs = [self.backends.http(n, B.health_handler()) for n in ("a", "b")]
        port = free_port()
        hc = dict(HC, interval="200ms", timeout="200ms")
        self.start_lbd(config([listener("web", port, "p")],
                              [pool("p", bs, health_check=hc)], workers=4))
        time.sleep(2.0)
        for b in bs:
            n = getattr(b, "health_checks", 0)
            # 2 s / 200 ms = 10, with ±10 % jitter and the first within one interval
            self.assertGreaterEqual(n, 6, b.name)
            self.assertLessEqual(n, 12, b.name)
            req = [r for r in b.requests if r.target == "/healthz"][0]
            self.assertEqual(req.method, "GET")
            self.assertEqual(req.header("host"), b.address)
            self.assertEqual(req.header("connection"), "close")

    def test_expect_range_and_host(self):
        a = self.backends.http("a", B.health_handler())
        a.health_status = 302
        port = free_port()
        hc = dict(HC, expect="200-299", host="app.internal")
        lbd = self.start_lbd(config([listener("web", port, "p")],
                                    [pool("p", [a], health_check=hc)]))
        wait_state(lbd, "a", "down", 5)
        self.assertRegex(server_status(lbd, "p", "a")["check"]["last"], r"^status 302 in")
        req = [r for r in a.requests if r.target == "/healthz"][0]
        self.assertEqual(req.header("host"), "app.internal")
        # no server left: 503
        r = get1(port, "/")
        self.assertErrorResponse(r, 503)

    def test_tcp_check_on_a_server_that_stops_listening(self):
        a = self.backends.http("a")
        b = self.backends.http("b")
        port = free_port()
        hc = {"type": "tcp", "interval": "100ms", "timeout": "100ms", "rise": 1, "fall": 2}
        lbd = self.start_lbd(config([listener("web", port, "p")],
                                    [pool("p", [a, b], health_check=hc)]))
        wait_for(lambda: server_status(lbd, "p", "a")["check"].get("checks", 0) > 0, 5)
        self.assertRegex(server_status(lbd, "p", "a")["check"]["last"],
                         r"^connected in \d+ms$")
        a.stop()
        wait_state(lbd, "a", "down", 2 * INTERVAL * 1.1 + 0.1 + SLACK)
        st = server_status(lbd, "p", "a")
        self.assertEqual(st["check"]["last"], "connect: Connection refused")
        self.assertIn("pool p: server a is down: 2 failed checks, last: connect: "
                      "Connection refused", lbd.stderr())
        # the down server is not even tried: no connect failure, no retry
        failures = st["failures"]
        self.assertEqual(set(self.get_all(port, 10)), {"b"})
        self.assertEqual(server_status(lbd, "p", "a")["failures"], failures)

    def test_timeout(self):
        a = self.backends.http("a", B.delay_handler(1.0))
        port = free_port()
        hc = dict(HC, path="/", rise=1, fall=1)
        lbd = self.start_lbd(config([listener("web", port, "p")],
                                    [pool("p", [a], health_check=hc)]))
        wait_state(lbd, "a", "down", 5)
        self.assertEqual(server_status(lbd, "p", "a")["check"]["last"],
                         "timeout after 100ms")

    def test_table_and_lbctl_json(self):
        lbd, port, (a, b) = self.checked_pool(["a", "b"])
        a.health_status = 503
        wait_state(lbd, "a", "down", 5)
        out = lbctl("-s", lbd.admin_socket, "status")
        self.assertEqual(out.returncode, 0, out.stderr)
        row_a = [l for l in out.stdout.splitlines() if " a " in l and l.startswith("p ")][0]
        row_b = [l for l in out.stdout.splitlines() if " b " in l and l.startswith("p ")][0]
        self.assertRegex(row_a, r"\bdown\b.*failing, status 503 in \d+ms \(\d+ in a row\)")
        self.assertRegex(row_b, r"\bup\b.*passing, 200 in \d+ms")
        out = lbctl("-s", lbd.admin_socket, "status", "--json")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn('"status":"failing"', out.stdout)


class TcpPoolTest(HealthTestCase):
    def echo_through(self, port):
        """One TCP connection through lbd; the greeting names the server."""
        with socket.create_connection((HOST, port), timeout=5) as s:
            s.settimeout(5)
            hello = b""
            while not hello.endswith(b"\n"):
                chunk = s.recv(100)
                if not chunk:
                    break
                hello += chunk
            s.sendall(b"ping")
            self.assertEqual(s.recv(4), b"ping")
            return hello.decode().strip()

    def start_tcp(self, pool_kw):
        a = self.backends.tcp("a", greeting=b"a\n")
        b = self.backends.tcp("b", greeting=b"b\n")
        port = free_port()
        lbd = self.start_lbd(config([listener("t", port, "p", protocol="tcp")],
                                    [pool("p", [a, b], **pool_kw)]))
        return lbd, port, a, b

    def test_passive_on_a_tcp_pool(self):
        lbd, port, a, b = self.start_tcp({"passive": {"max_fails": 1, "fail_timeout": "1h"}})
        a.stop()
        # the connect failure is retried on b: no client sees it
        self.assertEqual({self.echo_through(port) for _ in range(4)}, {"b"})
        st = server_status(lbd, "p", "a")
        self.assertEqual(st["state"], "down")
        self.assertTrue(st["passive"]["out"])
        self.assertIn("pool p: server a is out for 1h: 1 failure within 1h, last: connect ",
                      lbd.stderr())

    def test_tcp_check_on_a_tcp_pool_and_http_check_on_a_non_http_server(self):
        lbd, port, a, b = self.start_tcp(
            {"health_check": {"type": "tcp", "interval": "200ms", "timeout": "200ms",
                              "rise": 1, "fall": 1}})
        wait_for(lambda: server_status(lbd, "p", "a")["check"].get("checks", 0) > 0, 5)
        self.assertEqual(server_status(lbd, "p", "a")["state"], "up")
        a.stop()
        wait_state(lbd, "a", "down", 0.2 + SLACK)
        self.assertEqual({self.echo_through(port) for _ in range(4)}, {"b"})
        # an http check of a server that does not speak HTTP fails cleanly
        ok, gen = lbd.reload(config([listener("t", port, "p", protocol="tcp")],
                                    [pool("p", [b], health_check=dict(HC, fall=1))]))
        self.assertTrue(ok, gen)
        wait_state(lbd, "b", "down", 5)
        self.assertRegex(server_status(lbd, "p", "b")["check"]["last"],
                         r"^not an HTTP response \(\d+ms\)$")
        self.assertTrue(lbd.alive())


class BackupAndPlacementTest(HealthTestCase):
    def test_backup_when_primaries_are_down_then_503(self):
        lbd, port, (a, b, c) = self.checked_pool(["a", "b", "c"], backup=("c",))
        self.assertEqual(set(self.get_all(port, 6)), {"a", "b"})
        a.health_status = b.health_status = 500
        wait_state(lbd, "a", "down", 5)
        wait_state(lbd, "b", "down", 5)
        self.assertEqual(set(self.get_all(port, 6)), {"c"})
        c.health_status = 500
        wait_state(lbd, "c", "down", 5)
        r = get1(port, "/")
        self.assertErrorResponse(r, 503)
        a.health_status = 200
        wait_state(lbd, "a", "up", 5)
        self.assertEqual(set(self.get_all(port, 4)), {"a"})

    def test_ip_hash_keys_move_off_a_down_server(self):
        lbd, port, bs = self.checked_pool(["a", "b", "c"], balance="ip_hash",
                                          hash_key="header:X-Key")
        keys = {}
        for i in range(30):
            r = get1(port, "/", headers=[("X-Key", "k%d" % i)])
            keys["k%d" % i] = r.header("x-backend")
        on_a = [k for k, v in keys.items() if v == "a"]
        self.assertTrue(on_a, keys)
        bs[0].health_status = 500
        wait_state(lbd, "a", "down", 5)
        for k, v in keys.items():
            r = get1(port, "/", headers=[("X-Key", k)])
            self.assertEqual(r.status, 200)
            if v == "a":
                self.assertIn(r.header("x-backend"), ("b", "c"))
            else:  # only the keys that must move move
                self.assertEqual(r.header("x-backend"), v, k)

    def test_sticky_client_is_placed_anew(self):
        lbd, port, (a, b) = self.checked_pool(["a", "b"], balance="sticky_cookie")
        cookies = {}
        for _ in range(6):
            r = get1(port, "/")
            cookies[r.header("x-backend")] = r.header("set-cookie").split(";")[0]
        self.assertEqual(sorted(cookies), ["a", "b"])
        a.health_status = 500
        wait_state(lbd, "a", "down", 5)
        r = get1(port, "/", headers=[("Cookie", cookies["a"])])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("x-backend"), "b")
        self.assertEqual(r.header("set-cookie").split(";")[0], cookies["b"])


class DownClosesIdleTest(HealthTestCase):
    def test_idle_pooled_connections_to_a_down_server_close(self):
        lbd, port, (a, b) = self.checked_pool(["a", "b"])
        self.get_all(port, 6)
        pooled = {r.conn_id for r in a.requests if r.target.startswith("/r")}
        self.assertTrue(pooled)
        with a._lock:
            self.assertFalse(pooled & a.closed_ids, "pooled connections closed early")
        a.health_status = 500
        wait_state(lbd, "a", "down", 5)

        def closed():
            with a._lock:
                return pooled <= a.closed_ids
        wait_for(closed, 2)
        # b's stay pooled
        pooled_b = {r.conn_id for r in b.requests if r.target.startswith("/r")}
        with b._lock:
            self.assertFalse(pooled_b <= b.closed_ids)


    def test_in_flight_request_finishes_when_its_server_goes_down(self):
        slow = B.health_handler(then=B.delay_handler(3.0))
        a = self.backends.http("a", slow)
        port = free_port()
        # fall 1 with room for a loaded machine: a slow check must not take
        # the server out before the request is sent
        hc = dict(HC, interval="500ms", timeout="500ms", fall=1)
        lbd = self.start_lbd(config([listener("web", port, "p")],
                                    [pool("p", [a], health_check=hc)]))
        wait_for(lambda: server_status(lbd, "p", "a")["check"].get("checks", 0) > 0, 5)
        with HttpClient(port) as c:
            c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_for(lambda: "/slow" in a.targets(), 5)
            a.health_status = 500
            wait_state(lbd, "a", "down", 5)
            r = c.read_response(timeout=5)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, b"a\n")
            # the connection it used is not pooled: the server is down
            conn = [q.conn_id for q in a.requests if q.target == "/slow"][0]
            wait_for(lambda: conn in a.closed_ids, 2)
        self.assertErrorResponse(get1(port), 503)


class PassiveTest(HealthTestCase):
    def test_killed_backend_is_taken_out_and_returns(self):
        a = self.backends.http("a")
        b = self.backends.http("b")
        port = free_port()
        lbd = self.start_lbd(config([listener("web", port, "p")],
                                    [pool("p", [a, b],
                                          passive={"max_fails": 2, "fail_timeout": "1s"})],
                                    retries=2))
        a_port = a.port
        a.stop()
        # connect failures are retried: clients see no error
        names = []
        for i in range(8):
            r = get1(port, "/k%d" % i)
            self.assertEqual(r.status, 200)
            names.append(r.header("x-backend"))
        self.assertEqual(set(names), {"b"})
        st = server_status(lbd, "p", "a")
        self.assertEqual(st["state"], "down")
        self.assertTrue(st["passive"]["out"])
        self.assertEqual(st["passive"]["trips"], 1)
        self.assertEqual(st["check"]["status"], "none")
        self.assertIn("pool p: server a is out for 1s: 2 failures within 1s, last: connect",
                      lbd.stderr())
        failures = st["failures"]
        # out: not tried any more
        self.get_all(port, 4)
        self.assertEqual(server_status(lbd, "p", "a")["failures"], failures)

        a2 = self.backends.http("a", port=a_port)
        wait_state(lbd, "a", "up", 1.0 + SLACK)
        wait_for(lambda: "server a is back after passive failures: fail_timeout 1s passed"
                 in lbd.stderr(), 2)
        self.assertIn("a", self.get_all(port, 6))
        self.assertTrue(a2.requests)

    def test_passive_inherited_from_defaults_and_turned_off(self):
        a = self.backends.http("a")
        b = self.backends.http("b")
        port = free_port()
        cfg = config([listener("web", port, "p"), listener("web2", free_port(), "q")],
                     [pool("p", [a, b]), pool("q", [a, b], passive={"max_fails": 0})])
        cfg = cfg.replace("defaults:\n", "defaults:\n  passive: { max_fails: 1 }\n", 1)
        lbd = self.start_lbd(cfg)
        a.stop()
        for i in range(4):
            self.assertEqual(get1(port, "/").status, 200)
        self.assertEqual(server_status(lbd, "p", "a")["state"], "down")
        self.assertEqual(server_status(lbd, "q", "a")["state"], "up")

    def test_a_passing_check_brings_it_back_early(self):
        a = self.backends.http("a", B.health_handler())
        b = self.backends.http("b", B.health_handler())
        port = free_port()
        hc = dict(HC, interval="200ms", timeout="200ms")
        lbd = self.start_lbd(config([listener("web", port, "p")],
                                    [pool("p", [a, b], health_check=hc,
                                          passive={"max_fails": 1, "fail_timeout": "1h"})],
                                    timeouts={"server": "300ms"}))
        # one timeout on live traffic takes a out for an hour...
        a.handler = B.delay_handler(1.0)
        names = set()
        for i in range(4):
            names.add(get1(port, "/x%d" % i).header("x-backend"))
        a.handler = B.health_handler()
        # ...until its next passing check
        wait_for(lambda: "server a is back after passive failures: a check passed"
                 in lbd.stderr(), 3)
        self.assertEqual(server_status(lbd, "p", "a")["state"], "up")


class ReloadAndAdminTest(HealthTestCase):
    def test_state_survives_reload_and_enable_does_not_override(self):
        lbd, port, (a, b) = self.checked_pool(["a", "b"])
        a.health_status = 500
        wait_state(lbd, "a", "down", 5)
        c = self.backends.http("c", B.health_handler())
        hc_slow = dict(HC, interval="2s", timeout="1s")
        ok, gen = lbd.reload(config([listener("web", port, "p")],
                                    [pool("p", [a, b, c], health_check=hc_slow)]))
        self.assertTrue(ok, gen)
        # a stays down although its checks were rescheduled (2 s away now)
        st = server_status(lbd, "p", "a")
        self.assertEqual(st["state"], "down")
        self.assertEqual(st["check"]["status"], "failing")
        self.assertEqual(server_status(lbd, "p", "c")["state"], "up")  # new: starts up
        self.assertNotIn("a", self.get_all(port, 6))

        r = admin_request(lbd, "POST", "/servers/p/a/enable")
        self.assertEqual(r.status, 200)
        self.assertEqual(server_status(lbd, "p", "a")["state"], "down")
        self.assertNotIn("a", self.get_all(port, 6))
        # drained while down shows the admin state; health still failing
        admin_request(lbd, "POST", "/servers/p/a/drain")
        st = server_status(lbd, "p", "a")
        self.assertEqual((st["state"], st["check"]["status"]), ("draining", "failing"))
        admin_request(lbd, "POST", "/servers/p/a/enable")
        a.health_status = 200
        wait_state(lbd, "a", "up", 2 * 2.2 + 1 + SLACK)

    def test_removing_the_checks_brings_a_down_server_back(self):
        lbd, port, (a, b) = self.checked_pool(["a", "b"])
        a.health_status = 500
        wait_state(lbd, "a", "down", 5)
        ok, gen = lbd.reload(config([listener("web", port, "p")], [pool("p", [a, b])]))
        self.assertTrue(ok, gen)
        st = server_status(lbd, "p", "a")
        self.assertEqual((st["state"], st["check"]["status"]), ("up", "none"))
        self.assertIn("pool p: server a: health checks removed", lbd.stderr())


class BadConfigTest(LbdTestCase):
    def test_bad_values_have_clear_errors(self):
        port = free_port()
        cfg = config([listener("web", port, "p")],
                     [pool("p", ["127.0.0.1:1"],
                           health_check={"type": "http", "interval": "1s", "timeout": "2s",
                                         "expect": "2xx", "fall": 0})])
        path = os.path.join(self.backends_dir(), "bad.yaml")
        with open(path, "w") as f:
            f.write(cfg)
        out = subprocess.run([lbd_bin(), "-t", "-c", path], capture_output=True, text=True,
                             timeout=10)
        self.assertEqual(out.returncode, 1)
        err = out.stderr
        self.assertRegex(err, r"bad.yaml:\d+:\d+: pools\[0\].health_check.expect: expected a "
                         r"status code or a range of them, from 100 to 599 \(200, 200-399\), "
                         r"got \"2xx\"")
        self.assertRegex(err, r"bad.yaml:\d+:\d+: pools\[0\].health_check.fall: expected an "
                         r"integer from 1 to 100, got \"0\"")
        self.assertRegex(err, r"bad.yaml:\d+:\d+: pools\[0\].health_check.timeout: timeout 2s "
                         r"is longer than interval 1s")

    def test_bad_reload_keeps_checks_running(self):
        a = self.backends.http("a", B.health_handler())
        port = free_port()
        lbd = self.start_lbd(config([listener("web", port, "p")],
                                    [pool("p", [a], health_check=HC)]))
        ok, errors = lbd.reload(config([listener("web", port, "p")],
                                       [pool("p", [a], health_check=dict(HC, rise=1000))]))
        self.assertFalse(ok)
        self.assertIn("pools[0].health_check.rise: expected an integer from 1 to 100",
                      "\n".join(errors))
        a.health_status = 500
        wait_state(lbd, "a", "down", 5)

    def backends_dir(self):
        import tempfile
        d = tempfile.mkdtemp(prefix="lbd-health-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", d]))
        return d

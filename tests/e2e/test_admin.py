"""The admin API (SPEC §6): GET /status against real traffic, server
drain/disable/enable taking effect at once, /healthz, POST /stop, the
socket file, the TCP admin listener, global.user, and malformed requests
that get a 4xx answer while lbd keeps serving."""

import collections
import grp
import json
import os
import pwd
import stat
import threading
import time

import backends as B
from lbdtest import (HttpClient, LbdTestCase, admin_request, config, free_port, listener,
                     pool, server, simple_config, unix_raw, wait_port)


class AdminTestCase(LbdTestCase):
    def two_backends(self, workers=1, **kw):
        a, b = self.backends.http("a"), self.backends.http("b")
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [a, b], workers=workers, **kw))
        return lbd, port, a, b

    def names(self, port, n, keepalive=False):
        out = []
        c = HttpClient(port) if keepalive else None
        for i in range(n):
            if keepalive:
                r = c.request("GET", "/n%d" % i)
            else:
                with HttpClient(port) as c1:
                    r = c1.request("GET", "/n%d" % i)
            self.assertEqual(r.status, 200)
            out.append(r.header("x-backend"))
        if c:
            c.close()
        return out

    def server_status(self, lbd, name, pool_name="p"):
        st = admin_request(lbd, "GET", "/status").json
        p = [x for x in st["pools"] if x["name"] == pool_name][0]
        return [s for s in p["servers"] if s["name"] == name][0]

    def wait_status(self, lbd, pred, timeout=5.0):
        """GET /status until PRED(doc) holds (counters of connections that
        just closed settle once lbd has seen the close); the last doc."""
        deadline = time.monotonic() + timeout
        while True:
            doc = admin_request(lbd, "GET", "/status").json
            if pred(doc) or time.monotonic() > deadline:
                return doc
            time.sleep(0.02)

    def assertJsonError(self, r, code):
        self.assertEqual(r.status, code, r)
        self.assertEqual(r.header("content-type"), "application/json", r.headers)
        body = r.json
        self.assertIs(body["ok"], False, body)
        self.assertTrue(body["error"], body)


class StatusTest(AdminTestCase):
    def test_status_fields_and_counters(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        port, port2 = free_port(), free_port()
        t = self.backends.tcp("t")
        lbd = self.start_lbd(config(
            [listener("web", port, "p"), listener("raw", port2, "t", protocol="tcp")],
            [pool("p", [server(a, weight=2), server(b, weight=1)]), pool("t", [t])],
            workers=2))
        self.names(port, 30)
        # the clients closed; lbd may not have seen the last close yet
        self.wait_status(lbd, lambda d: all(l["active_connections"] == 0
                                            for l in d["listeners"]) and
                         all(s["active"] == 0 for p in d["pools"] for s in p["servers"]))
        st = admin_request(lbd, "GET", "/status")
        self.assertEqual(st.status, 200)
        self.assertEqual(st.header("content-type"), "application/json")
        doc = st.json
        self.assertEqual(doc["generation"], 1)
        self.assertEqual(doc["live_generations"], 1)
        self.assertIsInstance(doc["uptime_s"], int)
        self.assertGreaterEqual(doc["uptime_s"], 0)
        self.assertEqual(doc["listeners"], [
            {"name": "web", "bind": ["127.0.0.1:%d" % port], "protocol": "http",
             "active_connections": 0},
            {"name": "raw", "bind": ["127.0.0.1:%d" % port2], "protocol": "tcp",
             "active_connections": 0}])
        self.assertEqual([p["name"] for p in doc["pools"]], ["p", "t"])
        p = doc["pools"][0]
        self.assertEqual((p["name"], p["balance"]), ("p", "round_robin"))
        by_name = {s["name"]: s for s in p["servers"]}
        self.assertEqual(set(by_name), {"a", "b"})
        for s, weight, reqs, backend in (("a", 2, 20, a), ("b", 1, 10, b)):
            srv = by_name[s]
            self.assertEqual(srv["address"], backend.address)
            self.assertEqual(srv["state"], "up")
            self.assertEqual(srv["weight"], weight)
            self.assertEqual(srv["active"], 0)
            self.assertEqual(srv["requests"], reqs)
            self.assertEqual(srv["failures"], 0)
            self.assertEqual(srv["check"], {"status": "none"})

    def test_open_connections_and_requests_in_flight(self):
        release = threading.Event()

        def slow(be, req):
            release.wait(5)
            return B.Response(200, body=b"late\n")

        a = self.backends.http("a", slow)
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [a]))
        idle = HttpClient(port)
        busy = HttpClient(port)
        self.addCleanup(idle.close)
        self.addCleanup(busy.close)
        busy.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        a.wait_requests(1)
        # the idle client may be accepted after the busy one's request left
        doc = self.wait_status(lbd, lambda d: d["listeners"][0]["active_connections"] == 2)
        self.assertEqual(doc["listeners"][0]["active_connections"], 2)
        self.assertEqual(doc["pools"][0]["servers"][0]["active"], 1)
        release.set()
        self.assertEqual(busy.read_response().status, 200)
        doc = self.wait_status(lbd, lambda d: d["pools"][0]["servers"][0]["active"] == 0)
        srv = doc["pools"][0]["servers"][0]
        self.assertEqual(srv["active"], 0)
        self.assertEqual(srv["requests"], 1)
        idle.close()
        busy.close()
        doc = self.wait_status(lbd, lambda d: d["listeners"][0]["active_connections"] == 0)
        self.assertEqual(doc["listeners"][0]["active_connections"], 0)

    def test_failures_counted(self):
        a = self.backends.http("a")
        port = free_port()
        dead = "127.0.0.1:%d" % free_port()
        lbd = self.start_lbd(simple_config(port, [a, server(dead, name="dead")]))
        self.names(port, 6)
        self.assertGreaterEqual(self.server_status(lbd, "dead")["failures"], 1)
        self.assertEqual(self.server_status(lbd, "a")["failures"], 0)

    def test_status_table(self):
        lbd, port, a, b = self.two_backends()
        r = admin_request(lbd, "GET", "/status?format=table")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type").startswith("text/plain"))
        text = r.body.decode()
        self.assertIn("generation 1", text)
        self.assertRegex(text, r"(?m)^p\s+a\s+%s\s+up\s+1\s" % a.address)
        r = admin_request(lbd, "GET", "/status?format=xml")
        self.assertJsonError(r, 400)


class ServerStateTest(AdminTestCase):
    def test_drain_disable_enable_take_effect_at_once(self):
        lbd, port, a, b = self.two_backends(workers=2)
        keep = HttpClient(port)
        self.addCleanup(keep.close)
        self.assertEqual(keep.request("GET", "/first").status, 200)

        r = admin_request(lbd, "POST", "/servers/p/a/drain")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"ok": True, "state": "draining"})
        self.assertEqual(self.server_status(lbd, "a")["state"], "draining")
        self.assertEqual(set(self.names(port, 10)), {"b"})
        # an open keep-alive connection moves at once too
        for i in range(4):
            self.assertEqual(keep.request("GET", "/k%d" % i).header("x-backend"), "b")

        self.assertEqual(admin_request(lbd, "POST", "/servers/p/b/disable").status, 200)
        self.assertEqual(self.server_status(lbd, "b")["state"], "disabled")
        with HttpClient(port) as c:
            self.assertEqual(c.request("GET", "/none").status, 503)

        self.assertEqual(admin_request(lbd, "POST", "/servers/p/a/enable").status, 200)
        self.assertEqual(set(self.names(port, 6)), {"a"})
        self.assertEqual(admin_request(lbd, "POST", "/servers/p/b/enable").status, 200)
        self.assertEqual(collections.Counter(self.names(port, 10)), {"a": 5, "b": 5})
        self.assertEqual(self.server_status(lbd, "a")["state"], "up")

    def test_drain_and_disable_close_idle_pooled_connections(self):
        """As for a server that went down: lbd closes its idle pooled
        connections to a drained or disabled server within a worker's tick
        (HAProxy does on `set server state maint`), not at their idle
        timeout; those to the other server stay pooled."""
        lbd, port, a, b = self.two_backends(workers=2)

        def still_open(backend):
            with backend._lock:
                return {r.conn_id for r in backend.requests} - backend.closed_ids

        for action in ("drain", "disable"):
            self.assertEqual(set(self.names(port, 6, keepalive=True)), {"a", "b"})
            pooled_a, pooled_b = still_open(a), still_open(b)
            self.assertTrue(pooled_a and pooled_b, action)
            r = admin_request(lbd, "POST", "/servers/p/a/" + action)
            self.assertEqual(r.status, 200, r)
            deadline = time.monotonic() + 5
            while still_open(a) & pooled_a and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertFalse(still_open(a) & pooled_a, "%s: a's pooled connections stay open"
                             % action)
            self.assertLessEqual(pooled_b, still_open(b), action)
            self.assertEqual(set(self.names(port, 3, keepalive=True)), {"b"})
            self.assertLessEqual(pooled_b, still_open(b), action)
            self.assertEqual(admin_request(lbd, "POST", "/servers/p/a/enable").status, 200)

    def test_drain_lets_the_request_in_flight_finish(self):
        release = threading.Event()

        def slow(be, req):
            release.wait(5)
            return B.Response(200, body=b"done\n")

        a = self.backends.http("a", slow)
        b = self.backends.http("b")
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [a, b]))
        c = HttpClient(port)
        self.addCleanup(c.close)
        c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        a.wait_requests(1)
        self.assertEqual(admin_request(lbd, "POST", "/servers/p/a/drain").status, 200)
        self.assertEqual(set(self.names(port, 4)), {"b"})
        release.set()
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"done\n"))

    def test_server_names_are_percent_decoded(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [server(a.address), server(b, name="x/[1]")]))
        path = "/servers/p/%s/drain" % a.address.replace(":", "%3A")
        self.assertEqual(admin_request(lbd, "POST", path).status, 200)
        self.assertEqual(self.server_status(lbd, a.address)["state"], "draining")
        self.assertEqual(admin_request(lbd, "POST", "/servers/p/x%2F%5B1%5D/disable").status, 200)
        self.assertEqual(self.server_status(lbd, "x/[1]")["state"], "disabled")

    def test_state_survives_and_counts_stay(self):
        lbd, port, a, b = self.two_backends()
        self.names(port, 4)
        admin_request(lbd, "POST", "/servers/p/b/disable")
        self.names(port, 4)
        self.assertEqual(self.server_status(lbd, "a")["requests"], 6)
        self.assertEqual(self.server_status(lbd, "b")["requests"], 2)


class HealthzStopTest(AdminTestCase):
    def test_healthz(self):
        lbd, port, a, b = self.two_backends()
        r = admin_request(lbd, "GET", "/healthz")
        self.assertEqual((r.status, r.body), (200, b"ok\n"))

    def test_stop_via_api_drains_and_healthz_says_503(self):
        release = threading.Event()

        def slow(be, req):
            release.wait(5)
            return B.Response(200, body=b"finished\n")

        a = self.backends.http("a", slow)
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [a]))
        c = HttpClient(port)
        self.addCleanup(c.close)
        c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        a.wait_requests(1)
        r = admin_request(lbd, "POST", "/stop")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"ok": True})
        r = admin_request(lbd, "GET", "/healthz")
        self.assertEqual((r.status, r.body), (503, b"stopping\n"))
        # liveness holds while draining: a restart now would cut the drain
        r = admin_request(lbd, "GET", "/livez")
        self.assertEqual((r.status, r.body), (200, b"ok\n"))
        # the listeners close (each worker closes its own, soon after)
        deadline = time.monotonic() + 3
        while wait_port(port, timeout=0.1) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(wait_port(port, timeout=0.1))
        release.set()
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"finished\n"))
        self.assertEqual(lbd.wait(10), 0)
        self.assertIn("admin API: stopping", lbd.stderr())
        self.assertIn("stopped", lbd.stderr())
        self.assertFalse(os.path.exists(lbd.admin_socket), lbd.stderr())

    def test_reload_while_stopping_is_503(self):
        release = threading.Event()
        a = self.backends.http("a", lambda be, req: (release.wait(5), B.Response(200))[1])
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [a]))
        c = HttpClient(port)
        self.addCleanup(c.close)
        self.addCleanup(release.set)
        c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        a.wait_requests(1)
        self.assertEqual(admin_request(lbd, "POST", "/stop").status, 200)
        self.assertJsonError(admin_request(lbd, "POST", "/reload"), 503)
        release.set()


class SocketTest(AdminTestCase):
    def test_socket_mode_and_removal(self):
        lbd, port, a, b = self.two_backends()
        st = os.stat(lbd.admin_socket)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(lbd.stop(), 0)
        self.assertFalse(os.path.exists(lbd.admin_socket))

    def test_stale_socket_file_replaced(self):
        import socket as S
        a = self.backends.http("a")
        port = free_port()
        from lbdtest import Lbd
        lbd = Lbd(simple_config(port, [a]))
        self.addCleanup(self._cleanup_lbd, lbd)
        stale = S.socket(S.AF_UNIX)
        stale.bind(lbd.admin_socket)
        stale.close()                  # the file stays, nobody listens
        lbd.start()
        self.assertEqual(admin_request(lbd, "GET", "/healthz").status, 200)

    def test_socket_in_use_is_a_start_failure(self):
        a = self.backends.http("a")
        port = free_port()
        first = self.start_lbd(simple_config(port, [a]))
        from lbdtest import Lbd
        second = Lbd(simple_config(free_port(), [a], admin_socket=first.admin_socket),
                     wait=False)
        self.addCleanup(second.close)
        second.start()
        self.assertEqual(second.wait(10), 2)
        self.assertIn("admin socket: cannot bind unix:%s" % first.admin_socket, second.stderr())
        self.assertEqual(admin_request(first, "GET", "/healthz").status, 200)

    def test_socket_off(self):
        a = self.backends.http("a")
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [a], admin_socket="off"))
        with HttpClient(port) as c:
            self.assertEqual(c.request("GET", "/").status, 200)
        self.assertFalse(os.path.exists(lbd.admin_socket))

    def test_tcp_admin_listener(self):
        a = self.backends.http("a")
        port, aport = free_port(), free_port()
        lbd = self.start_lbd(simple_config(port, [a], admin_listen="127.0.0.1:%d" % aport))
        self.assertTrue(wait_port(aport))
        r = admin_request(("127.0.0.1", aport), "GET", "/status")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["listeners"][0]["name"], "web")
        for path in ("/metrics", "/healthz", "/livez", "/status?format=table"):
            self.assertEqual(admin_request(("127.0.0.1", aport), "GET", path).status, 200, path)


class AccessTest(AdminTestCase):
    """Who may do what: the socket everything, the TCP admin listener every
    read and changes only with the bearer token, the metrics listener
    /metrics, /healthz and /livez; every change logged with its peer."""

    def token_file(self, text):
        import tempfile
        d = tempfile.mkdtemp()
        path = os.path.join(d, "token")
        with open(path, "w") as f:
            f.write(text)
        self.addCleanup(lambda: (os.unlink(path), os.rmdir(d)))
        return path

    def test_tcp_changes_refused_without_a_token_file(self):
        a = self.backends.http("a")
        port, aport = free_port(), free_port()
        lbd = self.start_lbd(simple_config(port, [a], admin_listen="127.0.0.1:%d" % aport))
        self.assertTrue(wait_port(aport))
        where = ("127.0.0.1", aport)
        for method, path in [("POST", "/servers/p/a/drain"), ("POST", "/stop"),
                             ("POST", "/reload"), ("PUT", "/servers/p/a/weight"),
                             ("POST", "/nope")]:
            r = admin_request(where, method, path, "3" if method == "PUT" else None,
                              headers={"Authorization": "Bearer anything"})
            self.assertJsonError(r, 403)
            self.assertIn("token_file", r.json["error"])
        self.assertTrue(lbd.alive())
        st = self.server_status(lbd, "a")
        self.assertEqual((st["state"], st["weight"]), ("up", 1))
        self.assertRegex(lbd.stderr(), r"admin: POST /servers/p/a/drain from "
                                       r"127\.0\.0\.1:\d+ refused")
        # the socket still may
        self.assertEqual(admin_request(lbd, "POST", "/servers/p/a/drain").status, 200)

    def test_tcp_changes_with_the_bearer_token(self):
        a = self.backends.http("a")
        port, aport = free_port(), free_port()
        tok = self.token_file("s3cr3t-Token_1\n")
        lbd = self.start_lbd(simple_config(port, [a], admin_listen="127.0.0.1:%d" % aport,
                                           admin_token_file=tok))
        self.assertTrue(wait_port(aport))
        where = ("127.0.0.1", aport)
        for headers in [{}, {"Authorization": "Bearer s3cr3t-Token_"},
                        {"Authorization": "Bearer s3cr3t-Token_12"},
                        {"Authorization": "Basic s3cr3t-Token_1"},
                        {"Authorization": "s3cr3t-Token_1"}]:
            self.assertJsonError(admin_request(where, "POST", "/servers/p/a/drain",
                                               headers=headers), 403)
        self.assertEqual(self.server_status(lbd, "a")["state"], "up")
        self.assertEqual(admin_request(where, "GET", "/status").status, 200)
        r = admin_request(where, "POST", "/servers/p/a/drain",
                          headers={"Authorization": "bearer s3cr3t-Token_1"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.server_status(lbd, "a")["state"], "draining")
        self.assertRegex(lbd.stderr(), r"admin: POST /servers/p/a/drain from "
                                       r"127\.0\.0\.1:\d+\n")
        # a reload reads the file again: the old token stops working
        with open(tok, "w") as f:
            f.write("other\n")
        self.assertEqual(admin_request(lbd, "POST", "/reload").status, 200)
        self.assertJsonError(admin_request(where, "POST", "/servers/p/a/enable",
                                           headers={"Authorization": "Bearer s3cr3t-Token_1"}),
                             403)
        self.assertEqual(admin_request(where, "POST", "/servers/p/a/enable",
                                       headers={"Authorization": "Bearer other"}).status, 200)

    def test_socket_changes_logged_with_peer_credentials(self):
        lbd, port, a, b = self.two_backends()
        self.assertEqual(admin_request(lbd, "POST", "/servers/p/a/disable").status, 200)
        self.assertIn("admin: POST /servers/p/a/disable from pid %d uid %d gid %d on the admin "
                      "socket" % (os.getpid(), os.getuid(), os.getgid()), lbd.stderr())
        # reads are not logged
        admin_request(lbd, "GET", "/status")
        self.assertNotIn("admin: GET", lbd.stderr())

    def test_metrics_listener(self):
        a = self.backends.http("a")
        port, mport = free_port(), free_port()
        lbd = self.start_lbd(simple_config(port, [a], metrics_listen="127.0.0.1:%d" % mport))
        self.assertTrue(wait_port(mport))
        where = ("127.0.0.1", mport)
        r = admin_request(where, "GET", "/metrics")
        self.assertEqual(r.status, 200)
        self.assertIn(b"lbd_config_generation", r.body)
        self.assertEqual(admin_request(where, "GET", "/healthz").body, b"ok\n")
        self.assertEqual(admin_request(where, "GET", "/livez").body, b"ok\n")
        self.assertEqual(admin_request(where, "HEAD", "/metrics").status, 200)
        for method, path in [("GET", "/status"), ("POST", "/stop"), ("POST", "/reload"),
                             ("POST", "/servers/p/a/drain"), ("GET", "/")]:
            self.assertJsonError(admin_request(where, method, path), 404)
        self.assertIn(admin_request(where, "POST", "/metrics").status, (405,))
        self.assertTrue(lbd.alive())
        self.assertEqual(self.server_status(lbd, "a")["state"], "up")

    def test_metrics_listener_address_errors(self):
        from lbdtest import Lbd
        a = self.backends.http("a")
        bad = Lbd(simple_config(free_port(), [a], metrics_listen="unix:/tmp/x.sock"),
                  wait=False)
        self.addCleanup(bad.close)
        bad.start()
        self.assertEqual(bad.wait(10), 1)
        self.assertRegex(bad.stderr(), r"lbd\.yaml:\d+:\d+: global\.metrics\.listen")

    def test_token_file_that_cannot_be_read_is_a_load_error(self):
        from lbdtest import Lbd
        a = self.backends.http("a")
        bad = Lbd(simple_config(free_port(), [a], admin_token_file="/nonexistent/token"),
                  wait=False)
        self.addCleanup(bad.close)
        bad.start()
        self.assertEqual(bad.wait(10), 1)
        self.assertRegex(bad.stderr(), r"lbd\.yaml:\d+:\d+: global\.admin\.token_file: "
                                       r"cannot read the token file /nonexistent/token")


class MalformedTest(AdminTestCase):
    def assertStillServing(self, lbd, port):
        self.assertTrue(lbd.alive())
        self.assertEqual(admin_request(lbd, "GET", "/healthz").status, 200)
        with HttpClient(port) as c:
            self.assertEqual(c.request("GET", "/").status, 200)

    def test_unknown_paths_and_wrong_methods(self):
        lbd, port, a, b = self.two_backends()
        for method, path, code in [
                ("POST", "/", 405), ("GET", "/nope", 404), ("GET", "/status/extra", 404),
                ("GET", "/servers/p/a", 404), ("POST", "/servers/p/a/explode", 404),
                ("POST", "/servers/nopool/a/drain", 404), ("POST", "/servers/p/nobody/drain", 404),
                ("GET", "/servers/p/%zz/drain", 400), ("GET", "/servers/p/a%00/drain", 400),
                ("GET", "//status", 400),
                ("POST", "/status", 405), ("GET", "/reload", 405), ("GET", "/stop", 405),
                ("DELETE", "/healthz", 405), ("GET", "/servers/p/a/drain", 405),
                ("POST", "/servers/p/a/weight", 405), ("TRACE", "/status", 405),
                ("OPTIONS", "/status", 405), ("POST", "/livez", 405)]:
            r = admin_request(lbd, method, path)
            self.assertJsonError(r, code)
            if code == 405:
                self.assertTrue(r.header("allow"), (method, path))
        r = admin_request(lbd, "POST", "/servers/nopool/a/drain")
        self.assertEqual(r.json["error"], "no pool named nopool")
        r = admin_request(lbd, "POST", "/servers/p/nobody/drain")
        self.assertEqual(r.json["error"], "pool p has no server named nobody")
        self.assertStillServing(lbd, port)

    def test_head_where_get_works(self):
        lbd, port, a, b = self.two_backends()
        for path in ("/status", "/status?format=table", "/metrics", "/healthz", "/livez"):
            get = admin_request(lbd, "GET", path)
            out = unix_raw(lbd.admin_socket, b"HEAD " + path.encode() +
                           b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            head, _, rest = out.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 200 "), (path, out[:300]))
            self.assertEqual(rest, b"", (path, out[:300]))   # no body after HEAD
            if path != "/metrics":                           # counters move
                self.assertIn(b"\r\nContent-Length: %d" % len(get.body), head)
        # a HEAD error has no body either
        out = unix_raw(lbd.admin_socket, b"HEAD /nope HTTP/1.1\r\nHost: x\r\n"
                                         b"Connection: close\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 404 "), out)
        self.assertTrue(out.endswith(b"\r\n\r\n"), out)

    def test_bad_weight_bodies(self):
        lbd, port, a, b = self.two_backends()
        for body in ["", "x", "{", "{\"weight\": -1}", "{\"weight\": 257}", "{\"weight\": 1.5}",
                     "{\"weight\": \"2\"}", "{\"wait\": 2}", "{\"weight\": 2, \"x\": 1}", "[2]",
                     "2 3", "99999999999999999999999"]:
            self.assertJsonError(admin_request(lbd, "PUT", "/servers/p/a/weight", body), 400)
        self.assertEqual(self.server_status(lbd, "a")["weight"], 1)
        self.assertStillServing(lbd, port)

    def test_garbage_and_oversized_requests(self):
        lbd, port, a, b = self.two_backends()
        sock = lbd.admin_socket
        for data in [b"\x00\x01\x02garbage\r\n\r\n", b"GET\r\n\r\n",
                     b"GET /status HTTP/9.9\r\n\r\n", b"\xff" * 5000 + b"\r\n\r\n",
                     b"GET /status HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 20000 + b"\r\n\r\n",
                     b"POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                     b"{" * 100000,
                     b"POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                     b"GET /status HTTP/1.1\r\nHost: x\r\n"]:
            try:
                out = unix_raw(sock, data, timeout=2)
            except ConnectionError:
                out = b""
            if out:
                code = int(out.split(b" ", 2)[1])
                self.assertTrue(400 <= code < 500, out[:200])
        for method, path, body, headers in [
                ("GET", "/status", None, {"X-Big": "a" * 20000}),
                ("PUT", "/servers/p/a/weight", "1" * 10000, None)]:
            try:
                r = admin_request(lbd, method, path, body, headers=headers)
                self.assertTrue(400 <= r.status < 500, r)
            except ConnectionError:
                pass        # closed before reading all of it: fine too
        self.assertStillServing(lbd, port)

    def test_many_admin_connections(self):
        lbd, port, a, b = self.two_backends()
        import socket as S
        socks = []
        for _ in range(50):
            s = S.socket(S.AF_UNIX)
            s.connect(lbd.admin_socket)
            s.sendall(b"GET /status HTTP/1.1\r\n")
            socks.append(s)
        self.assertStillServing(lbd, port)
        for s in socks:
            s.close()
        self.assertStillServing(lbd, port)


def raw_exchange(where, data, timeout=5.0):
    """Send DATA to WHERE (a socket path or (host, port)); (what came back
    until the peer closed, whether it closed before TIMEOUT)."""
    import socket as S
    fam = S.AF_INET if isinstance(where, tuple) else S.AF_UNIX
    out = b""
    with S.socket(fam, S.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(where)
        try:
            s.sendall(data)
        except ConnectionError:
            pass        # answered and closed before all of it was read
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out, True
                out += chunk
        except S.timeout:
            return out, False
        except ConnectionError:
            return out, True


def parse_raw_response(out):
    """(status, {lower-case name: value}, body) of the one answer in OUT."""
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


class ErrorsAreJsonTest(AdminTestCase):
    """A request the HTTP parser refuses before lbd's routes see it still
    gets a JSON answer with the right status, on the admin socket, the TCP
    admin listener and the metrics listener, and the connection closes."""

    BIG_HEAD = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9216 + b"\r\n\r\n")
    BIG_BODY = (b"PUT /servers/p/a/weight HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                b"\r\n" + b"1" * 5000)
    CASES = [
        ("malformed request line", b"GET\r\n\r\n", 400),
        ("no version", b"GET /healthz\r\nHost: x\r\n\r\n", 400),
        ("unknown version", b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400),
        ("binary garbage", b"\x00\x01\x02garbage\r\n\r\n", 400),
        ("header without a colon", b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n", 400),
        ("bad content length", b"PUT /servers/p/a/weight HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Length: -5\r\n\r\n", 400),
        ("unknown method", b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 501),
        ("head too large", BIG_HEAD, 431),
        ("head without end too large", b"GET /healthz HTTP/1.1\r\nX: " + b"a" * 20000, 431),
        ("body too large", BIG_BODY, 413),
    ]

    def start_three(self):
        a = self.backends.http("a")
        port, aport, mport = free_port(), free_port(), free_port()
        lbd = self.start_lbd(simple_config(port, [a], admin_listen="127.0.0.1:%d" % aport,
                                           metrics_listen="127.0.0.1:%d" % mport))
        self.assertTrue(wait_port(aport))
        self.assertTrue(wait_port(mport))
        return lbd, {"socket": lbd.admin_socket, "tcp": ("127.0.0.1", aport),
                     "metrics": ("127.0.0.1", mport)}

    def assertJsonAnswer(self, out, closed, code, what):
        self.assertTrue(out, what)
        status, headers, body = parse_raw_response(out)
        self.assertEqual(status, code, (what, out[:300]))
        self.assertEqual(headers.get("content-type"), "application/json", (what, out[:300]))
        doc = json.loads(body.decode())
        self.assertIsInstance(doc["error"], str, (what, doc))
        self.assertTrue(doc["error"], (what, doc))
        self.assertTrue(closed, (what, "the connection stayed open"))

    def test_refused_requests_get_json_on_every_port(self):
        lbd, ports = self.start_three()
        for where_name, where in ports.items():
            for what, data, code in self.CASES:
                out, closed = raw_exchange(where, data)
                self.assertJsonAnswer(out, closed, code, (where_name, what))
                self.assertEqual(admin_request(where, "GET", "/healthz").status, 200,
                                 (where_name, what))
        self.assertTrue(lbd.alive())

    def test_unknown_method_reports_it(self):
        lbd, ports = self.start_three()
        out, closed = raw_exchange(ports["socket"], b"FOO /status HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = parse_raw_response(out)
        self.assertEqual(status, 501, out)
        self.assertIn("FOO", json.loads(body.decode())["error"])
        # a method HTTP knows keeps its 405 with Allow
        r = admin_request(lbd, "DELETE", "/status")
        self.assertJsonError(r, 405)
        self.assertEqual(r.header("allow"), "GET, HEAD")

    def test_error_after_good_requests_on_one_connection(self):
        lbd, ports = self.start_three()
        good = b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"
        out, closed = raw_exchange(ports["socket"], good + good + b"FOO / HTTP/1.1\r\n\r\n")
        answers = out.split(b"HTTP/1.1 ")[1:]
        self.assertEqual(len(answers), 3, out)
        self.assertTrue(answers[0].startswith(b"200 ") and answers[1].startswith(b"200 "), out)
        self.assertJsonAnswer(b"HTTP/1.1 " + answers[2], closed, 501, "third")

    def test_error_to_head_has_no_body(self):
        lbd, ports = self.start_three()
        out, closed = raw_exchange(ports["socket"], b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n"
                                   b"X-Big: " + b"a" * 9216 + b"\r\n\r\n")
        status, headers, body = parse_raw_response(out)
        self.assertEqual((status, headers.get("content-type"), body),
                         (431, "application/json", b""), out)
        self.assertTrue(closed)

    def test_body_at_the_limit_reaches_lbd(self):
        lbd, ports = self.start_three()
        # 4096 bytes are taken, and the weight's own check says no
        r = admin_request(lbd, "PUT", "/servers/p/a/weight", b"1" * 4096)
        self.assertJsonError(r, 400)
        self.assertIn("weight", r.json["error"])
        r = admin_request(lbd, "PUT", "/servers/p/a/weight", b"1" * 4097)
        self.assertJsonError(r, 413)

    def test_silent_and_slow_clients_do_not_stop_the_others(self):
        lbd, ports = self.start_three()
        import socket as S
        silent = S.socket(S.AF_UNIX)
        silent.connect(ports["socket"])
        slow = S.socket(S.AF_UNIX)
        slow.connect(ports["socket"])
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: ")
        for where in ports.values():
            self.assertEqual(admin_request(where, "GET", "/healthz").status, 200)
        silent.close()
        slow.close()

    def test_head_answers_like_get(self):
        lbd, ports = self.start_three()
        reads = {"socket": ["/status", "/status?format=table", "/metrics", "/healthz", "/livez",
                            "/pools/p/servers"],
                 "tcp": ["/status", "/metrics", "/healthz", "/livez", "/pools/p/servers"],
                 "metrics": ["/metrics", "/healthz", "/livez"]}
        for where_name, paths in reads.items():
            where = ports[where_name]
            for path in paths:
                get = admin_request(where, "GET", path)
                out, closed = raw_exchange(where, b"HEAD " + path.encode() +
                                           b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                status, headers, body = parse_raw_response(out)
                what = (where_name, path)
                self.assertEqual(status, get.status, what)
                self.assertEqual(body, b"", what)
                for name in ("content-type", "cache-control"):
                    self.assertEqual(headers.get(name), get.header(name), (what, name))
                if path != "/metrics":          # counters move
                    self.assertEqual(headers.get("content-length"), str(len(get.body)), what)


class UserTest(AdminTestCase):
    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("needs root")
        try:
            self.nobody = pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("no user nobody")

    def test_user_nobody(self):
        a = self.backends.http("a")
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [a], user="nobody"))
        with HttpClient(port) as c:     # workers start after the switch
            self.assertEqual(c.request("GET", "/").status, 200)
        with open("/proc/%d/status" % lbd.pid) as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        uid = self.nobody.pw_uid
        gid = self.nobody.pw_gid
        self.assertEqual(fields["Uid"].split(), [str(uid)] * 4)
        self.assertEqual(fields["Gid"].split(), [str(gid)] * 4)
        self.assertEqual(fields["CapEff"].strip(), "0" * 16)
        with HttpClient(port) as c:
            self.assertEqual(c.request("GET", "/").status, 200)
        st = os.stat(lbd.admin_socket)
        self.assertEqual(st.st_gid, gid)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertIn("running as uid %d, gid %d" % (uid, gid), lbd.stderr())

    def test_group(self):
        a = self.backends.http("a")
        port = free_port()
        group = grp.getgrgid(self.nobody.pw_gid).gr_name
        lbd = self.start_lbd(simple_config(port, [a], user="nobody", group="root"))
        with HttpClient(port) as c:
            self.assertEqual(c.request("GET", "/").status, 200)
        with open("/proc/%d/status" % lbd.pid) as f:
            gid_line = [line for line in f if line.startswith("Gid:")][0]
        self.assertEqual(gid_line.split()[1:], ["0"] * 4, group)
        self.assertEqual(os.stat(lbd.admin_socket).st_gid, 0)


class PrivilegedPortAfterSwitchTest(AdminTestCase):
    def test_reload_adding_a_privileged_port_is_rejected_clearly(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        try:
            pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("no user nobody")
        import socket as S
        low = None
        for p in range(900, 1000):     # a free port below 1024
            with S.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                    low = p
                    break
                except OSError:
                    continue
        if low is None:
            self.skipTest("no free port below 1024")
        a = self.backends.http("a")
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [a], user="nobody"))
        # reloads read the file as nobody
        os.chmod(lbd.dir, 0o755)
        lbd.rewrite(config([listener("web", port, "p"), listener("low", low, "p")],
                           [pool("p", [a])], user="nobody"))
        r = admin_request(lbd, "POST", "/reload")
        self.assertEqual(r.status, 422, r)
        self.assertEqual(len(r.json["errors"]), 1, r.json)
        self.assertIn("cannot bind 127.0.0.1:%d: Permission denied (a port below 1024 needs "
                      "root or CAP_NET_BIND_SERVICE; lbd runs as uid %d)"
                      % (low, pwd.getpwnam("nobody").pw_uid), r.json["errors"][0])
        with HttpClient(port) as c:
            self.assertEqual(c.request("GET", "/").status, 200)
        self.assertEqual(admin_request(lbd, "GET", "/status").json["generation"], 1)

"""Access rules (SPEC §10): allow and deny lists of client addresses per
listener (checked before routing) and per route (after it). A refused
client gets 403 over HTTP/1 and HTTP/2 with one access-log line; the
client address is the one trusted proxies name. Bad lists are refused at
load with file:line:col."""

import re
import shutil
import subprocess
import unittest

from lbdtest import (check_config, HOST, LbdTestCase, HttpClient, config, free_port, listener, pool)

CURL = shutil.which("curl")


def xff(addr):
    return [("X-Forwarded-For", addr)]


class AccessRulesTest(LbdTestCase):
    def start(self, listener_rules=None, routes=None):
        b = self.backends.http("b1")
        port = free_port()
        if routes is None:
            routes = [{"match": {"path_prefix": "/"}, "pool": "p"}]
        web = listener("web", port, routes=routes)
        # 127.0.0.1 is a trusted proxy: X-Forwarded-For names the client
        web["trusted_proxies"] = ["127.0.0.1"]
        web.update(listener_rules or {})
        lbd = self.start_lbd(config([web], [pool("p", [b])]))
        return lbd, port

    def test_listener_deny(self):
        lbd, port = self.start({"deny": ["10.0.0.0/8", "2001:db8::/32"]})
        with HttpClient(port) as c:
            self.assertEqual(c.request(headers=xff("192.0.2.7")).status, 200)
            r = c.request(headers=xff("10.1.2.3"))
            self.assertErrorResponse(r, 403)
            self.assertEqual(r.body, b"403 Forbidden\n")
            # the connection stays open for the next request
            self.assertEqual(c.request(headers=xff("2001:db8::1")).status, 403)
            self.assertEqual(c.request().status, 200)   # 127.0.0.1 itself
        lines = lbd.access_lines(count=4, timeout=3)
        self.assertEqual([ln["status"] for ln in lines], [200, 403, 403, 200])
        self.assertEqual([ln["termination"] for ln in lines],
                         ["ok", "denied", "denied", "ok"])
        self.assertEqual(lines[1]["client"], "10.1.2.3")
        self.assertIsNone(lines[1]["pool"])

    def test_listener_allow_and_deny(self):
        lbd, port = self.start({"allow": ["192.0.2.0/24", "127.0.0.1"],
                                "deny": ["192.0.2.66"]})
        with HttpClient(port) as c:
            got = [c.request(headers=xff(a)).status
                   for a in ("192.0.2.7", "198.51.100.1", "192.0.2.66")]
            self.assertEqual(got, [200, 403, 403])
            self.assertEqual(c.request().status, 200)
        lines = lbd.access_lines(count=4, timeout=3)
        self.assertEqual([ln["termination"] for ln in lines],
                         ["ok", "denied", "denied", "ok"])

    def test_route_rules_after_routing(self):
        routes = [{"match": {"path_prefix": "/admin"}, "pool": "p",
                   "allow": ["192.0.2.0/24"]},
                  {"match": {"path_prefix": "/"}, "pool": "p", "deny": ["198.51.100.0/24"]}]
        lbd, port = self.start(routes=routes)
        with HttpClient(port) as c:
            got = [c.request(target=t, headers=xff(a)).status
                   for t, a in (("/admin", "192.0.2.1"), ("/admin", "198.51.100.1"),
                                ("/admin", "203.0.113.1"), ("/x", "203.0.113.1"),
                                ("/x", "198.51.100.9"), ("/x", "192.0.2.1"))]
        self.assertEqual(got, [200, 403, 403, 200, 403, 200])
        lines = lbd.access_lines(count=6, timeout=3)
        self.assertEqual([ln["termination"] for ln in lines],
                         ["ok", "denied", "denied", "ok", "denied", "ok"])

    @unittest.skipUnless(CURL, "no curl")
    def test_http2_403(self):
        lbd, port = self.start({"deny": ["10.0.0.0/8"]})
        url = "http://%s:%d/" % (HOST, port)
        heads = ""
        for addr in ("192.0.2.1", "10.0.0.1"):
            out = subprocess.run([CURL, "-s", "--http2-prior-knowledge", "-D", "-",
                                  "-H", "X-Forwarded-For: " + addr, url],
                                 capture_output=True, timeout=20)
            heads += out.stdout.decode("latin-1").lower()
        self.assertRegex(heads, r"http/2 200")
        self.assertRegex(heads, r"http/2 403")
        self.assertIn("403 forbidden\n", heads)
        lines = lbd.access_lines(count=2, timeout=3)
        self.assertEqual([ln["termination"] for ln in lines], ["ok", "denied"])
        self.assertEqual(lines[1]["status"], 403)


class AccessRulesConfigTest(unittest.TestCase):
    def check(self, listener_extra, route_extra=""):
        text = ("global: {admin: {socket: @TMPDIR@/admin.sock}}\n" +
                "listeners:\n"
                "  - name: web\n"
                "    bind: 127.0.0.1:8080\n"
                "    " + listener_extra + "\n"
                "    routes:\n"
                "      - pool: p\n"
                "        " + (route_extra or "strip_prefix: false") + "\n"
                "pools:\n"
                "  - name: p\n"
                "    servers: [{address: 127.0.0.1:9000}]\n")
        return check_config(self, text)

    def test_good_lists(self):
        _, r = self.check("allow: [10.0.0.0/8, '2001:db8::/32', 192.0.2.7]",
                          "deny: ['2001:db8::1']")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_bad_lists(self):
        for lst, rte, line, col in (("deny: [10.0.0.1/8]", "", 5, 12),
                                    ("allow: [10.0.0.0/8, nope]", "", 5, 25),
                                    ("allow: 10.0.0.0/8", "", 5, 12),
                                    ("protocol: http", "deny: [10.0.0.0/33]", 8, 16)):
            path, r = self.check(lst, rte)
            self.assertNotEqual(r.returncode, 0, lst + rte)
            self.assertRegex(r.stderr, r"%s:%d:%d: " % (re.escape(path), line, col),
                             lst + rte)

    def test_tcp_listener_refuses_rules(self):
        path, r = self.check("protocol: tcp\n    deny: [10.0.0.0/8]")
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"%s:6:5: .*http listeners only" % re.escape(path))


if __name__ == "__main__":
    unittest.main()

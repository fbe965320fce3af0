"""Per-route traffic rules (SPEC §10): strip_prefix takes the matched
path prefix off the path the server gets (keeping the query), and a route
with a redirect answers itself with a Location made of its URL and the
request's path and query, and a strip_prefix route's responses get the
prefix back in Location and Set-Cookie's Path (restore_prefix), over HTTP/1 and HTTP/2 alike, with one access-log
line; request_headers and response_headers set (replacing every field of
the name, lbd's own X-Forwarded-* included) and remove fields, with
${client_ip} and ${server} filled in, for HTTP/1 and HTTP/2 clients; every
request has an X-Request-Id (the client's, or 128 random bits lbd makes),
which the server gets, the access log ends with and ${request_id} names;
rules that cannot work are refused by `lbd -t` at their file:line:col."""

import os
import shutil
import subprocess
import sys
import unittest

import backends as B
from lbdtest import (check_config, HERE, HOST, HttpClient, LbdTestCase, config, free_port,
                     listener, pool)

try:
    import h2  # noqa: F401 (h2_backend.py needs it)
except ImportError:
    h2 = None

CURL = shutil.which("curl")


def curl_h2(url):
    """curl --http2-prior-knowledge URL; returns (status, headers, body)."""
    out = subprocess.run([CURL, "-s", "--http2-prior-knowledge", "-D", "-", url],
                         capture_output=True, timeout=10).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return int(lines[0].split()[1]), headers, body


class RouteRulesTest(LbdTestCase):
    def start(self):
        b = self.backends.http("b1")
        port = free_port()
        routes = [
            {"match": {"path_prefix": "/api"}, "pool": "p", "strip_prefix": True},
            {"match": {"host": "old.example.com"},
             "redirect": {"to": "https://www.example.com"}},
            {"match": {"path_prefix": "/moved/"}, "strip_prefix": True,
             "redirect": {"to": "https://new.example.com/", "status": 308}},
            {"pool": "p"},
        ]
        lbd = self.start_lbd(config([listener("web", port, routes=routes)], [pool("p", [b])]))
        return lbd, port, b

    def test_strip_prefix_keeps_the_query_and_a_slash(self):
        lbd, port, b = self.start()
        targets = ["/api/users?x=1", "/api", "/api?x", "/other?y"]
        with HttpClient(port) as c:
            for t in targets:
                self.assertEqual(c.request(target=t).status, 200)
        got = [r.target for r in b.wait_requests(len(targets))]
        self.assertEqual(got, ["/users?x=1", "/", "/?x", "/other?y"])
        # The access log shows what the client asked for.
        paths = [ln["path"] for ln in lbd.access_lines(count=len(targets))]
        self.assertEqual(paths, targets)

    def test_redirect_keeps_path_and_query(self):
        lbd, port, b = self.start()
        with HttpClient(port) as c:
            r = c.request(target="/a/b?c=d", host="old.example.com")
            self.assertEqual(r.status, 301)
            self.assertEqual(r.header("location"), "https://www.example.com/a/b?c=d")
            self.assertIn(b"301", r.body)
            # The connection stays for the next request.
            r = c.request(target="/moved/x?y", host="a.example.com")
            self.assertEqual(r.status, 308)
            self.assertEqual(r.header("location"), "https://new.example.com/x?y")
        self.assertNothingReached(b)
        lines = lbd.access_lines(count=2)
        self.assertEqual([(ln["status"], ln["termination"]) for ln in lines],
                         [(301, "ok"), (308, "ok")])
        self.assertNotIn("redirect", lbd.stderr())

    @unittest.skipUnless(CURL, "curl not installed")
    def test_redirect_over_http2(self):
        lbd, port, b = self.start()
        status, headers, body = curl_h2("http://%s:%d/moved/?q=1" % (HOST, port))
        self.assertEqual(status, 308)
        self.assertEqual(headers["location"], ["https://new.example.com/?q=1"])
        self.assertIn(b"308", body)
        self.assertNothingReached(b)
        line = lbd.access_lines(count=1)[0]
        self.assertEqual((line["protocol"], line["status"]), ("HTTP/2.0", 308))


def redirecting(backend, req):
    """Answers as an application that knows nothing of the prefix would:
    a redirect to its own paths and a cookie for them."""
    host = req.header("host")
    return B.Response(302, b"", headers=[
        ("Location", req.header("x-location", "/users/1").replace("HOST", host)
         .replace("SELF", backend.address)),
        ("Set-Cookie", "sid=1; Path=/; HttpOnly"),
        ("Set-Cookie", "pref=2; Path=/settings; Domain=127.0.0.1"),
        ("Set-Cookie", "plain=3")])


class RestorePrefixTest(LbdTestCase):
    def start(self, restore=None):
        b = self.backends.http("b1", redirecting)
        port = free_port()
        route = {"match": {"path_prefix": "/api/"}, "pool": "p", "strip_prefix": True}
        if restore is not None:
            route["restore_prefix"] = restore
        lbd = self.start_lbd(config([listener("web", port, routes=[route, {"pool": "p"}])],
                                    [pool("p", [b])]))
        return port, b

    def test_location_and_cookies_get_the_prefix_back(self):
        port, b = self.start()
        cases = [("/users/1", "/api/users/1"),
                 ("http://HOST/a?b=1", "http://example.com/api/a?b=1"),
                 ("http://SELF/a", "http://example.com/api/a"),
                 ("https://elsewhere.example.org/a", "https://elsewhere.example.org/a"),
                 ("next", "next")]
        with HttpClient(port) as c:
            for given, want in cases:
                r = c.request(target="/api/x", headers=[("X-Location", given)])
                self.assertEqual(r.status, 302)
                self.assertEqual(r.header("location"), want, given)
                self.assertEqual(r.headers_all("set-cookie"),
                                 ["sid=1; Path=/api; HttpOnly", "pref=2; Path=/api/settings",
                                  "plain=3"])
            # another route: as the server said
            r = c.request(target="/x")
            self.assertEqual(r.header("location"), "/users/1")
            self.assertEqual(r.headers_all("set-cookie")[0], "sid=1; Path=/; HttpOnly")

    @unittest.skipUnless(CURL, "curl not installed")
    def test_over_http2(self):
        port, b = self.start()
        status, headers, _ = curl_h2("http://%s:%d/api/x" % (HOST, port))
        self.assertEqual(status, 302)
        self.assertEqual(headers["location"], ["/api/users/1"])
        self.assertIn("sid=1; Path=/api; HttpOnly", headers["set-cookie"])

    def test_restore_prefix_false(self):
        port, b = self.start(restore=False)
        with HttpClient(port) as c:
            r = c.request(target="/api/x")
        self.assertEqual(r.header("location"), "/users/1")
        self.assertEqual(r.headers_all("set-cookie")[0], "sid=1; Path=/; HttpOnly")


def secretive(backend, req):
    return B.Response(200, b"ok\n", headers=[
        ("Server", "backend/1.0"), ("X-Internal", "a"), ("X-Frame-Options", "ALLOW"),
        ("X-Frame-Options", "ALLOW-FROM x"), ("Content-Type", "text/plain")])


class HeaderRulesTest(LbdTestCase):
    def start(self):
        b = self.backends.http("b1", secretive)
        port = free_port()
        routes = [{
            "pool": "p",
            "request_headers": {
                "set": {"X-Env": "prod", "X-Client": "ip=${client_ip}",
                        "X-Forwarded-Proto": "https"},
                "remove": ["X-Debug"],
            },
            "response_headers": {
                "set": {"X-Frame-Options": "DENY", "X-Served-By": "${server}"},
                "remove": ["Server", "x-internal"],
            },
        }]
        lbd = self.start_lbd(config([listener("web", port, routes=routes)], [pool("p", [b])]))
        return lbd, port, b

    def test_request_fields_set_and_removed(self):
        lbd, port, b = self.start()
        with HttpClient(port) as c:
            r = c.request(headers=[("X-Debug", "1"), ("X-Env", "dev"), ("X-Env", "qa"),
                                   ("X-Kept", "yes")])
            self.assertEqual(r.status, 200)
        req = b.wait_requests(1)[0]
        self.assertEqual(req.headers_all("x-env"), ["prod"])
        self.assertEqual(req.header("x-client"), "ip=%s" % HOST)
        self.assertIsNone(req.header("x-debug"))
        self.assertEqual(req.header("x-kept"), "yes")
        # lbd's own field is replaced, the others stay.
        self.assertEqual(req.headers_all("x-forwarded-proto"), ["https"])
        self.assertEqual(req.header("x-forwarded-for"), HOST)

    def test_response_fields_set_and_removed(self):
        lbd, port, b = self.start()
        with HttpClient(port) as c:
            r = c.request()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers_all("x-frame-options"), ["DENY"])
        self.assertEqual(r.header("x-served-by"), "b1")
        self.assertIsNone(r.header("server"))
        self.assertIsNone(r.header("x-internal"))
        self.assertEqual(r.body, b"ok\n")

    @unittest.skipUnless(CURL, "curl not installed")
    def test_rules_over_http2(self):
        lbd, port, b = self.start()
        status, headers, body = curl_h2("http://%s:%d/h2" % (HOST, port))
        self.assertEqual((status, body), (200, b"ok\n"))
        self.assertEqual(headers["x-frame-options"], ["DENY"])
        self.assertEqual(headers["x-served-by"], ["b1"])
        self.assertNotIn("server", headers)
        self.assertNotIn("x-internal", headers)
        self.assertEqual(b.wait_requests(1)[0].header("x-env"), "prod")


    @unittest.skipUnless(h2 and CURL, "no python3-h2 or curl")
    def test_response_rules_for_an_http2_server(self):
        sport = free_port()
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "h2_backend.py"), "s1",
                                 str(sport)], stdout=subprocess.PIPE, text=True)
        self.addCleanup(proc.wait, 5)
        self.addCleanup(proc.kill)
        self.assertEqual(proc.stdout.readline().strip(), "ready")
        port = free_port()
        routes = [{"pool": "p", "response_headers": {"set": {"X-Served-By": "${server}"},
                                                     "remove": ["X-Backend"]}}]
        self.start_lbd(config([listener("web", port, routes=routes)],
                              [pool("p", [{"name": "h2s", "address": "%s:%d" % (HOST, sport)}],
                                    protocol="h2")]))
        with HttpClient(port) as c:
            r = c.request()
        self.assertEqual((r.status, r.header("x-served-by"), r.header("x-backend")),
                         (200, "h2s", None))
        status, headers, _ = curl_h2("http://%s:%d/" % (HOST, port))
        self.assertEqual((status, headers["x-served-by"]), (200, ["h2s"]))
        self.assertNotIn("x-backend", headers)
        proc.stdout.close()


class RequestIdTest(LbdTestCase):
    def start(self):
        b = self.backends.http("b1")
        port = free_port()
        routes = [{"pool": "p", "request_headers": {"set": {"X-Trace": "t-${request_id}"}},
                   "response_headers": {"set": {"X-Request-Id": "${request_id}"}}}]
        lbd = self.start_lbd(config([listener("web", port, routes=routes)], [pool("p", [b])]))
        return lbd, port, b

    def test_generated_when_absent_kept_when_given(self):
        lbd, port, b = self.start()
        with HttpClient(port) as c:
            r1 = c.request()
            r2 = c.request(headers=[("X-Request-Id", "abc-123")])
            r3 = c.request(headers=[("X-Request-Id", "a" * 200)])   # too long: replaced
        reqs = b.wait_requests(3)
        ids = [r.headers_all("x-request-id") for r in reqs]
        self.assertRegex(ids[0][0], r"^[0-9a-f]{32}$")
        self.assertEqual(ids[1], ["abc-123"])
        self.assertRegex(ids[2][0], r"^[0-9a-f]{32}$")
        self.assertEqual([len(i) for i in ids], [1, 1, 1])
        self.assertNotEqual(ids[0], ids[2])
        self.assertEqual([r.header("x-trace") for r in reqs], ["t-" + i[0] for i in ids])
        self.assertEqual([r.header("x-request-id") for r in (r1, r2, r3)],
                         [i[0] for i in ids])
        logged = [ln["request_id"] for ln in lbd.access_lines(count=3)]
        self.assertEqual(logged, [i[0] for i in ids])
        self.assertEqual(list(lbd.access_lines(count=3)[0])[-1], "request_id")

    @unittest.skipUnless(CURL, "curl not installed")
    def test_over_http2(self):
        lbd, port, b = self.start()
        status, headers, _ = curl_h2("http://%s:%d/" % (HOST, port))
        self.assertEqual(status, 200)
        rid = b.wait_requests(1)[0].header("x-request-id")
        self.assertRegex(rid, r"^[0-9a-f]{32}$")
        self.assertEqual(headers["x-request-id"], [rid])
        self.assertEqual(lbd.access_lines(count=1)[0]["request_id"], rid)

    def test_refusals_and_redirects_log_one(self):
        b = self.backends.http("b1")
        port = free_port()
        routes = [{"match": {"path_prefix": "/old"}, "redirect": {"to": "/new"}},
                  {"match": {"path_prefix": "/app"}, "pool": "p"}]
        lbd = self.start_lbd(config([listener("web", port, routes=routes)], [pool("p", [b])]))
        with HttpClient(port) as c:
            self.assertEqual(c.request(target="/old/x").status, 301)
            self.assertEqual(c.request(target="/nothing",
                                       headers=[("X-Request-Id", "r-1")]).status, 404)
        lines = lbd.access_lines(count=2)
        self.assertRegex(lines[0]["request_id"], r"^[0-9a-f]{32}$")
        self.assertEqual(lines[1]["request_id"], "r-1")


class InvalidRulesTest(unittest.TestCase):
    def check(self, routes):
        text = ("listeners:\n  - name: web\n    bind: 127.0.0.1:1\n    routes:\n" + routes +
                "pools:\n  - { name: p, servers: [ { address: 127.0.0.1:2 } ] }\n")
        _, r = check_config(self, text)
        self.assertNotEqual(r.returncode, 0)
        return r.stderr

    def test_route_rules_refused_at_their_place(self):
        err = self.check("      - { pool: p, strip_prefix: true }\n"
                         "      - { pool: p, redirect: { to: \"https://a.example\" } }\n"
                         "      - redirect: { to: \"https://a.example\", status: 300 }\n")
        self.assertIn("lbd.yaml:5:20: listeners[0].routes[0].strip_prefix: strip_prefix "
                      "needs match.path_prefix", err)
        self.assertIn("lbd.yaml:6:20: listeners[0].routes[1].redirect: a route has either "
                      "pool or redirect", err)
        self.assertIn("lbd.yaml:7:54: listeners[0].routes[2].redirect.status: expected a "
                      "redirect status", err)

    def test_restore_prefix_needs_strip_prefix(self):
        err = self.check("      - { pool: p, restore_prefix: false }\n")
        self.assertIn("lbd.yaml:5:20: listeners[0].routes[0].restore_prefix: restore_prefix "
                      "applies only with strip_prefix", err)

    def test_header_rules_refused_at_their_place(self):
        err = self.check("      - pool: p\n"
                         "        request_headers:\n"
                         "          set: { Host: a, \"X A\": b, X-S: \"${server}\" }\n"
                         "          remove: [Transfer-Encoding]\n"
                         "        response_headers: { remove: [Connection], set: { X-B: \"$${nope}\" } }\n")
        self.assertIn("lbd.yaml:7:18: listeners[0].routes[0].request_headers.set.Host: "
                      "\"Host\": lbd owns this field", err)
        self.assertIn("lbd.yaml:7:27: listeners[0].routes[0].request_headers.set.X A: "
                      "\"X A\": a field name is made of", err)
        self.assertIn("lbd.yaml:7:42: listeners[0].routes[0].request_headers.set.X-S: "
                      "a request's value may use ${client_ip} and ${request_id}", err)
        self.assertIn("lbd.yaml:8:20: listeners[0].routes[0].request_headers.remove[0]: "
                      "\"Transfer-Encoding\": lbd owns this field", err)
        self.assertIn("listeners[0].routes[0].response_headers.remove[0]: \"Connection\"", err)
        self.assertIn("lbd.yaml:9:63: listeners[0].routes[0].response_headers.set.X-B: a value "
                      "may use ${client_ip}, ${request_id} and ${server}", err)


if __name__ == "__main__":
    unittest.main()

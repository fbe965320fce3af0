"""The status page (SPEC §6 GET /): served on the admin socket and the TCP
admin listener as one self-contained HTML document with a strict
Content-Security-Policy, refused for every method but GET and HEAD, absent
from the metrics listener; and, in headless Chromium, drawn from /status:
every server with its state, also with 500 servers.

The browser tests skip, saying why, where Chromium is missing or cannot
start. The screenshot of the two-pool page stays in the build tree as
tests/artifacts/status-page.png; the 500-server render time the page
measured (its data-first-render-ms) is printed, never asserted."""

import base64
import hashlib
import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from lbdtest import (HOST, LbdTestCase, admin_request, config, free_port, listener, pool,
                     server)

HC = {"type": "tcp", "interval": "100ms", "timeout": "100ms", "rise": 1, "fall": 1}
BROWSER_TIMEOUT = 90


def status_of(lbd):
    return admin_request(lbd, "GET", "/status").json


def servers_by_name(doc):
    return {(p["name"], s["name"]): s for p in doc["pools"] for s in p["servers"]}


def wait_for(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(step)
    raise AssertionError("condition not met within %ss" % timeout)


def element_text(page, tag):
    m = re.search(r"<%s>(.*?)</%s>" % (tag, tag), page, re.S)
    return m.group(1)


def csp_hash(text):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


class Rows(html.parser.HTMLParser):
    """The server rows of a dumped DOM: (pool, server) -> state, the
    attributes of <body>."""

    def __init__(self):
        super().__init__()
        self.pool = None
        self.rows = {}
        self.hidden = set()
        self.body = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "section" and "data-pool" in a:
            self.pool = a["data-pool"]
        elif tag == "tr" and "data-server" in a:
            self.rows[(self.pool, a["data-server"])] = a.get("data-state")
            if "hidden" in a:
                self.hidden.add((self.pool, a["data-server"]))


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """Headless Chromium with a profile of its own (other tests may run one
    beside it)."""

    def __init__(self, test):
        self.binary = find_chromium()
        if not self.binary:
            test.skipTest("Chromium is not installed (Debian package chromium)")
        self.profile = tempfile.mkdtemp(prefix="lbd-chromium-")
        test.addCleanup(shutil.rmtree, self.profile, True)
        r = self.run(["--dump-dom", "data:text/html,<p>ready</p>"], check=False)
        if r is None or "ready" not in r.stdout:
            test.skipTest("Chromium cannot start here: %s"
                          % ("timeout" if r is None else r.stderr.strip()[-300:]))

    def run(self, args, check=True):
        cmd = [self.binary, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
               "--user-data-dir=" + self.profile] + args
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=BROWSER_TIMEOUT,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            if check:
                raise
            return None
        if check and r.returncode != 0:
            raise AssertionError("chromium exited %d: %s" % (r.returncode, r.stderr[-2000:]))
        return r

    def dom(self, url):
        """The DOM once the page's first poll was drawn (virtual time runs
        its timers; the fetch is real)."""
        r = self.run(["--virtual-time-budget=5000", "--dump-dom", url])
        rows = Rows()
        rows.feed(r.stdout)
        return rows, r.stdout

    def screenshot(self, url, path):
        self.run(["--virtual-time-budget=5000", "--hide-scrollbars", "--window-size=1280,900",
                  "--screenshot=" + path, url])


def artifacts_dir():
    top = os.environ.get("TOP_BUILDDIR") or os.getcwd()
    path = os.path.join(top, "tests", "artifacts")
    os.makedirs(path, exist_ok=True)
    return path


class StatusPageTest(LbdTestCase):
    def start(self, pools, resolver=False, **kw):
        self.admin_port = free_port()
        port = free_port()
        text = config([listener("web", port, pools[0]["name"])], pools,
                      admin_listen="%s:%d" % (HOST, self.admin_port), **kw)
        if resolver:
            # A resolver where nothing answers: discovery runs, and its
            # pool stays empty, without leaving this machine.
            text = text.replace("listeners:\n", "resolvers:\n- name: nowhere\n"
                                "  nameservers: [%s:%d]\n  timeout: 100ms\n  attempts: 1\n"
                                "listeners:\n" % (HOST, free_port()), 1)
        return self.start_lbd(text, ports=[port, self.admin_port])

    def two_pools(self):
        """Pool web: a1 up, a2 drained; pool api (checked): b1 up, b2 down
        (nothing listens on its port); pool dns follows a name no resolver
        answers for."""
        a1, a2, b1 = (self.backends.http(n) for n in ("a1", "a2", "b1"))
        dead = "%s:%d" % (HOST, free_port())
        lbd = self.start([pool("web", [a1, a2]),
                          pool("api", [b1, server(dead, name="b2")], health_check=HC),
                          pool("dns", [], discovery={"dns": "api.lbd.invalid", "port": 80,
                                                     "resolver": "nowhere", "refresh": "1s"})],
                         resolver=True)
        r = admin_request(lbd, "POST", "/servers/web/a2/drain")
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: servers_by_name(status_of(lbd))[("api", "b2")]["state"] == "down", 10)
        return lbd

    def url(self):
        return "http://%s:%d/" % (HOST, self.admin_port)


class ServingTest(StatusPageTest):
    def check_page(self, r):
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("content-type"), "text/html; charset=utf-8")
        self.assertEqual(r.header("x-content-type-options"), "nosniff")
        self.assertEqual(r.header("cache-control"), "no-store")
        page = r.body.decode()
        csp = r.header("content-security-policy")
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        self.assertEqual(directives["default-src"], "'none'")
        self.assertEqual(directives["script-src"], csp_hash(element_text(page, "script")))
        self.assertEqual(directives["style-src"], csp_hash(element_text(page, "style")))
        self.assertEqual(directives["connect-src"], "'self'")
        self.assertNotIn("unsafe", csp)
        # Self-contained: nothing fetched but /status.
        self.assertNotRegex(page, r"<(script|link|img|iframe)[^>]* (src|href)=")
        self.assertNotRegex(page, r"https?://")
        # Values from /status become text, never markup (names are
        # restricted, but check results and DNS names come from outside).
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            self.assertNotIn(sink, element_text(page, "script"))
        return page

    def test_served_on_the_socket_and_the_tcp_listener_with_its_policy(self):
        lbd = self.start([pool("web", [self.backends.http("a1")])])
        self.check_page(admin_request(lbd, "GET", "/"))
        page = self.check_page(admin_request((HOST, self.admin_port), "GET", "/"))
        self.assertIn("<title>lbd status</title>", page)
        r = admin_request(lbd, "HEAD", "/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")
        self.assertEqual(int(r.header("content-length")), len(page.encode()))

    def test_every_other_method_is_refused(self):
        lbd = self.start([pool("web", [self.backends.http("a1")])])
        for where in (lbd, (HOST, self.admin_port)):
            for method in ("POST", "PUT", "DELETE", "PATCH"):
                r = admin_request(where, method, "/", body="{}")
                self.assertEqual(r.status, 405, (where, method, r))
                self.assertEqual(r.header("allow"), "GET, HEAD")
                self.assertEqual(r.json, {"ok": False, "error": "method not allowed"})
        self.assertNotIn("admin: POST /", lbd.stderr())

    def test_the_metrics_listener_serves_no_page(self):
        mport = free_port()
        lbd = self.start([pool("web", [self.backends.http("a1")])],
                         metrics_listen="%s:%d" % (HOST, mport))
        from lbdtest import wait_port
        self.assertTrue(wait_port(mport))
        r = admin_request((HOST, mport), "GET", "/")
        self.assertEqual(r.status, 404)
        self.assertNotIn(b"<html", r.body)
        self.assertEqual(admin_request((HOST, mport), "GET", "/metrics").status, 200)
        del lbd

    def test_status_has_what_the_page_draws(self):
        lbd = self.two_pools()
        s = servers_by_name(status_of(lbd))
        self.assertEqual(set(s[("web", "a1")]["responses"]),
                         {"1xx", "2xx", "3xx", "4xx", "5xx", "other"})
        self.assertIn("changed_ago_ms", s[("api", "b2")]["check"])
        self.assertNotIn("changed_ago_ms", s[("api", "b1")]["check"])
        pools = {p["name"]: p for p in status_of(lbd)["pools"]}
        self.assertNotIn("discovery", pools["web"])
        d = pools["dns"]["discovery"]
        self.assertEqual((d["dns"], d["refresh_ms"]), ("api.lbd.invalid", 1000))
        self.assertIsInstance(d["stale_ms"], int)


class BrowserTest(StatusPageTest):
    def test_two_pools_draw_each_server_state(self):
        browser = Browser(self)
        self.two_pools()
        rows, dom = browser.dom(self.url())
        self.assertGreaterEqual(int(rows.body.get("data-polls", "0")), 1, dom[-2000:])
        self.assertEqual(rows.rows, {("web", "a1"): "up", ("web", "a2"): "draining",
                                     ("api", "b1"): "up", ("api", "b2"): "down"})
        self.assertIn('data-listener="web"', dom)
        self.assertIn('data-pool="dns"', dom)
        self.assertIn("dns api.lbd.invalid: ", dom)
        shot = os.path.join(artifacts_dir(), "status-page.png")
        if os.path.exists(shot):
            os.unlink(shot)
        browser.screenshot(self.url(), shot)
        with open(shot, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_a_filter_in_the_address_shows_only_the_servers_it_matches(self):
        browser = Browser(self)
        self.two_pools()
        rows, dom = browser.dom(self.url() + "#filter=DOWN")
        self.assertEqual(len(rows.rows), 4, dom[-2000:])
        self.assertEqual(set(rows.rows) - rows.hidden, {("api", "b2")})
        self.assertIn("1 shown", dom)
        rows, _ = browser.dom(self.url() + "#filter=a")
        self.assertEqual(set(rows.rows) - rows.hidden, {("web", "a1"), ("web", "a2")})

    def test_500_servers_are_all_drawn(self):
        browser = Browser(self)
        servers = [server("%s:%d" % (HOST, 20000 + i), name="s%03d" % i) for i in range(500)]
        self.start([pool("big", servers), pool("small", [self.backends.http("a1")])])
        rows, dom = browser.dom(self.url())
        big = [k for k in rows.rows if k[0] == "big"]
        self.assertEqual(len(big), 500, dom[-2000:])
        self.assertEqual(set(rows.rows[k] for k in big), {"up"})
        # Virtual time stops the page's clock: the time to draw comes from
        # a run in real time, for the record only. Such a run may dump the
        # page before its first read of /status came back: a few tries.
        timed = Rows()
        for _ in range(3):
            r = browser.run(["--timeout=5000", "--dump-dom", self.url()], check=False)
            timed.feed(r.stdout if r else "")
            if "data-first-render-ms" in timed.body:
                break
        sys.stderr.write("status page: 500 servers drawn and laid out in %s ms "
                         "(data-first-render-ms)\n"
                         % timed.body.get("data-first-render-ms", "(not measured)"))


if __name__ == "__main__":
    import unittest
    unittest.main()

"""Several lbd instances as separate hosts (SPEC §8): two lbd hosts and
three backend hosts in network namespaces on one bridge (netns.py), and a
client host. The instances do not talk to each other, and still place every
client the same way: the same header key and the same client address reach
the same backend through either; a sticky cookie from one works on the
other; a client that retries on the second instance loses nothing when the
first is killed; a backend host whose link goes down is taken out by the
health checks of both."""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

from lbdtest import HERE, Lbd, LbdTestCase, admin_request, config, wait_unix
from netns import Network

WHY_NOT = Network.available()
SECRET = "0123456789abcdef0123456789abcdef"

# Runs in the client host: requests given as JSON on argv[1], one fresh
# connection each; prints [[status, backend, set-cookie], ...].
CLIENT = r"""
import http.client, json, sys
out = []
for host, port, path, headers in json.loads(sys.argv[1]):
    try:
        c = http.client.HTTPConnection(host, port, timeout=3)
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        r.read()
        out.append([r.status, r.getheader("X-Backend"), r.getheader("Set-Cookie")])
        c.close()
    except OSError as e:
        out.append([None, repr(e), None])
print(json.dumps(out))
"""

# Runs in the client host: requests to the first instance, each retried on
# the second when the first cannot answer, for SECONDS; prints
# {"ok": n, "retried": n, "lost": n}.
RETRYING_CLIENT = r"""
import http.client, json, sys, time
first, second, port, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
n = {"ok": 0, "retried": 0, "lost": 0}
end = time.monotonic() + seconds
i = 0
while time.monotonic() < end and i < 20000:
    i += 1
    for host in (first, second):
        try:
            c = http.client.HTTPConnection(host, port, timeout=2)
            c.request("GET", "/k%d" % i, headers={"X-Key": "user%d" % (i % 50)})
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                n["ok" if host == first else "retried"] += 1
                break
        except OSError:
            pass
    else:
        n["lost"] += 1
print(json.dumps(n))
"""


@unittest.skipIf(WHY_NOT, WHY_NOT or "")
class SeparateHostsTest(LbdTestCase):
    PORT = 8080
    APPS = ("app1", "app2", "app3")

    def setUp(self):
        super().setUp()
        self.net = Network(["lbd1", "lbd2"] + list(self.APPS) + ["client"])
        self.addCleanup(self.net.close)
        for app in self.APPS:
            self.start_backend(app)
        self.lbds = [self.start_instance(h) for h in ("lbd1", "lbd2")]

    def start_backend(self, app):
        top = os.environ.get("TOP_BUILDDIR") or os.path.join(HERE, "..", "..")
        binary = os.path.join(top, "lbd-demo-backend")
        p = subprocess.Popen([binary, "-q", "%s=%s:%d" % (app, self.net.addr[app], self.PORT)],
                             preexec_fn=self.net.enter(app), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.addCleanup(self.stop_process, p)

    @staticmethod
    def stop_process(p):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)

    def start_instance(self, host):
        addr = self.net.addr[host]
        servers = [{"name": app, "address": "%s:%d" % (self.net.addr[app], self.PORT)}
                   for app in reversed(self.APPS) if host == "lbd2"] or \
                  [{"name": app, "address": "%s:%d" % (self.net.addr[app], self.PORT)}
                   for app in self.APPS]  # the other instance lists them in another order
        check = {"type": "http", "path": "/healthz", "interval": "200ms", "timeout": "150ms",
                 "fall": 2, "rise": 1}
        routes = [{"match": {"path_prefix": "/sticky"}, "pool": "sticky"},
                  {"match": {"path_prefix": "/addr"}, "pool": "by_addr"},
                  {"match": {"path_prefix": "/"}, "pool": "by_key"}]
        text = config([{"name": "web", "bind": "%s:%d" % (addr, self.PORT), "protocol": "http",
                        "routes": routes}],
                      [{"name": "by_key", "balance": "ip_hash", "hash_key": "header:X-Key",
                        "health_check": check, "servers": servers},
                       {"name": "by_addr", "balance": "ip_hash", "servers": servers},
                       {"name": "sticky", "balance": "sticky_cookie",
                        "sticky": {"secret": SECRET}, "servers": servers}])
        lbd = Lbd(text, ports=[], wait=False, preexec=self.net.enter(host))
        self.addCleanup(self._cleanup_lbd, lbd)
        lbd.start()
        self.assertTrue(wait_unix(lbd.admin_socket, 5, lbd.proc), lbd.stderr())
        return lbd

    def client(self, requests):
        p = self.net.run("client", [sys.executable, "-c", CLIENT, json.dumps(requests)],
                         capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def via(self, host, path, headers=None):
        return [self.net.addr[host], self.PORT, path, headers or {}]

    def test_same_key_and_same_address_reach_the_same_backend(self):
        keys = ["user%d" % k for k in range(30)]
        got = {}
        for host in ("lbd1", "lbd2"):
            answers = self.client([self.via(host, "/k", {"X-Key": k}) for k in keys] +
                                  [self.via(host, "/addr")] * 3)
            self.assertEqual({a[0] for a in answers}, {200}, answers)
            got[host] = [a[1] for a in answers]
        self.assertEqual(got["lbd1"], got["lbd2"])
        self.assertEqual(set(got["lbd1"][:30]), set(self.APPS))
        self.assertEqual(len(set(got["lbd1"][30:])), 1, "one client address, one backend")

    def test_a_cookie_from_one_instance_works_on_the_other(self):
        first = self.client([self.via("lbd1", "/sticky")])[0]
        self.assertEqual(first[0], 200, first)
        cookie = first[2].split(";")[0]
        answers = self.client([self.via("lbd2", "/sticky/%d" % i, {"Cookie": cookie})
                               for i in range(10)])
        self.assertEqual({(a[0], a[1]) for a in answers}, {(200, first[1])}, answers)
        self.assertEqual({a[2] for a in answers}, {None}, "a valid cookie is not replaced")

    def test_killing_one_instance_loses_nothing_for_a_retrying_client(self):
        p = subprocess.Popen([sys.executable, "-c", RETRYING_CLIENT, self.net.addr["lbd1"],
                              self.net.addr["lbd2"], str(self.PORT), "3"],
                             preexec_fn=self.net.enter("client"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        self.lbds[0].proc.send_signal(signal.SIGKILL)
        out, err = p.communicate(timeout=60)
        n = json.loads(out)
        print("\nretrying client: %(ok)d answered by lbd1, %(retried)d retried on lbd2, "
              "%(lost)d lost" % n, file=sys.stderr)
        self.assertEqual(n["lost"], 0, (n, err))
        self.assertGreater(n["ok"], 0, n)
        self.assertGreater(n["retried"], 0, n)
        self.lbds[0].proc.wait(5)
        self.lbds[0].returncode = 0  # killed on purpose

    def test_a_backend_host_that_goes_away_is_down_on_both_instances(self):
        self.net.link_down("app2")

        def states():
            return [{s["name"]: s["state"] for s in
                     admin_request(lbd.admin_socket, "GET", "/pools/by_key/servers")
                     .json["servers"]} for lbd in self.lbds]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(s["app2"] != "down" for s in states()):
            time.sleep(0.1)
        for s in states():
            self.assertEqual(s, {"app1": "up", "app2": "down", "app3": "up"})
        answers = self.client([self.via(h, "/k", {"X-Key": "user%d" % k})
                               for h in ("lbd1", "lbd2") for k in range(20)])
        self.assertEqual({a[0] for a in answers}, {200})
        self.assertNotIn("app2", {a[1] for a in answers})
        self.assertEqual([a[1] for a in answers[:20]], [a[1] for a in answers[20:]])


if __name__ == "__main__":
    unittest.main()

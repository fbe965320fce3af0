"""The discovery resolver (src/discovery/resolver.c) against a real DNS
server (unbound, dnsserver.py), through tests/discovery/resolve: one
lookup per run, its targets, status and TTL on stdout."""

import os
import subprocess
import time
import unittest

import dnsserver
from lbdtest import HERE, free_port


def resolve_bin():
    top = os.environ.get("TOP_BUILDDIR") or os.path.join(HERE, "..", "..")
    return os.path.join(top, "tests", "discovery", "resolve")


class Answer:
    def __init__(self, proc, elapsed):
        self.rc = proc.returncode
        self.elapsed = elapsed
        self.stderr = proc.stderr
        lines = proc.stdout.splitlines()
        self.targets = [tuple(line.split()) for line in lines if not line.startswith(("status ", "ttl "))]
        words = next((line.split()[1:] for line in lines if line.startswith("status ")), ["?"])
        self.status = words[0]
        self.why = " ".join(words[1:])
        self.ttl = next((int(line.split()[1]) for line in lines if line.startswith("ttl ")), None)

    def addrs(self):
        return sorted(t[1] for t in self.targets)


@unittest.skipUnless(dnsserver.available(), "unbound is not installed (apt-get install unbound)")
class ResolverTest(unittest.TestCase):
    def setUp(self):
        self.assertTrue(os.access(resolve_bin(), os.X_OK), "build %s first" % resolve_bin())
        self.dns = dnsserver.DnsServer()
        self.addCleanup(self.dns.stop)

    def resolve(self, name, port=None, ns=None, timeout=500, attempts=2, extra=()):
        args = [resolve_bin(), "--ns", ns or self.dns.ns, "--timeout", str(timeout),
                "--attempts", str(attempts)] + list(extra) + [name]
        if port is not None:
            args.append(str(port))
        t0 = time.monotonic()
        p = subprocess.run(args, capture_output=True, text=True, timeout=30)
        a = Answer(p, time.monotonic() - t0)
        self.assertIn(a.rc, (0, 1), "resolve failed: %s" % p.stderr)
        self.assertEqual(a.rc, 0 if a.status == "OK" else 1)
        return a

    def test_a_and_aaaa_with_ttl(self):
        self.dns.add_records([
            "api.test. 120 IN A 192.0.2.10",
            "api.test. 60 IN A 192.0.2.11",
            "api.test. 90 IN AAAA 2001:db8::10",
        ])
        a = self.resolve("api.test", 8080)
        self.assertEqual(a.status, "OK")
        self.assertEqual(a.targets, [("api.test", "192.0.2.10:8080", "0", "0"),
                                     ("api.test", "192.0.2.11:8080", "0", "0"),
                                     ("api.test", "[2001:db8::10]:8080", "0", "0")])
        self.assertEqual(a.ttl, 60)
        # An IPv6-only name.
        self.dns.add_aaaa("v6.test", "2001:db8::20", ttl=45)
        a = self.resolve("v6.test", 443)
        self.assertEqual((a.status, a.addrs(), a.ttl), ("OK", ["[2001:db8::20]:443"], 45))

    def test_srv_targets_and_ports(self):
        self.dns.add_records([
            "_http._tcp.api.test. 30 IN SRV 10 60 8080 a.test.",
            "_http._tcp.api.test. 30 IN SRV 10 40 8081 b.test.",
            "_http._tcp.api.test. 30 IN SRV 20 0 9090 gone.test.",
            "a.test. 300 IN A 192.0.2.1",
            "b.test. 200 IN A 192.0.2.2",
            "b.test. 100 IN AAAA 2001:db8::2",
        ])
        a = self.resolve("_http._tcp.api.test")
        self.assertEqual(a.status, "OK")
        # gone.test has no address: left out, the others stay.
        self.assertEqual(sorted(a.targets), [
            ("a.test", "192.0.2.1:8080", "10", "60"),
            ("b.test", "192.0.2.2:8081", "10", "40"),
            ("b.test", "[2001:db8::2]:8081", "10", "40"),
        ])
        self.assertEqual(a.ttl, 100)
        # Each target's A and AAAA asked once.
        for name in ("a.test", "b.test", "gone.test"):
            self.assertEqual(self.dns.query_count(name, "A"), 1, name)
            self.assertEqual(self.dns.query_count(name, "AAAA"), 1, name)

    def test_consul_style_srv(self):
        name = "_web._tcp.web.service.consul"
        for i in range(3):
            self.dns.add_srv(name, 1, 1, 21000 + i, "node%d.node.dc1.service.consul" % i, ttl=0)
            self.dns.add_a("node%d.node.dc1.service.consul" % i, "10.0.0.%d" % (i + 1), ttl=0)
        a = self.resolve(name)
        self.assertEqual(a.status, "OK")
        self.assertEqual(a.addrs(), ["10.0.0.1:21000", "10.0.0.2:21001", "10.0.0.3:21002"])
        self.assertEqual(a.ttl, 0)
        self.assertEqual(self.dns.query_count(name, "SRV"), 1)

    def test_kubernetes_style_a(self):
        name = "web.default.svc.cluster.local"
        for i in range(3):
            self.dns.add_a(name, "10.244.1.%d" % (i + 10), ttl=5)
        a = self.resolve(name, 8080)
        self.assertEqual(a.status, "OK")
        self.assertEqual(a.addrs(), ["10.244.1.10:8080", "10.244.1.11:8080", "10.244.1.12:8080"])
        self.assertEqual(a.ttl, 5)

    def test_nxdomain_is_empty(self):
        a = self.resolve("nothing.test", 80)
        self.assertEqual((a.status, a.why, a.targets), ("EMPTY", "NXDOMAIN", []))
        a = self.resolve("_http._tcp.nothing.test")
        self.assertEqual((a.status, a.why), ("EMPTY", "NXDOMAIN"))

    def test_no_records_is_empty(self):
        # The name exists (it has a TXT record) but has no A, AAAA or SRV.
        self.dns.add_records(['txt.test. 60 IN TXT "hello"', '_x._tcp.txt.test. 60 IN TXT "x"'])
        a = self.resolve("txt.test", 80)
        self.assertEqual((a.status, a.why), ("EMPTY", "no records"))
        a = self.resolve("_x._tcp.txt.test")
        self.assertEqual((a.status, a.why), ("EMPTY", "no records"))

    def test_srv_whose_targets_do_not_exist_is_empty(self):
        self.dns.add_srv("_http._tcp.lost.test", 1, 1, 80, "lost1.test")
        self.dns.add_srv("_http._tcp.lost.test", 1, 1, 80, "lost2.test")
        a = self.resolve("_http._tcp.lost.test")
        self.assertEqual((a.status, a.why), ("EMPTY", "targets NXDOMAIN"))
        # "." as the target: the service is decidedly not there (RFC 2782).
        self.dns.add_records(["_http._tcp.none.test. 30 IN SRV 0 0 80 ."])
        a = self.resolve("_http._tcp.none.test")
        self.assertEqual((a.status, a.why), ("EMPTY", "no usable records"))

    def test_refused_and_unreachable_fail(self):
        # Outside every zone: REFUSED (c-ares 1.18 tells it apart from an
        # unreachable server no better than this), and fast.
        a = self.resolve("example.com", 80, timeout=2000)
        self.assertEqual((a.status, a.why), ("FAILED", "unreachable, REFUSED or SERVFAIL"))
        self.assertLess(a.elapsed, 1.5)
        a = self.resolve("_http._tcp.example.com", timeout=2000)
        self.assertEqual((a.status, a.why), ("FAILED", "unreachable, REFUSED or SERVFAIL"))
        # Nothing listens on the port: ICMP port unreachable.
        a = self.resolve("example.com", 80, ns="127.0.0.1:%d" % free_port(), timeout=2000)
        self.assertEqual((a.status, a.why), ("FAILED", "unreachable, REFUSED or SERVFAIL"))
        self.assertLess(a.elapsed, 1.5)

    def test_address_answers_itself(self):
        for name, addr in (("192.0.2.7", "192.0.2.7:80"), ("2001:db8::7", "[2001:db8::7]:80")):
            a = self.resolve(name, 80)
            self.assertEqual((a.status, a.targets, a.ttl), ("OK", [(name, addr, "0", "0")], 0))
            self.assertEqual(self.dns.query_count(name), 0)

    def test_bad_names_fail(self):
        for name in ("x" * 254, "a." * 127 + "b", ("y" * 64) + ".test", "_" + "z" * 300):
            a = self.resolve(name, 80)
            self.assertEqual((a.status, a.why), ("FAILED", "bad name"), name[:20])

    def test_stopped_server_fails_within_timeout_times_attempts(self):
        self.dns.add_a("api.test", "192.0.2.1")
        self.assertEqual(self.resolve("api.test", 80).status, "OK")
        self.dns.stop_answering()
        self.addCleanup(self.dns.cont)
        a = self.resolve("api.test", 80, timeout=300, attempts=2)
        self.assertEqual((a.status, a.why), ("FAILED", "timeout"))
        self.assertGreaterEqual(a.elapsed, 0.55)
        self.assertLess(a.elapsed, 0.6 + 0.5)
        a = self.resolve("_http._tcp.api.test", timeout=200, attempts=1)
        self.assertEqual((a.status, a.why), ("FAILED", "timeout"))
        self.assertLess(a.elapsed, 0.2 + 0.5)
        self.dns.cont()
        self.assertEqual(self.resolve("api.test", 80).status, "OK")

    def test_free_cancels_lookups(self):
        self.dns.stop_answering()
        self.addCleanup(self.dns.cont)
        a = self.resolve("api.test", 80, timeout=2000, extra=["--cancel-after", "100"])
        self.assertEqual((a.status, a.why), ("CANCELLED", "cancelled"))
        self.assertLess(a.elapsed, 1.5)

    def test_hundred_srv_records_over_tcp(self):
        name = "_http._tcp.big.service.consul"
        lines = []
        for i in range(100):
            lines.append("%s 30 IN SRV 1 1 %d instance-%03d.big.service.consul." % (name, 20000 + i, i))
            lines.append("instance-%03d.big.service.consul. 30 IN A 10.1.%d.%d" % (i, i // 250, i % 250 + 1))
        self.dns.add_records(lines)
        a = self.resolve(name, timeout=2000)
        self.assertEqual(a.status, "OK", a.why)
        self.assertEqual(len(a.targets), 100)
        self.assertEqual(sorted(int(t[1].rsplit(":", 1)[1]) for t in a.targets), list(range(20000, 20100)))
        # Far over 512 bytes (and EDNS's 1232): truncated over UDP, asked
        # again over TCP, both in the query log.
        self.assertEqual(self.dns.query_count(name, "SRV"), 2)

    def test_search_list_never_applies(self):
        # A Kubernetes pod's resolv.conf. With the search list, each lookup
        # of a name of fewer than 5 dots would cost 4 queries per type.
        conf = os.path.join(self.dns.dir, "resolv.conf")
        with open(conf, "w") as f:
            f.write("nameserver 127.0.0.1\n"
                    "search a.svc.cluster.local svc.cluster.local cluster.local\n"
                    "options ndots:5 timeout:1 attempts:1\n")
        self.dns.add_a("web.default.svc.cluster.local", "10.244.0.5")
        self.dns.add_srv("_http._tcp.web.default.svc.cluster.local", 0, 0, 80, "pod1.svc.cluster.local")
        self.dns.add_a("pod1.svc.cluster.local", "10.244.0.6")
        extra = ["--resolv-conf", conf]
        a = self.resolve("web.default.svc.cluster.local", 80, extra=extra)
        self.assertEqual((a.status, a.addrs()), ("OK", ["10.244.0.5:80"]))
        a = self.resolve("_http._tcp.web.default.svc.cluster.local", extra=extra)
        self.assertEqual((a.status, a.addrs()), ("OK", ["10.244.0.6:80"]))
        a = self.resolve("missing.default.svc.cluster.local", 80, extra=extra)
        self.assertEqual(a.status, "EMPTY")
        for name, qtype in (("web.default.svc.cluster.local", "A"),
                            ("web.default.svc.cluster.local", "AAAA"),
                            ("_http._tcp.web.default.svc.cluster.local", "SRV"),
                            ("pod1.svc.cluster.local", "A"),
                            ("missing.default.svc.cluster.local", "A")):
            self.assertEqual(self.dns.query_count(name, qtype), 1, (name, qtype))
        with open(self.dns.log) as f:
            searched = [line for line in f if "cluster.local.a.svc" in line or
                        "cluster.local.svc" in line or "local.cluster.local" in line]
        self.assertEqual(searched, [])
        # The file is read: its "timeout:1 attempts:1" bound a lookup to
        # a stopped server to about a second (c-ares alone: 5 s x 4).
        self.dns.stop_answering()
        self.addCleanup(self.dns.cont)
        args = [resolve_bin(), "--ns", self.dns.ns, "--resolv-conf", conf,
                "web.default.svc.cluster.local", "80"]
        t0 = time.monotonic()
        p = subprocess.run(args, capture_output=True, text=True, timeout=30)
        self.assertIn("status FAILED timeout", p.stdout)
        self.assertLess(time.monotonic() - t0, 1.8)

    def test_records_change_at_run_time(self):
        self.dns.add_a("flip.test", "192.0.2.1", ttl=1)
        self.assertEqual(self.resolve("flip.test", 80).addrs(), ["192.0.2.1:80"])
        self.dns.add_a("flip.test", "192.0.2.2", ttl=1)
        self.assertEqual(self.resolve("flip.test", 80).addrs(), ["192.0.2.1:80", "192.0.2.2:80"])
        self.dns.remove("flip.test")
        a = self.resolve("flip.test", 80)
        self.assertEqual((a.status, a.why), ("EMPTY", "NXDOMAIN"))


if __name__ == "__main__":
    unittest.main()

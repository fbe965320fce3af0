"""Separate hosts on one machine for lbd's end-to-end tests: network
namespaces joined by veth pairs to a bridge, all made and removed by the
test (as root).

    net = Network(["lbd1", "lbd2", "app1", "app2", "app3", "client"])
    net.addr["lbd1"]                    # "10.213.7.11"
    subprocess.Popen(argv, preexec_fn=net.enter("lbd1"))
    net.link_down("app2")               # the host's cable pulled
    net.close()                         # every namespace, link and bridge

The bridge lives in a namespace of its own, so nothing is added to the
machine's own network; the subnet is a /24 of 10.0.0.0/8 that no route or
address of the machine touches (checked with `ip route` and `ip addr`
first). Names carry the test's PID, so two runs never collide.
Network.available() says why namespaces cannot be made, or None.
"""

import ctypes
import ipaddress
import os
import shutil
import subprocess

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _ip(*args, check=True):
    return subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=10,
                          check=check)


def _networks_in_use():
    """Every network a route or an address of this machine names."""
    out = []
    for args in (["-4", "route", "show", "table", "all"], ["-4", "-o", "addr", "show"]):
        for word in _ip(*args, check=False).stdout.split():
            try:
                out.append(ipaddress.ip_network(word, strict=False))
            except ValueError:
                continue
    return out


def free_subnet():
    used = _networks_in_use()
    for third in range(213, 256):
        net = ipaddress.ip_network("10.%d.%d.0/24" % (third, os.getpid() % 200 + 20))
        if not any(net.overlaps(u) for u in used):
            return net
    raise RuntimeError("no free 10.x.y.0/24 subnet for test hosts")


class Network:
    @staticmethod
    def available():
        if os.geteuid() != 0:
            return "test hosts need root (network namespaces)"
        if not shutil.which("ip"):
            return "test hosts need iproute2 (ip)"
        probe = "lbdprobe%d" % os.getpid()
        r = _ip("netns", "add", probe, check=False)
        if r.returncode != 0:
            return "network namespaces cannot be made here: %s" % r.stderr.strip()
        _ip("netns", "del", probe, check=False)
        return None

    def __init__(self, hosts):
        self.tag = "lt%d" % (os.getpid() % 100000)
        self.subnet = free_subnet()
        self.hosts = list(hosts)
        self.addr = {}
        self.made = []
        self.bridge_ns = self.tag + "br"
        try:
            self._make()
        except Exception:
            self.close()
            raise

    def ns(self, host):
        return "%s-%s" % (self.tag, host)

    def _make(self):
        _ip("netns", "add", self.bridge_ns)
        self.made.append(self.bridge_ns)
        _ip("-n", self.bridge_ns, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.bridge_ns, "link", "set", "br0", "up")
        hosts = list(self.subnet.hosts())
        for i, host in enumerate(self.hosts):
            ns = self.ns(host)
            _ip("netns", "add", ns)
            self.made.append(ns)
            outer, inner = "%sv%d" % (self.tag, i), "%sh%d" % (self.tag, i)
            # Made in the bridge's namespace, one end then moved to the host.
            _ip("-n", self.bridge_ns, "link", "add", outer, "type", "veth", "peer", "name", inner)
            _ip("-n", self.bridge_ns, "link", "set", inner, "netns", ns)
            _ip("-n", self.bridge_ns, "link", "set", outer, "master", "br0", "up")
            _ip("-n", ns, "link", "set", inner, "name", "eth0")
            self.addr[host] = str(hosts[10 + i])
            _ip("-n", ns, "addr", "add", "%s/%d" % (self.addr[host], self.subnet.prefixlen),
                "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")

    def enter(self, host):
        """A preexec_fn that moves the child into HOST's namespace."""
        path = "/run/netns/" + self.ns(host)

        def preexec():
            fd = os.open(path, os.O_RDONLY)
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                os._exit(121)
            os.close(fd)
        return preexec

    def run(self, host, argv, **kw):
        return subprocess.run(argv, preexec_fn=self.enter(host), **kw)

    def link_down(self, host):
        _ip("-n", self.ns(host), "link", "set", "eth0", "down")

    def close(self):
        """Remove every namespace made (their links go with them)."""
        while self.made:
            _ip("netns", "del", self.made.pop(), check=False)

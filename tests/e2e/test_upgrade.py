"""Binary upgrade (lbd(8) UPGRADE): `lbctl upgrade` starts a new lbd that
takes every listening socket, the admin socket and the runtime state from
the old one, which then drains and exits 0. Under load no request fails and
the listening sockets are the same ones; tunnels and downloads that span an
upgrade finish; a new binary that fails leaves the old one serving; the
old process names its successor to systemd.

The new processes are not the test's children: the test makes itself a
child subreaper, so that each one, orphaned when its predecessor exits, is
reparented here and its exit status can be read."""

import collections
import ctypes
import hashlib
import os
import re
import signal
import socket
import ssl
import struct
import threading
import time
import unittest

import backends as B
import dnsserver
import test_tls
from lbdtest import (HttpClient, LbdTestCase, admin_request, build_request, config, free_port,
                     lbctl, listener, metric, pool, simple_config)

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def wait_exit(pid, timeout=10.0):
    """The exit status of PID (a child, or an orphan reparented here), or
    None when it is still running after TIMEOUT."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not reparented here yet
            got = 0
        if got == pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    return None


def listening_inodes(port):
    """The inodes of the sockets listening on 127.0.0.1:PORT."""
    want = "0100007F:%04X" % port
    out = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == want and fields[3] == "0A":
                out.add(int(fields[9]))
    return out


def socket_inodes(pid):
    """The inodes of the sockets PID holds."""
    out = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            m = re.match(r"socket:\[(\d+)\]", os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            continue
        if m:
            out.add(int(m.group(1)))
    return out


class Load:
    """Bounded load from threads: keep-alive clients (a new connection only
    when lbd answers Connection: close, as a draining lbd does) and
    Connection: close clients. Every failure is kept."""

    def __init__(self, port, keepalive=4, close=2, limit=200000):
        self.port, self.limit = port, limit
        self.statuses = collections.Counter()
        self.errors = []
        self.stop_ev = threading.Event()
        self.threads = [threading.Thread(target=self._keepalive, daemon=True)
                        for _ in range(keepalive)]
        self.threads += [threading.Thread(target=self._close, daemon=True) for _ in range(close)]
        for t in self.threads:
            t.start()

    def _count(self, r):
        self.statuses[r.status] += 1

    def _keepalive(self):
        c = None
        for i in range(self.limit):
            if self.stop_ev.is_set():
                break
            try:
                if c is None:
                    c = HttpClient(self.port, timeout=5)
                r = c.request("GET", "/ka%d" % i)
                self._count(r)
                if r.header("connection", "").lower() == "close":
                    c.close()
                    c = None
            except Exception as e:  # a request lost on a reused connection counts
                self.errors.append("keep-alive: %r" % e)
                if c:
                    c.close()
                c = None
        if c:
            c.close()

    def _close(self):
        for i in range(self.limit):
            if self.stop_ev.is_set():
                break
            try:
                with HttpClient(self.port, timeout=5) as c:
                    self._count(c.request("GET", "/c%d" % i, [("Connection", "close")]))
            except Exception as e:
                self.errors.append("close: %r" % e)

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(10)
        return self


class FakeSystemd:
    """A NOTIFY_SOCKET that records which pid sent each message."""

    def __init__(self, name):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + name)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.path = "@" + name
        self.messages = []  # (pid, [lines])

    def collect(self, until, timeout=5.0):
        """Read messages until UNTIL(pid, lines) holds for one of them."""
        deadline = time.monotonic() + timeout
        for pid, lines in self.messages:
            if until(pid, lines):
                return pid, lines
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                break
            pid = 0
            for level, kind, cdata in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", cdata[:12])[0]
            lines = data.decode().split("\n")
            self.messages.append((pid, lines))
            if until(pid, lines):
                return pid, lines
        raise AssertionError("not found in %r" % self.messages)

    def close(self):
        self.sock.close()


class UpgradeTest(LbdTestCase):
    def setUp(self):
        super().setUp()
        become_subreaper()

    def start(self, cfg, **kw):
        lbd = self.start_lbd(cfg, **kw)
        self.serving = lbd.pid
        self.addCleanup(self._stop_newest, lbd)
        return lbd

    def _stop_newest(self, lbd):
        """Stop the newest lbd (a SIGTERM, exit 0) before the harness
        stops the first one and removes its directory."""
        if self.serving == lbd.pid:
            return
        try:
            os.kill(self.serving, signal.SIGTERM)
        except ProcessLookupError:
            return
        rc = wait_exit(self.serving, 10)
        if rc is None:
            os.kill(self.serving, signal.SIGKILL)
            wait_exit(self.serving, 5)
        self.assertEqual(rc, 0, "the newest lbd exited %s on SIGTERM" % rc)

    def upgrade(self, lbd, *args):
        """lbctl upgrade; on success the old pid must exit 0 and the new
        one serve. Returns the lbctl result."""
        old = self.serving
        r = lbctl("upgrade", *args, socket_path=lbd.admin_socket)
        if r.returncode != 0:
            return r
        m = re.match(r"upgraded: pid (\d+) serves generation (\d+)", r.stdout)
        self.assertTrue(m, r.stdout)
        self.serving = int(m.group(1))
        self.assertNotEqual(self.serving, old)
        r.new_pid, r.generation = self.serving, int(m.group(2))
        r.old_pid = old
        return r

    def old_exits_zero(self, lbd, pid, timeout=8.0):
        rc = lbd.wait(timeout) if pid == lbd.pid else wait_exit(pid, timeout)
        self.assertEqual(rc, 0, "old lbd %d: exit %s; stderr:\n%s"
                         % (pid, rc, lbd.stderr()[-3000:]))

    # ---- the sockets -------------------------------------------------------

    def test_three_upgrades_under_load(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        port = free_port()
        lbd = self.start(simple_config(port, [a, b], workers=2))
        inodes = listening_inodes(port)
        self.assertEqual(len(inodes), 2, "one SO_REUSEPORT socket per worker")
        load = Load(port)
        try:
            time.sleep(0.5)
            for _ in range(3):
                before = socket_inodes(self.serving)  # with connections to a and b
                r = self.upgrade(lbd)
                self.assertEqual(r.returncode, 0, r.stderr)
                # What the new process holds of the old one's sockets: the
                # listening ones, the bind lock and the admin socket, no
                # connection.
                self.assertEqual(len(socket_inodes(r.new_pid) & before), len(inodes) + 2)
                self.old_exits_zero(lbd, r.old_pid)
                time.sleep(0.3)
        finally:
            load.stop()
        self.assertEqual(load.errors, [])
        self.assertEqual(set(load.statuses), {200}, load.statuses)
        self.assertGreater(sum(load.statuses.values()), 100)
        self.assertEqual(listening_inodes(port), inodes, "a listening socket was replaced")
        # The admin socket went along: the newest answers, and the file is there.
        st = admin_request(lbd, "GET", "/status").json
        self.assertEqual(st["generation"], r.generation)
        self.assertEqual(r.generation, 4)
        with HttpClient(port) as c:
            self.assertEqual(c.request("GET", "/").status, 200)

    def test_download_and_websocket_span_an_upgrade(self):
        n = 20 << 20
        big = self.backends.http("big", B.big_handler(n))
        ws = self.backends.websocket("ws")
        port, wport = free_port(), free_port()
        cfg = config([listener("web", port, "p"), listener("ws", wport, "w")],
                     [pool("p", [big]), pool("w", [ws])], workers=2)
        lbd = self.start(cfg)
        down = HttpClient(port, timeout=10)
        self.addCleanup(down.close)
        down.send(build_request("GET", "/big"))
        head = down.read_head()
        self.assertEqual(head.status, 200)
        sock = HttpClient(wport, timeout=5)
        self.addCleanup(sock.close)
        sock.send(build_request("GET", "/chat", [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")]))
        self.assertEqual(sock.read_head().status, 101)

        def echo(payload):
            sock.send(B.ws_frame(payload, 2, mask=os.urandom(4)))
            return B.ws_read_frame(lambda k: sock._take(k, time.monotonic() + 5))[2]

        self.assertEqual(echo(b"before"), b"before")
        h = hashlib.sha256()
        got = [0]

        def sink(data):
            h.update(data)
            got[0] += len(data)
        down._take(1 << 20, time.monotonic() + 10, sink)  # some of it, the rest waits
        r = self.upgrade(lbd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(echo(b"after the upgrade"), b"after the upgrade")
        down._take(n - got[0], time.monotonic() + 20, sink)
        self.assertEqual(h.hexdigest(), B.pattern_sha256(n))
        self.assertEqual(wait_exit(r.old_pid, 0.3), None, "the old lbd left its tunnel")
        sock.send(B.ws_frame(b"\x03\xe8", 0x8, mask=b"abcd"))
        self.assertEqual(B.ws_read_frame(lambda k: sock._take(k, time.monotonic() + 5))[1], 0x8)
        self.assertTrue(sock.closed_within(3))
        self.old_exits_zero(lbd, r.old_pid)
        with HttpClient(wport) as c:  # the new one serves the tunnel listener
            c.send(build_request("GET", "/chat", [
                ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("Sec-WebSocket-Version", "13")]))
            self.assertEqual(c.read_head().status, 101)

    def test_unix_listener_keeps_its_socket_file(self):
        a = self.backends.http("a")
        port = free_port()
        cfg = config([listener("web", port, "p"),
                      {"name": "u", "bind": "unix:@TMPDIR@/web.sock", "protocol": "http",
                       "routes": [{"pool": "p"}]}], [pool("p", [a])])
        lbd = self.start(cfg)
        path = os.path.join(lbd.dir, "web.sock")
        inode = os.stat(path).st_ino
        r = self.upgrade(lbd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.old_exits_zero(lbd, r.old_pid)
        self.assertEqual(os.stat(path).st_ino, inode, "the socket file was made again")
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(path)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 200"))

    # ---- failures leave the old one serving --------------------------------

    def test_failed_upgrades_leave_the_old_one_serving(self):
        a = self.backends.http("a")
        port = free_port()
        lbd = self.start(simple_config(port, [a]))
        r = self.upgrade(lbd, "--binary", "/bin/false")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"false \(pid \d+\) exited with status 1 before it served")
        good = lbd.config_text
        lbd.rewrite(good + "bogus_key: 1\n")
        r = self.upgrade(lbd)
        self.assertEqual(r.returncode, 1)
        self.assertIn("configuration rejected", r.stderr)
        self.assertRegex(r.stderr, r"lbd\.yaml:\d+:\d+: ")
        r = lbctl("upgrade", "--binary", "/nonexistent/lbd", socket_path=lbd.admin_socket)
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent/lbd", r.stderr)
        self.assertTrue(lbd.alive())
        with HttpClient(port) as c:
            self.assertEqual(c.request("GET", "/").status, 200)
        lbd.rewrite(good)
        r = self.upgrade(lbd)  # and then one that works
        self.assertEqual(r.returncode, 0, r.stderr)
        self.old_exits_zero(lbd, r.old_pid)
        r = self.upgrade(lbd)  # right after: the admin socket reaches the new one
        self.assertEqual(r.returncode, 0, r.stderr)
        self.old_exits_zero(lbd, r.old_pid)

    def test_one_change_at_a_time(self):
        """While an upgrade is under way (here a wrapper that waits before it
        runs lbd) a reload and a second upgrade are refused."""
        a = self.backends.http("a")
        lbd = self.start(simple_config(free_port(), [a]))
        slow = os.path.join(lbd.dir, "slow-lbd")
        with open(slow, "w") as f:
            f.write("#!/bin/sh\nsleep 1\nexec %s \"$@\"\n" % os.path.abspath(lbd.binary))
        os.chmod(slow, 0o755)
        result = {}
        t = threading.Thread(target=lambda: result.update(r=self.upgrade(lbd, "--binary", slow)))
        t.start()
        time.sleep(0.3)
        r = lbctl("reload", socket_path=lbd.admin_socket)
        self.assertEqual(r.returncode, 1)
        self.assertIn("an upgrade is already under way", r.stderr)
        r = lbctl("upgrade", socket_path=lbd.admin_socket)
        self.assertEqual(r.returncode, 1)
        self.assertIn("an upgrade is already under way", r.stderr)
        t.join(20)
        self.assertEqual(result["r"].returncode, 0, result["r"].stderr)
        self.old_exits_zero(lbd, result["r"].old_pid)

    def test_sigusr2_upgrades(self):
        a = self.backends.http("a")
        port = free_port()
        lbd = self.start(simple_config(port, [a]))
        lbd.proc.send_signal(signal.SIGUSR2)
        self.assertEqual(lbd.wait(8), 0)
        m = re.search(r"upgrade: pid (\d+) \S+ serves", lbd.stderr())
        self.assertTrue(m, lbd.stderr())
        self.serving = int(m.group(1))
        with HttpClient(port) as c:
            self.assertEqual(c.request("GET", "/").status, 200)

    # ---- systemd -------------------------------------------------------------

    def test_notify_names_the_new_main_pid(self):
        fake = FakeSystemd("lbd-e2e-upgrade-%d" % os.getpid())
        self.addCleanup(fake.close)
        a = self.backends.http("a")
        lbd = self.start(simple_config(free_port(), [a]), env={"NOTIFY_SOCKET": fake.path})
        fake.collect(lambda pid, lines: "READY=1" in lines)
        r = self.upgrade(lbd)
        self.assertEqual(r.returncode, 0, r.stderr)
        pid, lines = fake.collect(lambda pid, lines: any(x.startswith("MAINPID=") for x in lines))
        self.assertEqual(pid, r.old_pid, "only the main process may speak")
        self.assertEqual(lines[0], "MAINPID=%d" % r.new_pid)
        self.assertEqual(lines[1], "READY=1")
        self.old_exits_zero(lbd, r.old_pid)
        self.assertFalse([m for m in fake.messages if m[0] == r.new_pid],
                         "the new process spoke before it was the main one")
        os.kill(r.new_pid, signal.SIGTERM)
        pid, lines = fake.collect(lambda pid, lines: "STOPPING=1" in lines)
        self.assertEqual(pid, r.new_pid)
        self.assertEqual(wait_exit(r.new_pid), 0)

    # ---- state ---------------------------------------------------------------

    def test_runtime_state_and_health_carry_over(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        gone = "127.0.0.1:%d" % free_port()  # nothing listens: its checks fail
        port = free_port()
        # Ten checks at 50 ms before a state changes: a process that
        # started afresh would show "gone" up for half a second.
        hc = {"path": "/", "interval": "50ms", "timeout": "40ms", "rise": 10, "fall": 10}
        lbd = self.start(config([listener("web", port, "p")],
                                [pool("p", [a, b, {"name": "gone", "address": gone}],
                                      health_check=hc)]))
        self.assertEqual(lbctl("drain", "p", "a", socket_path=lbd.admin_socket).returncode, 0)
        self.assertEqual(lbctl("weight", "p", "b", "7", socket_path=lbd.admin_socket).returncode,
                         0)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.server_status(lbd, "gone")["state"] != "down":
            time.sleep(0.05)
        self.assertEqual(self.server_status(lbd, "gone")["state"], "down")
        self.assertTrue(lbd.reload()[0])  # generation 2
        changed_ago = self.server_status(lbd, "gone")["check"]["changed_ago_ms"]
        r = self.upgrade(lbd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.generation, 3)
        self.assertEqual(self.server_status(lbd, "a")["state"], "draining")
        gone_st = self.server_status(lbd, "gone")
        self.assertEqual(gone_st["state"], "down")
        # The status page's "last change" is the old process's, not lost.
        self.assertGreaterEqual(gone_st["check"].get("changed_ago_ms", -1), changed_ago,
                                gone_st)
        self.assertEqual(self.server_status(lbd, "b")["weight"], 7)
        self.assertEqual(self.server_status(lbd, "b")["state"], "up")
        with HttpClient(port) as c:
            for _ in range(4):
                r2 = c.request("GET", "/")
                self.assertEqual(r2.status, 200)
                self.assertEqual(r2.header("x-backend"), "b")

    @unittest.skipUnless(test_tls.OPENSSL, "no openssl command")
    def test_tls_sessions_resume_across_the_upgrade(self):
        pki = test_tls.Pki()
        self.addCleanup(pki.close)
        cert = pki.issue("a", "a.test", ["a.test"])
        b = self.backends.http("b")
        port = free_port()
        lst = listener("web", port, "p")
        lst["tls"] = {"certificates": [cert]}
        lbd = self.start(config([lst], [pool("p", [b])], workers=2))
        for version in (None, ssl.TLSVersion.TLSv1_2):
            ctx = test_tls.client_context(pki, max_version=version)
            with test_tls.tls_connect(port, ctx, "a.test") as s:
                self.assertEqual(test_tls.get(s)[0], 200)
                session = s.session
            r = self.upgrade(lbd)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.old_exits_zero(lbd, r.old_pid)
            for _ in range(3):  # whichever worker takes it
                with test_tls.tls_connect(port, ctx, "a.test", session=session) as s:
                    self.assertEqual(test_tls.get(s)[0], 200)
                    self.assertTrue(s.session_reused, "a ticket of the old process")

    def test_passive_outage_carries_over(self):
        a = self.backends.http("a")
        dead = "127.0.0.1:%d" % free_port()  # refuses: one failure puts it out
        port = free_port()
        lbd = self.start(config([listener("web", port, "p")],
                                [pool("p", [a, {"name": "dead", "address": dead}],
                                      passive={"max_fails": 1, "fail_timeout": "1h"})]))
        with HttpClient(port) as c:
            for i in range(4):
                self.assertEqual(c.request("GET", "/p%d" % i).status, 200)
        self.assertTrue(self.server_status(lbd, "dead")["passive"]["out"])
        r = self.upgrade(lbd)
        self.assertEqual(r.returncode, 0, r.stderr)
        st = self.server_status(lbd, "dead")
        self.assertTrue(st["passive"]["out"], st)
        self.assertGreater(st["passive"]["out_for_ms"], 3000 * 1000)
        with HttpClient(port) as c:
            for i in range(4):
                self.assertEqual(c.request("GET", "/q%d" % i).header("x-backend"), "a")
        self.assertEqual(self.server_status(lbd, "dead")["failures"], 0,
                         "the new process tried the server that is out")

    def test_servers_added_at_run_time_carry_over(self):
        a, x = self.backends.http("a"), self.backends.http("x")
        port = free_port()
        lbd = self.start(simple_config(port, [a]))  # no state_file
        r = lbctl("server", "add", "p", "x", x.address, "--weight", "3",
                  socket_path=lbd.admin_socket)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.upgrade(lbd)
        self.assertEqual(r.returncode, 0, r.stderr)
        st = self.server_status(lbd, "x")
        self.assertEqual((st["origin"], st["weight"], st["address"]), ("api", 3, x.address))
        seen = collections.Counter()
        with HttpClient(port) as c:
            for i in range(8):
                seen[c.request("GET", "/m%d" % i).header("x-backend")] += 1
        self.assertEqual(seen, {"a": 2, "x": 6})

    @unittest.skipUnless(dnsserver.available(), "unbound is not installed")
    def test_servers_added_at_run_time_are_checked_after_it(self):
        a, x = self.backends.http("a"), self.backends.http("x")
        port = free_port()
        hc = {"path": "/", "interval": "50ms", "timeout": "40ms"}
        lbd = self.start(config([listener("web", port, "p")], [pool("p", [a], health_check=hc)]))
        r = lbctl("server", "add", "p", "x", x.address, socket_path=lbd.admin_socket)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.upgrade(lbd)
        self.assertEqual(r.returncode, 0, r.stderr)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not self.server_status(lbd, "x")["check"]["checks"]:
            time.sleep(0.05)
        self.assertGreater(self.server_status(lbd, "x")["check"]["checks"], 0,
                           "the new process does not check a server added at run time")

    def test_discovered_servers_serve_before_the_first_answer(self):
        dns = dnsserver.DnsServer()
        self.addCleanup(dns.stop)
        a, b = self.backends.http("a"), self.backends.http("b")
        srv = "_http._tcp.api.service.consul"
        for name, be in (("a", a), ("b", b)):
            target = "%s.node.service.consul" % name
            dns.add_records(["%s. 5 IN A 127.0.0.1" % target,
                             "%s. 5 IN SRV 1 1 %d %s." % (srv, be.port, target)])
        port = free_port()
        text = config([listener("web", port, "p")],
                      [pool("p", [], discovery={"dns": srv, "resolver": "local",
                                                "refresh": "1s", "hold": "1s"})])
        text = text.replace("listeners:\n", "resolvers:\n- name: local\n  nameservers: [%s]\n"
                            "  timeout: 300ms\n  attempts: 1\nlisteners:\n" % dns.ns, 1)
        lbd = self.start(text)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(self.pool_servers(lbd)) < 2:
            time.sleep(0.05)
        self.assertEqual(len(self.pool_servers(lbd)), 2)
        dns.stop_answering()  # the new process gets no answer of its own
        r = self.upgrade(lbd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual({s["origin"] for s in self.pool_servers(lbd)}, {"dns"})
        seen = collections.Counter()
        with HttpClient(port) as c:
            for i in range(6):
                resp = c.request("GET", "/d%d" % i)
                self.assertEqual(resp.status, 200)
                seen[resp.header("x-backend")] += 1
        self.assertEqual(seen, {"a": 3, "b": 3})

    def test_rate_limit_budgets_carry_over(self):
        b = self.backends.http("b")
        port = free_port()
        routes = [{"match": {"path_prefix": "/"}, "pool": "p",
                   "rate_limit": {"key": "header:X-Client", "rate": "1/m", "burst": 3}}]
        lbd = self.start(config([listener("web", port, routes=routes)], [pool("p", [b])],
                                workers=2))

        def statuses(client, n):
            with HttpClient(port) as c:
                return [c.request(headers=[("X-Client", client)]).status for _ in range(n)]
        self.assertEqual(statuses("a", 2), [200, 200])
        self.assertEqual(statuses("full", 4), [200, 200, 200, 429])
        r = self.upgrade(lbd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(statuses("a", 2), [200, 429], "a's budget started afresh")
        self.assertEqual(statuses("full", 1), [429])
        self.assertEqual(statuses("new", 3), [200, 200, 200])

    def test_slow_start_goes_on_where_it_was(self):
        a, b, x = self.backends.http("a"), self.backends.http("b"), self.backends.http("x")
        port = free_port()

        def cfg(servers):
            return config([listener("web", port, "p")], [pool("p", servers, slow_start="20s")])
        lbd = self.start(cfg([a]))  # no state_file: x goes over the handover
        self.assertEqual(lbd.reload(cfg([a, b])), (True, 2))
        r = lbctl("server", "add", "p", "x", x.address, socket_path=lbd.admin_socket)
        self.assertEqual(r.returncode, 0, r.stderr)

        def ramp(name):
            return self.server_status(lbd, name).get("ramp")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and min(ramp("b") or 0, ramp("x") or 0) < 0.15:
            time.sleep(0.05)
        before = {"b": ramp("b"), "x": ramp("x")}
        self.assertGreaterEqual(min(before.values()), 0.15, before)
        r = self.upgrade(lbd)
        self.assertEqual(r.returncode, 0, r.stderr)
        time.sleep(0.6)  # a few of slow start's 250 ms steps in the new process
        for name in ("b", "x"):
            # Still ramping (not its whole weight), from where it was (not
            # from the first step again).
            after = ramp(name)
            self.assertIsNotNone(after, "%s took its whole weight at once" % name)
            self.assertGreaterEqual(after, before[name], name)
            self.assertLess(after, 0.9, name)
        self.assertIsNone(ramp("a"), "a server at its whole weight ramped again")

    def test_spent_retry_budget_carries_over(self):
        def answer_503(backend, req):
            return B.Response(503, b"busy\n", headers=[("X-Backend", backend.name)])
        b1 = self.backends.http("b1", handler=answer_503)
        b2 = self.backends.http("b2", handler=answer_503)
        port = free_port()
        route = {"match": {"path_prefix": "/"}, "pool": "p", "retry_on": [503]}
        # A full bucket holds 10 retries; 1 % of the requests adds none back
        # within this test: 15 requests spend it.
        lbd = self.start(config([listener("web", port, routes=[route])],
                                [pool("p", [b1, b2], retry_budget="1%")], retries=1))

        def statuses(n):
            with HttpClient(port) as c:
                return [c.request("GET", "/r%d" % i).status for i in range(n)]
        self.assertEqual(statuses(15), [503] * 15)
        self.assertEqual(metric(lbd, "lbd_pool_retry_budget_exhausted_total", pool="p"), 5)
        r = self.upgrade(lbd)
        self.assertEqual(r.returncode, 0, r.stderr)
        before = len(b1.requests) + len(b2.requests)
        self.assertEqual(statuses(1), [503])
        self.assertEqual(len(b1.requests) + len(b2.requests), before + 1,
                         "the new process retried: its budget started afresh")
        # The new process counts from zero (lbd(8) UPGRADE: counters restart).
        self.assertEqual(metric(lbd, "lbd_pool_retry_budget_exhausted_total", pool="p"), 1)
        self.assertEqual(metric(lbd, "lbd_pool_retries_total", pool="p", reason="status"), 0)

    def pool_servers(self, lbd):
        return admin_request(lbd, "GET", "/pools/p/servers").json["servers"]

    def server_status(self, lbd, name):
        st = admin_request(lbd, "GET", "/status").json
        for p in st["pools"]:
            for s in p["servers"]:
                if s["name"] == name:
                    return s
        raise AssertionError("no server %s in %r" % (name, st))

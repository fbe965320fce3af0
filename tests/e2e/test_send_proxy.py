"""PROXY protocol to servers (SPEC §10, pools[].send_proxy: v1 | v2): every
connection lbd opens to a server starts with a header naming the client and
the listener's address, on HTTP and TCP listeners; a pooled server
connection serves only the client connection its header names; health
checks send a LOCAL header (v2) or UNKNOWN (v1); send_proxy with h2 or tls
pools is refused at load."""

import ipaddress
import re
import shutil
import struct
import subprocess
import time
import unittest

from lbdtest import (check_config, HOST, HttpClient, LbdTestCase, admin_request,
                     assert_config_errors, config, free_port, listener, pool)
from backends import HTTPBackend, Response, _BadRequest

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def read_proxy_header(conn):
    """The PROXY header at the start of CONN, as (command, src, dst): command
    "PROXY" or "LOCAL" (v1 UNKNOWN counts as LOCAL), src and dst
    "ip:port" or None. Anything else is a _BadRequest (the connection
    closes without an answer, as a server that requires the header does)."""
    first = conn.read_exact(12)
    if first == V2_SIG:
        ver_cmd, fam, length = struct.unpack("!BBH", conn.read_exact(4))
        body = conn.read_exact(length)
        if ver_cmd >> 4 != 2 or (ver_cmd & 15) not in (0, 1):
            raise _BadRequest("bad v2 version/command %#x" % ver_cmd)
        if ver_cmd & 15 == 0:
            return "LOCAL", None, None
        if fam == 0x11 and length >= 12:
            src = "%s:%d" % (ipaddress.IPv4Address(body[0:4]), struct.unpack("!H", body[8:10])[0])
            dst = "%s:%d" % (ipaddress.IPv4Address(body[4:8]), struct.unpack("!H", body[10:12])[0])
        elif fam == 0x21 and length >= 36:
            src = "%s:%d" % (ipaddress.IPv6Address(body[0:16]),
                             struct.unpack("!H", body[32:34])[0])
            dst = "%s:%d" % (ipaddress.IPv6Address(body[16:32]),
                             struct.unpack("!H", body[34:36])[0])
        else:
            raise _BadRequest("unexpected v2 family %#x" % fam)
        return "PROXY", src, dst
    if not first.startswith(b"PROXY "):
        raise _BadRequest("no PROXY header: %r" % first)
    line = (first + conn.readline(limit=120)).decode("ascii")
    if not line.endswith("\r\n") or len(line) > 107:
        raise _BadRequest("bad v1 line %r" % line)
    parts = line[6:-2].split(" ")
    if parts[0] == "UNKNOWN":
        return "LOCAL", None, None
    if parts[0] not in ("TCP4", "TCP6") or len(parts) != 5:
        raise _BadRequest("bad v1 line %r" % line)
    return "PROXY", "%s:%s" % (parts[1], parts[3]), "%s:%s" % (parts[2], parts[4])


class ProxyBackend(HTTPBackend):
    """An HTTP server that requires a PROXY header (v1 or v2) on every
    connection and answers with what it said: X-Src, X-Dst, X-Conn."""

    def __init__(self, name, **kw):
        super().__init__(name, handler=self._answer, **kw)
        self.headers_seen = {}   # conn id -> (command, src, dst)
        self.locals = 0

    def serve(self, conn):
        cmd, src, dst = read_proxy_header(conn)
        with self._lock:
            self.headers_seen[conn.id] = (cmd, src, dst)
            if cmd == "LOCAL":
                self.locals += 1
        super().serve(conn)

    def _answer(self, backend, req):
        cmd, src, dst = self.headers_seen[req.conn_id]
        if req.target == "/healthz":
            return Response(200, b"ok\n")
        return Response(200, b"hello\n", headers=[("X-Src", src or "-"), ("X-Dst", dst or "-"),
                                                 ("X-Cmd", cmd), ("X-Conn", str(req.conn_id))])


class SendProxyTest(LbdTestCase):
    def start(self, version, protocol="http", **pool_kw):
        b = self.backends._add(ProxyBackend("b1").start())
        port = free_port()
        lst = listener("web", port, "p", protocol=protocol)
        self.lbd = self.start_lbd(config([lst], [pool("p", [b], send_proxy=version, **pool_kw)]))
        return port, b

    def check_http(self, version):
        port, b = self.start(version)
        with HttpClient(port) as c:
            r1 = c.request(target="/one")
            r2 = c.request(target="/two")
            local = c.sock.getsockname()
        self.assertEqual((r1.status, r2.status), (200, 200), (r1, r2))
        self.assertEqual(r1.header("x-cmd"), "PROXY")
        self.assertEqual(r1.header("x-src"), "%s:%d" % local)
        self.assertEqual(r1.header("x-dst"), "%s:%d" % (HOST, port))
        # one client connection: its second request reuses the server connection
        self.assertEqual(r1.header("x-conn"), r2.header("x-conn"))
        # another client connection never gets it
        with HttpClient(port) as c:
            r3 = c.request(target="/three")
            other = c.sock.getsockname()
        self.assertEqual(r3.status, 200)
        self.assertEqual(r3.header("x-src"), "%s:%d" % other)
        self.assertNotEqual(r3.header("x-conn"), r1.header("x-conn"))
        # a client that says it is done takes its server connection along
        with HttpClient(port) as c:
            r4 = c.request(target="/four", headers=[("Connection", "close")])
        self.assertEqual(r4.status, 200)
        deadline = time.monotonic() + 3
        while int(r4.header("x-conn")) not in b.closed_ids and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertIn(int(r4.header("x-conn")), b.closed_ids)
        self.assertEqual(b.errors, [])

    def test_v2_http(self):
        self.check_http("v2")

    def test_v1_http(self):
        self.check_http("v1")

    @unittest.skipUnless(shutil.which("curl"), "curl not installed")
    def test_v2_http2_client(self):
        port, b = self.start("v2")
        r = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-D", "-", "-o",
                            "/dev/null", "http://%s:%d/a" % (HOST, port)],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?im)^HTTP/2 200")
        self.assertRegex(r.stdout, r"(?im)^x-cmd: PROXY")
        self.assertRegex(r.stdout, r"(?im)^x-src: %s:\d+" % re.escape(HOST))
        self.assertRegex(r.stdout, r"(?im)^x-dst: %s:%d" % (re.escape(HOST), port))

    def test_v2_tcp_listener(self):
        port, b = self.start("v2", protocol="tcp")
        with HttpClient(port) as c:
            r = c.request(target="/t")
            local = c.sock.getsockname()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("x-src"), "%s:%d" % local)
        self.assertEqual(r.header("x-dst"), "%s:%d" % (HOST, port))

    def test_v1_tcp_listener(self):
        port, b = self.start("v1", protocol="tcp")
        with HttpClient(port) as c:
            r = c.request(target="/t")
            local = c.sock.getsockname()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("x-src"), "%s:%d" % local)

    def test_health_checks_send_local(self):
        for version in ("v2", "v1"):
            with self.subTest(version=version):
                hc = {"type": "http", "path": "/healthz", "interval": "100ms",
                      "timeout": "100ms", "rise": 1, "fall": 1}
                port, b = self.start(version, health_check=hc)
                deadline = time.monotonic() + 5
                while b.locals < 2 and time.monotonic() < deadline:
                    time.sleep(0.02)
                self.assertGreaterEqual(b.locals, 2)
                self.assertEqual(b.errors, [])
                doc = admin_request(self.lbd, "GET", "/status").json
                state = doc["pools"][0]["servers"][0]["state"]
                self.assertEqual(state, "up")
                with HttpClient(port) as c:
                    self.assertEqual(c.request(target="/x").status, 200)
                self.lbd.stop()


class SendProxyConfigTest(unittest.TestCase):
    def check(self, pool_extra):
        text = ("global: {admin: {socket: @TMPDIR@/admin.sock}}\n" +
                "listeners:\n"
                "  - name: web\n"
                "    bind: 127.0.0.1:8080\n"
                "    routes:\n"
                "      - pool: p\n"
                "pools:\n"
                "  - name: p\n"
                "    servers: [{address: 127.0.0.1:9000}]\n" + pool_extra)
        return check_config(self, text)

    def test_good(self):
        for v in ("v1", "v2", "off"):
            _, r = self.check("    send_proxy: %s\n" % v)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_bad(self):
        cases = (("    send_proxy: v3\n", 10, 17, "v1"),
                 ("    protocol: h2\n    send_proxy: v2\n", 11, 5, "h2"),
                 ("    tls: {verify: false}\n    send_proxy: v2\n", 11, 5, "tls"))
        assert_config_errors(self, self.check, cases)


if __name__ == "__main__":
    unittest.main()

"""The real client address behind another balancer. PROXY protocol v1/v2
on listeners (listeners[].proxy_protocol): the header's source address is
the client address for X-Forwarded-For, Forwarded, the access log and
ip_hash; anything else closes the connection. X-Forwarded-For from
listeners[].trusted_proxies: the rightmost untrusted address is the client
for the access log and ip_hash."""

import socket
import struct

from lbdtest import LbdTestCase, HttpClient, config, free_port, listener, pool

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2_tcp4(src, sport, dst="127.0.0.1", dport=80, tlv=b""):
    body = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport) + tlv
    return SIG + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


def v2_tcp6(src, sport, dst="::1", dport=80):
    body = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + \
        struct.pack("!HH", sport, dport)
    return SIG + bytes([0x21, 0x21]) + struct.pack("!H", len(body)) + body


class ProxyProtocolHttpTest(LbdTestCase):
    def _start(self, servers, **pool_kw):
        port = free_port()
        lst = listener("web", port, "p")
        lst["proxy_protocol"] = True
        lbd = self.start_lbd(config([lst], [pool("p", servers, **pool_kw)]))
        return lbd, port

    def test_v1_and_v2_source_is_the_client(self):
        b = self.backends.http("b")
        lbd, port = self._start([b])
        headers = [
            (b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 80\r\n", "192.0.2.7", "for=192.0.2.7"),
            (b"PROXY TCP6 2001:db8::7 ::1 40000 80\r\n", "2001:db8::7", 'for="[2001:db8::7]"'),
            (v2_tcp4("198.51.100.9", 1234, tlv=b"\x04\x00\x02ab"), "198.51.100.9",
             "for=198.51.100.9"),
            (v2_tcp6("2001:db8::9", 1234), "2001:db8::9", 'for="[2001:db8::9]"'),
            (b"PROXY UNKNOWN\r\n", "127.0.0.1", "for=127.0.0.1"),
            (SIG + b"\x20\x00\x00\x00", "127.0.0.1", "for=127.0.0.1"),   # v2 LOCAL
        ]
        for i, (hdr, ip, fwd) in enumerate(headers):
            with HttpClient(port) as c:
                c.send(hdr)
                for k in range(2):       # the address holds for the whole connection
                    r = c.request("GET", "/pp%d-%d" % (i, k))
                    self.assertEqual(r.status, 200, (hdr, r))
                    req = b.requests[-1]
                    self.assertEqual(req.header("x-forwarded-for"), ip)
                    self.assertTrue(req.header("forwarded").startswith(fwd), req.header("forwarded"))
        clients = [ln["client"] for ln in lbd.access_lines(count=12)]
        self.assertEqual(clients, [h[1] for h in headers for _ in range(2)])

    def test_header_in_pieces(self):
        b = self.backends.http("b")
        _, port = self._start([b])
        import time
        with HttpClient(port) as c:
            for piece in (b"PROX", b"Y TCP4 192.0.2.8 127.0.0.1 1 80\r", b"\nGET / HTTP/1.1\r\n",
                          b"Host: x\r\n\r\n"):
                c.send(piece)
                time.sleep(0.05)
            r = c.read_response()
            self.assertEqual(r.status, 200)
        self.assertEqual(b.requests[-1].header("x-forwarded-for"), "192.0.2.8")

    def test_missing_or_broken_header_closes(self):
        b = self.backends.http("b")
        _, port = self._start([b])
        for data in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                     b"PROXY TCP4 192.0.2.300 127.0.0.1 1 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
                     b"PROXY TCP4 192.0.2.3 127.0.0.1 1 80\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
                     SIG + b"\x21\x11\x00\x04abcd",
                     b"PROXY " + b"x" * 200):
            with HttpClient(port) as c:
                c.send(data)
                self.assertEqual(c.read_until_close(), b"", data)
        self.assertNothingReached(b)

    def test_header_deadline(self):
        b = self.backends.http("b")
        port = free_port()
        lst = listener("web", port, "p")
        lst["proxy_protocol"] = True
        self.start_lbd(config([lst], [pool("p", [b])], timeouts={"header": "300ms"}))
        with HttpClient(port) as c:
            c.send(b"PROXY TCP4 192.0.2.3")
            self.assertTrue(c.closed_within(2.0))
        self.assertNothingReached(b)

    def test_ip_hash_uses_the_proxied_address(self):
        bs = [self.backends.http("s%d" % i) for i in range(4)]
        _, port = self._start(bs, balance="ip_hash")
        seen = {}
        for rnd in range(2):
            for k in range(40):
                with HttpClient(port) as c:
                    c.send(b"PROXY TCP4 10.1.%d.%d 127.0.0.1 5000 80\r\n" % (k // 200, k % 200))
                    r = c.request("GET", "/")
                    seen.setdefault(k, r.header("x-backend"))
                    self.assertEqual(seen[k], r.header("x-backend"))
        self.assertGreaterEqual(len(set(seen.values())), 3, seen)


class ProxyProtocolTcpTest(LbdTestCase):
    def test_tcp_listener_strips_header_and_hashes_source(self):
        es = [self.backends.tcp("e%d" % i) for i in range(3)]
        port = free_port()
        lst = listener("t", port, "tp", protocol="tcp")
        lst["proxy_protocol"] = True
        self.start_lbd(config([lst], [pool("tp", es, balance="ip_hash")]))

        def talk(src):
            with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
                s.sendall(b"PROXY TCP4 %s 127.0.0.1 5000 80\r\nhello" % src.encode())
                s.shutdown(socket.SHUT_WR)
                data = b""
                while True:
                    d = s.recv(1000)
                    if not d:
                        break
                    data += d
            return data
        names = {}
        for k in range(20):
            data = talk("10.9.0.%d" % k)
            self.assertTrue(data.startswith(b"hello"), data)    # the header is not relayed
            names[k] = data.decode().rsplit(" ", 1)[-1].strip()
            self.assertEqual(talk("10.9.0.%d" % k).decode().rsplit(" ", 1)[-1].strip(), names[k])
        self.assertGreaterEqual(len(set(names.values())), 2, names)
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(b"hello without a header\r\n")
            self.assertEqual(s.recv(100), b"")
        self.assertEqual(sum(e.connections for e in es), 40)


class TrustedProxiesTest(LbdTestCase):
    def _start(self, servers, trusted, proxy_protocol=False, **pool_kw):
        port = free_port()
        lst = listener("web", port, "p")
        if trusted is not None:
            lst["trusted_proxies"] = trusted
        if proxy_protocol:
            lst["proxy_protocol"] = True
        lbd = self.start_lbd(config([lst], [pool("p", servers, **pool_kw)]))
        return lbd, port

    def test_rightmost_untrusted_is_the_client(self):
        b = self.backends.http("b")
        lbd, port = self._start([b], ["127.0.0.1", "10.0.0.0/8", "2001:db8::/32"])
        cases = [
            ([], "127.0.0.1"),
            (["203.0.113.5"], "203.0.113.5"),
            (["203.0.113.5, 10.0.0.2"], "203.0.113.5"),
            (["198.51.100.1, 203.0.113.5 , 10.0.0.2"], "203.0.113.5"),
            (["198.51.100.1", "203.0.113.6,10.1.2.3"], "203.0.113.6"),  # two fields
            (["2001:db8::5, [2001:db9::1]"], "2001:db9::1"),
            (["10.0.0.1, 10.0.0.2"], "10.0.0.1"),              # all trusted: the leftmost
            (["unknown, 10.0.0.2"], "10.0.0.2"),               # not an address: stop
            (["203.0.113.5:4000"], "127.0.0.1"),               # with a port: not an address
        ]
        with HttpClient(port) as c:
            for xff, _ in cases:
                r = c.request("GET", "/", headers=[("X-Forwarded-For", v) for v in xff])
                self.assertEqual(r.status, 200)
        # the chain reaches the server with the peer appended, as always
        self.assertEqual(b.requests[2].header("x-forwarded-for"), "203.0.113.5, 10.0.0.2, 127.0.0.1")
        clients = [ln["client"] for ln in lbd.access_lines(count=len(cases))]
        self.assertEqual(clients, [want for _, want in cases])

    def test_untrusted_peer_is_the_client(self):
        b = self.backends.http("b")
        lbd, port = self._start([b], ["10.0.0.0/8"])
        lbd2, port2 = self._start([b], None)
        for p in (port, port2):
            with HttpClient(p) as c:
                r = c.request("GET", "/", headers=[("X-Forwarded-For", "203.0.113.5")])
                self.assertEqual(r.status, 200)
        self.assertEqual(lbd.access_lines(count=1)[0]["client"], "127.0.0.1")
        self.assertEqual(lbd2.access_lines(count=1)[0]["client"], "127.0.0.1")

    def test_ip_hash_by_forwarded_client_behind_proxy_protocol(self):
        bs = [self.backends.http("s%d" % i) for i in range(4)]
        _, port = self._start(bs, ["10.0.0.0/8"], proxy_protocol=True, balance="ip_hash")
        seen = {}
        for rnd in range(2):
            for k in range(30):
                with HttpClient(port) as c:
                    # a trusted L4 hop (PROXY source 10.9.9.9) in front of an
                    # HTTP hop that sent X-Forwarded-For
                    c.send(b"PROXY TCP4 10.9.9.%d 127.0.0.1 5000 80\r\n" % (rnd + 1))
                    r = c.request("GET", "/", headers=[("X-Forwarded-For", "198.51.100.%d" % k)])
                    seen.setdefault(k, r.header("x-backend"))
                    self.assertEqual(seen[k], r.header("x-backend"), k)
        self.assertGreaterEqual(len(set(seen.values())), 3, seen)

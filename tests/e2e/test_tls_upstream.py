"""TLS from lbd to servers (pools[].tls): verification with a CA and SNI,
verification failures (wrong CA, name mismatch) and verify: false, pooled
TLS connections and session resumption, tcp listeners and WebSocket tunnels
over TLS, servers that stall in the handshake or speak plain HTTP, the
configuration errors `lbd -t` and a reload report, and active health checks
of a pool with tls (over TLS, with the pool's verification).

The certificates are made here with the openssl command: a CA, a server
certificate for backend.test and 127.0.0.1 signed by it, and a second CA
that signed nothing the servers use."""

import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import backends as B
from lbdtest import (LbdTestCase, HttpClient, build_request, config, free_port, http_request,
                     lbd_bin, listener, pool, server)
from test_health import server_status, wait_for, wait_state

WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
CERTS = None


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, timeout=60,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def _make_ca(d, name):
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-days", "2",
             "-subj", "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def _make_cert(d, name, ca, san):
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth,clientAuth\n" % san)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name, cwd=d)
    _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
             "-CAcreateserial", "-out", name + ".pem", "-days", "2",
             "-extfile", name + ".ext", cwd=d)


def setUpModule():
    global CERTS
    if not shutil.which("openssl"):
        raise unittest.SkipTest("no openssl command")
    CERTS = tempfile.mkdtemp(prefix="lbd-tls-up-")
    _make_ca(CERTS, "ca")
    _make_ca(CERTS, "otherca")
    _make_cert(CERTS, "backend", "ca", "DNS:backend.test,IP:127.0.0.1")
    _make_cert(CERTS, "client", "ca", "DNS:lbd.test")


def tearDownModule():
    if CERTS:
        shutil.rmtree(CERTS, ignore_errors=True)


def cert(name):
    return os.path.join(CERTS, name)


def server_ctx(names=None, client_ca=None):
    """A server-side context with the backend certificate; NAMES collects
    the SNI each handshake carried (None: none)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert("backend.pem"), cert("backend.key"))
    if names is not None:
        def on_sni(sock, name, _ctx):
            names.append(name)
        ctx.sni_callback = on_sni
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    return ctx


def tls_pool(name, servers, tls, **kw):
    p = pool(name, servers, **kw)
    p["tls"] = tls
    return p


class TlsUpstreamTest(LbdTestCase):
    def _start(self, backends_list, tls, timeouts=None, retries=None, level="info",
               **pool_kw):
        port = free_port()
        lbd = self.start_lbd(config([listener("web", port, "p")],
                                    [tls_pool("p", backends_list, tls, **pool_kw)],
                                    timeouts=timeouts, retries=retries, level=level))
        return lbd, port

    def _wait_log(self, lbd, pattern, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, lbd.stderr())
            if m:
                return m
            time.sleep(0.05)
        self.fail("no log line matching %r in:\n%s" % (pattern, lbd.stderr()[-3000:]))

    def test_verified_with_ca_and_sni(self):
        names = []
        b = self.backends.http("b1", tls=server_ctx(names))
        lbd, port = self._start([b], {"ca": cert("ca.pem"), "sni": "backend.test"})
        r = http_request(port, "GET", "/hello")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"b1\n")
        self.assertEqual(b.targets(), ["/hello"])
        self.assertGreaterEqual(b.tls_handshakes, 1)
        self.assertIn("backend.test", names)
        self.assertEqual(b.tls_errors, [])

    def test_ip_address_checked_against_ip_san_and_no_sni(self):
        """No sni: an IP literal sends none and is checked as an IP SAN."""
        names = []
        b = self.backends.http("b1", tls=server_ctx(names))
        lbd, port = self._start([b], {"ca": cert("ca.pem")})
        r = http_request(port, "GET", "/")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(names)
        self.assertEqual(set(names), {None})

    def test_wrong_ca_is_502_with_the_reason_then_verify_false_works(self):
        b = self.backends.http("b1", tls=server_ctx())
        lbd, port = self._start([b], {"ca": cert("otherca.pem"), "sni": "backend.test"},
                                retries=0)
        r = http_request(port, "GET", "/")
        self.assertErrorResponse(r, 502)
        self._wait_log(lbd, r"warn.*pool p: server b1 \(127\.0\.0\.1:\d+\): TLS handshake "
                            r"failed: certificate verify failed: unable to get local issuer "
                            r"certificate")
        self.assertEqual(b.targets(), [])
        st = [s for s in lbd_status(lbd) if s["name"] == "b1"][0]
        self.assertGreaterEqual(st["failures"], 1)

        port2 = free_port()
        lbd2 = self.start_lbd(config([listener("web", port2, "p")],
                                     [tls_pool("p", [b], {"verify": False})]))
        r = http_request(port2, "GET", "/unverified")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(b.targets(), ["/unverified"])

    def test_name_mismatch_is_502(self):
        b = self.backends.http("b1", tls=server_ctx())
        lbd, port = self._start([b], {"ca": cert("ca.pem"), "sni": "other.test"}, retries=0)
        r = http_request(port, "GET", "/")
        self.assertErrorResponse(r, 502)
        self._wait_log(lbd, r"pool p: server b1 .*certificate verify failed: hostname mismatch")
        self.assertEqual(b.targets(), [])

    def test_verify_name_separate_from_sni(self):
        names = []
        b = self.backends.http("b1", tls=server_ctx(names))
        lbd, port = self._start([b], {"ca": cert("ca.pem"), "sni": "front.test",
                                      "verify_name": "backend.test"})
        r = http_request(port, "GET", "/")
        self.assertEqual(r.status, 200, r)
        self.assertIn("front.test", names)

    def test_verification_failure_is_retried_on_another_server(self):
        """A failed handshake is a connect-phase failure: no request byte
        was sent, so the next server gets the request."""
        bad = self.backends.http("bad", tls=server_ctx())
        good = self.backends.http("good", tls=server_ctx())
        port = free_port()
        # bad is reached as "localhost": its certificate names neither
        lbd = self.start_lbd(config(
            [listener("web", port, "p")],
            [tls_pool("p", [server("localhost:%d" % bad.port, name="bad"), good],
                      {"ca": cert("ca.pem")})], retries=1))
        for i in range(4):
            r = http_request(port, "GET", "/r%d" % i)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, b"good\n")
        self.assertEqual(bad.targets(), [])
        self.assertEqual(len(good.targets()), 4)
        self._wait_log(lbd, r"pool p: server bad \(localhost:\d+\): TLS handshake failed: "
                            r"certificate verify failed: hostname mismatch")

    def test_refused_server_in_a_tls_pool(self):
        good = self.backends.http("good", tls=server_ctx())
        port = free_port()
        dead = self.backends.dead_address()
        lbd = self.start_lbd(config(
            [listener("web", port, "p")],
            [tls_pool("p", [server(dead, name="dead"), good],
                      {"ca": cert("ca.pem"), "sni": "backend.test"})], retries=1))
        for i in range(4):
            r = http_request(port, "GET", "/r%d" % i)
            self.assertEqual(r.status, 200, r)
        self._wait_log(lbd, r"pool p: server dead \(%s\): connect Connection refused"
                       % re.escape(dead))

    def test_keepalive_reuses_one_tls_connection(self):
        b = self.backends.http("b1", tls=server_ctx())
        lbd, port = self._start([b], {"ca": cert("ca.pem"), "sni": "backend.test"})
        for i in range(5):
            r = http_request(port, "GET", "/k%d" % i)   # a new client connection each
            self.assertEqual(r.status, 200, r)
        with HttpClient(port) as c:
            for i in range(5):
                r = c.request("POST", "/p%d" % i, body=b"x" * 1000)
                self.assertEqual(r.status, 200, r)
        self.assertEqual(len(b.targets()), 10)
        self.assertEqual(b.connections, 1)
        self.assertEqual(b.tls_handshakes, 1)

    def test_reload_closes_pooled_connections_of_the_old_context(self):
        """A reload builds a new TLS context (perhaps with another CA): a
        pooled connection made with the old one is not reused, and a
        request in flight across the reload finishes on its own."""
        b = self.backends.http("b1", handler=B.delay_handler(0.5), tls=server_ctx())
        lbd, port = self._start([b], {"ca": cert("ca.pem"), "sni": "backend.test"})
        self.assertEqual(http_request(port, "GET", "/a").status, 200)
        self.assertEqual(b.connections, 1)
        with HttpClient(port, timeout=10) as slow:
            slow.send(build_request("GET", "/inflight"))
            b.wait_requests(2)
            ok, gen = lbd.reload()
            self.assertTrue(ok, gen)
            r = slow.read_response()
            self.assertEqual(r.status, 200, r)
        self.assertEqual(http_request(port, "GET", "/b").status, 200)
        self.assertEqual(http_request(port, "GET", "/c").status, 200)
        self.assertEqual(b.targets(), ["/a", "/inflight", "/b", "/c"])
        # /inflight came on the old generation's pooled connection; /b
        # needed a new one, which /c reused
        self.assertEqual(b.connections, 2)
        self.assertEqual(b.tls_resumed, 0)   # a new context starts without sessions

    def test_session_resumed_on_a_new_connection(self):
        """The server closes after each response: the next connection
        resumes the session the server gave (TLS 1.3 tickets, and TLS 1.2,
        where a resumed connection keeps its session)."""
        def closing(backend, req):
            return B.Response(200, b"bye\n", close=True)
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            with self.subTest(version=version):
                ctx = server_ctx()
                ctx.maximum_version = version
                b = self.backends.http("b1", handler=closing, tls=ctx)
                lbd, port = self._start([b], {"ca": cert("ca.pem"), "sni": "backend.test"},
                                        level="debug")
                for i in range(4):
                    r = http_request(port, "GET", "/s%d" % i)
                    self.assertEqual(r.status, 200, r)
                deadline = time.monotonic() + 5
                while b.tls_handshakes < 4 and time.monotonic() < deadline:
                    time.sleep(0.02)
                self.assertEqual(b.tls_handshakes, 4)
                self.assertEqual(b.tls_resumed, 3)
                name = "TLSv1.3" if version == ssl.TLSVersion.TLSv1_3 else "TLSv1.2"
                log = lbd.stderr()
                self.assertEqual(len(re.findall(r"debug: pool p: server b1 \(127\.0\.0\.1:\d+\): "
                                                r"connected, %s \S+, new session" % name, log)),
                                 1, log)
                self.assertEqual(len(re.findall(r"debug: pool p: server b1 .*connected, %s "
                                                r"\S+, resumed session" % name, log)), 3, log)

    def test_big_response_streams_over_tls(self):
        n = 3 * 1000 * 1000
        b = self.backends.http("b1", handler=B.big_handler(n, chunked=True), tls=server_ctx())
        lbd, port = self._start([b], {"ca": cert("ca.pem"), "sni": "backend.test"})
        with HttpClient(port, timeout=20) as c:
            r = c.request("GET", "/big")
            self.assertEqual(r.status, 200)
            self.assertEqual(len(r.body), n)
            self.assertEqual(r.header("x-sha256"), B.pattern_sha256(n))

    def test_big_upload_and_concurrent_clients_over_tls(self):
        """Bodies stream to a TLS server with backpressure, and several
        clients at once share the worker's pooled TLS connections."""
        import hashlib
        import threading
        b = self.backends.http("b1", handler=B.digest_handler, tls=server_ctx())
        lbd, port = self._start([b], {"ca": cert("ca.pem"), "sni": "backend.test"})
        body = os.urandom(4 * 1000 * 1000)
        with HttpClient(port, timeout=30) as c:
            r = c.request("POST", "/up", body=body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, ("%d %s\n" % (len(body), hashlib.sha256(body).hexdigest()))
                         .encode())
        results = []

        def client(k):
            data = os.urandom(20000 + k)
            with HttpClient(port, timeout=30) as c:
                for i in range(10):
                    r = c.request("POST", "/c%d/%d" % (k, i), body=data)
                    results.append(r.status == 200 and r.body.startswith(
                        ("%d %s" % (len(data), hashlib.sha256(data).hexdigest())).encode()))
        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(len(results), 80)
        self.assertTrue(all(results))
        self.assertLessEqual(b.connections, 9)
        self.assertEqual(b.tls_errors, [])

    def test_websocket_over_tls_upstream(self):
        ws = self.backends.websocket("ws", tls=server_ctx())
        lbd, port = self._start([ws], {"ca": cert("ca.pem"), "sni": "backend.test"})
        c = HttpClient(port, timeout=5)
        self.addCleanup(c.close)
        c.send(build_request("GET", "/chat", [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", WS_KEY), ("Sec-WebSocket-Version", "13")]))
        r = c.read_head()
        self.assertEqual(r.status, 101, r)
        for payload in (b"hello", os.urandom(100000)):
            c.send(B.ws_frame(payload, 2, mask=os.urandom(4)))
            got = B.ws_read_frame(lambda k: c._take(k, time.monotonic() + 5))
            self.assertEqual(got, (True, 2, payload, False))
        self.assertEqual(ws.tls_handshakes, 1)

    def test_tcp_listener_originates_tls(self):
        e = self.backends.tcp("echo", tls=server_ctx())
        port = free_port()
        self.start_lbd(config([listener("t", port, "echo", protocol="tcp")],
                              [tls_pool("echo", [e], {"ca": cert("ca.pem"),
                                                      "sni": "backend.test"})]))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"hello over tls\n")
            got = b""
            while len(got) < 15:
                d = s.recv(100)
                self.assertTrue(d, "closed early")
                got += d
            self.assertEqual(got, b"hello over tls\n")
            s.shutdown(socket.SHUT_WR)   # close_notify towards the server
            rest = b""
            while True:
                d = s.recv(100)
                if not d:
                    break
                rest += d
            self.assertEqual(rest, b"bye from echo\n")
        self.assertGreaterEqual(e.half_closed, 1)

    def test_tcp_listener_verification_failure_closes(self):
        e = self.backends.tcp("echo", tls=server_ctx())
        port = free_port()
        lbd = self.start_lbd(config([listener("t", port, "echo", protocol="tcp")],
                                    [tls_pool("echo", [e], {"ca": cert("otherca.pem")})],
                                    retries=0))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"x")
            s.settimeout(5)
            # Closed: with a FIN, or with a reset when the "x" was still
            # unread in lbd's socket as it closed (the kernel's rule).
            try:
                self.assertEqual(s.recv(100), b"")
            except ConnectionResetError:
                pass
        self._wait_log(lbd, r"pool echo: server echo .*certificate verify failed")

    def test_client_certificate(self):
        b = self.backends.http("b1", tls=server_ctx(client_ca=cert("ca.pem")))
        lbd, port = self._start([b], {"ca": cert("ca.pem"), "sni": "backend.test",
                                      "cert": cert("client.pem"), "key": cert("client.key")})
        r = http_request(port, "GET", "/mtls")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(b.targets(), ["/mtls"])

    def test_min_version_13_against_a_12_server(self):
        ctx = server_ctx()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        b = self.backends.http("b1", tls=ctx)
        lbd, port = self._start([b], {"ca": cert("ca.pem"), "sni": "backend.test",
                                      "min_version": "1.3"}, retries=0)
        r = http_request(port, "GET", "/")
        self.assertErrorResponse(r, 502)
        self._wait_log(lbd, r"pool p: server b1 .*TLS handshake failed: ")

    def test_stalled_handshake_is_bounded_by_the_connect_timeout(self):
        """A server that accepts and never answers the ClientHello."""
        stall = socket.socket()
        self.addCleanup(stall.close)
        stall.bind(("127.0.0.1", 0))
        stall.listen(16)     # the kernel accepts; nothing ever reads
        good = self.backends.http("good")
        port = free_port()
        lbd = self.start_lbd(config(
            [listener("web", port, None, routes=[
                {"match": {"path_prefix": "/plain"}, "pool": "plain"},
                {"match": {"path_prefix": "/"}, "pool": "p"}])],
            [tls_pool("p", [server("127.0.0.1:%d" % stall.getsockname()[1], name="stall")],
                      {"verify": False}),
             pool("plain", [good])],
            timeouts={"connect": "400ms"}, retries=0))
        t0 = time.monotonic()
        r = http_request(port, "GET", "/", timeout=10)
        took = time.monotonic() - t0
        self.assertErrorResponse(r, 504)
        self.assertLess(took, 5.0)
        self.assertGreaterEqual(took, 0.3)
        self._wait_log(lbd, r"pool p: server stall .*connect or TLS handshake timed out")
        r = http_request(port, "GET", "/plain")
        self.assertEqual(r.status, 200, r)

    def test_plain_http_server_behind_a_tls_pool_is_502(self):
        plain = self.backends.http("plain")
        lbd, port = self._start([plain], {"verify": False}, retries=0)
        for _ in range(3):
            r = http_request(port, "GET", "/", timeout=10)
            self.assertErrorResponse(r, 502)
        self._wait_log(lbd, r"pool p: server plain .*TLS handshake failed: ")
        self.assertTrue(lbd.alive())

    def test_server_that_closes_mid_handshake_is_502(self):
        """Accept, read the ClientHello, close."""
        def closer(backend, req):
            return B.CLOSE
        srv = socket.socket()
        self.addCleanup(srv.close)
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        srv.settimeout(0.2)
        import threading
        stop = threading.Event()

        def loop():
            while not stop.is_set():
                try:
                    s, _ = srv.accept()
                except OSError:
                    continue
                try:
                    s.settimeout(2)
                    s.recv(10)
                finally:
                    s.close()
        t = threading.Thread(target=loop, daemon=True)
        t.start()
        self.addCleanup(t.join, 2)
        self.addCleanup(stop.set)
        lbd, port = self._start([server("127.0.0.1:%d" % srv.getsockname()[1], name="c")],
                                {"verify": False}, retries=0)
        r = http_request(port, "GET", "/", timeout=10)
        self.assertErrorResponse(r, 502)
        self._wait_log(lbd, r"pool p: server c .*TLS handshake failed")


# Room for a TLS handshake with a Python server on a loaded 2-CPU machine.
TLS_HC = {"type": "http", "path": "/healthz", "interval": "400ms", "timeout": "400ms",
          "rise": 2, "fall": 2}


class TlsHealthCheckTest(LbdTestCase):
    """Active checks of a pool with tls speak TLS with the pool's settings
    (SPEC §2 health_check, pools[].tls)."""

    def _start(self, pools, **kw):
        port = free_port()
        lbd = self.start_lbd(config([listener("web", port, pools[0]["name"])], pools, **kw))
        return lbd, port

    def _checked(self, lbd, name, pool_name="p", n=1):
        wait_for(lambda: server_status(lbd, pool_name, name)["check"].get("checks", 0) >= n,
                 10)
        return server_status(lbd, pool_name, name)

    def _last(self, lbd, name, pattern, pool_name="p", timeout=10):
        """The server's status once its check.last matches PATTERN (a check
        may time out now and then on a loaded machine: the next one
        counts)."""
        wait_for(lambda: re.search(pattern, server_status(lbd, pool_name, name)["check"]
                                   .get("last", "")), timeout)
        return server_status(lbd, pool_name, name)

    def test_http_check_over_tls_passes_then_a_500_takes_it_down(self):
        names = []
        a = self.backends.http("a", B.health_handler(), tls=server_ctx(names))
        b = self.backends.http("b", B.health_handler(), tls=server_ctx())
        lbd, port = self._start([tls_pool("p", [a, b], {"ca": cert("ca.pem"),
                                                        "sni": "backend.test"},
                                          health_check=TLS_HC)])
        self._checked(lbd, "a", n=2)
        st = self._last(lbd, "a", r"^200 in \d+ms$")
        self.assertEqual((st["state"], st["check"]["status"]), ("up", "passing"), st)
        # the check went over TLS, with the pool's SNI, and the usual request
        self.assertGreaterEqual(a.health_checks, 2)
        self.assertGreaterEqual(a.tls_handshakes, 2)
        self.assertIn("backend.test", names)
        self.assertEqual(a.tls_errors, [])
        req = [r for r in a.requests if r.target == "/healthz"][0]
        self.assertEqual((req.method, req.header("host")), ("GET", a.address))
        served = {http_request(port, "GET", "/r%d" % i).header("x-backend") for i in range(6)}
        self.assertEqual(served, {"a", "b"})

        a.health_status = 500
        wait_state(lbd, "a", "down", 10)
        st = self._last(lbd, "a", r"^status 500 in \d+ms$")
        self.assertEqual(st["check"]["status"], "failing")
        self.assertRegex(lbd.stderr(), r"pool p: server a is down: 2 failed checks, last: "
                         r"(status 500 in|timeout after)")
        served = {http_request(port, "GET", "/s%d" % i).header("x-backend") for i in range(4)}
        self.assertEqual(served, {"b"})
        a.health_status = 200
        wait_state(lbd, "a", "up", 10)
        self.assertEqual(server_status(lbd, "p", "b")["state"], "up")

    def test_check_fails_when_the_certificate_does_not_verify(self):
        """A wrong CA and a name the certificate lacks: each check fails
        with the TLS reason, in check.last and in the log; the server never
        sees a check request."""
        a = self.backends.http("a", B.health_handler(), tls=server_ctx())
        b = self.backends.http("b", B.health_handler(), tls=server_ctx())
        c = self.backends.http("c", B.health_handler(), tls=server_ctx())
        # c is reached as "localhost": its certificate names backend.test and 127.0.0.1
        lbd, port = self._start([
            tls_pool("p", [a], {"ca": cert("otherca.pem"), "sni": "backend.test"},
                     health_check=TLS_HC),
            tls_pool("q", [b, server("localhost:%d" % c.port, name="c")],
                     {"ca": cert("ca.pem")}, health_check=TLS_HC)])
        wait_state(lbd, "a", "down", 10)
        st = self._last(lbd, "a", r"^TLS handshake failed: certificate verify failed: unable "
                        r"to get local issuer certificate$")
        self.assertEqual(st["check"]["status"], "failing")
        # the log says why too (unless a loaded machine made the last one a timeout)
        self.assertRegex(lbd.stderr(), r"pool p: server a is down: 2 failed checks, last: "
                         r"(TLS handshake failed: certificate verify failed: unable to get "
                         r"local issuer certificate|timeout after)")
        wait_state(lbd, "c", "down", 10, pool_name="q")
        self._last(lbd, "c", r"^TLS handshake failed: certificate verify failed: hostname "
                   r"mismatch$", pool_name="q")
        self._checked(lbd, "b", "q", n=2)
        st = self._last(lbd, "b", r"^200 in", pool_name="q")
        self.assertEqual(st["state"], "up", st)
        self.assertEqual(getattr(a, "health_checks", 0), 0)
        self.assertEqual(getattr(c, "health_checks", 0), 0)
        self.assertErrorResponse(http_request(port, "GET", "/"), 503)
        self.assertTrue(lbd.alive())

    def test_reload_checks_with_the_new_generations_context(self):
        a = self.backends.http("a", B.health_handler(), tls=server_ctx())
        port = free_port()

        def cfg(tls):
            return config([listener("web", port, "p")],
                          [tls_pool("p", [a], tls, health_check=TLS_HC)])
        lbd = self.start_lbd(cfg({"ca": cert("otherca.pem"), "sni": "backend.test"}))
        wait_state(lbd, "a", "down", 10)
        ok, gen = lbd.reload(cfg({"ca": cert("ca.pem"), "sni": "backend.test"}))
        self.assertTrue(ok, gen)
        wait_state(lbd, "a", "up", 10)
        self._last(lbd, "a", r"^200 in \d+ms$")
        self.assertEqual(http_request(port, "GET", "/x").status, 200)
        # and back to a context whose verification fails: down again
        ok, gen = lbd.reload(cfg({"ca": cert("otherca.pem"), "sni": "backend.test"}))
        self.assertTrue(ok, gen)
        wait_state(lbd, "a", "down", 10)
        # verify: false checks pass against the same server
        ok, gen = lbd.reload(cfg({"verify": False}))
        self.assertTrue(ok, gen)
        wait_state(lbd, "a", "up", 10)

    def test_tcp_check_on_a_tls_pool_does_the_handshake(self):
        a = self.backends.http("a", tls=server_ctx())
        plain = self.backends.http("plain")
        hc = {"type": "tcp", "interval": "400ms", "timeout": "400ms", "rise": 1, "fall": 2}
        lbd, port = self._start([tls_pool("p", [a, plain], {"ca": cert("ca.pem"),
                                                            "sni": "backend.test"},
                                          health_check=hc)])
        self._checked(lbd, "a", n=2)
        st = self._last(lbd, "a", r"^connected in \d+ms$")
        self.assertEqual((st["state"], st["check"]["status"]), ("up", "passing"), st)
        self.assertGreaterEqual(a.tls_handshakes, 2)
        self.assertEqual(a.requests, [])
        # a server that accepts the connection but does not speak TLS fails
        wait_state(lbd, "plain", "down", 10)
        self._last(lbd, "plain", r"^TLS handshake failed: ")
        self.assertEqual(http_request(port, "GET", "/").header("x-backend"), "a")
        # and one that refuses it, as in a plain check
        a.stop()
        wait_state(lbd, "a", "down", 10)
        self._last(lbd, "a", r"^connect: Connection refused$")

    def test_timeout_covers_the_handshake(self):
        """A server that accepts TCP and never answers the ClientHello."""
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        self.addCleanup(srv.close)
        hc = dict(TLS_HC, rise=1, fall=1)
        lbd, port = self._start([tls_pool("p", [server("127.0.0.1:%d" % srv.getsockname()[1],
                                                       name="mute")],
                                          {"verify": False}, health_check=hc)])
        wait_state(lbd, "mute", "down", 10)
        self.assertEqual(server_status(lbd, "p", "mute")["check"]["last"],
                         "timeout after 400ms")


def lbd_status(lbd):
    from lbdtest import admin_request
    st = admin_request(lbd, "GET", "/status").json
    return [s for p in st["pools"] for s in p["servers"]]


class TlsUpstreamConfigTest(LbdTestCase):
    def _check(self, tls_yaml):
        d = tempfile.mkdtemp(prefix="lbd-tls-cfg-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "lbd.yaml")
        with open(path, "w") as f:
            f.write("listeners:\n"
                    "  - name: web\n"
                    "    bind: 127.0.0.1:8080\n"
                    "    routes:\n"
                    "      - pool: p\n"
                    "pools:\n"
                    "  - name: p\n"
                    "    tls: %s\n"
                    "    servers:\n"
                    "      - address: 127.0.0.1:9443\n"
                    "global:\n"
                    "  admin: { socket: off }\n" % tls_yaml)
        r = subprocess.run([lbd_bin(), "-t", "-c", path], capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        return path, r

    def test_good(self):
        path, r = self._check("{ ca: %s, sni: backend.test, min_version: \"1.3\" }"
                              % cert("ca.pem"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration OK", r.stdout)
        path, r = self._check("{}")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_missing_ca_file(self):
        path, r = self._check("{ ca: /nonexistent/ca.pem }")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip(),
                         "%s:8:16: pools[0].tls.ca: cannot read CA file /nonexistent/ca.pem: "
                         "No such file or directory" % path)

    def test_ca_file_without_certificates(self):
        path, r = self._check("{ ca: %s }" % cert("backend.ext"))
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"^%s:8:16: pools\[0\]\.tls\.ca: cannot load CA file "
                         % re.escape(path))

    def test_bad_types(self):
        path, r = self._check("true")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip(), "%s:8:10: pools[0].tls: expected a mapping "
                         "(tls: {} for TLS to the servers with every default), got \"true\""
                         % path)
        path, r = self._check("{ verify: maybe, sni: 10.0.0.1 }")
        self.assertEqual(r.returncode, 1)
        self.assertIn("pools[0].tls.verify: expected true or false, got \"maybe\"", r.stderr)
        self.assertIn("pools[0].tls.sni: expected a host name (SNI carries no IP "
                      "addresses), got \"10.0.0.1\"", r.stderr)

    def test_bad_client_key(self):
        path, r = self._check("{ cert: %s, key: %s }" % (cert("client.pem"),
                                                         cert("backend.key")))
        self.assertEqual(r.returncode, 1)
        self.assertIn("pools[0].tls.key: cannot load key %s: key values mismatch"
                      % cert("backend.key"), r.stderr)

    def test_reload_with_a_missing_ca_is_rejected_and_the_old_one_serves(self):
        b = self.backends.http("b1", tls=server_ctx())
        port = free_port()
        good = config([listener("web", port, "p")],
                      [tls_pool("p", [b], {"ca": cert("ca.pem"), "sni": "backend.test"})])
        lbd = self.start_lbd(good)
        bad = good.replace(cert("ca.pem"), "/nonexistent/ca.pem")
        self.assertNotEqual(bad, good)
        ok, errors = lbd.reload(bad)
        self.assertFalse(ok)
        self.assertTrue(any("pools[0].tls.ca: cannot read CA file /nonexistent/ca.pem: "
                            "No such file or directory" in e for e in errors), errors)
        r = http_request(port, "GET", "/still")
        self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    unittest.main()

"""TLS termination on listeners: certificates chosen by SNI (SAN names,
wildcards, CN, the default), ALPN, `lbd -t` rejecting bad certificates and
keys, reloads that swap certificates under live connections, session
resumption across connections and reloads, X-Forwarded-Proto and Secure
cookies, TLS on tcp listeners, min_version, and hostile clients (garbage,
plain HTTP, stalled handshakes).

The CA and certificates are made with the openssl command in a temporary
directory for the test class."""

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

import backends as B
from lbdtest import (HOST, HttpClient, Lbd, LbdTestCase, build_request, config, curl, free_port,
                     lbd_bin, listener, pool)

OPENSSL = shutil.which("openssl")


def run(*args, cwd=None):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=60)


class Pki:
    """A CA and certificates signed by it, in DIR."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="lbd-tls-")
        self.dir = self.tmp.name
        self.ca = self.path("ca.pem")
        run(OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", self.path("ca.key"), "-out", self.ca, "-days", "30",
            "-subj", "/CN=lbd test CA")
        with open(self.path("ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca = d\n[d]\ndatabase = %s\nnew_certs_dir = %s\n"
                    "serial = %s\ndefault_md = sha256\npolicy = p\ncopy_extensions = copy\n"
                    "[p]\ncommonName = supplied\n"
                    % (self.path("index.txt"), self.dir, self.path("serial")))
        open(self.path("index.txt"), "w").close()
        with open(self.path("serial"), "w") as f:
            f.write("01\n")

    def path(self, name):
        return os.path.join(self.dir, name)

    def issue(self, name, cn, sans=None, start=None, end=None, rsa=False):
        """NAME.pem and NAME.key for CN with DNS SANS; START/END as
        YYYYMMDDHHMMSSZ (default: valid now for 5 days); an EC P-256 key,
        or RSA 2048 with RSA."""
        key, csr, pem = self.path(name + ".key"), self.path(name + ".csr"), self.path(name + ".pem")
        newkey = ["-newkey", "rsa:2048"] if rsa else \
            ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        args = [OPENSSL, "req"] + newkey + [
            "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + cn]
        if sans:
            args += ["-addext", "subjectAltName=" + ",".join("DNS:" + s for s in sans)]
        run(*args)
        args = [OPENSSL, "ca", "-batch", "-config", self.path("ca.cnf"), "-cert", self.ca,
                "-keyfile", self.path("ca.key"), "-in", csr, "-out", pem, "-notext"]
        if start:
            args += ["-startdate", start, "-enddate", end]
        else:
            args += ["-days", "5"]
        run(*args)
        return {"cert": pem, "key": key}

    def close(self):
        self.tmp.cleanup()


def client_context(pki, max_version=None, alpn=None, verify_name=True):
    ctx = ssl.create_default_context(cafile=pki.ca)
    ctx.check_hostname = verify_name
    if max_version:
        ctx.maximum_version = max_version
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def tls_connect(port, ctx, name=None, session=None, timeout=5.0):
    raw = socket.create_connection((HOST, port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=name, session=session)
    except Exception:
        raw.close()
        raise


def read_response(s, timeout=5.0):
    """One HTTP response with a Content-Length from S: (status, headers, body)."""
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError("closed before a response head: %r" % data)
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = [tuple(x.strip() for x in ln.split(":", 1)) for ln in lines[1:]]
    length = int(dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError("closed inside the body")
        body += chunk
    return status, headers, body


def get(s, target="/", host="a.test"):
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, host)).encode())
    return read_response(s)


def subject_cn(s):
    return dict(x[0] for x in s.getpeercert()["subject"])["commonName"]


def closed_within(sock, timeout):
    """True when the peer closes (EOF or reset) within TIMEOUT seconds."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sock.recv(4096):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


@unittest.skipUnless(OPENSSL, "no openssl command")
class TlsTest(LbdTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        p = cls.pki
        cls.a = p.issue("a", "a.test", ["a.test", "www.a.test"])
        cls.b = p.issue("b", "b.test", ["*.b.test"])
        cls.c = p.issue("c", "c.test")  # no SAN: its CN is its name
        cls.expired = p.issue("old", "old.test", ["old.test"], "20200101000000Z",
                              "20200201000000Z")
        cls.mismatch = {"cert": cls.a["cert"], "key": cls.b["key"]}

    @classmethod
    def tearDownClass(cls):
        cls.pki.close()

    def tls_config(self, port, backend, certs=None, protocol="http", tls_extra=None,
                   pool_kw=None, timeouts=None, **kw):
        lst = listener("web", port, "p", protocol=protocol)
        lst["tls"] = dict({"certificates": certs or [self.a, self.b, self.c]},
                          **(tls_extra or {}))
        return config([lst], [pool("p", [backend], **(pool_kw or {}))], timeouts=timeouts, **kw)

    def start_tls(self, backend=None, **kw):
        b = backend or self.backends.http("b1")
        port = free_port()
        lbd = self.start_lbd(self.tls_config(port, b, **kw))
        return lbd, port, b

    # ---- certificates -----------------------------------------------------

    def test_sni_picks_the_certificate(self):
        lbd, port, b = self.start_tls()
        cases = [("a.test", "a.test"), ("www.a.test", "a.test"), ("x.b.test", "b.test"),
                 ("API.B.TEST", "b.test"), ("c.test", "c.test")]
        for name, cn in cases:
            with tls_connect(port, client_context(self.pki), name) as s:
                self.assertEqual(subject_cn(s), cn, name)
                status, _, body = get(s, host=name)
                self.assertEqual((status, body), (200, b"b1\n"))
        # the default: no SNI, an unknown name, a wildcard one label too deep
        for name in (None, "unknown.test", "y.x.b.test", "b.test"):
            with tls_connect(port, client_context(self.pki, verify_name=False), name) as s:
                self.assertEqual(subject_cn(s), "a.test", name)

    def test_alpn_selects_h2_then_http11(self):
        lbd, port, b = self.start_tls()
        ctx = client_context(self.pki, alpn=["h2", "http/1.1"])
        with tls_connect(port, ctx, "a.test") as s:
            self.assertEqual(s.selected_alpn_protocol(), "h2")
        ctx = client_context(self.pki, alpn=["http/1.1"])
        with tls_connect(port, ctx, "a.test") as s:
            self.assertEqual(s.selected_alpn_protocol(), "http/1.1")
            self.assertEqual(get(s)[0], 200)
        ctx = client_context(self.pki, alpn=["spdy/3"])
        with tls_connect(port, ctx, "a.test") as s:
            self.assertIsNone(s.selected_alpn_protocol())

    def test_alpn_without_http2(self):
        b = self.backends.http("b1")
        port = free_port()
        lst = listener("web", port, "p")
        lst["http2"] = False
        lst["tls"] = {"certificates": [self.a, self.b, self.c]}
        lbd = self.start_lbd(config([lst], [pool("p", [b])]))
        ctx = client_context(self.pki, alpn=["h2", "http/1.1"])
        with tls_connect(port, ctx, "a.test") as s:
            self.assertEqual(s.selected_alpn_protocol(), "http/1.1")
            self.assertEqual(get(s)[0], 200)
        ctx = client_context(self.pki, alpn=["h2"])
        with tls_connect(port, ctx, "a.test") as s:
            self.assertIsNone(s.selected_alpn_protocol())

    def test_curl_http2_over_tls(self):
        lbd, port, b = self.start_tls()
        out = subprocess.run(["curl", "-s", "--http2", "--cacert", self.pki.ca,
                              "--resolve", "a.test:%d:127.0.0.1" % port, "-o", "/dev/null",
                              "-w", "%{http_version} %{http_code}",
                              "https://a.test:%d/" % port],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.stdout, "2 200")
        req = b.wait_requests(1)[0]
        self.assertEqual(req.header("x-forwarded-proto"), "https")
        self.assertEqual(lbd.access_lines(count=1)[0]["protocol"], "HTTP/2.0")

    def test_curl_https_and_forwarded_proto(self):
        lbd, port, b = self.start_tls()
        for name, cn in (("a.test", "a.test"), ("api.b.test", "b.test")):
            r = curl("-sS", "-v", "--resolve", "%s:%d:127.0.0.1" % (name, port),
                     "--cacert", self.pki.ca, "https://%s:%d/x" % (name, port))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, b"b1\n")
            self.assertIn(("subject: CN=%s" % cn).encode(), r.stderr)
        req = b.wait_requests(2)[-1]
        self.assertEqual(req.header("x-forwarded-proto"), "https")
        self.assertIn("proto=https", req.header("forwarded"))
        self.assertEqual(req.header("host"), "api.b.test:%d" % port)
        line = lbd.access_lines(2)[-1]
        self.assertEqual(line["status"], 200)

    def test_sticky_cookie_is_secure(self):
        lbd, port, b = self.start_tls(pool_kw={"balance": "sticky_cookie"})
        with tls_connect(port, client_context(self.pki), "a.test") as s:
            status, headers, _ = get(s)
        self.assertEqual(status, 200)
        cookies = [v for k, v in headers if k.lower() == "set-cookie"]
        self.assertEqual(len(cookies), 1, headers)
        self.assertTrue(cookies[0].startswith("LBSRV="), cookies)
        self.assertIn("; Secure", cookies[0])

    def check_rejected(self, certs, *expect):
        port = free_port()
        b = self.backends.http("b1")
        d = tempfile.mkdtemp(prefix="lbd-tls-check-")
        self.addCleanup(shutil.rmtree, d)
        path = os.path.join(d, "lbd.yaml")
        with open(path, "w") as f:
            f.write(self.tls_config(port, b, certs=certs, admin_socket="off", access="off"))
        r = subprocess.run([lbd_bin(), "-t", "-c", path], capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 1, r)
        err = r.stderr.decode()
        self.assertIn(path + ":", err)
        self.assertIn("listeners[0].tls.certificates[", err)
        for e in expect:
            self.assertIn(e, err)
        return err

    def test_check_rejects_bad_certificates_and_keys(self):
        err = self.check_rejected([self.a, self.mismatch], "certificates[1].key:",
                                  "private key %s does not match certificate %s"
                                  % (self.b["key"], self.a["cert"]))
        with open(self.b["key"]) as f:
            key_text = f.read()
        for line in key_text.splitlines()[1:-1]:
            self.assertNotIn(line, err)  # never a byte of the key
        self.check_rejected([self.expired], "certificates[0].cert:",
                            "certificate %s expired on Feb  1 00:00:00 2020 GMT"
                            % self.expired["cert"])
        missing = self.pki.path("missing.pem")
        self.check_rejected([{"cert": missing, "key": self.a["key"]}],
                            "cannot open certificate %s: No such file or directory" % missing)
        self.check_rejected([{"cert": self.a["key"], "key": self.a["key"]}],
                            "%s: no PEM certificate" % self.a["key"])
        self.check_rejected([{"cert": self.a["cert"], "key": self.a["cert"]}],
                            "%s: no unencrypted PEM private key" % self.a["cert"])
        # and a good one passes
        port = free_port()
        d = tempfile.mkdtemp(prefix="lbd-tls-check-")
        self.addCleanup(shutil.rmtree, d)
        path = os.path.join(d, "lbd.yaml")
        with open(path, "w") as f:
            f.write(self.tls_config(port, "127.0.0.1:1", admin_socket="off", access="off"))
        r = subprocess.run([lbd_bin(), "-t", "-c", path], capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r)

    def test_reload_rejects_a_bad_certificate_and_keeps_serving(self):
        b = self.backends.http("b1")
        port = free_port()
        lbd = self.start_lbd(self.tls_config(port, b))
        ok, errors = lbd.reload(self.tls_config(port, b, certs=[self.expired]))
        self.assertFalse(ok)
        self.assertTrue(any("expired" in e for e in errors), errors)
        with tls_connect(port, client_context(self.pki), "a.test") as s:
            self.assertEqual(get(s)[0], 200)

    # ---- reloads ------------------------------------------------------------

    def test_reload_swaps_certificates_under_live_connections(self):
        slow = self.backends.http("slow", handler=lambda be, req: B.Response(
            200, b"slow\n", delay=1.0) if req.target == "/slow" else B.default_handler(be, req))
        port = free_port()
        lbd = self.start_lbd(self.tls_config(port, slow, certs=[self.a, self.b]))
        ctx = client_context(self.pki, verify_name=False)
        old = tls_connect(port, ctx, None)
        self.addCleanup(old.close)
        self.assertEqual(subject_cn(old), "a.test")
        self.assertEqual(get(old)[0], 200)
        old.sendall(b"GET /slow HTTP/1.1\r\nHost: a.test\r\n\r\n")
        slow.wait_requests(2)
        ok, gen = lbd.reload(self.tls_config(port, slow, certs=[self.b, self.c]))
        self.assertTrue(ok, gen)
        # the request in flight completes on its TLS session
        status, _, body = read_response(old)
        self.assertEqual((status, body), (200, b"slow\n"))
        # and the connection carries on with the new configuration
        self.assertEqual(get(old)[0], 200)
        with tls_connect(port, ctx, None) as s:
            self.assertEqual(subject_cn(s), "b.test")
            self.assertEqual(get(s)[0], 200)
        with tls_connect(port, ctx, "c.test") as s:
            self.assertEqual(subject_cn(s), "c.test")
        with tls_connect(port, ctx, "a.test") as s:
            self.assertEqual(subject_cn(s), "b.test")  # a is gone: the default

    def test_relative_paths_are_taken_from_the_config_directory(self):
        b = self.backends.http("b1")
        port = free_port()
        lbd = Lbd(self.tls_config(port, b, certs=[{"cert": "certs/c.pem", "key": "certs/c.key"}]))
        self.addCleanup(self._cleanup_lbd, lbd)
        os.mkdir(os.path.join(lbd.dir, "certs"))
        shutil.copy(self.c["cert"], os.path.join(lbd.dir, "certs", "c.pem"))
        shutil.copy(self.c["key"], os.path.join(lbd.dir, "certs", "c.key"))
        lbd.start()
        with tls_connect(port, client_context(self.pki), "c.test") as s:
            self.assertEqual(subject_cn(s), "c.test")
        # not from the working directory
        r = subprocess.run([lbd_bin(), "-t", "-c", lbd.config_path], cwd="/",
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r)

    def test_reload_rereads_the_files(self):
        b = self.backends.http("b1")
        port = free_port()
        cert = {"cert": self.pki.path("live.pem"), "key": self.pki.path("live.key")}
        shutil.copy(self.a["cert"], cert["cert"])
        shutil.copy(self.a["key"], cert["key"])
        lbd = self.start_lbd(self.tls_config(port, b, certs=[cert]))
        ctx = client_context(self.pki, verify_name=False)
        with tls_connect(port, ctx) as s:
            self.assertEqual(subject_cn(s), "a.test")
        shutil.copy(self.c["cert"], cert["cert"])
        shutil.copy(self.c["key"], cert["key"])
        ok, gen = lbd.reload()
        self.assertTrue(ok, gen)
        with tls_connect(port, ctx) as s:
            self.assertEqual(subject_cn(s), "c.test")

    # ---- resumption ---------------------------------------------------------

    def resumed(self, port, ctx, session):
        with tls_connect(port, ctx, "a.test", session=session) as s:
            self.assertEqual(get(s)[0], 200)
            return s.session_reused, s.session

    def check_resumption(self, max_version):
        b = self.backends.http("b1")
        port = free_port()
        lbd = self.start_lbd(self.tls_config(port, b, workers=2))
        ctx = client_context(self.pki, max_version=max_version)
        with tls_connect(port, ctx, "a.test") as s:
            self.assertEqual(get(s)[0], 200)  # a TLS 1.3 ticket comes after the handshake
            self.assertFalse(s.session_reused)
            session = s.session
        self.assertTrue(session.has_ticket)
        # two workers: whichever takes the connection knows the key
        for _ in range(4):
            reused, _ = self.resumed(port, ctx, session)
            self.assertTrue(reused)
        ok, gen = lbd.reload(self.tls_config(port, b, workers=2, certs=[self.a, self.c]))
        self.assertTrue(ok, gen)
        reused, _ = self.resumed(port, ctx, session)
        self.assertTrue(reused, "a ticket from before the reload")

    def test_session_resumption_tls13(self):
        self.check_resumption(None)

    def test_session_resumption_tls12(self):
        self.check_resumption(ssl.TLSVersion.TLSv1_2)

    def test_session_tickets_off(self):
        b = self.backends.http("b1")
        port = free_port()
        self.start_lbd(self.tls_config(port, b, tls_extra={"session_tickets": False}))
        ctx = client_context(self.pki, max_version=ssl.TLSVersion.TLSv1_2)
        with tls_connect(port, ctx, "a.test") as s:
            self.assertEqual(get(s)[0], 200)
            session = s.session
        reused, _ = self.resumed(port, ctx, session)
        self.assertFalse(reused)

    # ---- versions -------------------------------------------------------------

    def test_min_version_13_refuses_a_tls12_client(self):
        lbd, port, b = self.start_tls(tls_extra={"min_version": "1.3"})
        with self.assertRaises(ssl.SSLError):
            tls_connect(port, client_context(self.pki, max_version=ssl.TLSVersion.TLSv1_2),
                        "a.test")
        with tls_connect(port, client_context(self.pki), "a.test") as s:
            self.assertEqual(s.version(), "TLSv1.3")
            self.assertEqual(get(s)[0], 200)

    def test_rsa_and_ec_certificates_side_by_side(self):
        r = self.pki.issue("r", "r.test", ["r.test"], rsa=True)
        lbd, port, b = self.start_tls(certs=[self.a, r])
        for version in (ssl.TLSVersion.TLSv1_2, None):
            ctx = client_context(self.pki, max_version=version)
            with tls_connect(port, ctx, "r.test") as s:
                self.assertEqual(subject_cn(s), "r.test")
                if version:
                    self.assertIn("RSA", s.cipher()[0])
                self.assertEqual(get(s)[0], 200)
            with tls_connect(port, ctx, "a.test") as s:
                self.assertEqual(subject_cn(s), "a.test")
                if version:
                    self.assertIn("ECDSA", s.cipher()[0])

    def test_default_allows_tls12(self):
        lbd, port, b = self.start_tls()
        ctx = client_context(self.pki, max_version=ssl.TLSVersion.TLSv1_2)
        with tls_connect(port, ctx, "a.test") as s:
            self.assertEqual(s.version(), "TLSv1.2")
            self.assertEqual(get(s)[0], 200)

    # ---- tcp listeners ----------------------------------------------------------

    def test_tls_on_a_tcp_listener(self):
        echo = self.backends.tcp("echo")
        lbd, port, _ = self.start_tls(backend=echo, protocol="tcp")
        with tls_connect(port, client_context(self.pki), "x.b.test") as s:
            self.assertEqual(subject_cn(s), "b.test")
            self.assertIsNone(s.selected_alpn_protocol())
            s.sendall(b"hello over tls\n")
            got = b""
            s.settimeout(5)
            while len(got) < 15:
                chunk = s.recv(100)
                self.assertTrue(chunk, got)
                got += chunk
            self.assertEqual(got, b"hello over tls\n")

    def test_tcp_listener_closes_a_stalled_handshake(self):
        echo = self.backends.tcp("echo")
        lbd, port, _ = self.start_tls(backend=echo, protocol="tcp",
                                      timeouts={"header": "1s"})
        raw = socket.create_connection((HOST, port), timeout=5)
        self.addCleanup(raw.close)
        raw.sendall(b"\x16\x03\x01\x02\x00\x01")  # a ClientHello that never ends
        start = time.monotonic()
        self.assertTrue(closed_within(raw, 6))
        self.assertGreater(time.monotonic() - start, 0.5)
        self.assertEqual(echo.connections, 0)  # no server connection for it

    def test_websocket_over_tls(self):
        ws = self.backends.websocket("ws")
        lbd, port, _ = self.start_tls(backend=ws)
        key = "dGhlIHNhbXBsZSBub25jZQ=="
        with tls_connect(port, client_context(self.pki), "a.test") as s:
            s.sendall(("GET /chat HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n" % key).encode())
            s.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                self.assertTrue(chunk, data)
                data += chunk
            head, rest = data.split(b"\r\n\r\n", 1)
            self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
            self.assertIn(B.ws_accept_key(key).encode(), head)
            s.sendall(B.ws_frame(b"ping over tls", mask=b"\x01\x02\x03\x04"))
            buf = [rest]

            def take(n):
                while len(buf[0]) < n:
                    chunk = s.recv(4096)
                    if not chunk:
                        raise AssertionError("closed")
                    buf[0] += chunk
                out, buf[0] = buf[0][:n], buf[0][n:]
                return out
            payload = B.ws_read_frame(take)[2]
            self.assertEqual(payload, b"ping over tls")
        req = ws.wait_requests(1)[0]
        self.assertEqual(req.header("x-forwarded-proto"), "https")

    def test_proxy_protocol_before_tls(self):
        b = self.backends.http("b1")
        echo = self.backends.tcp("echo")
        port, tport = free_port(), free_port()
        web = listener("web", port, "p")
        web.update({"proxy_protocol": True, "tls": {"certificates": [self.a, self.b]}})
        tcp = listener("tcp", tport, "e", protocol="tcp")
        tcp.update({"proxy_protocol": True, "tls": {"certificates": [self.b]}})
        lbd = self.start_lbd(config([web, tcp], [pool("p", [b]), pool("e", [echo])],
                                    timeouts={"header": "2s"}))
        ctx = client_context(self.pki)
        header = b"PROXY TCP4 203.0.113.7 127.0.0.1 5555 443\r\n"
        for split in (False, True):
            raw = socket.create_connection((HOST, port), timeout=5)
            if split:  # the header in pieces, the handshake right behind it
                raw.sendall(header[:7])
                time.sleep(0.1)
                raw.sendall(header[7:])
            else:
                raw.sendall(header)
            with ctx.wrap_socket(raw, server_hostname="x.b.test") as s:
                self.assertEqual(subject_cn(s), "b.test")
                self.assertEqual(get(s)[0], 200)
        req = b.wait_requests(2)[-1]
        self.assertEqual(req.header("x-forwarded-for"), "203.0.113.7")
        self.assertEqual(req.header("x-forwarded-proto"), "https")
        self.assertEqual(lbd.access_lines(2)[-1]["client"], "203.0.113.7")
        # a v2 header on the tcp listener, then TLS to the echo server
        v2 = (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11, 0, 12]) +
              socket.inet_aton("198.51.100.1") + socket.inet_aton("127.0.0.1") +
              (4000).to_bytes(2, "big") + (443).to_bytes(2, "big"))
        raw = socket.create_connection((HOST, tport), timeout=5)
        raw.sendall(v2)
        with ctx.wrap_socket(raw, server_hostname="y.b.test") as s:
            s.sendall(b"ping\n")
            s.settimeout(5)
            self.assertEqual(s.recv(100), b"ping\n")
        # no header, or only TLS: closed, nothing reaches a server
        for p in (port, tport):
            raw = socket.create_connection((HOST, p), timeout=5)
            with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError)):
                ctx.wrap_socket(raw, server_hostname="a.test")
            raw.close()
        self.assertEqual(len(b.wait_requests(3, timeout=0.3)), 2)
        # a header that never ends is closed after the header timeout
        raw = socket.create_connection((HOST, port), timeout=5)
        self.addCleanup(raw.close)
        raw.sendall(b"PROXY TCP4 203.0.113.7")
        self.assertTrue(closed_within(raw, 8))

    # ---- hostile clients ---------------------------------------------------------

    def assert_still_serving(self, port):
        with tls_connect(port, client_context(self.pki), "a.test") as s:
            self.assertEqual(get(s)[0], 200)

    def test_garbage_is_closed(self):
        lbd, port, b = self.start_tls()
        for junk in (b"\x00\xffgarbage" * 50, b"\x16\x03\x01\x00\x05hello",
                     b"\x16\x03\x01\x40\x00" + os.urandom(16384)):
            raw = socket.create_connection((HOST, port), timeout=5)
            try:
                raw.sendall(junk)
                raw.settimeout(5)
                got = b""
                try:
                    while True:
                        chunk = raw.recv(4096)
                        if not chunk:
                            break
                        got += chunk
                except ConnectionResetError:
                    pass
                self.assertNotIn(b"HTTP/1.1", got, junk)
            finally:
                raw.close()
            self.assert_still_serving(port)
        self.assertEqual(len(b.wait_requests(3, timeout=0.5)), 3)  # only the good ones

    def test_plain_http_to_a_tls_port_gets_400(self):
        lbd, port, b = self.start_tls()
        for body in (b"", b"x" * 20000):
            with HttpClient(port) as c:
                c.send(build_request("POST" if body else "GET", "/", body=body,
                                     host="a.test"))
                r = c.read_response()
                self.assertErrorResponse(r, 400)
                self.assertEqual(r.header("connection"), "close")
                self.assertTrue(c.closed_within(5))
        r = curl("-sS", "http://127.0.0.1:%d/" % port)
        self.assertEqual(r.stdout, b"400 Bad Request\n")
        self.assertNothingReached(b)
        lines = lbd.access_lines(3)
        self.assertEqual([ln["status"] for ln in lines], [400, 400, 400])
        self.assert_still_serving(port)

    def test_stalled_handshakes_are_closed_after_the_header_timeout(self):
        lbd, port, b = self.start_tls(timeouts={"header": "1s"})
        silent = socket.create_connection((HOST, port), timeout=5)
        partial = socket.create_connection((HOST, port), timeout=5)
        self.addCleanup(silent.close)
        self.addCleanup(partial.close)
        partial.sendall(b"\x16\x03\x01\x02\x00\x01\x00")
        start = time.monotonic()
        self.assert_still_serving(port)
        self.assertTrue(closed_within(partial, 6))
        self.assertTrue(closed_within(silent, 6))
        self.assertGreater(time.monotonic() - start, 0.5)
        self.assert_still_serving(port)

    def test_many_clients_in_parallel(self):
        lbd, port, b = self.start_tls(workers=2)
        errors = []

        def client():
            try:
                ctx = client_context(self.pki)
                for _ in range(5):
                    with tls_connect(port, ctx, "www.a.test") as s:
                        for _ in range(3):
                            status, _, body = get(s)
                            if (status, body) != (200, b"b1\n"):
                                errors.append((status, body))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(len(b.wait_requests(120, timeout=5)), 120)

    def test_keepalive_requests_pipelined_and_one_by_one(self):
        """Responses are written in the pass that produced them (io.c); a
        connection carries many exchanges, pipelined ones answered in order."""
        lbd, port, b = self.start_tls()
        with tls_connect(port, client_context(self.pki), "a.test") as s:
            for i in range(200):
                status, _, body = get(s, "/one/%d" % i)
                self.assertEqual((status, body), (200, b"b1\n"))
            s.sendall(b"".join(b"GET /pipe/%d HTTP/1.1\r\nHost: a.test\r\n\r\n" % i
                               for i in range(20)))
            for i in range(20):
                status, _, body = read_response(s)
                self.assertEqual((status, body), (200, b"b1\n"))
        paths = [r.target for r in b.wait_requests(220, timeout=10)]
        self.assertEqual(paths[200:], ["/pipe/%d" % i for i in range(20)])

    def test_keepalive_idle_and_header_timeouts_after_exchanges(self):
        """The read timeouts still fire on a TLS connection that served
        requests: client_idle between requests, header inside one."""
        lbd, port, _ = self.start_tls(timeouts={"client_idle": "1s", "header": "1s"})
        ctx = client_context(self.pki)
        with tls_connect(port, ctx, "a.test") as idle:
            for _ in range(3):
                self.assertEqual(get(idle)[0], 200)
            start = time.monotonic()
            self.assertTrue(closed_within(idle, 6))
            self.assertGreater(time.monotonic() - start, 0.5)
        with tls_connect(port, ctx, "a.test") as partial:
            self.assertEqual(get(partial)[0], 200)
            partial.sendall(b"GET / HTTP/1.1\r\nHost: a.")
            start = time.monotonic()
            self.assertTrue(closed_within(partial, 6))
            self.assertGreater(time.monotonic() - start, 0.5)
        self.assert_still_serving(port)

    def test_large_bodies_both_ways(self):
        echo = self.backends.http("echo", handler=B.echo_handler, store_limit=8 << 20)
        lbd, port, _ = self.start_tls(backend=echo)
        body = os.urandom(3 * 1024 * 1024)
        with tls_connect(port, client_context(self.pki), "a.test") as s:
            s.sendall(b"POST /up HTTP/1.1\r\nHost: a.test\r\nContent-Length: %d\r\n\r\n"
                      % len(body) + body)
            status, headers, got = read_response(s, timeout=30)
        self.assertEqual(status, 200)
        self.assertEqual(got, body)


if __name__ == "__main__":
    unittest.main()

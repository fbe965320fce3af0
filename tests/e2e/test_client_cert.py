"""Client certificates on TLS listeners (SPEC §10, listeners[].tls.client_ca
and verify_client): required refuses a handshake without a valid
certificate, optional lets a client without one in; a certificate of
another CA is refused either way; the verified subject reaches the server
in X-Client-Cert-Subject (RFC 4514) with X-Client-Cert-Verify, over HTTP/1
and HTTP/2, beside SNI certificates; a client's own copies of those fields
never pass; tcp listeners verify only; a bad client_ca is an error at its
line."""

import ssl
import subprocess
import unittest

from lbdtest import (LbdTestCase, assert_config_errors, config, free_port, lbd_bin, listener,
                     pool)
from test_tls import OPENSSL, Pki, client_context, get, run, tls_connect


def issue_client(pki, name, subj, ca=None):
    """NAME.pem and NAME.key for the subject SUBJ ("/O=Example/CN=alice"),
    signed by PKI's CA (or by CA, another Pki), all of SUBJ kept."""
    ca = ca or pki
    key, csr, pem = pki.path(name + ".key"), pki.path(name + ".csr"), pki.path(name + ".pem")
    run(OPENSSL, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", key, "-out", csr, "-subj", subj)
    run(OPENSSL, "x509", "-req", "-in", csr, "-CA", ca.ca, "-CAkey", ca.path("ca.key"),
        "-CAcreateserial", "-out", pem, "-days", "5")
    return {"cert": pem, "key": key}


@unittest.skipUnless(OPENSSL, "no openssl command")
class ClientCertTest(LbdTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.other = Pki()
        cls.a = cls.pki.issue("a", "a.test", ["a.test"])
        cls.b = cls.pki.issue("b", "b.test", ["b.test"])
        cls.alice = issue_client(cls.pki, "alice", "/O=Example/CN=alice")
        cls.mallory = issue_client(cls.other, "mallory", "/CN=mallory", ca=cls.other)

    @classmethod
    def tearDownClass(cls):
        cls.pki.close()
        cls.other.close()

    def start(self, verify=None, protocol="http", backend=None):
        b = backend or self.backends.http("b1")
        port = free_port()
        lst = listener("web", port, "p", protocol=protocol)
        lst["tls"] = {"certificates": [self.a, self.b], "client_ca": self.pki.ca}
        if verify:
            lst["tls"]["verify_client"] = verify
        self.lbd = self.start_lbd(config([lst], [pool("p", [b])]))
        return port, b

    def curl(self, port, name="a.test", cert=None, extra=()):
        args = ["curl", "-sS", "--max-time", "10", "--cacert", self.pki.ca,
                "--resolve", "%s:%d:127.0.0.1" % (name, port),
                "-o", "/dev/null", "-w", "%{http_version} %{http_code}"]
        if cert:
            args += ["--cert", cert["cert"], "--key", cert["key"]]
        args += list(extra) + ["https://%s:%d/x" % (name, port)]
        return subprocess.run(args, capture_output=True, text=True, timeout=20)

    def test_required(self):
        port, b = self.start()
        spoof = ["-H", "X-Client-Cert-Subject: CN=root", "-H", "X-Client-Cert-Verify: SUCCESS"]
        for name, proto in (("a.test", "--http1.1"), ("b.test", "--http2")):
            r = self.curl(port, name, self.alice, [proto] + spoof)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "%s 200" % ("1.1" if proto == "--http1.1" else "2"))
            req = b.wait_requests(1)[-1]
            self.assertEqual(req.headers_all("x-client-cert-subject"), ["CN=alice,O=Example"])
            self.assertEqual(req.headers_all("x-client-cert-verify"), ["SUCCESS"])
            b.reset_stats()
        # no certificate, or one of another CA: no handshake, no request
        for cert in (None, self.mallory):
            r = self.curl(port, cert=cert)
            self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertEqual(b.wait_requests(1, timeout=0.3), [])

    def test_optional(self):
        port, b = self.start("optional")
        r = self.curl(port, extra=["-H", "X-Client-Cert-Subject: CN=root"])
        self.assertTrue(r.stdout.endswith(" 200"), (r.stdout, r.stderr))
        req = b.wait_requests(1)[-1]
        self.assertIsNone(req.header("x-client-cert-subject"))
        self.assertEqual(req.header("x-client-cert-verify"), "NONE")
        r = self.curl(port, cert=self.alice)
        self.assertTrue(r.stdout.endswith(" 200"), (r.stdout, r.stderr))
        self.assertEqual(b.wait_requests(2)[-1].header("x-client-cert-subject"),
                         "CN=alice,O=Example")
        # a certificate that does not verify is refused, not ignored
        r = self.curl(port, cert=self.mallory)
        self.assertNotEqual(r.returncode, 0, r.stdout)

    def test_resumed_session_keeps_the_subject(self):
        port, b = self.start()
        for version in (None, ssl.TLSVersion.TLSv1_2):
            ctx = client_context(self.pki, max_version=version)
            ctx.load_cert_chain(self.alice["cert"], self.alice["key"])
            with tls_connect(port, ctx, "a.test") as s:
                self.assertEqual(get(s)[0], 200)  # a TLS 1.3 ticket comes after
                session = s.session
            with tls_connect(port, ctx, "a.test", session=session) as s:
                self.assertEqual(get(s)[0], 200)
                self.assertTrue(s.session_reused, version)
            req = b.wait_requests(2)[-1]
            self.assertEqual(req.header("x-client-cert-subject"), "CN=alice,O=Example")
            b.reset_stats()

    def test_no_resumption_around_the_certificate(self):
        """Ticket keys are shared by every listener: a session of a
        listener that asks for no certificate must not resume where one is
        required (that would skip the check)."""
        b = self.backends.http("b1")
        open_port, secure_port = free_port(), free_port()
        open_l = listener("open", open_port, "p")
        open_l["tls"] = {"certificates": [self.a]}
        secure = listener("secure", secure_port, "p")
        secure["tls"] = {"certificates": [self.a], "client_ca": self.pki.ca}
        self.start_lbd(config([open_l, secure], [pool("p", [b])]))
        ctx = client_context(self.pki, max_version=ssl.TLSVersion.TLSv1_2)
        with tls_connect(open_port, ctx, "a.test") as s:
            self.assertEqual(get(s)[0], 200)
            session = s.session
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            with tls_connect(secure_port, ctx, "a.test", session=session) as s:
                get(s)
        self.assertEqual(len(b.wait_requests(2, timeout=0.3)), 1)

    def test_plain_listener_strips_the_fields(self):
        b = self.backends.http("b1")
        port = free_port()
        self.start_lbd(config([listener("web", port, "p")], [pool("p", [b])]))
        r = subprocess.run(["curl", "-sS", "-H", "X-Client-Cert-Subject: CN=root",
                            "-H", "X-Client-Cert-Verify: SUCCESS", "-o", "/dev/null",
                            "http://127.0.0.1:%d/" % port],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        req = b.wait_requests(1)[0]
        self.assertIsNone(req.header("x-client-cert-subject"))
        self.assertIsNone(req.header("x-client-cert-verify"))

    def test_tcp_listener_verifies(self):
        echo = self.backends.tcp("echo")
        port, _ = self.start(protocol="tcp", backend=echo)
        ctx = client_context(self.pki)
        ctx.load_cert_chain(self.alice["cert"], self.alice["key"])
        with tls_connect(port, ctx, "a.test") as s:
            s.sendall(b"hi\n")
            s.settimeout(5)
            self.assertEqual(s.recv(10), b"hi\n")
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            with tls_connect(port, client_context(self.pki), "a.test") as s:
                # TLS 1.3: the refusal may come with the first read
                s.sendall(b"hi\n")
                s.settimeout(5)
                if not s.recv(10):
                    raise ConnectionError("closed")


@unittest.skipUnless(OPENSSL, "no openssl command")
class ClientCertConfigTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.a = cls.pki.issue("a", "a.test", ["a.test"])
        with open(cls.pki.path("junk.pem"), "w") as f:
            f.write("not a certificate\n")

    @classmethod
    def tearDownClass(cls):
        cls.pki.close()

    def check(self, tls_extra):
        path = self.pki.path("lbd.yaml")
        with open(path, "w") as f:
            f.write("global: {admin: {socket: %s/admin.sock}}\n" % self.pki.dir +
                    "listeners:\n"
                    "  - name: web\n"
                    "    bind: 127.0.0.1:8443\n"
                    "    tls:\n"
                    "      certificates: [{cert: %s, key: %s}]\n" % (self.a["cert"],
                                                                    self.a["key"]) +
                    tls_extra +
                    "    routes:\n"
                    "      - pool: p\n"
                    "pools:\n"
                    "  - name: p\n"
                    "    servers: [{address: 127.0.0.1:9000}]\n")
        return path, subprocess.run([lbd_bin(), "-t", "-c", path], capture_output=True,
                                    text=True, timeout=20)

    def test_good(self):
        for extra in ("      client_ca: ca.pem\n",
                      "      client_ca: ca.pem\n      verify_client: optional\n",
                      "      client_ca: ca.pem\n      verify_client: required\n"):
            _, r = self.check(extra)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_bad(self):
        cases = (("      client_ca: junk.pem\n", 7, 18, "junk.pem"),
                 ("      client_ca: missing.pem\n", 7, 18, "missing.pem"),
                 ("      verify_client: optional\n", 7, 7, "needs client_ca"),
                 ("      client_ca: ca.pem\n      verify_client: maybe\n", 8, 22, "required"))
        assert_config_errors(self, self.check, cases)


if __name__ == "__main__":
    unittest.main()

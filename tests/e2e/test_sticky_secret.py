"""sticky.secret (SPEC §4, §8): cookie values are an HMAC of the pool and
server names under a secret, so any lbd with the same secret honours them
and nobody without it can compute one; a rotation through previous_secret
keeps old cookies working and replaces them; the secret shows nowhere."""

import base64
import hashlib
import hmac
import os
import re
import subprocess
import tempfile

from lbdtest import (LbdTestCase, Lbd, HttpClient, admin_request, config, free_port, listener,
                     lbd_bin, pool)

VALUE_RE = re.compile(r"^LBSRV=([A-Za-z0-9_-]{22}); Path=/; HttpOnly; SameSite=Lax$")


def value(secret, pool_name, server):
    """The contract of lbd.yaml(5), computed apart from lbd."""
    mac = hmac.new(secret.encode(), pool_name.encode() + b"\0" + server.encode(),
                   hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode()[:22]


def sticky_config(port, servers, **sticky):
    return config([listener("web", port, "p")],
                  [pool("p", servers, balance="sticky_cookie", sticky=sticky)], workers=2)


def ask(port, cookie=None):
    """(server that answered, the value of the cookie it set or None)."""
    with HttpClient(port) as c:
        r = c.request("GET", "/", headers=[("Cookie", "LBSRV=" + cookie)] if cookie else None)
        assert r.status == 200, r
        sc = r.header("set-cookie")
        if sc is None:
            return r.header("x-backend"), None
        m = VALUE_RE.match(sc)
        assert m, sc
        return r.header("x-backend"), m.group(1)


class StickySecretTest(LbdTestCase):
    def _start(self, servers, secret_file_text=None, **sticky):
        """lbd with SERVERS; SECRET_FILE_TEXT is written next to its
        configuration and named by a relative secret_file."""
        port = free_port()
        if secret_file_text is not None:
            sticky["secret_file"] = "secret.key"
        lbd = Lbd(sticky_config(port, servers, **sticky))
        if secret_file_text is not None:
            with open(os.path.join(lbd.dir, "secret.key"), "w") as f:
                f.write(secret_file_text)
        self.addCleanup(self._cleanup_lbd, lbd)
        lbd.start()
        return lbd, port

    def _cookies(self, port, n):
        """Place N new clients: {server: cookie value}."""
        out = {}
        for _ in range(n):
            name, v = ask(port)
            self.assertIsNotNone(v)
            out[name] = v
        return out

    def test_instances_with_the_same_secret_honour_each_others_cookies(self):
        bs = [self.backends.http("s%d" % i) for i in range(3)]
        # the same secret written inline and in a file (newline and all),
        # the servers listed in another order
        _, p1 = self._start(bs, secret="s3cret")
        _, p2 = self._start([bs[2], bs[0], bs[1]], secret_file_text="s3cret\n")
        minted = self._cookies(p1, 3)
        self.assertEqual(set(minted), {"s0", "s1", "s2"})
        for name, v in minted.items():
            self.assertEqual(v, value("s3cret", "p", name))
            for _ in range(3):
                self.assertEqual(ask(p2, v), (name, None))     # honoured, nothing to say

    def test_another_secret_places_the_client_anew(self):
        bs = [self.backends.http("s%d" % i) for i in range(3)]
        _, p1 = self._start(bs, secret="s3cret")
        _, p2 = self._start(bs, secret="another")
        theirs = self._cookies(p1, 3)["s0"]
        seen = set()
        for _ in range(3):
            name, v = ask(p2, theirs)
            self.assertEqual(v, value("another", "p", name))   # a new cookie
            seen.add(name)
        self.assertEqual(seen, {"s0", "s1", "s2"})             # placed by round_robin
        # nor does an instance without a secret, nor one with a secret take
        # the guessable value
        _, p3 = self._start(bs)
        with HttpClient(p3) as c:
            r = c.request("GET", "/", headers=[("Cookie", "LBSRV=" + theirs)])
            guessable = re.match(r"^LBSRV=([0-9a-f]{16});", r.header("set-cookie")).group(1)
        name, v = ask(p1, guessable)
        self.assertEqual(v, value("s3cret", "p", name))

    def test_forged_values_are_no_cookie(self):
        bs = [self.backends.http("s%d" % i) for i in range(2)]
        _, port = self._start(bs, secret="s3cret")
        good = value("s3cret", "p", "s1")
        self.assertEqual(ask(port, good), ("s1", None))
        for bad in (good[:21], good + "A", good[:21] + ("A" if good[21] != "A" else "B"),
                    value("s3cre", "p", "s1"), value("s3cret", "q", "s1"), "A" * 22, "x" * 300):
            name, v = ask(port, bad)
            self.assertEqual(v, value("s3cret", "p", name), bad)

    def test_rotation_keeps_old_cookies_and_replaces_them(self):
        bs = [self.backends.http("s%d" % i) for i in range(3)]
        port = free_port()
        lbd = self.start_lbd(sticky_config(port, bs, secret="old"))
        old = self._cookies(port, 3)
        # rotate: the new secret, the old one still read
        ok, _ = lbd.reload(sticky_config(port, bs, secret="new", previous_secret="old"))
        self.assertTrue(ok)
        for name, v in old.items():
            # honoured, and the response moves the client to the new secret
            self.assertEqual(ask(port, v), (name, value("new", "p", name)))
            self.assertEqual(ask(port, value("new", "p", name)), (name, None))
        # the rotation done: old values are no cookie any more
        ok, _ = lbd.reload(sticky_config(port, bs, secret="new"))
        self.assertTrue(ok)
        seen = set()
        for _ in range(3):
            name, v = ask(port, old["s0"])
            self.assertEqual(v, value("new", "p", name))
            seen.add(name)
        self.assertEqual(seen, {"s0", "s1", "s2"})
        for name in old:
            self.assertEqual(ask(port, value("new", "p", name)), (name, None))

    def test_unreadable_secret_file_is_an_error_at_its_line_and_secrets_show_nowhere(self):
        bs = [self.backends.http("s%d" % i) for i in range(2)]
        lbd, port = self._start(bs, secret_file_text="file-secret-value\n",
                                previous_secret="inline-secret-value")
        v = self._cookies(port, 2)["s0"]
        self.assertEqual(v, value("file-secret-value", "p", "s0"))
        # lbd -t and a reload read the file: gone or empty, both refuse
        # and name the key and the file
        check = lambda: subprocess.run([lbd_bin(), "-t", "-c", lbd.config_path],  # noqa: E731
                                       capture_output=True, text=True, timeout=10)
        key = os.path.join(lbd.dir, "secret.key")
        r = check()
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(key, "w"):
            pass
        r = check()
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"lbd\.yaml:\d+:\d+: pools\[0\]\.sticky\.secret_file: "
                                   r"the secret file .*/secret\.key is empty")
        os.unlink(key)
        ok, errors = lbd.reload()
        self.assertFalse(ok)
        self.assertTrue(any("pools[0].sticky.secret_file: cannot read the secret file "
                            in e and "secret.key: No such file or directory" in e
                            for e in errors), errors)
        # the running generation keeps its secret
        self.assertEqual(ask(port, v), ("s0", None))
        with open(key, "w") as f:
            f.write("file-secret-value\n")
        self.assertTrue(lbd.reload()[0])
        # nowhere to be seen: logs, /status, /metrics, lbd -t
        shown = [lbd.stderr(), "\n".join(lbd.access_raw_lines()), check().stdout,
                 admin_request(lbd, "GET", "/status").body.decode(errors="replace"),
                 admin_request(lbd, "GET", "/metrics").body.decode(errors="replace")]
        for text in shown:
            for secret in ("file-secret-value", "inline-secret-value"):
                self.assertNotIn(secret, text)

    def test_lbd_check_refuses_both_forms(self):
        with tempfile.TemporaryDirectory(prefix="lbd-e2e-") as d:
            path = os.path.join(d, "lbd.yaml")
            with open(path, "w") as f:
                f.write(sticky_config(free_port(), ["127.0.0.1:1"], secret="hunter2",
                                      secret_file="/dev/null",
                                      previous_secret_file="old.key"))
            r = subprocess.run([lbd_bin(), "-t", "-c", path], capture_output=True, text=True,
                               timeout=10)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("pools[0].sticky.secret_file: set secret or secret_file, not both",
                          r.stderr)
            self.assertIn("pools[0].sticky.previous_secret_file: cannot read the secret file "
                          "%s/old.key: No such file or directory" % d, r.stderr)
            self.assertNotIn("hunter2", r.stderr + r.stdout)

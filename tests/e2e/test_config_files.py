"""Configuration for containers (lbd.yaml(5) INCLUDED FILES, ENVIRONMENT):
include: [conf.d/*.yaml] read in sorted order and merged, errors naming the
included file and line, ${NAME} and ${NAME:-default} in values, an unset
variable refused at start, at a reload and by lbd -t."""

import os
import subprocess

from lbdtest import (Lbd, LbdTestCase, HttpClient, free_port, lbctl, lbd_bin, listener, pool,
                     to_yaml)

MAIN = """global:
  workers: 1
  admin: { socket: "${ADMIN_DIR:-@TMPDIR@}/admin.sock" }
  log: { access: "@ACCESS_LOG@" }
include: [conf.d/*.yaml]
pools:
  - name: p
    servers:
      - address: ${BACKEND}
"""


def piece(listeners=None, pools=None):
    doc = {}
    if listeners:
        doc["listeners"] = listeners
    if pools:
        doc["pools"] = pools
    return to_yaml(doc) + "\n"


class ConfigFilesTest(LbdTestCase):
    def make(self, main, pieces, env=None, ports=()):
        """An lbd (not started) whose directory holds MAIN and conf.d/PIECES."""
        lbd = Lbd(main, ports=list(ports), env=env)
        self.addCleanup(self._cleanup_lbd, lbd)
        self.write_pieces(lbd, pieces)
        return lbd

    @staticmethod
    def write_pieces(lbd, pieces):
        d = os.path.join(lbd.dir, "conf.d")
        os.makedirs(d, exist_ok=True)
        for name in os.listdir(d):
            os.unlink(os.path.join(d, name))
        for name, text in pieces.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)

    def check(self, lbd, env=None):
        e = dict(os.environ)
        e.update(env or {})
        return subprocess.run([lbd_bin(), "-t", "-c", lbd.config_path], capture_output=True,
                              text=True, timeout=10, env=e)

    def test_pieces_from_conf_d_serve(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        p1, p2 = free_port(), free_port()
        env = {"BACKEND": a.address}
        lbd = self.make(MAIN, {
            "20-two.yaml": piece([listener("two", p2, "q")], [pool("q", [b])]),
            "10-one.yaml": piece([listener("one", p1, "p")]),
            ".hidden.yaml": "not: [valid\n",          # not matched by *
        }, env=env, ports=[p1, p2])
        r = self.check(lbd, env)
        self.assertEqual((r.returncode, r.stdout.strip()),
                         (0, "%s: configuration OK" % lbd.config_path), r.stderr)
        lbd.start()
        with HttpClient(p1) as c:
            self.assertEqual(c.request().body, b"a\n")
        with HttpClient(p2) as c:
            self.assertEqual(c.request().body, b"b\n")
        st = lbctl("status", "--json", socket_path=lbd.admin_socket)
        self.assertEqual(st.returncode, 0, st.stderr)
        self.assertLess(st.stdout.index('"one"'), st.stdout.index('"two"'))   # sorted order

    def test_unset_variable_is_refused(self):
        os.environ.pop("BACKEND", None)
        lbd = self.make(MAIN, {"10-one.yaml": piece([listener("one", free_port(), "p")])})
        want = ("%s:9:18: pools[0].servers[0].address: environment variable BACKEND is not set"
                % lbd.config_path)
        r = self.check(lbd)
        self.assertEqual(r.returncode, 1)
        self.assertIn(want, r.stderr)
        lbd.wait_ready = False
        lbd.start()
        self.assertEqual(lbd.wait(10), 1)
        self.assertIn(want, lbd.stderr())

    def test_default_and_error_in_an_included_file(self):
        a = self.backends.http("a")
        p1 = free_port()
        env = {"BACKEND": a.address, "PORT_TWO": ""}
        bad = ("listeners:\n"
               "  - name: two\n"
               "    bind: 127.0.0.1:${PORT_TWO:-%d}\n"
               "    routes: [ { pool: p } ]\n"
               "    protocl: http\n" % free_port())
        lbd = self.make(MAIN, {"10-one.yaml": piece([listener("one", p1, "p")])}, env=env,
                        ports=[p1])
        lbd.start()
        # A reload with an error inside an included file names that file.
        self.write_pieces(lbd, {"10-one.yaml": piece([listener("one", p1, "p")]),
                                "20-two.yaml": bad})
        r = lbctl("reload", socket_path=lbd.admin_socket)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s/conf.d/20-two.yaml:5:5: listeners[1].protocl: unknown key"
                      % lbd.dir, r.stdout + r.stderr)
        with HttpClient(p1) as c:
            self.assertEqual(c.request().status, 200)
        # Fixed, the default port of ${PORT_TWO:-N} (set but empty) serves.
        port_two = int(bad.split("${PORT_TWO:-")[1].split("}")[0])
        self.write_pieces(lbd, {"10-one.yaml": piece([listener("one", p1, "p")]),
                                "20-two.yaml": bad.replace("    protocl: http\n", "")})
        self.assertTrue(lbd.reload()[0])
        with HttpClient(port_two) as c:
            self.assertEqual(c.request().body, b"a\n")

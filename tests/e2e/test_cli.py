"""test_cli.py — the lbd command line: -V, -h, bad options, and `lbd -t`
on the shipped configurations and on broken ones.

The exact wording of configuration errors belongs to the loader (its unit
tests pin it); here only the contract of the format is checked:
    FILE:LINE:COLUMN: KEY.PATH: MESSAGE
with LINE:COLUMN left out when the file cannot be read at all and KEY.PATH
left out for errors about the document as a whole.

Environment: LBD_BIN (the binary), TOP_SRCDIR, TOP_BUILDDIR; `make check`
sets them, and the defaults find a build in the source tree or in build/.
"""

import os
import re
import subprocess
import tempfile
import unittest
from pathlib import Path

TOP_SRCDIR = Path(os.environ.get("TOP_SRCDIR", Path(__file__).resolve().parents[2]))


def _default_builddir():
    for candidate in (TOP_SRCDIR, TOP_SRCDIR / "build"):
        if (candidate / "lbd").exists():
            return candidate
    return TOP_SRCDIR


TOP_BUILDDIR = Path(os.environ.get("TOP_BUILDDIR", _default_builddir()))
LBD_BIN = Path(os.environ.get("LBD_BIN", TOP_BUILDDIR / "lbd"))

# Sanitizer builds are slower to start; nothing here should take a second.
TIMEOUT = 30

# A key path: "global.workers", "pools[1].servers[0].weight".
KEY_PATH = r"[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])*(?:\.[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])*)*"


def run_lbd(*args):
    return subprocess.run(
        [str(LBD_BIN), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


class LbdTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not LBD_BIN.exists():
            if "LBD_BIN" in os.environ:
                raise AssertionError(f"LBD_BIN={LBD_BIN} does not exist")
            raise unittest.SkipTest(f"{LBD_BIN} is not built")

    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="lbd-test-cli-")
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)

    def write(self, name, text):
        path = self.tmp / name
        path.write_text(text)
        return path

    def error_lines(self, result):
        return [line for line in result.stderr.splitlines() if line.strip()]

    def assert_rejected(self, result, path):
        """lbd -t refused PATH: exit 1, errors on stderr, no OK line."""
        self.assertEqual(result.returncode, 1, msg=result.stderr)
        self.assertNotIn("configuration OK", result.stdout)
        self.assertTrue(self.error_lines(result), msg="no error on stderr")
        for line in self.error_lines(result):
            self.assertTrue(line.startswith(f"{path}:"),
                            msg=f"error does not start with the file name: {line!r}")

    def parse_errors(self, result, path):
        """The errors of RESULT as (line, column, key path, message); line
        and column are None for an error without a position, key path None
        for an error about the whole document."""
        pattern = re.compile(
            rf"^{re.escape(str(path))}:(?:(\d+):(\d+):)? (?:({KEY_PATH}): )?(\S.*)$")
        errors = []
        for line in self.error_lines(result):
            m = pattern.match(line)
            self.assertIsNotNone(m, msg=f"not FILE:LINE:COLUMN: [PATH: ]MESSAGE: {line!r}")
            position = (int(m.group(1)), int(m.group(2))) if m.group(1) else (None, None)
            errors.append((*position, m.group(3), m.group(4)))
        return errors

    def errors_naming(self, result, path, word):
        """The errors that name WORD in their key path or message; each must
        carry a line and a column."""
        found = [e for e in self.parse_errors(result, path)
                 if word in (e[2] or "") + " " + e[3]]
        self.assertTrue(found, msg=f"no error names {word!r}: {result.stderr!r}")
        for line, column, _, _ in found:
            self.assertIsNotNone(line, msg=f"error about {word!r} has no line:column")
            self.assertGreaterEqual(line, 1)
            self.assertGreaterEqual(column, 1)
        return found


class TestOptions(LbdTestCase):
    def test_version(self):
        for flag in ("-V", "--version"):
            with self.subTest(flag=flag):
                r = run_lbd(flag)
                self.assertEqual(r.returncode, 0, msg=r.stderr)
                self.assertRegex(r.stdout, r"^lbd \d+\.\d+\.\d+")

    def test_help(self):
        for flag in ("-h", "--help"):
            with self.subTest(flag=flag):
                r = run_lbd(flag)
                self.assertEqual(r.returncode, 0, msg=r.stderr)
                self.assertIn("usage: lbd", r.stdout)
                for option in ("-c", "-t", "-V", "-h"):
                    self.assertIn(option, r.stdout)

    def test_bad_option(self):
        for args in (["-x"], ["--no-such-option"], ["-c"], ["stray-argument"]):
            with self.subTest(args=args):
                r = run_lbd(*args)
                self.assertEqual(r.returncode, 1)
                self.assertIn("usage: lbd", r.stderr)
                self.assertEqual(r.stdout, "")


class TestCheckShippedConfigs(LbdTestCase):
    def test_every_config_in_conf_is_valid(self):
        configs = sorted((TOP_SRCDIR / "conf").glob("*.yaml"))
        self.assertTrue(configs, msg=f"no *.yaml in {TOP_SRCDIR / 'conf'}")
        for config in configs:
            for flag in ("-t", "--check"):
                with self.subTest(config=config.name, flag=flag):
                    r = run_lbd(flag, "-c", str(config))
                    # /run/lbd is made by lbd.service or lbd.tmpfiles: on a
                    # machine without it the only complaint is about it
                    missing = [ln for ln in r.stderr.splitlines()
                               if ": global.admin.socket: the directory /run/lbd " in ln]
                    if missing and not os.path.isdir("/run/lbd"):
                        self.assertEqual(r.returncode, 1, msg=r.stderr)
                        self.assertEqual(r.stderr.splitlines(), missing)
                        continue
                    self.assertEqual(r.returncode, 0, msg=r.stderr)
                    self.assertEqual(r.stdout, f"{config}: configuration OK\n")


class TestCheckBrokenConfigs(LbdTestCase):
    def test_missing_file(self):
        path = self.tmp / "absent.yaml"
        r = run_lbd("-t", "-c", str(path))
        self.assert_rejected(r, path)

    def test_directory(self):
        r = run_lbd("-t", "-c", str(self.tmp))
        self.assert_rejected(r, self.tmp)

    def test_empty_file(self):
        path = self.write("empty.yaml", "")
        r = run_lbd("-t", "-c", str(path))
        self.assert_rejected(r, path)
        for line in self.error_lines(r):
            self.assertRegex(line, rf"^{re.escape(str(path))}:(\d+:\d+:)? \S")

    def test_yaml_syntax_error(self):
        path = self.write("syntax.yaml",
                          "global:\n"
                          "  workers: 2\n"
                          "  log: { level: info\n"
                          "listeners: []\n")
        r = run_lbd("-t", "-c", str(path))
        self.assert_rejected(r, path)
        positioned = [e for e in self.parse_errors(r, path) if e[0] is not None]
        self.assertTrue(positioned, msg=f"no error with a line:column: {r.stderr!r}")
        for line, column, _, _ in positioned:
            self.assertGreaterEqual(line, 3)
            self.assertGreaterEqual(column, 1)

    def test_unknown_key(self):
        path = self.write("typo.yaml",
                          "global:\n"
                          "  wrokers: 2\n")
        r = run_lbd("-t", "-c", str(path))
        self.assert_rejected(r, path)
        line, _, key_path, _ = self.errors_naming(r, path, "wrokers")[0]
        self.assertEqual(line, 2)
        self.assertIsNotNone(key_path, msg="the error names no key path")
        self.assertTrue(key_path.startswith("global"), msg=key_path)

    def test_every_error_is_reported(self):
        path = self.write("typos.yaml",
                          "global:\n"
                          "  wrokers: 2\n"
                          "  max_conections: 10\n")
        r = run_lbd("-t", "-c", str(path))
        self.assert_rejected(r, path)
        lines = {e[0] for e in self.errors_naming(r, path, "wrokers")}
        lines |= {e[0] for e in self.errors_naming(r, path, "max_conections")}
        self.assertEqual(lines, {2, 3}, msg=r.stderr)


class DemoBackendTest(unittest.TestCase):
    """lbd-demo-backend, the backend of the README's demo."""

    def test_head_has_no_body(self):
        import socket
        import sys
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from lbdtest import free_port, wait_port
        binary = Path(os.environ.get("DEMO_BACKEND_BIN", LBD_BIN.parent / "lbd-demo-backend"))
        if not binary.exists():
            self.skipTest("no lbd-demo-backend beside lbd")
        port = free_port()
        proc = subprocess.Popen([str(binary), "-q", "a=127.0.0.1:%d" % port],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(proc.wait, TIMEOUT)
        self.addCleanup(proc.terminate)
        self.assertTrue(wait_port(port))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            # HEAD then GET on one connection: a body after the HEAD answer
            # would be read as the GET's status line
            s.sendall(b"HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n"
                      b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            out = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                out += d
        head, _, rest = out.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), out)
        self.assertRegex(head, rb"\r\nContent-Length: \d+", out)
        self.assertTrue(rest.startswith(b"HTTP/1.1 200 "), out)
        self.assertTrue(rest.endswith(b": GET /x from 127.0.0.1 (X-Forwarded-For: -, Host: a)\n"),
                        out)


class TestCheckEnvironment(LbdTestCase):
    """lbd -t reports what would stop a start without binding anything:
    the admin socket's directory and the access log's directory must exist
    and be writable."""

    def config(self, socket, access="stdout"):
        return self.write("env.yaml",
                          "global:\n"
                          f"  admin: {{ socket: {socket} }}\n"
                          f"  log: {{ access: {access} }}\n"
                          "listeners:\n"
                          "  - name: web\n"
                          "    bind: 127.0.0.1:1\n"
                          "    routes: [ { match: { path_prefix: / }, pool: p } ]\n"
                          "pools:\n"
                          "  - { name: p, servers: [ { address: 127.0.0.1:2 } ] }\n")

    def test_good_directories(self):
        path = self.config(self.tmp / "admin.sock", self.tmp / "access.log")
        r = run_lbd("-t", "-c", str(path))
        self.assertEqual(r.returncode, 0, msg=r.stderr)
        self.assertEqual(r.stdout, f"{path}: configuration OK\n")
        self.assertFalse((self.tmp / "admin.sock").exists(), "-t bound the admin socket")
        self.assertFalse((self.tmp / "access.log").exists(), "-t created the access log")

    def test_missing_admin_socket_directory(self):
        missing = self.tmp / "nowhere"
        path = self.config(missing / "admin.sock")
        r = run_lbd("-t", "-c", str(path))
        self.assert_rejected(r, path)
        errors = self.parse_errors(r, path)
        self.assertEqual(len(errors), 1, msg=r.stderr)
        self.assertEqual(errors[0][2], "global.admin.socket")
        self.assertIn(str(missing), errors[0][3])
        self.assertIn("No such file or directory", errors[0][3])

    def test_missing_access_log_directory(self):
        missing = self.tmp / "logs"
        path = self.config(self.tmp / "admin.sock", missing / "access.log")
        r = run_lbd("-t", "-c", str(path))
        self.assert_rejected(r, path)
        errors = self.parse_errors(r, path)
        self.assertEqual([e[2] for e in errors], ["global.log.access"], msg=r.stderr)
        self.assertIn(str(missing), errors[0][3])

    def test_both_reported_at_once(self):
        path = self.config(self.tmp / "a" / "admin.sock", self.tmp / "b" / "access.log")
        r = run_lbd("-t", "-c", str(path))
        self.assert_rejected(r, path)
        self.assertEqual(sorted(e[2] for e in self.parse_errors(r, path)),
                         ["global.admin.socket", "global.log.access"], msg=r.stderr)

    def test_not_a_directory(self):
        self.write("file", "")
        path = self.config(self.tmp / "file" / "admin.sock")
        r = run_lbd("-t", "-c", str(path))
        self.assert_rejected(r, path)
        self.assertIn("global.admin.socket", r.stderr)

    @unittest.skipIf(os.geteuid() == 0, "root writes everywhere")
    def test_unwritable_directory(self):
        ro = self.tmp / "ro"
        ro.mkdir(mode=0o555)
        self.addCleanup(ro.chmod, 0o755)
        path = self.config(self.tmp / "admin.sock", ro / "access.log")
        r = run_lbd("-t", "-c", str(path))
        self.assert_rejected(r, path)
        self.assertIn("not writable", r.stderr)


if __name__ == "__main__":
    unittest.main()

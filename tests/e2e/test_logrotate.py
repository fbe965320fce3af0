"""contrib/lbd.logrotate, run by the real logrotate against a running lbd:
the access log is renamed, the postrotate command sends SIGUSR1 to
lbd.service's main process through systemctl, and lbd writes the next
requests into a new file. systemctl is replaced by a stand-in on PATH that
records its arguments and signals the test's lbd, so nothing on the
machine is touched."""

import json
import os
import shutil
import stat
import subprocess
import time

from lbdtest import Lbd, LbdTestCase, free_port, http_request, simple_config

SNIPPET = os.path.join(os.environ.get("TOP_SRCDIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                       "contrib", "lbd.logrotate")
FAKE_SYSTEMCTL = """#!/bin/sh
printf '%%s\\n' "$*" >>'%(record)s'
case "$*" in
"kill --kill-whom=main --signal=USR1 lbd.service") exec kill -USR1 %(pid)d ;;
esac
exit 1
"""


def wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


class LogrotateTest(LbdTestCase):
    def setUp(self):
        super().setUp()
        self.logrotate = shutil.which("logrotate") or \
            next((p for p in ("/usr/sbin/logrotate", "/sbin/logrotate") if os.path.exists(p)), None)
        if not self.logrotate:
            self.skipTest("logrotate is not installed (scripts/install-deps --test)")

    def lines(self, path):
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def test_rotation_reopens_the_access_log(self):
        b = self.backends.http("b1")
        port = free_port()
        # In a directory of its own: the snippet rotates every *.log there.
        lbd = Lbd(simple_config(port, [b], access="@TMPDIR@/logs/access.log"))
        self.addCleanup(self._cleanup_lbd, lbd)
        logs = os.path.join(lbd.dir, "logs")
        os.mkdir(logs)
        lbd.start()
        access = os.path.join(logs, "access.log")
        for i in range(3):
            self.assertEqual(http_request(port, target="/before/%d" % i).status, 200)
        self.assertTrue(wait_for(lambda: len(self.lines(access)) == 3),
                        "access log: %r" % self.lines(access))

        # The installed snippet with the test's log directory, and a
        # systemctl stand-in first on PATH.
        with open(SNIPPET) as f:
            snippet = f.read()
        self.assertIn("/var/log/lbd/*.log {", snippet)
        conf = os.path.join(lbd.dir, "logrotate.conf")
        with open(conf, "w") as f:
            f.write(snippet.replace("/var/log/lbd/", logs + "/"))
        os.chmod(conf, 0o644)
        bindir = os.path.join(lbd.dir, "bin")
        os.mkdir(bindir)
        record = os.path.join(lbd.dir, "systemctl.args")
        fake = os.path.join(bindir, "systemctl")
        with open(fake, "w") as f:
            f.write(FAKE_SYSTEMCTL % {"record": record, "pid": lbd.pid})
        os.chmod(fake, stat.S_IRWXU)
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
        out = subprocess.run([self.logrotate, "--force", "--state", os.path.join(lbd.dir, "state"),
                              conf], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)

        with open(record) as f:
            self.assertEqual(f.read().splitlines(),
                             ["kill --kill-whom=main --signal=USR1 lbd.service"])
        rotated = access + ".1"
        self.assertEqual([l["path"] for l in self.lines(rotated)],
                         ["/before/0", "/before/1", "/before/2"])
        # lbd reopened: the next requests land in a new access.log, none
        # in the rotated file.
        self.assertTrue(wait_for(lambda: os.path.exists(access)), "no new access.log")
        for i in range(2):
            self.assertEqual(http_request(port, target="/after/%d" % i).status, 200)
        self.assertTrue(wait_for(lambda: len(self.lines(access)) == 2),
                        "new access log: %r" % self.lines(access))
        self.assertEqual([l["path"] for l in self.lines(access)], ["/after/0", "/after/1"])
        self.assertEqual(len(self.lines(rotated)), 3)
        self.assertTrue(lbd.alive())

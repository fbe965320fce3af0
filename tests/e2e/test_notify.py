"""systemd notification (SPEC §1): with NOTIFY_SOCKET set, lbd sends
READY=1 once it serves and STOPPING=1 when it stops, to a path or an
abstract ("@name") socket; without it, nothing breaks."""

import os
import signal
import socket
import time

from lbdtest import HttpClient, LbdTestCase, admin_request, free_port, simple_config


class FakeSystemd:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        addr = "\0" + path[1:] if path.startswith("@") else path
        self.sock.bind(addr)
        self.path = path
        self.messages = []

    def wait_for(self, field, timeout=5.0):
        """The first message holding the line FIELD (e.g. READY=1)."""
        deadline = time.monotonic() + timeout
        for m in self.messages:
            if field in m.split("\n"):
                return m
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                m = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            self.messages.append(m)
            if field in m.split("\n"):
                return m
        raise AssertionError("no %s in %r" % (field, self.messages))

    def close(self):
        self.sock.close()


class NotifyTest(LbdTestCase):
    def run_with(self, notify_path):
        fake = FakeSystemd(notify_path)
        self.addCleanup(fake.close)
        a = self.backends.http("a")
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [a]), env={"NOTIFY_SOCKET": notify_path})
        ready = fake.wait_for("READY=1")
        self.assertIn("STATUS=serving configuration generation 1", ready.split("\n"))
        with HttpClient(port) as c:
            self.assertEqual(c.request("GET", "/").status, 200)
        self.assertEqual(lbd.stop(signal.SIGTERM), 0)
        stopping = fake.wait_for("STOPPING=1")
        self.assertIn("STATUS=stopping (SIGTERM)", stopping.split("\n"))
        return fake

    def test_path_socket(self):
        import tempfile
        d = tempfile.mkdtemp(prefix="lbd-notify-")
        self.addCleanup(os.rmdir, d)
        path = os.path.join(d, "notify")
        self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        self.run_with(path)

    def test_abstract_socket(self):
        self.run_with("@lbd-e2e-notify-%d" % os.getpid())

    def test_stop_via_admin_api_notifies(self):
        path = "@lbd-e2e-notify-admin-%d" % os.getpid()
        fake = FakeSystemd(path)
        self.addCleanup(fake.close)
        a = self.backends.http("a")
        lbd = self.start_lbd(simple_config(free_port(), [a]), env={"NOTIFY_SOCKET": path})
        fake.wait_for("READY=1")
        self.assertEqual(admin_request(lbd, "POST", "/stop").status, 200)
        self.assertIn("STATUS=stopping (admin API)", fake.wait_for("STOPPING=1").split("\n"))
        self.assertEqual(lbd.wait(10), 0)

    def test_unreachable_notify_socket_is_harmless(self):
        a = self.backends.http("a")
        port = free_port()
        self.start_lbd(simple_config(port, [a]),
                       env={"NOTIFY_SOCKET": "/nonexistent/notify"})
        with HttpClient(port) as c:
            self.assertEqual(c.request("GET", "/").status, 200)

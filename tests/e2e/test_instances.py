"""Several lbd on one host (SPEC §2 share_port, §8): a second lbd that binds
an address another lbd serves is refused (exit 2, a message naming the
address and the other process) unless both listeners say share_port: true;
the lock of an address is held as long as the bind, across reloads."""

import subprocess

from lbdtest import (Lbd, LbdTestCase, HttpClient, config, free_port, lbctl, lbd_bin, listener,
                     pool)

REQUESTS = 20


def listeners_on(ports, share=False, name="web"):
    out = []
    for i, port in enumerate(ports):
        lst = listener("%s%d" % (name, i) if i else name, port, "p")
        if share:
            lst["share_port"] = True
        out.append(lst)
    return out


def cfg(backend, ports, share=False, workers=2):
    return config(listeners_on(ports, share), [pool("p", [backend])], workers=workers)


class InstancesTest(LbdTestCase):
    def second(self, text):
        """An lbd expected to fail at start: its exit status and stderr."""
        lbd = Lbd(text, wait=False)
        self.addCleanup(lbd.close)
        lbd.start()
        rc = lbd.wait(10)
        if rc is None:
            lbd.stop()
            self.fail("the second lbd started; stderr:\n" + lbd.stderr())
        return rc, lbd.stderr()

    def assertServes(self, port, body=None):
        for _ in range(REQUESTS):
            with HttpClient(port) as c:
                r = c.request()
                self.assertEqual(r.status, 200)
                if body is not None:
                    self.assertEqual(r.body, body)

    def test_second_lbd_on_the_same_port_is_refused(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        port = free_port()
        first = self.start_lbd(cfg(a, [port]))
        text = cfg(b, [port])
        rc, err = self.second(text)
        self.assertEqual(rc, 2, err)
        self.assertIn("cannot bind 127.0.0.1:%d (listener web): another lbd (pid %d) already "
                      "listens on it" % (port, first.pid), err)
        self.assertIn("share_port: true", err)
        self.assertServes(port, b"a\n")      # all of it, none to the refused one
        self.assertEqual(b.wait_requests(1, timeout=0.1), [])
        # -t binds nothing: the same file checks fine while the first runs.
        checked = Lbd(text, wait=False)
        self.addCleanup(checked.close)
        r = subprocess.run([lbd_bin(), "-t", "-c", checked.config_path], capture_output=True,
                           text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_second_lbd_on_a_wildcard_of_the_same_port_is_refused(self):
        a = self.backends.http("a")
        port = free_port()
        self.start_lbd(cfg(a, [port]))
        text = cfg(a, [port]).replace("127.0.0.1:%d" % port, "0.0.0.0:%d" % port)
        rc, err = self.second(text)
        self.assertEqual(rc, 2, err)
        self.assertIn("cannot bind 0.0.0.0:%d (listener web): another process listens on it"
                      % port, err)
        self.assertServes(port)

    def test_share_port_on_both_lets_both_serve(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        port = free_port()
        first = self.start_lbd(cfg(a, [port], share=True))
        second = self.start_lbd(cfg(b, [port], share=True))
        self.assertTrue(first.alive() and second.alive())
        self.assertEqual(second.stop(), 0)
        self.assertServes(port, b"a\n")

    def test_share_port_on_one_side_only_is_refused(self):
        a = self.backends.http("a")
        port = free_port()
        first = self.start_lbd(cfg(a, [port]))
        rc, err = self.second(cfg(a, [port], share=True))
        self.assertEqual(rc, 2, err)
        self.assertIn("another lbd (pid %d) listens on it without share_port: true" % first.pid,
                      err)
        first.stop()
        port = free_port()
        self.start_lbd(cfg(a, [port], share=True))
        rc, err = self.second(cfg(a, [port]))
        self.assertEqual(rc, 2, err)
        self.assertIn("cannot bind 127.0.0.1:%d (listener web): another process listens" % port,
                      err)
        self.assertServes(port)

    def test_reload_adding_a_bind_another_lbd_holds_is_rejected(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        p1, p2 = free_port(), free_port()
        first = self.start_lbd(cfg(a, [p1]))
        other = self.start_lbd(cfg(b, [p2]))
        first.rewrite(cfg(a, [p1, p2]))
        r = lbctl("reload", socket_path=first.admin_socket)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("cannot bind 127.0.0.1:%d (listener web1): another lbd (pid %d)"
                      % (p2, other.pid), r.stdout + r.stderr)
        self.assertServes(p1, b"a\n")
        self.assertServes(p2, b"b\n")
        # Once the other one is gone, the same reload goes through.
        self.assertEqual(other.stop(), 0)
        self.assertTrue(first.reload()[0])
        self.assertServes(p2, b"a\n")

    def test_lock_follows_the_bind_across_reloads(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        p1, p2 = free_port(), free_port()
        first = self.start_lbd(cfg(a, [p1, p2]))
        self.assertEqual(first.reload(cfg(a, [p1, p2]))[0], True)   # kept: still held
        rc, err = self.second(cfg(b, [p2]))
        self.assertEqual(rc, 2, err)
        self.assertIn("another lbd (pid %d)" % first.pid, err)
        self.assertTrue(first.reload(cfg(a, [p1]))[0])              # removed: released
        self.start_lbd(cfg(b, [p2]))
        self.assertServes(p2, b"b\n")
        self.assertServes(p1, b"a\n")

    def test_share_port_changed_by_a_reload(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        port = free_port()
        first = self.start_lbd(cfg(a, [port]))
        self.assertTrue(first.reload(cfg(a, [port], share=True))[0])
        second = self.start_lbd(cfg(b, [port], share=True))
        self.assertEqual(second.stop(), 0)
        self.assertTrue(first.reload(cfg(a, [port]))[0])             # exclusive again
        rc, err = self.second(cfg(b, [port], share=True))
        self.assertEqual(rc, 2, err)
        self.assertServes(port, b"a\n")


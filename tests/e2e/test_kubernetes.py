"""Running under Kubernetes: global.watch_config reloads lbd when its file
changes (a rewrite, a ConfigMap volume's `..data` symlink swap, an included
file), with the checks and the rejection of `lbctl reload`; /healthz fails
from the first moment of a stop, and global.shutdown_delay keeps lbd
accepting that long before it drains (SPEC §5, §6)."""

import os
import signal
import shutil
import threading
import time

import backends as B
from lbdtest import (HttpClient, Lbd, LbdTestCase, TIMEOUT_SCALE, admin_request, free_port,
                     simple_config, wait_port)


def with_global(cfg, *lines):
    """CFG (a harness configuration) with more keys under global:."""
    return cfg.replace("global:\n", "global:\n" + "".join("  %s\n" % ln for ln in lines), 1)


def watched(port, backends_list, **kw):
    return with_global(simple_config(port, backends_list, **kw), "watch_config: true")


def wait_for(cond, timeout=5.0, step=0.02):
    deadline = time.monotonic() + timeout * TIMEOUT_SCALE
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def body(port):
    with HttpClient(port) as c:
        return c.request().body


class WatchConfigTest(LbdTestCase):
    def served_by(self, port, want, timeout=5.0):
        self.assertTrue(wait_for(lambda: body(port) == want, timeout),
                        "never served by %r" % want)

    def test_a_rewritten_file_is_reloaded(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        port = free_port()
        lbd = self.start_lbd(watched(port, [a]))
        self.assertEqual(body(port), b"a\n")
        lbd.rewrite(watched(port, [b]))  # a rename over the file, as editors do
        self.served_by(port, b"b\n")
        self.assertTrue(wait_for(lambda: "generation 2 serving" in lbd.stderr()))
        self.assertIn("watch_config: lbd.yaml changed", lbd.stderr())

    def test_a_file_written_in_steps_is_read_once_whole(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        port = free_port()
        lbd = self.start_lbd(watched(port, [a]))
        text = watched(port, [b]).replace("@ACCESS_LOG@", lbd.access_path) \
            .replace("@TMPDIR@", lbd.dir)
        half = len(text) // 2
        with open(lbd.config_path, "w") as f:  # in place: truncated, then written
            f.write(text[:half])
            f.flush()
            time.sleep(0.05)
            f.write(text[half:])
        self.served_by(port, b"b\n")
        time.sleep(0.5)
        err = lbd.stderr()
        self.assertNotIn("reload rejected", err)
        self.assertEqual(err.count("reload: reading"), 1, err)

    def test_configmap_symlink_swap_is_seen(self):
        """The layout kubelet makes for a ConfigMap volume: the keys are
        symlinks through `..data`, a symlink to a timestamped directory
        that an update replaces by renaming a new symlink over `..data`."""
        a, b = self.backends.http("a"), self.backends.http("b")
        port = free_port()
        lbd = Lbd(watched(port, [a]))
        self.addCleanup(self._cleanup_lbd, lbd)
        cm = os.path.join(lbd.dir, "cm")
        os.mkdir(cm)

        def publish(stamp, text):
            d = os.path.join(cm, stamp)
            os.mkdir(d)
            with open(os.path.join(d, "lbd.yaml"), "w") as f:
                f.write(text.replace("@ACCESS_LOG@", lbd.access_path)
                        .replace("@TMPDIR@", lbd.dir))
            os.symlink(stamp, os.path.join(cm, "..data_tmp"))
            os.rename(os.path.join(cm, "..data_tmp"), os.path.join(cm, "..data"))

        publish("..2026_01_01_00_00_00.1", watched(port, [a]))
        os.symlink("..data/lbd.yaml", os.path.join(cm, "lbd.yaml"))
        lbd.config_path = os.path.join(cm, "lbd.yaml")
        lbd.start()
        self.assertEqual(body(port), b"a\n")
        publish("..2026_01_01_00_01_00.2", watched(port, [b]))
        shutil.rmtree(os.path.join(cm, "..2026_01_01_00_00_00.1"))
        self.served_by(port, b"b\n")
        self.assertIn("watch_config: ..data changed", lbd.stderr())

    def test_bad_file_is_rejected_and_a_good_one_then_applied(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        port = free_port()
        lbd = self.start_lbd(watched(port, [a]))
        lbd.rewrite(watched(port, [b]).replace("servers:", "servrs:"))
        self.assertTrue(wait_for(lambda: "reload rejected" in lbd.stderr()))
        self.assertRegex(lbd.stderr(), r"reload: .*lbd\.yaml:\d+:\d+: pools\[0\]")
        self.assertEqual(body(port), b"a\n")
        r = admin_request(lbd, "GET", "/status").json
        self.assertEqual(r["generation"], 1)
        lbd.rewrite(watched(port, [b]))
        self.served_by(port, b"b\n")
        self.assertTrue(wait_for(lambda: "generation 2 serving" in lbd.stderr()))

    def test_included_file_change_is_seen(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        port = free_port()

        def split(backend):
            """The main file, and its pools: as an included conf.d/pools.yaml."""
            text = watched(port, [backend])
            main, pools = text.split("pools:\n", 1)
            return main + "include: conf.d/*.yaml\n", "pools:\n" + pools

        main, pools = split(a)
        lbd = Lbd(main)
        self.addCleanup(self._cleanup_lbd, lbd)
        os.mkdir(os.path.join(lbd.dir, "conf.d"))
        with open(os.path.join(lbd.dir, "conf.d", "pools.yaml"), "w") as f:
            f.write(pools)
        lbd.start()
        self.assertEqual(body(port), b"a\n")
        # another file in the directory, not matching the pattern: no reload
        with open(os.path.join(lbd.dir, "conf.d", "notes.txt"), "w") as f:
            f.write("not configuration\n")
        with open(os.path.join(lbd.dir, "other.txt"), "w") as f:
            f.write("not configuration either\n")
        time.sleep(0.6)
        self.assertNotIn("reload: reading", lbd.stderr())
        tmp = os.path.join(lbd.dir, "conf.d", ".pools.yaml.tmp")
        with open(tmp, "w") as f:
            f.write(split(b)[1])
        os.replace(tmp, os.path.join(lbd.dir, "conf.d", "pools.yaml"))
        self.served_by(port, b"b\n")
        self.assertIn("watch_config: pools.yaml changed", lbd.stderr())

    def test_turned_on_and_off_at_a_reload(self):
        a, b = self.backends.http("a"), self.backends.http("b")
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [a]))
        lbd.rewrite(simple_config(port, [b]))
        time.sleep(0.6)
        self.assertEqual(body(port), b"a\n")  # off: a change waits for a reload
        self.assertEqual(lbd.reload(watched(port, [a])), (True, 2))
        lbd.rewrite(watched(port, [b]))
        self.served_by(port, b"b\n")
        self.assertTrue(wait_for(lambda: "generation 3 serving" in lbd.stderr()))
        self.assertEqual(lbd.reload(simple_config(port, [a])), (True, 4))
        lbd.rewrite(simple_config(port, [b]))
        time.sleep(0.6)
        self.assertEqual(body(port), b"a\n")
        self.assertNotIn("generation 5", lbd.stderr())


class ShutdownDelayTest(LbdTestCase):
    def start(self, delay, backend, **kw):
        port, mport = free_port(), free_port()
        cfg = simple_config(port, [backend], metrics_listen="127.0.0.1:%d" % mport, **kw)
        if delay:
            cfg = with_global(cfg, "shutdown_delay: %s" % delay)
        lbd = self.start_lbd(cfg, ports=[port, mport])
        return lbd, port, ("127.0.0.1", mport)

    def test_healthz_fails_at_once_while_lbd_still_accepts(self):
        a = self.backends.http("a")
        lbd, port, metrics = self.start("2s", a)
        self.assertEqual(admin_request(metrics, "GET", "/healthz").status, 200)
        t0 = time.monotonic()
        lbd.proc.send_signal(signal.SIGTERM)
        # the signal and a request already on its way race on the main
        # loop: /healthz fails from the signal's event on, well within
        # the delay
        r = admin_request(metrics, "GET", "/healthz")
        while r.status == 200 and time.monotonic() - t0 < 0.5:
            time.sleep(0.01)
            r = admin_request(metrics, "GET", "/healthz")
        self.assertEqual((r.status, r.body), (503, b"stopping\n"))
        self.assertEqual(admin_request(lbd, "GET", "/healthz").status, 503)
        self.assertEqual(admin_request(metrics, "GET", "/livez").status, 200)
        # new connections are still accepted and served during the delay
        served = 0
        while time.monotonic() - t0 < 1.2:
            self.assertEqual(body(port), b"a\n")
            served += 1
            time.sleep(0.1)
        self.assertGreater(served, 3)
        self.assertTrue(lbd.alive())
        self.assertEqual(lbd.wait(10), 0)
        self.assertGreaterEqual(time.monotonic() - t0, 1.9)
        self.assertIn("global.shutdown_delay", lbd.stderr())
        self.assertIn("shutdown_delay over: draining", lbd.stderr())

    def test_the_drain_follows_the_delay(self):
        """A request that is in flight when the delay ends finishes; the
        listeners close."""
        release = threading.Event()
        self.addCleanup(release.set)
        a = self.backends.http("a", lambda be, req: (release.wait(5),
                                                      B.Response(200, body=b"done\n"))[1])
        lbd, port, metrics = self.start("500ms", a)
        c = HttpClient(port)
        self.addCleanup(c.close)
        c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        a.wait_requests(1)
        lbd.proc.send_signal(signal.SIGTERM)
        self.assertTrue(wait_for(lambda: "shutdown_delay over: draining" in lbd.stderr()))
        self.assertTrue(wait_for(lambda: not wait_port(port, timeout=0.1), 3))
        self.assertEqual(admin_request(metrics, "GET", "/healthz").status, 503)
        release.set()
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"done\n"))
        self.assertEqual(lbd.wait(10), 0)

    def test_a_second_sigterm_cuts_the_delay_short(self):
        a = self.backends.http("a")
        lbd, port, metrics = self.start("60s", a)
        lbd.proc.send_signal(signal.SIGTERM)
        self.assertTrue(wait_for(
            lambda: admin_request(metrics, "GET", "/healthz").status == 503))
        self.assertEqual(body(port), b"a\n")
        t0 = time.monotonic()
        lbd.proc.send_signal(signal.SIGTERM)
        self.assertEqual(lbd.wait(10), 0)
        self.assertLess(time.monotonic() - t0, 5 * TIMEOUT_SCALE)
        self.assertIn("SIGTERM again: shutdown_delay cut short", lbd.stderr())

    def test_without_delay_healthz_fails_from_the_first_moment_of_the_drain(self):
        release = threading.Event()
        self.addCleanup(release.set)
        a = self.backends.http("a", lambda be, req: (release.wait(5),
                                                      B.Response(200, body=b"done\n"))[1])
        lbd, port, metrics = self.start(None, a)
        c = HttpClient(port)
        self.addCleanup(c.close)
        c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        a.wait_requests(1)
        t0 = time.monotonic()
        lbd.proc.send_signal(signal.SIGTERM)
        # the signal and a request already on its way race on the main
        # loop: /healthz fails from the signal's event on, well within
        # the delay
        r = admin_request(metrics, "GET", "/healthz")
        while r.status == 200 and time.monotonic() - t0 < 0.5:
            time.sleep(0.01)
            r = admin_request(metrics, "GET", "/healthz")
        self.assertEqual((r.status, r.body), (503, b"stopping\n"))
        self.assertEqual(admin_request(metrics, "GET", "/livez").status, 200)
        release.set()
        self.assertEqual(c.read_response().status, 200)
        self.assertEqual(lbd.wait(10), 0)


if __name__ == "__main__":
    import unittest
    unittest.main()

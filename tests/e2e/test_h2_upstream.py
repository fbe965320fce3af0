"""Pools of protocol h2 (SPEC §9): HTTP/2 to the servers, multiplexed on
pooled connections, for HTTP/1.1 and HTTP/2 clients alike; gRPC through
lbd (unary, server streaming, an error status in a trailers-only answer,
cancellation) with a Python grpcio server and client; a server's GOAWAY
retires its connection and the streams it did not process are sent again;
nghttpd as a plain h2c file server."""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from lbdtest import (HOST, LbdTestCase, HttpClient, config, free_port, listener, pool,
                     wait_port)

try:
    import grpc
except ImportError:
    grpc = None
try:
    import h2  # noqa: F401 (the h2c backend needs it)
except ImportError:
    h2 = None

HERE = os.path.dirname(os.path.abspath(__file__))
CURL = shutil.which("curl")
NGHTTPD = shutil.which("nghttpd")
NGHTTP = shutil.which("nghttp")


class Server:
    """A backend process of this directory (or any argv), stopped by PID."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.lines = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.strip()
            if line == "ready":
                self.ready.set()
            self.lines.append(line)

    def count(self, prefix, want=None, timeout=5.0):
        """Lines starting with PREFIX (waiting until there are WANT)."""
        deadline = time.monotonic() + timeout
        while True:
            n = sum(1 for ln in list(self.lines) if ln.startswith(prefix))
            if want is None or n >= want or time.monotonic() > deadline:
                return n
            time.sleep(0.02)

    def stop(self):
        self.proc.kill()
        self.proc.wait(5)
        self.proc.stdout.close()
        self.proc.stderr.close()


def curl(*args, timeout=20):
    out = subprocess.run([CURL, "-s", "-w", "\n%{http_version} %{http_code}"] + list(args),
                         capture_output=True, timeout=timeout)
    body, _, tail = out.stdout.rpartition(b"\n")
    return tail.decode().split() + [body]


class H2UpstreamTest(LbdTestCase):
    def backend(self, *argv, port):
        s = Server(list(argv))
        self.addCleanup(s.stop)
        self.assertTrue(s.ready.wait(10))  # (no probe: it would count as a connection)
        return s

    def h2_lbd(self, ports, **pool_kw):
        port = free_port()
        servers = ["%s:%d" % (HOST, p) for p in ports]
        lbd = self.start_lbd(config([listener("web", port, "p")],
                                    [pool("p", servers, protocol="h2", **pool_kw)]))
        return lbd, port

    # ---- plain h2c servers -------------------------------------------------

    @unittest.skipUnless(NGHTTPD and CURL, "no nghttpd or curl")
    def test_nghttpd_behind_lbd_for_both_kinds_of_client(self):
        docroot = tempfile.mkdtemp(prefix="lbd-h2-")
        self.addCleanup(shutil.rmtree, docroot)
        big = os.urandom(1 << 20)
        with open(os.path.join(docroot, "big.bin"), "wb") as f:
            f.write(big)
        with open(os.path.join(docroot, "index.html"), "w") as f:
            f.write("hello\n")
        sport = free_port()
        s = Server([NGHTTPD, "--no-tls", "-d", docroot, str(sport)])
        self.addCleanup(s.stop)
        self.assertTrue(wait_port(sport, timeout=10))
        lbd, port = self.h2_lbd([sport])
        url = "http://%s:%d/" % (HOST, port)
        self.assertEqual(curl(url + "index.html"), ["1.1", "200", b"hello\n"])
        self.assertEqual(curl("--http2-prior-knowledge", url + "index.html"),
                         ["2", "200", b"hello\n"])
        self.assertEqual(curl(url + "big.bin")[2], big)
        self.assertEqual(curl("--http2-prior-knowledge", url + "big.bin")[2], big)
        self.assertEqual(curl(url + "missing")[:2], ["1.1", "404"])
        lines = lbd.access_lines(count=5)
        self.assertEqual([ln["status"] for ln in lines], [200, 200, 200, 200, 404])
        self.assertEqual(lines[3]["bytes"] > len(big), True)

    @unittest.skipUnless(h2 and NGHTTP, "no python3-h2 or nghttp")
    def test_streams_share_one_server_connection(self):
        sport = free_port()
        s = self.backend(sys.executable, os.path.join(HERE, "h2_backend.py"), "s1", str(sport),
                         port=sport)
        lbd, port = self.h2_lbd([sport])
        # Thirty at once: the first opens the connection, the others wait
        # for it rather than open their own.
        urls = ["http://%s:%d/r%d" % (HOST, port, i) for i in range(30)]
        out = subprocess.run([NGHTTP, "-n", "-s"] + urls, capture_output=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(s.count("req ", 30), 30)
        self.assertEqual(s.count("conn"), 1, s.lines)
        # And HTTP/1.1 clients reuse it too.
        with HttpClient(port) as c:
            for _ in range(5):
                self.assertEqual(c.request().status, 200)
        self.assertEqual(s.count("conn"), 1)

    @unittest.skipUnless(h2 and NGHTTP, "no python3-h2 or nghttp")
    def test_goaway_streams_not_processed_are_sent_again(self):
        sport = free_port()
        s = self.backend(sys.executable, os.path.join(HERE, "h2_backend.py"), "s1", str(sport),
                         "3", port=sport)
        lbd, port = self.h2_lbd([sport])
        # One connection carries the first request; of the ten that follow
        # on it, the server takes two and refuses the rest with GOAWAY.
        self.assertEqual(curl("--http2-prior-knowledge",
                              "http://%s:%d/first" % (HOST, port))[1], "200")
        urls = ["http://%s:%d/g%d" % (HOST, port, i) for i in range(10)]
        out = subprocess.run([NGHTTP, "-n", "-s"] + urls, capture_output=True, timeout=20,
                             text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        # Every request answered once, the refused ones on new connections.
        self.assertEqual(s.count("req ", 11), 11, s.lines)
        self.assertGreaterEqual(s.count("conn"), 2)
        self.assertEqual(sorted(ln["status"] for ln in lbd.access_lines(count=11)), [200] * 11)

    @unittest.skipUnless(h2 and NGHTTP, "no python3-h2 or nghttp")
    def test_request_trailers_reach_the_server(self):
        sport = free_port()
        s = self.backend(sys.executable, os.path.join(HERE, "h2_backend.py"), "s1", str(sport),
                         port=sport)
        lbd, port = self.h2_lbd([sport])
        with tempfile.NamedTemporaryFile() as body:
            body.write(b"x" * 100000)
            body.flush()
            out = subprocess.run([NGHTTP, "-n", "-d", body.name, "--trailer", "x-sum: 42",
                                  "http://%s:%d/t" % (HOST, port)],
                                 capture_output=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(s.count("req ", 1), 1)
        self.assertIn("trailer x-sum: 42", s.lines)

    @unittest.skipUnless(NGHTTP, "no nghttp")
    def test_streams_waiting_for_a_connection_that_fails_get_502(self):
        lbd, port = self.h2_lbd([free_port()])  # nothing listens there
        urls = ["http://%s:%d/d%d" % (HOST, port, i) for i in range(20)]
        t0 = time.monotonic()
        subprocess.run([NGHTTP, "-n", "-s"] + urls, capture_output=True, timeout=20)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual([ln["status"] for ln in lbd.access_lines(count=20)], [502] * 20)

    def test_config_h2_pool_needs_an_http_listener(self):
        port = free_port()
        lst = listener("t", port, "p", protocol="tcp")
        cfg = config([lst], [pool("p", ["%s:%d" % (HOST, free_port())], protocol="h2")])
        from lbdtest import Lbd
        with Lbd(cfg, wait=False) as lbd:
            self.assertNotIn(lbd.wait(5), (None, 0))
            self.assertIn("speaks h2", lbd.stderr())


@unittest.skipUnless(grpc, "no python3-grpcio")
class GrpcTest(LbdTestCase):
    def setUp(self):
        super().setUp()
        self.sport = free_port()
        self.server = Server([sys.executable, os.path.join(HERE, "grpc_backend.py"),
                              str(self.sport)])
        self.addCleanup(self.server.stop)
        self.assertTrue(self.server.ready.wait(10))
        self.port = free_port()
        self.lbd = self.start_lbd(config(
            [listener("web", self.port, "p")],
            [pool("p", ["%s:%d" % (HOST, self.sport)], protocol="h2")]))
        self.channel = grpc.insecure_channel("%s:%d" % (HOST, self.port))
        self.addCleanup(self.channel.close)

    def test_unary_and_status(self):
        unary = self.channel.unary_unary("/test.Echo/Unary")
        self.assertEqual(unary(b"hi", timeout=5), b"echo:hi")
        big = os.urandom(200000)
        self.assertEqual(unary(big, timeout=10), b"echo:" + big)
        with self.assertRaises(grpc.RpcError) as cm:
            unary(b"fail", timeout=5)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(cm.exception.details(), "no such thing")
        lines = self.lbd.access_lines(count=3)
        self.assertEqual([ln["protocol"] for ln in lines], ["HTTP/2.0"] * 3)
        self.assertEqual([ln["path"] for ln in lines], ["/test.Echo/Unary"] * 3)

    def test_server_streaming(self):
        stream = self.channel.unary_stream("/test.Echo/Stream")
        items = list(stream(b"200", timeout=20))
        self.assertEqual(items, [b"item%d" % i for i in range(200)])

    def test_cancellation_reaches_the_server(self):
        slow = self.channel.unary_unary("/test.Echo/Slow")
        call = slow.future(b"x", timeout=20)
        time.sleep(0.5)
        call.cancel()
        self.assertEqual(self.server.count("cancelled", 1), 1)
        line = self.lbd.access_lines(count=1)[0]
        self.assertEqual(line["status"], 499)
        # The channel still works.
        unary = self.channel.unary_unary("/test.Echo/Unary")
        self.assertEqual(unary(b"again", timeout=5), b"echo:again")

    def test_many_concurrent_calls(self):
        unary = self.channel.unary_unary("/test.Echo/Unary")
        calls = [unary.future(b"%d" % i, timeout=20) for i in range(200)]
        self.assertEqual([c.result() for c in calls], [b"echo:%d" % i for i in range(200)])


if __name__ == "__main__":
    unittest.main()

"""Bodies stream with bounded memory (SPEC §3, DESIGN invariants): big
responses and uploads, a slow reader, a slow server under a fast upload, a
server dying mid-response."""

import hashlib
import socket
import sys
import threading
import time

import backends as B
from lbdtest import (LbdTestCase, HttpClient, Incomplete, RssSampler, build_request,
                     free_port, simple_config, server)

MB = 1000 * 1000
# growth of lbd's RSS allowed during a transfer (the bodies are 50-100 MB)
RSS_GROWTH_LIMIT_KB = 32 * 1024
RSS_LIMIT_KB = 64 * 1024


class StreamingTest(LbdTestCase):
    def assertRssBounded(self, base_kb, sampler, what):
        self.assertGreaterEqual(len(sampler.samples), 2, "RSS not sampled")
        growth = sampler.max_kb - base_kb
        self.assertLess(growth, RSS_GROWTH_LIMIT_KB,
                        "%s: lbd RSS grew by %d KiB (base %d KiB)" % (what, growth, base_kb))
        if base_kb < RSS_LIMIT_KB // 2:     # sanitizer builds start big; skip the absolute cap
            self.assertLess(sampler.max_kb, RSS_LIMIT_KB, what)

    def test_100mb_response_streamed(self):
        n = 100 * MB
        lbd, port, b = self.one_backend(B.big_handler(n))
        base = lbd.rss_kb()
        h = hashlib.sha256()
        t0 = time.monotonic()
        with RssSampler(lbd) as rss, HttpClient(port, timeout=30) as c:
            c.send(build_request("GET", "/big"))
            r = c.read_response(sink=h.update, timeout=30)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-length"), str(n))
        self.assertEqual(h.hexdigest(), B.pattern_sha256(n))
        self.assertRssBounded(base, rss, "100 MB response")
        self.assertLess(time.monotonic() - t0, 20)

    def test_100mb_chunked_response_streamed(self):
        n = 100 * MB
        lbd, port, b = self.one_backend(B.big_handler(n, chunked=True))
        base = lbd.rss_kb()
        h = hashlib.sha256()
        with RssSampler(lbd) as rss, HttpClient(port, timeout=30) as c:
            c.send(build_request("GET", "/bigchunked"))
            r = c.read_response(sink=h.update, timeout=30)
        self.assertEqual(h.hexdigest(), B.pattern_sha256(n))
        self.assertRssBounded(base, rss, "100 MB chunked response")

    def _upload(self, framing):
        n = 50 * MB
        lbd, port, b = self.one_backend(B.digest_handler)
        base = lbd.rss_kb()
        with RssSampler(lbd, interval=0.01) as rss, HttpClient(port, timeout=30) as c:
            if framing == "chunked":
                c.send(build_request("POST", "/up", [("Transfer-Encoding", "chunked")]))
                for piece in B.pattern_stream(n):
                    c.send(b"%x\r\n" % len(piece) + bytes(piece) + b"\r\n")
                c.send(b"0\r\n\r\n")
            else:
                c.send(build_request("POST", "/up", [("Content-Length", str(n))]))
                for piece in B.pattern_stream(n):
                    c.send(piece)
            r = c.read_response(timeout=30)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, ("%d %s\n" % (n, B.pattern_sha256(n))).encode())
        req = b.wait_requests(1)[0]
        self.assertEqual(req.chunked, framing == "chunked")
        self.assertRssBounded(base, rss, "50 MB %s upload" % framing)

    def test_50mb_chunked_upload(self):
        self._upload("chunked")

    def test_50mb_content_length_upload(self):
        self._upload("content-length")

    def test_slow_reader_does_not_grow_memory(self):
        """The client reads slowly at first: lbd must stop reading from the
        server (backpressure), not buffer the 100 MB."""
        n = 100 * MB
        lbd, port, b = self.one_backend(B.big_handler(n))
        base = lbd.rss_kb()
        h = hashlib.sha256()
        with HttpClient(port, timeout=30) as c:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            c.send(build_request("GET", "/slow"))
            with RssSampler(lbd, interval=0.03) as slow_rss:
                deadline = time.monotonic() + 1.5
                while time.monotonic() < deadline:     # about 1.3 MB/s for 1.5 s
                    data = c.sock.recv(65536)
                    self.assertTrue(data, "connection closed during the slow phase")
                    c.buf += data
                    time.sleep(0.05)
            self.assertLess(len(c.buf), n // 4)
            self.assertRssBounded(base, slow_rss, "slow reader")
            # then the rest at full speed: nothing lost or reordered meanwhile
            r = c.read_response(sink=h.update, timeout=30)
        self.assertEqual(r.status, 200)
        self.assertEqual(h.hexdigest(), B.pattern_sha256(n))
        self.reportPeak(lbd, base, "slow reader, fast server, 100 MB")

    def reportPeak(self, lbd, base_kb, what):
        """Print lbd's peak RSS (VmHWM, start-up included) for the record,
        and hold it to the same bound as the sampled RSS."""
        hwm = lbd.hwm_kb()
        sys.stderr.write("\n%s: lbd peak RSS (VmHWM) %d KiB, %d KiB at the start\n"
                         % (what, hwm, base_kb))
        self.assertLess(hwm - base_kb, RSS_GROWTH_LIMIT_KB, what)

    def test_slow_server_fast_upload_does_not_grow_memory(self):
        """The reverse: the client uploads 100 MB as fast as it can while the
        server does not read for 1.5 s; lbd must stop reading from the
        client (backpressure), not buffer the upload."""
        n = 100 * MB
        stall = threading.Event()

        def slow_start(be, req):
            stall.wait(10)      # the server reads nothing until released
        b = self.backends.http("slow", B.digest_handler, on_head=slow_start)
        self.addCleanup(stall.set)
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [b]))
        base = lbd.rss_kb()
        sent = [0]
        with HttpClient(port, timeout=30) as c:
            c.send(build_request("POST", "/up", [("Content-Length", str(n))]))

            def upload():
                try:
                    for piece in B.pattern_stream(n):
                        c.sock.sendall(piece)
                        sent[0] += len(piece)
                except OSError:
                    pass            # reported by the digest check below
            t = threading.Thread(target=upload, daemon=True)
            with RssSampler(lbd, interval=0.03) as stalled_rss:
                t.start()
                b.wait_requests(1, timeout=10)
                time.sleep(1.5)
                during = sent[0]
            self.assertLess(during, n // 4, "lbd kept reading the upload")
            self.assertRssBounded(base, stalled_rss, "fast upload to a stalled server")
            stall.set()
            r = c.read_response(timeout=60)
            t.join(30)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, ("%d %s\n" % (n, B.pattern_sha256(n))).encode())
        self.reportPeak(lbd, base, "fast upload, slow server, 100 MB")

    def test_server_killed_mid_response(self):
        """A server process dies while streaming: that client sees its
        response cut short; the other server keeps serving everyone."""
        victim = self.backends.process("victim", args=["--big", str(200 * MB)])
        healthy = self.backends.http("healthy")
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [server(victim.address, "victim"),
                                                  server(healthy)], retries=2))
        # find the request that goes to the victim (round robin: one of the first two)
        conns = []
        victim_conn = None
        for i in range(2):
            c = HttpClient(port, timeout=10)
            conns.append(c)
            c.send(build_request("GET", "/k%d" % i))
            r = c.read_head()
            if r.header("content-length") == str(200 * MB):
                victim_conn, victim_head = c, r
            else:
                self.assertEqual(c.read_body(r).body, b"healthy\n")
        self.addCleanup(lambda: [c.close() for c in conns])
        self.assertIsNotNone(victim_conn, "no request went to the streaming server")
        victim_conn._take(MB, time.monotonic() + 5)        # streaming has started
        victim.kill()
        with self.assertRaises(Incomplete) as cm:
            victim_conn.read_body(victim_head, sink=lambda d: None, timeout=10)
        self.assertNotEqual(cm.exception.args[0], "timed out", "client left hanging")
        # everyone else keeps being served (the dead server now refuses: retried)
        for i in range(6):
            with HttpClient(port) as c:
                r = c.request("GET", "/after%d" % i)
                self.assertEqual((r.status, r.body), (200, b"healthy\n"))
        self.assertTrue(lbd.alive())

    def test_server_abort_mid_response_other_clients_unaffected(self):
        n = 20 * MB
        big = B.big_handler(n, abort_after=2 * MB)

        def handler(be, req):
            return big(be, req) if req.target == "/cut" else B.default_handler(be, req)
        aborter = self.backends.http("aborter", handler)
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [aborter]))
        results = {}

        def other():
            try:
                with HttpClient(port) as c:
                    results["other"] = [c.request("GET", "/small").body for _ in range(3)]
            except Exception as e:  # noqa: BLE001 — reported by the assertion below
                results["other"] = e
        got = []
        with HttpClient(port, timeout=10) as c:
            c.send(build_request("GET", "/cut"))
            t = threading.Thread(target=other)
            t.start()
            with self.assertRaises(Incomplete) as cm:
                c.read_response(sink=lambda d: got.append(len(d)), timeout=10)
            t.join(10)
            self.assertNotEqual(cm.exception.args[0], "timed out", "client left hanging")
        self.assertLess(sum(got), n)
        self.assertEqual(results.get("other"), [b"aborter\n"] * 3)
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 200)
        self.assertTrue(lbd.alive())

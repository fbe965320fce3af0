"""Truthful logs: every request gets one access-log line, aborted ones
included, with how it ended (`termination`) and the retries it used; a
refused request and a server's failure say why in the error log."""

import re
import socket
import threading
import time

import backends as B
from lbdtest import (HOST, LbdTestCase, HttpClient, Incomplete, build_request, config,
                     free_port, listener, pool, server, simple_config)


class SilentServer:
    """Accepts one connection at a time, reads the request head, never
    answers, and notes when lbd closes the connection."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind((HOST, 0))
        self.lsock.listen(8)
        self.lsock.settimeout(0.1)
        self.address = "%s:%d" % (HOST, self.lsock.getsockname()[1])
        self.heads = []
        self.closed = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(0.1)
            data = b""
            deadline = time.monotonic() + 10
            while not self.stopping.is_set() and time.monotonic() < deadline:
                try:
                    d = conn.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    d = b""
                if not d:
                    self.closed.set()
                    break
                data += d
                if b"\r\n\r\n" in data and not self.heads:
                    self.heads.append(data)
            conn.close()

    def stop(self):
        self.stopping.set()
        self.lsock.close()
        self.thread.join(2)


class TerminationTest(LbdTestCase):
    def one_line(self, lbd, timeout=3):
        """The access log's single line (waits for it, then checks that no
        second one follows)."""
        lines = lbd.access_lines(count=1, timeout=timeout)
        time.sleep(0.25)
        lines = lbd.access_lines()
        self.assertEqual(len(lines), 1, lines)
        return lines[0]

    def test_normal_exchange_is_ok(self):
        lbd, port, b = self.one_backend()
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 200)
        line = self.one_line(lbd)
        self.assertEqual((line["termination"], line["retries"]), ("ok", 0))

    def test_aborted_download_writes_one_line(self):
        """A client that leaves mid-download: the server's status, the
        bytes that went out, client_aborted."""
        size = 64 << 20
        b = self.backends.http("big", B.big_handler(size, digest_header=False))
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [b]))
        s = socket.create_connection((HOST, port), timeout=5)
        s.sendall(build_request("GET", "/big"))
        got = 0
        while got < 256 << 10:
            d = s.recv(65536)
            self.assertTrue(d, "lbd closed early")
            got += len(d)
        s.close()   # unread bytes: a reset
        line = self.one_line(lbd)
        self.assertEqual(line["status"], 200)
        self.assertEqual(line["termination"], "client_aborted")
        self.assertEqual(line["server"], "big")
        self.assertGreaterEqual(line["bytes"], got)
        self.assertLess(line["bytes"], size)

    def test_client_closes_while_server_is_slow(self):
        """499, and the server's connection is closed: the server request
        is abandoned."""
        slow = SilentServer()
        self.addCleanup(slow.stop)
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [server(slow.address, "slow")]))
        with HttpClient(port) as c:
            c.send(build_request("GET", "/slow"))
            deadline = time.monotonic() + 3
            while not slow.heads and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertTrue(slow.heads, "the request never reached the server")
        self.assertTrue(slow.closed.wait(3), "the server's connection stayed open")
        line = self.one_line(lbd)
        self.assertEqual(line["status"], 499)
        self.assertEqual(line["termination"], "client_closed")
        self.assertEqual(line["server"], "slow")
        self.assertEqual(line["bytes"], 0)

    def test_client_closes_mid_head(self):
        """A client gone before its request head was complete still gets
        its line."""
        lbd, port, b = self.one_backend()
        with socket.create_connection((HOST, port), timeout=3) as s:
            s.sendall(b"GET /partial HTTP/1.1\r\nHost: x\r\n")
            time.sleep(0.2)
        line = self.one_line(lbd)
        self.assertEqual((line["status"], line["termination"]), (499, "client_closed"))
        self.assertEqual(line["method"], "")
        self.assertNothingReached(b)

    def test_server_cuts_its_response(self):
        b = self.backends.http("cut", B.big_handler(1 << 20, abort_after=100000,
                                                    digest_header=False))
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [b]))
        with HttpClient(port) as c:
            c.send(build_request("GET", "/cut"))
            with self.assertRaises(Incomplete):
                c.read_response(timeout=4)
        line = self.one_line(lbd)
        self.assertEqual((line["status"], line["termination"]), (200, "server_aborted"))
        self.assertGreaterEqual(line["bytes"], 100000)
        self.assertRegex(lbd.stderr(), r"warn: pool p: server cut \([0-9.:]+\): reset the "
                         r"connection while relaying the response to /cut; the client "
                         r"connection is closed")

    def test_server_closes_before_answering(self):
        b = self.backends.http("close", lambda be, r: B.CLOSE)
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [b]))
        with HttpClient(port) as c:
            self.assertEqual(c.request("GET", "/x").status, 502)
        line = self.one_line(lbd)
        self.assertEqual((line["status"], line["termination"]), (502, "server_aborted"))
        self.assertIn("server close (%s): closed the connection while waiting for the "
                      "response to /x" % b.address, lbd.stderr())

    def test_server_timeout(self):
        b = self.backends.http("hang", lambda be, r: B.HANG)
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [b], pool_kw={"timeouts": {"server": "300ms"}}))
        with HttpClient(port) as c:
            self.assertEqual(c.request(timeout=4).status, 504)
        line = self.one_line(lbd)
        self.assertEqual((line["status"], line["termination"]), (504, "server_timeout"))
        self.assertIn("timed out (timeouts.server, 300ms) while waiting for the response",
                      lbd.stderr())

    def test_invalid_response_says_why(self):
        b = self.backends.http("garbage", lambda be, r: B.Raw(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"))
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [b]))
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 502)
        line = self.one_line(lbd)
        self.assertEqual(line["termination"], "invalid_response")
        self.assertRegex(lbd.stderr(), r"server garbage \([0-9.:]+\): sent an invalid "
                         r"response \(.+\) while waiting")

    def test_refused_connects_with_retries(self):
        dead1, dead2 = self.backends.dead_address(), self.backends.dead_address()
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [server(dead1, "d1"), server(dead2, "d2")],
                                           retries=1))
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 502)
        line = self.one_line(lbd)
        self.assertEqual((line["termination"], line["retries"]), ("connect_failed", 1))
        err = lbd.stderr()
        self.assertRegex(err, r"Connection refused; retrying another server")
        self.assertRegex(err, r"Connection refused; no retry left")

    def test_retry_that_succeeds_is_counted(self):
        good = self.backends.http("good")
        port = free_port()
        lbd = self.start_lbd(simple_config(
            port, [server(self.backends.dead_address(), "dead"), server(good)], retries=1))
        with HttpClient(port) as c:
            for _ in range(2):
                self.assertEqual(c.request().status, 200)
        lines = lbd.access_lines(count=2)
        self.assertEqual([ln["termination"] for ln in lines], ["ok", "ok"])
        self.assertEqual([ln["server"] for ln in lines], ["good", "good"])
        # the balancer offers the dead server first at least once
        self.assertIn(1, [ln["retries"] for ln in lines])
        self.assertLessEqual(max(ln["retries"] for ln in lines), 1)

    def test_no_server(self):
        b = self.backends.http("z")
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [server(b, weight=0)]))
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 503)
        self.assertEqual(self.one_line(lbd)["termination"], "no_server")

    def test_combined_format_carries_the_fields(self):
        b = self.backends.http("b")
        port = free_port()
        lbd = self.start_lbd(config([listener("web", port, "p")], [pool("p", [b])],
                                    fmt="combined"))
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 200)
        lines = lbd.access_lines(count=1, raw=True)
        self.assertRegex(lines[0], r" generation=1 termination=ok retries=0 request_id=[0-9a-f]{32}$")


class RefusalReasonTest(LbdTestCase):
    def refusal_lines(self, lbd, count=1):
        deadline = time.monotonic() + 2
        while True:
            found = [ln for ln in lbd.stderr().splitlines()
                     if re.search(r" info: listener web: client ", ln)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def test_refused_request_logs_one_info_line_with_the_reason(self):
        lbd, port, b = self.one_backend()
        with HttpClient(port) as c:
            c.send(b"GET /a HTTP/1.1\r\nX-A: 1\r\n\r\n")
            self.assertEqual(c.read_response().status, 400)
        found = self.refusal_lines(lbd)
        self.assertEqual(found and found[0].split(" info: ", 1)[1],
                         "listener web: client 127.0.0.1: 400: no Host field in an HTTP/1.1 "
                         "request (GET /a)")
        self.assertEqual(len(found), 1, found)
        self.assertEqual(lbd.access_lines(count=1)[0]["termination"], "refused")

    def test_callback_refusal_is_in_lbds_words(self):
        """A refusal from inside the parser does not surface as llhttp's
        "Span callback error"."""
        lbd, port, b = self.one_backend()
        with HttpClient(port) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n")
            self.assertEqual(c.read_response().status, 400)
        found = self.refusal_lines(lbd)
        self.assertEqual(len(found), 1, lbd.stderr())
        self.assertIn(": 400: obsolete line folding in a header value", found[0])
        self.assertNotIn("Span callback error", lbd.stderr())

    def test_reasons_for_other_refusals(self):
        lbd, port, b = self.one_backend(limits={"header_size": "1k", "body_size": "10"},
                                        timeouts={"header": "300ms"})
        cases = [
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", 413,
             "Content-Length larger than limits.body_size"),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 2000 + b"\r\n\r\n", 431,
             "request head larger than limits.header_size"),
            (b"GET / HTTP/1.1\r\nHost: x\r\nExpect: nothing\r\n\r\n", 417,
             "an Expect other than 100-continue"),
            (b"GET / HTTP/1.1\r\nHost: x\r\n", 408,
             "the request head was not complete within timeouts.header"),
        ]
        for i, (raw, status, why) in enumerate(cases):
            with self.subTest(status=status):
                with HttpClient(port) as c:
                    c.send(raw)
                    self.assertEqual(c.read_response(timeout=3).status, status)
                found = self.refusal_lines(lbd, i + 1)
                self.assertIn(": %d: %s" % (status, why), found[i])
        terms = [ln["termination"] for ln in lbd.access_lines(count=len(cases))]
        self.assertEqual(terms, ["refused", "refused", "refused", "client_timeout"])

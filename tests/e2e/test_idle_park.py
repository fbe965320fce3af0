"""Idle keep-alive client connections give their request state back to the
worker between requests (struct client_busy, http_conn.h) and take one
again when their next bytes arrive: every request after the first on a
plain HTTP/1 connection starts from a parked connection. These tests drive
many such wakes and the other ways a parked connection ends."""

import socket
import time
import unittest

from lbdtest import LbdTestCase, HttpClient, config, free_port, listener, pool
from backends import big_handler

CONNECTIONS = 200


class IdleParkTest(LbdTestCase):
    def start(self, **kw):
        b = self.backends.http("b1")
        port = free_port()
        lbd = self.start_lbd(config([listener("web", port, "p")], [pool("p", [b])], **kw))
        return lbd, port

    def open_clients(self, port, n):
        clients = []
        for _ in range(n):
            c = HttpClient(port)
            self.addCleanup(c.close)
            clients.append(c)
        return clients

    def test_many_parked_connections_wake_in_any_order(self):
        lbd, port = self.start()
        clients = self.open_clients(port, CONNECTIONS)
        for i, c in enumerate(clients):
            self.assertEqual(c.request(target="/first/%d" % i).status, 200)
        rss_idle = lbd.rss_kb()
        # Now all of them are parked; wake them in another order, twice.
        for rnd in range(2):
            for i in reversed(range(len(clients))):
                r = clients[i].request(target="/again/%d/%d" % (rnd, i))
                self.assertEqual(r.status, 200)
        print("lbd RSS with %d idle keep-alive connections: %d KiB (%d KiB now)"
              % (CONNECTIONS, rss_idle, lbd.rss_kb()))
        lines = lbd.access_lines(count=3 * CONNECTIONS, timeout=10)
        self.assertEqual(len(lines), 3 * CONNECTIONS)
        self.assertTrue(all(ln["status"] == 200 for ln in lines))
        # Still parked (and open) when lbd stops: the cleanup checks it
        # exits cleanly.

    def test_pipelined_requests_after_parking(self):
        lbd, port = self.start()
        with HttpClient(port) as c:
            self.assertEqual(c.request(target="/one").status, 200)
            time.sleep(0.1)
            c.send(b"GET /two HTTP/1.1\r\nHost: t\r\n\r\n"
                   b"GET /three HTTP/1.1\r\nHost: t\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
            self.assertEqual(c.read_response().status, 200)
            # A request that arrives in pieces on a parked connection.
            time.sleep(0.1)
            c.send(b"GET /fo")
            time.sleep(0.1)
            c.send(b"ur HTTP/1.1\r\nHost: t\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
        targets = [ln["path"] for ln in lbd.access_lines(count=4, timeout=5)]
        self.assertEqual(targets, ["/one", "/two", "/three", "/four"])

    def test_parked_connection_times_out(self):
        lbd, port = self.start(timeouts={"client_idle": "300ms"})
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 200)
            self.assertTrue(c.closed_within(5))    # client_idle, while parked

    def test_parked_connections_closed_by_their_clients(self):
        lbd, port = self.start()
        clients = self.open_clients(port, 50)
        for c in clients:
            self.assertEqual(c.request().status, 200)
        for i, c in enumerate(clients):
            if i % 2:
                c.sock.shutdown(socket.SHUT_WR)   # half-close, then gone
            c.close()
        with HttpClient(port) as c:
            self.assertEqual(c.request().status, 200)
            self.assertEqual(c.request().status, 200)
        self.assertTrue(lbd.alive())

    def test_a_request_state_serves_connections_one_after_another(self):
        # Connections that come and go while others are parked: the
        # request state one gave back serves the next.
        lbd, port = self.start()
        parked = self.open_clients(port, 20)
        for c in parked:
            self.assertEqual(c.request().status, 200)
        for _ in range(50):
            with HttpClient(port) as c:
                self.assertEqual(c.request(headers=[("Connection", "close")]).status, 200)
        for c in parked:
            self.assertEqual(c.request().status, 200)

    def test_a_connection_closed_with_answer_bytes_queued_leaves_nothing_behind(self):
        # lbd keeps the bufferevents of ended plain connections for the
        # next ones: one that ends with part of a large answer still
        # queued must not hand those bytes to the next connection.
        big = self.backends.http("big", handler=big_handler(20 * 1024 * 1024))
        small = self.backends.http("small")
        port = free_port()
        routes = [{"match": {"path_prefix": "/big"}, "pool": "big"},
                  {"match": {"path_prefix": "/"}, "pool": "small"}]
        lbd = self.start_lbd(config([listener("web", port, routes=routes)],
                                    [pool("big", [big]), pool("small", [small])]))
        for _ in range(3):
            c = HttpClient(port)
            c.send(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
            c._take(64 * 1024, time.monotonic() + 5)     # streaming has started
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            c.close()                                     # reset: lbd's output is left queued
            for i in range(4):
                with HttpClient(port) as d:
                    r = d.request(target="/small/%d" % i)
                    self.assertEqual(r.status, 200)
                    self.assertEqual(r.body, b"small\n")
        self.assertTrue(lbd.alive())


if __name__ == "__main__":
    unittest.main()

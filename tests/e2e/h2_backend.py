"""An h2c server for the tests, written with Debian's python3-h2: each
request is answered 200 with "<name> <stream id>\n" and X-Backend once it
ended (its trailer fields are printed as "trailer NAME: VALUE"); with
GOAWAY_AFTER=N, a connection sends GOAWAY naming its Nth stream as the last
one it processes (the streams after it are refused, and a proxy must send
them again elsewhere) and closes once those are answered; with STATUS, it
answers that status instead of 200; with DELAY (seconds), each answer
leaves that long after its request ended, streams of one connection in
parallel ("start <path>" is printed when one begins).

Run as `python3 h2_backend.py NAME PORT [GOAWAY_AFTER [STATUS [DELAY]]]`:
prints "ready", then "conn" for each connection it accepts and
"req <path>" for each request it answers."""

import socket
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events


LOCK = threading.Lock()


def say(line):
    """One line on stdout, whole (the connections' threads share it)."""
    with LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def answer_later(conn, lock, sock, name, stream_id, path, delay):
    """Answer STREAM_ID after DELAY seconds, from a thread of its own."""
    def answer():
        body = ("%s %d\n" % (name, stream_id)).encode()
        with lock:
            try:
                conn.send_headers(stream_id, [(":status", "200"), ("x-backend", name),
                                              ("content-length", str(len(body)))])
                conn.send_data(stream_id, body, end_stream=True)
                sock.sendall(conn.data_to_send())
            except Exception:  # noqa: BLE001 (the connection is gone)
                return
            say("req %s" % path)
    say("start %s" % path)
    threading.Timer(delay, answer).start()


def serve(sock, name, goaway_after, status=200, delay=0.0):
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    seen = 0
    paths = {}
    lock = threading.Lock()
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            last = None
            lock.acquire()
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    paths[ev.stream_id] = dict(ev.headers).get(b":path", b"").decode()
                elif isinstance(ev, h2.events.TrailersReceived):
                    for k, v in ev.headers:
                        say("trailer %s: %s" % (k.decode(), v.decode()))
                elif isinstance(ev, h2.events.DataReceived):
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded) and delay:
                    answer_later(conn, lock, sock, name, ev.stream_id,
                                 paths.pop(ev.stream_id, ""), delay)
                elif isinstance(ev, h2.events.StreamEnded) and last is None:
                    # Answered once the whole request is in (body, trailers).
                    seen += 1
                    body = ("%s %d\n" % (name, ev.stream_id)).encode()
                    conn.send_headers(ev.stream_id, [(":status", str(status)),
                                                     ("x-backend", name),
                                                     ("content-length", str(len(body)))])
                    conn.send_data(ev.stream_id, body, end_stream=True)
                    say("req %s" % paths.pop(ev.stream_id, ""))
                    if goaway_after and seen == goaway_after:
                        last = ev.stream_id
                        conn.close_connection(last_stream_id=last)
            sock.sendall(conn.data_to_send())
            lock.release()
            if last is not None:
                # What the client sends after the GOAWAY is not read: the
                # streams above LAST were refused by it.
                time.sleep(0.3)
                return
    except OSError:
        return
    finally:
        sock.close()


def main():
    name, port = sys.argv[1], int(sys.argv[2])
    goaway_after = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    status = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    delay = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(64)
    say("ready")
    while True:
        s, _ = lsock.accept()
        say("conn")
        threading.Thread(target=serve, args=(s, name, goaway_after, status, delay),
                         daemon=True).start()


if __name__ == "__main__":
    main()

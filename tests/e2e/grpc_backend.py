"""A gRPC server for the tests, without generated code: methods of the
service test.Echo take and give raw bytes.

    Unary(b"fail")  -> NOT_FOUND "no such thing"; Unary(x) -> b"echo:" + x
    Stream(b"N")    -> N messages b"item<i>", one every STREAM_GAP seconds
    Slow(x)         -> sleeps until cancelled (or 30 s), then b"late"

Run as `python3 grpc_backend.py PORT`: prints "ready" when it listens, and
each cancellation it sees as "cancelled" on stdout."""

import sys
import threading
import time
from concurrent import futures

import grpc

STREAM_GAP = 0.01


def unary(req, ctx):
    if req == b"fail":
        ctx.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
    return b"echo:" + req


def stream(req, ctx):
    for i in range(int(req)):
        yield b"item%d" % i
        time.sleep(STREAM_GAP)


def slow(req, ctx):
    done = threading.Event()

    def on_cancel():
        print("cancelled", flush=True)
        done.set()
    ctx.add_callback(on_cancel)
    done.wait(30)
    return b"late"


HANDLER = grpc.method_handlers_generic_handler("test.Echo", {
    "Unary": grpc.unary_unary_rpc_method_handler(unary),
    "Stream": grpc.unary_stream_rpc_method_handler(stream),
    "Slow": grpc.unary_unary_rpc_method_handler(slow),
})


def main():
    server = grpc.server(futures.ThreadPoolExecutor(8))
    server.add_generic_rpc_handlers((HANDLER,))
    server.add_insecure_port("127.0.0.1:%s" % sys.argv[1])
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()

/* h2_upstream.h — the server side of an exchange for pools of protocol h2
 * (SPEC §9): per worker, HTTP/2 connections to each server (h2c, or ALPN
 * h2 over the pool's tls), each carrying up to H2_UP_STREAMS_MAX streams
 * (fewer when the server says so), the requests sent as HTTP/2 and the
 * responses handed to the client side with their trailer fields, so gRPC
 * status and streaming pass. A server's GOAWAY retires its connection; the
 * streams it did not process are sent again (on a new connection, or to
 * another server). */
#ifndef LBD_H2_UPSTREAM_H
#define LBD_H2_UPSTREAM_H

#include "http/http_conn.h"

struct h2_upstream_pool;

extern const struct upstream_ops h2_upstream_ops;

struct h2_upstream_pool *h2_upstream_pool_new(struct http_worker *hw);
/* Close every connection that carries no stream (the worker stops). */
void h2_upstream_pool_close_idle(struct h2_upstream_pool *pool);
void h2_upstream_pool_free(struct h2_upstream_pool *pool);

#endif

/* http2.h — the HTTP protocol as a worker runs it with HTTP/2 beside
 * HTTP/1 (h2_worker.c): HTTP/1's worker state (http/http.h), with the
 * connections that speak HTTP/2 (ALPN h2, or the h2c preface) handed to
 * the HTTP/2 client side (h2_conn.h). */
#ifndef LBD_HTTP2_H
#define LBD_HTTP2_H

#include "event/worker.h"
#include "http/http_conn.h"

extern const struct worker_protocol http2_protocol;

/* Take over the connection HO (h2_conn.c). Returns 0, or -1 with the
 * bufferevent left to the caller. */
int h2_conn_start(const struct client_handover *ho);

#endif

/* h2_conn.h — an HTTP/2 client connection and its streams, as the two files
 * of the HTTP/2 client side see them. h2_conn.c owns the connection: the
 * socket, the nghttp2 session (frames in and out, flow control, SETTINGS),
 * its timer, its limits against abuse, and its end. h2_stream.c owns each
 * stream: a request turned into an exchange (http/http_conn.h) like an
 * HTTP/1 request, its body to the server and the response back as frames.
 */
#ifndef LBD_H2_CONN_H
#define LBD_H2_CONN_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "core/runtime.h"
#include "event/io.h"
#include "event/worker.h"
#include "http/http_conn.h"
#include "http2/h2_request.h"
#include "stream/inbound.h"

struct h2_conn;

enum h2_stream_state {
	H2S_HEAD,    /* its header block is arriving */
	H2S_CONNECT, /* routed; waiting for a server connection */
	H2S_FORWARD, /* the request body and the response flow */
	H2S_ENDED,   /* the exchange is over (logged); frames may remain */
};

struct h2_stream {
	TAILQ_ENTRY(h2_stream) link;
	struct h2_stream *spare_next; /* in the worker's spares (h2_stream.c) */
	struct h2_conn *conn;
	int32_t id;
	enum h2_stream_state state;
	struct h2_request fields;  /* the header block, as it arrives */
	struct request_parser req; /* its HTTP/1 form, parsed (as HTTP/1's) */
	struct evbuffer *in;       /* that form, not parsed yet */
	struct evbuffer *out;      /* the response body for DATA frames */
	struct exchange ex;
	bool keep_alive;               /* what the response parser asks: always */
	bool end_stream;               /* the client sent END_STREAM */
	bool sent_pending;             /* the request is parsed whole, END_STREAM not yet in */
	bool resp_submitted;           /* HEADERS of the response were submitted */
	bool resp_complete;            /* the whole body is in OUT */
	bool deferred;                 /* the data source waits for OUT */
	bool upstream_blocked;         /* the server's reading waits for OUT */
	bool counted;                  /* holds one of the connection's in-flight slots */
	bool in_process;               /* inside stream_process() */
	uint64_t unconsumed;           /* DATA bytes received but not yet handed on */
	struct strbuf trailers;        /* the response's trailer fields: "name\0value\0"... */
	struct http_head req_trailers; /* the request's trailer fields */
	uint32_t ntrailers;
};

TAILQ_HEAD(h2_stream_list, h2_stream);

struct h2_conn {
	struct conn_link link; /* first: the worker's list points here */
	struct worker *w;
	struct http_worker *hw;
	struct listener_rt *lrt;
	struct inbound in;
	struct bufferevent *bev;
	struct io_reader rd;
	nghttp2_session *session;
	struct event *timer;  /* idle, and the stall of a closed window */
	struct event *resume; /* reading again after a pause */
	struct event *write;  /* the socket write of this loop pass */
	struct h2_stream_list streams;
	uint32_t in_flight;        /* streams whose exchange is not over */
	uint32_t requests;         /* streams opened */
	uint32_t pass_new;         /* streams opened in this read pass */
	uint32_t glitches;         /* refused, reset and bad streams */
	uint64_t glitch_window_us; /* when the glitches began to count */
	bool in_process;
	bool free_pending;
	bool paused;         /* reading stopped: too many new streams */
	bool out_full;       /* the socket's output is over its bound */
	bool closing;        /* GOAWAY sent: no new streams */
	bool abused;         /* an abuse was logged and counted */
	bool send_pending;   /* frames were queued while sending */
	bool idle_closed;    /* closing for idleness: reading is over */
	bool over;           /* to be freed on the next turn of the loop */
	bool goaway_pending; /* GOAWAY once GOAWAY_LAST is answered */
	int32_t goaway_last;
	bool write_queued;         /* WRITE is active */
	bool timer_busy;           /* TIMER looks at windows (else: the idle end) */
	uint64_t stalled_since_us; /* output waits on the client's window */
};

/* h2_conn.c, called by h2_stream.c. */

/* Send what the session has queued (and free C when it is over). */
void h2_conn_flush(struct h2_conn *c);
/* Count and log ABUSE once, and end the connection with GOAWAY
 * ENHANCE_YOUR_CALM (or the error nghttp2 chose). */
void h2_conn_abuse(struct h2_conn *c, enum h2_abuse abuse, const char *why);
/* A stream refused, reset or malformed: too many end the connection, and
 * the kind of the one that went over the limit (H2_ABUSE_STREAMS,
 * H2_ABUSE_RAPID_RESET, H2_ABUSE_GLITCHES) is what /metrics counts. */
void h2_conn_glitch(struct h2_conn *c, enum h2_abuse kind, const char *why);
/* The limits for the streams starting now. */
const struct config *h2_conn_config(const struct h2_conn *c);

/* h2_stream.c, called by h2_conn.c. */

/* A new request stream ID. Returns NULL out of memory. */
struct h2_stream *h2_stream_new(struct h2_conn *c, int32_t id);
/* One header field of its request (or trailer field, dropped). */
void h2_stream_field(struct h2_stream *s, const uint8_t *name, size_t name_len,
		     const uint8_t *value, size_t value_len);
/* The request's header block is complete; END_STREAM: no body follows. */
void h2_stream_head_done(struct h2_stream *s, bool end_stream);
/* LEN bytes of the request body. */
void h2_stream_data(struct h2_stream *s, const uint8_t *data, size_t len);
/* The client ended its side of the stream (END_STREAM on DATA or
 * trailers). */
void h2_stream_end(struct h2_stream *s);
/* The stream closed (ERROR_CODE: why); it is freed. */
void h2_stream_closed(struct h2_stream *s, uint32_t error_code);
/* Free the spare streams a worker keeps (the worker ends). */
void h2_stream_spares_free(struct http_worker *hw);
/* The connection ends: every exchange is logged with TERM and freed. */
void h2_stream_abort(struct h2_stream *s, enum access_termination term);
/* Work deferred out of nghttp2's callbacks: resume the server's reading
 * once the response buffer drained. */
void h2_stream_after_send(struct h2_stream *s);

#endif

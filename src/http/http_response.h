/* http_response.h — a server's response on its way to the client: llhttp in
 * response mode into a bounded head (obs-fold refused), the framing checks
 * of RFC 9112 §6.3, the head the client gets (http_rewrite.h) and the body
 * framed again for the client (body.h).
 *
 * No sockets and no connection state: the owner (http_upstream.c) says what
 * it knows of the exchange, feeds the bytes the server sent and reads back
 * what was found; what the client gets is queued on an evbuffer. The
 * response fuzz target drives it the same way.
 */
#ifndef LBD_HTTP_RESPONSE_H
#define LBD_HTTP_RESPONSE_H

#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/body.h"
#include "http/compress.h"
#include "http/cookie.h"
#include "http/http_head.h"
#include "util/strbuf.h"

struct evbuffer;
struct response_out;
struct header_rules;
struct header_vars;
struct prefix_rewrite;

/* Where the final head goes when the client does not read HTTP/1 bytes (an
 * HTTP/2 stream): called with the server's head and how lbd frames it;
 * interim responses are not passed on. Returns 0, or -1 to refuse. */
typedef int (*response_head_fn)(void *arg, const struct http_head *head,
				const struct response_out *out);

/* Whether a final response of STATUS is to be dropped unseen, for the
 * request to go to another server (routes[].retry_on): asked once its head
 * is parsed, before anything of it is queued for the client. */
typedef bool (*response_retry_fn)(void *arg, int status);

struct response_parser {
	llhttp_t p;
	struct http_head *head; /* the server's head (the owner's storage) */
	struct evbuffer *out;   /* towards the client */
	struct strbuf *scratch; /* for rendering heads, reused */

	/* The exchange, set by the owner before the first feed. The two
	 * pointers are the owner's own state, read when the final head is
	 * relayed (it may change until then: a stop, a client's half-close). */
	bool is_head;                          /* the request was HEAD */
	bool upgrade;                          /* the request asked for an upgrade */
	const bool *req_complete;              /* the whole request reached the server */
	const bool *client_keep_alive;         /* the client connection may stay open */
	int client_minor;                      /* HTTP/1.<minor> of the client */
	const struct set_cookie *set_cookie;   /* added to the final head, or NULL */
	const struct header_rules *rules;      /* the route's response_headers, or NULL */
	const struct header_vars *vars;        /* for their values (the owner's) */
	struct response_compression *compress; /* the owner's, or NULL: the
						* body goes through gzip when
						* it says so (compress.h) */
	const struct prefix_rewrite *prefix;   /* a strip_prefix route's Location
						* and Set-Cookie, or NULL */
	response_head_fn head_fn;              /* set: the head goes here, and the
					      * body's payload follows on OUT
					      * unframed */
	void *head_arg;
	response_retry_fn retry_fn; /* NULL: every response is relayed */
	void *retry_arg;

	/* What the response said. */
	int status;   /* of the final response; 0 before it */
	bool started; /* the final head was queued on OUT */
	bool complete;
	bool retry;             /* retry_fn wanted another server: nothing was relayed */
	bool server_keep_alive; /* the server connection may be reused */
	bool closes_client;     /* this response ends the client connection
				 * (framed by the server's close, or sent
				 * before the whole request was read) */
	enum body_mode body;    /* the framing towards the client */
	uint64_t bytes_out;     /* bytes queued on OUT, added to */

	/* The raw bytes being parsed, for the obs-fold and chunk CRLF checks. */
	const char *chunk, *chunk_end;
	char chunk_prev;
	bool guard_failed;
	struct chunk_guard cg;
	struct fold_guard fg;
};

enum response_step {
	RESPONSE_MORE,    /* every byte was used; more is to come */
	RESPONSE_DONE,    /* the response is complete; bytes after it unused */
	RESPONSE_UPGRADE, /* a 101 was relayed; the bytes after it are a tunnel */
	RESPONSE_INVALID, /* refused: a 502 if nothing went to the client yet */
	RESPONSE_RETRY,   /* a final head that retry_fn took: nothing of it was
			   * queued; the connection's bytes are left unread */
};

/* Start parsing a response into HEAD (bounds set by the owner), queueing
 * what the client gets on OUT. Inputs are then set by the owner. */
void response_parser_init(struct response_parser *rp, struct http_head *head, struct evbuffer *out,
			  struct strbuf *scratch);

/* Parse LEN bytes at BUF; *USED receives how many were consumed. */
enum response_step response_parser_feed(struct response_parser *rp, const char *buf, size_t len,
					size_t *used);

/* Every byte the server sent so far was fed: what a gzipped body holds
 * back goes out now (compress.h), so that a server that pauses is not
 * delayed by lbd. Returns 0, or -1 when it could not be queued. */
int response_parser_pause(struct response_parser *rp);

/* True when the server closing the connection is what ends this response
 * (a body delimited by the close). */
bool response_parser_needs_eof(const struct response_parser *rp);

/* The server closed: returns true when that completes the response. */
bool response_parser_finish(struct response_parser *rp);

/* Why the last feed returned RESPONSE_INVALID, for the log. */
const char *response_parser_error(const struct response_parser *rp);

#endif

/* request_parser.h — a client's requests as lbd reads them: llhttp in strict
 * request mode into a bounded head, with the checks llhttp does not make on
 * the raw bytes (the head's raw size, one space after the method, obs-fold,
 * the CRLF after each chunk's data), extension methods, the body limit, the look-ahead over a
 * body already received, and the body framed again for the server (body.h).
 * What it found (version, method, framing, keep-alive) is read here and
 * nowhere else.
 *
 * No sockets and no connection state: the owner (http_client.c) sets the
 * limits, feeds the bytes the client sent and acts on each step; the unit
 * tests and the request fuzz target drive it the same way. It pauses at the
 * end of each head (the owner routes it, then resumes) and of each request:
 * pipelined requests stay unparsed until request_parser_next().
 */
#ifndef LBD_REQUEST_PARSER_H
#define LBD_REQUEST_PARSER_H

#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/body.h"
#include "http/http_head.h"

struct evbuffer;

/* The longest method lbd reads itself (an extension method, one that llhttp
 * does not know); a longer token is llhttp's to refuse. */
#define METHOD_MAX 32

struct request_parser {
	llhttp_t p; /* http_major/minor, method, flags */
	struct http_head head;

	/* Set by the owner: the head limits before a request's first byte,
	 * where its body goes before the body is fed. */
	uint64_t header_size; /* bytes of a head, raw and stored */
	uint32_t headers;     /* fields of a head */
	struct evbuffer *out; /* towards the server */
	bool raw_out;         /* the body goes to OUT unframed (an HTTP/2
			       * server frames it itself) */

	/* What the request said, until request_parser_next(). */
	const char *method;  /* NULL until its head is complete (in HEAD) */
	enum body_mode body; /* its framing, from its head */
	uint64_t body_size;  /* its body limit (check_body); 0: none */
	uint64_t body_bytes; /* payload bytes parsed */
	bool started;        /* its first byte was parsed */
	bool complete;       /* parsed to its end */
	bool paused;         /* at the end of its head or of itself */
	int status;          /* the answer after REQUEST_ERROR */
	const char *reason;  /* why, when lbd's own check refused it */

	/* The raw bytes: where the head is, what precedes a span. */
	bool in_head;                  /* its head, or what comes before it */
	bool discarding;               /* the rest of a request answered early */
	uint64_t head_bytes;           /* raw bytes of the head so far */
	const char *chunk, *chunk_end; /* the bytes being parsed, and the */
	char chunk_prev, chunk_prev2;  /* last two bytes before them */
	struct chunk_guard cg;
	struct fold_guard fg;

	/* The method, read before llhttp sees it (request_parser.c). */
	bool at_start;       /* the next bytes begin a request */
	bool skipped;        /* a request answered early ended */
	bool ext_method;     /* METHOD_BUF is one llhttp does not know */
	uint8_t method_held; /* bytes of it in METHOD_BUF */
	char method_buf[METHOD_MAX];
};

enum request_step {
	REQUEST_MORE,    /* every byte was used; more is to come */
	REQUEST_HEAD,    /* a head is complete: route it, then resume */
	REQUEST_DONE,    /* the request is complete; bytes after it unused */
	REQUEST_UPGRADE, /* complete, and what follows it is not HTTP */
	REQUEST_ERROR,   /* refused: answer STATUS (400, 413, 431, 500, 505) */
};

/* Start with no request, head storage from CACHE (or NULL). */
void request_parser_init(struct request_parser *rp, struct http_head_cache *cache);
void request_parser_free(struct request_parser *rp);

/* Parse LEN bytes at BUF (not while paused); *USED receives how many were
 * consumed. */
enum request_step request_parser_feed(struct request_parser *rp, const char *buf, size_t len,
				      size_t *used);

/* After REQUEST_HEAD, once routed: BODY_SIZE is the body limit (0: none).
 * A body over it, or broken in the bytes already received (IN, not
 * consumed), is refused before anything of the request leaves lbd.
 * Returns 0, or the status to answer (400, 413). */
int request_parser_check_body(struct request_parser *rp, uint64_t body_size, struct evbuffer *in);

/* Go on after REQUEST_HEAD: parse the body. */
void request_parser_resume(struct request_parser *rp);

/* The exchange is over: on to the next request. What is left of this one
 * (when it was answered at its head) is parsed and dropped first. */
void request_parser_next(struct request_parser *rp);

/* Whether body bytes of the request are still to come. */
static inline bool request_parser_body_left(const struct request_parser *rp)
{
	return !rp->complete && ((rp->p.flags & F_CHUNKED) || rp->p.content_length > 0);
}

/* Whether parsing can go on only with more bytes: what is left after a head
 * without body, or of a request answered at its head, completes on an empty
 * feed. */
static inline bool request_parser_needs_bytes(const struct request_parser *rp)
{
	return !rp->discarding && (rp->in_head || request_parser_body_left(rp));
}

/* Whether the client asked to keep the connection open after this request. */
static inline bool request_parser_keep_alive(const struct request_parser *rp)
{
	return llhttp_should_keep_alive(&rp->p);
}

/* Why the request was refused (REQUEST_ERROR, or a status from
 * request_parser_check_body()), in lbd's words, for the log. */
const char *request_parser_error(const struct request_parser *rp);

#endif

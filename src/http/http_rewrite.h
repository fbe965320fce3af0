/* http_rewrite.h — the heads lbd sends: a client's request as the server
 * gets it, and a server's response as the client gets it.
 *
 * Hop-by-hop fields (Connection and every field it names, Keep-Alive,
 * Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade) never cross
 * lbd; the framing of each side is lbd's own (body.h). Requests gain
 * X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host and Forwarded (a
 * trusted proxy's X-Forwarded-Proto, X-Forwarded-Host and Forwarded
 * elements are kept, anyone else's replaced) and X-Request-Id (the
 * client's, or one lbd made: exchange.c); the Host field is kept.
 * X-Client-Cert-Subject and X-Client-Cert-Verify are lbd's alone: a
 * client's are always dropped, and a listener with tls.client_ca sends
 * its own.
 * A route's header rules come last, over lbd's own fields too
 * (header_rules.h); lbd's sticky cookie is never theirs to remove.
 */
#ifndef LBD_HTTP_REWRITE_H
#define LBD_HTTP_REWRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "http/body.h"
#include "http/compress.h"
#include "http/cookie.h"
#include "http/header_rules.h"
#include "http/http_head.h"
#include "util/strbuf.h"

struct request_out {
	const char *method;
	size_t method_len;
	const char *target;
	size_t target_len; /* origin-form, or "*" */
	bool target_slash; /* "/" goes first: TARGET is the query of an empty
			    * path, or what strip_prefix left of one */
	bool asterisk;     /* "OPTIONS *" */
	int http_minor;    /* HTTP/1.<minor> of the client */
	const char *host;
	size_t host_len;       /* NULL: the request had none */
	bool replace_host;     /* absolute-form: HOST replaces Host */
	const char *client_ip; /* numeric, or "unix" */
	bool client_v6;
	bool trusted;      /* the peer is one of the listener's trusted proxies */
	const char *proto; /* "http" or "https" */
	enum body_mode body;
	uint64_t content_length;          /* with BODY_LENGTH */
	bool upgrade;                     /* keep Upgrade, send Connection: upgrade */
	const char *request_id;           /* sent as X-Request-Id (the client's
					   * own are dropped); NULL: none */
	bool client_cert;                 /* the listener asks for client
					   * certificates: X-Client-Cert-Verify */
	const char *client_cert_subject;  /* the verified one's; NULL: none */
	const struct header_rules *rules; /* the route's request_headers, or NULL */
	const struct header_vars *vars;   /* for their values */
};

/* Append the head of REQ (parsed into H) as lbd forwards it. Returns 0,
 * or -1 when OUT could not grow. */
int http_request_write(struct strbuf *out, const struct http_head *h,
		       const struct request_out *req);

struct response_out {
	int status;
	enum body_mode body;                 /* the framing lbd uses towards the client */
	uint64_t content_length;             /* with BODY_LENGTH */
	int64_t declared_length;             /* BODY_NONE (HEAD, 304): the server's
					      * Content-Length, passed on; -1 if none */
	bool keep_alive;                     /* the client connection stays open */
	int client_minor;                    /* HTTP/1.<minor> of the client */
	bool upgrade;                        /* 101: keep Upgrade and Connection: upgrade */
	const struct set_cookie *set_cookie; /* added when not NULL */
	const struct header_rules *rules;    /* the route's response_headers, or NULL */
	const struct header_vars *vars;      /* for their values */
	enum compress_verdict compress;      /* Vary, or gzip (compress.h) */
};

/* Append the head of a server's response (parsed into H) as lbd sends it to
 * the client. */
int http_response_write(struct strbuf *out, const struct http_head *h,
			const struct response_out *resp);

/* True for the fields that describe one connection only. */
bool http_is_hop_by_hop(const struct http_head *h, const struct http_field *f);
/* True for NAME (LEN bytes), whatever its case, when it is one of the
 * fields that describe one connection (those Connection names aside). */
bool http_name_is_hop_by_hop(const char *name, size_t len);

#endif

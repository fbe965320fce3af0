/* admin_private.h — what the files of the admin API share: the admin's
 * state (its ports, one evhttp each), the answers in JSON (admin_reply.c)
 * and the handlers of servers (admin_servers.c). The rest of lbd sees
 * admin.h. */
#ifndef LBD_ADMIN_PRIVATE_H
#define LBD_ADMIN_PRIVATE_H

#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>

#include "daemon/admin_gate.h"
#include "daemon/admin_proto.h"
#include "daemon/status_page.h"
#include "util/addr.h"
#include "util/strbuf.h"

struct daemon;
struct event;
struct evconnlistener;

enum port_kind {
	PORT_SOCKET,  /* the UNIX socket: everything */
	PORT_TCP,     /* global.admin.listen: reads, changes with the token */
	PORT_METRICS, /* global.metrics.listen: /metrics, /healthz, /livez */
	PORT_COUNT,
};

struct admin;

struct port {
	struct admin *a;
	enum port_kind kind;
	struct evhttp *http;
	struct evhttp_bound_socket *bound; /* its listening socket, or NULL */
	struct lbd_addr addr;              /* that socket's address */
};

struct admin {
	struct daemon *d;
	struct port ports[PORT_COUNT];
	char *socket_path; /* removed by admin_free */
	int fd;            /* a socket being set up, until evhttp owns it */
	/* The listening sockets evhttp serves (owned by it), and the timer
	 * that ends a pause after a failed accept(). */
	struct evconnlistener *ls[PORT_COUNT];
	size_t nls;
	struct event *resume;
	struct admin_gates gates;           /* in front of every connection */
	char page_csp[STATUS_PAGE_CSP_MAX]; /* of GET /; "" if the page is broken */
};

/* Answers (admin_reply.c). Each takes BODY (freed). HEAD gets the length
 * and no body. */
void admin_reply(struct evhttp_request *req, int code, const char *reason, const char *type,
		 struct strbuf *body);
void admin_reply_json(struct evhttp_request *req, int code, const char *reason,
		      struct strbuf *body);
/* {"ok":false,"error":MSG} */
void admin_reply_error(struct evhttp_request *req, int code, const char *reason, const char *msg);
/* {"ok":true EXTRA} (EXTRA starts with a comma, or is empty) */
void admin_reply_ok(struct evhttp_request *req, const char *extra);
/* True when REQ's method is WANT (HEAD counts as GET); else answers 405
 * with Allow: ALLOW. */
bool admin_method_is(struct evhttp_request *req, enum evhttp_cmd_type want, const char *allow);

/* /servers/POOL/SERVER/ACTION and /pools/POOL/servers/SERVER
 * (admin_servers.c): SEG holds the path's segments. */
void admin_handle_server(struct admin *a, struct evhttp_request *req,
			 char seg[][ADMIN_SEGMENT_MAX]);
void admin_handle_pool_server(struct admin *a, struct evhttp_request *req,
			      char seg[][ADMIN_SEGMENT_MAX]);
void admin_handle_pool_servers(struct admin *a, struct evhttp_request *req,
			       char seg[][ADMIN_SEGMENT_MAX]);

#endif

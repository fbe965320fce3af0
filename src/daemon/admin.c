/* admin.c — the admin API over evhttp: sockets, routing of requests to the
 * daemon (daemon.h), and answers in JSON.
 *
 * Every answer is JSON ({"ok":true,...} or {"ok":false,"error":"..."}),
 * except /healthz and /livez (plain "ok" or "stopping"), /status?format=table
 * (the table lbctl prints) and /metrics (the Prometheus text format). HEAD
 * is answered wherever GET is. Requests are bounded (head and body sizes, a
 * timeout); anything malformed gets a 4xx answer in JSON and nothing else
 * happens, also what evhttp itself would refuse in HTML: the gate
 * (admin_gate.c) checks each request head before evhttp parses it.
 *
 * Three ports, each its own evhttp: the UNIX socket (everything; the file
 * mode guards it), the TCP admin listener (every GET; a change only with
 * the bearer token of global.admin.token_file) and the metrics listener
 * (/metrics, /healthz, /livez). Every change is logged with its peer.
 * GET / is the status page (status_page.html), which draws /status.
 */
#include "daemon/admin.h"
#include "daemon/admin_private.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/health_state.h"
#include "core/log.h"
#include "core/runtime.h"
#include "daemon/admin_proto.h"
#include "daemon/daemon.h"
#include "daemon/handover.h"
#include "daemon/metrics.h"
#include "daemon/status_page.h"
#include "event/listener.h"
#include "util/json.h"
#include "util/prom.h"

#define ADMIN_HEADERS_MAX 8192
#define ADMIN_BODY_MAX 4096
#define ADMIN_TIMEOUT_S 30

/* How long an admin listener rests after accept() failed (out of
 * descriptors), as the workers' listeners do. */
#define ADMIN_ACCEPT_PAUSE_MS 100

/* The one admin of the process: libevent's accept-error callback gets
 * evhttp's argument, not ours. */
static struct admin *admin_self;

/* A request waiting for a reload or an upgrade to end (POST /reload,
 * POST /upgrade). */
struct pending {
	struct evhttp_request *req;
};

/* REQ waits for its answer; NULL after answering 500. */
static struct pending *pending_new(struct evhttp_request *req)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (!p)
		admin_reply_error(req, 500, "Internal Server Error", "out of memory");
	else
		p->req = req;
	return p;
}

/* --- reload ---------------------------------------------------------------- */

/* LINES (one per line; NULL: none) as the elements of a JSON array. */
static void add_lines(struct strbuf *sb, const char *lines)
{
	bool first = true;

	while (lines && *lines) {
		size_t n = strcspn(lines, "\n");
		if (n) {
			char *line = strndup(lines, n);
			if (!first)
				strbuf_adds(sb, ",");
			json_add_string(sb, line ? line : "out of memory");
			free(line);
			first = false;
		}
		lines += n;
		if (*lines)
			lines++;
	}
}

static void reload_done(void *arg, const struct reload_result *r)
{
	struct pending *p = arg;
	struct strbuf sb = { 0 };

	if (r->ok) {
		strbuf_adds(&sb, "{\"ok\":true,\"generation\":");
		strbuf_add_u64(&sb, r->generation);
		if (r->warnings) {
			strbuf_adds(&sb, ",\"warnings\":[");
			add_lines(&sb, r->warnings);
			strbuf_adds(&sb, "]");
		}
		strbuf_adds(&sb, "}\n");
		admin_reply_json(p->req, 200, "OK", &sb);
		free(p);
		return;
	}
	strbuf_adds(&sb, "{\"ok\":false,\"errors\":[");
	add_lines(&sb, r->errors);
	strbuf_adds(&sb, "]}\n");
	admin_reply_json(p->req, 422, "Unprocessable Entity", &sb);
	free(p);
}

/* Start a reload for P; answers at once when none can start. */
static void start_reload(struct admin *a, struct pending *p)
{
	if (daemon_reload(a->d, reload_done, p) == 0)
		return;
	if (daemon_stopping(a->d))
		admin_reply_error(p->req, 503, "Service Unavailable", "lbd is stopping");
	else
		admin_reply_error(p->req, 409, "Conflict",
				  "a reload or an upgrade is already under way");
	free(p);
}

static void handle_reload(struct admin *a, struct evhttp_request *req)
{
	struct pending *p;

	if (!admin_method_is(req, EVHTTP_REQ_POST, "POST"))
		return;
	p = pending_new(req);
	if (!p)
		return;
	log_info("admin: reload requested");
	start_reload(a, p);
}

/* --- upgrade --------------------------------------------------------------- */

static void upgrade_done(void *arg, const struct upgrade_result *r)
{
	struct pending *p = arg;
	struct strbuf sb = { 0 };

	if (r->ok) {
		strbuf_adds(&sb, "{\"ok\":true,\"pid\":");
		strbuf_add_u64(&sb, (uint64_t)r->pid);
		strbuf_adds(&sb, ",\"generation\":");
		strbuf_add_u64(&sb, r->generation);
		strbuf_adds(&sb, "}\n");
		admin_reply_json(p->req, 200, "OK", &sb);
	} else {
		admin_reply_error(p->req, 422, "Unprocessable Entity", r->why);
	}
	free(p);
}

/* The body of POST /upgrade: nothing, or {"binary": "/path"}. Returns 0
 * (BINARY empty: lbd's own), or -1 after answering 400. */
static int upgrade_binary(struct evhttp_request *req, char *binary, size_t len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char body[ADMIN_BODY_MAX + 1];
	const char *v, *it = NULL;

	binary[0] = '\0';
	if (n == 0)
		return 0;
	if (n < sizeof(body) && evbuffer_copyout(in, body, n) == (ev_ssize_t)n) {
		body[n] = '\0';
		const char *p = body + strspn(body, " \t\r\n"), *end = json_skip(p);
		bool ok = *p == '{' && end && !end[strspn(end, " \t\r\n")];
		while (ok && json_object_next(p, &it))
			ok = json_key_is(it, "binary") && (v = json_member(p, "binary")) &&
			     json_string(v, binary, len) && binary[0] == '/';
		if (ok)
			return 0;
	}
	admin_reply_error(req, 400, "Bad Request",
			  "expected no body, or {\"binary\": \"/absolute/path\"}");
	return -1;
}

static void handle_upgrade(struct port *pt, struct evhttp_request *req)
{
	char binary[ADDR_TEXT_MAX * 4];
	const char *why;
	struct pending *p;

	if (!admin_method_is(req, EVHTTP_REQ_POST, "POST") ||
	    upgrade_binary(req, binary, sizeof(binary)) < 0)
		return;
	/* Which program runs is the socket file's owners' choice only: the
	 * TCP listener's token may upgrade, but to lbd's own path alone. */
	if (binary[0] && pt->kind != PORT_SOCKET) {
		admin_reply_error(req, 403, "Forbidden",
				  "another binary may be named on the admin socket only");
		return;
	}
	p = pending_new(req);
	if (!p)
		return;
	log_info("admin: upgrade requested%s%s", binary[0] ? " to " : "", binary);
	if (daemon_upgrade(pt->a->d, binary[0] ? binary : NULL, upgrade_done, p, &why) == 0)
		return;
	admin_reply_error(req, 409, "Conflict", why);
	free(p);
}

/* --- status ---------------------------------------------------------------- */

static unsigned listener_connections(const struct listener_conf *lc, void *arg)
{
	return daemon_listener_connections(arg, lc->name);
}

static uint64_t discovery_stale(const void *arg, const char *pool)
{
	return daemon_discovery_stale_ms(arg, pool);
}

static void handle_status(struct admin *a, struct evhttp_request *req)
{
	const struct config *cfg = daemon_config(a->d);
	struct admin_status_info info = {
		.generation = cfg->generation,
		.live_generations = daemon_live_generations(),
		.uptime_s = daemon_uptime_s(a->d),
		.listener_connections = listener_connections,
		.discovery_stale_ms = discovery_stale,
		.arg = a->d,
	};
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct strbuf sb = { 0 };

	if (!admin_method_is(req, EVHTTP_REQ_GET, "GET"))
		return;
	if (query && strcmp(query, "format=table") == 0) {
		admin_status_table(&sb, cfg, &info);
		admin_reply(req, 200, "OK", "text/plain; charset=utf-8", &sb);
		return;
	}
	if (query && *query) {
		admin_reply_error(req, 400, "Bad Request",
				  "unknown query (format=table is the only one)");
		return;
	}
	admin_status_json(&sb, cfg, &info);
	admin_reply_json(req, 200, "OK", &sb);
}

/* Prometheus adds no query unless told to (params:); one is ignored. */
static void handle_metrics(struct admin *a, struct evhttp_request *req)
{
	const struct config *cfg = daemon_config(a->d);
	struct metrics_info info = {
		.generation = cfg->generation,
		.live_generations = daemon_live_generations(),
		.now = (uint64_t)time(NULL),
		.discovery_stale_ms = discovery_stale,
		.arg = a->d,
	};
	struct strbuf sb = { 0 };

	if (!admin_method_is(req, EVHTTP_REQ_GET, "GET"))
		return;
	daemon_counters(a->d, &info.daemon);
	metrics_render(&sb, cfg, &info);
	admin_reply(req, 200, "OK", PROM_CONTENT_TYPE, &sb);
}

/* The status page: read-only, so no method but GET and HEAD reaches it,
 * on any port that serves it, token or not. */
static void handle_page(struct admin *a, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct strbuf sb = { 0 };

	if (!admin_method_is(req, EVHTTP_REQ_GET, "GET"))
		return;
	if (!a->page_csp[0]) {
		admin_reply_error(req, 500, "Internal Server Error", "the status page is broken");
		return;
	}
	evhttp_add_header(h, "Content-Security-Policy", a->page_csp);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	strbuf_add(&sb, status_page_html, status_page_html_len);
	admin_reply(req, 200, "OK", "text/html; charset=utf-8", &sb);
}

static void handle_healthz(struct admin *a, struct evhttp_request *req)
{
	struct strbuf sb = { 0 };

	if (!admin_method_is(req, EVHTTP_REQ_GET, "GET"))
		return;
	if (daemon_stopping(a->d)) {
		strbuf_adds(&sb, "stopping\n");
		admin_reply(req, 503, "Service Unavailable", "text/plain", &sb);
	} else {
		strbuf_adds(&sb, "ok\n");
		admin_reply(req, 200, "OK", "text/plain", &sb);
	}
}

/* Liveness: the main loop answers, draining or not. */
static void handle_livez(struct admin *a, struct evhttp_request *req)
{
	struct strbuf sb = { 0 };

	(void)a;
	if (!admin_method_is(req, EVHTTP_REQ_GET, "GET"))
		return;
	strbuf_adds(&sb, "ok\n");
	admin_reply(req, 200, "OK", "text/plain", &sb);
}

static void handle_stop(struct admin *a, struct evhttp_request *req)
{
	if (!admin_method_is(req, EVHTTP_REQ_POST, "POST"))
		return;
	admin_reply_ok(req, "");
	daemon_stop(a->d, "admin API");
}

static bool is_read(struct evhttp_request *req)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);

	return m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD;
}

static const char *method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	case EVHTTP_REQ_CONNECT:
		return "CONNECT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	}
	return "?";
}

/* Who sent REQ, for the log: the process behind the UNIX socket
 * (SO_PEERCRED), or the TCP address. */
static void peer_text(const struct port *pt, struct evhttp_request *req, char *out, size_t len)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;

	snprintf(out, len, "an unknown peer");
	if (pt->kind == PORT_SOCKET) {
		struct ucred cr;
		socklen_t crlen = sizeof(cr);
		if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == 0)
			snprintf(out, len, "pid %ld uid %lu gid %lu on the admin socket",
				 (long)cr.pid, (unsigned long)cr.uid, (unsigned long)cr.gid);
	} else if (conn) {
		char *host = NULL;
		ev_uint16_t port = 0;
		evhttp_connection_get_peer(conn, &host, &port);
		if (host)
			snprintf(out, len, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
				 (unsigned)port);
	}
}

/* A change over TCP needs the token; without a token file none is taken. */
static bool change_allowed(struct port *pt, struct evhttp_request *req)
{
	const struct global_conf *g = &daemon_config(pt->a->d)->global;
	const char *auth;

	if (pt->kind == PORT_SOCKET)
		return true;
	if (!g->admin.token) {
		admin_reply_error(req, 403, "Forbidden",
				  "changes over TCP need global.admin.token_file; "
				  "use the admin socket");
		return false;
	}
	auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (!admin_bearer_ok(auth, g->admin.token, g->admin.token_len)) {
		admin_reply_error(req, 403, "Forbidden",
				  "a change needs \"Authorization: Bearer TOKEN\" with the token "
				  "of global.admin.token_file");
		return false;
	}
	return true;
}

static void route(struct port *pt, struct evhttp_request *req, char seg[][ADMIN_SEGMENT_MAX], int n)
{
	struct admin *a = pt->a;

	if (n == 1 && strcmp(seg[0], "reload") == 0)
		handle_reload(a, req);
	else if (n == 1 && strcmp(seg[0], "upgrade") == 0)
		handle_upgrade(pt, req);
	else if (n == 1 && strcmp(seg[0], "status") == 0)
		handle_status(a, req);
	else if (n == 1 && strcmp(seg[0], "metrics") == 0)
		handle_metrics(a, req);
	else if (n == 1 && strcmp(seg[0], "healthz") == 0)
		handle_healthz(a, req);
	else if (n == 1 && strcmp(seg[0], "livez") == 0)
		handle_livez(a, req);
	else if (n == 1 && strcmp(seg[0], "stop") == 0)
		handle_stop(a, req);
	else if (n == 4 && strcmp(seg[0], "servers") == 0)
		admin_handle_server(a, req, seg);
	else if (n == 4 && strcmp(seg[0], "pools") == 0 && strcmp(seg[2], "servers") == 0)
		admin_handle_pool_server(a, req, seg);
	else if (n == 3 && strcmp(seg[0], "pools") == 0 && strcmp(seg[2], "servers") == 0)
		admin_handle_pool_servers(a, req, seg);
	else
		admin_reply_error(req, 404, "Not Found", "no such endpoint");
}

static void route_metrics(struct admin *a, struct evhttp_request *req,
			  char seg[][ADMIN_SEGMENT_MAX], int n)
{
	if (n == 1 && strcmp(seg[0], "metrics") == 0)
		handle_metrics(a, req);
	else if (n == 1 && strcmp(seg[0], "healthz") == 0)
		handle_healthz(a, req);
	else if (n == 1 && strcmp(seg[0], "livez") == 0)
		handle_livez(a, req);
	else
		admin_reply_error(req, 404, "Not Found",
				  "the metrics listener serves /metrics, /healthz and /livez only");
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct port *pt = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	char seg[ADMIN_SEGMENTS_MAX][ADMIN_SEGMENT_MAX];
	int n = path ? admin_path_split(path, seg, ADMIN_SEGMENTS_MAX) : -1;
	const struct admin_head *refused = admin_gate_refusal(&pt->a->gates, req);

	if (refused) {
		log_debug("admin: refused a request: %d %s", refused->code, refused->error);
		admin_reply_error(req, refused->code, refused->reason, refused->error);
		return;
	}
	if (n < 0) {
		admin_reply_error(req, 400, "Bad Request", "malformed path");
		return;
	}
	if (pt->kind == PORT_METRICS) {
		route_metrics(pt->a, req, seg, n);
		return;
	}
	if (n == 0) { /* the page changes nothing: a POST is refused, not logged */
		handle_page(pt->a, req);
		return;
	}
	if (!is_read(req)) {
		char peer[128];
		bool ok = change_allowed(pt, req);
		peer_text(pt, req, peer, sizeof(peer));
		if (ok)
			log_info("admin: %s %s from %s",
				 method_name(evhttp_request_get_command(req)), path, peer);
		else
			log_warn("admin: %s %s from %s refused: no valid token",
				 method_name(evhttp_request_get_command(req)), path, peer);
		if (!ok)
			return;
	}
	route(pt, req, seg, n);
}

/* --- sockets --------------------------------------------------------------- */

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct admin *a = arg;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < a->nls; i++)
		evconnlistener_enable(a->ls[i]);
}

/* libevent retries a failed accept() for as long as the socket is
 * readable, so an admin connection waiting while descriptors run out would
 * spin the main loop: rest the listeners instead; the connection waits in
 * the backlog. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
	struct timeval tv = { 0, ADMIN_ACCEPT_PAUSE_MS * 1000 };

	(void)arg;
	log_debug("admin: accept: %s; pausing for %dms",
		  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()), ADMIN_ACCEPT_PAUSE_MS);
	evconnlistener_disable(l);
	if (admin_self)
		evtimer_add(admin_self->resume, &tv);
}

/* Serve FD (a bound socket; evhttp owns it from here) on port KIND. */
static int admin_serve(struct admin *a, enum port_kind kind, evutil_socket_t fd)
{
	struct port *pt = &a->ports[kind];
	struct evhttp_bound_socket *bs;

	pt->a = a;
	pt->kind = kind;
	pt->http = evhttp_new(daemon_base(a->d));
	if (!pt->http)
		return -1;
	/* The gate keeps the limits and answers what evhttp would refuse;
	 * evhttp's own stay as a backstop it never reaches. */
	evhttp_set_bevcb(pt->http, admin_gate_new, &a->gates);
	evhttp_set_max_headers_size(pt->http, ADMIN_HEADERS_MAX);
	evhttp_set_max_body_size(pt->http, ADMIN_BODY_MAX);
	evhttp_set_timeout(pt->http, ADMIN_TIMEOUT_S);
	/* Every method reaches on_request, which answers 405 in JSON where
	 * evhttp would send its own HTML 501. */
	evhttp_set_allowed_methods(pt->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
						     EVHTTP_REQ_HEAD | EVHTTP_REQ_DELETE |
						     EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						     EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(pt->http, on_request, pt);
	bs = evhttp_accept_socket_with_handle(pt->http, fd);
	if (!bs)
		return -1;
	a->fd = -1;
	pt->bound = bs;
	a->ls[a->nls] = evhttp_bound_socket_get_listener(bs);
	evconnlistener_set_error_cb(a->ls[a->nls], on_accept_error);
	a->nls++;
	return 0;
}

/* The upgrade's kind of each port. */
static const enum handover_socket_kind handover_kind[PORT_COUNT] = {
	[PORT_SOCKET] = HANDOVER_ADMIN_SOCKET,
	[PORT_TCP] = HANDOVER_ADMIN_LISTEN,
	[PORT_METRICS] = HANDOVER_METRICS_LISTEN,
};

/* The old process's socket for port KIND at ADDR, taken out of IN; else
 * -1. */
static int inherited(struct handover_inherit *in, enum port_kind kind, const struct lbd_addr *addr)
{
	enum handover_socket_kind k = handover_kind[kind];
	int fd;

	if (!in || in->admin_fd[k] < 0 || !addr_equal(&in->admin_addr[k], addr))
		return -1;
	fd = in->admin_fd[k];
	in->admin_fd[k] = -1;
	return fd;
}

static int serve_tcp(struct admin *a, enum port_kind kind, const struct lbd_addr *addr,
		     struct handover_inherit *in, const char *what, char *err, size_t errlen)
{
	char lerr[512];

	a->ports[kind].addr = *addr;
	a->fd = inherited(in, kind, addr);
	if (a->fd < 0)
		a->fd = listener_open(addr, false, lerr, sizeof(lerr));
	if (a->fd < 0) {
		snprintf(err, errlen, "%s: %s", what, lerr);
		return -1;
	}
	if (admin_serve(a, kind, a->fd) < 0) {
		snprintf(err, errlen, "%s %s: cannot serve it", what, addr->text);
		return -1;
	}
	return 0;
}

struct admin *admin_start(struct daemon *d, const struct config *cfg, struct handover_inherit *in,
			  char *err, size_t errlen)
{
	struct admin *a = calloc(1, sizeof(*a));
	struct lbd_addr addr;
	const char *why;
	char path[ADDR_TEXT_MAX];

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->d = d;
	a->fd = -1;
	a->gates.head_max = ADMIN_HEADERS_MAX;
	a->gates.body_max = ADMIN_BODY_MAX;
	if (status_page_csp(status_page_html, status_page_html_len, a->page_csp,
			    sizeof(a->page_csp)) < 0)
		log_warn("admin: the status page lacks its <style> or <script>; GET / answers 500");
	a->resume = evtimer_new(daemon_base(d), on_accept_resume, a);
	if (!a->resume) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (cfg->global.admin.socket) {
		char lerr[512];
		snprintf(path, sizeof(path), "unix:%s", cfg->global.admin.socket);
		if (addr_parse(path, &addr, &why) != 0) {
			snprintf(err, errlen, "admin socket %s: %s", cfg->global.admin.socket, why);
			goto fail;
		}
		a->ports[PORT_SOCKET].addr = addr;
		a->fd = inherited(in, PORT_SOCKET, &addr);
		if (a->fd < 0)
			a->fd = listener_open(&addr, false, lerr, sizeof(lerr));
		if (a->fd < 0) {
			snprintf(err, errlen, "admin socket: %s", lerr);
			goto fail;
		}
		a->socket_path = strdup(cfg->global.admin.socket);
		if (chmod(cfg->global.admin.socket, 0660) < 0) {
			snprintf(err, errlen, "admin socket %s: chmod: %s",
				 cfg->global.admin.socket, strerror(errno));
			goto fail;
		}
		if (admin_serve(a, PORT_SOCKET, a->fd) < 0) {
			snprintf(err, errlen, "admin socket %s: cannot serve it",
				 cfg->global.admin.socket);
			goto fail;
		}
	}
	if (cfg->global.admin.has_listen && serve_tcp(a, PORT_TCP, &cfg->global.admin.listen, in,
						      "admin listener", err, errlen) < 0)
		goto fail;
	if (cfg->global.metrics.has_listen &&
	    serve_tcp(a, PORT_METRICS, &cfg->global.metrics.listen, in, "metrics listener", err,
		      errlen) < 0)
		goto fail;
	admin_self = a;
	return a;
fail:
	admin_free(a);
	return NULL;
}

int admin_chown(struct admin *a, gid_t gid, char *err, size_t errlen)
{
	if (!a || !a->socket_path)
		return 0;
	if (chown(a->socket_path, (uid_t)-1, gid) < 0) {
		snprintf(err, errlen, "admin socket %s: chown: %s", a->socket_path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

void admin_sockets(const struct admin *a, int fd[], const struct lbd_addr *addr[])
{
	for (int k = 0; k < HANDOVER_SOCKET_KINDS; k++) {
		fd[k] = -1;
		addr[k] = NULL;
	}
	for (int i = 0; a && i < PORT_COUNT; i++)
		if (a->ports[i].bound) {
			fd[handover_kind[i]] = evhttp_bound_socket_get_fd(a->ports[i].bound);
			addr[handover_kind[i]] = &a->ports[i].addr;
		}
}

void admin_retire(struct admin *a)
{
	if (!a)
		return;
	for (int i = 0; i < PORT_COUNT; i++)
		if (a->ports[i].bound) {
			evhttp_del_accept_socket(a->ports[i].http, a->ports[i].bound);
			a->ports[i].bound = NULL;
		}
	a->nls = 0;
	free(a->socket_path); /* the new process's now: never unlinked here */
	a->socket_path = NULL;
}

void admin_free(struct admin *a)
{
	if (!a)
		return;
	if (admin_self == a)
		admin_self = NULL;
	if (a->resume)
		event_free(a->resume);
	for (int i = 0; i < PORT_COUNT; i++)
		if (a->ports[i].http)
			evhttp_free(a->ports[i].http);
	admin_gates_detach(&a->gates);
	if (a->fd >= 0)
		close(a->fd);
	if (a->socket_path) {
		unlink(a->socket_path);
		free(a->socket_path);
	}
	free(a);
}

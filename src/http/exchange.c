/* exchange.c — what every client side (an HTTP/1 connection, an HTTP/2
 * stream) does with an exchange once its request is parsed: the start
 * under a generation, the client address, routing, the balancer's inputs,
 * the head rendered for the server, and the end (one access-log line and
 * the counters). The protocols differ in how bytes reach lbd and leave it,
 * not in any of this.
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/access_log.h"
#include "core/log.h"
#include "core/rate_limit.h"
#include "core/retry_budget.h"
#include "core/runtime.h"
#include "http/client_addr.h"
#include "http/cookie.h"
#include "http/http_conn.h"
#include "http/http_request.h"
#include "http/http_rewrite.h"
#include "http/request_key.h"
#include "http/route.h"
#include "util/cidr.h"
#include "util/clock.h"
#include "util/random.h"

/* The side's listener in CFG, found by identity: after a reload it may sit
 * at another index, or be gone (NULL). */
static const struct listener_conf *side_listener(const struct config *cfg,
						 const struct listener_rt *lrt)
{
	for (size_t i = 0; i < cfg->nlisteners; i++)
		if (cfg->listeners[i].rt == lrt)
			return &cfg->listeners[i];
	return NULL;
}

static bool access_logged(const struct exchange *ex)
{
	return access_log_on(ex->side.hw->w->env.access_log);
}

/* The start times are the access log's alone: without it, two clock reads
 * fewer a request. */
void exchange_begin(struct exchange *ex, struct config *cfg)
{
	ex->cfg = config_ref(cfg);
	ex->listener = side_listener(ex->cfg, ex->side.lrt);
	ex->upstream_us = -1;
	if (access_logged(ex)) {
		ex->start_us = monotonic_us();
		clock_gettime(CLOCK_REALTIME, &ex->start_real);
	}
}

/* The client address of this request: the connection's (its peer, or the
 * source of its PROXY header), or the one X-Forwarded-For names when that
 * is one of the listener's trusted proxies (client_addr.h). Returns whether
 * it is one. */
static bool request_client(struct exchange *ex)
{
	const struct listener_conf *l = ex->listener; /* checked by the caller */
	const char *peer_ip = ex->side.in->peer_ip;

	ex->client = peer_ip;
	if (!l->ntrusted || !client_addr_trusted(l->trusted, l->ntrusted, peer_ip))
		return false;
	if (client_addr_forwarded(&ex->side.req->head, l->trusted, l->ntrusted, peer_ip,
				  ex->client_buf))
		ex->client = ex->client_buf;
	return true;
}

/* The listener's or the route's allow / deny rules: 0 when the client
 * address may be served, else 403. A client that is no IP address (a
 * UNIX socket peer) is in no network: only an allow list refuses it. */
static int access_check(const struct exchange *ex, const struct access_rules *a, bool route,
			const char **why)
{
	struct ip_addr ip;
	bool is_ip;

	if (!a->nallow && !a->ndeny)
		return 0;
	is_ip = ip_parse(ex->client, strlen(ex->client), &ip) == 0;
	if (is_ip && cidr_list_contains(a->deny, a->ndeny, &ip)) {
		*why = route ? "denied by the route" : "denied by the listener";
		return 403;
	}
	if (a->nallow && !(is_ip && cidr_list_contains(a->allow, a->nallow, &ip))) {
		*why = route ? "not allowed by the route" : "not allowed by the listener";
		return 403;
	}
	return 0;
}

/* What the pool's algorithm looks at: the key ip_hash and maglev hash
 * (the value of the pool's hash_key when the request has one, else the
 * client address) and the sticky cookie. */
static void balance_inputs(struct exchange *ex)
{
	const struct pool_conf *pool = ex->pool;
	const struct http_head *h = &ex->side.req->head;

	ex->peer.key = request_key_value(&pool->hash_key, h, ex->client, &ex->peer.key_len);
	if (!ex->peer.key) {
		ex->peer.key = ex->client;
		ex->peer.key_len = strlen(ex->client);
	}
	ex->peer.cookie = NULL;
	ex->peer.cookie_len = 0;
	if (pool->balance != BALANCE_STICKY_COOKIE)
		return;
	for (uint32_t i = 0; i < h->nfields; i++) {
		const struct http_field *f = &h->fields[i];
		if (http_field_is(h, f, "cookie") &&
		    cookie_find(http_field_value(h, f), f->value_len, pool->sticky.cookie,
				&ex->peer.cookie, &ex->peer.cookie_len))
			return;
	}
}

/* routes[].split: the side the request's split key hashes to, or a random
 * one by weight when the route names no key or the request lacks it. */
static struct pool_conf *split_pick(const struct exchange *ex, const struct split_conf *s)
{
	size_t len;
	const char *key = request_key_value(&s->key, &ex->side.req->head, ex->client, &len);

	return route_split_pick(s, key, len, key ? 0 : random_u64());
}

/* The route's rate limit (routes[].rate_limit): 0 when the request is
 * within it, else 429 with the seconds until it would be, rounded up. The
 * key is the named header's value, or the client address when the route
 * names none or the request lacks it. */
static int rate_check(struct exchange *ex, const struct route_conf *route, const char **why)
{
	const struct http_head *h = &ex->side.req->head;
	const struct http_field *f;
	const char *key = ex->client;
	size_t len;

	if (!route->limiter)
		return 0;
	struct rate_limit *rl = route->limiter->table;
	if (route->rate_limit.header && (f = http_head_find(h, route->rate_limit.header, NULL)) &&
	    f->value_len) {
		key = http_field_value(h, f);
		len = f->value_len;
	} else {
		len = strlen(key);
	}
	uint64_t wait = rate_limit_take(rl, rate_limit_tag(rl, key, len), monotonic_ns());
	if (!wait)
		return 0;
	wait = (wait + 999999999) / 1000000000;
	ex->retry_after_s = wait > UINT32_MAX ? UINT32_MAX : (uint32_t)wait;
	*why = "over the route's rate limit";
	return 429;
}

/* The route answers with a redirect: the client is sent to its URL with
 * the request's path and query (as a server would get them). */
static int redirect(struct exchange *ex, const struct request_plan *plan, const char **why)
{
	const struct request_out *out = &plan->out;
	struct strbuf sb = { 0 };

	if (route_location(&plan->route->redirect, out->asterisk ? "" : out->target,
			   out->asterisk ? 0 : out->target_len, out->target_slash, &sb) < 0 ||
	    !strbuf_reserve(&sb, 1)) {
		strbuf_free(&sb);
		*why = "out of memory writing a redirect";
		return 500;
	}
	sb.data[sb.len] = '\0';
	ex->location = sb.data;
	*why = "redirect";
	return (int)plan->route->redirect.status;
}

/* The request's X-Request-Id: the client's first one when it is fit for
 * a header and a log line (request_id.h), else a new one. Set before
 * routing, so that refusals and redirects log it too. */
static void request_id(struct exchange *ex)
{
	const struct http_head *h = &ex->side.req->head;
	const struct http_field *f = http_head_find_id(h, HN_X_REQUEST_ID, NULL);

	if (f && request_id_acceptable(http_field_value(h, f), f->value_len)) {
		memcpy(ex->request_id, http_field_value(h, f), f->value_len);
		ex->request_id[f->value_len] = '\0';
	} else {
		request_id_new(ex->request_id);
	}
	ex->vars.request_id = ex->request_id;
}

/* What the response's compression depends on in the request: the
 * listener's rule, and whether this client takes gzip in chunks or
 * HTTP/2 frames (compress.h). */
static void compression_inputs(struct exchange *ex)
{
	const struct request_parser *req = ex->side.req;
	const struct compression_conf *conf = &ex->listener->compression;

	ex->compress = (struct response_compression){ .is_head = ex->is_head, .lrt = ex->side.lrt };
	if (!conf->enabled)
		return;
	ex->compress.conf = conf;
	ex->compress.client_gzip = (ex->side.http2 || req->p.http_minor >= 1) &&
				   compress_accepts_gzip(&req->head);
}

/* A strip_prefix route's responses get the prefix back in their
 * Location and Set-Cookie (prefix_rewrite.h); the server is known once
 * one is reached (exchange_rewrite()). */
static void restore_prefix(struct exchange *ex, const struct request_plan *plan)
{
	const struct route_conf *r = plan->route;

	if (!r->strip_prefix || !r->restore_prefix)
		return;
	ex->rewrite = (struct prefix_rewrite){
		.prefix = r->path_prefix,
		.host = plan->out.host,
		.host_len = plan->out.host ? plan->out.host_len : 0,
		.scheme = ex->side.in->tls ? "https" : "http",
	};
}

const struct prefix_rewrite *exchange_rewrite(struct exchange *ex)
{
	if (!ex->rewrite.prefix)
		return NULL;
	ex->rewrite.server = ex->peer.server ? ex->peer.server->addr.text : NULL;
	return &ex->rewrite;
}

int exchange_route(struct exchange *ex, struct evbuffer *in, const char **why)
{
	struct request_parser *req = ex->side.req;
	struct request_plan plan;
	int status;

	request_id(ex);

	if (!ex->listener) {
		*why = "a reload removed the connection's listener";
		return 503;
	}
	bool trusted = request_client(ex);
	status = access_check(ex, &ex->listener->access, false, why);
	if (status)
		return status;
	status = http_request_plan(&req->p, &req->head, ex->listener, &plan);
	if (status) {
		*why = plan.reason;
		return status;
	}
	ex->route = plan.route;
	ex->upgrade = plan.out.upgrade;
	/* Before the rate limit: a refused client spends no budget. */
	status = access_check(ex, &plan.route->access, true, why);
	if (status)
		return status;
	status = rate_check(ex, plan.route, why);
	if (status)
		return status;
	if (plan.route->split.nsides)
		plan.pool = split_pick(ex, &plan.route->split);
	if (!plan.pool)
		return redirect(ex, &plan, why);
	ex->pool = plan.pool;
	/* Every request to the pool pays into its retry budget. */
	retry_budget_deposit(&ex->pool->rt->retry_budget, ex->pool->retry_budget);
	/* A route's timeouts override its pool's for its requests only. */
	ex->server_ms = plan.route->timeouts.server_ms ? plan.route->timeouts.server_ms :
							 ex->pool->timeouts.server_ms;
	ex->peer.connect_ms = plan.route->timeouts.connect_ms;
	balance_inputs(ex);
	ex->is_head = plan.is_head;
	compression_inputs(ex);
	ex->replayable = plan.replayable;
	status = request_parser_check_body(req, ex->pool->limits.body_size, in);
	if (status) {
		*why = request_parser_error(req);
		return status;
	}
	plan.out.client_ip = ex->side.in->peer_ip;
	plan.out.client_v6 = ex->side.in->peer_v6;
	plan.out.proto = ex->side.in->tls ? "https" : "http";
	plan.out.trusted = trusted;
	restore_prefix(ex, &plan);
	plan.out.client_cert = ex->side.in->cert_headers;
	plan.out.client_cert_subject = ex->side.in->cert_subject;
	ex->vars.client_ip = ex->client;
	plan.out.request_id = ex->request_id;
	plan.out.rules = &plan.route->request_headers;
	plan.out.vars = &ex->vars;
	if (http_request_render(&req->head, &plan.out, &ex->head_out, &ex->head_out_len) < 0) {
		*why = "out of memory rendering the request head";
		return 500;
	}
	if (!plan.out.host) /* HTTP/1.0 without Host: the server gets one */
		ex->host_at = (size_t)((char *)memchr(ex->head_out, '\n', ex->head_out_len) -
				       ex->head_out) +
			      1;
	upstream_dispatch(ex);
	return 0;
}

bool exchange_retry_allowed(struct exchange *ex, int status)
{
	struct pool_rt *rt = ex->pool->rt;

	if (!ex->route || !retry_on_has(&ex->route->retry_on, status) || !ex->replayable ||
	    ex->bytes_out || ex->resp_started || !peer_can_retry_elsewhere(&ex->peer))
		return false;
	if (!retry_budget_withdraw(&rt->retry_budget, ex->pool->retry_budget)) {
		counter_add(&rt->retry_budget_exhausted, 1);
		log_debug("pool %s: retry budget spent: the %d of server %s goes to the client",
			  ex->pool->name, status, ex->peer.server->name);
		return false;
	}
	return true;
}

void exchange_retry(struct exchange *ex, enum retry_reason reason, int status, const char *why)
{
	const struct http_head *req = &ex->side.req->head;
	char answered[32];

	if (why)
		peer_server_failed(&ex->peer, why);
	else
		snprintf(answered, sizeof(answered), "answered %d", status);
	log_info("pool %s: server %s (%s): %s; retrying %.*s on another server", ex->pool->name,
		 ex->peer.server->name, ex->peer.server->addr.text, why ? why : answered,
		 (int)req->url_len, req->buf + req->url_off);
	ex->status = 0;
	ex->upstream_us = -1;
	http_head_reset(&ex->resp);
	counter_add(&ex->pool->rt->retries[reason], 1);
	peer_retry_elsewhere(&ex->peer, status);
	peer_connect(&ex->peer);
}

void exchange_response_rules(struct exchange *ex, const struct header_rules **rules)
{
	ex->vars.server = ex->peer.served_by ? ex->peer.served_by->server_name : NULL;
	*rules = ex->route ? &ex->route->response_headers : NULL;
}

const struct set_cookie *exchange_sticky_cookie(const struct exchange *ex, struct set_cookie *sc,
						char *value)
{
	size_t len;

	/* A sticky pool's response carries a cookie when the client sent
	 * none, one that names another server (it was placed anew), or one
	 * under the previous secret (it moves to the current one). The value
	 * is copied: the balancer data may be replaced before the response
	 * comes. */
	if (ex->pool->balance != BALANCE_STICKY_COOKIE || !ex->peer.server)
		return NULL;
	len = balance_sticky_value(ex->pool, ex->peer.server, value);
	if (len == 0 || (ex->peer.cookie && ex->peer.cookie_len == len &&
			 memcmp(ex->peer.cookie, value, len) == 0))
		return NULL;
	*sc = (struct set_cookie){
		.name = ex->pool->sticky.cookie,
		.value = value,
		.max_age_s = ex->pool->sticky.max_age_ms / 1000,
		.secure = ex->side.in->tls, /* SPEC §4: Secure on TLS listeners */
	};
	return sc;
}

enum access_termination exchange_peer_failure(struct exchange *ex, int status)
{
	const struct peer *p = &ex->peer;

	if (status == 503 && p->queue_rejected) {
		/* Come back once a waiter of now would have had its turn. */
		uint64_t s = (p->pool->queue.timeout_ms + 999) / 1000;
		ex->retry_after_s = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
		/* Only at debug: an overloaded pool turns many away, and the
		 * access log and the metrics count each. */
		log_debug("pool %s: %s for %s", p->pool->name, queue_reject_names[p->reject],
			  ex->client ? ex->client : ex->side.in->peer_ip);
		return p->reject == QUEUE_REJECT_FULL ? ACCESS_TERM_QUEUE_FULL :
							ACCESS_TERM_QUEUE_TIMEOUT;
	}
	if (status == 503) {
		log_warn("pool %s: no server available", p->pool->name);
		return ACCESS_TERM_NO_SERVER;
	}
	return status == 504 ? ACCESS_TERM_CONNECT_TIMEOUT : ACCESS_TERM_CONNECT_FAILED;
}

void exchange_log_refusal(const struct exchange *ex, int status, const char *why)
{
	const char *client = ex->client ? ex->client : ex->side.in->peer_ip;
	const struct request_parser *req = ex->side.req;
	const struct http_head *h = &req->head;
	/* A client over its rate may send many: its refusals are in the
	 * access log, and here only when debugging. */
	enum log_level level = status == 500 ? LOG_LEVEL_ERROR :
			       status == 429 ? LOG_LEVEL_DEBUG :
					       LOG_LEVEL_INFO;

	if (ex->location)
		return;

	/* The request line once its head was read (a client's bytes: the log
	 * escapes them and bounds the line). */
	if (req->method)
		log_msg(level, "listener %s: client %s: %d: %s (%s %.*s)", ex->side.lrt->name,
			client, status, why, req->method, (int)h->url_len, h->buf + h->url_off);
	else
		log_msg(level, "listener %s: client %s: %d: %s", ex->side.lrt->name, client, status,
			why);
}

/* A field of the request head for the log, when the head was parsed. */
static void logged_field(const struct request_parser *req, enum http_name name, const char **value,
			 size_t *len)
{
	const struct http_field *f;

	if (req->method && (f = http_head_find_id(&req->head, name, NULL))) {
		*value = http_field_value(&req->head, f);
		*len = f->value_len;
	}
}

/* The exchange's access-log line, when there is an access log. */
static void access_log_line(const struct exchange *ex, const struct config *cfg)
{
	const struct request_parser *req = ex->side.req;
	const struct http_head *h = &req->head;
	const char *method = req->method;
	struct access_entry e = {
		.start = ex->start_real,
		.client = ex->client ? ex->client : ex->side.in->peer_ip,
		.method = method,
		.method_len = method ? strlen(method) : 0,
		.target = h->url_len ? h->buf + h->url_off : NULL,
		.target_len = h->url_len,
		.http_minor = method ? req->p.http_minor : -1,
		.http2 = ex->side.http2,
		.status = ex->status,
		.bytes_sent = ex->bytes_out,
		.bytes_received = ex->bytes_in,
		.listener = ex->side.lrt->name,
		.pool = ex->pool ? ex->pool->name : NULL,
		.server = ex->peer.served_by ? ex->peer.served_by->server_name : NULL,
		.upstream_us = ex->upstream_us,
		.total_us = monotonic_us() - ex->start_us,
		.generation = cfg->generation,
		.termination = ex->termination,
		.retries = ex->peer.picks > 1 ? ex->peer.picks - 1 : 0,
		.request_id = ex->request_id[0] ? ex->request_id : NULL,
	};

	logged_field(req, HN_HOST, &e.host, &e.host_len);
	logged_field(req, HN_USER_AGENT, &e.user_agent, &e.user_agent_len);
	logged_field(req, HN_REFERER, &e.referer, &e.referer_len);
	access_log_write(ex->side.hw->w->env.access_log, &e);
}

/* One access-log line and the request counters (runtime.h), written at the
 * same point so that /metrics and the access log always agree. */
void exchange_log(struct exchange *ex, const struct config *fallback)
{
	if (access_logged(ex))
		access_log_line(ex, ex->cfg ? ex->cfg : fallback);
	runtime_count_request(ex->side.lrt, ex->pool ? ex->pool->rt : NULL, ex->peer.served_by,
			      ex->status, ex->upstream_us, ex->bytes_in, ex->bytes_out);
}

void exchange_end(struct exchange *ex, bool upstream_reusable)
{
	upstream_detach(ex, upstream_reusable);
	compress_end(&ex->compress);
	if (ex->cfg)
		config_unref(ex->cfg);
	free(ex->head_out);
	free(ex->location);
	struct exchange_side side = ex->side;
	struct http_head resp = ex->resp, trailers = ex->trailers;
	memset(ex, 0, sizeof(*ex));
	ex->side = side;
	ex->resp = resp;
	ex->trailers = trailers;
	ex->upstream_us = -1;
	http_head_reset(&ex->resp);
	http_head_reset(&ex->trailers);
}

/* --- a response from a server that does not speak HTTP/1 ----------------- */

/* Bytes queued on to_client since BEFORE count as sent to the client. */
static void count_out(struct exchange *ex, size_t before)
{
	ex->bytes_out += evbuffer_get_length(ex->side.to_client) - before;
}

int exchange_response_head(struct exchange *ex, int status, int64_t content_length, bool whole)
{
	const struct request_parser *req = ex->side.req;
	struct set_cookie sc;
	char value[STICKY_VALUE_MAX + 1];
	bool no_body = ex->is_head || status == 204 || status == 304;
	struct response_out out = {
		.status = status,
		.declared_length = no_body ? content_length : -1,
		.client_minor = req->p.http_minor,
		.set_cookie = exchange_sticky_cookie(ex, &sc, value),
		.vars = &ex->vars,
	};
	size_t before = evbuffer_get_length(ex->side.to_client);
	int rc;

	exchange_response_rules(ex, &out.rules);
	const struct prefix_rewrite *rw = exchange_rewrite(ex);
	if (rw && prefix_rewrite_head(rw, &ex->resp, &ex->side.hw->scratch) < 0)
		return -1;
	if (whole && !no_body && content_length < 0)
		content_length = 0;
	if (!whole)
		compress_start(&ex->compress, status, &ex->resp, content_length);
	out.compress = ex->compress.verdict;
	if (no_body || (whole && ex->side.head_fn))
		out.body = BODY_NONE;
	else if (ex->side.head_fn)
		out.body = BODY_EOF; /* the payload as it is: the client frames it */
	else if (content_length >= 0 && !compress_active(&ex->compress))
		out.body = BODY_LENGTH, out.content_length = (uint64_t)content_length;
	else
		out.body = req->p.http_minor >= 1 ? BODY_CHUNKED : BODY_EOF;
	out.keep_alive = *ex->side.keep_alive && out.body != BODY_EOF && req->complete;
	ex->resp_body = out.body;
	if (ex->side.head_fn) {
		rc = ex->side.head_fn(ex, &ex->resp, &out);
	} else {
		struct strbuf *sb = &ex->side.hw->scratch;
		sb->len = 0;
		rc = http_response_write(sb, &ex->resp, &out);
		if (rc == 0)
			rc = evbuffer_add(ex->side.to_client, sb->data, sb->len);
		sb->failed = false;
	}
	if (rc < 0)
		return -1;
	count_out(ex, before);
	ex->status = status;
	ex->resp_started = true;
	return 0;
}

int exchange_response_body(struct exchange *ex, const void *data, size_t len)
{
	struct evbuffer *out = ex->side.to_client;
	size_t before = evbuffer_get_length(out);

	/* A DATA frame is as much as the server sent at once: flushed, so
	 * that a slow stream reaches the client as it comes. */
	if (compress_active(&ex->compress)) {
		if (compress_body_write(&ex->compress, out, ex->resp_body, data, len) < 0 ||
		    compress_body_flush(&ex->compress, out, ex->resp_body) < 0)
			return -1;
	} else if (body_write(out, ex->resp_body, data, len) < 0) {
		return -1;
	}
	count_out(ex, before);
	return 0;
}

int exchange_response_end(struct exchange *ex)
{
	struct evbuffer *out = ex->side.to_client;
	const struct http_head *t = &ex->trailers;
	size_t before = evbuffer_get_length(out);

	if (compress_body_finish(&ex->compress, out, ex->resp_body) < 0)
		return -1;
	count_out(ex, before);
	before = evbuffer_get_length(out);
	if (ex->side.ops->trailers)
		return t->nfields ? ex->side.ops->trailers(ex, t) : 0;
	if (ex->resp_body != BODY_CHUNKED || !t->nfields)
		return body_finish(out, ex->resp_body);
	/* HTTP/1.1 carries trailer fields after the last chunk (RFC 9112
	 * §7.1.2). */
	evbuffer_add(out, "0\r\n", 3);
	for (uint32_t i = 0; i < t->nfields; i++) {
		const struct http_field *f = &t->fields[i];
		evbuffer_add(out, t->buf + f->name_off, f->name_len);
		evbuffer_add(out, ": ", 2);
		evbuffer_add(out, http_field_value(t, f), f->value_len);
		evbuffer_add(out, "\r\n", 2);
	}
	int rc = evbuffer_add(out, "\r\n", 2);
	count_out(ex, before);
	return rc;
}

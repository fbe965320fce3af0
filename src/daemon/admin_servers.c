/* admin_servers.c — the admin API's calls on one server: drain, disable,
 * enable, and its runtime weight (PUT/DELETE /servers/POOL/SERVER/weight,
 * PATCH /pools/POOL/servers/SERVER). */
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "core/health_state.h"
#include "core/log.h"
#include "core/runtime.h"
#include "daemon/admin_private.h"
#include "daemon/daemon.h"

static struct server_conf *find_server(const struct config *cfg, const char *pool,
				       const char *server, bool *pool_found)
{
	struct pool_conf *p = config_find_pool(cfg, pool);

	*pool_found = p != NULL;
	for (size_t i = 0; p && i < p->nservers; i++)
		if (strcmp(p->servers[i].name, server) == 0)
			return &p->servers[i];
	return NULL;
}

/* Set (WEIGHT >= 0) or clear (-1) S's runtime weight and answer; it applies
 * at once, without a reload. */
static void apply_weight(struct admin *a, struct evhttp_request *req, struct server_conf *s,
			 int weight)
{
	char extra[96];

	if (daemon_set_weight(a->d, s->rt->pool_name, s->rt, weight) < 0) {
		admin_reply_error(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	if (weight >= 0)
		log_info("admin: pool %s: server %s: weight %d (runtime; the file says %u)",
			 s->rt->pool_name, s->rt->server_name, weight, s->weight);
	else
		log_info("admin: pool %s: server %s: weight back to the file's %u",
			 s->rt->pool_name, s->rt->server_name, s->weight);
	snprintf(extra, sizeof(extra), ",\"weight\":%u,\"weight_source\":\"%s\"",
		 weight >= 0 ? (unsigned)weight : s->weight, weight >= 0 ? "runtime" : "config");
	admin_reply_ok(req, extra);
}

/* The weight in REQ's body ({"weight": N} or N), or -1 after answering 400. */
static int body_weight(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char body[128];
	unsigned weight;

	if (len < sizeof(body) && evbuffer_copyout(in, body, len) == (ev_ssize_t)len &&
	    admin_parse_weight(body, len, &weight) == 0)
		return (int)weight;
	snprintf(body, sizeof(body), "expected {\"weight\": N} or N with N from 0 to %d",
		 CONFIG_WEIGHT_MAX);
	admin_reply_error(req, 400, "Bad Request", body);
	return -1;
}

/* /servers/POOL/SERVER/weight: PUT sets the server's runtime weight,
 * DELETE clears it (the file's weight counts again). */
static void handle_weight(struct admin *a, struct evhttp_request *req, struct server_conf *s)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	int weight;

	if (cmd == EVHTTP_REQ_DELETE) {
		apply_weight(a, req, s, -1);
		return;
	}
	if (cmd != EVHTTP_REQ_PUT) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "PUT, DELETE");
		admin_reply_error(req, 405, "Method Not Allowed", "method not allowed");
		return;
	}
	if ((weight = body_weight(req)) >= 0)
		apply_weight(a, req, s, weight);
}

/* The server SERVER of POOL in the newest configuration, or NULL after
 * answering 404. */
static struct server_conf *server_or_404(struct admin *a, struct evhttp_request *req,
					 const char *pool, const char *server)
{
	bool pool_found;
	struct server_conf *s = find_server(daemon_config(a->d), pool, server, &pool_found);
	char msg[ADMIN_SEGMENT_MAX * 2 + 64];

	if (s)
		return s;
	if (pool_found)
		snprintf(msg, sizeof(msg), "pool %s has no server named %s", pool, server);
	else
		snprintf(msg, sizeof(msg), "no pool named %s", pool);
	admin_reply_error(req, 404, "Not Found", msg);
	return NULL;
}

/* PATCH /pools/POOL/servers/SERVER with {"weight": N}: as PUT .../weight.
 * A server of the file takes no other change at run time. */
void admin_handle_pool_server(struct admin *a, struct evhttp_request *req,
			      char seg[][ADMIN_SEGMENT_MAX])
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct server_conf *s;
	int weight;

	if (!admin_method_is(req, EVHTTP_REQ_PATCH, "PATCH") ||
	    !(s = server_or_404(a, req, seg[1], seg[3])))
		return;
	if (evbuffer_search(in, "\"address\"", 9, NULL).pos >= 0) {
		admin_reply_error(req, 409, "Conflict",
				  "the server comes from the configuration file: only its weight "
				  "changes at run time");
		return;
	}
	if ((weight = body_weight(req)) >= 0)
		apply_weight(a, req, s, weight);
}

void admin_handle_server(struct admin *a, struct evhttp_request *req, char seg[][ADMIN_SEGMENT_MAX])
{
	static const struct {
		const char *action;
		int state;
	} actions[] = {
		{ "drain", SERVER_DRAINING },
		{ "disable", SERVER_DISABLED },
		{ "enable", SERVER_UP },
	};
	struct server_conf *s = server_or_404(a, req, seg[1], seg[2]);
	char msg[ADMIN_SEGMENT_MAX * 2 + 64];

	if (!s)
		return;
	if (strcmp(seg[3], "weight") == 0) {
		handle_weight(a, req, s);
		return;
	}
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strcmp(seg[3], actions[i].action) != 0)
			continue;
		if (!admin_method_is(req, EVHTTP_REQ_POST, "POST"))
			return;
		atomic_store(&s->rt->state, actions[i].state);
		/* Workers close their idle pooled connections to it on their next
		 * tick, as for a server that went down: a drained or disabled
		 * server should see them go promptly, not at their idle timeout. */
		if (actions[i].state != SERVER_UP)
			health_down_epoch_bump();
		log_info("admin: pool %s: server %s: %s", seg[1], seg[2],
			 admin_server_state_name(actions[i].state));
		snprintf(msg, sizeof(msg), ",\"state\":\"%s\"",
			 admin_server_state_name(actions[i].state));
		admin_reply_ok(req, msg);
		return;
	}
	admin_reply_error(req, 404, "Not Found",
			  "unknown server action (drain, enable, disable or weight)");
}

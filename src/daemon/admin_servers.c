/* admin_servers.c — the admin API's calls on one server: drain, disable,
 * enable, and its runtime weight (PUT/DELETE /servers/POOL/SERVER/weight,
 * PATCH /pools/POOL/servers/SERVER). */
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "balance/balance.h"
#include "config/config.h"
#include "core/health_state.h"
#include "core/log.h"
#include "core/runtime.h"
#include "daemon/admin_private.h"
#include "daemon/daemon.h"
#include "daemon/membership.h"
#include "util/addr.h"
#include "util/json.h"

/* SERVER of POOL among the pool's members now: the file's, and those
 * added at run time. */
static struct server_conf *find_server(const struct config *cfg, const char *pool,
				       const char *server, bool *pool_found)
{
	struct pool_conf *p = config_find_pool(cfg, pool);
	const struct pool_members *m = p ? balance_members(p) : NULL;

	*pool_found = p != NULL;
	for (size_t i = 0; m && i < m->n; i++)
		if (strcmp(m->servers[i]->name, server) == 0 && !m->servers[i]->leaving)
			return m->servers[i];
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

/* The answer to a membership call that failed. */
static void member_error(struct evhttp_request *req, enum member_result r, const char *why)
{
	static const struct {
		int code;
		const char *reason;
	} answers[] = {
		[MEMBER_NO_POOL] = { 404, "Not Found" },
		[MEMBER_NOT_FOUND] = { 404, "Not Found" },
		[MEMBER_EXISTS] = { 409, "Conflict" },
		[MEMBER_NOT_OWNER] = { 409, "Conflict" },
		[MEMBER_BAD] = { 400, "Bad Request" },
		[MEMBER_FAILED] = { 500, "Internal Server Error" },
	};

	admin_reply_error(req, answers[r].code, answers[r].reason, why);
}

/* The body of a membership call: {"name": S, "address": S, "weight": N,
 * "backup": B}, every member optional here, nothing else. */
static int parse_member(struct evhttp_request *req, struct member_spec *spec, char *name,
			char *address, char *why, size_t len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char body[1024];
	const char *it = NULL, *v;
	uint64_t w;

	*spec = (struct member_spec){ .weight = -1, .backup = -1 };
	if (n >= sizeof(body) || evbuffer_copyout(in, body, n) != (ev_ssize_t)n) {
		snprintf(why, len, "expected a JSON object of at most %zu bytes", sizeof(body) - 1);
		return -1;
	}
	body[n] = '\0';
	const char *p = body + strspn(body, " \t\r\n"), *end = json_skip(p);
	if (*p != '{' || !end || end[strspn(end, " \t\r\n")]) {
		snprintf(why, len, "expected a JSON object");
		return -1;
	}
	while (json_object_next(p, &it)) {
		if (json_key_is(it, "name") && (v = json_member(p, "name")) &&
		    json_string(v, name, CONFIG_NAME_MAX + 2))
			spec->name = name;
		else if (json_key_is(it, "address") && (v = json_member(p, "address")) &&
			 json_string(v, address, ADDR_TEXT_MAX))
			spec->address = address;
		else if (json_key_is(it, "weight") && (v = json_member(p, "weight")) &&
			 json_u64(v, &w) && w <= CONFIG_WEIGHT_MAX)
			spec->weight = (int)w;
		else if (json_key_is(it, "backup") && (v = json_member(p, "backup")) &&
			 (!strncmp(v, "true", 4) || !strncmp(v, "false", 5)))
			spec->backup = !strncmp(v, "true", 4);
		else {
			char key[32];
			json_string(it, key, sizeof(key));
			snprintf(
				why, len,
				"%s: expected name (a string), address (IP:PORT), weight (0 to %d) "
				"or backup (true or false)",
				key, CONFIG_WEIGHT_MAX);
			return -1;
		}
	}
	return 0;
}

static void reply_member(struct evhttp_request *req, int code, const char *reason, const char *pool,
			 const char *name)
{
	struct strbuf sb = { 0 };

	strbuf_adds(&sb, "{\"ok\":true,\"pool\":");
	json_add_string(&sb, pool);
	strbuf_adds(&sb, ",\"server\":");
	json_add_string(&sb, name);
	strbuf_adds(&sb, "}\n");
	admin_reply_json(req, code, reason, &sb);
}

/* /pools/POOL/servers: GET lists the pool's servers (as /status does),
 * POST adds one at run time (201). */
void admin_handle_pool_servers(struct admin *a, struct evhttp_request *req,
			       char seg[][ADMIN_SEGMENT_MAX])
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char why[256], name[CONFIG_NAME_MAX + 2], address[ADDR_TEXT_MAX];
	struct member_spec spec;

	if (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD) {
		struct strbuf sb = { 0 };
		const struct pool_conf *p = config_find_pool(daemon_config(a->d), seg[1]);
		if (!p) {
			snprintf(why, sizeof(why), "no pool named %s", seg[1]);
			admin_reply_error(req, 404, "Not Found", why);
			return;
		}
		admin_pool_servers_json(&sb, p);
		admin_reply_json(req, 200, "OK", &sb);
		return;
	}
	if (!admin_method_is(req, EVHTTP_REQ_POST, "GET, HEAD, POST"))
		return;
	if (parse_member(req, &spec, name, address, why, sizeof(why)) < 0) {
		admin_reply_error(req, 400, "Bad Request", why);
		return;
	}
	enum member_result r = daemon_member_add(a->d, seg[1], &spec, why, sizeof(why));
	if (r != MEMBER_OK) {
		member_error(req, r, why);
		return;
	}
	reply_member(req, 201, "Created", seg[1], spec.name);
}

/* /pools/POOL/servers/SERVER: PATCH changes it (a server of the file or of
 * discovery takes only a weight, which is its runtime weight), DELETE
 * removes one added at run time (202: it drains, then it is gone). */
void admin_handle_pool_server(struct admin *a, struct evhttp_request *req,
			      char seg[][ADMIN_SEGMENT_MAX])
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char why[256], name[CONFIG_NAME_MAX + 2], address[ADDR_TEXT_MAX];
	struct member_spec spec;
	struct server_conf *s;
	enum member_result r;

	if (cmd != EVHTTP_REQ_PATCH && cmd != EVHTTP_REQ_DELETE) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "PATCH, DELETE");
		admin_reply_error(req, 405, "Method Not Allowed", "method not allowed");
		return;
	}
	if (!(s = server_or_404(a, req, seg[1], seg[3])))
		return;
	if (cmd == EVHTTP_REQ_DELETE) {
		r = daemon_member_remove(a->d, seg[1], seg[3], why, sizeof(why));
		if (r != MEMBER_OK)
			member_error(req, r, why);
		else
			reply_member(req, 202, "Accepted", seg[1], seg[3]);
		return;
	}
	if (parse_member(req, &spec, name, address, why, sizeof(why)) < 0) {
		admin_reply_error(req, 400, "Bad Request", why);
		return;
	}
	if (spec.name && strcmp(spec.name, seg[3]) != 0) {
		admin_reply_error(req, 400, "Bad Request", "name: a server keeps its name");
		return;
	}
	if (s->origin != ORIGIN_API) {
		if (spec.address || spec.backup >= 0 || spec.weight < 0) {
			admin_reply_error(
				req, 409, "Conflict",
				s->origin == ORIGIN_CONFIG ?
					"the server comes from the configuration file: "
					"only its weight changes at run time" :
					"the server comes from discovery: only its weight "
					"changes at run time");
			return;
		}
		apply_weight(a, req, s, spec.weight);
		return;
	}
	spec.name = seg[3];
	r = daemon_member_set(a->d, seg[1], &spec, why, sizeof(why));
	if (r != MEMBER_OK)
		member_error(req, r, why);
	else
		reply_member(req, 200, "OK", seg[1], seg[3]);
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

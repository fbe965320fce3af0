/* admin_proto.c — request paths and bodies of the admin API, and the status
 * document (JSON and the table lbctl prints). */
#include "daemon/admin_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "balance/balance.h"
#include "core/runtime.h"
#include "daemon/health.h"
#include "util/addr.h"
#include "util/json.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int admin_path_split(const char *path, char seg[][ADMIN_SEGMENT_MAX], int max)
{
	int n = 0;
	const char *p = path;

	if (*p != '/')
		return -1;
	while (*p == '/' && p[1] != '\0') {
		size_t len = 0;
		p++;
		if (*p == '/' || n == max)
			return -1;
		for (; *p && *p != '/'; p++) {
			char c = *p;
			if (c == '%') {
				int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
				if (lo < 0)
					return -1;
				c = (char)(hi * 16 + lo);
				if (c == '\0')
					return -1;
				p += 2;
			}
			if (len + 1 >= ADMIN_SEGMENT_MAX)
				return -1;
			seg[n][len++] = c;
		}
		seg[n++][len] = '\0';
	}
	return n;
}

bool admin_bearer_ok(const char *authorization, const char *token, size_t token_len)
{
	const char *got;
	size_t glen;
	unsigned char diff;

	if (!authorization || !token || token_len == 0 ||
	    strncasecmp(authorization, "Bearer ", 7) != 0)
		return false;
	got = authorization + 7;
	got += strspn(got, " ");
	glen = strlen(got);
	while (glen && got[glen - 1] == ' ')
		glen--;
	/* Every byte of the token is looked at whatever the guess. */
	diff = glen != token_len;
	for (size_t i = 0; i < token_len; i++)
		diff |= (unsigned char)(token[i] ^ (i < glen ? got[i] : 0));
	return diff == 0;
}

int admin_parse_weight(const char *body, size_t len, unsigned *out)
{
	char buf[128];
	const char *p;
	uint64_t v;

	if (len >= sizeof(buf) || memchr(body, '\0', len))
		return -1;
	memcpy(buf, body, len);
	buf[len] = '\0';
	p = buf + strspn(buf, " \t\r\n");
	if (*p == '{') {
		const char *end = json_skip(p);
		const char *val = json_member(p, "weight");
		if (!end || end[strspn(end, " \t\r\n")] != '\0' || !val)
			return -1;
		/* Only the one member. */
		const char *after = json_u64(val, &v);
		if (!after || after[strspn(after, " \t\r\n")] != '}')
			return -1;
	} else {
		p = json_u64(p, &v);
		if (!p || p[strspn(p, " \t\r\n")] != '\0')
			return -1;
	}
	if (v > CONFIG_WEIGHT_MAX)
		return -1;
	*out = (unsigned)v;
	return 0;
}

const char *admin_server_state_name(int state)
{
	switch (state) {
	case SERVER_UP:
		return "up";
	case SERVER_DOWN:
		return "down";
	case SERVER_DRAINING:
		return "draining";
	case SERVER_DISABLED:
		return "disabled";
	}
	return "unknown";
}

static const char *protocol_name(enum listener_protocol p)
{
	return p == PROTO_TCP ? "tcp" : "http";
}

/* The state shown: the admin state, except that an enabled server that
 * health keeps out is "down". */
static const char *server_state_name(const struct server_conf *s, const struct health_info *hi)
{
	int state = atomic_load(&s->rt->state);

	if (s->leaving) /* removed at run time: its requests finish */
		return admin_server_state_name(SERVER_DRAINING);
	if (s->unresolved)
		return admin_server_state_name(SERVER_DOWN);
	return admin_server_state_name(state == SERVER_UP && !hi->up ? SERVER_DOWN : state);
}

const char *admin_origin_name(enum server_origin o)
{
	return o == ORIGIN_DNS ? "dns" : o == ORIGIN_API ? "api" : "config";
}

static void add_check_json(struct strbuf *sb, const struct health_info *hi)
{
	strbuf_adds(sb, ",\"check\":{\"status\":");
	json_add_string(sb, health_check_status_name(hi->status));
	if (hi->status != HEALTH_CHECK_NONE) {
		char last[128];
		health_last_text(hi, last, sizeof(last));
		strbuf_adds(sb, ",\"last\":");
		json_add_string(sb, last);
		strbuf_adds(sb, ",\"passing_in_a_row\":");
		strbuf_add_u64(sb, hi->ok_run);
		strbuf_adds(sb, ",\"failing_in_a_row\":");
		strbuf_add_u64(sb, hi->fail_run);
		strbuf_adds(sb, ",\"checks\":");
		strbuf_add_u64(sb, hi->checks);
		strbuf_adds(sb, ",\"checks_failed\":");
		strbuf_add_u64(sb, hi->checks_failed);
		if (hi->changed) {
			strbuf_adds(sb, ",\"changed_ago_ms\":");
			strbuf_add_u64(sb, hi->changed_ago_ms);
		}
	}
	strbuf_adds(sb, "},\"passive\":{\"out\":");
	strbuf_adds(sb, hi->passive_out ? "true" : "false");
	strbuf_adds(sb, ",\"out_for_ms\":");
	strbuf_add_u64(sb, hi->passive_left_ms);
	strbuf_adds(sb, ",\"trips\":");
	strbuf_add_u64(sb, hi->passive_trips);
	strbuf_adds(sb, "}");
}

static void add_server_json(struct strbuf *sb, const struct server_conf *s)
{
	struct health_info hi;

	health_server_info(s->rt, &hi);
	strbuf_adds(sb, "{\"name\":");
	json_add_string(sb, s->name);
	strbuf_adds(sb, ",\"address\":");
	json_add_string(sb, s->addr.text);
	if (!s->unresolved && !addr_is_numeric(s->addr.text)) { /* written with a name */
		char now[ADDR_TEXT_MAX];
		addr_numeric_text(&s->addr, now, sizeof(now));
		strbuf_adds(sb, ",\"resolved\":");
		json_add_string(sb, now);
	}
	strbuf_adds(sb, ",\"state\":");
	json_add_string(sb, server_state_name(s, &hi));
	strbuf_adds(sb, ",\"origin\":");
	json_add_string(sb, admin_origin_name(s->origin));
	strbuf_adds(sb, ",\"weight\":");
	strbuf_add_u64(sb, balance_weight(s));
	strbuf_adds(sb, ",\"weight_source\":");
	strbuf_adds(sb, atomic_load(&s->rt->weight_override) >= 0 ? "\"runtime\"" : "\"config\"");
	unsigned ramp = atomic_load(&s->rt->ramp_permille);
	if (ramp && server_rt_available(s->rt)) { /* slow start: the share it has reached */
		char share[16];
		snprintf(share, sizeof(share), "%u.%03u", ramp / 1000, ramp % 1000);
		strbuf_adds(sb, ",\"ramp\":");
		strbuf_adds(sb, share);
	}
	strbuf_adds(sb, ",\"backup\":");
	strbuf_adds(sb, s->backup ? "true" : "false");
	strbuf_adds(sb, ",\"active\":");
	int active = atomic_load(&s->rt->active);
	strbuf_add_u64(sb, active > 0 ? (uint64_t)active : 0);
	strbuf_adds(sb, ",\"queued\":");
	int queued = atomic_load(&s->rt->queued);
	strbuf_add_u64(sb, queued > 0 ? (uint64_t)queued : 0);
	strbuf_adds(sb, ",\"requests\":");
	strbuf_add_u64(sb, RUNTIME_SUM(s->rt->shard, requests));
	strbuf_adds(sb, ",\"failures\":");
	strbuf_add_u64(sb, atomic_load(&s->rt->failures));
	strbuf_adds(sb, ",\"responses\":{");
	for (unsigned c = 0; c < STATUS_CLASSES; c++) {
		strbuf_adds(sb, c ? ",\"" : "\"");
		strbuf_adds(sb, status_class_names[c]);
		strbuf_adds(sb, "\":");
		strbuf_add_u64(sb, RUNTIME_SUM(s->rt->shard, answered[c]));
	}
	strbuf_adds(sb, "}");
	add_check_json(sb, &hi);
	strbuf_adds(sb, "}");
}

/* The pool's cap and queue; length and rejections count every worker and
 * go on across reloads (runtime state by identity). */
static void add_queue_json(struct strbuf *sb, const struct pool_conf *p)
{
	const struct queue_rt *q = &p->rt->queue;

	strbuf_adds(sb, ",\"max_requests_per_server\":");
	strbuf_add_u64(sb, p->max_requests_per_server);
	strbuf_adds(sb, ",\"queue\":{\"length\":");
	strbuf_add_u64(sb, atomic_load(&q->length));
	strbuf_adds(sb, ",\"size\":");
	strbuf_add_u64(sb, p->queue.size);
	strbuf_adds(sb, ",\"timeout_ms\":");
	strbuf_add_u64(sb, p->queue.timeout_ms);
	strbuf_adds(sb, ",\"max_wait_ms\":");
	strbuf_add_u64(sb, atomic_load(&p->rt->queue_max_wait_ms));
	for (unsigned k = 0; k < QUEUE_REJECT_KINDS; k++) {
		strbuf_adds(sb, ",");
		json_add_string(sb, queue_reject_names[k]);
		strbuf_adds(sb, ":");
		strbuf_add_u64(sb, atomic_load(&q->rejected[k]));
	}
	strbuf_adds(sb, "}");
}

/* A pool that follows DNS: the name it asks for, how often, and how long
 * its resolver has failed (0 while its answers are fresh). */
static void add_discovery_json(struct strbuf *sb, const struct pool_conf *p,
			       const struct admin_status_info *info)
{
	if (!p->discovery.enabled)
		return;
	strbuf_adds(sb, ",\"discovery\":{\"dns\":");
	json_add_string(sb, p->discovery.dns);
	strbuf_adds(sb, ",\"refresh_ms\":");
	strbuf_add_u64(sb, p->discovery.refresh_ms);
	strbuf_adds(sb, ",\"stale_ms\":");
	strbuf_add_u64(sb,
		       info->discovery_stale_ms ? info->discovery_stale_ms(info->arg, p->name) : 0);
	strbuf_adds(sb, "}");
}

void admin_status_json(struct strbuf *sb, const struct config *cfg,
		       const struct admin_status_info *info)
{
	strbuf_adds(sb, "{\"generation\":");
	strbuf_add_u64(sb, info->generation);
	strbuf_adds(sb, ",\"live_generations\":");
	strbuf_add_u64(sb, info->live_generations);
	strbuf_adds(sb, ",\"uptime_s\":");
	strbuf_add_u64(sb, info->uptime_s);
	strbuf_adds(sb, ",\"listeners\":[");
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct listener_conf *lc = &cfg->listeners[i];
		strbuf_adds(sb, i ? ",{\"name\":" : "{\"name\":");
		json_add_string(sb, lc->name);
		strbuf_adds(sb, ",\"bind\":[");
		for (size_t b = 0; b < lc->nbinds; b++) {
			if (b)
				strbuf_adds(sb, ",");
			json_add_string(sb, lc->binds[b].text);
		}
		strbuf_adds(sb, "],\"protocol\":");
		json_add_string(sb, protocol_name(lc->protocol));
		strbuf_adds(sb, ",\"active_connections\":");
		strbuf_add_u64(sb, info->listener_connections(lc, info->arg));
		strbuf_adds(sb, "}");
	}
	strbuf_adds(sb, "],\"pools\":[");
	for (size_t i = 0; i < cfg->npools; i++) {
		const struct pool_conf *p = &cfg->pools[i];
		strbuf_adds(sb, i ? ",{\"name\":" : "{\"name\":");
		json_add_string(sb, p->name);
		strbuf_adds(sb, ",\"balance\":");
		json_add_string(sb, balance_name(p->balance));
		add_discovery_json(sb, p, info);
		strbuf_adds(sb, ",\"servers\":[");
		const struct pool_members *m = balance_members(p);
		for (size_t j = 0; m && j < m->n; j++) {
			if (j)
				strbuf_adds(sb, ",");
			add_server_json(sb, m->servers[j]);
		}
		strbuf_adds(sb, "]");
		add_queue_json(sb, p);
		strbuf_adds(sb, "}");
	}
	strbuf_adds(sb, "]}\n");
}

static void addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void addf(struct strbuf *sb, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		strbuf_add(sb, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* "passing, 200 in 3ms", "failing, status 500 in 2ms (3 in a row)",
 * "none, out 9.5s (passive)"; " (backup)" after it for backups. */
static void check_cell(const struct health_info *hi, bool backup, char *buf, size_t len)
{
	char last[128];
	int n;

	health_last_text(hi, last, sizeof(last));
	n = snprintf(buf, len, "%s", health_check_status_name(hi->status));
	if (hi->status != HEALTH_CHECK_NONE && last[0] && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", %s", last);
	if (hi->status == HEALTH_CHECK_FAILING && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " (%u in a row)", hi->fail_run);
	if (hi->passive_out && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", out %llums (passive)",
			      (unsigned long long)hi->passive_left_ms);
	if (backup && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " (backup)");
}

static int widest(int w, const char *s)
{
	size_t n = strlen(s);

	return n > (size_t)w ? (int)n : w;
}

/* Columns as wide as their longest value (Kubernetes names run long), so
 * that every row lines up. */
void admin_status_table(struct strbuf *sb, const struct config *cfg,
			const struct admin_status_info *info)
{
	int wl = 20, wp = 16, ws = 24, wa = 24;

	for (size_t i = 0; i < cfg->nlisteners; i++)
		wl = widest(wl, cfg->listeners[i].name);
	for (size_t i = 0; i < cfg->npools; i++) {
		const struct pool_conf *p = &cfg->pools[i];
		const struct pool_members *m = balance_members(p);
		wp = widest(wp, p->name);
		for (size_t j = 0; m && j < m->n; j++) {
			ws = widest(ws, m->servers[j]->name);
			wa = widest(wa, m->servers[j]->addr.text);
		}
	}
	addf(sb, "generation %llu (%u live), up %llus\n\n", (unsigned long long)info->generation,
	     info->live_generations, (unsigned long long)info->uptime_s);
	addf(sb, "%-*s %-8s %11s  %s\n", wl, "LISTENER", "PROTOCOL", "CONNECTIONS", "BIND");
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct listener_conf *lc = &cfg->listeners[i];
		addf(sb, "%-*s %-8s %11u  ", wl, lc->name, protocol_name(lc->protocol),
		     info->listener_connections(lc, info->arg));
		for (size_t b = 0; b < lc->nbinds; b++)
			addf(sb, "%s%s", b ? ", " : "", lc->binds[b].text);
		strbuf_adds(sb, "\n");
	}
	strbuf_adds(sb, "\n");
	addf(sb, "%-*s %-*s %-*s %-9s %6s %6s %10s %8s  %s\n", wp, "POOL", ws, "SERVER", wa,
	     "ADDRESS", "STATE", "WEIGHT", "ACTIVE", "REQUESTS", "FAILURES", "CHECK");
	for (size_t i = 0; i < cfg->npools; i++) {
		const struct pool_conf *p = &cfg->pools[i];
		const struct pool_members *m = balance_members(p);
		for (size_t j = 0; m && j < m->n; j++) {
			const struct server_conf *s = m->servers[j];
			int active = atomic_load(&s->rt->active);
			struct health_info hi;
			char check[192];
			health_server_info(s->rt, &hi);
			check_cell(&hi, s->backup, check, sizeof(check));
			addf(sb, "%-*s %-*s %-*s %-9s %6u %6d %10llu %8llu  %s\n", wp, p->name, ws,
			     s->name, wa, s->addr.text, server_state_name(s, &hi),
			     balance_weight(s), active > 0 ? active : 0,
			     (unsigned long long)RUNTIME_SUM(s->rt->shard, requests),
			     (unsigned long long)atomic_load(&s->rt->failures), check);
		}
	}
}

void admin_pool_servers_json(struct strbuf *sb, const struct pool_conf *pool)
{
	const struct pool_members *m = balance_members(pool);

	strbuf_adds(sb, "{\"pool\":");
	json_add_string(sb, pool->name);
	strbuf_adds(sb, ",\"servers\":[");
	for (size_t j = 0; m && j < m->n; j++) {
		if (j)
			strbuf_adds(sb, ",");
		add_server_json(sb, m->servers[j]);
	}
	strbuf_adds(sb, "]}\n");
}

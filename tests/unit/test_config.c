/* test_config.c — the configuration loader: a full configuration with
 * every value checked, inheritance, reference counting, and a table of bad
 * configurations, each with the exact error lines lbd prints. */
#include <check.h>

#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* By path: a stale generated config.h at the top of the tree would shadow
 * the model's header through -I$(top_builddir). */
#include "config/config.h"
#include "config/config_schema.h"
#include "util/cpus.h"
#include "util/units.h"

/* A valid listener and pool, for cases about something else. */
#define LISTENERS \
	"listeners:\n" \
	"  - name: web\n" \
	"    bind: 127.0.0.1:8080\n" \
	"    routes:\n" \
	"      - pool: web\n"
#define POOLS \
	"pools:\n" \
	"  - name: web\n" \
	"    servers:\n" \
	"      - address: 127.0.0.1:9001\n"
#define VALID LISTENERS POOLS

/* Every error, formatted, one per line. */
static char *format_errors(const struct config_errors *errs)
{
	size_t cap = 64, len = 0;
	char *out = malloc(cap);

	out[0] = '\0';
	for (size_t i = 0; i < errs->count; i++) {
		char line[2048];
		int n = config_error_format(&errs->items[i], line, sizeof(line));
		ck_assert_int_lt(n, (int)sizeof(line));
		while (len + (size_t)n + 2 > cap)
			out = realloc(out, cap *= 2);
		len += (size_t)sprintf(out + len, "%s%s", len ? "\n" : "", line);
	}
	return out;
}

static char *errors_of_buffer(const char *data, size_t len)
{
	struct config_errors errs;
	struct config *cfg;
	char *out;

	config_errors_init(&errs);
	cfg = config_load_buffer("bad.yaml", data, len, &errs);
	out = format_errors(&errs);
	ck_assert_msg(cfg == NULL, "accepted a bad configuration");
	ck_assert_msg(errs.count > 0, "rejected without an error");
	config_errors_free(&errs);
	return out;
}

static struct config *load_ok(const char *name, const char *data)
{
	struct config_errors errs;
	struct config *cfg;
	char *msg;

	config_errors_init(&errs);
	cfg = data ? config_load_buffer(name, data, strlen(data), &errs) : config_load(name, &errs);
	msg = format_errors(&errs);
	ck_assert_msg(cfg != NULL, "rejected: %s", msg);
	ck_assert_msg(errs.count == 0, "errors on success: %s", msg);
	free(msg);
	config_errors_free(&errs);
	return cfg;
}

static char *errors_of_file(const char *path)
{
	struct config_errors errs;
	struct config *cfg;
	char *out;

	config_errors_init(&errs);
	cfg = config_load(path, &errs);
	ck_assert_ptr_null(cfg);
	out = format_errors(&errs);
	config_errors_free(&errs);
	return out;
}

START_TEST(test_full)
{
	struct config *cfg = load_ok(TESTS_SRCDIR "/configs/good/full.yaml", NULL);
	struct pool_conf *api, *st;
	struct listener_conf *l;

	ck_assert_str_eq(cfg->path, TESTS_SRCDIR "/configs/good/full.yaml");
	ck_assert_uint_eq(atomic_load(&cfg->refs), 1);
	ck_assert_uint_eq(cfg->generation, 0);
	ck_assert_uint_eq(cfg->global.workers, 3);
	ck_assert_uint_eq(cfg->global.max_connections, 5000);
	ck_assert_int_eq(cfg->global.log.level, LOG_LEVEL_DEBUG);
	ck_assert_str_eq(cfg->global.log.access, "/var/log/lbd/access.log");
	ck_assert_int_eq(cfg->global.log.format, ACCESS_FORMAT_COMBINED);
	ck_assert_uint_eq(cfg->timeouts.connect_ms, 1000);
	ck_assert_uint_eq(cfg->timeouts.header_ms, 5000);
	ck_assert_uint_eq(cfg->timeouts.client_idle_ms, 30000);
	ck_assert_uint_eq(cfg->timeouts.server_ms, 45000);
	ck_assert_uint_eq(cfg->timeouts.tunnel_ms, 600000);
	ck_assert_uint_eq(cfg->timeouts.drain_ms, 0);
	ck_assert_uint_eq(cfg->retries, 0);
	ck_assert_uint_eq(cfg->limits.header_size, 8192);
	ck_assert_uint_eq(cfg->limits.headers, 50);
	ck_assert_uint_eq(cfg->limits.body_size, 1048576);

	ck_assert_uint_eq(cfg->npools, 2);
	api = &cfg->pools[0];
	ck_assert_str_eq(api->name, "api");
	ck_assert_int_eq(api->balance, BALANCE_ROUND_ROBIN);
	ck_assert_uint_eq(api->timeouts.connect_ms, 500);
	ck_assert_uint_eq(api->timeouts.server_ms, 120000);
	ck_assert_uint_eq(api->timeouts.tunnel_ms, 7200000);
	/* client-side values come from defaults even though defaults is last */
	ck_assert_uint_eq(api->timeouts.header_ms, 5000);
	ck_assert_uint_eq(api->timeouts.client_idle_ms, 30000);
	ck_assert_uint_eq(api->timeouts.drain_ms, 0);
	ck_assert_uint_eq(api->retries, 5);
	ck_assert_uint_eq(api->limits.body_size, 10 * 1048576);
	ck_assert_uint_eq(api->limits.header_size, 8192);
	ck_assert_uint_eq(api->limits.headers, 50);
	ck_assert_uint_eq(api->nservers, 3);
	ck_assert_str_eq(api->servers[0].name, "api1");
	ck_assert_str_eq(api->servers[0].addr.text, "127.0.0.1:9001");
	ck_assert_int_eq(api->servers[0].addr.sa.ss_family, AF_INET);
	ck_assert_uint_eq(api->servers[0].weight, 3);
	ck_assert(!api->servers[0].backup);
	ck_assert_str_eq(api->servers[1].name, "[::1]:9002");
	ck_assert_int_eq(api->servers[1].addr.sa.ss_family, AF_INET6);
	ck_assert_uint_eq(api->servers[1].weight, 0);
	ck_assert(api->servers[1].backup);
	ck_assert_str_eq(api->servers[2].name, "sock");
	ck_assert_int_eq(api->servers[2].addr.sa.ss_family, AF_UNIX);
	ck_assert_uint_eq(api->servers[2].weight, 7);
	ck_assert_ptr_null(api->rt);
	ck_assert_ptr_null(api->members);
	ck_assert_ptr_null(api->servers[0].rt);

	st = &cfg->pools[1];
	ck_assert_str_eq(st->name, "static");
	ck_assert_uint_eq(st->timeouts.connect_ms, 1000);
	ck_assert_uint_eq(st->timeouts.server_ms, 45000);
	ck_assert_uint_eq(st->timeouts.tunnel_ms, 600000);
	ck_assert_uint_eq(st->retries, 0);
	ck_assert_uint_eq(st->limits.body_size, 1048576);
	ck_assert_str_eq(st->servers[0].name, "10.0.0.1:80");
	ck_assert_uint_eq(st->servers[0].weight, 1);

	ck_assert_uint_eq(cfg->nlisteners, 2);
	l = &cfg->listeners[0];
	ck_assert_str_eq(l->name, "web");
	ck_assert_int_eq(l->protocol, PROTO_HTTP);
	ck_assert_uint_eq(l->nbinds, 2);
	ck_assert_str_eq(l->binds[0].text, "*:8080");
	ck_assert_str_eq(l->binds[1].text, "[::]:8080");
	ck_assert_uint_eq(l->nroutes, 3);
	ck_assert_str_eq(l->routes[0].host, "api.example.com");
	ck_assert_str_eq(l->routes[0].path_prefix, "/v1");
	ck_assert_ptr_eq(l->routes[0].pool, api);
	ck_assert_str_eq(l->routes[1].host, "*.example.com");
	ck_assert_ptr_null(l->routes[1].path_prefix);
	ck_assert_ptr_eq(l->routes[1].pool, st);
	ck_assert_ptr_null(l->routes[2].host);
	ck_assert_ptr_null(l->routes[2].path_prefix);
	ck_assert_ptr_eq(l->routes[2].pool, st);
	l = &cfg->listeners[1];
	ck_assert_str_eq(l->name, "raw");
	ck_assert_int_eq(l->protocol, PROTO_TCP);
	ck_assert_uint_eq(l->nbinds, 1);
	ck_assert_int_eq(l->binds[0].sa.ss_family, AF_UNIX);
	ck_assert_uint_eq(l->nroutes, 1);
	ck_assert_ptr_eq(l->routes[0].pool, api);

	ck_assert_ptr_eq(config_find_pool(cfg, "static"), st);
	ck_assert_ptr_eq(config_find_pool(cfg, "api"), api);
	ck_assert_ptr_null(config_find_pool(cfg, "nope"));
	config_unref(cfg);
}
END_TEST

START_TEST(test_defaults)
{
	struct config *cfg = load_ok("min.yaml", VALID);
	unsigned cpus = cpus_usable();

	ck_assert_uint_ge(cpus, 1);
	ck_assert_uint_le(cpus, (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
	ck_assert_uint_eq(cfg->global.workers, cpus > 256 ? 256 : cpus);
	ck_assert_uint_eq(cfg->global.max_connections, 100000);
	ck_assert_int_eq(cfg->global.log.level, LOG_LEVEL_INFO);
	ck_assert_str_eq(cfg->global.log.access, "stdout");
	ck_assert_int_eq(cfg->global.log.format, ACCESS_FORMAT_JSON);
	ck_assert_uint_eq(cfg->timeouts.connect_ms, 2000);
	ck_assert_uint_eq(cfg->timeouts.header_ms, 10000);
	ck_assert_uint_eq(cfg->timeouts.client_idle_ms, 60000);
	ck_assert_uint_eq(cfg->timeouts.server_ms, 60000);
	ck_assert_uint_eq(cfg->timeouts.tunnel_ms, 3600000);
	ck_assert_uint_eq(cfg->timeouts.drain_ms, 30000);
	ck_assert_uint_eq(cfg->retries, 2);
	ck_assert_uint_eq(cfg->limits.header_size, 16384);
	ck_assert_uint_eq(cfg->limits.headers, 100);
	ck_assert_uint_eq(cfg->limits.body_size, 0);
	ck_assert_int_eq(cfg->pools[0].balance, BALANCE_ROUND_ROBIN);
	ck_assert_mem_eq(&cfg->pools[0].timeouts, &cfg->timeouts, sizeof(cfg->timeouts));
	ck_assert_mem_eq(&cfg->pools[0].limits, &cfg->limits, sizeof(cfg->limits));
	ck_assert_uint_eq(cfg->pools[0].retries, 2);
	ck_assert_uint_eq(cfg->pools[0].retry_budget, 20);
	ck_assert(!retry_on_any(&cfg->listeners[0].routes[0].retry_on));
	ck_assert_uint_eq(cfg->pools[0].servers[0].weight, 1);
	ck_assert(!cfg->pools[0].servers[0].backup);
	ck_assert_int_eq(cfg->listeners[0].protocol, PROTO_HTTP);
	ck_assert_int_eq(cfg->pools[0].hash_key.kind, REQUEST_KEY_NONE);
	ck_assert_str_eq(cfg->pools[0].sticky.cookie, "LBSRV");
	ck_assert_uint_eq(cfg->pools[0].sticky.max_age_ms, 0);
	ck_assert_int_eq(cfg->pools[0].sticky.fallback, BALANCE_ROUND_ROBIN);
	config_unref(cfg);
}
END_TEST

START_TEST(test_balance_keys)
{
	struct config *cfg = load_ok(
		"bal.yaml",
		"listeners:\n"
		"  - { name: web, bind: 127.0.0.1:8080, routes: [ { pool: a } ] }\n"
		"  - { name: t, bind: 127.0.0.1:8081, protocol: tcp, routes: [ { pool: c } ] }\n"
		"pools:\n"
		"  - name: a\n"
		"    balance: sticky_cookie\n"
		"    sticky: { cookie: SRV, max_age: 2h, fallback: ip_hash }\n"
		"    hash_key: header:X-Tenant\n"
		"    servers: [ { address: 127.0.0.1:1 } ]\n"
		"  - { name: b, balance: ip_hash, hash_key: client_ip, servers: [ { address: 127.0.0.1:1 } ] }\n"
		"  - { name: c, balance: least_conn, servers: [ { address: 127.0.0.1:1 } ] }\n"
		"  - { name: d, balance: ip_hash, servers: [ { address: 127.0.0.1:1 } ] }\n"
		"  - { name: e, balance: ip_hash, hash_key: uri, servers: [ { address: 127.0.0.1:1 } ] }\n"
		"  - { name: f, balance: maglev, hash_key: \"cookie:sid\", servers: [ { address: 127.0.0.1:1 } ] }\n"
		"  - { name: g, balance: ip_hash, hash_key: \"query:user\", servers: [ { address: 127.0.0.1:1 } ] }\n");

	ck_assert_int_eq(cfg->pools[0].balance, BALANCE_STICKY_COOKIE);
	ck_assert_str_eq(cfg->pools[0].sticky.cookie, "SRV");
	ck_assert_uint_eq(cfg->pools[0].sticky.max_age_ms, 7200000);
	ck_assert_int_eq(cfg->pools[0].sticky.fallback, BALANCE_IP_HASH);
	ck_assert_int_eq(cfg->pools[0].hash_key.kind, REQUEST_KEY_HEADER);
	ck_assert_str_eq(cfg->pools[0].hash_key.name, "X-Tenant");
	ck_assert_int_eq(cfg->pools[1].balance, BALANCE_IP_HASH);
	ck_assert_int_eq(cfg->pools[1].hash_key.kind, REQUEST_KEY_CLIENT_IP);
	ck_assert_ptr_null(cfg->pools[1].hash_key.name);
	ck_assert_int_eq(cfg->pools[2].balance, BALANCE_LEAST_CONN);
	ck_assert_int_eq(cfg->pools[3].balance, BALANCE_IP_HASH);
	ck_assert_int_eq(cfg->pools[4].hash_key.kind, REQUEST_KEY_URI);
	ck_assert_int_eq(cfg->pools[5].hash_key.kind, REQUEST_KEY_COOKIE);
	ck_assert_str_eq(cfg->pools[5].hash_key.name, "sid");
	ck_assert_int_eq(cfg->pools[6].hash_key.kind, REQUEST_KEY_QUERY);
	ck_assert_str_eq(cfg->pools[6].hash_key.name, "user");
	config_unref(cfg);
}
END_TEST

START_TEST(test_health_keys)
{
	struct config *cfg = load_ok(
		"health.yaml",
		"listeners:\n"
		"  - { name: web, bind: 127.0.0.1:8080, routes: [ { pool: a } ] }\n"
		"defaults:\n"
		"  passive: { max_fails: 3, fail_timeout: 30s }\n"
		"pools:\n"
		"  - name: a\n"
		"    health_check: { type: http, path: \"/healthz?full=1\", host: app.internal,\n"
		"                    interval: 5s, timeout: 2s, rise: 1, fall: 5, expect: 204 }\n"
		"    passive: { fail_timeout: 1s }\n"
		"    servers: [ { address: 127.0.0.1:1 } ]\n"
		"  - name: b\n"
		"    health_check:\n"
		"    passive: { max_fails: 0 }\n"
		"    servers: [ { address: 127.0.0.1:1 } ]\n"
		"  - name: c\n"
		"    health_check: { type: tcp, interval: 100ms }\n"
		"    servers: [ { address: 127.0.0.1:1 } ]\n"
		"  - { name: d, servers: [ { address: 127.0.0.1:1 } ] }\n");
	const struct health_check_conf *a = &cfg->pools[0].health_check;
	const struct health_check_conf *b = &cfg->pools[1].health_check;
	const struct health_check_conf *c = &cfg->pools[2].health_check;

	ck_assert(a->enabled);
	ck_assert_int_eq(a->type, HEALTH_CHECK_HTTP);
	ck_assert_str_eq(a->path, "/healthz?full=1");
	ck_assert_str_eq(a->host, "app.internal");
	ck_assert_uint_eq(a->interval_ms, 5000);
	ck_assert_uint_eq(a->timeout_ms, 2000);
	ck_assert_uint_eq(a->rise, 1);
	ck_assert_uint_eq(a->fall, 5);
	ck_assert_uint_eq(a->expect_lo, 204);
	ck_assert_uint_eq(a->expect_hi, 204);
	/* passive: inherited field by field */
	ck_assert_uint_eq(cfg->pools[0].passive.max_fails, 3);
	ck_assert_uint_eq(cfg->pools[0].passive.fail_timeout_ms, 1000);
	ck_assert_uint_eq(cfg->pools[1].passive.max_fails, 0);
	ck_assert_uint_eq(cfg->pools[3].passive.max_fails, 3);
	ck_assert_uint_eq(cfg->pools[3].passive.fail_timeout_ms, 30000);
	/* "health_check:" alone: every default */
	ck_assert(b->enabled);
	ck_assert_int_eq(b->type, HEALTH_CHECK_HTTP);
	ck_assert_str_eq(b->path, "/");
	ck_assert_ptr_null(b->host);
	ck_assert_uint_eq(b->interval_ms, 2000);
	ck_assert_uint_eq(b->timeout_ms, 1000);
	ck_assert_uint_eq(b->rise, 2);
	ck_assert_uint_eq(b->fall, 3);
	ck_assert_uint_eq(b->expect_lo, 200);
	ck_assert_uint_eq(b->expect_hi, 399);
	/* a short interval brings the default timeout down with it */
	ck_assert_int_eq(c->type, HEALTH_CHECK_TCP);
	ck_assert_uint_eq(c->interval_ms, 100);
	ck_assert_uint_eq(c->timeout_ms, 100);
	ck_assert(!cfg->pools[3].health_check.enabled);
	config_unref(cfg);

	/* without defaults.passive, a written section means max_fails 1 */
	cfg = load_ok(
		"passive.yaml", LISTENERS
		"pools:\n"
		"  - { name: web, passive: { fail_timeout: 2s }, servers: [ { address: 127.0.0.1:1 } ] }\n");
	ck_assert_uint_eq(cfg->pools[0].passive.max_fails, 1);
	ck_assert_uint_eq(cfg->pools[0].passive.fail_timeout_ms, 2000);
	config_unref(cfg);
}
END_TEST

START_TEST(test_inheritance_values)
{
	struct config *cfg = load_ok("inherit.yaml",
				     VALID "  - name: slow\n"
					   "    timeouts: { server: 5m }\n"
					   "    limits: { body_size: 1g }\n"
					   "    servers: [ { address: 127.0.0.1:9002 } ]\n"
					   "defaults:\n"
					   "  timeouts: { connect: 3s, server: 90s, drain: 1m }\n"
					   "  retries: 4\n"
					   "  limits: { body_size: 2m, header_size: 32k }\n"
					   "global:\n");
	struct pool_conf *web = config_find_pool(cfg, "web"), *slow = config_find_pool(cfg, "slow");

	ck_assert_uint_eq(web->timeouts.connect_ms, 3000);
	ck_assert_uint_eq(web->timeouts.server_ms, 90000);
	ck_assert_uint_eq(web->timeouts.drain_ms, 60000);
	ck_assert_uint_eq(web->timeouts.tunnel_ms, 3600000);
	ck_assert_uint_eq(web->retries, 4);
	ck_assert_uint_eq(web->limits.body_size, 2 * 1048576);
	ck_assert_uint_eq(web->limits.header_size, 32768);
	ck_assert_uint_eq(slow->timeouts.connect_ms, 3000);
	ck_assert_uint_eq(slow->timeouts.server_ms, 300000);
	ck_assert_uint_eq(slow->retries, 4);
	ck_assert_uint_eq(slow->limits.body_size, 1ULL << 30);
	ck_assert_uint_eq(slow->limits.header_size, 32768);
	config_unref(cfg);
}
END_TEST

START_TEST(test_refcount)
{
	struct config *cfg = load_ok("ref.yaml", VALID);

	ck_assert_ptr_eq(config_ref(cfg), cfg);
	ck_assert_uint_eq(atomic_load(&cfg->refs), 2);
	config_unref(cfg);
	ck_assert_uint_eq(atomic_load(&cfg->refs), 1);
	ck_assert_str_eq(cfg->listeners[0].name, "web");
	config_unref(cfg); /* freed: the sanitizer build checks for leaks */
	config_unref(NULL);
}
END_TEST

START_TEST(test_quoting_does_not_change_values)
{
	struct config *cfg = load_ok(
		"q.yaml",
		"global: { workers: \"2\", max_connections: '10' }\n"
		"defaults: { retries: \"0\", limits: { headers: \"7\", header_size: '2k' } }\n" LISTENERS
		"pools:\n"
		"  - name: \"web\"\n"
		"    servers: [ { address: '127.0.0.1:1', weight: \"256\", backup: \"true\" } ]\n");

	ck_assert_uint_eq(cfg->global.workers, 2);
	ck_assert_uint_eq(cfg->global.max_connections, 10);
	ck_assert_uint_eq(cfg->retries, 0);
	ck_assert_uint_eq(cfg->limits.headers, 7);
	ck_assert_uint_eq(cfg->limits.header_size, 2048);
	ck_assert_uint_eq(cfg->pools[0].servers[0].weight, 256);
	ck_assert(cfg->pools[0].servers[0].backup);
	config_unref(cfg);
}
END_TEST

START_TEST(test_bounds_accepted)
{
	struct config *cfg = load_ok(
		"b.yaml",
		"global: { workers: 256, max_connections: 10000000 }\n"
		"defaults:\n"
		"  timeouts: { connect: 1ms, header: 30d, drain: 0ms }\n"
		"  retries: 16\n"
		"  limits: { header_size: 1k, headers: 1000, body_size: 1024g }\n" VALID
		"  - name: p2\n"
		"    servers: [ { address: 127.0.0.1:1, weight: 0 }, { address: 127.0.0.1:2, weight: 256 } ]\n"
		"  - name: a-b_c.1\n"
		"    servers: [ { name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, address: unix:/x } ]\n");

	ck_assert_uint_eq(cfg->global.workers, 256);
	ck_assert_uint_eq(cfg->global.max_connections, 10000000);
	ck_assert_uint_eq(cfg->timeouts.connect_ms, 1);
	ck_assert_uint_eq(cfg->timeouts.header_ms, DURATION_MAX_MS);
	ck_assert_uint_eq(cfg->retries, 16);
	ck_assert_uint_eq(cfg->limits.header_size, 1024);
	ck_assert_uint_eq(cfg->limits.body_size, SIZE_MAX_BYTES);
	ck_assert_uint_eq(strlen(cfg->pools[2].servers[0].name), 64);
	config_unref(cfg);
}
END_TEST

START_TEST(test_header_rule_names_and_values)
{
	const char *why;

	ck_assert(config_header_name_ok("X-Env", &why));
	ck_assert(config_header_name_ok("Strict-Transport-Security", &why));
	ck_assert(config_header_name_ok("x_odd!name", &why));
	ck_assert(!config_header_name_ok("", &why));
	ck_assert(!config_header_name_ok("X Env", &why));
	ck_assert(!config_header_name_ok("X-Env:", &why));
	ck_assert(!config_header_name_ok(":path", &why));
	static const char *const owned[] = { "Host",    "content-length", "Transfer-Encoding",
					     "TE",      "Connection",     "Keep-Alive",
					     "Upgrade", "Trailer",        "Proxy-Connection" };
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		ck_assert_msg(!config_header_name_ok(owned[i], &why), "%s", owned[i]);

	ck_assert(config_header_value_ok("", false, &why));
	ck_assert(config_header_value_ok("max-age=31536000; preload", false, &why));
	ck_assert(config_header_value_ok("${client_ip}/${request_id}", false, &why));
	ck_assert(config_header_value_ok("by ${server}\tat ${client_ip}", true, &why));
	ck_assert(config_header_value_ok("$5 {x}", false, &why));
	ck_assert(!config_header_value_ok("${server}", false, &why));
	ck_assert(!config_header_value_ok("${client}", true, &why));
	ck_assert(!config_header_value_ok("${client_ip", true, &why));
	ck_assert(!config_header_value_ok("a\r\nb", true, &why));
}
END_TEST

START_TEST(test_shipped_configs)
{
	config_unref(load_ok(TESTS_SRCDIR "/../conf/lbd.yaml", NULL));
	struct config *gw = load_ok(TESTS_SRCDIR "/../conf/gateway.yaml", NULL);
	const struct route_conf *r = gw->listeners[0].routes;

	ck_assert_str_eq(r[0].redirect.to, "https://www.example.com");
	ck_assert_uint_eq(r[0].redirect.status, 301);
	ck_assert_ptr_null(r[0].pool);
	ck_assert(r[1].strip_prefix);
	ck_assert(retry_on_has(&r[1].retry_on, 503));
	ck_assert(!retry_on_has(&r[1].retry_on, 500));
	ck_assert(!r[3].strip_prefix);
	ck_assert_int_eq(config_find_pool(gw, "catalog")->hash_key.kind, REQUEST_KEY_URI);
	config_unref(gw);
	struct config *demo = load_ok(TESTS_SRCDIR "/../conf/demo.yaml", NULL);
	struct pool_conf *p = config_find_pool(demo, "demo");

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->nservers, 3);
	ck_assert_str_eq(p->servers[2].name, "app3");
	ck_assert_uint_eq(p->servers[2].weight, 2);
	ck_assert_str_eq(demo->listeners[0].binds[0].text, "127.0.0.1:8080");
	ck_assert_str_eq(demo->global.log.access, "stdout");
	ck_assert_int_eq(demo->global.log.format, ACCESS_FORMAT_JSON);
	config_unref(demo);
}
END_TEST

struct bad_case {
	const char *yaml;
	const char *errors;
};

#include "test_config_cases.h"

START_TEST(test_bad)
{
	const struct bad_case *c = &bad_cases[_i];
	char *got = errors_of_buffer(c->yaml, strlen(c->yaml));

	ck_assert_msg(strcmp(got, c->errors) == 0, "case %d:\n%s\n--- expected:\n%s\n--- got:\n%s",
		      _i, c->yaml, c->errors, got);
	free(got);
}
END_TEST

START_TEST(test_binary_garbage)
{
	static const char garbage[] = "global:\n  workers: \xff\xfe\x00\x01 2\n";
	char *got = errors_of_buffer(garbage, sizeof(garbage) - 1);

	ck_assert_str_eq(
		got, "bad.yaml:2:12: not valid YAML text: invalid leading UTF-8 octet (byte 0xFF)");
	free(got);
	got = errors_of_buffer("a: b\x01\n", 6);
	ck_assert_str_eq(
		got,
		"bad.yaml:1:5: not valid YAML text: control characters are not allowed (byte 0x01)");
	free(got);
	got = errors_of_buffer("\0\0\0\0", 4);
	ck_assert_str_eq(
		got,
		"bad.yaml:1:1: not valid YAML text: control characters are not allowed (byte 0x00)");
	free(got);
}
END_TEST

START_TEST(test_files)
{
	char *got;

	got = errors_of_file(TESTS_SRCDIR "/configs");
	ck_assert_str_eq(got, TESTS_SRCDIR "/configs: cannot read: Is a directory");
	free(got);
	got = errors_of_file(TESTS_SRCDIR "/configs/no-such-file.yaml");
	ck_assert_str_eq(got, TESTS_SRCDIR
			 "/configs/no-such-file.yaml: cannot open: No such file or directory");
	free(got);
	got = errors_of_file("/dev/null");
	ck_assert_str_eq(got, "/dev/null: cannot read: not a regular file");
	free(got);
	got = errors_of_file(TESTS_SRCDIR "/configs/bad/tabs.yaml");
	ck_assert_str_eq(got, TESTS_SRCDIR
			 "/configs/bad/tabs.yaml:2:1: YAML syntax error: tab "
			 "character where indentation is expected (indent with spaces only)");
	free(got);
	got = errors_of_file(TESTS_SRCDIR "/configs/bad/indent.yaml");
	ck_assert_str_eq(got, TESTS_SRCDIR "/configs/bad/indent.yaml:3:19: YAML syntax error: "
					   "mapping values are not allowed in this context");
	free(got);
	got = errors_of_file(TESTS_SRCDIR "/configs/bad/unclosed.yaml");
	ck_assert_str_eq(
		got, TESTS_SRCDIR
		"/configs/bad/unclosed.yaml:2:1: YAML syntax error: "
		"did not find expected ',' or '}' (while parsing a flow mapping at line 1)");
	free(got);
}
END_TEST

START_TEST(test_unreadable_file)
{
	char path[] = "/tmp/lbd-test-XXXXXX";
	int fd = mkstemp(path);
	char *got;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, VALID, strlen(VALID)), (int)strlen(VALID));
	close(fd);
	chmod(path, 0);
	if (access(path, R_OK) == 0) { /* root reads anything */
		unlink(path);
		return;
	}
	got = errors_of_file(path);
	ck_assert(strstr(got, ": cannot open: Permission denied") != NULL);
	free(got);
	unlink(path);
}
END_TEST

START_TEST(test_too_large)
{
	size_t len = 16u * 1024 * 1024 + 1;
	char *big = malloc(len);
	char path[] = "/tmp/lbd-test-XXXXXX";
	char *got, want[64];
	int fd;

	memset(big, ' ', len);
	memcpy(big, "global: {}", 10);
	got = errors_of_buffer(big, len);
	ck_assert_str_eq(got, "bad.yaml: file too large (more than 16 MiB)");
	free(got);

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, big, len), (int)len);
	close(fd);
	got = errors_of_file(path);
	snprintf(want, sizeof(want), "%s: file too large (more than 16 MiB)", path);
	ck_assert_str_eq(got, want);
	free(got);
	unlink(path);

	/* exactly 16 MiB is read and parsed */
	got = errors_of_buffer(big, len - 1);
	ck_assert_str_eq(got, "bad.yaml:1:1: missing required key \"pools\"\n"
			      "bad.yaml:1:1: missing required key \"listeners\"");
	free(got);
	free(big);
}
END_TEST

START_TEST(test_deep_nesting)
{
	char yaml[256];
	char *got;
	size_t n = 0;

	n += (size_t)sprintf(yaml, "a: ");
	for (int i = 0; i < 100; i++)
		yaml[n++] = '[';
	yaml[n] = '\0';
	got = errors_of_buffer(yaml, n);
	ck_assert_str_eq(got, "bad.yaml:1:35: nested deeper than 32 levels");
	free(got);
}
END_TEST

START_TEST(test_many_errors)
{
	char *yaml = malloc(200 * 16 + 1), *got;
	size_t n = 0, lines = 1;

	for (int i = 0; i < 150; i++)
		n += (size_t)sprintf(yaml + n, "bad%d: 1\n", i);
	got = errors_of_buffer(yaml, n);
	for (char *p = got; *p; p++)
		lines += *p == '\n';
	ck_assert_uint_eq(lines, 101);
	ck_assert(strncmp(got, "bad.yaml: missing", 17) != 0);
	ck_assert(strstr(got, "\nbad.yaml: 52 more errors not shown") != NULL);
	ck_assert(strstr(got, "bad.yaml:1:1: missing required key \"pools\"\n") == got);
	free(got);
	free(yaml);
}
END_TEST

START_TEST(test_error_format)
{
	struct config_errors errs;
	char buf[256];

	config_errors_init(&errs);
	config_errors_add(&errs, "f.yaml", 7, 17, "pools[0].servers[1].weight",
			  "expected an integer from %d to %d, got \"%s\"", 0, 256, "300");
	config_errors_add(&errs, "f.yaml", 3, 1, NULL, "document-level");
	config_errors_add(&errs, "f.yaml", 0, 0, NULL, "cannot open: %s", "nope");
	config_errors_add(&errs, "f.yaml", 0, 0, "", "empty path");
	ck_assert_uint_eq(errs.count, 4);
	config_error_format(&errs.items[0], buf, sizeof(buf));
	ck_assert_str_eq(
		buf,
		"f.yaml:7:17: pools[0].servers[1].weight: expected an integer from 0 to 256, got \"300\"");
	config_error_format(&errs.items[1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "f.yaml:3:1: document-level");
	config_error_format(&errs.items[2], buf, sizeof(buf));
	ck_assert_str_eq(buf, "f.yaml: cannot open: nope");
	config_error_format(&errs.items[3], buf, sizeof(buf));
	ck_assert_str_eq(buf, "f.yaml: empty path");
	ck_assert_int_eq(config_error_format(&errs.items[1], buf, 5), 26);
	ck_assert_str_eq(buf, "f.ya");

	FILE *f = tmpfile();
	char out[512] = "";
	config_errors_print(&errs, f);
	rewind(f);
	ck_assert_uint_gt(fread(out, 1, sizeof(out) - 1, f), 0);
	fclose(f);
	ck_assert_str_eq(
		out,
		"f.yaml:7:17: pools[0].servers[1].weight: expected an integer from 0 to 256, got \"300\"\n"
		"f.yaml:3:1: document-level\n"
		"f.yaml: cannot open: nope\n"
		"f.yaml: empty path\n");
	config_errors_free(&errs);
	ck_assert_uint_eq(errs.count, 0);
	config_errors_free(&errs);
}
END_TEST

/* A fake root: ROOT/proc/self/cgroup and ROOT/sys/fs/cgroup/... */
static void put_file(const char *root, const char *rel, const char *text)
{
	char path[512], cmd[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	ck_assert_int_eq(system(cmd), 0);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_cgroup_quota)
{
	char root[] = "/tmp/lbd-cgroup-XXXXXX", cmd[64];

	ck_assert_ptr_nonnull(mkdtemp(root));
	/* nothing there (no cgroup v2): no quota */
	ck_assert_uint_eq(cpus_cgroup_quota(root), 0);
	/* a cgroup v1 only host: no "0::" line */
	put_file(root, "proc/self/cgroup", "4:cpu,cpuacct:/docker/abc\n");
	ck_assert_uint_eq(cpus_cgroup_quota(root), 0);
	/* v2, no limit */
	put_file(root, "proc/self/cgroup", "0::/kubepods/pod1/ctr\n");
	put_file(root, "sys/fs/cgroup/kubepods/pod1/ctr/cpu.max", "max 100000\n");
	ck_assert_uint_eq(cpus_cgroup_quota(root), 0);
	/* 500m: one CPU (rounded up) */
	put_file(root, "sys/fs/cgroup/kubepods/pod1/ctr/cpu.max", "50000 100000\n");
	ck_assert_uint_eq(cpus_cgroup_quota(root), 1);
	/* 2.5 CPUs: 3 */
	put_file(root, "sys/fs/cgroup/kubepods/pod1/ctr/cpu.max", "250000 100000\n");
	ck_assert_uint_eq(cpus_cgroup_quota(root), 3);
	/* a tighter limit on the pod binds the container too */
	put_file(root, "sys/fs/cgroup/kubepods/pod1/cpu.max", "200000 100000\n");
	ck_assert_uint_eq(cpus_cgroup_quota(root), 2);
	/* garbage is no limit */
	put_file(root, "sys/fs/cgroup/kubepods/pod1/cpu.max", "x y\n");
	put_file(root, "sys/fs/cgroup/kubepods/pod1/ctr/cpu.max", "0 100000\n");
	ck_assert_uint_eq(cpus_cgroup_quota(root), 0);
	/* a cgroup namespace: the path is "/" and cpu.max is at the top */
	put_file(root, "proc/self/cgroup", "0::/\n");
	put_file(root, "sys/fs/cgroup/cpu.max", "150000 100000\n");
	ck_assert_uint_eq(cpus_cgroup_quota(root), 2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_token_file)
{
	char dir[] = "/tmp/lbd-token-XXXXXX", path[128], yaml[512], cmd[64];
	struct config *cfg;
	char *msg;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(yaml, sizeof(yaml),
		 "global:\n  admin:\n    token_file: %s/token\n"
		 "pools: [{name: p, servers: [{address: \"127.0.0.1:1\"}]}]\n"
		 "listeners: [{name: w, bind: \"127.0.0.1:2\", routes: [{pool: p}]}]\n",
		 dir);
	snprintf(path, sizeof(path), "%s/token", dir);
	/* missing */
	msg = errors_of_buffer(yaml, strlen(yaml));
	ck_assert_msg(strstr(msg, "bad.yaml:3:17: global.admin.token_file: cannot read the token "
				  "file /tmp/lbd-token-") != NULL,
		      "%s", msg);
	free(msg);
	/* empty, or only a newline */
	put_file(dir, "token", "\n");
	msg = errors_of_buffer(yaml, strlen(yaml));
	ck_assert_msg(strstr(msg, "is empty") != NULL, "%s", msg);
	free(msg);
	/* two lines */
	put_file(dir, "token", "abc\ndef\n");
	msg = errors_of_buffer(yaml, strlen(yaml));
	ck_assert_msg(strstr(msg, "expected one line of visible ASCII") != NULL, "%s", msg);
	free(msg);
	/* good: the trailing newline is cut */
	put_file(dir, "token", "s3cr3t\r\n");
	cfg = load_ok("ok.yaml", yaml);
	ck_assert_str_eq(cfg->global.admin.token, "s3cr3t");
	ck_assert_uint_eq(cfg->global.admin.token_len, 6);
	ck_assert_str_eq(cfg->global.admin.token_file, path);
	config_unref(cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* A file of LEN bytes. */
static void put_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void assert_secret(const struct sticky_secret *s, const void *want, size_t len)
{
	ck_assert_uint_eq(s->len, len);
	ck_assert_int_eq(memcmp(s->bytes, want, len), 0);
}

START_TEST(test_sticky_secret_files)
{
	char dir[] = "/tmp/lbd-secret-XXXXXX", main[128], yaml[STICKY_SECRET_MAX + 1024], path[160];
	char cmd[400];
	static char big[STICKY_SECRET_MAX + 2];
	struct config *cfg;
	char *msg;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(main, sizeof(main), "%s/lbd.yaml", dir);
	/* relative to the configuration's directory; inline and file forms */
	snprintf(yaml, sizeof(yaml),
		 LISTENERS "pools:\n  - name: web\n    balance: sticky_cookie\n"
			   "    sticky: { secret_file: keys/now, previous_secret: \"old one\" }\n"
			   "    servers: [ { address: 127.0.0.1:1 } ]\n");
	put_bytes(main, yaml, strlen(yaml));
	snprintf(cmd, sizeof(cmd), "mkdir '%s/keys'", dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/keys/now", dir);
	/* one trailing newline is not part of it; the rest is, bytes as they are */
	static const struct {
		const char *data;
		size_t len, want;
	} files[] = {
		{ "s3cret\n", 7, 6 },   { "s3cret\r\n", 8, 6 },    { "s3cret", 6, 6 },
		{ "s3cret\n\n", 8, 7 }, { " s3\0cret \n", 10, 9 }, { "\n\n", 2, 1 },
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		put_bytes(path, files[i].data, files[i].len);
		cfg = load_ok(main, NULL);
		assert_secret(&cfg->pools[0].sticky.secret, files[i].data, files[i].want);
		assert_secret(&cfg->pools[0].sticky.previous_secret, "old one", 7);
		config_unref(cfg);
	}
	/* the largest, with its newline */
	memset(big, 'k', sizeof(big));
	big[STICKY_SECRET_MAX] = '\n';
	put_bytes(path, big, STICKY_SECRET_MAX + 1);
	cfg = load_ok(main, NULL);
	ck_assert_uint_eq(cfg->pools[0].sticky.secret.len, STICKY_SECRET_MAX);
	config_unref(cfg);
	/* errors at the key's line, naming the file, never its content */
	static const struct {
		const char *data;
		size_t len;
		const char *why;
	} bad[] = {
		{ "", 0, "is empty" },
		{ "\n", 1, "is empty" },
		{ "\r\n", 2, "is empty" },
		{ big, STICKY_SECRET_MAX + 2, "holds more than 4096 bytes" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[512];
		put_bytes(path, bad[i].data, bad[i].len);
		msg = errors_of_file(main);
		snprintf(want, sizeof(want),
			 "%s:9:28: pools[0].sticky.secret_file: the secret file %s %s", main, path,
			 bad[i].why);
		ck_assert_str_eq(msg, want);
		free(msg);
	}
	/* a directory, or a file that cannot be opened */
	snprintf(cmd, sizeof(cmd), "rm '%s' && mkdir '%s'", path, path);
	ck_assert_int_eq(system(cmd), 0);
	msg = errors_of_file(main);
	ck_assert_msg(strstr(msg, "keys/now: not a regular file") != NULL, "%s", msg);
	free(msg);
	snprintf(cmd, sizeof(cmd), "rmdir '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
	msg = errors_of_file(main);
	ck_assert_msg(strstr(msg, "keys/now: No such file or directory") != NULL, "%s", msg);
	free(msg);
	/* an inline secret never shows in an error, even a wrong one */
	snprintf(yaml, sizeof(yaml),
		 LISTENERS "pools:\n  - name: web\n    balance: sticky_cookie\n"
			   "    sticky: { secret: hunter2-%0*d, previous_secret: hunter1 }\n"
			   "    servers: [ { address: 127.0.0.1:1 } ]\n",
		 STICKY_SECRET_MAX, 0);
	msg = errors_of_buffer(yaml, strlen(yaml));
	ck_assert_str_eq(msg, "bad.yaml:9:23: pools[0].sticky.secret: expected a secret of 1 to "
			      "4096 bytes, got a longer one");
	free(msg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_env)
{
	setenv("LBD_T_W", "7", 1);
	setenv("LBD_T_EMPTY", "", 1);
	setenv("LBD_T_YAML", "[1, 2]", 1);
	unsetenv("LBD_T_UNSET");
	struct config *cfg =
		load_ok("env.yaml",
			"global:\n"
			"  workers: ${LBD_T_W}\n" /* plain in block style; quoted in flow style */
			"  max_connections: \"${LBD_T_UNSET:-5}${LBD_T_W}\"\n"
			"defaults: { retries: \"${LBD_T_EMPTY:-3}\" }\n"
			"listeners:\n"
			"  - name: web\n"
			"    bind: 127.0.0.1:${LBD_T_UNSET:-8080}\n"
			"    routes:\n"
			"      - pool: web\n"
			"pools:\n"
			"  - name: web\n"
			"    health_check: { path: \"/a$$b$\" }\n"
			"    servers:\n"
			"      - address: 127.0.0.1:9001\n");

	ck_assert_uint_eq(cfg->global.workers, 7);
	ck_assert_uint_eq(cfg->global.max_connections, 57);
	ck_assert_uint_eq(cfg->retries, 3);
	ck_assert_str_eq(cfg->listeners[0].binds[0].text, "127.0.0.1:8080");
	ck_assert_str_eq(cfg->pools[0].health_check.path, "/a$b$");
	config_unref(cfg);

	/* A value from the environment is text, never YAML. */
	char *got = errors_of_buffer("global: { workers: \"${LBD_T_YAML}\" }\n" VALID,
				     strlen("global: { workers: \"${LBD_T_YAML}\" }\n" VALID));
	ck_assert_str_eq(
		got,
		"bad.yaml:1:20: global.workers: expected auto or an integer from 1 to 256, got \"[1, 2]\"");
	free(got);
	/* Set but empty, without a default: an empty value. */
	got = errors_of_buffer("global: { workers: \"${LBD_T_EMPTY}\" }\n" VALID,
			       strlen("global: { workers: \"${LBD_T_EMPTY}\" }\n" VALID));
	ck_assert_str_eq(
		got,
		"bad.yaml:1:20: global.workers: expected auto or an integer from 1 to 256, got \"\"");
	free(got);
}
END_TEST

START_TEST(test_include_files)
{
	setenv("LBD_TEST_PORT", "9001", 1);
	unsetenv("LBD_TEST_RUN");
	struct config *cfg = load_ok(TESTS_SRCDIR "/configs/good/include/lbd.yaml", NULL);

	ck_assert_uint_eq(cfg->nlisteners, 2);
	ck_assert_str_eq(cfg->listeners[0].name, "web"); /* 10-web.yaml before 20-api.yaml */
	ck_assert_str_eq(cfg->listeners[1].name, "api");
	ck_assert_uint_eq(cfg->npools, 2);
	ck_assert_str_eq(cfg->pools[0].name, "main"); /* the main file's first */
	ck_assert_str_eq(cfg->pools[0].servers[0].addr.text, "127.0.0.1:9001");
	ck_assert_str_eq(cfg->pools[1].name, "api");
	ck_assert_ptr_eq(cfg->listeners[1].routes[0].pool, &cfg->pools[1]);
	ck_assert_uint_eq(cfg->global.workers, 2);
	ck_assert_int_eq(cfg->global.log.level, LOG_LEVEL_DEBUG);
	ck_assert_str_eq(cfg->global.admin.socket, "/run/lbd/admin.sock");
	/* defaults.timeouts merged from two files, inherited by every pool */
	ck_assert_uint_eq(cfg->pools[0].timeouts.connect_ms, 1000);
	ck_assert_uint_eq(cfg->pools[0].timeouts.server_ms, 5000);
	config_unref(cfg);

	setenv("LBD_TEST_RUN", "/tmp/lbd-run", 1);
	cfg = load_ok(TESTS_SRCDIR "/configs/good/include/lbd.yaml", NULL);
	ck_assert_str_eq(cfg->global.admin.socket, "/tmp/lbd-run/admin.sock");
	config_unref(cfg);
	unsetenv("LBD_TEST_RUN");

	char *got = errors_of_file(TESTS_SRCDIR "/configs/bad/include/lbd.yaml");
	ck_assert_str_eq(got, TESTS_SRCDIR "/configs/bad/include/lbd.yaml:6:51: "
					   "pools[0].servers[0].weight: expected an integer from 0 "
					   "to 256, got \"300\"\n" TESTS_SRCDIR
					   "/configs/bad/include/conf.d/10-web.yaml:5:5: "
					   "listeners[0].protocl: unknown key (did you mean "
					   "\"protocol\"?)");
	free(got);
}
END_TEST

/* A directory of small files for the include tests. */
struct tree {
	char dir[64];
	char path[32][128];
	size_t n;
};

static const char *tree_file(struct tree *t, const char *name, const char *text)
{
	char *p = t->path[t->n++], dir[sizeof(t->dir)];
	FILE *f;

	memcpy(dir, t->dir, sizeof(dir));
	snprintf(p, sizeof(t->path[0]), "%s/%s", dir, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static void tree_clean(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		unlink(t->path[i]);
	t->n = 0;
}

/* The errors of loading MAIN (in T) with each "@" in WANT replaced by the
 * directory. */
static void expect_errors(struct tree *t, const char *main, const char *want)
{
	char expected[2048], *got;
	size_t k = 0;

	for (const char *w = want; *w && k + sizeof(t->dir) < sizeof(expected); w++) {
		if (*w == '@')
			k += (size_t)snprintf(expected + k, sizeof(expected) - k, "%s", t->dir);
		else
			expected[k++] = *w;
	}
	expected[k] = '\0';
	got = errors_of_file(main);
	ck_assert_str_eq(got, expected);
	free(got);
	tree_clean(t);
}

START_TEST(test_include_errors)
{
	struct tree t = { .n = 0 };
	const char *main;

	snprintf(t.dir, sizeof(t.dir), "/tmp/lbd-include-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t.dir));

	main = tree_file(&t, "lbd.yaml", "include: [nope.yaml]\n" VALID);
	expect_errors(&t, main,
		      "@/lbd.yaml:1:11: include[0]: @/nope.yaml: cannot open: No such file or "
		      "directory");

	main = tree_file(&t, "lbd.yaml", "global: { workers: 2 }\ninclude: a.yaml\n" VALID);
	tree_file(&t, "a.yaml", "global:\n  log: { level: warn }\n  workers: 3\n");
	expect_errors(&t, main,
		      "@/a.yaml:3:3: global.workers: already set at @/lbd.yaml:1:11 (an included "
		      "file adds to lists, and may not set a key again)");

	main = tree_file(&t, "lbd.yaml", "include: a.yaml\n" VALID);
	tree_file(&t, "a.yaml", "include: [lbd.yaml]\n");
	expect_errors(&t, main,
		      "@/a.yaml:1:11: include[0]: @/lbd.yaml: include cycle: @/lbd.yaml is already "
		      "being read");

	main = tree_file(&t, "lbd.yaml", "include: [a.yaml, \"[a].yaml\"]\n" VALID);
	tree_file(&t, "a.yaml", "# nothing\n");
	expect_errors(&t, main,
		      "@/lbd.yaml:1:19: include[1]: @/a.yaml: included a second time (a file is "
		      "read once)");

	main = tree_file(&t, "lbd.yaml", "include: a.yaml\n" VALID);
	tree_file(&t, "a.yaml", "- listeners\n");
	expect_errors(&t, main,
		      "@/a.yaml:1:1: expected a mapping with keys global, defaults, pools, "
		      "listeners, include, got a list");

	main = tree_file(&t, "lbd.yaml", "include: a.yaml\n" VALID);
	tree_file(&t, "a.yaml", "pools: [\n");
	expect_errors(&t, main,
		      "@/a.yaml:2:1: YAML syntax error: did not find expected node content (while "
		      "parsing a flow node at line 2)");

	main = tree_file(&t, "lbd.yaml", "include: d0.yaml\n" VALID);
	for (int i = 0; i < 10; i++) {
		char name[16], text[32];
		snprintf(name, sizeof(name), "d%d.yaml", i);
		snprintf(text, sizeof(text), "include: d%d.yaml\n", i + 1);
		tree_file(&t, name, text);
	}
	expect_errors(&t, main, "@/d7.yaml:1:10: include: includes nest deeper than 8 files");

	/* an environment variable in a pattern; a listener in an included
	 * file that names a pool of the main one */
	setenv("LBD_T_INC", "sub", 1);
	main = tree_file(&t, "lbd.yaml", "include: ${LBD_T_INC}*.yaml\n" POOLS);
	tree_file(&t, "sub1.yaml", LISTENERS);
	config_unref(load_ok(main, NULL));
	tree_clean(&t);
	rmdir(t.dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_cgroup_quota);
	tcase_add_test(tc, test_token_file);
	tcase_add_test(tc, test_sticky_secret_files);
	tcase_add_test(tc, test_balance_keys);
	tcase_add_test(tc, test_inheritance_values);
	tcase_add_test(tc, test_health_keys);
	tcase_add_test(tc, test_refcount);
	tcase_add_test(tc, test_quoting_does_not_change_values);
	tcase_add_test(tc, test_bounds_accepted);
	tcase_add_test(tc, test_shipped_configs);
	tcase_add_test(tc, test_header_rule_names_and_values);
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_binary_garbage);
	tcase_add_test(tc, test_files);
	tcase_add_test(tc, test_unreadable_file);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_many_errors);
	tcase_add_test(tc, test_error_format);
	tcase_add_test(tc, test_env);
	tcase_add_test(tc, test_include_files);
	tcase_add_test(tc, test_include_errors);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

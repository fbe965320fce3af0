/* config.h — the configuration model: one immutable, reference-counted
 * object per loaded generation of lbd.yaml.
 *
 * A configuration is built completely by config_load() (and bound to runtime
 * state before it is published), then never changed. Every request takes a
 * reference for its whole life, so a reload can build the next generation
 * beside the old one and the old one is freed when its last request ends.
 *
 * Runtime state (health, counters, drain flags) is not here: it lives in
 * runtime.h, keyed by pool + server name, and survives reloads.
 */
#ifndef LBD_CONFIG_H
#define LBD_CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config_error.h"
#include "core/access_log.h"
#include "core/log.h"
#include "tls/tls_conf.h"
#include "util/addr.h"
#include "util/cidr.h"

#define CONFIG_DEFAULT_PATH SYSCONFDIR "/lbd/lbd.yaml"

/* global.admin.socket when the file names none; lbctl's default too. The
 * directory is not created by lbd (systemd's RuntimeDirectory=lbd does). */
#define CONFIG_ADMIN_SOCKET_DEFAULT "/run/lbd/admin.sock"

/* Bounds the validator enforces. */
#define CONFIG_WEIGHT_MAX 256
#define CONFIG_WORKERS_MAX 256
#define CONFIG_RETRIES_MAX 16
#define CONFIG_SLOW_START_MAX_MS (3600ULL * 1000) /* pools[].slow_start */
/* pools[].queue, used when max_requests_per_server is set: the defaults
 * (as HAProxy's `timeout queue` defaults to a few seconds, not forever)
 * and the bounds. */
#define CONFIG_QUEUE_SIZE_DEFAULT 1000
#define CONFIG_QUEUE_SIZE_MAX 1000000
#define CONFIG_QUEUE_TIMEOUT_DEFAULT_MS 5000
#define CONFIG_QUEUE_TIMEOUT_MAX_MS (3600ULL * 1000)
#define CONFIG_NAME_MAX 64 /* listener, pool and server names */

enum listener_protocol {
	PROTO_HTTP,
	PROTO_TCP,
};

/* What a pool's servers speak (pools[].protocol). */
enum pool_protocol {
	POOL_HTTP1, /* HTTP/1.1, pooled keep-alive connections */
	POOL_H2,    /* HTTP/2 (h2c, or ALPN h2 with tls): multiplexed */
};

/* pools[].send_proxy: the PROXY protocol header (HAProxy's) lbd sends
 * first on every connection it opens to a server of the pool. */
enum send_proxy {
	SEND_PROXY_OFF = 0,
	SEND_PROXY_V1 = 1, /* the values are the protocol's versions */
	SEND_PROXY_V2 = 2,
};

enum balance_algo {
	BALANCE_ROUND_ROBIN,
	BALANCE_LEAST_CONN,
	BALANCE_IP_HASH,
	BALANCE_STICKY_COOKIE,
	BALANCE_MAGLEV,
};

/* What a request is keyed by: pools[].hash_key (what ip_hash and maglev
 * hash) and routes[].split_key (what keeps a client on its side); the
 * value is found by http/request_key.h. */
enum request_key_kind {
	REQUEST_KEY_NONE,      /* none named: a hash takes the client address,
				* a split picks at random */
	REQUEST_KEY_CLIENT_IP, /* the client address, as access-logged */
	REQUEST_KEY_URI,       /* the request target: path and query as received */
	REQUEST_KEY_HEADER,    /* the value of header NAME */
	REQUEST_KEY_COOKIE,    /* the value of cookie NAME */
	REQUEST_KEY_QUERY,     /* the raw value of query parameter NAME */
};

struct request_key {
	enum request_key_kind kind;
	char *name; /* HEADER, COOKIE and QUERY; else NULL */
};

#define STICKY_COOKIE_DEFAULT "LBSRV"

/* A key for the sticky cookie's HMAC, as read from lbd.yaml or its file:
 * any bytes (a file may hold binary), never logged or shown, wiped when the
 * configuration is freed. */
struct sticky_secret {
	unsigned char *bytes; /* NULL: none */
	size_t len;
};

#define STICKY_SECRET_MAX 4096

struct sticky_conf {
	char *cookie;               /* cookie name; STICKY_COOKIE_DEFAULT unless set */
	uint64_t max_age_ms;        /* 0: a session cookie */
	enum balance_algo fallback; /* places clients without a valid cookie */
	/* secret or secret_file: cookie values are an HMAC under it (else a
	 * guessable hash); previous_secret(_file): values under it are still
	 * honoured, and replaced, while clients move to the new one. */
	struct sticky_secret secret, previous_secret;
};

struct timeouts_conf {
	uint64_t connect_ms;     /* upstream TCP connect (and TLS handshake) */
	uint64_t header_ms;      /* whole request head (client side) */
	uint64_t client_idle_ms; /* keep-alive idle (client side) */
	uint64_t server_ms;      /* upstream silent while a response is awaited */
	uint64_t tunnel_ms;      /* idle upgraded or TCP tunnel */
	uint64_t drain_ms;       /* longest wait for connections on stop */
};

struct limits_conf {
	uint64_t header_size;     /* whole request head, bytes */
	uint32_t headers;         /* number of header fields */
	uint64_t body_size;       /* 0 = unlimited */
	uint32_t h2_max_streams;  /* HTTP/2 streams in flight per connection */
	uint32_t h2_max_requests; /* HTTP/2 streams per connection, then GOAWAY */
};

#define CONFIG_H2_STREAMS_MAX 1000

enum health_check_type {
	HEALTH_CHECK_HTTP,
	HEALTH_CHECK_TCP,
};

/* Bounds of the health keys (the validator's and the checker's). */
#define HEALTH_INTERVAL_MIN_MS 10
#define HEALTH_RISE_FALL_MAX 100
#define HEALTH_PATH_MAX 1024
#define PASSIVE_MAX_FAILS_MAX 1000
#define PASSIVE_FAIL_TIMEOUT_MIN_MS 100

/* pools[].health_check: active checks, run by health.c on the main thread. */
struct health_check_conf {
	bool enabled; /* the key is written */
	enum health_check_type type;
	char *path; /* http: the request target; "/" unless set */
	char *host; /* http: the Host header; NULL: the server address */
	uint64_t interval_ms;
	uint64_t timeout_ms; /* never above interval_ms */
	uint32_t rise, fall;
	uint16_t expect_lo, expect_hi; /* accepted status codes, inclusive */
};

/* pools[].passive (or defaults.passive): failures seen on live traffic. */
struct passive_conf {
	uint32_t max_fails; /* 0: off */
	uint64_t fail_timeout_ms;
};

/* pools[].queue: requests that found every slot taken wait here, SIZE
 * at most, each TIMEOUT_MS at most. */
struct queue_conf {
	uint32_t size;
	uint64_t timeout_ms;
};

struct server_rt;
struct pool_rt;
struct listener_rt;

/* Where a server comes from (SPEC §7); each origin owns its members. */
enum server_origin {
	ORIGIN_CONFIG, /* the file: in pool->servers, as long as its generation */
	ORIGIN_DNS,    /* discovery: in the daemon's membership, until it drains */
	ORIGIN_API,    /* the admin API: likewise */
};

struct server_conf {
	char *name; /* defaults to the address text */
	struct lbd_addr addr;
	uint32_t weight; /* 0 .. CONFIG_WEIGHT_MAX; 0 takes no new traffic */
	bool backup;
	bool leaving; /* removed at run time: no new request, gone once idle */
	/* Its host name did not resolve when the file was loaded: the server
	 * is down (never picked, never checked) until its name resolves. */
	bool unresolved;
	enum server_origin origin;
	struct server_rt *rt; /* runtime state, bound by config_attach_runtime() */
	/* Set in a copy of the file's entry FILE, published in its place at
	 * the address its host name resolves to now (daemon/static_names.c);
	 * NULL in every other entry. */
	const struct server_conf *file;
};

/* A pool's servers as the balancers see them at one moment: the file's
 * (first, in their order), then those discovery found and those the admin
 * API added, with the algorithm's data for them. Immutable once published
 * in pool->members; replaced whole, the old one freed after a grace period
 * (event/grace.h). A request keeps the struct server_conf it picked, never
 * the snapshot: a server of the file lives as long as the generation, one
 * of the others until it has no request left (daemon/membership.c). */
struct pool_members {
	struct server_conf **servers;
	size_t n;
	void *balancer;                /* the algorithm's data for SERVERS */
	void (*balancer_free)(void *); /* set with it */
};

/* Free M (a struct pool_members, NULL or not) and its balancer data; the
 * servers it points at are not its own. A void * so that it can be handed
 * to a grace period as it is. */
void pool_members_free(void *m);

/* resolvers[]: a DNS resolver discovery may use (SPEC §7). The one named
 * RESOLVER_DEFAULT answers every lookup that names none: pools whose
 * discovery gives no resolver, and servers written as host:port. */
#define RESOLVER_DEFAULT "default"

struct resolver_conf {
	char *name;
	struct lbd_addr *nameservers; /* IP:PORT each */
	size_t nnameservers;
	uint64_t timeout_ms; /* per attempt */
	uint32_t attempts;
};

/* discovery.refresh when unset; also how often, at most, a server of the
 * file written as host:port has its name asked again. */
#define DISCOVERY_REFRESH_DEFAULT_MS 5000

/* pools[].discovery: servers from DNS (SPEC §7). */
struct discovery_conf {
	bool enabled;
	char *dns;               /* "_http._tcp.api.service.consul" (SRV), or a host name */
	bool srv;                /* DNS starts with "_" */
	uint32_t port;           /* A/AAAA: the servers' port (1 to 65535) */
	char *resolver;          /* resolvers[].name; NULL: RESOLVER_DEFAULT's, else the system's */
	uint64_t refresh_ms;     /* at most this long between queries */
	uint64_t hold_ms;        /* a server missing from a valid answer serves this long */
	uint64_t empty_after_ms; /* an empty answer empties the pool only after this */
};

struct pool_conf {
	char *name;
	enum balance_algo balance;
	enum pool_protocol protocol;
	/* Inherited from defaults; a pool may override connect, server and
	 * tunnel timeouts, retries and limits.body_size. The client-side
	 * values (header, client_idle, drain, header_size, headers) apply
	 * before a pool is chosen and are only set under defaults. */
	struct timeouts_conf timeouts;
	uint32_t retries;
	/* pools[].retry_budget: retries by status (routes[].retry_on) may be
	 * at most this share of the pool's requests, in percent
	 * (core/retry_budget.h) */
	uint32_t retry_budget;
	struct limits_conf limits;
	struct server_conf *servers;
	size_t nservers;
	struct pool_rt *rt; /* runtime state, bound by config_attach_runtime() */
	/* The servers and the algorithm's data, built by balance_build(): the
	 * one thing of a generation that changes once it is published,
	 * replaced when a runtime weight or the membership changes
	 * (balance_rebuild(), balance_publish()). */
	struct pool_members *_Atomic members;
	struct request_key hash_key; /* ip_hash, maglev, and sticky_cookie's fallback */
	struct sticky_conf sticky;   /* sticky_cookie */
	struct health_check_conf health_check;
	struct passive_conf passive; /* inherited from defaults.passive */
	uint64_t slow_start_ms;      /* pools[].slow_start; 0: off */
	/* Requests in flight per server at most (0: no cap); the others wait
	 * in the queue (core/pool_queue.h). */
	uint32_t max_requests_per_server;
	struct queue_conf queue;
	struct discovery_conf discovery;
	bool has_hash_key, has_sticky; /* written in the file (misuse checks) */
	bool has_queue;
	struct pool_tls_conf tls; /* TLS to the servers when tls.enabled */
	/* A connection to a server then belongs to one client connection:
	 * an idle one is reused only for the same one (http_upstream.c). */
	enum send_proxy send_proxy;
};

/* routes[].rate_limit: COUNT requests per PERIOD_MS per key, BURST at
 * once (GCRA, core/rate_limit.h). */
struct rate_limit_conf {
	bool enabled;
	char *header;        /* key: header:NAME; NULL: the client address */
	uint64_t count;      /* rate: COUNT/s or COUNT/m */
	uint64_t period_ms;  /* 1000 or 60000 */
	uint32_t burst;      /* default: COUNT */
	uint32_t table_size; /* slots of the key table */
};

/* routes[].redirect: lbd answers itself, sending the client to TO
 * followed by the request's path and query. */
struct redirect_conf {
	char *to;        /* NULL: no redirect */
	uint32_t status; /* 301, 302, 303, 307 or 308 */
};

/* One field a route sets: NAME (as written) and its value, in which
 * ${client_ip}, ${request_id} and ${server} (responses only) stand for the
 * request's (http/header_rules.h). */
struct header_set {
	char *name;
	char *value;
};

/* routes[].request_headers and response_headers: set replaces every
 * field of its name, remove drops them. */
struct header_rules {
	struct header_set *set;
	size_t nset;
	char **remove;
	size_t nremove;
};

/* One condition of match.headers or match.query: NAME present with
 * exactly VALUE. */
struct match_pair {
	char *name;
	char *value;
};

/* One side of a route's split: POOL takes WEIGHT parts of the requests. */
struct split_side {
	struct pool_conf *pool; /* points into config.pools */
	uint32_t weight;
};

/* routes[].split and split_key: instead of pool, requests go to one of
 * the sides, a key's hash choosing it stably (http/route.h). */
struct split_conf {
	struct split_side *sides; /* NULL: the route has no split */
	size_t nsides;
	uint64_t total;         /* the sum of the weights: > 0 */
	struct request_key key; /* a request without it: a random side */
};

/* routes[].retry_on: the server statuses (RETRY_ON_FIRST to
 * RETRY_ON_LAST) on which an idempotent request without a body goes to
 * another server of the pool. 502 also stands for a connection the server
 * closed before answering, 504 for timeouts.server passing before the
 * first byte of the answer. */
#define RETRY_ON_FIRST 500
#define RETRY_ON_LAST 599
struct retry_on_conf {
	uint64_t bits[2]; /* bit (status - RETRY_ON_FIRST) */
};

static inline bool retry_on_has(const struct retry_on_conf *r, int status)
{
	if (status < RETRY_ON_FIRST || status > RETRY_ON_LAST)
		return false;
	unsigned i = (unsigned)(status - RETRY_ON_FIRST);
	return (r->bits[i / 64] >> (i % 64)) & 1;
}

static inline bool retry_on_any(const struct retry_on_conf *r)
{
	return r->bits[0] || r->bits[1];
}

/* listeners[] and routes[] allow / deny: which client addresses (the
 * exchange's, after trusted proxies and PROXY headers) may be served. */
struct access_rules {
	struct cidr *allow; /* none: every address not denied */
	size_t nallow;
	struct cidr *deny;
	size_t ndeny;
};

struct route_conf {
	char *host;        /* NULL: any; "*.example.com": any subdomain */
	char *path_prefix; /* NULL: any */
	char *path;        /* NULL: any; else the whole path, query aside */
	char **methods;    /* NULL: any; else one of these (upper case) */
	size_t nmethods;
	struct match_pair *headers; /* every one must hold (names: any case) */
	size_t nheaders;
	struct match_pair *query; /* every one must hold (raw, not decoded) */
	size_t nquery;
	bool strip_prefix;      /* the server gets the path without PATH_PREFIX */
	bool restore_prefix;    /* with strip_prefix: responses' Location and
				 * Set-Cookie get it back (default true;
				 * http/prefix_rewrite.h) */
	struct pool_conf *pool; /* points into config.pools; NULL with a redirect
				 * or a split */
	struct split_conf split;
	struct redirect_conf redirect;
	struct rate_limit_conf rate_limit;
	/* The key table while rate_limit.enabled, bound by
	 * config_attach_runtime() (shared with the previous generation when
	 * the rule is the same). */
	struct rate_limit_rt *limiter;
	struct header_rules request_headers; /* after lbd's own X-Forwarded-* */
	struct header_rules response_headers;
	struct access_rules access; /* checked after the listener's */
	/* connect_ms and server_ms only; 0: the pool's (exchange.c) */
	struct timeouts_conf timeouts;
	struct retry_on_conf retry_on;
};

/* Free the match conditions of R beyond host and path_prefix (config_unref
 * does it for every route). */
void route_match_free(struct route_conf *r);

/* Free what RULES holds (config_unref does it for every route). */
void header_rules_free(struct header_rules *rules);

/* listeners[].errors: a body for one of lbd's own answers. */
#define ERROR_PAGE_MAX (64 * 1024)
struct error_page {
	int status;
	char *body; /* the file's bytes, read at load */
	size_t len;
	const char *type; /* Content-Type: text/html or text/plain (static) */
};

/* listeners[].compression: gzip for the responses of these media types
 * (http/compress.h decides per response). */
struct compression_conf {
	bool enabled;
	char **types; /* lower case; "text/" then "*" takes a whole type */
	size_t ntypes;
	uint64_t min_size; /* a Content-Length below it is sent as it is */
	uint32_t level;    /* zlib's 1 (fastest) .. 9 (smallest) */
};

#define COMPRESSION_MIN_SIZE_DEFAULT 1024
#define COMPRESSION_LEVEL_DEFAULT 1
#define COMPRESSION_TYPE_MAX 127

struct listener_conf {
	char *name;
	struct lbd_addr *binds;
	size_t nbinds;
	enum listener_protocol protocol;
	bool proxy_protocol;           /* connections start with a PROXY v1/v2 header */
	bool share_port;               /* another lbd may bind the same TCP addresses */
	bool http2;                    /* http: ALPN h2 with TLS, h2c prior
					* knowledge without */
	struct listener_tls_conf *tls; /* NULL: plain TCP */
	struct cidr *trusted;          /* peers whose X-Forwarded-For names the client */
	size_t ntrusted;
	struct access_rules access; /* checked before routing */
	struct error_page *errors;  /* NULL: lbd's short text answers */
	size_t nerrors;
	struct compression_conf compression;
	struct route_conf *routes; /* tcp: exactly one, with no match */
	size_t nroutes;
	struct listener_rt *rt; /* runtime state, bound by config_attach_runtime() */
};

/* L's page for STATUS, or NULL (L may be NULL: a listener a reload
 * removed). */
const struct error_page *listener_error_page(const struct listener_conf *l, int status);

/* Free L's error pages (config_unref does it). */
void error_pages_free(struct listener_conf *l);
/* Free C's media types (config_unref does it). */
void compression_conf_free(struct compression_conf *c);

struct global_conf {
	uint32_t workers; /* resolved: "auto" becomes the usable CPUs (cpus.h) */
	uint32_t max_connections;
	char *user;                 /* NULL: keep the starting user */
	char *group;                /* NULL: the user's primary group */
	bool watch_config;          /* reload when the file or an included one changes */
	uint64_t shutdown_delay_ms; /* accept this long after SIGTERM, /healthz failing */
	char *state_file;           /* servers added at run time; NULL: not kept */
	struct {
		char *socket;           /* path of the admin UNIX socket; NULL: off */
		struct lbd_addr listen; /* TCP admin listener when has_listen */
		bool has_listen;
		char *token_file; /* NULL: changes over TCP are refused */
		char *token;      /* its content, read at load (trailing white space cut) */
		size_t token_len;
	} admin;
	struct {
		struct lbd_addr listen; /* /metrics, /healthz, /livez only */
		bool has_listen;
	} metrics;
	struct {
		enum log_level level;
		char *access; /* "stdout", "off" or a file path */
		enum access_format format;
	} log;
};

struct config {
	atomic_uint refs;
	uint64_t generation; /* set by whoever publishes it; 0 until then */
	char *path;
	/* What it was read from, for global.watch_config: PATH, then every
	 * include pattern (resolved, maybe with wildcards), then every included
	 * file. */
	char **sources;
	size_t nsources;
	struct global_conf global;
	struct timeouts_conf timeouts; /* defaults.timeouts */
	uint32_t retries;              /* defaults.retries */
	struct limits_conf limits;     /* defaults.limits */
	struct passive_conf passive;   /* defaults.passive */
	struct listener_conf *listeners;
	size_t nlisteners;
	struct pool_conf *pools;
	size_t npools;
	struct resolver_conf *resolvers;
	size_t nresolvers;
};

/* Read, parse and validate PATH. Returns a configuration with one
 * reference, or NULL with every problem found appended to ERRS. */
struct config *config_load(const char *path, struct config_errors *errs);

/* The same from a buffer; FILE_NAME is used in error messages only. */
struct config *config_load_buffer(const char *file_name, const char *data, size_t len,
				  struct config_errors *errs);

/* What a start would need besides a valid file, checked by `lbd -t`
 * without binding or creating anything: the directories of the admin
 * socket and of the access log exist and are writable (an existing access
 * log file is). Returns 0, or -1 with every problem appended to ERRS. */
int config_check_environment(const struct config *cfg, struct config_errors *errs);

/* Whether S, a server of the file, is written with a host name that lbd
 * follows after the load (discovery asks it again as its TTL says): a
 * name with a dot. A single label (localhost, a short name) is
 * /etc/hosts' or the search list's, which lbd's resolver never reads, and
 * a name starting with '_' would be asked as an SRV name: those keep the
 * load's address until a reload. HOST (LEN bytes) and PORT get the name
 * and the port. */
bool config_server_followed(const struct server_conf *s, char *host, size_t len, unsigned *port);

/* Each server of the file whose host name did not resolve at load
 * (server_conf.unresolved), as one sentence for a warning ("pool P: server
 * S: HOST does not resolve; ..."), given to FN. Returns how many. */
size_t config_unresolved_servers(const struct config *cfg, void (*fn)(void *arg, const char *msg),
				 void *arg);

/* Give CFG its generation number once it is ready to serve; it then counts
 * as live until it is freed. */
void config_publish(struct config *cfg, uint64_t generation);
unsigned config_live_generations(void);

struct config *config_ref(struct config *cfg);
/* Wipe and free a secret's bytes (config_unref does it for every pool). */
void config_secret_clear(struct sticky_secret *s);
void config_unref(struct config *cfg);

/* NULL when absent. */
struct pool_conf *config_find_pool(const struct config *cfg, const char *name);

/* SERVER's index among POOL's servers (a server of its file, or a copy of
 * one): how tls_upstream.h knows a server. */
static inline size_t config_server_index(const struct pool_conf *pool,
					 const struct server_conf *server)
{
	return (size_t)((server->file ? server->file : server) - pool->servers);
}

#endif

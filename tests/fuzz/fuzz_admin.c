/* fuzz_admin.c — libFuzzer target for the admin API request handler: bytes
 * on an admin connection, served by admin.c as lbd serves them (evhttp with
 * its bounds, path and method dispatch, weight bodies, the status document)
 * over a fake daemon (daemon.h) whose reloads finish at once.
 *
 * Input: one byte that says how reloads end (accepted, rejected with
 * errors, refused as busy) and whether lbd is stopping, then the bytes a
 * client sends before it half-closes. Every input must end the connection
 * with nothing but HTTP responses sent, and leave every runtime weight one
 * that a request may set. The admin socket is a UNIX socket in /tmp,
 * made once per process. `make fuzz-admin` runs it.
 */
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "balance/balance.h"
#include "config/config.h"
#include "config/config_runtime.h"
#include "core/log.h"
#include "core/runtime.h"
#include "daemon/admin.h"
#include "daemon/daemon.h"
#include "daemon/membership.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* --- the fake daemon ------------------------------------------------------ */

enum { RELOAD_OK, RELOAD_REJECTED, RELOAD_BUSY };

struct daemon {
	struct event_base *base;
	struct config *cfg;
	bool stopping;
	int reload; /* how the next reload ends */
	uint64_t generation;
	reload_done_fn done; /* a reload under way */
	void *done_arg;
};

static struct daemon fake;
static struct admin *admin;
static char socket_path[108];

static void finish_reload(evutil_socket_t fd, short what, void *arg)
{
	struct reload_result r = { .ok = fake.reload == RELOAD_OK };
	reload_done_fn done = fake.done;

	if (r.ok)
		r.generation = ++fake.generation;
	else
		r.errors = "fuzz.yaml:1:1: rejected\n\nfuzz.yaml:2:3: \"quoted\" \\ and \x01\n";
	fake.done = NULL;
	done(fake.done_arg, &r);
}

int daemon_reload(struct daemon *d, reload_done_fn done, void *arg)
{
	if (d->stopping || d->reload == RELOAD_BUSY || d->done)
		return -1;
	d->done = done;
	d->done_arg = arg;
	/* Like lbd's, the answer comes later, from the event loop. */
	return event_base_once(d->base, -1, EV_TIMEOUT, finish_reload, NULL, NULL);
}

int daemon_set_weight(struct daemon *d, const char *pool, struct server_rt *rt, int weight)
{
	atomic_store(&rt->weight_override, weight);
	return 0;
}

/* Upgrades: the fake has none to start. */
int daemon_upgrade(struct daemon *d, const char *binary, upgrade_done_fn done, void *arg,
		   const char **why)
{
	*why = "no upgrade in this test";
	return -1;
}

/* Runtime members: the fake keeps none; each call says why it did nothing,
 * as the real one does for a pool it does not know. */
int daemon_member_add(struct daemon *d, const char *pool, const struct member_spec *spec, char *why,
		      size_t len)
{
	snprintf(why, len, "no pool named %s", pool);
	return MEMBER_NO_POOL;
}

int daemon_member_set(struct daemon *d, const char *pool, const struct member_spec *spec, char *why,
		      size_t len)
{
	snprintf(why, len, "no pool named %s", pool);
	return MEMBER_NO_POOL;
}

int daemon_member_remove(struct daemon *d, const char *pool, const char *name, char *why,
			 size_t len)
{
	snprintf(why, len, "no pool named %s", pool);
	return MEMBER_NO_POOL;
}

uint64_t daemon_discovery_stale_ms(const struct daemon *d, const char *pool)
{
	return 0;
}

const struct config *daemon_config(const struct daemon *d)
{
	return d->cfg;
}

unsigned daemon_live_generations(void)
{
	return 1;
}

uint64_t daemon_uptime_s(const struct daemon *d)
{
	return 42;
}

bool daemon_stopping(const struct daemon *d)
{
	return d->stopping;
}

void daemon_stop(struct daemon *d, const char *why)
{
	d->stopping = true;
}

unsigned daemon_listener_connections(const struct daemon *d, const char *name)
{
	return 3;
}

void daemon_counters(const struct daemon *d, struct daemon_counters *out)
{
	*out = (struct daemon_counters){ .reloads_ok = 1,
					 .last_reload_ok = true,
					 .started_at = 1,
					 .connections = 3,
					 .max_connections = 100 };
}

struct event_base *daemon_base(struct daemon *d)
{
	return d->base;
}

/* --- set-up, once a process ----------------------------------------------- */

static void remove_socket(void)
{
	admin_free(admin); /* unlinks the socket file */
	admin = NULL;
}

static int setup(void)
{
	char yaml[512], err[256];
	struct config_errors errs;

	snprintf(socket_path, sizeof(socket_path), "/tmp/lbd-fuzz-admin-%ld.sock", (long)getpid());
	snprintf(yaml, sizeof(yaml),
		 "global: { admin: { socket: \"%s\" } }\n"
		 "listeners:\n"
		 "  - { name: web, bind: [127.0.0.1:8080], routes: [{ pool: api }] }\n"
		 "pools:\n"
		 "  - name: api\n"
		 "    servers:\n"
		 "      - { name: a, address: 127.0.0.1:9001, weight: 2 }\n"
		 "      - { address: \"127.0.0.1:9002\", backup: true }\n"
		 "  - name: web.v2\n"
		 "    servers: [{ name: \"10.0.0.1:80/x\", address: 127.0.0.1:9003 }]\n",
		 socket_path);
	log_set_level(LOG_LEVEL_ERROR);
	config_errors_init(&errs);
	fake.cfg = config_load_buffer("fuzz.yaml", yaml, strlen(yaml), &errs);
	for (size_t i = 0; i < errs.count; i++) {
		char line[256];
		config_error_format(&errs.items[i], line, sizeof(line));
		fprintf(stderr, "fuzz_admin: %s\n", line);
	}
	config_errors_free(&errs);
	fake.base = event_base_new();
	if (!fake.cfg || !fake.base || config_attach_runtime(fake.cfg) != 0 ||
	    balance_build(fake.cfg) != 0)
		abort();
	unlink(socket_path);
	admin = admin_start(&fake, fake.cfg, NULL, err, sizeof(err));
	if (!admin) {
		fprintf(stderr, "fuzz_admin: %s\n", err);
		abort();
	}
	atexit(remove_socket);
	return 0;
}

/* --- one input ------------------------------------------------------------- */

static int connect_admin(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	memcpy(sun.sun_path, socket_path, strlen(socket_path) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		abort();
	return fd;
}

static void reset_servers(void)
{
	for (size_t p = 0; p < fake.cfg->npools; p++)
		for (size_t s = 0; s < fake.cfg->pools[p].nservers; s++) {
			struct server_rt *rt = fake.cfg->pools[p].servers[s].rt;
			atomic_store(&rt->state, SERVER_UP);
			atomic_store(&rt->weight_override, -1);
		}
}

/* A runtime weight is cleared (-1) or one a request may set. */
static bool weights_valid(void)
{
	for (size_t p = 0; p < fake.cfg->npools; p++)
		for (size_t s = 0; s < fake.cfg->pools[p].nservers; s++) {
			int w = atomic_load(&fake.cfg->pools[p].servers[s].rt->weight_override);
			if (w < -1 || w > CONFIG_WEIGHT_MAX)
				return false;
		}
	return true;
}

/* What came back: HTTP responses only. evhttp answers with the version
 * the request named, whatever it was ("HTTP/1.81 404 Not Found"; a minor
 * version too big for its char comes back as "HTTP/1.-1"). */
static void check_answer(const char *out, size_t len)
{
	size_t i = 5;

	if (!len)
		return;
	if (len < 5 || memcmp(out, "HTTP/", 5) != 0)
		abort();
	while (i < len && (isdigit((unsigned char)out[i]) || out[i] == '.' || out[i] == '-'))
		i++;
	if (i + 4 > len || out[i] != ' ' || !isdigit((unsigned char)out[i + 1]))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[256 * 1024];
	size_t out_len = 0, sent = 0;
	bool half_closed = false, eof = false;

	if (!admin && setup() != 0)
		return 0;
	if (size < 1)
		return 0;
	fake.reload = data[0] % 3;
	fake.stopping = data[0] & 4;
	reset_servers();

	int fd = connect_admin();
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	/* Bounded: evhttp answers and closes well within this many turns;
	 * running out of them is a connection left hanging. */
	for (int turn = 0; turn < 100000 && !eof; turn++) {
		if (sent < len) {
			ssize_t n = send(fd, in + sent, len - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				sent = len; /* the server closed early */
		}
		if (sent == len && !half_closed) {
			shutdown(fd, SHUT_WR);
			half_closed = true;
		}
		event_base_loop(fake.base, EVLOOP_NONBLOCK);
		for (;;) {
			char buf[4096];
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			if (n > 0) {
				size_t keep = (size_t)n;
				if (keep > sizeof(out) - out_len)
					abort(); /* answers beyond any bound */
				memcpy(out + out_len, buf, keep);
				out_len += keep;
				continue;
			}
			if (n == 0 || (errno != EAGAIN && errno != EINTR))
				eof = true;
			break;
		}
	}
	close(fd);
	if (!eof)
		abort(); /* the admin API never ended the connection */
	/* A reload still under way answers its request into a closed socket;
	 * let it finish so the next input starts clean. */
	while (fake.done)
		event_base_loop(fake.base, EVLOOP_ONCE);
	event_base_loop(fake.base, EVLOOP_NONBLOCK);
	if (getenv("FUZZ_ADMIN_SHOW")) /* to see what the corpus drives */
		fwrite(out, 1, out_len, stderr);
	check_answer(out, out_len);
	if (!weights_valid())
		abort(); /* a weight no request could set */
	return 0;
}

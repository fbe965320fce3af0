/* health.h — active and passive health of servers.
 *
 * Active checks run once per server, on the main thread's event loop (not
 * once per worker): an http check sends GET path with Connection: close and
 * compares the status with expect, a tcp check only connects. Checks of a
 * pool with tls do the TLS handshake first, with the pool's settings of the
 * newest generation (a failed verification fails the check). Results go to
 * the server's struct health_rt (runtime state, kept across reloads), which
 * the balancers read through server_rt_available(). Passive checks count
 * failures that workers see on live traffic (counted by event/peer.c).
 *
 * The read API at the end (health_server_info, health_last_text) is what
 * /status, lbctl and metrics output use to show check results.
 */
#ifndef LBD_HEALTH_H
#define LBD_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/health_state.h"

struct config;
struct event_base;
struct server_rt;

struct health;

/* The checker of the main loop BASE; NULL when out of memory. */
struct health *health_new(struct event_base *base);

/* Check the servers of CFG, the newest generation: a server that stays with
 * the same settings keeps its schedule, one whose settings changed is
 * rescheduled, a new one gets its first check within one interval (it
 * starts up), a server no longer checked stops being checked and no longer
 * counts as down by checks. Health state is never reset. Main thread only.
 * Returns 0, or -1 when out of memory (checks of some servers are missing,
 * said in the log). */
int health_apply(struct health *h, const struct config *cfg);

/* Stop every check. Main thread, before runtime_shutdown(). */
void health_free(struct health *h);

/* --- read API ------------------------------------------------------------ */

enum health_check_status {
	HEALTH_CHECK_NONE,    /* the pool has no health_check */
	HEALTH_CHECK_PASSING, /* up by active checks */
	HEALTH_CHECK_FAILING, /* down: fall checks failed in a row */
};

struct health_info {
	enum health_check_status status;
	bool up;                  /* health lets it take requests (active and passive) */
	bool passive_out;         /* out after passive failures */
	uint64_t passive_left_ms; /* while passive_out: until it is back */
	uint64_t passive_trips;   /* times passive checks took it out */
	enum health_result last_result;
	int last_code;    /* HTTP status; errno for HEALTH_RESULT_ERROR
			   * (negated: after the connect); the kind of
			   * failure for HEALTH_RESULT_TLS */
	int last_detail;  /* HEALTH_RESULT_TLS: its number */
	unsigned last_ms; /* duration of the last check */
	bool last_ok;
	unsigned ok_run, fail_run; /* consecutive passing / failing checks */
	uint64_t checks, checks_failed;
	bool changed;            /* the checks' verdict changed since lbd started */
	uint64_t changed_ago_ms; /* if so, how long ago */
};

/* A snapshot of RT's health (any thread). */
void health_server_info(const struct server_rt *rt, struct health_info *out);

/* "passing", "failing" or "none". */
const char *health_check_status_name(enum health_check_status s);

/* The kind of the last result, for labels: "none", "status", "connected",
 * "error", "timeout", "closed", "bad" or "tls". */
const char *health_result_name(enum health_result r);

/* The last check for people: "200 in 3ms", "status 500 in 2ms", "connected
 * in 1ms", "timeout after 1s", "connect: Connection refused", "closed before
 * the status line", "not an HTTP response", "TLS handshake failed:
 * certificate verify failed: ..."; "" when no check ran. */
void health_last_text(const struct health_info *info, char *buf, size_t len);

#endif

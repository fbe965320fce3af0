/* health_state.h — the health of one server as runtime state, and the pure
 * rules that change it: the expect range, the status line of a check
 * response, the rise/fall state machine and the passive failure window.
 *
 * struct health_rt sits inside struct server_rt (runtime.h), so it is keyed
 * by identity and survives reloads. Active-check fields are written by the
 * main thread only (health.c); the passive fields are updated by every
 * worker thread with atomics, never a lock. Everything here is free of
 * libevent so that it can be unit tested alone.
 */
#ifndef LBD_HEALTH_STATE_H
#define LBD_HEALTH_STATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* What the last active check found. */
enum health_result {
	HEALTH_RESULT_NONE,      /* no check ran yet */
	HEALTH_RESULT_STATUS,    /* http: a status line (code in last_code) */
	HEALTH_RESULT_CONNECTED, /* tcp: the connect succeeded */
	HEALTH_RESULT_ERROR,     /* connect or I/O error (errno in last_code) */
	HEALTH_RESULT_TIMEOUT,   /* no answer within timeout */
	HEALTH_RESULT_CLOSED,    /* the server closed before a status line */
	HEALTH_RESULT_BAD,       /* not an HTTP status line */
	HEALTH_RESULT_TLS,       /* TLS failed: enum tls_failure_kind in last_code,
				  * its number in last_detail (tls_upstream.h) */
};

struct health_rt {
	/* Active checks (main thread writes, anyone reads). */
	atomic_bool checked;          /* the server's pool has health_check */
	atomic_bool down;             /* failed `fall` checks in a row */
	atomic_uint ok_run, fail_run; /* consecutive passing / failing checks */
	atomic_uint_fast64_t checks, checks_failed;
	atomic_int last_result; /* enum health_result */
	atomic_int last_code;   /* status code, or errno */
	atomic_int last_detail; /* HEALTH_RESULT_TLS: what went wrong */
	atomic_uint last_ms;    /* how long the last check took */
	atomic_bool last_ok;
	/* health_now_ms() when the checks last took the server out or let it
	 * back in; 0: never since lbd started. */
	atomic_uint_fast64_t changed_ms;

	/* Passive: failures on live traffic (every worker). */
	atomic_uint_fast64_t passive_until_ms; /* health_now_ms(); 0: not out */
	atomic_uint_fast64_t window_start_ms;
	atomic_uint window_fails;
	atomic_uint_fast64_t passive_trips;
};

/* Milliseconds on the monotonic clock; never 0. */
static inline uint64_t health_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1;
}

/* Whether health lets the server take requests: not down by checks and not
 * out after passive failures. A relaxed load or two; the clock is read only
 * while the server is passively out. */
static inline bool health_rt_up(const struct health_rt *h)
{
	if (atomic_load_explicit(&h->down, memory_order_relaxed))
		return false;
	uint64_t until = atomic_load_explicit(&h->passive_until_ms, memory_order_relaxed);
	return until == 0 || health_now_ms() >= until;
}

/* Parse an expect value: "200" or "200-399", codes 100..599, low <= high.
 * Returns 0, or -1 when S is anything else. */
int health_expect_parse(const char *s, uint16_t *lo, uint16_t *hi);

/* Find the status code in the first bytes of a response. Returns 1 with
 * *CODE set, 0 when more bytes are needed, -1 when it is not an HTTP/1.x
 * status line (or no line end came within LEN >= HEALTH_STATUS_LINE_MAX). */
#define HEALTH_STATUS_LINE_MAX 256
int health_status_line(const char *buf, size_t len, int *code);

/* The rise/fall machine, on plain values (the caller loads and stores the
 * atomics). A passing check while down counts toward rise, a failing one
 * while up toward fall; the other run resets. */
struct health_sm {
	bool down;
	unsigned ok_run, fail_run;
};
enum health_transition {
	HEALTH_STAY,
	HEALTH_WENT_DOWN,
	HEALTH_WENT_UP,
};
enum health_transition health_sm_step(struct health_sm *sm, bool ok, unsigned rise, unsigned fall);

/* Count one passive failure at NOW (ms). The window opens at the first
 * failure and lasts FAIL_TIMEOUT_MS; the MAX_FAILS-th failure inside it
 * takes the server out until NOW + FAIL_TIMEOUT_MS. Lock-free: workers
 * call it concurrently. Returns true to exactly one caller, the one whose
 * failure took the server out. */
bool health_passive_note(struct health_rt *h, unsigned max_fails, uint64_t fail_timeout_ms,
			 uint64_t now);

/* Bring a passively-out server back (a passing check, or its time passed
 * as seen at NOW; NOW 0 brings it back whatever the time). Returns true
 * when this call did it. */
bool health_passive_clear(struct health_rt *h, uint64_t now);

/* Bumped on every change that takes a server out (health, or the admin
 * API's drain and disable); workers compare it with what they saw to close
 * idle connections to servers that went. */
uint64_t health_down_epoch(void);
void health_down_epoch_bump(void);

#endif

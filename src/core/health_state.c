/* health_state.c — the pure rules of server health: expect ranges, check
 * status lines, rise/fall and the passive failure window. */
#include "core/health_state.h"

#include <string.h>

static atomic_uint_fast64_t down_epoch;

/* Three digits, 100..599. Returns the code, or -1. */
static int status_code(const char *s)
{
	if (s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9')
		return -1;
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

int health_expect_parse(const char *s, uint16_t *lo, uint16_t *hi)
{
	size_t len = strlen(s);
	int a, b;

	if (len == 3) {
		a = b = status_code(s);
	} else if (len == 7 && s[3] == '-') {
		a = status_code(s);
		b = status_code(s + 4);
	} else {
		return -1;
	}
	if (a < 0 || b < 0 || a > b)
		return -1;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

/* "HTTP/1.x NNN" then a space or the line end (the reason may be empty). */
int health_status_line(const char *buf, size_t len, int *code)
{
	static const char proto[] = "HTTP/1.";
	const char *eol = memchr(buf, '\n', len);
	size_t line = eol ? (size_t)(eol - buf) : len;

	if (line > 0 && eol && buf[line - 1] == '\r')
		line--;
	/* Reject as early as the bytes allow: no waiting for a line end from
	 * something that is not HTTP. */
	size_t n = line < sizeof(proto) - 1 ? line : sizeof(proto) - 1;
	if (memcmp(buf, proto, n) != 0)
		return -1;
	if (!eol)
		return len >= HEALTH_STATUS_LINE_MAX ? -1 : 0;
	if (line < 12 || buf[7] < '0' || buf[7] > '9' || buf[8] != ' ' ||
	    (line > 12 && buf[12] != ' '))
		return -1;
	int c = status_code(buf + 9);
	if (c < 0)
		return -1;
	*code = c;
	return 1;
}

enum health_transition health_sm_step(struct health_sm *sm, bool ok, unsigned rise, unsigned fall)
{
	if (ok) {
		sm->fail_run = 0;
		if (sm->ok_run < UINT32_MAX)
			sm->ok_run++;
		if (sm->down && sm->ok_run >= rise) {
			sm->down = false;
			return HEALTH_WENT_UP;
		}
		return HEALTH_STAY;
	}
	sm->ok_run = 0;
	if (sm->fail_run < UINT32_MAX)
		sm->fail_run++;
	if (!sm->down && sm->fail_run >= fall) {
		sm->down = true;
		return HEALTH_WENT_DOWN;
	}
	return HEALTH_STAY;
}

bool health_passive_note(struct health_rt *h, unsigned max_fails, uint64_t fail_timeout_ms,
			 uint64_t now)
{
	uint64_t start = atomic_load(&h->window_start_ms);

	if (max_fails == 0)
		return false;
	/* Already out: nothing more to count until it is back. */
	uint64_t until = atomic_load(&h->passive_until_ms);
	if (until != 0 && now < until)
		return false;
	if (start == 0 || now - start >= fail_timeout_ms) {
		/* A new window; of several workers racing here one opens it and
		 * the others count in it. */
		if (atomic_compare_exchange_strong(&h->window_start_ms, &start, now))
			atomic_store(&h->window_fails, 0);
	}
	unsigned n = atomic_fetch_add(&h->window_fails, 1) + 1;
	if (n < max_fails)
		return false;
	/* The limit: the caller that moves passive_until forward wins. */
	if (!atomic_compare_exchange_strong(&h->passive_until_ms, &until, now + fail_timeout_ms))
		return false;
	atomic_store(&h->window_start_ms, 0);
	atomic_store(&h->window_fails, 0);
	atomic_fetch_add(&h->passive_trips, 1);
	health_down_epoch_bump();
	return true;
}

bool health_passive_clear(struct health_rt *h, uint64_t now)
{
	uint64_t until = atomic_load(&h->passive_until_ms);

	if (until == 0 || (now != 0 && now < until))
		return false;
	return atomic_compare_exchange_strong(&h->passive_until_ms, &until, 0);
}

uint64_t health_down_epoch(void)
{
	return atomic_load_explicit(&down_epoch, memory_order_acquire);
}

void health_down_epoch_bump(void)
{
	atomic_fetch_add_explicit(&down_epoch, 1, memory_order_release);
}

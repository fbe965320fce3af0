/* deadline.h — a deadline that moves on every request, on one timer that
 * is rarely re-armed.
 *
 * A keep-alive connection moves its deadline several times per request
 * (the header timeout when a request starts, none while it is served, the
 * idle timeout after it), and an event_add() or event_del() each time costs
 * the base lock and a heap update. A deadline only records when it expires;
 * its timer may fire early and is then re-armed for the rest of the time,
 * so the timer is armed anew only when the deadline comes before it (or
 * none is pending). With a header timeout shorter than the idle one, a busy
 * connection re-arms about once per header timeout instead of three times
 * per request. (io_reader keeps its read timeout the same way: io.h.)
 */
#ifndef LBD_DEADLINE_H
#define LBD_DEADLINE_H

#include <stdint.h>

struct event;
struct event_base;

typedef void (*deadline_fn)(void *arg);

struct deadline {
	struct event *timer;
	uint64_t at;       /* monotonic_us() it expires at; 0: none */
	uint64_t timer_at; /* when the timer fires; 0: not pending */
	deadline_fn expired;
	void *arg;
};

/* EXPIRED(ARG) is called once the deadline passes (and it is cleared then).
 * Returns 0, or -1 without memory for the timer. */
int deadline_init(struct deadline *d, struct event_base *base, deadline_fn expired, void *arg);
/* Expire MS milliseconds from now, whatever was set before. */
void deadline_set_ms(struct deadline *d, uint64_t ms);
/* No deadline: a pending timer finds nothing to do when it fires. */
void deadline_clear(struct deadline *d);
void deadline_free(struct deadline *d);

#endif

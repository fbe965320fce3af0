/* deadline.h — the deadlines of a worker's connections, on one timer.
 *
 * A keep-alive connection moves its deadline several times per request
 * (the header timeout when a request starts, none while it is served, the
 * idle timeout after it). A timer per connection costs an event object
 * (some 150 bytes on each idle connection) and an event_add() or
 * event_del() per move. Here a deadline is a list entry: deadlines of one
 * duration are kept in one list, in the order they were set, which is the
 * order they expire in, so setting one appends it and clearing one unlinks
 * it. One timer per worker fires at the earliest head; it is re-armed only
 * when a deadline comes before the time it is armed for.
 *
 * (io_reader keeps its read timeout with a timer of its own, made only
 * when a request body is read: io.h.)
 */
#ifndef LBD_DEADLINE_H
#define LBD_DEADLINE_H

#include <stdint.h>
#include <sys/queue.h>

struct event;
struct event_base;

/* Distinct durations kept in lists of their own; further ones share the
 * last list, in order of expiry (then setting one walks that list). */
#define DEADLINE_LISTS 8

struct deadline;
typedef void (*deadline_fn)(void *arg);

TAILQ_HEAD(deadline_q, deadline);

struct deadline_list {
	struct deadline_q q;
	uint64_t us; /* the duration of its deadlines; 0: unused */
};

/* A worker's deadlines. */
struct deadlines {
	struct event *timer;
	uint64_t timer_at; /* when the timer fires; 0: not pending */
	struct deadline_list lists[DEADLINE_LISTS];
};

struct deadline {
	TAILQ_ENTRY(deadline) link;
	struct deadline_list *list; /* NULL: none set */
	uint64_t at;                /* monotonic_us() it expires at */
	struct deadlines *set;
	deadline_fn expired;
	void *arg;
};

/* Returns 0, or -1 without memory for the timer. */
int deadlines_init(struct deadlines *ds, struct event_base *base);
/* Every deadline must be cleared first. */
void deadlines_free(struct deadlines *ds);

/* EXPIRED(ARG) is called once the deadline passes (it is cleared then). */
void deadline_init(struct deadline *d, struct deadlines *ds, deadline_fn expired, void *arg);
/* Expire MS milliseconds from now, whatever was set before. */
void deadline_set_ms(struct deadline *d, uint64_t ms);
/* No deadline. */
void deadline_clear(struct deadline *d);

#endif

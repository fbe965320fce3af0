/* deadline.c — a worker's deadlines in lists by duration, on one timer
 * (deadline.h). */
#include "event/deadline.h"

#include <event2/event.h>
#include <string.h>

#include "util/clock.h"

/* A deadline this close counts as due: the epoll backend waits in whole
 * milliseconds, and libevent's clock may lag the one read here by as
 * much. */
#define DEADLINE_SLACK_US 1000

static void timer_arm(struct deadlines *ds, uint64_t at, uint64_t now)
{
	uint64_t us = at > now ? at - now : 0;
	struct timeval tv = { .tv_sec = (time_t)(us / 1000000),
			      .tv_usec = (suseconds_t)(us % 1000000) };

	event_add(ds->timer, &tv);
	ds->timer_at = at;
}

static uint64_t earliest(const struct deadlines *ds)
{
	uint64_t at = 0;

	for (unsigned i = 0; i < DEADLINE_LISTS; i++) {
		const struct deadline *d = TAILQ_FIRST(&ds->lists[i].q);
		if (d && (!at || d->at < at))
			at = d->at;
	}
	return at;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct deadlines *ds = arg;
	uint64_t now = monotonic_us(), at;

	(void)fd, (void)what;
	ds->timer_at = 0; /* a timer fires once */
	for (unsigned i = 0; i < DEADLINE_LISTS; i++) {
		struct deadline *d;
		/* Each expiry may set or clear others: take the head anew. */
		while ((d = TAILQ_FIRST(&ds->lists[i].q)) && d->at <= now + DEADLINE_SLACK_US) {
			deadline_clear(d);
			d->expired(d->arg);
		}
	}
	at = earliest(ds);
	if (at && (!ds->timer_at || ds->timer_at > at))
		timer_arm(ds, at, monotonic_us());
}

int deadlines_init(struct deadlines *ds, struct event_base *base)
{
	memset(ds, 0, sizeof(*ds));
	for (unsigned i = 0; i < DEADLINE_LISTS; i++)
		TAILQ_INIT(&ds->lists[i].q);
	ds->timer = evtimer_new(base, on_timer, ds);
	return ds->timer ? 0 : -1;
}

void deadlines_free(struct deadlines *ds)
{
	if (ds->timer)
		event_free(ds->timer);
	ds->timer = NULL;
}

void deadline_init(struct deadline *d, struct deadlines *ds, deadline_fn expired, void *arg)
{
	*d = (struct deadline){ .set = ds, .expired = expired, .arg = arg };
}

/* The list of deadlines US long: its own, a free one, or the last. */
static struct deadline_list *list_for(struct deadlines *ds, uint64_t us)
{
	for (unsigned i = 0; i < DEADLINE_LISTS; i++)
		if (ds->lists[i].us == us)
			return &ds->lists[i];
	for (unsigned i = 0; i < DEADLINE_LISTS; i++) {
		if (TAILQ_EMPTY(&ds->lists[i].q)) {
			ds->lists[i].us = us;
			return &ds->lists[i];
		}
	}
	return &ds->lists[DEADLINE_LISTS - 1];
}

void deadline_set_ms(struct deadline *d, uint64_t ms)
{
	struct deadlines *ds = d->set;
	uint64_t now = monotonic_us();
	struct deadline_list *l;
	struct deadline *after;

	deadline_clear(d);
	d->at = now + ms * 1000;
	l = list_for(ds, ms * 1000);
	/* In its own list it goes last; in a shared one, after the last
	 * that expires no later. */
	after = TAILQ_LAST(&l->q, deadline_q);
	while (after && after->at > d->at)
		after = TAILQ_PREV(after, deadline_q, link);
	if (after)
		TAILQ_INSERT_AFTER(&l->q, after, d, link);
	else
		TAILQ_INSERT_HEAD(&l->q, d, link);
	d->list = l;
	if (!ds->timer_at || ds->timer_at > d->at)
		timer_arm(ds, d->at, now);
}

void deadline_clear(struct deadline *d)
{
	if (!d->list)
		return;
	TAILQ_REMOVE(&d->list->q, d, link);
	d->list = NULL;
}

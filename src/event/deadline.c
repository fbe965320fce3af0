/* deadline.c — a deadline on a lazily re-armed timer (deadline.h). */
#include "event/deadline.h"

#include <event2/event.h>

#include "util/clock.h"

/* A timer that fires this close to the deadline counts as on time: the
 * epoll backend waits in whole milliseconds, and libevent's clock may lag
 * the one read here by as much. */
#define DEADLINE_SLACK_US 1000

static void timer_arm(struct deadline *d, uint64_t now)
{
	uint64_t us = d->at > now ? d->at - now : 0;
	struct timeval tv = { .tv_sec = (time_t)(us / 1000000),
			      .tv_usec = (suseconds_t)(us % 1000000) };

	event_add(d->timer, &tv);
	d->timer_at = d->at;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct deadline *d = arg;
	uint64_t now;

	(void)fd, (void)what;
	d->timer_at = 0; /* a timer fires once */
	if (!d->at)
		return;
	now = monotonic_us();
	if (d->at > now + DEADLINE_SLACK_US) {
		timer_arm(d, now); /* early: the deadline moved since */
		return;
	}
	d->at = 0;
	d->expired(d->arg);
}

int deadline_init(struct deadline *d, struct event_base *base, deadline_fn expired, void *arg)
{
	*d = (struct deadline){ .expired = expired, .arg = arg };
	d->timer = evtimer_new(base, on_timer, d);
	return d->timer ? 0 : -1;
}

void deadline_set_ms(struct deadline *d, uint64_t ms)
{
	uint64_t now = monotonic_us();

	d->at = now + ms * 1000;
	if (!d->timer_at || d->timer_at > d->at)
		timer_arm(d, now);
}

void deadline_clear(struct deadline *d)
{
	d->at = 0;
}

void deadline_free(struct deadline *d)
{
	if (d->timer)
		event_free(d->timer);
	d->timer = NULL;
	d->at = d->timer_at = 0;
}

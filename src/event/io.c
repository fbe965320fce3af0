/* io.c — speculative writes on bufferevents. */
#include "event/io.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/buffer_compat.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "util/clock.h"

bool io_is_tls(struct bufferevent *bev)
{
	return bufferevent_openssl_get_ssl(bev) != NULL;
}

/* libevent 2.1's bufferevent_openssl on a socket writes only from its
 * write event: queueing bytes adds write interest, and the SSL_write waits
 * for the next epoll_wait to report the socket writable, an extra loop
 * pass and two epoll_ctl() calls per response (its output callback writes
 * at once only for a filtering bufferevent). Activating that write event
 * by hand runs the same write path (SSL_write, its WANT_WRITE/WANT_READ
 * bookkeeping, the write callback) in this loop pass instead, without
 * asking the kernel first; a socket that is full just leaves the event
 * pending, as libevent would. ev_write is the public bufferevent struct's
 * (event2/bufferevent_struct.h); before the handshake is done it belongs
 * to the handshake and is left alone. */
static bool tls_flush(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	bufferevent_enable(bev, EV_WRITE);
	if (SSL_is_init_finished(ssl))
		event_active(&bev->ev_write, EV_WRITE, 1);
	return false;
}

/* An event neither pending nor active is only its fields: event_assign()
 * on it would change the descriptor and redo everything else as it was
 * (event2/event_struct.h is libevent's published layout, as
 * bufferevent_struct.h is). */
void io_bev_move(struct bufferevent *bev, int fd)
{
	bev->ev_read.ev_fd = fd;
	bev->ev_write.ev_fd = fd;
}

int io_bev_fd(struct bufferevent *bev)
{
	return event_get_fd(&bev->ev_read);
}

void io_bev_clear_timeouts(struct bufferevent *bev)
{
	evutil_timerclear(&bev->timeout_read);
	evutil_timerclear(&bev->timeout_write);
}

void io_bev_quiet(struct bufferevent *bev)
{
	evbuffer_setcb(bufferevent_get_output(bev), NULL, NULL);
}

static void write_on_add(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct bufferevent *bev = arg;

	(void)buf;
	if (info->n_added && (bufferevent_get_enabled(bev) & EV_WRITE) &&
	    !event_pending(&bev->ev_write, EV_WRITE, NULL))
		bufferevent_enable(bev, EV_WRITE); /* adds the write event */
}

int io_bev_loud(struct bufferevent *bev)
{
	struct evbuffer *out = bufferevent_get_output(bev);

	evbuffer_setcb(out, NULL, NULL); /* libevent's own, on a new one */
	return evbuffer_add_cb(out, write_on_add, bev) ? 0 : -1;
}

/* evbuffer_write() always goes through writev(); an output in one piece
 * (a request head, or a response head with its small body, which lbd
 * copies in behind it) goes through send(), whose way through the kernel
 * is shorter: about 0.15 us a call on the loopback, some 1 % of a
 * keep-alive request. */
static void write_out(struct evbuffer *out, int fd)
{
	struct evbuffer_iovec v[2];

	if (evbuffer_peek(out, -1, NULL, v, 2) != 1) {
		evbuffer_write(out, fd);
		return;
	}
	ssize_t n = send(fd, v[0].iov_base, v[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0)
		evbuffer_drain(out, (size_t)n);
}

bool io_flush(struct bufferevent *bev)
{
	struct evbuffer *out = bufferevent_get_output(bev);

	if (evbuffer_get_length(out) == 0)
		return true;
	if (bufferevent_get_enabled(bev) & EV_WRITE)
		return false; /* libevent is writing already */
	if (io_is_tls(bev))
		return tls_flush(bev);
	/* A socket bufferevent freezes the front of its output so that only
	 * it drains it; it thaws it around its own writes, and so does this.
	 * Errors other than EAGAIN are left for libevent to meet on its own
	 * write, so that they reach the event callback like any other. */
	evbuffer_unfreeze(out, 1);
	write_out(out, io_bev_fd(bev));
	evbuffer_freeze(out, 1);
	if (evbuffer_get_length(out) == 0)
		return true;
	bufferevent_enable(bev, EV_WRITE);
	return false;
}

bool io_written(struct bufferevent *bev)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return false;
	bufferevent_disable(bev, EV_WRITE);
	return true;
}

void io_write_timeout(struct bufferevent *bev, const struct timeval *tv)
{
	const struct timeval *cur = &bev->timeout_write;
	bool same = tv ? cur->tv_sec == tv->tv_sec && cur->tv_usec == tv->tv_usec :
			 !evutil_timerisset(cur);
	bool writing = bufferevent_get_enabled(bev) & EV_WRITE;

	if (same && !writing)
		return;
	if (!writing && !io_is_tls(bev)) {
		/* No event of a plain BEV is pending: the fields are all. */
		io_bev_clear_timeouts(bev);
		if (tv)
			bev->timeout_write = *tv;
		return;
	}
	bufferevent_set_timeouts(bev, NULL, tv);
}

/* A timer that fires this close to the deadline reports the timeout: the
 * epoll backend waits in whole milliseconds, and libevent's clock may lag
 * the one read here by as much. */
#define IO_TIMER_SLACK_US 1000

static bool counting(const struct io_reader *r)
{
	return r->on && (r->tls || !r->full) && r->timeout_us;
}

static void on_timer(evutil_socket_t fd, short what, void *arg);

/* A plain reader makes its timer on first use: most client connections
 * never read under a timeout of the reader's (a request without a body
 * has none), and an idle keep-alive connection then holds no timer
 * object. When there is no memory for it, the read fails from its own
 * event, in the next loop pass, rather than waiting without a bound. */
static bool timer_ready(struct io_reader *r)
{
	if (r->timer)
		return true;
	r->timer = evtimer_new(event_get_base(r->ev), on_timer, r);
	if (r->timer)
		return true;
	r->timer_failed = true;
	event_active(r->ev, EV_READ, 1);
	return false;
}

static void timer_arm(struct io_reader *r, uint64_t now)
{
	struct timeval tv;
	uint64_t us = r->deadline - now;

	if (!timer_ready(r))
		return;

	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	event_add(r->timer, &tv);
	r->timer_at = r->deadline;
}

/* The timeout counts from now: only a timer that would fire too late (or
 * none at all) costs an event_add(). */
static void deadline_restart(struct io_reader *r)
{
	uint64_t now = monotonic_us();

	r->deadline = now + r->timeout_us;
	if (!r->timer_at || r->timer_at > r->deadline)
		timer_arm(r, now);
}

/* Called on every exchange (timeouts change around each request), so it
 * touches libevent only where something changes: an event_add() or
 * bufferevent_enable() that changes nothing still costs a lock and, for
 * the TLS bufferevent, a re-add of its read event. A timer left pending
 * when the timeout stops counting finds nothing to do when it fires. */
static void reader_update(struct io_reader *r)
{
	if (r->tls) {
		bool reading = bufferevent_get_enabled(r->bev) & EV_READ;
		if (r->on && !reading)
			bufferevent_enable(r->bev, EV_READ);
		else if (!r->on && reading)
			bufferevent_disable(r->bev, EV_READ);
	} else {
		bool want = r->on && !r->full;
		if (want && !r->reading)
			event_add(r->ev, NULL);
		else if (!want && r->reading)
			event_del(r->ev);
		r->reading = want;
	}
	if (counting(r))
		deadline_restart(r);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct io_reader *r = arg;
	uint64_t now;

	(void)fd, (void)what;
	r->timer_at = 0; /* a timer fires once */
	if (!counting(r))
		return;
	now = monotonic_us();
	if (r->deadline > now + IO_TIMER_SLACK_US) {
		timer_arm(r, now); /* early: the deadline moved since */
		return;
	}
	io_reader_set(r, false);
	r->on_event(BEV_EVENT_READING | BEV_EVENT_TIMEOUT, r->arg);
}

/* A byte arrived: the time without one counts from now. The timer, pending
 * for an earlier time, stays as it is. */
static void byte_arrived(struct io_reader *r)
{
	if (counting(r))
		r->deadline = monotonic_us() + r->timeout_us;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct io_reader *r = arg;
	struct evbuffer *in;
	struct evbuffer_iovec v;
	ssize_t n;

	(void)what;
	if (!r->bev && r->on_wake(r->arg) < 0)
		return; /* R went with its owner */
	in = bufferevent_get_input(r->bev);
	if (r->timer_failed) {
		r->timer_failed = false;
		io_reader_set(r, false);
		r->on_event(BEV_EVENT_READING | BEV_EVENT_ERROR, r->arg);
		return;
	}
	/* The bufferevent freezes the end of its input so that only it adds;
	 * this reader stands in for its reading and thaws it the same way. */
	evbuffer_unfreeze(in, 0);
	if (evbuffer_reserve_space(in, IO_READ_SIZE, &v, 1) < 1) {
		evbuffer_freeze(in, 0);
		io_reader_set(r, false);
		r->on_event(BEV_EVENT_READING | BEV_EVENT_ERROR, r->arg);
		return;
	}
	n = recv(fd, v.iov_base, v.iov_len < IO_READ_SIZE ? v.iov_len : IO_READ_SIZE, 0);
	int err = errno;
	if (n > 0) {
		v.iov_len = (size_t)n;
		evbuffer_commit_space(in, &v, 1);
	} else {
		evbuffer_commit_space(in, &v, 0);
	}
	evbuffer_freeze(in, 0);
	if (n > 0) {
		byte_arrived(r);
		if (r->high_water && evbuffer_get_length(in) >= r->high_water) {
			r->full = true;
			reader_update(r);
		}
		r->on_read(r->arg);
		return;
	}
	if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK || err == EINTR))
		return;
	io_reader_set(r, false);
	errno = err; /* the owner may say why */
	r->on_event(BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), r->arg);
}

void io_reader_park(struct io_reader *r, io_wake_fn wake)
{
	r->bev = NULL;
	r->on_wake = wake;
}

void io_reader_wake(struct io_reader *r, struct bufferevent *bev)
{
	r->bev = bev;
}

void io_reader_tls_readable(struct io_reader *r)
{
	byte_arrived(r);
	r->on_read(r->arg);
}

int io_reader_init(struct io_reader *r, struct event_base *base, struct bufferevent *bev,
		   size_t high_water, io_read_fn on_read, io_event_fn on_event, void *arg)
{
	*r = (struct io_reader){ .bev = bev,
				 .on_read = on_read,
				 .on_event = on_event,
				 .arg = arg,
				 .high_water = high_water };
	if (bufferevent_get_enabled(bev) & EV_READ)
		bufferevent_disable(bev, EV_READ);
	if (io_is_tls(bev)) {
		r->tls = true;
		r->timer = evtimer_new(base, on_timer, r); /* no event of its own to fail from */
		if (!r->timer)
			return -1;
		bufferevent_setwatermark(bev, EV_READ, 0, high_water);
		return 0;
	}
	if (event_assign(&r->read_ev, base, io_bev_fd(bev), EV_READ | EV_PERSIST, on_readable, r) <
	    0)
		return -1;
	r->ev = &r->read_ev;
	return 0;
}

void io_reader_callbacks(struct io_reader *r, io_read_fn on_read, io_event_fn on_event, void *arg)
{
	r->on_read = on_read;
	r->on_event = on_event;
	r->arg = arg;
}

void io_reader_set(struct io_reader *r, bool on)
{
	if (r->on == on)
		return;
	r->on = on;
	reader_update(r);
}

void io_reader_timeout(struct io_reader *r, const struct timeval *tv)
{
	r->timeout_us = tv ? (uint64_t)tv->tv_sec * 1000000 + (uint64_t)tv->tv_usec : 0;
	if (counting(r))
		deadline_restart(r);
}

void io_reader_drained(struct io_reader *r)
{
	if (r->tls || !r->full ||
	    evbuffer_get_length(bufferevent_get_input(r->bev)) >= r->high_water)
		return;
	r->full = false;
	reader_update(r);
}

void io_reader_free(struct io_reader *r)
{
	/* Only a pending or active event is known to the base. */
	if (r->ev && (r->reading || r->timer_failed))
		event_del(r->ev);
	if (r->timer)
		event_free(r->timer);
	r->ev = r->timer = NULL;
	r->on = r->reading = r->timer_failed = false;
	r->timer_at = 0;
}

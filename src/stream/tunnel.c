/* tunnel.c — relaying bytes between two bufferevents. */
#include "stream/tunnel.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "event/io.h"
#include "event/worker.h"
#include "tls/tls_listener.h"

/* Bytes queued towards one side before the other stops being read. */
#define TUNNEL_HIGH_WATER (256 * 1024)
#define TUNNEL_LOW_WATER (64 * 1024)

struct tunnel {
	struct conn_link link; /* first: the worker's list points here */
	struct worker *w;
	struct bufferevent *side[2];
	bool eof[2];  /* side i will send nothing more */
	bool shut[2]; /* side i was shut down for writing */
	uint64_t bytes[2];
	uint64_t idle_ms;
	uint64_t last_activity_ms;
	struct event *idle_ev;
	tunnel_done_fn done;
	void *done_arg;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void arm_idle(struct tunnel *t, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	event_add(t->idle_ev, &tv);
}

static void tunnel_free(struct tunnel *t)
{
	if (t->done)
		t->done(t->done_arg, t->bytes);
	for (int i = 0; i < 2; i++)
		bufferevent_free(t->side[i]);
	event_free(t->idle_ev);
	worker_conn_remove(t->w, &t->link);
	free(t);
}

static int side_of(struct tunnel *t, struct bufferevent *bev)
{
	return bev == t->side[0] ? 0 : 1;
}

/* Shut down writing towards side I once the other side is done and
 * everything it sent was delivered; end the tunnel when both are. */
static bool finish_direction(struct tunnel *t, int i)
{
	struct bufferevent *to = t->side[i];

	if (t->eof[!i] && !t->shut[i] && evbuffer_get_length(bufferevent_get_output(to)) == 0) {
		/* A TLS peer hears the end as close_notify before the FIN. */
		tls_close_notify(to);
		shutdown(bufferevent_getfd(to), SHUT_WR);
		t->shut[i] = true;
	}
	if (t->shut[0] && t->shut[1]) {
		tunnel_free(t);
		return true;
	}
	return false;
}

static void relay(struct tunnel *t, int from)
{
	struct evbuffer *in = bufferevent_get_input(t->side[from]);
	struct evbuffer *out = bufferevent_get_output(t->side[!from]);
	size_t n = evbuffer_get_length(in);

	if (n == 0)
		return;
	t->bytes[from] += n;
	t->last_activity_ms = now_ms();
	evbuffer_add_buffer(out, in);
	if (evbuffer_get_length(out) >= TUNNEL_HIGH_WATER)
		bufferevent_disable(t->side[from], EV_READ);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct tunnel *t = arg;

	relay(t, side_of(t, bev));
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct tunnel *t = arg;
	int i = side_of(t, bev);

	t->last_activity_ms = now_ms();
	if (!t->eof[!i])
		bufferevent_enable(t->side[!i], EV_READ);
	finish_direction(t, i);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct tunnel *t = arg;
	int i = side_of(t, bev);

	if (what & BEV_EVENT_CONNECTED)
		return; /* a TLS side finished its handshake */
	if (what & BEV_EVENT_EOF) {
		relay(t, i);
		t->eof[i] = true;
		finish_direction(t, !i);
		return;
	}
	tunnel_free(t); /* an error on either side ends both */
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
	uint64_t idle = now_ms() - t->last_activity_ms;

	if (idle >= t->idle_ms)
		tunnel_free(t);
	else
		arm_idle(t, t->idle_ms - idle);
}

/* Tunnels are left to finish on a graceful stop, until timeouts.drain. */
static void tunnel_stop(struct conn_link *link)
{
}

static void tunnel_destroy(struct conn_link *link)
{
	struct tunnel *t = (struct tunnel *)link;

	t->done = NULL;
	tunnel_free(t);
}

/* The tunnel writes through libevent: bytes queued must start its writing
 * (an HTTP connection's plain bufferevent comes without; io.h). */
static int writes_through_libevent(struct bufferevent *bev)
{
	return io_is_tls(bev) ? 0 : io_bev_loud(bev);
}

int tunnel_start(struct worker *w, struct bufferevent *a, struct bufferevent *b, uint64_t idle_ms,
		 tunnel_done_fn done, void *arg)
{
	struct tunnel *t = calloc(1, sizeof(*t));

	if (t)
		t->idle_ev = evtimer_new(w->base, on_idle, t);
	if (!t || !t->idle_ev || writes_through_libevent(a) < 0 || writes_through_libevent(b) < 0) {
		if (t && t->idle_ev)
			event_free(t->idle_ev);
		free(t);
		bufferevent_free(a);
		bufferevent_free(b);
		return -1;
	}
	t->w = w;
	t->side[0] = a;
	t->side[1] = b;
	t->idle_ms = idle_ms;
	t->done = done;
	t->done_arg = arg;
	t->link.stop = tunnel_stop;
	t->link.destroy = tunnel_destroy;
	t->last_activity_ms = now_ms();
	/* The tunnel is a client connection of its own; the connection it
	 * replaces gives its slot back when it unregisters. */
	atomic_fetch_add_explicit(&w->env.conns->open, 1, memory_order_relaxed);
	worker_conn_add(w, &t->link);
	for (int i = 0; i < 2; i++) {
		bufferevent_setcb(t->side[i], on_read, on_write, on_event, t);
		bufferevent_setwatermark(t->side[i], EV_WRITE, TUNNEL_LOW_WATER, 0);
		bufferevent_setwatermark(t->side[i], EV_READ, 0, 0);
		bufferevent_set_timeouts(t->side[i], NULL, NULL);
		bufferevent_enable(t->side[i], EV_READ | EV_WRITE);
	}
	arm_idle(t, idle_ms);
	relay(t, 0);
	relay(t, 1);
	return 0;
}

/* bev_spare.c — a worker's spare plain socket bufferevents (bev_spare.h). */
#include "event/bev_spare.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdbool.h>
#include <unistd.h>

#include "event/io.h"

struct bufferevent *bev_spare_get(struct bev_spares *s, struct event_base *base, int fd)
{
	if (s->n) {
		struct bufferevent *bev = s->bev[--s->n];
		io_bev_move(bev, fd);
		return bev;
	}
	return bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
}

/* Empty BUF. A socket bufferevent freezes the front of its output (only it
 * drains it) and the end of its input (only it adds), as io.c says: a
 * drain of the output has to thaw it first, or it does nothing. Returns
 * whether BUF is empty. */
static bool empty(struct evbuffer *buf, bool front_frozen)
{
	size_t n = evbuffer_get_length(buf);

	if (!n)
		return true;
	if (front_frozen)
		evbuffer_unfreeze(buf, 1);
	evbuffer_drain(buf, n);
	if (front_frozen)
		evbuffer_freeze(buf, 1);
	return evbuffer_get_length(buf) == 0;
}

/* The spare's events keep the old socket, unused (neither is pending),
 * until bev_spare_get() moves them: one move per park and wake instead of
 * two. Freeing one moves them away first, so that CLOSE_ON_FREE closes
 * nothing. */
void bev_spare_put(struct bev_spares *s, struct bufferevent *bev)
{
	if (bufferevent_get_enabled(bev))
		bufferevent_disable(bev, EV_READ | EV_WRITE);
	/* A spare must start empty: a byte left over would go to the next
	 * connection. One that cannot be emptied is not kept. */
	bool clean = empty(bufferevent_get_input(bev), false) &&
		     empty(bufferevent_get_output(bev), true);
	if (clean && s->n < BEV_SPARES_MAX) {
		s->bev[s->n++] = bev;
		return;
	}
	io_bev_move(bev, -1);
	bufferevent_free(bev);
}

void bev_spare_close(struct bev_spares *s, struct bufferevent *bev)
{
	int fd = io_bev_fd(bev);

	if (bufferevent_get_enabled(bev))
		bufferevent_disable(bev, EV_READ | EV_WRITE);
	io_bev_move(bev, -1);
	if (fd >= 0)
		close(fd);
	bev_spare_put(s, bev);
}

void bev_spares_free(struct bev_spares *s)
{
	while (s->n) {
		struct bufferevent *bev = s->bev[--s->n];
		io_bev_move(bev, -1); /* the socket is not its own */
		bufferevent_free(bev);
	}
}

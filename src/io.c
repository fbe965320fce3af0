/* io.c — speculative writes on bufferevents. */
#include "io.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

bool io_flush(struct bufferevent *bev)
{
	struct evbuffer *out = bufferevent_get_output(bev);

	if (evbuffer_get_length(out) == 0)
		return true;
	if (bufferevent_get_enabled(bev) & EV_WRITE)
		return false; /* libevent is writing already */
	/* A socket bufferevent freezes the front of its output so that only
	 * it drains it; it thaws it around its own writes, and so does this.
	 * Errors other than EAGAIN are left for libevent to meet on its own
	 * write, so that they reach the event callback like any other. */
	evbuffer_unfreeze(out, 1);
	evbuffer_write(out, bufferevent_getfd(bev));
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

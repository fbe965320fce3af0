/* bev_spare.h — a worker's spare plain socket bufferevents.
 *
 * Making a socket bufferevent (its private struct, two evbuffers, two
 * events: some 1,650 instructions) and freeing it (some 550) for every
 * client connection, and again every time a parked keep-alive connection
 * wakes, is a good part of what a connection costs lbd in user space
 * besides its requests. A worker keeps the plain bufferevents its
 * connections are done with, empty and idle, and moves them to the next
 * sockets (io_bev_move()).
 */
#ifndef LBD_BEV_SPARE_H
#define LBD_BEV_SPARE_H

struct bufferevent;
struct event_base;

/* As many as connections that end or wake at once in a burst; past that
 * they are freed. */
#define BEV_SPARES_MAX 64

struct bev_spares {
	struct bufferevent *bev[BEV_SPARES_MAX];
	unsigned n;
};

/* A plain bufferevent on FD (BEV_OPT_CLOSE_ON_FREE): a spare one, or a new
 * one on BASE. NULL without memory. */
struct bufferevent *bev_spare_get(struct bev_spares *s, struct event_base *base, int fd);
/* Keep BEV, a plain socket bufferevent its owner is done with, for another
 * socket; its own socket stays open (the owner's). Reading and writing
 * are turned off and its buffers emptied. */
void bev_spare_put(struct bev_spares *s, struct bufferevent *bev);
/* Close BEV's socket and keep BEV: bufferevent_free() without the free. */
void bev_spare_close(struct bev_spares *s, struct bufferevent *bev);
void bev_spares_free(struct bev_spares *s);

#endif

/* admin_gate.h — the gate in front of every admin connection
 * (admin_gate.c): each request head is checked (admin_head.h) before evhttp
 * parses it, and one evhttp would refuse with its own HTML page is answered
 * by lbd's handler in JSON instead. */
#ifndef LBD_ADMIN_GATE_H
#define LBD_ADMIN_GATE_H

#include <stddef.h>

#include "daemon/admin_head.h"

struct admin_gate;
struct bufferevent;
struct event_base;
struct evhttp_request;

/* The live gates of an admin (all its ports), and the limits they keep. */
struct admin_gates {
	struct admin_gate *first;
	size_t head_max, body_max;
};

/* For evhttp_set_bevcb (ARG: a struct admin_gates): the bufferevent of a
 * new connection, the gate in it. Owned by evhttp's connection, which also
 * closes the socket. NULL when out of memory (evhttp then makes its own,
 * with no gate). */
struct bufferevent *admin_gate_new(struct event_base *base, void *arg);

/* Called once for each request lbd's handler gets from GS's connections,
 * in order: the gate's refusal REQ stands for (answer it, and the
 * connection closes), or NULL for a request of the client's own. */
const struct admin_head *admin_gate_refusal(struct admin_gates *gs, struct evhttp_request *req);

/* GS goes away: the gates still being finalized forget it. */
void admin_gates_detach(struct admin_gates *gs);

#endif

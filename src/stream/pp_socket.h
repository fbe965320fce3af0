/* pp_socket.h — reading a PROXY protocol header straight from a socket
 * without taking a byte that follows it.
 *
 * A TLS listener behind an L4 balancer gets the header in the clear before
 * the TLS handshake, and the handshake's bytes must stay in the socket for
 * OpenSSL. So the header is read with recv(MSG_PEEK) and only its own bytes
 * are consumed: while the header is incomplete every byte seen belongs to
 * it, and once it is complete its length is known.
 */
#ifndef LBD_PP_SOCKET_H
#define LBD_PP_SOCKET_H

#include <stddef.h>

#include "stream/proxy_protocol.h"

struct pp_socket {
	unsigned char buf[PP_MAX];
	size_t have; /* header bytes consumed so far */
};

/* Read what FD has: PP_DONE with OUT filled (the socket's next byte is
 * the first after the header), PP_MORE to be called again once FD is
 * readable, PP_BAD when it is no header, too long, or the peer closed or
 * failed. */
enum pp_status pp_socket_read(int fd, struct pp_socket *st, struct pp_result *out);

struct event;
struct event_base;
struct ssl_st;

/* What a connection holds while it waits for its header, before its
 * bufferevent exists: the socket, a read event on it, and the SSL its TLS
 * bufferevent will get (NULL for a plain listener). */
struct pp_wait {
	struct event_base *base;
	struct event *ev;
	int fd;
	struct ssl_st *ssl; /* owned until handed on (set to NULL then) */
	struct pp_socket st;
};

/* A wait for FD's header; takes SSL. Returns NULL when out of memory, with
 * SSL freed and FD left open. */
struct pp_wait *pp_wait_new(struct event_base *base, int fd, struct ssl_st *ssl);

/* Watch FD (persistently) with CB(fd, what, ARG). Returns 0 or -1. */
int pp_wait_listen(struct pp_wait *w, void (*cb)(int fd, short what, void *arg), void *arg);

/* Free W; CLOSE_FD closes its socket too. */
void pp_wait_free(struct pp_wait *w, int close_fd);

#endif

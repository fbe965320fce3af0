/* pp_socket.c — a PROXY header taken from a socket byte-exactly. */
#include "stream/pp_socket.h"

#include <errno.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

enum pp_status pp_socket_read(int fd, struct pp_socket *st, struct pp_result *out)
{
	size_t used = 0, take;
	ssize_t n;

	do
		n = recv(fd, st->buf + st->have, sizeof(st->buf) - st->have, MSG_PEEK);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return PP_MORE;
	if (n <= 0)
		return PP_BAD;
	enum pp_status s = pp_parse(st->buf, st->have + (size_t)n, out, &used);
	if (s == PP_MORE && st->have + (size_t)n >= sizeof(st->buf))
		s = PP_BAD; /* longer than any header lbd accepts */
	/* Not a header: what was peeked is taken all the same, so that the
	 * connection closes with a FIN, not a reset for unread bytes. */
	take = s == PP_DONE ? used - st->have : (size_t)n;
	/* The bytes were peeked, so they are there to be taken. */
	do
		n = recv(fd, st->buf + st->have, take, 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)take || s == PP_BAD)
		return PP_BAD;
	st->have += take;
	return s;
}

struct pp_wait *pp_wait_new(struct event_base *base, int fd, struct ssl_st *ssl)
{
	struct pp_wait *w = calloc(1, sizeof(*w));

	if (!w) {
		SSL_free(ssl);
		return NULL;
	}
	w->base = base;
	w->fd = fd;
	w->ssl = ssl;
	return w;
}

int pp_wait_listen(struct pp_wait *w, void (*cb)(int fd, short what, void *arg), void *arg)
{
	w->ev = event_new(w->base, w->fd, EV_READ | EV_PERSIST, cb, arg);
	if (!w->ev || event_add(w->ev, NULL) < 0)
		return -1;
	return 0;
}

void pp_wait_free(struct pp_wait *w, int close_fd)
{
	if (!w)
		return;
	if (w->ev)
		event_free(w->ev);
	SSL_free(w->ssl);
	if (close_fd)
		close(w->fd);
	free(w);
}

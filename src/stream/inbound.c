/* inbound.c — the start of a client connection (inbound.h): the PROXY
 * header, the bufferevent, the TLS handshake.
 */
#include "stream/inbound.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"
#include "event/io.h"
#include "event/worker.h"
#include "stream/pp_socket.h"
#include "stream/proxy_protocol.h"
#include "tls/tls_listener.h"
#include "util/addr.h"
#include "util/clock.h"

void inbound_nodelay(struct inbound *in)
{
	int one = 1;

	if (in->nodelay)
		return;
	setsockopt(in->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	in->nodelay = true;
}

/* The client's socket address, as long as it is IPv4 or IPv6 (a unix
 * socket's peer has no address worth keeping). */
static void copy_client(struct inbound *in, const struct sockaddr *sa)
{
	size_t len = sa->sa_family == AF_INET  ? sizeof(struct sockaddr_in) :
		     sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						 0;

	memset(&in->client, 0, sizeof(in->client));
	if (len)
		memcpy(&in->client, sa, len);
	else
		in->client.ss_family = sa->sa_family;
}

int inbound_init(struct inbound *in, struct worker *w, const struct listener_conf *l, int fd,
		 const struct sockaddr *peer)
{
	memset(in, 0, sizeof(*in));
	in->w = w;
	in->fd = fd;
	in->tls = l->tls != NULL;
	in->proxy_header = l->proxy_protocol;
	in->cert_headers = l->protocol == PROTO_HTTP && l->tls &&
			   l->tls->verify_client != TLS_VERIFY_CLIENT_OFF;
	addr_host_text(peer, in->peer_ip, sizeof(in->peer_ip));
	in->peer_v6 = peer->sa_family == AF_INET6;
	copy_client(in, peer);
	in->nodelay = peer->sa_family == AF_UNIX;
	if (l->protocol != PROTO_HTTP || in->tls)
		inbound_nodelay(in);
	if (in->proxy_header) {
		/* The TLS side waits with the socket: its SSL is made now. */
		struct ssl_st *ssl = in->tls ? tls_listener_ssl(l->tls->ctx) : NULL;
		if (in->tls && !ssl)
			return -1;
		in->ppw = pp_wait_new(w->base, fd, ssl);
		if (!in->ppw)
			return -1;
	} else {
		in->bev = in->tls ? tls_listener_bev(l->tls->ctx, w->base, fd) :
				    bev_spare_get(&w->bev_spares, w->base, fd);
		if (!in->bev)
			return -1;
	}
	return 0;
}

int inbound_fd(const struct inbound *in)
{
	return in->fd;
}

size_t inbound_proxy_header(const struct inbound *in, int version, unsigned char *out)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	/* Asked once per new server connection, not per accept: most
	 * connections never need it. */
	if (getsockname(in->fd, (struct sockaddr *)&local, &len) < 0)
		local.ss_family = AF_UNSPEC;
	return pp_encode(version, (const struct sockaddr *)&in->client,
			 (const struct sockaddr *)&local, out);
}

void inbound_free(struct inbound *in)
{
	if (in->deadline)
		event_free(in->deadline);
	in->deadline = NULL;
	if (in->ppw)
		pp_wait_free(in->ppw, !in->bev);
	in->ppw = NULL;
	if (in->bev)
		bufferevent_free(in->bev);
	in->bev = NULL;
	free(in->cert_subject);
	in->cert_subject = NULL;
}

static void hand_over(struct inbound *in)
{
	struct bufferevent *bev = in->bev;

	in->bev = NULL;
	if (in->deadline)
		event_free(in->deadline);
	in->deadline = NULL;
	bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	if (in->tls)
		bufferevent_set_timeouts(bev, NULL, NULL);
	else
		io_bev_clear_timeouts(bev); /* a plain one neither reads nor writes yet */
	if (in->cert_headers)
		in->cert_subject = tls_client_subject(bev);
	in->ops->ready(in->arg, bev);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct inbound *in = arg;

	log_debug("client %s: %s not complete in time", in->peer_ip,
		  in->ppw ? "PROXY protocol header" : "TLS handshake");
	in->ops->failed(in->arg, INBOUND_TIMEOUT);
}

static void on_handshake(struct bufferevent *bev, short what, void *arg)
{
	struct inbound *in = arg;
	char why[128];

	if (what & BEV_EVENT_CONNECTED) {
		hand_over(in);
		return;
	}
	bool plain = tls_error_text(bev, why, sizeof(why));
	log_debug("client %s: TLS handshake failed: %s", in->peer_ip, why);
	in->ops->failed(in->arg, plain ? INBOUND_PLAIN_HTTP : INBOUND_TLS);
}

static void start_handshake(struct inbound *in)
{
	bufferevent_setcb(in->bev, NULL, NULL, on_handshake, in);
	bufferevent_enable(in->bev, EV_READ);
}

/* The PROXY header, read from the socket itself (pp_socket.h); its source
 * becomes the client address. */
static void on_header(evutil_socket_t fd, short what, void *arg)
{
	struct inbound *in = arg;
	struct pp_result pp;
	enum pp_status st = pp_socket_read(fd, &in->ppw->st, &pp);

	if (st == PP_MORE)
		return;
	if (st != PP_DONE) {
		log_debug("client %s: no valid PROXY protocol header; closing", in->peer_ip);
		in->ops->failed(in->arg, INBOUND_BAD_HEADER);
		return;
	}
	in->proxy_header = false;
	if (pp.has_addr) {
		addr_host_text((const struct sockaddr *)&pp.src, in->peer_ip, sizeof(in->peer_ip));
		in->peer_v6 = pp.src.ss_family == AF_INET6;
		copy_client(in, (const struct sockaddr *)&pp.src);
	}
	if (in->tls) {
		in->bev = tls_bev_new(in->ppw->ssl, in->w->base, fd);
		in->ppw->ssl = NULL; /* the bufferevent's now, or freed */
	} else {
		in->bev = bufferevent_socket_new(in->w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	pp_wait_free(in->ppw, !in->bev);
	in->ppw = NULL;
	if (!in->bev) {
		in->fd = -1;
		in->ops->failed(in->arg, INBOUND_NO_MEMORY);
		return;
	}
	if (in->tls)
		start_handshake(in);
	else
		hand_over(in);
}

void inbound_start(struct inbound *in, const struct inbound_ops *ops, void *arg)
{
	in->ops = ops;
	in->arg = arg;
	if (!in->tls && !in->proxy_header) {
		hand_over(in);
		return;
	}
	struct timeval tv;
	const struct config *cfg = in->w->cfg;
	in->deadline = evtimer_new(in->w->base, on_deadline, in);
	if (!in->deadline) {
		in->ops->failed(in->arg, INBOUND_NO_MEMORY);
		return;
	}
	ms_to_timeval(cfg->timeouts.header_ms, &tv);
	evtimer_add(in->deadline, &tv);
	if (!in->proxy_header)
		start_handshake(in);
	else if (pp_wait_listen(in->ppw, on_header, in) < 0)
		in->ops->failed(in->arg, INBOUND_NO_MEMORY);
}

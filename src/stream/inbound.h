/* inbound.h — the one way a client connection starts, whatever protocol
 * its listener speaks: the PROXY protocol header when the listener expects
 * one (read from the socket itself, so that not a byte after it is taken),
 * then a plain or a TLS bufferevent, and with TLS the handshake. HTTP and
 * TCP listeners embed a struct inbound in their connection and take over
 * the bufferevent once it is ready.
 *
 * The whole start is bounded by timeouts.header: a client that sends no
 * header, or stalls its handshake, costs nothing past it.
 */
#ifndef LBD_INBOUND_H
#define LBD_INBOUND_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct bufferevent;
struct event;
struct listener_conf;
struct pp_wait;
struct worker;

enum inbound_failure {
	INBOUND_BAD_HEADER, /* no valid PROXY header: closed, nothing answered */
	INBOUND_TIMEOUT,    /* the header or the handshake took too long */
	INBOUND_TLS,        /* the TLS handshake failed */
	INBOUND_PLAIN_HTTP, /* a plain HTTP request came to a TLS listener */
	INBOUND_NO_MEMORY,
};

struct inbound_ops {
	/* The connection is ready: BEV (plain, or TLS with the handshake
	 * done) is the callee's from now on; the client's address is in the
	 * inbound. */
	void (*ready)(void *arg, struct bufferevent *bev);
	/* The start failed; the callee frees its connection (and with it the
	 * inbound). With INBOUND_PLAIN_HTTP, inbound_fd() is still open to
	 * answer in the clear. */
	void (*failed)(void *arg, enum inbound_failure why);
};

struct inbound {
	struct worker *w;
	const struct inbound_ops *ops;
	void *arg;
	int fd;
	bool tls;                /* the listener terminates TLS */
	bool proxy_header;       /* a PROXY header is still expected */
	bool nodelay;            /* TCP_NODELAY is set (or needs no setting) */
	struct bufferevent *bev; /* until it is handed over */
	struct pp_wait *ppw;     /* while the PROXY header is read */
	struct event *deadline;
	char peer_ip[INET6_ADDRSTRLEN]; /* the client: the peer, or the */
	bool peer_v6;                   /* source of a PROXY header */
	struct sockaddr_storage client; /* the same with its port */
	/* An HTTP listener with tls.client_ca: requests carry
	 * X-Client-Cert-Verify, and X-Client-Cert-Subject when the client
	 * showed a certificate (SUBJECT, owned; moves with the inbound when
	 * the connection is handed over). */
	bool cert_headers;
	char *cert_subject;
};

/* Prepare IN for the socket FD accepted by worker W on listener L from
 * PEER. TCP_NODELAY is set on it, except on a plain HTTP listener, whose
 * connections set it with inbound_nodelay() before the writes that need
 * it. Calls nothing back. Returns 0, or -1 (out of memory) with nothing
 * held and FD left to the caller. */
int inbound_init(struct inbound *in, struct worker *w, const struct listener_conf *l, int fd,
		 const struct sockaddr *peer);

/* Start: OPS->ready or OPS->failed, with ARG, once. A plain connection
 * without a PROXY header is ready before this returns. */
void inbound_start(struct inbound *in, const struct inbound_ops *ops, void *arg);

/* Set TCP_NODELAY on the connection's socket, unless it is set. */
void inbound_nodelay(struct inbound *in);

/* The socket of a connection that failed with INBOUND_PLAIN_HTTP. */
int inbound_fd(const struct inbound *in);

/* The PROXY protocol header of VERSION (1 or 2) naming IN's client and
 * the address it reached lbd on (pools[].send_proxy), written into OUT
 * (PP_ENCODED_MAX bytes). Returns its length. */
size_t inbound_proxy_header(const struct inbound *in, int version, unsigned char *out);

/* Release what IN still holds (closing the socket if it was not handed
 * over); safe in any phase and more than once. */
void inbound_free(struct inbound *in);

#endif

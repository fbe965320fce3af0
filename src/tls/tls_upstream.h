/* tls_upstream.h — TLS from lbd to the servers of a pool (pools[].tls).
 *
 * A pool with tls gets one OpenSSL client context per configuration
 * generation, built when the file is loaded (so `lbd -t` and a reload
 * report a CA file that cannot be read) and released with the generation.
 * Each server of the pool has its own SNI name, the name its certificate is
 * checked against, and a slot for the last TLS session it gave lbd, so new
 * connections to it resume instead of doing a full handshake.
 *
 * The context outlives its generation while connections made with it live
 * on (idle pooled connections are kept across reloads): OpenSSL counts its
 * references and the per-server table goes with the last of them.
 */
#ifndef LBD_TLS_UPSTREAM_H
#define LBD_TLS_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "tls/tls_conf.h"

struct bufferevent;
struct event_base;
struct lbd_addr;

/* Which key of pools[].tls a build error is about. */
enum tls_upstream_key {
	TLS_KEY_NONE, /* the pool's tls section as a whole */
	TLS_KEY_CA,
	TLS_KEY_CERT,
	TLS_KEY_KEY,
};

/* A server of the pool as the context needs it: its name (for errors) and
 * its address (whose host is its default SNI and verified name). */
struct tls_upstream_target {
	const char *name;
	const struct lbd_addr *addr;
};

/* Build the client context for the pool whose settings are TC and whose
 * servers are the N of SERVERS, into TC->ctx; a server is known to the
 * functions below by its index in SERVERS. Returns 0, or -1 with a
 * sentence in WHY and the key it is about in *KEY. */
int tls_upstream_build(struct pool_tls_conf *tc, const struct tls_upstream_target *servers,
		       size_t n, enum tls_upstream_key *key, char *why, size_t why_len);

/* Drop the generation's reference; connections still using it keep it. */
void tls_upstream_free(struct tls_upstream *t);

/* The SNI name and the verified name lbd uses for server SERVER (an index)
 * of the pool with settings TC: NULL when none (for the unit tests and the
 * log). */
const char *tls_upstream_sni(const struct pool_tls_conf *tc, size_t server);
const char *tls_upstream_verify_name(const struct pool_tls_conf *tc, size_t server);

/* A bufferevent that connects to server SERVER of the pool with settings
 * TC and does the TLS handshake before it reports BEV_EVENT_CONNECTED
 * (bufferevent_socket_connect() is called on it as on a socket
 * bufferevent). Freeing it closes the socket. NULL when out of memory. */
struct bufferevent *tls_upstream_bev(struct event_base *base, const struct pool_tls_conf *tc,
				     size_t server);

/* One server's TLS side for code that outlives a generation (the health
 * checks of the main loop): it holds a reference to the context of TC's
 * generation, so connections made with it need neither TC nor the pool.
 * NULL when TC has no context or out of memory. */
struct tls_upstream_peer;
struct tls_upstream_peer *tls_upstream_peer_new(const struct pool_tls_conf *tc, size_t server);
void tls_upstream_peer_free(struct tls_upstream_peer *peer);

/* As tls_upstream_bev() and tls_upstream_peer_new(), for a server the pool
 * learnt at run time (discovery, the admin API): named NAME at ADDR, its
 * SNI and verified name from TC and ADDR as for a server of the file, and
 * no session resumption. NULL when out of memory or when ADDR gives no name
 * to verify (a unix: address without tls.sni or tls.verify_name). */
struct bufferevent *tls_upstream_bev_for(struct event_base *base, const struct pool_tls_conf *tc,
					 const char *name, const struct lbd_addr *addr);
struct tls_upstream_peer *tls_upstream_peer_for(const struct pool_tls_conf *tc, const char *name,
						const struct lbd_addr *addr);

/* As tls_upstream_bev(), for PEER. */
struct bufferevent *tls_upstream_peer_bev(struct event_base *base,
					  const struct tls_upstream_peer *peer);

/* An identity of a pool's TLS settings TC (NULL: plain), kept with each
 * connection to tell whether a pooled one still fits the pool after a
 * reload. Unique while a connection made with it lives, since that
 * connection holds a reference to it. */
const void *tls_upstream_pool_identity(const struct pool_tls_conf *tc);

/* Why a TLS connection failed, as two numbers, so that it fits in atomics
 * (the last health check of a server) and is put in words later. */
enum tls_failure_kind {
	TLS_FAIL_NONE,
	TLS_FAIL_TIMEOUT, /* the bufferevent's own timeout */
	TLS_FAIL_CONNECT, /* the TCP connect failed: code is errno */
	TLS_FAIL_VERIFY,  /* the certificate: code is the X509_V_ERR_* */
	TLS_FAIL_REASON,  /* OpenSSL said why: code is its library and reason */
	TLS_FAIL_CLOSED,  /* the server closed during the handshake */
	TLS_FAIL_ERRNO,   /* a socket error in the handshake: code is errno */
	TLS_FAIL_OTHER,   /* nothing more is known */
	TLS_FAIL_LATER,   /* OpenSSL said why, after the handshake: code as REASON */
};

struct tls_failure {
	enum tls_failure_kind kind;
	int code;
};

/* Why the TLS connection BEV failed; WHAT is the bufferevent event.
 * HANDSHAKEN: it failed after the handshake (a protocol error then is
 * TLS_FAIL_LATER, any other kind means the caller has it better). */
void tls_upstream_failure(struct bufferevent *bev, short what, bool handshaken,
			  struct tls_failure *out);

/* F in words: "TLS handshake failed: certificate verify failed: unable to
 * get local issuer certificate", "connect Connection refused", ... */
void tls_upstream_failure_text(const struct tls_failure *f, char *buf, size_t len);

/* Both of the above for a connect or handshake failure, for the log. */
void tls_upstream_error(struct bufferevent *bev, short what, char *buf, size_t len);

/* What the handshake of BEV agreed, for the debug log: "TLSv1.3
 * TLS_AES_256_GCM_SHA384, new session" (or "..., resumed session"). */
void tls_upstream_describe(struct bufferevent *bev, char *buf, size_t len);

/* At log level debug: "pool POOL: server SERVER (ADDR): connected, " and
 * the above, for the TLS connection BEV that just connected. ADDR is the
 * server's address as written. */
void tls_upstream_log_connected(const char *pool, const char *server, const char *addr,
				struct bufferevent *bev);

#endif

/* tls_listener.h — TLS termination on a listener: the OpenSSL contexts
 * built from listeners[].tls, one per certificate, and the SSL objects of
 * accepted connections.
 *
 * The contexts belong to the configuration generation: they are built (and
 * every certificate and key checked) while the configuration loads, so
 * `lbd -t` and a reload reject a bad file before anything serves it, and
 * freed with the generation. An accepted connection's SSL holds references
 * to the contexts it uses, so a connection in flight keeps its certificate
 * and session across reloads.
 */
#ifndef LBD_TLS_LISTENER_H
#define LBD_TLS_LISTENER_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

struct listener_tls_conf;

/* Which setting a load error is about, so that the configuration loader
 * can point at its line. */
enum tls_part {
	TLS_PART_CERT,
	TLS_PART_KEY,
	TLS_PART_CIPHERS,
	TLS_PART_CIPHERSUITES,
	TLS_PART_CLIENT_CA,
	TLS_PART_OTHER,
};

struct tls_load_error {
	size_t cert; /* index into conf->certs (CERT, KEY) */
	enum tls_part part;
	char msg[512]; /* names the file; never the key's contents */
};

/* The default for ciphers (TLS 1.2): forward-secret AEAD suites only. */
#define TLS_DEFAULT_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

struct tls_listener;

/* What a listener offers by ALPN (RFC 7301). */
enum tls_alpn {
	TLS_ALPN_NONE,  /* tcp: no protocol is named */
	TLS_ALPN_HTTP1, /* http/1.1 */
	TLS_ALPN_H2,    /* h2 first, then http/1.1 */
};

/* Load every certificate and key of CONF and build the contexts, which
 * select a protocol by ALPN as ALPN says. Returns NULL with ERR filled. */
struct tls_listener *tls_listener_new(const struct listener_tls_conf *conf, enum tls_alpn alpn,
				      struct tls_load_error *err);
void tls_listener_free(struct tls_listener *t);

struct bufferevent;
struct event_base;

/* Whether the handshake on BEV (a TLS bufferevent) selected h2. */
bool tls_selected_h2(struct bufferevent *bev);

/* A new server-side SSL on the listener's contexts, or NULL. */
SSL *tls_listener_ssl(const struct tls_listener *t);

/* A bufferevent that accepts TLS on FD (handshake first) with SSL, which
 * it takes, or NULL; FD is still the caller's to close when it fails.
 * Freeing the bufferevent closes FD. Its callbacks are deferred to the
 * loop, so that writing from inside a callback (io_flush) never calls
 * another one back. */
struct bufferevent *tls_bev_new(SSL *ssl, struct event_base *base, int fd);

/* Both at once. */
struct bufferevent *tls_listener_bev(const struct tls_listener *t, struct event_base *base, int fd);

/* The longest client certificate subject passed on (X-Client-Cert-Subject);
 * a longer one is left out. */
#define TLS_SUBJECT_MAX 1024

/* The subject of the client certificate BEV's handshake verified, as an
 * RFC 4514 string ("CN=alice,O=Example", special and non-ASCII bytes
 * escaped), newly allocated; NULL when the client sent none (or it is
 * longer than TLS_SUBJECT_MAX). */
char *tls_client_subject(struct bufferevent *bev);

/* Why BEV's TLS failed, as OpenSSL says it (for the debug log). Returns
 * true when what arrived was a plain HTTP request. */
bool tls_error_text(struct bufferevent *bev, char *buf, size_t len);

/* Send the close_notify alert on BEV if it is a TLS bufferevent (before
 * shutting the socket down for writing). */
void tls_close_notify(struct bufferevent *bev);

#endif

/* tls_conf.h — the TLS settings as the configuration file gives them:
 * listeners[].tls (terminated by tls_listener.h) and pools[].tls (spoken to
 * the servers by tls_upstream.h).
 *
 * They are declared here, below the configuration, so that the TLS code
 * reads its settings without knowing the rest of the configuration model;
 * config.h embeds them in its listeners and pools.
 */
#ifndef LBD_TLS_CONF_H
#define LBD_TLS_CONF_H

#include <stdbool.h>
#include <stddef.h>

/* listeners[].tls */
enum tls_min_version {
	TLS_MIN_1_2,
	TLS_MIN_1_3,
};

struct tls_cert_conf {
	char *cert; /* PEM: the certificate, then its intermediates */
	char *key;  /* PEM, unencrypted */
};

struct tls_listener;

/* listeners[].tls.verify_client: what a client must show once client_ca
 * is set. Either way a certificate that does not verify against client_ca
 * fails the handshake; optional lets a client without one through. */
enum tls_verify_client {
	TLS_VERIFY_CLIENT_OFF = 0, /* no client_ca: no certificate is asked for */
	TLS_VERIFY_CLIENT_REQUIRED = 1,
	TLS_VERIFY_CLIENT_OPTIONAL = 2,
};

struct listener_tls_conf {
	struct tls_cert_conf *certs; /* the first is the default */
	size_t ncerts;
	enum tls_min_version min_version;
	char *ciphers;      /* TLS 1.2 cipher list; NULL: lbd's default */
	char *ciphersuites; /* TLS 1.3; NULL: OpenSSL's default */
	bool session_tickets;
	char *client_ca; /* PEM bundle of the CAs client certificates chain
			  * to; NULL: clients are not asked for one */
	enum tls_verify_client verify_client;
	struct tls_listener *ctx; /* built while loading (tls_listener.h) */
};

/* pools[].tls: lbd speaks TLS to the pool's servers. The OpenSSL side is
 * built from it at load time (tls_upstream.h) and freed with the
 * generation. */
#define POOL_TLS_MIN_VERSION_DEFAULT 0x0303 /* TLS 1.2, as OpenSSL names it */

struct tls_upstream;

struct pool_tls_conf {
	bool enabled;             /* a tls: section was written */
	bool verify;              /* check the server's certificate (default true) */
	char *ca;                 /* CA bundle file or directory; NULL: OpenSSL's default paths */
	char *sni;                /* NULL: each server's host when it is a name */
	char *verify_name;        /* NULL: sni, else each server's host (name or IP) */
	char *cert, *key;         /* client certificate (both or neither) */
	int min_version;          /* 0x0303 (TLS 1.2) or 0x0304 (TLS 1.3) */
	bool alpn_h2;             /* offer h2 by ALPN (a pool of protocol h2) */
	struct tls_upstream *ctx; /* built by tls_upstream_build(); NULL until then */
};

#endif

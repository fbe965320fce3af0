/* tls_upstream.c — the OpenSSL client side of pools[].tls: one SSL_CTX per
 * pool and generation, per-server names and session slots, TLS
 * bufferevents for the connection code and the health checks, and why a
 * TLS connection failed. */
#include "tls/tls_upstream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "util/addr.h"

/* What a server of the pool needs at connect time. */
struct tls_server {
	char *sni;                      /* NULL: no SNI extension */
	char *verify_name;              /* NULL: verification off */
	bool verify_ip;                 /* verify_name is an IP address */
	bool no_sessions;               /* a server known at run time: no slot */
	_Atomic(SSL_SESSION *) session; /* last session it gave; one reference */
};

/* Lives in the SSL_CTX's ex_data, so it goes when the last connection made
 * with the context does (a pooled connection may outlive its generation,
 * and OpenSSL calls new_session() on it when a session ticket arrives). */
struct tls_table {
	size_t n;
	struct tls_server srv[];
};

struct tls_upstream {
	SSL_CTX *ctx;            /* the generation's reference */
	struct tls_table *table; /* owned by ctx */
};

static int table_index = -1;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct tls_table *t = ptr;

	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		SSL_SESSION *s = atomic_load(&t->srv[i].session);
		if (s)
			SSL_SESSION_free(s);
		free(t->srv[i].sni);
		free(t->srv[i].verify_name);
	}
	free(t);
}

static void table_index_init(void)
{
	table_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, table_free);
}

/* The host part of an address as written ("name:443", "[::1]:443",
 * "10.0.0.1:443"); false for unix: addresses. */
static bool address_host(const char *text, char *host, size_t len)
{
	const char *end;

	if (strncmp(text, "unix:", 5) == 0)
		return false;
	if (text[0] == '[') {
		text++;
		end = strchr(text, ']');
	} else {
		end = strrchr(text, ':');
	}
	if (!end || (size_t)(end - text) >= len || end == text)
		return false;
	memcpy(host, text, (size_t)(end - text));
	host[end - text] = '\0';
	/* "fe80::1%eth0": the scope is not part of a certificate's address */
	char *pct = strchr(host, '%');
	if (pct)
		*pct = '\0';
	return true;
}

static bool is_ip(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* A new session from a server (after a full handshake, or a TLS 1.3 ticket
 * later on): a copy replaces the one in the server's slot. A copy, because
 * SESS stays the connection's own, and OpenSSL marks it not resumable when
 * the connection is freed without a close_notify sent (as lbd frees pooled
 * connections the server closed, or any connection on an error). */
static int new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_server *srv = SSL_get_app_data(ssl);
	SSL_SESSION *copy;

	if (!srv || !SSL_SESSION_is_resumable(sess) || !(copy = SSL_SESSION_dup(sess)))
		return 0;
	SSL_SESSION *old = atomic_exchange(&srv->session, copy);
	if (old)
		SSL_SESSION_free(old);
	return 0; /* OpenSSL keeps its reference to SESS */
}

static int fill_server(struct tls_server *ts, const struct pool_tls_conf *tc,
		       const struct tls_upstream_target *s, char *why, size_t why_len)
{
	char host[ADDR_TEXT_MAX];
	bool has_host = address_host(s->addr->text, host, sizeof(host));
	/* SNI carries names only (RFC 6066 §3): an IP literal sends none. */
	const char *sni = tc->sni ? tc->sni : has_host && !is_ip(host) ? host : NULL;
	const char *vname = tc->verify_name ? tc->verify_name :
			    tc->sni         ? tc->sni :
			    has_host        ? host :
					      NULL;

	if (tc->verify && !vname) {
		snprintf(why, why_len,
			 "server %s is a unix: address: give tls.sni or "
			 "tls.verify_name, the name its certificate must carry",
			 s->name);
		return -1;
	}
	if (sni && !(ts->sni = strdup(sni)))
		goto oom;
	if (tc->verify) {
		if (!(ts->verify_name = strdup(vname)))
			goto oom;
		ts->verify_ip = is_ip(vname);
	}
	return 0;
oom:
	snprintf(why, why_len, "out of memory");
	return -1;
}

/* The last OpenSSL error as a sentence ("no such file", "PEM lib"). */
static void ssl_reason(char *buf, size_t len, const char *fallback)
{
	unsigned long e, last = 0;
	const char *r;

	while ((e = ERR_get_error()) != 0)
		last = e;
	r = last ? ERR_reason_error_string(last) : NULL;
	snprintf(buf, len, "%s", r ? r : fallback);
}

/* OpenSSL says "system lib" for a missing file: say which and why first. */
static int readable(const char *path, const char *what, struct stat *st, char *why, size_t why_len)
{
	FILE *f = fopen(path, "r");

	if (!f || fstat(fileno(f), st) != 0) {
		snprintf(why, why_len, "cannot read %s %s: %s", what, path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static int load_ca(SSL_CTX *ctx, const char *ca, char *why, size_t why_len)
{
	struct stat st;
	int ok;

	if (!ca) {
		if (SSL_CTX_set_default_verify_paths(ctx) == 1)
			return 0;
		snprintf(why, why_len, "cannot load OpenSSL's default CA locations");
		return -1;
	}
	if (readable(ca, "CA file", &st, why, why_len) < 0)
		return -1;
	ERR_clear_error();
	ok = S_ISDIR(st.st_mode) ? SSL_CTX_load_verify_dir(ctx, ca) :
				   SSL_CTX_load_verify_file(ctx, ca);
	if (ok != 1) {
		char r[128];
		ssl_reason(r, sizeof(r), "no certificate found");
		snprintf(why, why_len, "cannot load CA %s %s: %s",
			 S_ISDIR(st.st_mode) ? "directory" : "file", ca, r);
		return -1;
	}
	return 0;
}

static int load_client_cert(SSL_CTX *ctx, const struct pool_tls_conf *tc,
			    enum tls_upstream_key *key, char *why, size_t why_len)
{
	struct stat st;
	char r[128];

	if (readable(tc->cert, "certificate", &st, why, why_len) < 0) {
		*key = TLS_KEY_CERT;
		return -1;
	}
	if (readable(tc->key, "key", &st, why, why_len) < 0) {
		*key = TLS_KEY_KEY;
		return -1;
	}
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, tc->cert) != 1) {
		ssl_reason(r, sizeof(r), "no certificate found");
		snprintf(why, why_len, "cannot load certificate %s: %s", tc->cert, r);
		*key = TLS_KEY_CERT;
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, tc->key, SSL_FILETYPE_PEM) != 1) {
		ssl_reason(r, sizeof(r), "no key found");
		snprintf(why, why_len, "cannot load key %s: %s", tc->key, r);
		*key = TLS_KEY_KEY;
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(why, why_len, "key %s does not match certificate %s", tc->key, tc->cert);
		*key = TLS_KEY_KEY;
		return -1;
	}
	return 0;
}

int tls_upstream_build(struct pool_tls_conf *tc, const struct tls_upstream_target *servers,
		       size_t n, enum tls_upstream_key *key, char *why, size_t why_len)
{
	struct tls_upstream *t = NULL;
	struct tls_table *table = NULL;
	SSL_CTX *ctx = NULL;

	*key = TLS_KEY_NONE;
	pthread_once(&table_once, table_index_init);
	if (table_index < 0)
		goto oom;
	t = calloc(1, sizeof(*t));
	table = calloc(1, sizeof(*table) + n * sizeof(table->srv[0]));
	ctx = SSL_CTX_new(TLS_client_method());
	if (!t || !table || !ctx)
		goto oom;
	if (SSL_CTX_set_ex_data(ctx, table_index, table) != 1)
		goto oom;
	table->n = n;
	t->ctx = ctx;
	t->table = table;
	table = NULL; /* the context frees it from now on */
	for (size_t i = 0; i < n; i++)
		if (fill_server(&t->table->srv[i], tc, &servers[i], why, why_len) < 0)
			goto fail;
	SSL_CTX_set_min_proto_version(ctx, tc->min_version);
	/* An h2 pool's servers must agree to HTTP/2 (RFC 9113 §3.2). */
	if (tc->alpn_h2 && SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)"\x02h2", 3) != 0)
		goto oom;
	/* OpenSSL 3 makes an end of stream without close_notify a protocol
	 * error; lbd takes it for an end of stream (with libevent's
	 * allow_dirty_shutdown), as servers often close that way. Responses
	 * are framed, so a cut one is still seen as incomplete. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Idle pooled connections should not hold 2 x 16 KiB of buffers. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(ctx, tc->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	/* Sessions are kept per server by new_session(), not in OpenSSL's
	 * cache (which would be one shared, locked table). */
	SSL_CTX_set_session_cache_mode(ctx,
				       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, new_session);
	if (tc->verify || tc->ca) {
		if (load_ca(ctx, tc->ca, why, why_len) < 0) {
			*key = TLS_KEY_CA;
			goto fail;
		}
	}
	if (tc->cert && load_client_cert(ctx, tc, key, why, why_len) < 0)
		goto fail;
	tc->ctx = t;
	return 0;
oom:
	snprintf(why, why_len, "out of memory");
fail:
	SSL_CTX_free(ctx); /* and the table, once it is the context's */
	free(table);
	free(t);
	return -1;
}

void tls_upstream_free(struct tls_upstream *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

static struct tls_server *server_of(const struct pool_tls_conf *tc, size_t i)
{
	if (!tc->ctx || i >= tc->ctx->table->n)
		return NULL;
	return &tc->ctx->table->srv[i];
}

const char *tls_upstream_sni(const struct pool_tls_conf *tc, size_t server)
{
	struct tls_server *ts = server_of(tc, server);

	return ts ? ts->sni : NULL;
}

const char *tls_upstream_verify_name(const struct pool_tls_conf *tc, size_t server)
{
	struct tls_server *ts = server_of(tc, server);

	return ts ? ts->verify_name : NULL;
}

/* Offer the server's last session: take it out of the slot (so no other
 * thread frees it meanwhile), give the connection a copy of its own (see
 * new_session()), put it back unless a newer one arrived. */
static void offer_session(SSL *ssl, struct tls_server *ts)
{
	SSL_SESSION *s = atomic_exchange(&ts->session, NULL);
	SSL_SESSION *none = NULL, *copy;

	if (!s)
		return;
	if ((copy = SSL_SESSION_dup(s)) != NULL) {
		SSL_set_session(ssl, copy);
		SSL_SESSION_free(copy);
	}
	if (!atomic_compare_exchange_strong(&ts->session, &none, s))
		SSL_SESSION_free(s);
}

static SSL *new_ssl(SSL_CTX *ctx, struct tls_server *ts)
{
	SSL *ssl = SSL_new(ctx);

	if (!ssl)
		return NULL;
	/* A server known at run time keeps no session slot: its entry may go
	 * while connections made for it live on (new_session() sees NULL). */
	SSL_set_app_data(ssl, ts->no_sessions ? NULL : ts);
	if (ts->sni && SSL_set_tlsext_host_name(ssl, ts->sni) != 1)
		goto fail;
	if (ts->verify_name) {
		if (ts->verify_ip) {
			if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ts->verify_name) !=
			    1)
				goto fail;
		} else {
			SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			if (SSL_set1_host(ssl, ts->verify_name) != 1)
				goto fail;
		}
	}
	if (!ts->no_sessions)
		offer_session(ssl, ts);
	return ssl;
fail:
	SSL_free(ssl);
	return NULL;
}

static struct bufferevent *new_bev(struct event_base *base, SSL_CTX *ctx, struct tls_server *ts)
{
	struct bufferevent *bev;
	SSL *ssl;

	if (!ts || !(ssl = new_ssl(ctx, ts)))
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		return NULL; /* with BEV_OPT_CLOSE_ON_FREE libevent freed SSL */
	/* Many servers close without close_notify after a response; framing
	 * (Content-Length, chunked) is what tells a complete response. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

struct bufferevent *tls_upstream_bev(struct event_base *base, const struct pool_tls_conf *tc,
				     size_t server)
{
	struct tls_server *ts = server_of(tc, server);

	return ts ? new_bev(base, tc->ctx->ctx, ts) : NULL;
}

struct tls_upstream_peer {
	SSL_CTX *ctx;           /* a reference of its own */
	struct tls_server *ts;  /* in ctx's table, or OWN */
	struct tls_server *own; /* a server known at run time: its names */
};

struct tls_upstream_peer *tls_upstream_peer_new(const struct pool_tls_conf *tc, size_t server)
{
	struct tls_server *ts = server_of(tc, server);
	struct tls_upstream_peer *peer;

	if (!ts || !(peer = calloc(1, sizeof(*peer))))
		return NULL;
	if (SSL_CTX_up_ref(tc->ctx->ctx) != 1) {
		free(peer);
		return NULL;
	}
	peer->ctx = tc->ctx->ctx;
	peer->ts = ts;
	return peer;
}

void tls_upstream_peer_free(struct tls_upstream_peer *peer)
{
	if (!peer)
		return;
	SSL_CTX_free(peer->ctx); /* and the table, when it was the last one */
	if (peer->own) {
		free(peer->own->sni);
		free(peer->own->verify_name);
		free(peer->own);
	}
	free(peer);
}

struct bufferevent *tls_upstream_peer_bev(struct event_base *base,
					  const struct tls_upstream_peer *peer)
{
	return new_bev(base, peer->ctx, peer->ts);
}

/* The names of server NAME at ADDR under TC, for a server known at run
 * time (no session slot). 0, or -1 with nothing held. */
static int dynamic_server(struct tls_server *ts, const struct pool_tls_conf *tc, const char *name,
			  const struct lbd_addr *addr)
{
	const struct tls_upstream_target t = { .name = name, .addr = addr };
	char why[256];

	memset(ts, 0, sizeof(*ts));
	ts->no_sessions = true;
	if (fill_server(ts, tc, &t, why, sizeof(why)) < 0) {
		free(ts->sni);
		free(ts->verify_name);
		log_warn("server %s: %s", name, why);
		return -1;
	}
	return 0;
}

struct bufferevent *tls_upstream_bev_for(struct event_base *base, const struct pool_tls_conf *tc,
					 const char *name, const struct lbd_addr *addr)
{
	struct tls_server ts;
	struct bufferevent *bev;

	if (!tc->ctx || dynamic_server(&ts, tc, name, addr) < 0)
		return NULL;
	bev = new_bev(base, tc->ctx->ctx, &ts); /* the SSL copied the names */
	free(ts.sni);
	free(ts.verify_name);
	return bev;
}

struct tls_upstream_peer *tls_upstream_peer_for(const struct pool_tls_conf *tc, const char *name,
						const struct lbd_addr *addr)
{
	struct tls_upstream_peer *peer = calloc(1, sizeof(*peer));

	if (!peer || !tc->ctx || !(peer->own = malloc(sizeof(*peer->own))) ||
	    dynamic_server(peer->own, tc, name, addr) < 0 || SSL_CTX_up_ref(tc->ctx->ctx) != 1) {
		if (peer)
			free(peer->own);
		free(peer);
		return NULL;
	}
	peer->ctx = tc->ctx->ctx;
	peer->ts = peer->own;
	return peer;
}

const void *tls_upstream_pool_identity(const struct pool_tls_conf *tc)
{
	return tc->ctx ? (const void *)tc->ctx->ctx : NULL;
}

/* An OpenSSL error code as its library and reason only (no system flag),
 * so that it fits an int and still names its reason text (a system error
 * is the library SYS with errno as the reason). */
static int reason_code(unsigned long e)
{
	return (int)ERR_PACK(ERR_GET_LIB(e), 0, ERR_GET_REASON(e));
}

void tls_upstream_failure(struct bufferevent *bev, short what, bool handshaken,
			  struct tls_failure *out)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	int err = EVUTIL_SOCKET_ERROR();
	unsigned long e, first = 0;

	*out = (struct tls_failure){ TLS_FAIL_OTHER, 0 };
	if (what & BEV_EVENT_TIMEOUT) {
		out->kind = TLS_FAIL_TIMEOUT;
		return;
	}
	if (!handshaken && ssl && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER)) {
		long v = SSL_get_verify_result(ssl);
		if (v != X509_V_OK) {
			*out = (struct tls_failure){ TLS_FAIL_VERIFY, (int)v };
			return;
		}
	}
	/* libevent keeps the OpenSSL errors of the connection (and the
	 * SSL_get_error() codes, which have no reason text); the first with
	 * a text is the cause. */
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (!first && ERR_reason_error_string(e))
			first = e;
	if (first) {
		*out = (struct tls_failure){ handshaken ? TLS_FAIL_LATER : TLS_FAIL_REASON,
					     reason_code(first) };
		return;
	}
	if (handshaken)
		return;
	if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
		err = 0;
	/* Not a byte of the ClientHello went out: the TCP connect failed
	 * (libevent reports a refused connect as a dirty end of stream). */
	if (err && ssl && BIO_number_written(SSL_get_wbio(ssl)) == 0)
		*out = (struct tls_failure){ TLS_FAIL_CONNECT, err };
	else if (what & BEV_EVENT_EOF)
		out->kind = TLS_FAIL_CLOSED;
	else if (err)
		*out = (struct tls_failure){ TLS_FAIL_ERRNO, err };
}

void tls_upstream_failure_text(const struct tls_failure *f, char *buf, size_t len)
{
	const char *r;

	switch (f->kind) {
	case TLS_FAIL_TIMEOUT:
		snprintf(buf, len, "connect or TLS handshake timed out");
		return;
	case TLS_FAIL_CONNECT:
		snprintf(buf, len, "connect %s", evutil_socket_error_to_string(f->code));
		return;
	case TLS_FAIL_VERIFY:
		snprintf(buf, len, "TLS handshake failed: certificate verify failed: %s",
			 X509_verify_cert_error_string(f->code));
		return;
	case TLS_FAIL_REASON:
	case TLS_FAIL_LATER:
		r = ERR_reason_error_string((unsigned long)f->code);
		snprintf(buf, len, "%s: %s",
			 f->kind == TLS_FAIL_LATER ? "TLS error after the "
						     "handshake" :
						     "TLS handshake failed",
			 r ? r : "unknown error");
		return;
	case TLS_FAIL_CLOSED:
		snprintf(buf, len, "TLS handshake failed: the server closed the connection");
		return;
	case TLS_FAIL_ERRNO:
		snprintf(buf, len, "TLS handshake failed: %s",
			 evutil_socket_error_to_string(f->code));
		return;
	case TLS_FAIL_NONE:
	case TLS_FAIL_OTHER:
		break;
	}
	snprintf(buf, len, "TLS handshake failed");
}

void tls_upstream_error(struct bufferevent *bev, short what, char *buf, size_t len)
{
	struct tls_failure f;

	tls_upstream_failure(bev, what, false, &f);
	tls_upstream_failure_text(&f, buf, len);
}

void tls_upstream_describe(struct bufferevent *bev, char *buf, size_t len)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	if (!ssl) {
		snprintf(buf, len, "no TLS");
		return;
	}
	snprintf(buf, len, "%s %s, %s session", SSL_get_version(ssl), SSL_get_cipher_name(ssl),
		 SSL_session_reused(ssl) ? "resumed" : "new");
}

void tls_upstream_log_connected(const char *pool, const char *server, const char *addr,
				struct bufferevent *bev)
{
	char tls[160];

	if (log_get_level() < LOG_LEVEL_DEBUG)
		return;
	tls_upstream_describe(bev, tls, sizeof(tls));
	log_debug("pool %s: server %s (%s): connected, %s", pool, server, addr, tls);
}

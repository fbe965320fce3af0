/* tls_listener.c — loading and checking certificates and keys, one
 * SSL_CTX per certificate configured alike, SNI (tls_sni.h) switching a
 * connection to its certificate's context, ALPN, and tickets
 * (tls_tickets.h).
 *
 * The first context is the one every connection starts on; the SNI table
 * and the other contexts hang off it (ex_data), so they live exactly as
 * long as it does, which is as long as the generation or the last
 * connection that started on it.
 */
#include "tls/tls_listener.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls/tls_conf.h"
#include "tls/tls_sni.h"
#include "tls/tls_tickets.h"

struct tls_listener {
	SSL_CTX *ctx; /* the default certificate's; one reference */
};

/* What the first context carries for the SNI callback. */
struct sni_set {
	struct tls_sni names;
	SSL_CTX **ctxs; /* [0] is the first context itself (no reference) */
	size_t n;
};

static int sni_index = -1;
static pthread_once_t sni_once = PTHREAD_ONCE_INIT;

static void sni_set_free(struct sni_set *s)
{
	if (!s)
		return;
	for (size_t i = 1; i < s->n; i++)
		SSL_CTX_free(s->ctxs[i]);
	free(s->ctxs);
	tls_sni_free(&s->names);
	free(s);
}

static void sni_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	sni_set_free(ptr);
}

static void sni_index_init(void)
{
	sni_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, sni_ex_free);
}

static void fail(struct tls_load_error *err, enum tls_part part, size_t cert, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail(struct tls_load_error *err, enum tls_part part, size_t cert, const char *fmt, ...)
{
	va_list ap;

	err->part = part;
	err->cert = cert;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	ERR_clear_error();
}

/* OpenSSL's reason for the last failure, without the queue's noise. */
static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unknown error";
}

/* Never prompt for a passphrase (lbd has no terminal): an encrypted key
 * simply fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

static BIO *open_file(const char *path, const char *what, enum tls_part part, size_t i,
		      struct tls_load_error *err)
{
	FILE *f = fopen(path, "re");

	if (!f) {
		fail(err, part, i, "cannot open %s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	BIO *b = BIO_new_fp(f, BIO_CLOSE);
	if (!b) {
		fclose(f);
		fail(err, part, i, "out of memory reading %s", path);
	}
	return b;
}

static void time_text(const ASN1_TIME *t, char *buf, size_t len)
{
	BIO *m = BIO_new(BIO_s_mem());
	int n = 0;

	buf[0] = '\0';
	if (m && ASN1_TIME_print(m, t))
		n = BIO_read(m, buf, (int)len - 1);
	buf[n > 0 ? n : 0] = '\0';
	BIO_free(m);
}

struct pair {
	X509 *cert;
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
};

static void pair_free(struct pair *p)
{
	X509_free(p->cert);
	sk_X509_pop_free(p->chain, X509_free);
	EVP_PKEY_free(p->key);
}

/* The certificate, the intermediates after it in the same file, and the
 * key; checked for dates and for matching. */
static int load_pair(const struct tls_cert_conf *cc, size_t i, struct pair *p,
		     struct tls_load_error *err)
{
	char when[64];
	BIO *b;

	ERR_clear_error();
	if (!(b = open_file(cc->cert, "certificate", TLS_PART_CERT, i, err)))
		return -1;
	p->cert = PEM_read_bio_X509_AUX(b, NULL, no_passphrase, NULL);
	if (!p->cert) {
		fail(err, TLS_PART_CERT, i, "%s: no PEM certificate (%s)", cc->cert, ssl_reason());
		BIO_free(b);
		return -1;
	}
	p->chain = sk_X509_new_null();
	for (X509 *x; p->chain && (x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL));) {
		if (!sk_X509_push(p->chain, x)) {
			X509_free(x);
			break;
		}
	}
	BIO_free(b);
	unsigned long e = ERR_peek_last_error();
	if (!p->chain ||
	    (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE))) {
		fail(err, TLS_PART_CERT, i, "%s: bad PEM after the first certificate (%s)",
		     cc->cert, p->chain ? ssl_reason() : "out of memory");
		return -1;
	}
	ERR_clear_error();
	if (X509_cmp_current_time(X509_get0_notAfter(p->cert)) <= 0) {
		time_text(X509_get0_notAfter(p->cert), when, sizeof(when));
		fail(err, TLS_PART_CERT, i, "certificate %s expired on %s", cc->cert, when);
		return -1;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(p->cert)) > 0) {
		time_text(X509_get0_notBefore(p->cert), when, sizeof(when));
		fail(err, TLS_PART_CERT, i, "certificate %s is not valid before %s", cc->cert,
		     when);
		return -1;
	}
	if (!(b = open_file(cc->key, "private key", TLS_PART_KEY, i, err)))
		return -1;
	p->key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
	BIO_free(b);
	if (!p->key) {
		fail(err, TLS_PART_KEY, i, "%s: no unencrypted PEM private key (%s)", cc->key,
		     ssl_reason());
		return -1;
	}
	if (X509_check_private_key(p->cert, p->key) != 1) {
		fail(err, TLS_PART_KEY, i, "private key %s does not match certificate %s", cc->key,
		     cc->cert);
		return -1;
	}
	return 0;
}

/* The names SNI can select certificate I by: its DNS subjectAltNames, or
 * its subject CN when it has none. */
static int add_names(struct tls_sni *names, X509 *x, size_t i)
{
	GENERAL_NAMES *san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int rc = 0, dns = 0;

	for (int k = 0; san && k < sk_GENERAL_NAME_num(san); k++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(san, k);
		if (g->type != GEN_DNS)
			continue;
		dns++;
		if (tls_sni_add(names, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
				(size_t)ASN1_STRING_length(g->d.dNSName), i) < 0)
			rc = -1;
	}
	GENERAL_NAMES_free(san);
	if (dns)
		return rc;
	const X509_NAME *subj = X509_get_subject_name(x);
	int at = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	if (at < 0)
		return 0;
	const ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, at));
	return tls_sni_add(names, (const char *)ASN1_STRING_get0_data(cn),
			   (size_t)ASN1_STRING_length(cn), i);
}

/* The server's preference, in ALPN's wire form. */
static const unsigned char alpn_h1[] = "\x08http/1.1";
static const unsigned char alpn_h2[] = "\x02h2\x08http/1.1";

static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	const unsigned char *ours = arg;
	unsigned int len = ours == alpn_h2 ? sizeof(alpn_h2) - 1 : sizeof(alpn_h1) - 1;
	unsigned char *sel;

	(void)ssl;
	/* A client offering only other protocols still gets a handshake,
	 * without ALPN: it may speak HTTP/1.1 anyway. */
	if (SSL_select_next_proto(&sel, outlen, ours, len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static int on_servername(SSL *ssl, int *alert, void *arg)
{
	const struct sni_set *s = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	size_t i = tls_sni_pick(&s->names, name);

	(void)alert;
	if (i > 0 && i < s->n && !SSL_set_SSL_CTX(ssl, s->ctxs[i]))
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

/* Session tickets are shared by every listener and survive reloads, and a
 * resumed session skips the client certificate: a session may resume only
 * where the same CAs and verify_client would have checked it. The session
 * id context says so: a digest of the CA file and the mode, where other
 * listeners have "lbd". */
static int client_sid_ctx(SSL_CTX *ctx, const struct listener_tls_conf *conf, size_t i,
			  struct tls_load_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[4096], mode = (unsigned char)conf->verify_client;
	unsigned int md_len = 0;
	EVP_MD_CTX *mdc = EVP_MD_CTX_new();
	BIO *in = BIO_new_file(conf->client_ca, "rb");
	int n, ok = mdc && in && EVP_DigestInit_ex(mdc, EVP_sha256(), NULL) == 1 &&
		    EVP_DigestUpdate(mdc, &mode, 1) == 1;

	while (ok && (n = BIO_read(in, buf, sizeof(buf))) > 0)
		ok = EVP_DigestUpdate(mdc, buf, (size_t)n) == 1;
	ok = ok && EVP_DigestFinal_ex(mdc, md, &md_len) == 1 &&
	     SSL_CTX_set_session_id_context(ctx, md,
					    md_len < SSL_MAX_SID_CTX_LENGTH ?
						    md_len :
						    SSL_MAX_SID_CTX_LENGTH) == 1;
	BIO_free(in);
	EVP_MD_CTX_free(mdc);
	if (!ok)
		fail(err, TLS_PART_CLIENT_CA, i, "%s: cannot read it (%s)", conf->client_ca,
		     ssl_reason());
	return ok ? 0 : -1;
}

/* Every context of the listener asks for a client certificate the same
 * way, so that the one SNI picks verifies as the first would. A
 * certificate that does not verify fails the handshake (OpenSSL's own
 * check); verify_client: optional only lets a client without one in. */
static int ask_client_cert(SSL_CTX *ctx, const struct listener_tls_conf *conf, size_t i,
			   struct tls_load_error *err)
{
	STACK_OF(X509_NAME) *names;

	ERR_clear_error();
	names = SSL_load_client_CA_file(conf->client_ca);
	if (!names || sk_X509_NAME_num(names) == 0) {
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		fail(err, TLS_PART_CLIENT_CA, i, "%s: no PEM certificate could be read (%s)",
		     conf->client_ca, ERR_peek_error() ? ssl_reason() : "empty or not PEM");
		return -1;
	}
	if (SSL_CTX_load_verify_locations(ctx, conf->client_ca, NULL) != 1) {
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		fail(err, TLS_PART_CLIENT_CA, i, "%s: cannot use these CA certificates (%s)",
		     conf->client_ca, ssl_reason());
		return -1;
	}
	SSL_CTX_set_client_CA_list(ctx, names); /* the context's now */
	if (client_sid_ctx(ctx, conf, i, err) < 0)
		return -1;
	SSL_CTX_set_verify(ctx,
			   SSL_VERIFY_PEER | (conf->verify_client == TLS_VERIFY_CLIENT_REQUIRED ?
						      SSL_VERIFY_FAIL_IF_NO_PEER_CERT :
						      0),
			   NULL);
	return 0;
}

/* A context for one certificate, with every setting of CONF. */
static SSL_CTX *ctx_new(const struct listener_tls_conf *conf, enum tls_alpn alpn, struct pair *p,
			size_t i, struct tls_load_error *err)
{
	static const unsigned char sid_ctx[] = "lbd";
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		fail(err, TLS_PART_OTHER, i, "cannot create a TLS context (%s)", ssl_reason());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, conf->min_version == TLS_MIN_1_3 ? TLS1_3_VERSION :
									      TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
					 (conf->session_tickets ? 0 : SSL_OP_NO_TICKET));
	/* No per-context session cache: it would be per generation and
	 * locked across threads; tickets resume sessions instead. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* An idle keep-alive connection keeps no 16 KiB record buffers (as
	 * nginx and HAProxy do): thousands of them stay cheap. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_timeout(ctx, TLS_TICKET_PERIOD_S);
	SSL_CTX_set_num_tickets(ctx, conf->session_tickets ? 1 : 0);
	if (!SSL_CTX_set_cipher_list(ctx, conf->ciphers ? conf->ciphers : TLS_DEFAULT_CIPHERS)) {
		fail(err, TLS_PART_CIPHERS, i, "no cipher of \"%s\" is known to OpenSSL",
		     conf->ciphers ? conf->ciphers : TLS_DEFAULT_CIPHERS);
		goto bad;
	}
	if (conf->ciphersuites && !SSL_CTX_set_ciphersuites(ctx, conf->ciphersuites)) {
		fail(err, TLS_PART_CIPHERSUITES, i,
		     "\"%s\" is not a list of TLS 1.3 ciphersuites "
		     "known to OpenSSL",
		     conf->ciphersuites);
		goto bad;
	}
	if (alpn != TLS_ALPN_NONE)
		SSL_CTX_set_alpn_select_cb(ctx, select_alpn,
					   (void *)(alpn == TLS_ALPN_H2 ? alpn_h2 : alpn_h1));
	if (conf->session_tickets && tls_tickets_attach(ctx) < 0) {
		fail(err, TLS_PART_OTHER, i, "cannot set up session tickets (%s)", ssl_reason());
		goto bad;
	}
	if (SSL_CTX_use_cert_and_key(ctx, p->cert, p->key, p->chain, 1) != 1) {
		fail(err, TLS_PART_CERT, i, "%s: cannot use this certificate (%s)",
		     conf->certs[i].cert, ssl_reason());
		goto bad;
	}
	if (conf->client_ca && ask_client_cert(ctx, conf, i, err) < 0)
		goto bad;
	return ctx;
bad:
	SSL_CTX_free(ctx);
	return NULL;
}

struct tls_listener *tls_listener_new(const struct listener_tls_conf *conf, enum tls_alpn alpn,
				      struct tls_load_error *err)
{
	struct tls_listener *t = calloc(1, sizeof(*t));
	struct sni_set *s = calloc(1, sizeof(*s));
	SSL_CTX *first;

	pthread_once(&sni_once, sni_index_init);
	if (s)
		s->ctxs = calloc(conf->ncerts, sizeof(*s->ctxs));
	if (!t || !s || !s->ctxs || sni_index < 0) {
		fail(err, TLS_PART_OTHER, 0, "out of memory");
		goto bad;
	}
	for (size_t i = 0; i < conf->ncerts; i++) {
		struct pair p = { 0 };
		if (load_pair(&conf->certs[i], i, &p, err) < 0) {
			pair_free(&p);
			goto bad;
		}
		s->ctxs[i] = ctx_new(conf, alpn, &p, i, err);
		int named = s->ctxs[i] ? add_names(&s->names, p.cert, i) : 0;
		pair_free(&p);
		if (!s->ctxs[i])
			goto bad;
		s->n = i + 1;
		if (named < 0) {
			fail(err, TLS_PART_OTHER, i, "out of memory");
			goto bad;
		}
	}
	tls_sni_finish(&s->names);
	t->ctx = s->ctxs[0];
	if (conf->ncerts > 1)
		SSL_CTX_set_tlsext_servername_callback(t->ctx, on_servername);
	SSL_CTX_set_tlsext_servername_arg(t->ctx, s);
	if (!SSL_CTX_set_ex_data(t->ctx, sni_index, s)) {
		fail(err, TLS_PART_OTHER, 0, "out of memory");
		goto bad;
	}
	return t;
bad:
	/* The set is not owned by the first context yet: free both. */
	first = s && s->n ? s->ctxs[0] : NULL;
	sni_set_free(s);
	SSL_CTX_free(first);
	free(t);
	return NULL;
}

void tls_listener_free(struct tls_listener *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

SSL *tls_listener_ssl(const struct tls_listener *t)
{
	return SSL_new(t->ctx);
}

struct bufferevent *tls_listener_bev(const struct tls_listener *t, struct event_base *base, int fd)
{
	SSL *ssl = SSL_new(t->ctx);

	return ssl ? tls_bev_new(ssl, base, fd) : NULL;
}

struct bufferevent *tls_bev_new(SSL *ssl, struct event_base *base, int fd)
{
	struct bufferevent *bev;

	/* Created without its descriptor, then given it: libevent's failure
	 * paths may close the descriptor they were given, and the caller
	 * closes FD when this fails. */
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev)
		return NULL; /* libevent freed SSL with the rest it had built */
	if (bufferevent_setfd(bev, fd) < 0) {
		bufferevent_setfd(bev, -1);
		bufferevent_free(bev);
		return NULL;
	}
	/* A client that closes without close_notify ends the stream like
	 * any TCP peer; HTTP framing tells a cut response from a whole one. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

char *tls_client_subject(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	X509 *cert = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	char *out = NULL;

	if (!cert || SSL_get_verify_result(ssl) != X509_V_OK)
		return NULL;
	BIO *mem = BIO_new(BIO_s_mem());
	if (!mem)
		return NULL;
	/* RFC 2253 order and escaping, the most specific name first;
	 * bytes beyond ASCII and controls come out as \XX escapes, so the
	 * text is fit for a header field. */
	int n = X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
	if (n > 0 && n <= TLS_SUBJECT_MAX && (out = malloc((size_t)n + 1)) != NULL) {
		BIO_read(mem, out, n);
		out[n] = '\0';
	}
	BIO_free(mem);
	return out;
}

bool tls_error_text(struct bufferevent *bev, char *buf, size_t len)
{
	unsigned long e, cause = 0;

	/* libevent hands the errors back newest first, and among them the
	 * SSL_get_error() code, which is no OpenSSL error: the oldest real
	 * error is the cause. */
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (ERR_reason_error_string(e))
			cause = e;
	if (cause)
		snprintf(buf, len, "%s", ERR_reason_error_string(cause));
	else
		snprintf(buf, len, "connection closed or reset");
	return cause && ERR_GET_LIB(cause) == ERR_LIB_SSL &&
	       ERR_GET_REASON(cause) == SSL_R_HTTP_REQUEST;
}

void tls_close_notify(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	if (ssl && SSL_is_init_finished(ssl))
		SSL_shutdown(ssl);
}

bool tls_selected_h2(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	const unsigned char *proto = NULL;
	unsigned int len = 0;

	if (!ssl)
		return false;
	SSL_get0_alpn_selected(ssl, &proto, &len);
	return len == 2 && proto[0] == 'h' && proto[1] == '2';
}

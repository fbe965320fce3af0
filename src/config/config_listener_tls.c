/* config_listener_tls.c — the listeners[].tls section: its keys, and loading the
 * certificates and keys it names while the configuration loads, so that a
 * missing file, a bad PEM, an expired certificate or a key that does not
 * match is an error at the line that names it (lbd -t, reload). */
#include "config/config_schema.h"

#include <stdlib.h>
#include <string.h>

#include "tls/tls_listener.h"

_Static_assert(sizeof(enum tls_min_version) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tls_verify_client) == sizeof(int), "enum size");

#define TLS_PATH_MAX 4096
#define TLS_CIPHERS_MAX 2048

static const struct enum_name tls_versions[] = {
	{ "1.2", TLS_MIN_1_2 },
	{ "1.3", TLS_MIN_1_3 },
	{ NULL, 0 },
};

static const struct enum_name verify_clients[] = {
	{ "required", TLS_VERIFY_CLIENT_REQUIRED },
	{ "optional", TLS_VERIFY_CLIENT_OPTIONAL },
	{ NULL, 0 },
};

/* A path; a relative one is taken from the directory of the file that
 * writes it (the main file or an included one), so that a configuration
 * and its certificates can move together. Pools' CA, certificate and key
 * files take the same form. */
void field_tls_path(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	const char *s = walk_scalar(w, v, "a file path");
	const char *base = v->file ? v->file : w->cfg->path, *slash = strrchr(base, '/');
	char **slot = (char **)((char *)obj + f->off);
	size_t dir = s && s[0] != '/' && slash ? (size_t)(slash - base) + 1 : 0;
	char *p;

	if (!s)
		return;
	if (!s[0]) {
		cerr_at(w->errs, v, "expected a file path, got an empty string");
		return;
	}
	if (strlen(s) + dir >= TLS_PATH_MAX) {
		cerr_at(w->errs, v, "expected a file path of less than %d bytes", TLS_PATH_MAX);
		return;
	}
	p = malloc(dir + strlen(s) + 1);
	if (!p) {
		cerr_at(w->errs, v, "out of memory");
		return;
	}
	memcpy(p, base, dir);
	strcpy(p + dir, s);
	free(*slot);
	*slot = p;
}

/* An OpenSSL cipher list: OpenSSL itself says whether it knows the names
 * (tls_listener_new); here only its form is checked. */
static void field_cipher_list(struct walk *w, const struct field *f, const struct cnode *v,
			      void *obj)
{
	static const char what[] = "an OpenSSL cipher list such as ECDHE+AESGCM:ECDHE+CHACHA20";
	const char *s = walk_scalar(w, v, what);
	char **slot = (char **)((char *)obj + f->off);

	if (!s)
		return;
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			cerr_at(w->errs, v, "expected %s, without spaces or control characters",
				what);
			return;
		}
	}
	if (strlen(s) > TLS_CIPHERS_MAX) {
		cerr_at(w->errs, v, "expected %s of at most %d bytes", what, TLS_CIPHERS_MAX);
		return;
	}
	char *copy = strdup(s);
	if (!copy) {
		cerr_at(w->errs, v, "out of memory");
		return;
	}
	free(*slot);
	*slot = copy;
}

static const struct field cert_fields[] = {
	{ "cert", field_tls_path, offsetof(struct tls_cert_conf, cert), 0, 0, NULL, true },
	{ "key", field_tls_path, offsetof(struct tls_cert_conf, key), 0, 0, NULL, true },
};
const struct section listener_tls_cert_section = SECTION(cert_fields);

void field_certificates(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct listener_tls_conf *t = obj;

	if (!walk_list(w, v, "certificates ({cert: PATH, key: PATH})"))
		return;
	t->certs = calloc(v->n, sizeof(*t->certs));
	if (!t->certs) {
		cerr_at(w->errs, v, "out of memory");
		return;
	}
	t->ncerts = v->n;
	for (size_t i = 0; i < v->n; i++)
		walk_section(w, f->arg, v->items[i], &t->certs[i]);
}

static const struct field tls_fields[] = {
	{ "certificates", field_certificates, 0, 0, 0, &listener_tls_cert_section, true },
	{ "min_version", field_enum, offsetof(struct listener_tls_conf, min_version), 0, 0,
	  tls_versions, false },
	{ "ciphers", field_cipher_list, offsetof(struct listener_tls_conf, ciphers), 0, 0, NULL,
	  false },
	{ "ciphersuites", field_cipher_list, offsetof(struct listener_tls_conf, ciphersuites), 0, 0,
	  NULL, false },
	{ "session_tickets", field_bool, offsetof(struct listener_tls_conf, session_tickets), 0, 0,
	  NULL, false },
	{ "client_ca", field_tls_path, offsetof(struct listener_tls_conf, client_ca), 0, 0, NULL,
	  false },
	{ "verify_client", field_enum, offsetof(struct listener_tls_conf, verify_client), 0, 0,
	  verify_clients, false },
};
const struct section listener_tls_section = SECTION(tls_fields);

/* The line a load error is about. */
static const struct cnode *error_node(const struct cnode *v, const struct tls_load_error *e)
{
	const struct cnode *certs = cnode_get(v, "certificates"), *n = NULL;

	switch (e->part) {
	case TLS_PART_CERT:
	case TLS_PART_KEY:
		if (certs && certs->kind == CNODE_SEQ && e->cert < certs->n)
			n = cnode_get(certs->items[e->cert],
				      e->part == TLS_PART_CERT ? "cert" : "key");
		break;
	case TLS_PART_CIPHERS:
		n = cnode_get(v, "ciphers");
		break;
	case TLS_PART_CIPHERSUITES:
		n = cnode_get(v, "ciphersuites");
		break;
	case TLS_PART_CLIENT_CA:
		n = cnode_get(v, "client_ca");
		break;
	case TLS_PART_OTHER:
		break;
	}
	return n ? n : v;
}

/* verify_client says what a client_ca asks for: required unless written. */
static void check_verify_client(struct walk *w, struct listener_tls_conf *t, const struct cnode *v)
{
	const struct cnode *k = cnode_get(v, "verify_client");

	if (!t->client_ca && k)
		cerr_at(w->errs, k->key,
			"verify_client needs client_ca: the CAs client certificates are checked "
			"against");
	else if (t->client_ca && t->verify_client == TLS_VERIFY_CLIENT_OFF)
		t->verify_client = TLS_VERIFY_CLIENT_REQUIRED;
}

void field_listener_tls(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct listener_conf *l = obj;
	size_t before = w->errs->list.count;
	struct tls_load_error err;

	l->tls = calloc(1, sizeof(*l->tls));
	if (!l->tls) {
		cerr_at(w->errs, v, "out of memory");
		return;
	}
	l->tls->min_version = TLS_MIN_1_2;
	l->tls->session_tickets = true;
	walk_section(w, f->arg, v, l->tls);
	check_verify_client(w, l->tls, v);
	if (w->errs->list.count != before || l->tls->ncerts == 0)
		return; /* the files are only loaded from a well-formed section */
	l->tls->ctx = tls_listener_new(l->tls,
				       l->protocol != PROTO_HTTP ? TLS_ALPN_NONE :
				       l->http2                  ? TLS_ALPN_H2 :
								   TLS_ALPN_HTTP1,
				       &err);
	if (!l->tls->ctx)
		cerr_at(w->errs, error_node(v, &err), "%s", err.msg);
}

/* config_pool_tls.c — the pools[].tls keys: the section's own form,
 * host names for SNI and verification, and building the pool's OpenSSL
 * context (tls_upstream.h) once its servers are known, so that errors
 * loading a CA file or client certificate carry their line and key path. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_schema.h"
#include "tls/tls_upstream.h"

/* One form only: a mapping, `tls: {}` for every default. */
void field_pool_tls(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct pool_tls_conf *tc = (struct pool_tls_conf *)((char *)obj + f->off);

	if (v->kind != CNODE_MAP) {
		char got[96];
		cnode_describe(v, got, sizeof(got));
		cerr_at(w->errs, v,
			"expected a mapping (tls: {} for TLS to the servers with "
			"every default), got %s",
			got);
		return;
	}
	tc->enabled = true;
	tc->verify = true;
	tc->min_version = POOL_TLS_MIN_VERSION_DEFAULT;
	walk_section(w, f->arg, v, tc);
	if (!tc->cert != !tc->key) {
		const struct cnode *k = cnode_get(v, tc->cert ? "cert" : "key");
		cerr_at(w->errs, k->key, "cert and key go together: give both or neither");
		free(tc->cert);
		free(tc->key);
		tc->cert = tc->key = NULL;
	}
}

/* A DNS name (RFC 1123 labels), or with arg also an IPv4/IPv6 address. */
static bool dns_name_ok(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');
		if (!alnum && !(c == '-' && label > 0) && c != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return s[len - 1] != '-';
}

void field_tls_name(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	bool ip_ok = f->min != 0; /* verify_name: an IP address is a name too */
	const char *what = ip_ok ? "a host name or an IP address" :
				   "a host name (SNI carries no IP addresses)";
	char **slot = (char **)((char *)obj + f->off);
	const char *s = walk_scalar(w, v, what);
	unsigned char buf[sizeof(struct in6_addr)];
	bool ip;

	if (!s)
		return;
	ip = inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
	if ((ip && !ip_ok) || (!ip && !dns_name_ok(s))) {
		char got[96];
		cnode_describe(v, got, sizeof(got));
		cerr_at(w->errs, v, "expected %s, got %s", what, got);
		return;
	}
	free(*slot);
	*slot = strdup(s);
	if (!*slot)
		cerr_at(w->errs, v, "out of memory");
}

void config_build_pool_tls(struct walk *w, struct pool_conf *p, const struct cnode *v)
{
	static const char *const
		keys[] = { [TLS_KEY_CA] = "ca", [TLS_KEY_CERT] = "cert", [TLS_KEY_KEY] = "key" };
	const struct cnode *tls = cnode_get(v, "tls");
	struct tls_upstream_target *targets;
	enum tls_upstream_key key;
	char why[512];
	int rc;

	if (!p->tls.enabled || !p->nservers)
		return;
	for (size_t i = 0; i < p->nservers; i++)
		if (!p->servers[i].addr.salen || !p->servers[i].name)
			return; /* already reported */
	/* In the order of p->servers: a server's index is its place there. */
	targets = calloc(p->nservers, sizeof(*targets));
	if (!targets) {
		cerr_at(w->errs, tls->key, "out of memory");
		return;
	}
	for (size_t i = 0; i < p->nservers; i++)
		targets[i] = (struct tls_upstream_target){ p->servers[i].name,
							   &p->servers[i].addr };
	p->tls.alpn_h2 = p->protocol == POOL_H2;
	rc = tls_upstream_build(&p->tls, targets, p->nservers, &key, why, sizeof(why));
	free(targets);
	if (rc == 0)
		return;
	const struct cnode *at = key != TLS_KEY_NONE ? cnode_get(tls, keys[key]) : NULL;
	cerr_at(w->errs, at ? at : tls->key, "%s", why);
}

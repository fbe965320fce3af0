/* dns_build.c — what lbd makes of the DNS answers of one lookup: which
 * SRV records and addresses count, which targets are left out, the status
 * and TTL of the whole, and the bounds that keep a hostile answer small.
 * c-ares parses the messages; nothing here touches a socket.
 */
#include "discovery/dns_build.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Statuses of lbd's own, beside c-ares's small positive ones. */
#define ST_NONE (-1)    /* no answer recorded: the lookup ran out of time */
#define ST_TOOMANY 1000 /* more records than the bounds allow */

#define NAME_MAX_LEN 253 /* RFC 1035, in text, without the final dot */

struct dns_ip {
	int family;
	unsigned char bytes[16];
};

struct dns_name {
	char name[256];
	int status[2]; /* the A and the AAAA query's */
	struct dns_ip *ips;
	size_t nips, cap;
	uint32_t ttl; /* the smallest of its records' */
};

struct dns_srv {
	size_t name; /* in names[] */
	uint16_t priority, weight, port;
};

struct dns_build {
	bool srv, bad_name;
	bool literal; /* the name is an address: nothing to ask */
	char qname[256];
	uint16_t port;
	int srv_status;
	struct dns_srv *recs;
	size_t nrecs;
	struct dns_name *names;
	size_t nnames;
	struct dns_target *targets;
	struct dns_answer answer;
};

static const struct {
	int status;
	enum dns_status dns;
	const char *why;
} status_words[] = {
	{ ARES_SUCCESS, DNS_OK, NULL },
	{ ARES_ENOTFOUND, DNS_EMPTY, "NXDOMAIN" },
	{ ARES_ENODATA, DNS_EMPTY, "no records" },
	{ ST_NONE, DNS_FAILED, "timeout" },
	{ ARES_ETIMEOUT, DNS_FAILED, "timeout" },
	{ ARES_ESERVFAIL, DNS_FAILED, "SERVFAIL" },
	{ ARES_EREFUSED, DNS_FAILED, "REFUSED" },
	{ ARES_ENOTIMP, DNS_FAILED, "NOTIMP" },
	{ ARES_EFORMERR, DNS_FAILED, "FORMERR" },
	/* c-ares 1.18 drops SERVFAIL and REFUSED answers to try the next
	 * nameserver, and reports the last one's as this. */
	{ ARES_ECONNREFUSED, DNS_FAILED, "unreachable, REFUSED or SERVFAIL" },
	{ ARES_EBADRESP, DNS_FAILED, "malformed answer" },
	{ ARES_EBADNAME, DNS_FAILED, "bad name" },
	{ ARES_EBADQUERY, DNS_FAILED, "bad name" },
	{ ARES_ENOMEM, DNS_FAILED, "out of memory" },
	{ ST_TOOMANY, DNS_FAILED, "too many records" },
	{ ARES_EDESTRUCTION, DNS_CANCELLED, "cancelled" },
	{ ARES_ECANCELLED, DNS_CANCELLED, "cancelled" },
};

enum dns_status dns_status_of(int ares_status, const char **why)
{
	for (size_t i = 0; i < sizeof(status_words) / sizeof(status_words[0]); i++) {
		if (status_words[i].status == ares_status) {
			*why = status_words[i].why;
			return status_words[i].dns;
		}
	}
	*why = ares_strerror(ares_status); /* static text, "unknown" at worst */
	return DNS_FAILED;
}

static int add_ip(struct dns_name *nm, int family, const void *bytes, size_t blen, int ttl);

/* An IPv4 or IPv6 address written as the name answers itself without a
 * query, as getaddrinfo() does. Returns 0, or -1 out of memory. */
static int take_literal(struct dns_build *b)
{
	struct dns_name *nm = &b->names[0];
	unsigned char bytes[16];
	int family = 0;

	if (inet_pton(AF_INET, nm->name, bytes) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, nm->name, bytes) == 1)
		family = AF_INET6;
	if (!family)
		return 0;
	if (add_ip(nm, family, bytes, family == AF_INET ? 4 : 16, 0) != ARES_SUCCESS)
		return -1;
	nm->status[0] = nm->status[1] = ARES_SUCCESS;
	b->literal = true;
	return 0;
}

struct dns_build *dns_build_new(const char *name, uint16_t port)
{
	struct dns_build *b = calloc(1, sizeof(*b));
	size_t n = name ? strlen(name) : 0;

	if (!b)
		return NULL;
	b->srv = n > 0 && name[0] == '_';
	b->port = port;
	b->srv_status = ST_NONE;
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > NAME_MAX_LEN) {
		b->bad_name = true;
		return b;
	}
	memcpy(b->qname, name, n);
	b->qname[n] = '\0';
	if (!b->srv) {
		b->names = calloc(1, sizeof(*b->names));
		if (!b->names) {
			free(b);
			return NULL;
		}
		memcpy(b->names[0].name, b->qname, n + 1);
		b->names[0].status[0] = b->names[0].status[1] = ST_NONE;
		b->nnames = 1;
		if (take_literal(b) != 0) {
			dns_build_free(b);
			return NULL;
		}
	}
	return b;
}

void dns_build_free(struct dns_build *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nnames; i++)
		free(b->names[i].ips);
	free(b->names);
	free(b->recs);
	free(b->targets);
	free(b);
}

bool dns_build_is_srv(const struct dns_build *b)
{
	return b->srv;
}

const char *dns_build_srv_name(const struct dns_build *b)
{
	return b->srv && !b->bad_name ? b->qname : NULL;
}

size_t dns_build_nnames(const struct dns_build *b)
{
	return b->literal ? 0 : b->nnames;
}

const char *dns_build_name(const struct dns_build *b, size_t i)
{
	return i < b->nnames ? b->names[i].name : NULL;
}

/* --- SRV ------------------------------------------------------------- */

/* The index of NAME in b->names (DNS names compare without case), added
 * when new; b->names has room for every record. */
static size_t name_index(struct dns_build *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->nnames; i++)
		if (strcasecmp(b->names[i].name, name) == 0)
			return i;
	snprintf(b->names[i].name, sizeof(b->names[i].name), "%s", name);
	b->names[i].status[0] = b->names[i].status[1] = ST_NONE;
	b->nnames++;
	return i;
}

static bool srv_seen(const struct dns_build *b, size_t name, uint16_t port)
{
	for (size_t i = 0; i < b->nrecs; i++)
		if (b->recs[i].name == name && b->recs[i].port == port)
			return true;
	return false;
}

/* Keeps the usable records: a target of "." says the service is not
 * there (RFC 2782), port 0 reaches nothing, a name over 255 characters
 * (c-ares writes odd bytes as \DDD) fits no dns_target. The same target
 * and port twice is one server. */
static int srv_keep(struct dns_build *b, const struct ares_srv_reply *list)
{
	size_t count = 0;

	for (const struct ares_srv_reply *p = list; p; p = p->next)
		count++;
	if (count > DNS_TARGETS_MAX)
		return ST_TOOMANY;
	b->recs = calloc(count, sizeof(*b->recs));
	b->names = calloc(count, sizeof(*b->names));
	if (!b->recs || !b->names)
		return ARES_ENOMEM;
	for (const struct ares_srv_reply *p = list; p; p = p->next) {
		if (!p->host || !p->host[0] || p->port == 0 ||
		    strlen(p->host) >= sizeof(b->names[0].name))
			continue;
		size_t name = name_index(b, p->host);
		if (srv_seen(b, name, p->port))
			continue;
		b->recs[b->nrecs++] = (struct dns_srv){ .name = name,
							.priority = p->priority,
							.weight = p->weight,
							.port = p->port };
	}
	return ARES_SUCCESS;
}

void dns_build_srv(struct dns_build *b, int status, const unsigned char *buf, int len)
{
	struct ares_srv_reply *list = NULL;

	if (!b->srv || b->bad_name || b->srv_status != ST_NONE)
		return;
	if (status == ARES_SUCCESS) {
		status = ares_parse_srv_reply(buf, len, &list);
		if (status == ARES_SUCCESS && !list)
			status = ARES_ENODATA; /* only records of other types */
	}
	if (status == ARES_SUCCESS)
		status = srv_keep(b, list);
	if (status != ARES_SUCCESS)
		b->nrecs = b->nnames = 0;
	b->srv_status = status;
	ares_free_data(list);
}

/* --- A and AAAA ------------------------------------------------------ */

static int add_ip(struct dns_name *nm, int family, const void *bytes, size_t blen, int ttl)
{
	struct dns_ip ip = { .family = family };
	/* RFC 2181 §8: a TTL with the top bit set counts as 0. */
	uint32_t t = ttl < 0 ? 0 : (uint32_t)ttl;

	memcpy(ip.bytes, bytes, blen);
	if (nm->nips == 0 || t < nm->ttl)
		nm->ttl = t;
	for (size_t i = 0; i < nm->nips; i++)
		if (memcmp(&nm->ips[i], &ip, sizeof(ip)) == 0)
			return ARES_SUCCESS;
	if (nm->nips == nm->cap) {
		size_t cap = nm->cap ? nm->cap * 2 : 4;
		struct dns_ip *ips = realloc(nm->ips, cap * sizeof(*ips));
		if (!ips)
			return ARES_ENOMEM;
		nm->ips = ips;
		nm->cap = cap;
	}
	nm->ips[nm->nips++] = ip;
	return ARES_SUCCESS;
}

/* One more slot than the bound, so that an answer over it is seen. */
#define ADDRS_ASK (DNS_ADDRS_MAX + 1)

static int parse_a(struct dns_name *nm, const unsigned char *buf, int len)
{
	struct ares_addrttl *t = malloc(ADDRS_ASK * sizeof(*t));
	int n = ADDRS_ASK;
	int st;

	if (!t)
		return ARES_ENOMEM;
	st = ares_parse_a_reply(buf, len, NULL, t, &n);
	if (st == ARES_SUCCESS && n > DNS_ADDRS_MAX)
		st = ST_TOOMANY;
	for (int i = 0; st == ARES_SUCCESS && i < n; i++)
		st = add_ip(nm, AF_INET, &t[i].ipaddr, sizeof(t[i].ipaddr), t[i].ttl);
	free(t);
	/* A CNAME without the address it names is no record either. */
	return st == ARES_SUCCESS && n == 0 ? ARES_ENODATA : st;
}

static int parse_aaaa(struct dns_name *nm, const unsigned char *buf, int len)
{
	struct ares_addr6ttl *t = malloc(ADDRS_ASK * sizeof(*t));
	int n = ADDRS_ASK;
	int st;

	if (!t)
		return ARES_ENOMEM;
	st = ares_parse_aaaa_reply(buf, len, NULL, t, &n);
	if (st == ARES_SUCCESS && n > DNS_ADDRS_MAX)
		st = ST_TOOMANY;
	for (int i = 0; st == ARES_SUCCESS && i < n; i++)
		st = add_ip(nm, AF_INET6, &t[i].ip6addr, sizeof(t[i].ip6addr), t[i].ttl);
	free(t);
	return st == ARES_SUCCESS && n == 0 ? ARES_ENODATA : st;
}

void dns_build_addrs(struct dns_build *b, size_t i, bool aaaa, int status, const unsigned char *buf,
		     int len)
{
	struct dns_name *nm;

	if (i >= b->nnames || b->names[i].status[aaaa] != ST_NONE)
		return;
	nm = &b->names[i];
	if (status == ARES_SUCCESS)
		status = aaaa ? parse_aaaa(nm, buf, len) : parse_a(nm, buf, len);
	nm->status[aaaa] = status;
}

/* --- the answer ------------------------------------------------------ */

static int ip_cmp(const void *x, const void *y)
{
	const struct dns_ip *a = x, *b = y;

	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	return memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

static void fill_target(struct dns_target *t, const char *name, const struct dns_ip *ip,
			uint16_t port)
{
	char host[INET6_ADDRSTRLEN];

	snprintf(t->target, sizeof(t->target), "%s", name);
	inet_ntop(ip->family, ip->bytes, host, sizeof(host));
	if (ip->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&t->addr.sa;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, ip->bytes, sizeof(sin->sin_addr));
		t->addr.salen = sizeof(*sin);
		snprintf(t->addr.text, sizeof(t->addr.text), "%s:%u", host, (unsigned)port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->addr.sa;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, ip->bytes, sizeof(sin6->sin6_addr));
		t->addr.salen = sizeof(*sin6);
		snprintf(t->addr.text, sizeof(t->addr.text), "[%s]:%u", host, (unsigned)port);
	}
}

/* Why no name gave an address: cancelled before all else, then the first
 * failure (a timeout, SERVFAIL: the last answer should stay), and only
 * when every query was authoritatively empty, empty. */
static enum dns_status names_status(const struct dns_build *b, const char **why)
{
	const char *failed = NULL;
	bool nxdomain = false;

	for (size_t i = 0; i < b->nnames; i++) {
		for (int t = 0; t < 2; t++) {
			const char *w;
			enum dns_status s = dns_status_of(b->names[i].status[t], &w);
			if (s == DNS_CANCELLED) {
				*why = w;
				return s;
			}
			if (s == DNS_FAILED && !failed)
				failed = w;
			nxdomain |= b->names[i].status[t] == ARES_ENOTFOUND;
		}
	}
	if (failed) {
		*why = failed;
		return DNS_FAILED;
	}
	if (b->srv)
		*why = nxdomain ? "targets NXDOMAIN" : "targets without addresses";
	else
		*why = nxdomain ? "NXDOMAIN" : "no records";
	return DNS_EMPTY;
}

static const struct dns_answer *answer_status(struct dns_build *b, enum dns_status s,
					      const char *why)
{
	b->answer.status = s;
	b->answer.why = why;
	return &b->answer;
}

/* The targets: each usable SRV record (or the host name) once per address,
 * IPv4 first, in a stable order whatever the order of the answers. */
static size_t fill_targets(struct dns_build *b)
{
	size_t n = 0;
	size_t nrec = b->srv ? b->nrecs : 1;
	bool have_ttl = false;

	for (size_t r = 0; r < nrec; r++) {
		const struct dns_srv *rec = b->srv ? &b->recs[r] : NULL;
		const struct dns_name *nm = &b->names[rec ? rec->name : 0];
		for (size_t i = 0; i < nm->nips; i++) {
			struct dns_target *t = &b->targets[n++];
			fill_target(t, nm->name, &nm->ips[i], rec ? rec->port : b->port);
			t->priority = rec ? rec->priority : 0;
			t->weight = rec ? rec->weight : 0;
		}
		if (nm->nips && (!have_ttl || nm->ttl < b->answer.ttl_s)) {
			b->answer.ttl_s = nm->ttl;
			have_ttl = true;
		}
	}
	return n;
}

const struct dns_answer *dns_build_finish(struct dns_build *b)
{
	size_t total = 0;
	const char *why;

	free(b->targets);
	b->targets = NULL;
	memset(&b->answer, 0, sizeof(b->answer));
	if (b->bad_name)
		return answer_status(b, DNS_FAILED, "bad name");
	if (b->srv && b->srv_status != ARES_SUCCESS) {
		enum dns_status s = dns_status_of(b->srv_status, &why);
		return answer_status(b, s == DNS_OK ? DNS_FAILED : s, why);
	}
	if (b->srv && b->nrecs == 0)
		return answer_status(b, DNS_EMPTY, "no usable records");
	for (size_t i = 0; i < b->nnames; i++)
		if (b->names[i].nips > 1)
			qsort(b->names[i].ips, b->names[i].nips, sizeof(struct dns_ip), ip_cmp);
	for (size_t r = 0; r < (b->srv ? b->nrecs : 1); r++)
		total += b->names[b->srv ? b->recs[r].name : 0].nips;
	if (total == 0) {
		enum dns_status s = names_status(b, &why);
		return answer_status(b, s, why);
	}
	if (total > DNS_TARGETS_MAX)
		return answer_status(b, DNS_FAILED, "too many records");
	b->targets = calloc(total, sizeof(*b->targets));
	if (!b->targets)
		return answer_status(b, DNS_FAILED, "out of memory");
	b->answer.n = fill_targets(b);
	b->answer.targets = b->targets;
	return answer_status(b, DNS_OK, NULL);
}

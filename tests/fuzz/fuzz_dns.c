/* fuzz_dns.c — libFuzzer target for DNS answers: the messages a nameserver
 * sends back, handed to the code the resolver hands them to
 * (src/discovery/dns_build.c: c-ares's parsers, then lbd's choice of
 * records, targets, status and TTL).
 *
 * Input: one byte of mode (bit 0: an SRV lookup, else A and AAAA; bits 1
 * and 2: the name, below), two bytes of port, then the answers in the
 * order the resolver records them: the SRV query's (SRV lookups), then
 * each name's A and AAAA. Each answer is one byte of outcome (below 0xc0:
 * a message follows, two bytes of length and the bytes; else a c-ares
 * error status); answers the input runs out before count as timeouts.
 * Every answer must be consistent: targets only with DNS_OK, a word
 * otherwise, addresses that are IPv4 or IPv6 with the right port, names
 * that fit, and the same answer when asked twice. `make fuzz-dns` runs it.
 */
#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/dns_build.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	const uint8_t *p;
	size_t left;
};

#define LONG_NAME \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx." \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx." \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx." \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static const int errors[] = {
	ARES_ENOTFOUND,    ARES_ENODATA,  ARES_ETIMEOUT, ARES_ESERVFAIL, ARES_EREFUSED,
	ARES_ECONNREFUSED, ARES_EBADRESP, ARES_ENOMEM,   ARES_EBADNAME,  ARES_EDESTRUCTION,
	ARES_ECANCELLED,   ARES_EFORMERR, 9999,
};

/* The next answer: its status, and its bytes when it has some. Returns
 * false when the input has run out. */
static bool next_answer(struct input *in, int *status, const uint8_t **buf, int *len)
{
	uint8_t outcome;
	size_t n;

	if (in->left == 0)
		return false;
	outcome = *in->p++;
	in->left--;
	*buf = NULL;
	*len = 0;
	if (outcome >= 0xc0) {
		*status = errors[(outcome - 0xc0) % (sizeof(errors) / sizeof(errors[0]))];
		return true;
	}
	*status = ARES_SUCCESS;
	n = in->left >= 2 ? (size_t)in->p[0] << 8 | in->p[1] : 0;
	in->p += in->left >= 2 ? 2 : in->left;
	in->left -= in->left >= 2 ? 2 : in->left;
	if (n > in->left)
		n = in->left;
	*buf = in->p;
	*len = (int)n;
	in->p += n;
	in->left -= n;
	return true;
}

static void check_target(const struct dns_target *t, bool srv, uint16_t port)
{
	const struct sockaddr *sa = (const struct sockaddr *)&t->addr.sa;
	uint16_t got;
	size_t tl = strnlen(t->target, sizeof(t->target));
	size_t al = strnlen(t->addr.text, sizeof(t->addr.text));

	if (tl == 0 || tl == sizeof(t->target) || al == 0 || al == sizeof(t->addr.text))
		abort();
	if (sa->sa_family == AF_INET && t->addr.salen == sizeof(struct sockaddr_in))
		got = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	else if (sa->sa_family == AF_INET6 && t->addr.salen == sizeof(struct sockaddr_in6))
		got = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	else
		abort();
	if (srv ? got == 0 : (got != port || t->priority || t->weight))
		abort();
}

static void check_answer(const struct dns_answer *a, bool srv, uint16_t port)
{
	if (!a)
		return; /* out of memory */
	if ((a->status == DNS_OK) != (a->n > 0) || (a->status == DNS_OK) != (a->why == NULL))
		abort();
	if (a->n > DNS_TARGETS_MAX || (a->n && !a->targets))
		abort();
	for (size_t i = 0; i < a->n; i++)
		check_target(&a->targets[i], srv, port);
}

/* By bits 1 and 2 of the mode: a name, one that cannot be asked, an
 * address (which answers itself), one that is too long. */
static const char *const names[4][2] = {
	{ "web.default.svc.cluster.local", "_http._tcp.web.service.consul" },
	{ "", "_" },
	{ "192.0.2.1", "2001:db8::1" },
	{ LONG_NAME, "_" LONG_NAME },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct dns_build *b;
	const struct dns_answer *a;
	const uint8_t *buf;
	int status, len;
	uint16_t port;
	bool srv;

	if (size < 3)
		return 0;
	srv = data[0] & 1;
	port = (uint16_t)(data[1] << 8 | data[2]);
	in.p += 3;
	in.left -= 3;
	b = dns_build_new(names[data[0] >> 1 & 3][srv], port);
	if (!b)
		return 0;
	srv = dns_build_is_srv(b); /* an address is never an SRV name */
	if (dns_build_srv_name(b) && next_answer(&in, &status, &buf, &len))
		dns_build_srv(b, status, buf, len);
	for (size_t i = 0; i < dns_build_nnames(b); i++) {
		if (!dns_build_name(b, i) || !dns_build_name(b, i)[0])
			abort();
		for (int aaaa = 0; aaaa < 2; aaaa++)
			if (next_answer(&in, &status, &buf, &len))
				dns_build_addrs(b, i, aaaa, status, buf, len);
	}
	a = dns_build_finish(b);
	check_answer(a, srv, port);
	if (a) {
		enum dns_status first = a->status;
		size_t n = a->n;
		a = dns_build_finish(b);
		if (a && (a->status != first || a->n != n))
			abort();
	}
	dns_build_free(b);
	return 0;
}

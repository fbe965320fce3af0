/* members.c — the membership rules of a discovered pool (SPEC §7): turn
 * each DNS answer into added, moved and removed members.
 *
 * Every change builds the next member array beside the current one, swaps
 * it in, and only then reports the difference between the two, both sorted
 * by identity: a failed allocation leaves the state untouched, and the
 * callbacks see the state they are told about. An answer costs
 * O(n log n) for its sort and O(n + m) for the merge with the m members.
 */
#include "discovery/members.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"

/* NOW - SINCE, 0 when the given clock went backwards. */
static uint64_t elapsed(uint64_t now, uint64_t since)
{
	return now > since ? now - since : 0;
}

static unsigned addr_port(const struct lbd_addr *a)
{
	if (a->sa.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)&a->sa)->sin_port);
	if (a->sa.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)&a->sa)->sin6_port);
	return 0;
}

/* The fixed order that picks one address of an SRV target in every lbd
 * instance alike: IPv4 before IPv6, then the address bytes (network order),
 * then the scope. */
static int addr_order(const struct lbd_addr *a, const struct lbd_addr *b)
{
	int fa = a->sa.ss_family, fb = b->sa.ss_family;

	if (fa != fb)
		return fa == AF_INET ? -1 : 1;
	if (fa == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->sa, *y = (const void *)&b->sa;
		return memcmp(&x->sin_addr, &y->sin_addr, sizeof(x->sin_addr));
	}
	const struct sockaddr_in6 *x = (const void *)&a->sa, *y = (const void *)&b->sa;
	int c = memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));

	if (c)
		return c;
	return x->sin6_scope_id < y->sin6_scope_id ? -1 : x->sin6_scope_id > y->sin6_scope_id;
}

/* An SRV target as an identity: lowercased, without its trailing dot.
 * Refuses "." (no service, RFC 2782), an empty or unterminated name, and
 * bytes that are not printable ASCII: the identity goes into logs, status
 * and metrics as it is. */
static bool target_name(const char *in, size_t cap, char *out, size_t len)
{
	size_t n = strnlen(in, cap);

	if (n == cap)
		return false;
	if (n && in[n - 1] == '.')
		n--;
	if (n == 0 || n >= len)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c <= ' ' || c >= 0x7f)
			return false;
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	out[n] = '\0';
	return true;
}

/* Fill OUT from target T; false when T cannot be a member. */
static bool candidate(const struct discovery_rules *r, const struct dns_target *t,
		      struct discovered *out)
{
	int fam = t->addr.sa.ss_family;
	unsigned port = addr_port(&t->addr);
	char host[INET6_ADDRSTRLEN], name[sizeof(t->target)];

	if ((fam != AF_INET && fam != AF_INET6) || port == 0)
		return false;
	if (r->srv && !target_name(t->target, sizeof(t->target), name, sizeof(name)))
		return false;
	memset(out, 0, sizeof(*out));
	out->addr.salen = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	memcpy(&out->addr.sa, &t->addr.sa, out->addr.salen);
	addr_host_text((const struct sockaddr *)&out->addr.sa, host, sizeof(host));
	snprintf(out->addr.text, sizeof(out->addr.text), fam == AF_INET ? "%s:%u" : "[%s]:%u", host,
		 port);
	if (r->identity)
		snprintf(out->identity, sizeof(out->identity), "%s", r->identity);
	else if (r->srv)
		snprintf(out->identity, sizeof(out->identity), "%s:%u", name, port);
	else
		snprintf(out->identity, sizeof(out->identity), "%s", out->addr.text);
	return true;
}

/* By identity, then by address: the first of an identity is the one kept. */
static int candidate_cmp(const void *a, const void *b)
{
	const struct discovered *x = a, *y = b;
	int c = strcmp(x->identity, y->identity);

	return c ? c : addr_order(&x->addr, &y->addr);
}

static size_t dedup(struct discovered *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (k == 0 || strcmp(v[k - 1].identity, v[i].identity) != 0) {
			if (k != i)
				v[k] = v[i];
			k++;
		}
	return k;
}

/* Whether the hold of M, missing from an answer at NOW, is over. */
static bool hold_over(const struct discovered *m, const struct discovery_rules *r, uint64_t now)
{
	return elapsed(now, m->missing ? m->missing_since_ms : now) >= r->hold_ms;
}

/* Which of A[I] and B[J] comes first in a walk of both by identity: < 0
 * for A's, > 0 for B's, 0 for the same identity. */
static int walk_cmp(const struct discovered *a, size_t i, size_t na, const struct discovered *b,
		    size_t j, size_t nb)
{
	if (i == na)
		return 1;
	if (j == nb)
		return -1;
	return strcmp(a[i].identity, b[j].identity);
}

/* Report what differs between OLD and NEXT, both sorted by identity. */
static int report(const struct discovered *old, size_t on, const struct discovered *next, size_t nn,
		  discovery_change_fn *change, void *arg)
{
	size_t i = 0, j = 0;
	int changes = 0;

	while (i < on || j < nn) {
		int c = walk_cmp(old, i, on, next, j, nn);
		const struct discovered *m = c < 0 ? &old[i] : &next[j];
		enum member_change kind = c < 0 ? MEMBER_REMOVED : MEMBER_ADDED;

		if (c == 0 && addr_equal(&old[i].addr, &next[j].addr))
			m = NULL;
		else if (c == 0)
			kind = MEMBER_MOVED;
		if (m && change)
			change(arg, m, kind);
		changes += m != NULL;
		i += c <= 0;
		j += c >= 0;
	}
	return changes;
}

/* Swap in NEXT (owned from now on), report, free the old members. */
static int commit(struct discovery_state *st, struct discovered *next, size_t n,
		  discovery_change_fn *change, void *arg)
{
	struct discovered *old = st->members;
	size_t on = st->n;

	st->members = next;
	st->n = n;
	int changes = report(old, on, next, n, change, arg);
	free(old);
	return changes;
}

static int apply_empty(struct discovery_state *st, const struct discovery_rules *r, uint64_t now,
		       discovery_change_fn *change, void *arg)
{
	st->answered = true;
	st->stale = false;
	if (!st->empty_run) {
		st->empty_run = true;
		st->empty_since_ms = now;
		st->empty_answers = 0;
	}
	if (st->empty_answers < UINT_MAX)
		st->empty_answers++;
	if (st->n == 0 || st->empty_answers < 2 ||
	    elapsed(now, st->empty_since_ms) < r->empty_after_ms)
		return 0;
	return commit(st, NULL, 0, change, arg);
}

/* Merge the members with the sorted, distinct candidates CAND into NEXT
 * (NULL: only count). Returns how many members the merge keeps; *FRESH is
 * the number of new identities, of which the first ADMIT are taken. */
static size_t merge(const struct discovery_state *st, const struct discovery_rules *r,
		    const struct discovered *cand, size_t nc, uint64_t now, size_t admit,
		    struct discovered *next, size_t *fresh)
{
	size_t i = 0, j = 0, k = 0;

	*fresh = 0;
	while (i < st->n || j < nc) {
		int c = walk_cmp(st->members, i, st->n, cand, j, nc);

		if (c < 0 && !hold_over(&st->members[i], r, now)) {
			if (next) {
				next[k] = st->members[i];
				if (!next[k].missing)
					next[k].missing_since_ms = now;
				next[k].missing = true;
			}
			k++;
		} else if (c > 0 && (*fresh)++ < admit) {
			if (next)
				next[k] = cand[j];
			k++;
		} else if (c == 0) {
			if (next) {
				next[k] = st->members[i];
				next[k].addr = cand[j].addr;
				next[k].missing = false;
				next[k].missing_since_ms = 0;
			}
			k++;
		}
		i += c <= 0;
		j += c >= 0;
	}
	return k;
}

static int apply_records(struct discovery_state *st, const struct discovery_rules *r,
			 const struct dns_answer *a, uint64_t now, discovery_change_fn *change,
			 void *arg)
{
	struct discovered *cand = a->n ? calloc(a->n, sizeof(*cand)) : NULL, *next;
	size_t nc = 0, fresh, kept;

	if (a->n && !cand)
		return -1;
	for (size_t i = 0; i < a->n; i++)
		nc += candidate(r, &a->targets[i], &cand[nc]);
	if (nc == 0) {
		free(cand);
		st->ignored = 0;
		st->invalid = a->n;
		return apply_empty(st, r, now, change, arg);
	}
	qsort(cand, nc, sizeof(*cand), candidate_cmp);
	size_t distinct = dedup(cand, nc);
	/* Members held or named keep their places; new ones fill what is left. */
	kept = merge(st, r, cand, distinct, now, 0, NULL, &fresh);
	size_t admit = DISCOVERY_MAX_MEMBERS - kept < fresh ? DISCOVERY_MAX_MEMBERS - kept : fresh;
	next = calloc(kept + admit, sizeof(*next));
	if (!next) {
		free(cand);
		return -1;
	}
	size_t n = merge(st, r, cand, distinct, now, admit, next, &fresh);
	free(cand);
	st->ignored = fresh - admit;
	st->invalid = a->n - nc;
	st->answered = true;
	st->empty_run = false;
	st->empty_answers = 0;
	st->stale = false;
	return commit(st, next, n, change, arg);
}

int discovery_apply(struct discovery_state *st, const struct discovery_rules *rules,
		    const struct dns_answer *answer, uint64_t now_ms, discovery_change_fn *change,
		    void *arg)
{
	switch (answer->status) {
	case DNS_OK:
		return apply_records(st, rules, answer, now_ms, change, arg);
	case DNS_EMPTY:
		st->ignored = 0;
		st->invalid = 0;
		return apply_empty(st, rules, now_ms, change, arg);
	case DNS_FAILED:
		if (!st->stale) {
			st->stale = true;
			st->stale_since_ms = now_ms;
		}
		return 0;
	case DNS_CANCELLED:
		return 0;
	}
	return 0;
}

int discovery_tick(struct discovery_state *st, const struct discovery_rules *rules, uint64_t now_ms,
		   discovery_change_fn *change, void *arg)
{
	size_t keep = 0, k = 0;

	for (size_t i = 0; i < st->n; i++)
		keep += !(st->members[i].missing && hold_over(&st->members[i], rules, now_ms));
	if (keep == st->n)
		return 0;
	struct discovered *next = keep ? calloc(keep, sizeof(*next)) : NULL;
	if (keep && !next)
		return -1;
	for (size_t i = 0; i < st->n; i++)
		if (!(st->members[i].missing && hold_over(&st->members[i], rules, now_ms)))
			next[k++] = st->members[i];
	return commit(st, next, keep, change, arg);
}

uint64_t discovery_next_hold_end_ms(const struct discovery_state *st,
				    const struct discovery_rules *rules)
{
	uint64_t first = UINT64_MAX;

	for (size_t i = 0; i < st->n; i++) {
		const struct discovered *m = &st->members[i];
		uint64_t end = m->missing_since_ms + rules->hold_ms;

		if (end < m->missing_since_ms)
			end = UINT64_MAX;
		if (m->missing && end < first)
			first = end;
	}
	return first;
}

static int identity_cmp(const void *key, const void *m)
{
	return strcmp(key, ((const struct discovered *)m)->identity);
}

const struct discovered *discovery_find(const struct discovery_state *st, const char *identity)
{
	if (st->n == 0)
		return NULL;
	return bsearch(identity, st->members, st->n, sizeof(*st->members), identity_cmp);
}

uint64_t discovery_stale_ms(const struct discovery_state *st, uint64_t now_ms)
{
	return st->stale ? elapsed(now_ms, st->stale_since_ms) : 0;
}

/* Take up to a tenth off BASE, by SEED; never below the floor. */
static uint64_t jittered(uint64_t base, uint64_t seed)
{
	uint64_t d = base - hash_mix64(seed) % (base / 10 + 1);

	return d < DISCOVERY_MIN_REFRESH_MS ? DISCOVERY_MIN_REFRESH_MS : d;
}

uint64_t discovery_next_refresh_ms(uint64_t refresh_ms, uint32_t ttl_s, bool srv,
				   uint64_t jitter_seed)
{
	uint64_t base = refresh_ms;

	if (!srv && (uint64_t)ttl_s * 1000 < base)
		base = (uint64_t)ttl_s * 1000;
	return jittered(base, jitter_seed);
}

uint64_t discovery_retry_ms(uint64_t refresh_ms, unsigned failures, uint64_t jitter_seed)
{
	uint64_t base = DISCOVERY_MIN_REFRESH_MS;

	for (unsigned i = 1; i < failures && base < refresh_ms && base < UINT64_MAX / 2; i++)
		base *= 2;
	if (base > refresh_ms)
		base = refresh_ms;
	return jittered(base, jitter_seed);
}

void discovery_state_free(struct discovery_state *st)
{
	free(st->members);
	memset(st, 0, sizeof(*st));
}

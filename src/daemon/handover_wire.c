/* handover_wire.c — encoding and decoding the upgrade's messages
 * (handover_wire.h). Everything read here comes from another process:
 * every length is checked against what is left, nothing is trusted. */
#include "daemon/handover_wire.h"

#include <inttypes.h>
#include <limits.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/retry_budget.h"
#include "util/hash.h"

static const uint8_t MAGIC[4] = { 'L', 'B', 'D', 'U' };

/* --- writing --------------------------------------------------------------- */

struct out {
	uint8_t *p;
	size_t len, cap;
	bool full;
};

static void put(struct out *o, const void *src, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, src, n);
	o->len += n;
}

static void put_u8(struct out *o, unsigned v)
{
	uint8_t b = (uint8_t)v;

	put(o, &b, 1);
}

static void put_u16(struct out *o, unsigned v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(o, b, 2);
}

static void put_u32(struct out *o, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	put(o, b, 4);
}

/* A string cut to MAX - 1 bytes, as the reader accepts. */
static void put_str(struct out *o, const char *s, size_t max)
{
	size_t n = strnlen(s, max - 1);

	put_u16(o, (unsigned)n);
	put(o, s, n);
}

int handover_encode(const struct handover_msg *m, uint8_t *buf, size_t cap)
{
	struct out o = { .p = buf, .cap = cap };

	put(&o, MAGIC, sizeof(MAGIC));
	put_u8(&o, HANDOVER_VERSION);
	put_u8(&o, m->type);
	switch (m->type) {
	case HANDOVER_HELLO:
		put_u32(&o, m->pid);
		break;
	case HANDOVER_SOCKET:
		if ((unsigned)m->kind >= HANDOVER_SOCKET_KINDS || m->nsockets == 0 ||
		    m->nsockets > HANDOVER_FDS_MAX || (unsigned)m->first + m->nsockets > m->total)
			return -1;
		put_u8(&o, m->kind);
		put_u8(&o, (m->per_worker ? 1u : 0u) | (m->has_lock ? 2u : 0u));
		put_u16(&o, m->total);
		put_u16(&o, m->first);
		put_u16(&o, m->nsockets);
		put_str(&o, m->text, sizeof(m->text));
		break;
	case HANDOVER_STATE:
		put_str(&o, m->key, sizeof(m->key));
		put_str(&o, m->text, sizeof(m->text));
		break;
	case HANDOVER_FAILED:
		put_str(&o, m->text, sizeof(m->text));
		break;
	case HANDOVER_END:
	case HANDOVER_READY:
		break;
	default:
		return -1;
	}
	return o.full ? -1 : (int)o.len;
}

/* --- reading --------------------------------------------------------------- */

struct in {
	const uint8_t *p;
	size_t len, off;
	const char *bad; /* the first thing that did not fit */
};

static bool take(struct in *i, void *dst, size_t n, const char *what)
{
	if (i->bad)
		return false;
	if (n > i->len - i->off) {
		i->bad = what;
		return false;
	}
	memcpy(dst, i->p + i->off, n);
	i->off += n;
	return true;
}

static unsigned get_u8(struct in *i, const char *what)
{
	uint8_t b = 0;

	take(i, &b, 1, what);
	return b;
}

static unsigned get_u16(struct in *i, const char *what)
{
	uint8_t b[2] = { 0 };

	take(i, b, 2, what);
	return (unsigned)b[0] << 8 | b[1];
}

static uint32_t get_u32(struct in *i, const char *what)
{
	uint8_t b[4] = { 0 };

	take(i, b, 4, what);
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* A string of at most MAX - 1 bytes without a NUL, NUL-terminated into
 * DST. */
static void get_str(struct in *i, char *dst, size_t max, const char *what)
{
	size_t n = get_u16(i, what);

	dst[0] = '\0';
	if (i->bad)
		return;
	if (n >= max) {
		i->bad = what;
		return;
	}
	if (!take(i, dst, n, what))
		return;
	dst[n] = '\0';
	if (strlen(dst) != n)
		i->bad = what;
}

static void decode_socket(struct in *i, struct handover_msg *m)
{
	unsigned kind = get_u8(i, "socket kind");
	unsigned flags = get_u8(i, "socket flags");

	m->total = (uint16_t)get_u16(i, "socket count");
	m->first = (uint16_t)get_u16(i, "socket index");
	m->nsockets = (uint16_t)get_u16(i, "socket count");
	get_str(i, m->text, sizeof(m->text), "socket address");
	if (i->bad)
		return;
	if (kind >= HANDOVER_SOCKET_KINDS)
		i->bad = "socket kind";
	else if (flags & ~3u)
		i->bad = "socket flags";
	else if (m->nsockets == 0 || m->nsockets > HANDOVER_FDS_MAX ||
		 (unsigned)m->first + m->nsockets > m->total)
		i->bad = "socket count";
	else if (!m->text[0])
		i->bad = "socket address";
	m->kind = (enum handover_socket_kind)kind;
	m->per_worker = flags & 1u;
	m->has_lock = flags & 2u;
}

int handover_decode(const uint8_t *buf, size_t len, struct handover_msg *m, char *err,
		    size_t errlen)
{
	struct in i = { .p = buf, .len = len };
	uint8_t magic[sizeof(MAGIC)];

	memset(m, 0, sizeof(*m));
	if (!take(&i, magic, sizeof(magic), "header") || memcmp(magic, MAGIC, sizeof(MAGIC)) != 0) {
		snprintf(err, errlen, "not an lbd upgrade message");
		return -1;
	}
	unsigned version = get_u8(&i, "header");
	unsigned type = get_u8(&i, "header");
	if (!i.bad && version != HANDOVER_VERSION) {
		snprintf(err, errlen, "upgrade message version %u; this lbd speaks version %u",
			 version, HANDOVER_VERSION);
		return -1;
	}
	m->type = (enum handover_type)type;
	switch (type) {
	case HANDOVER_HELLO:
		m->pid = get_u32(&i, "pid");
		if (!i.bad && m->pid == 0)
			i.bad = "pid";
		break;
	case HANDOVER_SOCKET:
		decode_socket(&i, m);
		break;
	case HANDOVER_STATE:
		get_str(&i, m->key, sizeof(m->key), "state key");
		get_str(&i, m->text, sizeof(m->text), "state value");
		if (!i.bad && !m->key[0])
			i.bad = "state key";
		break;
	case HANDOVER_FAILED:
		get_str(&i, m->text, sizeof(m->text), "reason");
		break;
	case HANDOVER_END:
	case HANDOVER_READY:
		break;
	default:
		if (!i.bad)
			i.bad = "type";
	}
	if (!i.bad && i.off != len)
		i.bad = "trailing bytes";
	if (i.bad) {
		snprintf(err, errlen, "malformed upgrade message: bad %s", i.bad);
		return -1;
	}
	return 0;
}

/* --- server state ---------------------------------------------------------- */

static bool plain_name(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	return n > 0 && n < max && !strpbrk(s, "\t\n");
}

int handover_server_format(const struct handover_server *s, char *out, size_t len)
{
	if (!plain_name(s->pool, sizeof(s->pool)) || !plain_name(s->name, sizeof(s->name)))
		return -1;
	int n = snprintf(out, len, "%s\t%s\t%d\t%d\t%d\t%d\t%u\t%u\t%" PRIu64, s->pool, s->name,
			 s->state, s->weight, s->checked ? 1 : 0, s->down ? 1 : 0, s->ok_run,
			 s->fail_run, s->passive_until_ms);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The next tab-separated field of *P into DST (of MAX bytes). */
static int field(const char **p, char *dst, size_t max)
{
	size_t n = strcspn(*p, "\t");

	if (n == 0 || n >= max)
		return -1;
	memcpy(dst, *p, n);
	dst[n] = '\0';
	*p += n;
	if (**p == '\t' && (*p)[1]) /* a trailing tab is left for the caller to refuse */
		(*p)++;
	return 0;
}

static int number(const char **p, long lo, long hi, long *out)
{
	char buf[24], *end;

	if (field(p, buf, sizeof(buf)) < 0)
		return -1;
	*out = strtol(buf, &end, 10);
	return *end || *out < lo || *out > hi ? -1 : 0;
}

int handover_server_parse(const char *text, struct handover_server *s)
{
	const char *p = text;
	long state, weight, checked, down, ok_run, fail_run, passive;

	memset(s, 0, sizeof(*s));
	if (strchr(text, '\n') || field(&p, s->pool, sizeof(s->pool)) < 0 ||
	    field(&p, s->name, sizeof(s->name)) < 0 || number(&p, 0, 3, &state) < 0 ||
	    number(&p, -1, 1000000, &weight) < 0 || number(&p, 0, 1, &checked) < 0 ||
	    number(&p, 0, 1, &down) < 0 || number(&p, 0, 1000000, &ok_run) < 0 ||
	    number(&p, 0, 1000000, &fail_run) < 0 || number(&p, 0, LONG_MAX, &passive) < 0 || *p)
		return -1;
	s->state = (int)state;
	s->weight = (int)weight;
	s->checked = checked;
	s->down = down;
	s->ok_run = (unsigned)ok_run;
	s->fail_run = (unsigned)fail_run;
	s->passive_until_ms = (uint64_t)passive;
	return 0;
}

/* --- health changes, slow starts, retry budgets ------------------------------ */

int handover_changed_format(const struct handover_changed *c, char *out, size_t len)
{
	if (!plain_name(c->pool, sizeof(c->pool)) || !plain_name(c->name, sizeof(c->name)))
		return -1;
	int n = snprintf(out, len, "%s\t%s\t%" PRIu64, c->pool, c->name, c->changed_ms);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int handover_changed_parse(const char *text, struct handover_changed *c)
{
	const char *p = text;
	long changed;

	memset(c, 0, sizeof(*c));
	if (strchr(text, '\n') || field(&p, c->pool, sizeof(c->pool)) < 0 ||
	    field(&p, c->name, sizeof(c->name)) < 0 || number(&p, 1, LONG_MAX, &changed) < 0 || *p)
		return -1;
	c->changed_ms = (uint64_t)changed;
	return 0;
}

int handover_ramp_format(const struct handover_ramp *r, char *out, size_t len)
{
	if (!plain_name(r->pool, sizeof(r->pool)) || !plain_name(r->name, sizeof(r->name)) ||
	    r->permille >= 1000)
		return -1;
	int n = snprintf(out, len, "%s\t%s\t%u\t%" PRIu64, r->pool, r->name, r->permille,
			 r->since_ms);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int handover_ramp_parse(const char *text, struct handover_ramp *r)
{
	const char *p = text;
	long permille, since;

	memset(r, 0, sizeof(*r));
	if (strchr(text, '\n') || field(&p, r->pool, sizeof(r->pool)) < 0 ||
	    field(&p, r->name, sizeof(r->name)) < 0 || number(&p, 0, 999, &permille) < 0 ||
	    number(&p, 0, LONG_MAX, &since) < 0 || *p)
		return -1;
	r->permille = (unsigned)permille;
	r->since_ms = (uint64_t)since;
	return 0;
}

int handover_budget_format(const struct handover_budget *b, char *out, size_t len)
{
	if (!plain_name(b->pool, sizeof(b->pool)) || b->spent > RETRY_BUDGET_SPENT_MAX)
		return -1;
	int n = snprintf(out, len, "%s\t%" PRIu64, b->pool, b->spent);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int handover_budget_parse(const char *text, struct handover_budget *b)
{
	const char *p = text;
	long spent;

	memset(b, 0, sizeof(*b));
	if (strchr(text, '\n') || field(&p, b->pool, sizeof(b->pool)) < 0 ||
	    number(&p, 0, (long)RETRY_BUDGET_SPENT_MAX, &spent) < 0 || *p)
		return -1;
	b->spent = (uint64_t)spent;
	return 0;
}

/* --- servers added at run time, servers found -------------------------------- */

int handover_member_format(const struct handover_member *m, char *out, size_t len)
{
	if (!plain_name(m->pool, sizeof(m->pool)) || !plain_name(m->name, sizeof(m->name)) ||
	    !plain_name(m->address, sizeof(m->address)))
		return -1;
	int n = snprintf(out, len, "%s\t%s\t%s\t%u\t%d", m->pool, m->name, m->address, m->weight,
			 m->backup ? 1 : 0);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int handover_member_parse(const char *text, struct handover_member *m)
{
	const char *p = text;
	long weight, backup;

	memset(m, 0, sizeof(*m));
	if (strchr(text, '\n') || field(&p, m->pool, sizeof(m->pool)) < 0 ||
	    field(&p, m->name, sizeof(m->name)) < 0 ||
	    field(&p, m->address, sizeof(m->address)) < 0 || number(&p, 0, 1000000, &weight) < 0 ||
	    number(&p, 0, 1, &backup) < 0 || *p)
		return -1;
	m->weight = (unsigned)weight;
	m->backup = backup;
	return 0;
}

int handover_found_format(const struct handover_found *f, char *out, size_t len)
{
	if (!plain_name(f->pool, sizeof(f->pool)) ||
	    !plain_name(f->identity, sizeof(f->identity)) ||
	    !plain_name(f->address, sizeof(f->address)))
		return -1;
	int n = snprintf(out, len, "%s\t%s\t%s", f->pool, f->identity, f->address);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int handover_found_parse(const char *text, struct handover_found *f)
{
	const char *p = text;

	memset(f, 0, sizeof(*f));
	if (strchr(text, '\n') || field(&p, f->pool, sizeof(f->pool)) < 0 ||
	    field(&p, f->identity, sizeof(f->identity)) < 0 ||
	    field(&p, f->address, sizeof(f->address)) < 0 || *p)
		return -1;
	return 0;
}

/* --- rate limit budgets ---------------------------------------------------- */

uint64_t handover_rate_id(const char *identity)
{
	return hash64(identity, strlen(identity), 0x6c62642d72617465ull); /* "lbd-rate" */
}

int handover_rate_format(const struct handover_rate *r, char *out, size_t len)
{
	size_t off;
	int n = snprintf(out, len, "%016" PRIx64 "\t%016" PRIx64 "\t", r->id, r->seed);

	if (n < 0 || (size_t)n >= len || r->n == 0 || r->n > HANDOVER_SLOTS_MAX)
		return -1;
	off = (size_t)n;
	for (size_t i = 0; i < r->n; i++) {
		const struct handover_slot *s = &r->slots[i];
		n = snprintf(out + off, len - off, "%s%" PRIx32 ":%" PRIx64 ":%" PRIx64,
			     i ? "," : "", s->index, s->tag, s->tat);
		if (n < 0 || (size_t)n >= len - off)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* A lowercase hex number of at most MAX digits at *P, up to one of the
 * characters of END (or the end of the text). */
static int hex(const char **p, unsigned max, const char *end, uint64_t *out)
{
	unsigned n = 0;

	*out = 0;
	while (**p && !strchr(end, **p)) {
		char c = **p;
		unsigned v = c >= '0' && c <= '9' ? (unsigned)(c - '0') :
			     c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) :
						    16;
		if (v == 16 || ++n > max || (n > 1 && *out == 0))
			return -1; /* not hex, too long, or a leading zero */
		*out = *out << 4 | v;
		(*p)++;
	}
	return n ? 0 : -1;
}

int handover_rate_parse(const char *text, struct handover_rate *r)
{
	const char *p = text;
	uint64_t v;

	memset(r, 0, sizeof(*r));
	if (strlen(text) < 34 || text[16] != '\t' || text[33] != '\t')
		return -1;
	for (int k = 0; k < 2; k++) { /* id and seed: 16 digits each */
		uint64_t x = 0;
		for (int i = 0; i < 16; i++, p++) {
			char c = *p;
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
				return -1;
			x = x << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
		}
		*(k ? &r->seed : &r->id) = x;
		p++;
	}
	while (*p) {
		struct handover_slot *s;
		if (r->n == HANDOVER_SLOTS_MAX)
			return -1;
		s = &r->slots[r->n++];
		if (hex(&p, 8, ":", &v) < 0 || *p++ != ':')
			return -1;
		s->index = (uint32_t)v;
		if (hex(&p, 16, ":", &s->tag) < 0 || *p++ != ':' || hex(&p, 16, ",", &s->tat) < 0)
			return -1;
		if (*p == ',' && !*++p)
			return -1; /* a trailing comma */
	}
	return r->n ? 0 : -1;
}

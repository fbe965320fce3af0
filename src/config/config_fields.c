/* config_fields.c — the value types of lbd.yaml's keys: counts, durations,
 * sizes, booleans, enumerations, names, addresses, paths, hosts, accounts.
 *
 * Integers, booleans and the rest are typed by the schema, not by YAML, so
 * quoting never changes a value: weight: 2 and weight: "2" are the same.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config/config_schema.h"
#include "util/units.h"

/* Decimal digits only: no sign, no leading zero, no 0x, no 1e3. */
static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s[0] == '0' && s[1])
		return -1;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (i == 0)
		return -1;
	*out = v;
	return 0;
}

void field_u32(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	char what[96];
	const char *s;
	uint64_t n;

	snprintf(what, sizeof(what), "an integer from %llu to %llu", (unsigned long long)f->min,
		 (unsigned long long)f->max);
	s = walk_scalar(w, v, what);
	if (!s)
		return;
	if (parse_uint(s, f->max, &n) != 0 || n < f->min) {
		walk_expected(w, v, what);
		return;
	}
	*(uint32_t *)walk_slot(obj, f->off) = (uint32_t)n;
}

/* Digits followed by one of SUFFIXES (or nothing when "" is among them):
 * tells a malformed value from one that is only too large. */
static bool unit_form(const char *s, const char *const *suffixes)
{
	size_t digits = strspn(s, "0123456789");

	if (digits == 0)
		return false;
	for (; *suffixes; suffixes++)
		if (strcmp(s + digits, *suffixes) == 0)
			return true;
	return false;
}

static void expected_range(struct walk *w, const struct cnode *v, const char *kind, const char *lo,
			   const char *hi)
{
	char what[96];

	snprintf(what, sizeof(what), "%s from %s to %s", kind, lo, hi);
	walk_expected(w, v, what);
}

void field_duration(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	static const char *const units[] = { "ms", "s", "m", "h", "d", NULL };
	const char *form = "a duration with a unit (ms, s, m, h or d)";
	const char *s = walk_scalar(w, v, form);
	uint64_t ms;

	if (!s)
		return;
	if (!unit_form(s, units)) {
		walk_expected(w, v, form);
		return;
	}
	if (parse_duration_ms(s, &ms) != 0 || ms < f->min || ms > f->max) {
		char lo[32], hi[32];
		format_duration(f->min, lo, sizeof(lo));
		format_duration(f->max, hi, sizeof(hi));
		expected_range(w, v, "a duration", lo, hi);
		return;
	}
	*(uint64_t *)walk_slot(obj, f->off) = ms;
}

/* "16k", "1m", "1024g": the largest suffix that divides exactly. */
static void format_size(uint64_t n, char *buf, size_t len)
{
	static const char sfx[] = { 'g', 'm', 'k' };

	for (size_t i = 0; i < sizeof(sfx) && n; i++) {
		unsigned shift = 30 - 10 * (unsigned)i;
		if (n % (1ULL << shift) == 0) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(n >> shift), sfx[i]);
			return;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)n);
}

void field_size(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	static const char *const units[] = { "", "k", "K", "m", "M", "g", "G", NULL };
	const char *form = "a size in bytes with an optional k, m or g suffix";
	const char *s = walk_scalar(w, v, form);
	uint64_t n;

	if (!s)
		return;
	if (!unit_form(s, units)) {
		walk_expected(w, v, form);
		return;
	}
	if (parse_size(s, &n) != 0 || n < f->min || n > f->max) {
		char lo[32], hi[32];
		format_size(f->min, lo, sizeof(lo));
		format_size(f->max, hi, sizeof(hi));
		expected_range(w, v, "a size", lo, hi);
		return;
	}
	*(uint64_t *)walk_slot(obj, f->off) = n;
}

void field_bool(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	const char *what = "true or false";
	const char *s = walk_scalar(w, v, what);

	if (!s)
		return;
	if (strcmp(s, "true") == 0)
		*(bool *)walk_slot(obj, f->off) = true;
	else if (strcmp(s, "false") == 0)
		*(bool *)walk_slot(obj, f->off) = false;
	else
		walk_expected(w, v, what);
}

/* "a, b or c" */
static void enum_list(const struct enum_name *e, char *buf, size_t len)
{
	size_t pos = 0, n = 0;

	buf[0] = '\0';
	while (e[n].name)
		n++;
	for (size_t i = 0; i < n && pos < len; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
		pos += (size_t)snprintf(buf + pos, len - pos, "%s%s", sep, e[i].name);
	}
}

void field_enum(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	const struct enum_name *e = f->arg;
	char what[256];
	const char *s;

	enum_list(e, what, sizeof(what));
	s = walk_scalar(w, v, what);
	if (!s)
		return;
	for (; e->name; e++) {
		if (strcmp(s, e->name) == 0) {
			*(int *)walk_slot(obj, f->off) = e->value;
			return;
		}
	}
	walk_expected(w, v, what);
}

static void set_string(void *slot, const char *s)
{
	char **p = slot;
	char *copy = strdup(s);

	if (!copy)
		return; /* left unset: the caller sees a missing value */
	free(*p);
	*p = copy;
}

static void check_name(struct walk *w, const struct field *f, const struct cnode *v, void *obj,
		       const char *charset, const char *what)
{
	const char *s = walk_scalar(w, v, what);
	size_t n;

	if (!s)
		return;
	n = strspn(s, charset);
	if (n == 0 || s[n] || n > CONFIG_NAME_MAX) {
		walk_expected(w, v, what);
		return;
	}
	set_string(walk_slot(obj, f->off), s);
}

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

void field_name(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	check_name(w, f, v, obj, NAME_CHARS,
		   "a name of 1 to 64 letters, digits, \"_\", \".\" or \"-\"");
}

/* A server's name defaults to its address, so a name written like one
 * ("10.0.0.1:80", "[::1]:80", "unix:/run/app.sock") is accepted too. */
void field_server_name(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	check_name(w, f, v, obj, NAME_CHARS ":[]/",
		   "a name of 1 to 64 letters, digits, \"_\", \".\", \"-\", \":\", "
		   "\"[\", \"]\" or \"/\"");
}

/* RFC 6265 §4.1.1: a cookie-name is a token. */
void field_cookie_name(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	check_name(w, f, v, obj,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~",
		   "a cookie name of 1 to 64 letters, digits or !#$%&'*+-.^_`|~");
}

int walk_address(struct walk *w, const struct cnode *v, struct lbd_addr *out)
{
	static const char form[] = "HOST:PORT, [IPv6]:PORT or unix:/path";
	const char *s = walk_scalar(w, v, form);
	const char *why = form;

	if (!s)
		return -1;
	if (addr_parse(s, out, &why) != 0) {
		walk_expected(w, v, why);
		return -1;
	}
	return 0;
}

void field_address(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	walk_address(w, v, walk_slot(obj, f->off));
}

void field_server_address(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct server_conf *srv = obj;
	const char *s = walk_scalar(w, v, "HOST:PORT, [IPv6]:PORT or unix:/path");
	const char *why = NULL;

	if (!s)
		return;
	if (addr_parse(s, &srv->addr, &why) == 0)
		return;
	if (why != ADDR_WHY_UNRESOLVED) {
		walk_expected(w, v, why);
		return;
	}
	/* A name the resolver does not know now (a host not yet in DNS)
	 * takes this server out, not the whole file: lbd starts or reloads,
	 * says so (config_unresolved_servers()), and the server stays down. */
	memset(&srv->addr, 0, sizeof(srv->addr));
	snprintf(srv->addr.text, sizeof(srv->addr.text), "%s", s);
	srv->unresolved = true;
}

void field_workers(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	char what[64];
	const char *s;
	uint64_t n;

	snprintf(what, sizeof(what), "auto or an integer from %llu to %llu",
		 (unsigned long long)f->min, (unsigned long long)f->max);
	s = walk_scalar(w, v, what);
	if (!s || strcmp(s, "auto") == 0)
		return; /* auto is the default, resolved when the config is created */
	if (parse_uint(s, f->max, &n) != 0 || n < f->min) {
		walk_expected(w, v, what);
		return;
	}
	*(uint32_t *)walk_slot(obj, f->off) = (uint32_t)n;
}

void field_access(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	static const char what[] = "stdout, off or an absolute file path";
	const char *s = walk_scalar(w, v, what);

	if (!s)
		return;
	if (strcmp(s, "stdout") != 0 && strcmp(s, "off") != 0 && s[0] != '/') {
		walk_expected(w, v, what);
		return;
	}
	set_string(walk_slot(obj, f->off), s);
}

void field_socket_path(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	char what[96];
	const char *s;
	char **slot = walk_slot(obj, f->off);

	snprintf(what, sizeof(what), "an absolute path of at most %zu bytes, or off",
		 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	s = walk_scalar(w, v, what);
	if (!s)
		return;
	if (strcmp(s, "off") == 0) {
		free(*slot);
		*slot = NULL;
		return;
	}
	if (s[0] != '/' || strlen(s) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		walk_expected(w, v, what);
		return;
	}
	set_string(slot, s);
}

#define TOKEN_MAX 4096

/* The token: visible ASCII without spaces (RFC 6750's b64token and more),
 * trailing white space (the file's newline) cut. */
static int read_token(const char *path, char **out, size_t *outlen, char *why, size_t whylen)
{
	char buf[TOKEN_MAX + 2];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f) {
		snprintf(why, whylen, "cannot read the token file %s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	if (ferror(f)) {
		snprintf(why, whylen, "cannot read the token file %s: %s", path, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	if (n > TOKEN_MAX) {
		snprintf(why, whylen, "the token file %s holds more than %d bytes", path,
			 TOKEN_MAX);
		return -1;
	}
	while (n && strchr(" \t\r\n", buf[n - 1]))
		n--;
	if (n == 0) {
		snprintf(why, whylen, "the token file %s is empty (expected a bearer token)", path);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)buf[i] <= 0x20 || (unsigned char)buf[i] >= 0x7f) {
			snprintf(why, whylen,
				 "the token file %s: expected one line of visible ASCII "
				 "characters",
				 path);
			return -1;
		}
	}
	*out = malloc(n + 1);
	if (!*out) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	memcpy(*out, buf, n);
	(*out)[n] = '\0';
	*outlen = n;
	return 0;
}

void field_token_file(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct global_conf *g = obj;
	const char *s = walk_scalar(w, v, "a file path");
	const char *base = w->cfg->path, *slash = strrchr(base, '/');
	size_t dir = s && s[0] != '/' && slash ? (size_t)(slash - base) + 1 : 0;
	char why[TOKEN_MAX / 2], *path, *token = NULL;
	size_t len = 0;

	(void)f;
	if (!s)
		return;
	/* relative to the configuration file, as TLS files are */
	path = malloc(dir + strlen(s) + 1);
	if (!path) {
		cerr_at(w->errs, v, "out of memory");
		return;
	}
	memcpy(path, base, dir);
	strcpy(path + dir, s);
	if (read_token(path, &token, &len, why, sizeof(why)) != 0) {
		cerr_at(w->errs, v, "%s", why);
		free(path);
		return;
	}
	free(g->admin.token_file);
	free(g->admin.token);
	g->admin.token_file = path;
	g->admin.token = token;
	g->admin.token_len = len;
}

/* User and group names as useradd(8) accepts them; the account must exist
 * where the configuration is checked, so `lbd -t` catches a typo. */
static const char *account_name(struct walk *w, const struct cnode *v, const char *what)
{
	const char *s = walk_scalar(w, v, what);
	size_t n;

	if (!s)
		return NULL;
	n = strspn(s, NAME_CHARS);
	if (n == 0 || s[n] || n > 32 || s[0] == '-') {
		walk_expected(w, v, what);
		return NULL;
	}
	return s;
}

void field_user(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	const char *s = account_name(w, v, "a user name");

	if (!s)
		return;
	if (!getpwnam(s)) {
		cerr_at(w->errs, v, "no user named \"%s\" on this system", s);
		return;
	}
	set_string(walk_slot(obj, f->off), s);
}

void field_group(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	const char *s = account_name(w, v, "a group name");

	if (!s)
		return;
	if (!getgrnam(s)) {
		cerr_at(w->errs, v, "no group named \"%s\" on this system", s);
		return;
	}
	set_string(walk_slot(obj, f->off), s);
}

/* Labels of letters, digits, '-' and '_', separated by single dots;
 * "*." may lead. S is already lowercased. */
static bool host_ok(const char *s)
{
	size_t label = 0, total = strlen(s);

	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	if (!*s || total > 253)
		return false;
	for (; *s; s++) {
		if (*s == '.') {
			if (label == 0 || !s[1])
				return false;
			label = 0;
			continue;
		}
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_') ||
		    ++label > 63)
			return false;
	}
	return true;
}

void field_host(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	static const char what[] = "a host name such as api.example.com or *.example.com";
	const char *s = walk_scalar(w, v, what);
	char *low;

	if (!s)
		return;
	if (strchr(s, ':') && !strchr(s, '[')) {
		walk_expected(w, v,
			      "a host name without a port (routes match the name in the "
			      "Host header)");
		return;
	}
	low = strdup(s);
	if (!low)
		return;
	for (char *p = low; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (!host_ok(low)) {
		free(low);
		walk_expected(w, v, what);
		return;
	}
	free(*(char **)walk_slot(obj, f->off));
	*(char **)walk_slot(obj, f->off) = low;
}

void field_path_prefix(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	static const char what[] = "a path starting with \"/\"";
	const char *s = walk_scalar(w, v, what);

	if (!s)
		return;
	if (s[0] != '/') {
		walk_expected(w, v, what);
		return;
	}
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#') {
			walk_expected(w, v,
				      "a path without spaces, control characters, \"?\" or \"#\"");
			return;
		}
	}
	set_string(walk_slot(obj, f->off), s);
}

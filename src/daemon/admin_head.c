/* admin_head.c — the check of an admin request's head before evhttp reads
 * it. evhttp 2.1 answers what its parser refuses (a malformed request line,
 * an unknown method, a head or a body over its limits) with an HTML page of
 * its own, before lbd's handler runs and with no hook to change it; so the
 * admin gate (admin_gate.c) asks this check first and lbd answers a refusal
 * in JSON. Where evhttp is lenient (line folding, a signed Content-Length,
 * spaces in the request target) the check refuses: what it lets through,
 * evhttp takes.
 */
#include "daemon/admin_head.h"

#include <event2/http.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The methods evhttp knows: any other is refused by it whatever
 * evhttp_set_allowed_methods says. */
static const char *const known_methods[] = {
	"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH",
};

/* What the header lines say about the body (evhttp reads the first of
 * each header). */
struct head_fields {
	const char *length; /* the first Content-Length's value */
	size_t length_len;
	bool length_conflict; /* another Content-Length says otherwise */
	bool seen_te;
	bool chunked; /* the first Transfer-Encoding is chunked */
	const char *expect;
	size_t expect_len;
};

/* What the request line says about the rest. */
struct head_line {
	bool may_have_body; /* evhttp reads no body after HEAD and TRACE */
	bool http11;        /* evhttp looks at Expect from HTTP/1.1 on */
};

static enum admin_head_result refuse(struct admin_head *out, int code, const char *reason,
				     const char *error)
{
	out->code = code;
	out->reason = reason;
	snprintf(out->error, sizeof(out->error), "%s", error);
	return ADMIN_HEAD_REFUSED;
}

static enum admin_head_result bad_request(struct admin_head *out, const char *error)
{
	return refuse(out, 400, "Bad Request", error);
}

static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_known_method(const char *m, size_t n)
{
	for (size_t i = 0; i < sizeof(known_methods) / sizeof(known_methods[0]); i++)
		if (strlen(known_methods[i]) == n && memcmp(known_methods[i], m, n) == 0)
			return true;
	return false;
}

/* Whether evhttp's URI parser takes the request target T (N bytes of
 * visible ASCII); CONNECT's target is an authority, which evhttp parses as
 * the authority of a "//" reference. */
static bool target_parses(const char *t, size_t n, bool connect)
{
	char *copy = malloc(n + 3);
	struct evhttp_uri *uri;

	if (!copy)
		return false;
	snprintf(copy, n + 3, "%s%.*s", connect ? "//" : "", (int)n, t);
	uri = evhttp_uri_parse_with_flags(copy, EVHTTP_URI_NONCONFORMANT);
	free(copy);
	if (!uri)
		return false;
	evhttp_uri_free(uri);
	return true;
}

/* "HTTP/d.d" with a major version evhttp takes (0 or 1). */
static bool version_ok(const char *v, size_t n)
{
	return n == 8 && memcmp(v, "HTTP/", 5) == 0 && (v[5] == '0' || v[5] == '1') &&
	       v[6] == '.' && v[7] >= '0' && v[7] <= '9';
}

/* METHOD SP TARGET SP VERSION, S being N bytes without the line's end. */
static enum admin_head_result check_request_line(const char *s, size_t n, struct admin_head *out,
						 struct head_line *line)
{
	size_t m = 0, t = 0;
	const char *target, *version;

	while (m < n && is_tchar((unsigned char)s[m]))
		m++;
	if (m == 0 || m == n || s[m] != ' ')
		return bad_request(out, "malformed request line");
	out->is_head = m == 4 && memcmp(s, "HEAD", 4) == 0;
	target = s + m + 1;
	while (target + t < s + n && target[t] > ' ' && target[t] < 0x7f)
		t++;
	if (t == 0 || target + t == s + n || target[t] != ' ')
		return bad_request(out, "malformed request line");
	version = target + t + 1;
	if (!version_ok(version, (size_t)(s + n - version)))
		return bad_request(out, s + n - version >= 5 && memcmp(version, "HTTP/", 5) == 0 ?
						"unsupported HTTP version" :
						"malformed request line");
	if (!is_known_method(s, m)) {
		char error[ADMIN_HEAD_ERROR_MAX];
		snprintf(error, sizeof(error), "method %.*s is not implemented",
			 m > 32 ? 32 : (int)m, s);
		return refuse(out, 501, "Not Implemented", error);
	}
	if (!target_parses(target, t, m == 7 && memcmp(s, "CONNECT", 7) == 0))
		return bad_request(out, "malformed request target");
	line->may_have_body = !out->is_head && !(m == 5 && memcmp(s, "TRACE", 5) == 0);
	line->http11 = version[5] == '1' && version[7] != '0';
	return ADMIN_HEAD_OK;
}

static bool named(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

/* NAME ":" VALUE, with no control character but tabs: no line folding, no
 * bare CR. Notes what F needs to know. */
static bool check_header_line(const char *s, size_t n, struct head_fields *f)
{
	size_t k = 0;
	const char *v, *end = s + n;

	while (k < n && is_tchar((unsigned char)s[k]))
		k++;
	if (k == 0 || k == n || s[k] != ':')
		return false;
	for (v = s + k + 1; v < end; v++)
		if (((unsigned char)*v < ' ' && *v != '\t') || *v == 0x7f)
			return false;
	v = s + k + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (named(s, k, "Content-Length")) {
		if (!f->length) {
			f->length = v;
			f->length_len = (size_t)(end - v);
		} else if (f->length_len != (size_t)(end - v) ||
			   memcmp(f->length, v, f->length_len)) {
			f->length_conflict = true;
		}
	} else if (named(s, k, "Transfer-Encoding") && !f->seen_te) {
		f->seen_te = true;
		f->chunked = named(v, (size_t)(end - v), "chunked");
	} else if (named(s, k, "Expect") && !f->expect) {
		f->expect = v;
		f->expect_len = (size_t)(end - v);
	}
	return true;
}

/* The body evhttp would read after the head, within BODY_MAX. */
static enum admin_head_result check_body(const struct head_fields *f, const struct head_line *line,
					 size_t body_max, struct admin_head *out)
{
	size_t len = 0, announced = 0;
	bool over = false;

	if (!line->may_have_body)
		return ADMIN_HEAD_OK;
	if (f->chunked)
		return refuse(out, 411, "Length Required", "a request body needs Content-Length");
	if (f->length_conflict)
		return bad_request(out, "conflicting Content-Length headers");
	if (f->length && f->length_len == 0)
		return bad_request(out, "malformed Content-Length");
	for (size_t i = 0; f->length && i < f->length_len; i++) {
		if (f->length[i] < '0' || f->length[i] > '9')
			return bad_request(out, "malformed Content-Length");
		if (!over)
			len = len * 10 + (size_t)(f->length[i] - '0');
		over = over || len > body_max;
		announced = announced > (SIZE_MAX - 9) / 10 ?
				    SIZE_MAX :
				    announced * 10 + (size_t)(f->length[i] - '0');
	}
	if (over) {
		char error[ADMIN_HEAD_ERROR_MAX];
		bool waits = line->http11 && f->expect &&
			     named(f->expect, f->expect_len, "100-continue");
		snprintf(error, sizeof(error), "request body over %zu bytes", body_max);
		out->body_len = waits ? 0 : announced;
		return refuse(out, 413, "Payload Too Large", error);
	}
	if (len && line->http11 && f->expect && !named(f->expect, f->expect_len, "100-continue"))
		return refuse(out, 417, "Expectation Failed",
			      "only Expect: 100-continue is understood");
	out->body_len = len;
	return ADMIN_HEAD_OK;
}

static enum admin_head_result too_large(struct admin_head *out, size_t head_max)
{
	char error[ADMIN_HEAD_ERROR_MAX];

	snprintf(error, sizeof(error), "request head over %zu bytes", head_max);
	return refuse(out, 431, "Request Header Fields Too Large", error);
}

enum admin_head_result admin_head_check(const char *buf, size_t len, size_t head_max,
					size_t body_max, struct admin_head *out)
{
	struct head_fields f = { 0 };
	struct head_line line = { 0 };
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	for (;;) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end, n;

		if (!nl)
			return len > head_max ? too_large(out, head_max) : ADMIN_HEAD_MORE;
		end = (size_t)(nl - buf) + 1;
		if (end > head_max)
			return too_large(out, head_max);
		n = (size_t)(nl - (buf + pos));
		if (n && buf[pos + n - 1] == '\r')
			n--;
		if (pos == 0) {
			enum admin_head_result r = check_request_line(buf, n, out, &line);
			if (r != ADMIN_HEAD_OK)
				return r;
		} else if (n == 0) {
			out->head_len = end;
			return check_body(&f, &line, body_max, out);
		} else if (!check_header_line(buf + pos, n, &f)) {
			return bad_request(out, "malformed header line");
		}
		pos = end;
	}
}

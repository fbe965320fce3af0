/* json.c — escaping strings, and reading small JSON objects. */
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

#define JSON_DEPTH_MAX 32

/* Length of the valid UTF-8 sequence at S, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void json_add_string(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	strbuf_add(sb, "\"", 1);
	while (*p) {
		size_t n = utf8_len(p);
		if (n == 0) {
			strbuf_adds(sb, "\\ufffd");
			p++;
			continue;
		}
		if (n > 1) {
			strbuf_add(sb, p, n);
			p += n;
			continue;
		}
		switch (*p) {
		case '"':
			strbuf_adds(sb, "\\\"");
			break;
		case '\\':
			strbuf_adds(sb, "\\\\");
			break;
		case '\n':
			strbuf_adds(sb, "\\n");
			break;
		case '\r':
			strbuf_adds(sb, "\\r");
			break;
		case '\t':
			strbuf_adds(sb, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				char esc[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };
				strbuf_add(sb, esc, sizeof(esc));
			} else {
				strbuf_add(sb, p, 1);
			}
		}
		p++;
	}
	strbuf_add(sb, "\"", 1);
}

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put(char *out, size_t outlen, size_t *n, char c)
{
	if (out && *n + 1 < outlen)
		out[*n] = c;
	(*n)++;
}

static void put_utf8(char *out, size_t outlen, size_t *n, uint32_t cp)
{
	if (cp < 0x80) {
		put(out, outlen, n, (char)cp);
	} else if (cp < 0x800) {
		put(out, outlen, n, (char)(0xc0 | (cp >> 6)));
		put(out, outlen, n, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		put(out, outlen, n, (char)(0xe0 | (cp >> 12)));
		put(out, outlen, n, (char)(0x80 | ((cp >> 6) & 0x3f)));
		put(out, outlen, n, (char)(0x80 | (cp & 0x3f)));
	} else {
		put(out, outlen, n, (char)(0xf0 | (cp >> 18)));
		put(out, outlen, n, (char)(0x80 | ((cp >> 12) & 0x3f)));
		put(out, outlen, n, (char)(0x80 | ((cp >> 6) & 0x3f)));
		put(out, outlen, n, (char)(0x80 | (cp & 0x3f)));
	}
}

static const char *hex4(const char *p, uint32_t *cp)
{
	*cp = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);
		if (h < 0)
			return NULL;
		*cp = (*cp << 4) | (uint32_t)h;
	}
	return p + 4;
}

const char *json_string(const char *p, char *out, size_t outlen)
{
	size_t n = 0;

	p = ws(p);
	if (*p != '"')
		return NULL;
	for (p++; *p != '"'; p++) {
		if (*p == '\0' || (unsigned char)*p < 0x20)
			return NULL;
		if (*p != '\\') {
			put(out, outlen, &n, *p);
			continue;
		}
		p++;
		switch (*p) {
		case '"':
		case '\\':
		case '/':
			put(out, outlen, &n, *p);
			break;
		case 'b':
			put(out, outlen, &n, '\b');
			break;
		case 'f':
			put(out, outlen, &n, '\f');
			break;
		case 'n':
			put(out, outlen, &n, '\n');
			break;
		case 'r':
			put(out, outlen, &n, '\r');
			break;
		case 't':
			put(out, outlen, &n, '\t');
			break;
		case 'u': {
			uint32_t cp, lo;
			const char *q = hex4(p + 1, &cp);
			if (!q)
				return NULL;
			p = q - 1;
			if (cp >= 0xd800 && cp < 0xdc00 && q[0] == '\\' && q[1] == 'u' &&
			    hex4(q + 2, &lo) && lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p = q + 5;
			} else if (cp >= 0xd800 && cp < 0xe000) {
				cp = 0xfffd;
			}
			put_utf8(out, outlen, &n, cp);
			break;
		}
		default:
			return NULL;
		}
	}
	if (out && outlen)
		out[n < outlen ? n : outlen - 1] = '\0';
	return p + 1;
}

const char *json_u64(const char *p, uint64_t *out)
{
	uint64_t v = 0;
	const char *start;

	p = ws(p);
	start = p;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return NULL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == start || (p - start > 1 && *start == '0'))
		return NULL;
	*out = v;
	return p;
}

static const char *skip(const char *p, int depth)
{
	if (depth > JSON_DEPTH_MAX)
		return NULL;
	p = ws(p);
	switch (*p) {
	case '"':
		return json_string(p, NULL, 0);
	case '{':
	case '[': {
		char close = *p == '{' ? '}' : ']';
		p = ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				p = json_string(p, NULL, 0);
				if (!p)
					return NULL;
				p = ws(p);
				if (*p != ':')
					return NULL;
				p++;
			}
			p = skip(p, depth + 1);
			if (!p)
				return NULL;
			p = ws(p);
			if (*p == close)
				return p + 1;
			if (*p != ',')
				return NULL;
			p++;
		}
	}
	case 't':
		return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
	case 'f':
		return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
	case 'n':
		return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
	default:
		if (*p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return NULL;
		p += strspn(p, "0123456789");
		if (*p == '.')
			p += 1 + strspn(p + 1, "0123456789");
		if (*p == 'e' || *p == 'E') {
			p++;
			if (*p == '+' || *p == '-')
				p++;
			p += strspn(p, "0123456789");
		}
		return p;
	}
}

const char *json_skip(const char *p)
{
	return skip(p, 0);
}

const char *json_member(const char *doc, const char *key)
{
	char name[128];
	const char *p = ws(doc);

	if (*p != '{')
		return NULL;
	p = ws(p + 1);
	if (*p == '}')
		return NULL;
	for (;;) {
		const char *val;
		p = json_string(p, name, sizeof(name));
		if (!p)
			return NULL;
		p = ws(p);
		if (*p != ':')
			return NULL;
		val = ws(p + 1);
		if (strcmp(name, key) == 0)
			return val;
		p = json_skip(val);
		if (!p)
			return NULL;
		p = ws(p);
		if (*p != ',')
			return NULL;
		p = ws(p + 1);
	}
}

bool json_array_next(const char *p, const char **it)
{
	const char *q;

	if (!*it) {
		q = ws(p);
		if (*q != '[')
			return false;
		q = ws(q + 1);
		if (*q == ']')
			return false;
		*it = q;
		return true;
	}
	q = json_skip(*it);
	if (!q)
		return false;
	q = ws(q);
	if (*q != ',')
		return false;
	*it = ws(q + 1);
	return true;
}

bool json_object_next(const char *p, const char **it)
{
	const char *q;

	if (!*it) {
		q = ws(p);
		if (*q != '{')
			return false;
		q = ws(q + 1);
		if (*q != '"')
			return false;
		*it = q;
		return true;
	}
	/* past this member's key, colon and value */
	char name[128];
	q = json_string(*it, name, sizeof(name));
	if (!q || *(q = ws(q)) != ':' || !(q = json_skip(ws(q + 1))))
		return false;
	q = ws(q);
	if (*q != ',')
		return false;
	q = ws(q + 1);
	if (*q != '"')
		return false;
	*it = q;
	return true;
}

bool json_key_is(const char *it, const char *key)
{
	char name[128];

	return json_string(it, name, sizeof(name)) && strcmp(name, key) == 0;
}

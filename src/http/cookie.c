/* cookie.c — Cookie parsing and Set-Cookie writing (see cookie.h). */
#include "http/cookie.h"

#include <string.h>

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

bool cookie_find(const char *list, size_t len, const char *name, const char **value,
		 size_t *value_len)
{
	size_t name_len = strlen(name), i = 0;

	while (i < len) {
		size_t end = i;
		while (end < len && list[end] != ';')
			end++;
		size_t a = i, b = end;
		while (a < b && is_ows(list[a]))
			a++;
		while (b > a && is_ows(list[b - 1]))
			b--;
		const char *eq = memchr(list + a, '=', b - a);
		if (eq) {
			size_t nlen = (size_t)(eq - (list + a));
			while (nlen && is_ows(list[a + nlen - 1]))
				nlen--;
			if (nlen == name_len && memcmp(list + a, name, name_len) == 0) {
				const char *v = eq + 1;
				size_t vlen = (size_t)(list + b - v);
				while (vlen && is_ows(*v)) {
					v++;
					vlen--;
				}
				if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
					v++;
					vlen -= 2;
				}
				if (vlen > COOKIE_VALUE_MAX)
					return false;
				*value = v;
				*value_len = vlen;
				return true;
			}
		}
		i = end + 1;
	}
	return false;
}

void cookie_write_set(struct strbuf *out, const struct set_cookie *sc)
{
	strbuf_adds(out, "Set-Cookie: ");
	strbuf_adds(out, sc->name);
	strbuf_add(out, "=", 1);
	strbuf_adds(out, sc->value);
	strbuf_adds(out, "; Path=/");
	if (sc->max_age_s) {
		strbuf_adds(out, "; Max-Age=");
		strbuf_add_u64(out, sc->max_age_s);
	}
	strbuf_adds(out, "; HttpOnly; SameSite=Lax");
	if (sc->secure)
		strbuf_adds(out, "; Secure");
	strbuf_add(out, "\r\n", 2);
}

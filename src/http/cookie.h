/* cookie.h — the little of RFC 6265 lbd needs: find one cookie in a
 * request's Cookie field, and write a Set-Cookie field. Pure functions. */
#ifndef LBD_COOKIE_H
#define LBD_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

/* Values longer than this are treated as absent (lbd's own are shorter). */
#define COOKIE_VALUE_MAX 256

/* Look for NAME in the cookie-string LIST ("a=1; b=2"). The first pair
 * named NAME (exact, case-sensitive) wins; its value, without surrounding
 * double quotes, goes to *VALUE / *VALUE_LEN. Returns false when absent or
 * when the value is longer than COOKIE_VALUE_MAX. Pairs without "=" are
 * skipped. */
bool cookie_find(const char *list, size_t len, const char *name, const char **value,
		 size_t *value_len);

struct set_cookie {
	const char *name;
	const char *value;
	uint64_t max_age_s; /* 0: no Max-Age (a session cookie) */
	bool secure;        /* add Secure (TLS listeners) */
};

/* Append "Set-Cookie: NAME=VALUE; Path=/; [Max-Age=N; ]HttpOnly;
 * SameSite=Lax[; Secure]\r\n" to OUT. */
void cookie_write_set(struct strbuf *out, const struct set_cookie *sc);

#endif

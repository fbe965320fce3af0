/* http_name.h — the field names lbd acts on, recognised once.
 *
 * Every field name lbd looks for is checked against a head's fields many
 * times a request (framing, Host, hop-by-hop fields, lbd's own forwarding
 * fields, compression, cookies). A head classifies each name when it is
 * stored (http_head.c), so that those checks compare one small number
 * instead of strings. Names are compared as RFC 9110 §5.1 says: ASCII
 * letters in any case, every other byte exactly; a name that merely starts
 * like a known one ("Hostx", "Content-Length2") is not that one.
 */
#ifndef LBD_HTTP_NAME_H
#define LBD_HTTP_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_name {
	HN_OTHER = 0, /* none of the below */
	HN_HOST,
	HN_CONNECTION,
	HN_CONTENT_LENGTH,
	HN_TRANSFER_ENCODING,
	HN_UPGRADE,
	HN_TE,
	HN_KEEP_ALIVE,
	HN_PROXY_CONNECTION,
	HN_TRAILER,
	HN_EXPECT,
	HN_X_FORWARDED_FOR,
	HN_X_FORWARDED_PROTO,
	HN_X_FORWARDED_HOST,
	HN_FORWARDED,
	HN_X_REQUEST_ID,
	HN_X_CLIENT_CERT_SUBJECT,
	HN_X_CLIENT_CERT_VERIFY,
	HN_ACCEPT_ENCODING,
	HN_CONTENT_ENCODING,
	HN_CONTENT_RANGE,
	HN_CONTENT_TYPE,
	HN_CACHE_CONTROL,
	HN_VARY,
	HN_ETAG,
	HN_COOKIE,
	HN_SET_COOKIE,
	HN_LOCATION,
	HN_USER_AGENT, /* the access log's */
	HN_REFERER,
	/* Not a field lbd acts on, but the token "close" of nearly every
	 * Connection field: known, it needs no string compare there. */
	HN_CLOSE,
	HN_COUNT
};

/* One bit per name, for sets of names. */
#define HTTP_NAME_BIT(id) (UINT64_C(1) << (id))

/* The fields that describe one connection only (RFC 9110 §7.6.1), those a
 * Connection field names aside. */
#define HTTP_HOP_BY_HOP \
	(HTTP_NAME_BIT(HN_CONNECTION) | HTTP_NAME_BIT(HN_KEEP_ALIVE) | \
	 HTTP_NAME_BIT(HN_PROXY_CONNECTION) | HTTP_NAME_BIT(HN_TE) | HTTP_NAME_BIT(HN_TRAILER) | \
	 HTTP_NAME_BIT(HN_TRANSFER_ENCODING) | HTTP_NAME_BIT(HN_UPGRADE))

/* Which known name NAME (LEN bytes, any case) is, or HN_OTHER. */
enum http_name http_name_of(const char *name, size_t len);

/* The name of ID in lower case ("" for HN_OTHER). */
const char *http_name_text(enum http_name id);

/* RFC 9110 §5.6.2: the bytes of a token (methods, field names). */
extern const bool http_tchar[256];

static inline bool http_is_tchar(unsigned char c)
{
	return http_tchar[c];
}

#endif

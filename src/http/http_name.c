/* http_name.c — recognising the field names lbd acts on (http_name.h). */
#include "http/http_name.h"

#include <string.h>

static const char *const texts[HN_COUNT] = {
	[HN_OTHER] = "",
	[HN_HOST] = "host",
	[HN_CONNECTION] = "connection",
	[HN_CONTENT_LENGTH] = "content-length",
	[HN_TRANSFER_ENCODING] = "transfer-encoding",
	[HN_UPGRADE] = "upgrade",
	[HN_TE] = "te",
	[HN_KEEP_ALIVE] = "keep-alive",
	[HN_PROXY_CONNECTION] = "proxy-connection",
	[HN_TRAILER] = "trailer",
	[HN_EXPECT] = "expect",
	[HN_X_FORWARDED_FOR] = "x-forwarded-for",
	[HN_X_FORWARDED_PROTO] = "x-forwarded-proto",
	[HN_X_FORWARDED_HOST] = "x-forwarded-host",
	[HN_FORWARDED] = "forwarded",
	[HN_X_REQUEST_ID] = "x-request-id",
	[HN_X_CLIENT_CERT_SUBJECT] = "x-client-cert-subject",
	[HN_X_CLIENT_CERT_VERIFY] = "x-client-cert-verify",
	[HN_ACCEPT_ENCODING] = "accept-encoding",
	[HN_CONTENT_ENCODING] = "content-encoding",
	[HN_CONTENT_RANGE] = "content-range",
	[HN_CONTENT_TYPE] = "content-type",
	[HN_CACHE_CONTROL] = "cache-control",
	[HN_VARY] = "vary",
	[HN_ETAG] = "etag",
	[HN_COOKIE] = "cookie",
	[HN_SET_COOKIE] = "set-cookie",
	[HN_LOCATION] = "location",
	[HN_USER_AGENT] = "user-agent",
	[HN_REFERER] = "referer",
	[HN_CLOSE] = "close",
};

/* The candidates of each length, HN_OTHER-terminated: a name is compared
 * with at most four texts, most of which differ in the first byte. The
 * unit tests check this index against the texts above. */
#define NAME_MAX_LEN 21
static const uint8_t by_len[NAME_MAX_LEN + 1][5] = {
	[2] = { HN_TE },
	[4] = { HN_HOST, HN_VARY, HN_ETAG },
	[5] = { HN_CLOSE },
	[6] = { HN_COOKIE, HN_EXPECT },
	[7] = { HN_UPGRADE, HN_TRAILER, HN_REFERER },
	[8] = { HN_LOCATION },
	[9] = { HN_FORWARDED },
	[10] = { HN_CONNECTION, HN_KEEP_ALIVE, HN_SET_COOKIE, HN_USER_AGENT },
	[12] = { HN_CONTENT_TYPE, HN_X_REQUEST_ID },
	[13] = { HN_CONTENT_RANGE, HN_CACHE_CONTROL },
	[14] = { HN_CONTENT_LENGTH },
	[15] = { HN_ACCEPT_ENCODING, HN_X_FORWARDED_FOR },
	[16] = { HN_CONTENT_ENCODING, HN_PROXY_CONNECTION, HN_X_FORWARDED_HOST },
	[17] = { HN_TRANSFER_ENCODING, HN_X_FORWARDED_PROTO },
	[20] = { HN_X_CLIENT_CERT_VERIFY },
	[21] = { HN_X_CLIENT_CERT_SUBJECT },
};

/* Whether the bytes of S and of the known name K at OFF are the same, ASCII
 * letters in any case, a word at a time: each letter of K (the bytes with
 * 0x40; the texts hold lower-case letters and '-') lets the case bit of S
 * through, every other byte must be equal. */
static inline bool same64(const char *s, const char *k, size_t off)
{
	uint64_t a, b;

	memcpy(&a, s + off, 8);
	memcpy(&b, k + off, 8);
	return (a | ((b & UINT64_C(0x4040404040404040)) >> 1)) == b;
}

static inline bool same32(const char *s, const char *k, size_t off)
{
	uint32_t a, b;

	memcpy(&a, s + off, 4);
	memcpy(&b, k + off, 4);
	return (a | ((b & UINT32_C(0x40404040)) >> 1)) == b;
}

static inline bool same16(const char *s, const char *k, size_t off)
{
	uint16_t a, b;

	memcpy(&a, s + off, 2);
	memcpy(&b, k + off, 2);
	return (uint16_t)(a | ((b & 0x4040u) >> 1)) == b;
}

/* S equals LOWER (LEN bytes, at least 2) with ASCII letters in any case,
 * as strncasecmp() compares in the C locale, in whole words: the last one
 * overlaps the one before rather than read past LEN. */
static bool same_name(const char *s, const char *lower, size_t len)
{
	if (len >= 8) {
		for (size_t off = 0; off + 8 < len; off += 8)
			if (!same64(s, lower, off))
				return false;
		return same64(s, lower, len - 8);
	}
	if (len >= 4)
		return same32(s, lower, 0) && same32(s, lower, len - 4);
	return same16(s, lower, 0) && same16(s, lower, len - 2);
}

enum http_name http_name_of(const char *name, size_t len)
{
	if (len > NAME_MAX_LEN || len < 2)
		return HN_OTHER;
	/* Every text starts with a letter: the first byte in lower case
	 * rules most candidates out before a word is compared. */
	char first = (char)(name[0] | 0x20);
	for (const uint8_t *c = by_len[len]; *c != HN_OTHER; c++) {
		enum http_name id = *c;
		if (texts[id][0] == first && same_name(name, texts[id], len))
			return id;
	}
	return HN_OTHER;
}

const char *http_name_text(enum http_name id)
{
	return (unsigned)id < HN_COUNT ? texts[id] : "";
}

const bool http_tchar[256] = {
	['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true, ['!'] = true,
	['#'] = true,         ['$'] = true,         ['%'] = true,         ['&'] = true,
	['\''] = true,        ['*'] = true,         ['+'] = true,         ['-'] = true,
	['.'] = true,         ['^'] = true,         ['_'] = true,         ['`'] = true,
	['|'] = true,         ['~'] = true,
};

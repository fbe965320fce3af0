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

/* The candidates for a name by its length and first letter: at most two,
 * so a name is compared with one text, rarely two. The unit tests check
 * that every text is found through this index. */
#define NAME_MAX_LEN 21
#define L(c) ((c) - 'a')
static const uint8_t candidates[NAME_MAX_LEN + 1][26][2] = {
	[2][L('t')] = { HN_TE },
	[4][L('h')] = { HN_HOST },
	[4][L('v')] = { HN_VARY },
	[4][L('e')] = { HN_ETAG },
	[5][L('c')] = { HN_CLOSE },
	[6][L('c')] = { HN_COOKIE },
	[6][L('e')] = { HN_EXPECT },
	[7][L('u')] = { HN_UPGRADE },
	[7][L('t')] = { HN_TRAILER },
	[7][L('r')] = { HN_REFERER },
	[8][L('l')] = { HN_LOCATION },
	[9][L('f')] = { HN_FORWARDED },
	[10][L('c')] = { HN_CONNECTION },
	[10][L('k')] = { HN_KEEP_ALIVE },
	[10][L('s')] = { HN_SET_COOKIE },
	[10][L('u')] = { HN_USER_AGENT },
	[12][L('c')] = { HN_CONTENT_TYPE },
	[12][L('x')] = { HN_X_REQUEST_ID },
	[13][L('c')] = { HN_CONTENT_RANGE, HN_CACHE_CONTROL },
	[14][L('c')] = { HN_CONTENT_LENGTH },
	[15][L('a')] = { HN_ACCEPT_ENCODING },
	[15][L('x')] = { HN_X_FORWARDED_FOR },
	[16][L('c')] = { HN_CONTENT_ENCODING },
	[16][L('p')] = { HN_PROXY_CONNECTION },
	[16][L('x')] = { HN_X_FORWARDED_HOST },
	[17][L('t')] = { HN_TRANSFER_ENCODING },
	[17][L('x')] = { HN_X_FORWARDED_PROTO },
	[20][L('x')] = { HN_X_CLIENT_CERT_VERIFY },
	[21][L('x')] = { HN_X_CLIENT_CERT_SUBJECT },
};
#undef L

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
	/* Only ASCII letters become 'a'..'z' here: anything else is past
	 * the table. */
	unsigned letter = (unsigned)(unsigned char)(name[0] | 0x20) - 'a';
	if (letter >= 26)
		return HN_OTHER;
	const uint8_t *c = candidates[len][letter];
	for (int k = 0; k < 2 && c[k] != HN_OTHER; k++)
		if (same_name(name, texts[c[k]], len))
			return c[k];
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

/* status_page.c — the Content-Security-Policy of the status page. The
 * policy names the page's inline style and script by their hashes, worked
 * out from the page itself, so that an edit of status_page.html never
 * leaves a policy that blocks it (or, with 'unsafe-inline', one that would
 * let injected markup run).
 */
#include "daemon/status_page.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

/* The text between <TAG> and </TAG> in PAGE; NULL unless both occur
 * exactly once (the policy allows one style and one script, and a tag in
 * a comment would make the hash that of the wrong text). */
static const char *element_text(const char *page, size_t len, const char *tag, size_t *text_len)
{
	char open[16], close[16];
	const char *start, *end;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	start = memmem(page, len, open, strlen(open));
	if (!start)
		return NULL;
	start += strlen(open);
	end = memmem(start, len - (size_t)(start - page), close, strlen(close));
	if (!end || memmem(start, len - (size_t)(start - page), open, strlen(open)) ||
	    memmem(end + 1, len - (size_t)(end + 1 - page), close, strlen(close)))
		return NULL;
	*text_len = (size_t)(end - start);
	return start;
}

/* 'sha256-BASE64' of TAG's text, as CSP names it. */
static int hash_source(const char *page, size_t len, const char *tag, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE], b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned int mdlen = 0;
	size_t text_len = 0;
	const char *text = element_text(page, len, tag, &text_len);
	int n;

	if (!text || !EVP_Digest(text, text_len, md, &mdlen, EVP_sha256(), NULL))
		return -1;
	EVP_EncodeBlock(b64, md, (int)mdlen);
	n = snprintf(out, outlen, "'sha256-%s'", (const char *)b64);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int status_page_csp(const char *page, size_t len, char *out, size_t outlen)
{
	char style[80], script[80];
	int n;

	if (hash_source(page, len, "style", style, sizeof(style)) < 0 ||
	    hash_source(page, len, "script", script, sizeof(script)) < 0)
		return -1;
	n = snprintf(out, outlen,
		     "default-src 'none'; script-src %s; style-src %s; connect-src 'self'; "
		     "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		     script, style);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

/* http_error.h — the responses lbd answers itself (SPEC §3): a status line,
 * a short text body, and Connection: close when the connection ends; a
 * route's redirect is one of them, with its Location. */
#ifndef LBD_HTTP_ERROR_H
#define LBD_HTTP_ERROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct error_page;

const char *http_reason(int status);

/* Append a complete answer of lbd's own: an error, with Retry-After when
 * RETRY_AFTER_S is not 0 (a 429), or a redirect to LOCATION when it is not
 * NULL; the body is PAGE's (the listener's errors) when not NULL, else a
 * short text. Returns the bytes appended. */
size_t http_error_write(struct evbuffer *out, int status, bool close, uint32_t retry_after_s,
			const char *location, const struct error_page *page);

#endif

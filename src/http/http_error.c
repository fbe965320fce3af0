/* http_error.c — lbd's own short answers. */
#include "http/http_error.h"

#include <event2/buffer.h>
#include <stdio.h>

#include "config/config.h"

const char *http_reason(int status)
{
	switch (status) {
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 417:
		return "Expectation Failed";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

size_t http_error_write(struct evbuffer *out, int status, bool close, uint32_t retry_after_s,
			const char *location, const struct error_page *page)
{
	char retry[40] = "";
	char body[96];
	int blen = snprintf(body, sizeof(body), "%d %s\n", status, http_reason(status));
	size_t before = evbuffer_get_length(out);

	if (retry_after_s)
		snprintf(retry, sizeof(retry), "Retry-After: %u\r\n", retry_after_s);

	evbuffer_add_printf(out,
			    "HTTP/1.1 %d %s\r\n"
			    "Content-Type: %s\r\n"
			    "Content-Length: %zu\r\n"
			    "Cache-Control: no-store\r\n"
			    "%s%s%s%s%s"
			    "\r\n",
			    status, http_reason(status), page ? page->type : "text/plain",
			    page ? page->len : (size_t)blen, retry, location ? "Location: " : "",
			    location ? location : "", location ? "\r\n" : "",
			    close ? "Connection: close\r\n" : "");
	if (page)
		evbuffer_add(out, page->body, page->len);
	else
		evbuffer_add(out, body, (size_t)blen);
	return evbuffer_get_length(out) - before;
}

/* http_rewrite.c — writing the heads lbd forwards. */
#include "http_rewrite.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <string.h>

static const char *const hop_by_hop[] = {
	"connection", "keep-alive", "proxy-connection", "te", "trailer",
	"transfer-encoding", "upgrade",
};

bool http_is_hop_by_hop(const struct http_head *h, const struct http_field *f)
{
	for (size_t i = 0; i < sizeof(hop_by_hop) / sizeof(hop_by_hop[0]); i++)
		if (http_field_is(h, f, hop_by_hop[i]))
			return true;
	return http_head_connection_names(h, f);
}

static int add_field(struct evbuffer *out, const struct http_head *h, const struct http_field *f)
{
	return evbuffer_add_printf(out, "%.*s: %.*s\r\n",
				   (int)f->name_len, http_field_name(h, f),
				   (int)f->value_len, http_field_value(h, f)) < 0 ? -1 : 0;
}

/* Join every field named NAME into one list ("a, b"), as RFC 9110 §5.3
 * allows for list-valued fields. Returns whether any was found. */
static bool add_joined(struct evbuffer *out, const struct http_head *h, const char *name)
{
	bool any = false;

	for (uint32_t i = 0; i < h->nfields; i++) {
		const struct http_field *f = &h->fields[i];
		if (!http_field_is(h, f, name) || f->value_len == 0)
			continue;
		if (any)
			evbuffer_add(out, ", ", 2);
		evbuffer_add(out, http_field_value(h, f), f->value_len);
		any = true;
	}
	return any;
}

static bool is_token(const char *s, size_t len)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || (c && strchr(extra, c))))
			return false;
	}
	return true;
}

/* RFC 7239: for="[2001:db8::1]" needs quotes, an IPv4 address does not;
 * a host with a port contains ':' and is quoted too. */
static void add_forwarded(struct evbuffer *out, const struct http_head *h,
			  const struct request_out *req)
{
	evbuffer_add_printf(out, "Forwarded: ");
	if (add_joined(out, h, "forwarded"))
		evbuffer_add(out, ", ", 2);
	if (req->client_v6)
		evbuffer_add_printf(out, "for=\"[%s]\"", req->client_ip);
	else
		evbuffer_add_printf(out, "for=%s", req->client_ip);
	if (req->host && req->host_len) {
		/* Host was validated by llhttp: no quotes or controls inside. */
		if (is_token(req->host, req->host_len))
			evbuffer_add_printf(out, ";host=%.*s", (int)req->host_len, req->host);
		else
			evbuffer_add_printf(out, ";host=\"%.*s\"", (int)req->host_len, req->host);
	}
	evbuffer_add_printf(out, ";proto=%s\r\n", req->proto);
}

static bool request_drops(const struct http_head *h, const struct http_field *f,
			  const struct request_out *req)
{
	static const char *const replaced[] = {
		"content-length", "x-forwarded-for", "x-forwarded-proto",
		"x-forwarded-host", "forwarded",
	};

	if (http_is_hop_by_hop(h, f))
		return true;
	if (req->replace_host && http_field_is(h, f, "host"))
		return true;
	for (size_t i = 0; i < sizeof(replaced) / sizeof(replaced[0]); i++)
		if (http_field_is(h, f, replaced[i]))
			return true;
	return false;
}

static void add_framing(struct evbuffer *out, enum body_mode mode, uint64_t length)
{
	if (mode == BODY_LENGTH)
		evbuffer_add_printf(out, "Content-Length: %" PRIu64 "\r\n", length);
	else if (mode == BODY_CHUNKED)
		evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n");
}

int http_request_write(struct evbuffer *out, const struct http_head *h,
		       const struct request_out *req)
{
	evbuffer_add_printf(out, "%.*s %.*s HTTP/1.1\r\n",
			    (int)req->method_len, req->method,
			    (int)req->target_len, req->target);
	if (req->replace_host && req->host)
		evbuffer_add_printf(out, "Host: %.*s\r\n", (int)req->host_len, req->host);
	for (uint32_t i = 0; i < h->nfields; i++) {
		const struct http_field *f = &h->fields[i];
		if (!request_drops(h, f, req))
			add_field(out, h, f);
	}
	add_framing(out, req->body, req->content_length);
	if (req->upgrade) {
		const struct http_field *up = http_head_find(h, "upgrade", NULL);
		evbuffer_add_printf(out, "Connection: upgrade\r\nUpgrade: %.*s\r\n",
				    (int)up->value_len, http_field_value(h, up));
	}

	evbuffer_add_printf(out, "X-Forwarded-For: ");
	if (add_joined(out, h, "x-forwarded-for"))
		evbuffer_add(out, ", ", 2);
	evbuffer_add_printf(out, "%s\r\nX-Forwarded-Proto: %s\r\n", req->client_ip, req->proto);
	if (req->host && req->host_len)
		evbuffer_add_printf(out, "X-Forwarded-Host: %.*s\r\n",
				    (int)req->host_len, req->host);
	add_forwarded(out, h, req);
	return evbuffer_add(out, "\r\n", 2);
}

int http_response_write(struct evbuffer *out, const struct http_head *h,
			const struct response_out *resp)
{
	evbuffer_add_printf(out, "HTTP/1.1 %d %.*s\r\n", resp->status,
			    (int)h->reason_len, h->buf + h->reason_off);
	for (uint32_t i = 0; i < h->nfields; i++) {
		const struct http_field *f = &h->fields[i];
		if (http_is_hop_by_hop(h, f) || http_field_is(h, f, "content-length"))
			continue;
		add_field(out, h, f);
	}
	if (resp->body == BODY_NONE && resp->declared_length >= 0)
		evbuffer_add_printf(out, "Content-Length: %" PRId64 "\r\n", resp->declared_length);
	add_framing(out, resp->body, resp->content_length);
	if (resp->upgrade) {
		const struct http_field *up = http_head_find(h, "upgrade", NULL);
		evbuffer_add_printf(out, "Connection: upgrade\r\nUpgrade: %.*s\r\n",
				    up ? (int)up->value_len : 0, up ? http_field_value(h, up) : "");
	} else if (!resp->keep_alive) {
		evbuffer_add_printf(out, "Connection: close\r\n");
	} else if (resp->client_minor == 0) {
		evbuffer_add_printf(out, "Connection: keep-alive\r\n");
	}
	return evbuffer_add(out, "\r\n", 2);
}

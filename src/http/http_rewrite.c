/* http_rewrite.c — writing the heads lbd forwards, with plain copies into a
 * strbuf (a head is rendered once per request: no printf here). */
#include "http/http_rewrite.h"

#include <string.h>
#include <strings.h>

/* A string literal and its length, for the functions that take both. */
#define LITERAL(s) (s ""), (sizeof(s "") - 1)

bool http_name_is_hop_by_hop(const char *name, size_t len)
{
	return (HTTP_HOP_BY_HOP & HTTP_NAME_BIT(http_name_of(name, len))) != 0;
}

bool http_is_hop_by_hop(const struct http_head *h, const struct http_field *f)
{
	return (HTTP_HOP_BY_HOP & HTTP_NAME_BIT(f->name_id)) || http_head_connection_names(h, f);
}

/* "NAME: VALUE\r\n" (with SPACE) or "NAME:VALUE\r\n", reserved at once and
 * copied in place: this runs for every field of every head. */
static void put_line(struct strbuf *out, const char *name, size_t name_len, bool space,
		     const char *value, size_t len)
{
	size_t n = name_len + len + 4;

	if (out->len + n > out->cap && !strbuf_reserve(out, n))
		return;
	char *p = out->data + out->len;
	memcpy(p, name, name_len);
	p += name_len;
	*p++ = ':';
	if (space)
		*p++ = ' ';
	memcpy(p, value, len);
	p += len;
	*p++ = '\r';
	*p++ = '\n';
	out->len = (size_t)(p - out->data);
}

static void add_line(struct strbuf *out, const char *name, size_t name_len, const char *value,
		     size_t len)
{
	put_line(out, name, name_len, true, value, len);
}

/* An empty value (RFC 9110 §5.5 allows it) is written without the space. */
static void add_field(struct strbuf *out, const struct http_head *h, const struct http_field *f)
{
	put_line(out, http_field_name(h, f), f->name_len, f->value_len != 0, http_field_value(h, f),
		 f->value_len);
}

/* Join every field named NAME into one list ("a, b"), as RFC 9110 §5.3
 * allows for list-valued fields. Returns whether any was found. */
static bool add_joined(struct strbuf *out, const struct http_head *h, enum http_name name)
{
	uint32_t nfields = http_head_may_have(h, name) ? h->nfields : 0;
	bool any = false;

	for (uint32_t i = 0; i < nfields; i++) {
		const struct http_field *f = &h->fields[i];
		if (f->name_id != name || f->value_len == 0)
			continue;
		if (any)
			strbuf_add(out, ", ", 2);
		strbuf_add(out, http_field_value(h, f), f->value_len);
		any = true;
	}
	return any;
}

static bool is_token(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!http_is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

/* RFC 7239: for="[2001:db8::1]" needs quotes, an IPv4 address does not;
 * a host with a port contains ':' and is quoted too. A client that has no
 * address (one on a unix: listener) is "unknown" (§6.3). The elements a
 * trusted proxy sent come first. */
static void add_forwarded(struct strbuf *out, const struct http_head *h,
			  const struct request_out *req)
{
	strbuf_adds(out, "Forwarded: ");
	if (req->trusted && add_joined(out, h, HN_FORWARDED))
		strbuf_add(out, ", ", 2);
	if (!req->client_v6 && !(req->client_ip[0] >= '0' && req->client_ip[0] <= '9')) {
		strbuf_adds(out, "for=unknown");
	} else if (req->client_v6) {
		strbuf_adds(out, "for=\"[");
		strbuf_adds(out, req->client_ip);
		strbuf_adds(out, "]\"");
	} else {
		strbuf_adds(out, "for=");
		strbuf_adds(out, req->client_ip);
	}
	if (req->host && req->host_len) {
		/* Host was checked: no quotes, controls or spaces inside. */
		bool quote = !is_token(req->host, req->host_len);
		strbuf_add(out, quote ? ";host=\"" : ";host=", quote ? 7 : 6);
		strbuf_add(out, req->host, req->host_len);
		if (quote)
			strbuf_add(out, "\"", 1);
	}
	strbuf_adds(out, ";proto=");
	strbuf_adds(out, req->proto);
	strbuf_add(out, "\r\n", 2);
}

/* Which of the X-Forwarded-Proto and X-Forwarded-Host fields a request
 * keeps: a trusted proxy's, when it sent one that is not empty. */
struct kept {
	bool proto, host;
};

static bool has_value(const struct http_head *h, enum http_name name)
{
	uint32_t nfields = http_head_may_have(h, name) ? h->nfields : 0;

	for (uint32_t i = 0; i < nfields; i++)
		if (h->fields[i].name_id == name && h->fields[i].value_len)
			return true;
	return false;
}

/* The fields of a client's head that lbd never forwards, by name: the
 * hop-by-hop ones, the framing lbd writes itself, the forwarding fields it
 * replaces, and what only lbd may say. */
static uint64_t request_drop_names(const struct request_out *req, struct kept kept)
{
	uint64_t drop = HTTP_HOP_BY_HOP | HTTP_NAME_BIT(HN_CONTENT_LENGTH) |
			HTTP_NAME_BIT(HN_X_FORWARDED_FOR) | HTTP_NAME_BIT(HN_FORWARDED) |
			HTTP_NAME_BIT(HN_X_CLIENT_CERT_SUBJECT) |
			HTTP_NAME_BIT(HN_X_CLIENT_CERT_VERIFY);

	if (req->request_id)
		drop |= HTTP_NAME_BIT(HN_X_REQUEST_ID);
	if (req->replace_host)
		drop |= HTTP_NAME_BIT(HN_HOST);
	if (!kept.proto)
		drop |= HTTP_NAME_BIT(HN_X_FORWARDED_PROTO);
	if (!kept.host)
		drop |= HTTP_NAME_BIT(HN_X_FORWARDED_HOST);
	/* An HTTP/1.0 client's 100-continue is to be ignored (RFC 9110
	 * §10.1.1): forwarded in HTTP/1.1 it would become a real one. */
	if (req->http_minor == 0)
		drop |= HTTP_NAME_BIT(HN_EXPECT);
	return drop;
}

static bool request_drops(const struct http_head *h, const struct http_field *f,
			  const struct request_out *req, uint64_t drop)
{
	if (drop & HTTP_NAME_BIT(f->name_id))
		return true;
	/* A trusted proxy's empty X-Forwarded-Proto or -Host is lbd's to
	 * replace. */
	if ((f->name_id == HN_X_FORWARDED_PROTO || f->name_id == HN_X_FORWARDED_HOST) &&
	    f->value_len == 0)
		return true;
	return http_head_connection_names(h, f) ||
	       header_rules_names(req->rules, http_field_name(h, f), f->name_len);
}

static void add_framing(struct strbuf *out, enum body_mode mode, uint64_t length)
{
	if (mode == BODY_LENGTH) {
		strbuf_adds(out, "Content-Length: ");
		strbuf_add_u64(out, length);
		strbuf_add(out, "\r\n", 2);
	} else if (mode == BODY_CHUNKED) {
		strbuf_adds(out, "Transfer-Encoding: chunked\r\n");
	}
}

static void add_upgrade(struct strbuf *out, const struct http_head *h)
{
	const struct http_field *up = http_head_find_id(h, HN_UPGRADE, NULL);

	strbuf_adds(out, "Connection: upgrade\r\n");
	if (up)
		add_line(out, LITERAL("Upgrade"), http_field_value(h, up), up->value_len);
}

/* Whether the route's rules leave lbd's own field NAME (LEN bytes) alone. */
static bool own_field(const struct request_out *req, const char *name, size_t len)
{
	return !header_rules_names(req->rules, name, len);
}

/* What the TLS handshake verified: SUCCESS with the certificate's
 * subject, or NONE (verify_client: optional, and the client showed none;
 * a certificate that does not verify never gets this far). */
static void add_client_cert(struct strbuf *out, const struct request_out *req)
{
	const char *subject = req->client_cert_subject;

	if (!req->client_cert)
		return;
	if (own_field(req, LITERAL("x-client-cert-verify")))
		add_line(out, LITERAL("X-Client-Cert-Verify"), subject ? "SUCCESS" : "NONE",
			 subject ? 7 : 4);
	if (subject && own_field(req, LITERAL("x-client-cert-subject")))
		add_line(out, LITERAL("X-Client-Cert-Subject"), subject, strlen(subject));
}

/* lbd's X-Forwarded-*, Forwarded and X-Request-Id, before the route's
 * rules. */
static void add_forwarding(struct strbuf *out, const struct http_head *h,
			   const struct request_out *req, struct kept kept)
{
	if (own_field(req, LITERAL("x-forwarded-for"))) {
		strbuf_adds(out, "X-Forwarded-For: ");
		if (add_joined(out, h, HN_X_FORWARDED_FOR))
			strbuf_add(out, ", ", 2);
		strbuf_adds(out, req->client_ip);
		strbuf_add(out, "\r\n", 2);
	}
	if (!kept.proto && own_field(req, LITERAL("x-forwarded-proto")))
		add_line(out, LITERAL("X-Forwarded-Proto"), req->proto, strlen(req->proto));
	if (!kept.host && req->host && req->host_len && own_field(req, LITERAL("x-forwarded-host")))
		add_line(out, LITERAL("X-Forwarded-Host"), req->host, req->host_len);
	if (own_field(req, LITERAL("forwarded")))
		add_forwarded(out, h, req);
	if (req->request_id && own_field(req, LITERAL("x-request-id")))
		add_line(out, LITERAL("X-Request-Id"), req->request_id, strlen(req->request_id));
	add_client_cert(out, req);
}

int http_request_write(struct strbuf *out, const struct http_head *h, const struct request_out *req)
{
	struct kept kept = { 0 };

	if (req->trusted) {
		kept.proto = has_value(h, HN_X_FORWARDED_PROTO);
		kept.host = has_value(h, HN_X_FORWARDED_HOST);
	}
	uint64_t drop = request_drop_names(req, kept);

	strbuf_add(out, req->method, req->method_len);
	strbuf_add(out, req->target_slash ? " /" : " ", req->target_slash ? 2 : 1);
	strbuf_add(out, req->target, req->target_len);
	strbuf_adds(out, " HTTP/1.1\r\n");
	if (req->replace_host && req->host)
		add_line(out, LITERAL("Host"), req->host, req->host_len);
	for (uint32_t i = 0; i < h->nfields; i++) {
		const struct http_field *f = &h->fields[i];
		if (!request_drops(h, f, req, drop))
			add_field(out, h, f);
	}
	add_framing(out, req->body, req->content_length);
	if (req->upgrade)
		add_upgrade(out, h);

	add_forwarding(out, h, req, kept);
	header_rules_write(out, req->rules, req->vars);
	strbuf_add(out, "\r\n", 2);
	return strbuf_failed(out) ? -1 : 0;
}

/* A field as compression changes it (compress.h). */
static void add_compressed_field(struct strbuf *out, const struct http_head *h,
				 const struct http_field *f)
{
	strbuf_add(out, http_field_name(h, f), f->name_len);
	strbuf_add(out, ": ", 2);
	compress_field_value(h, f, out);
	strbuf_add(out, "\r\n", 2);
}

/* "HTTP/1.1 NNN ": a status has three digits (RFC 9110 §15), which go in
 * place; any other number as it is. */
static void add_status_line_start(struct strbuf *out, int status)
{
	char line[] = "HTTP/1.1 000 ";

	if (status < 100 || status > 999) {
		strbuf_add(out, line, 9);
		strbuf_add_u64(out, (uint64_t)status);
		strbuf_add(out, " ", 1);
		return;
	}
	line[9] = (char)('0' + status / 100);
	line[10] = (char)('0' + status / 10 % 10);
	line[11] = (char)('0' + status % 10);
	strbuf_add(out, line, sizeof(line) - 1);
}

int http_response_write(struct strbuf *out, const struct http_head *h,
			const struct response_out *resp)
{
	/* lbd frames the body itself (body.h) */
	const uint64_t drop = HTTP_HOP_BY_HOP | HTTP_NAME_BIT(HN_CONTENT_LENGTH);
	bool vary = compress_vary_pending(resp->compress, h);

	add_status_line_start(out, resp->status);
	if (h->reason_len) /* an empty head may have no storage at all */
		strbuf_add(out, h->buf + h->reason_off, h->reason_len);
	strbuf_add(out, "\r\n", 2);
	for (uint32_t i = 0; i < h->nfields; i++) {
		const struct http_field *f = &h->fields[i];
		if ((drop & HTTP_NAME_BIT(f->name_id)) || http_head_connection_names(h, f) ||
		    header_rules_names(resp->rules, http_field_name(h, f), f->name_len))
			continue;
		if (compress_field_rewritten(resp->compress, h, f, &vary))
			add_compressed_field(out, h, f);
		else
			add_field(out, h, f);
	}
	if (vary)
		strbuf_adds(out, "Vary: Accept-Encoding\r\n");
	if (resp->compress == COMPRESS_GZIP)
		strbuf_adds(out, "Content-Encoding: gzip\r\n");
	header_rules_write(out, resp->rules, resp->vars);
	if (resp->set_cookie)
		cookie_write_set(out, resp->set_cookie);
	if (resp->body == BODY_NONE && resp->declared_length >= 0) {
		strbuf_adds(out, "Content-Length: ");
		strbuf_add_u64(out, (uint64_t)resp->declared_length);
		strbuf_add(out, "\r\n", 2);
	}
	add_framing(out, resp->body, resp->content_length);
	if (resp->upgrade)
		add_upgrade(out, h);
	else if (!resp->keep_alive)
		strbuf_adds(out, "Connection: close\r\n");
	else if (resp->client_minor == 0)
		strbuf_adds(out, "Connection: keep-alive\r\n");
	strbuf_add(out, "\r\n", 2);
	return strbuf_failed(out) ? -1 : 0;
}

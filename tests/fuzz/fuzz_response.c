/* fuzz_response.c — libFuzzer target for the response path: bytes from a
 * server, parsed the way lbd's upstream side parses them (http_response.c:
 * llhttp into a bounded head, framing checks, the rewritten head, the body
 * framed again), and the 502 lbd answers when it refuses them.
 *
 * Input: one byte of exchange flags (HEAD request, upgrade asked, HTTP/1.0
 * client, request complete, client keep-alive, sticky cookie, compression
 * on, a client that takes gzip), one byte
 * that says where the server's bytes are split in two reads, then the
 * server's bytes. What the client would get is parsed again, strictly, and
 * must be a well-framed response without hop-by-hop fields.
 * `make fuzz-response` runs it.
 */
#include <event2/buffer.h>
#include <llhttp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_error.h"
#include "http/http_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* --- the client's view: a strict parse of what lbd queued --------------- */

struct client_view {
	llhttp_t p;
	bool is_head;
	bool in_name;
	char name[64];
	size_t name_len;
	unsigned te, cl, conn_upgrade;
	bool complete;
	int status;
};

static void check_field(struct client_view *v)
{
	static const char *const banned[] = { "keep-alive", "proxy-connection", "te", "trailer" };
	v->name[v->name_len < sizeof(v->name) ? v->name_len : sizeof(v->name) - 1] = 0;
	for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
		if (strcasecmp(v->name, banned[i]) == 0)
			abort(); /* a hop-by-hop field crossed lbd */
	if (strcasecmp(v->name, "transfer-encoding") == 0)
		v->te++;
	if (strcasecmp(v->name, "content-length") == 0)
		v->cl++;
	if (strcasecmp(v->name, "upgrade") == 0)
		v->conn_upgrade++;
	v->name_len = 0;
}

static int view_field(llhttp_t *p, const char *at, size_t len)
{
	struct client_view *v = p->data;

	if (v->name_len + len < sizeof(v->name)) {
		memcpy(v->name + v->name_len, at, len);
		v->name_len += len;
	} else {
		v->name_len = sizeof(v->name);
	}
	return 0;
}

static int view_value_complete(llhttp_t *p)
{
	check_field(p->data);
	return 0;
}

static int view_message_begin(llhttp_t *p)
{
	struct client_view *v = p->data;

	v->te = v->cl = v->conn_upgrade = 0;
	return 0;
}

static int view_headers_complete(llhttp_t *p)
{
	struct client_view *v = p->data;

	if (v->te > 1 || (v->te && v->cl) || v->cl > 1)
		abort(); /* framing a client could read two ways */
	if (v->conn_upgrade && p->status_code != 101)
		abort();
	v->status = p->status_code;
	/* A client knows these have no body, whatever Content-Length says. */
	int st = p->status_code;
	return (v->is_head && st >= 200) || st == 204 || st == 304 ? 1 : 0;
}

static int view_message_complete(llhttp_t *p)
{
	struct client_view *v = p->data;

	if (v->status >= 200)
		v->complete = true;
	return 0;
}

static const llhttp_settings_t view_settings = {
	.on_message_begin = view_message_begin,
	.on_header_field = view_field,
	.on_header_value_complete = view_value_complete,
	.on_headers_complete = view_headers_complete,
	.on_message_complete = view_message_complete,
};

/* Every head lbd writes ends its lines with CRLF and holds no bare CR or LF. */
static void check_heads(const char *out, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *end = memmem(out + pos, len - pos, "\r\n\r\n", 4);
		if (!end)
			abort(); /* heads are queued whole */
		for (const char *q = out + pos; q + 1 < end + 2; q++)
			if ((q[0] == '\r') != (q[1] == '\n'))
				abort();
		bool interim = len - pos > 10 && memcmp(out + pos, "HTTP/1.1 1", 10) == 0 &&
			       memcmp(out + pos, "HTTP/1.1 101", 12) != 0;
		pos = (size_t)(end + 4 - out);
		if (!interim)
			break;
	}
}

static void check_output(struct evbuffer *buf, bool is_head, bool complete, bool upgraded)
{
	size_t len = evbuffer_get_length(buf);
	const char *out = (const char *)evbuffer_pullup(buf, -1);
	struct client_view v = { .is_head = is_head };

	if (!len)
		return;
	check_heads(out, len);
	llhttp_init(&v.p, HTTP_RESPONSE, &view_settings);
	v.p.data = &v;
	enum llhttp_errno err = llhttp_execute(&v.p, out, len);
	if (upgraded) {
		if (err != HPE_PAUSED_UPGRADE)
			abort();
		return;
	}
	if (err != HPE_OK)
		abort(); /* lbd sent the client something it cannot parse */
	if (complete && !v.complete && llhttp_finish(&v.p) != HPE_OK)
		abort();
	if (complete && !v.complete)
		abort(); /* a complete response must read as complete */
}

/* --- the target ---------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct strbuf scratch;
	struct response_parser rp;
	struct http_head head;
	struct set_cookie sc = { .name = "lbd_sticky",
				 .value = "0123456789abcdef",
				 .max_age_s = 3600 };

	if (size < 2)
		return 0;
	uint8_t flags = data[0];
	const char *in = (const char *)data + 2;
	size_t len = size - 2;
	size_t split = len ? data[1] % (len + 1) : 0;

	struct evbuffer *out = evbuffer_new();
	if (!out)
		return 0;
	http_head_init(&head, 64 * 1024, 500);
	response_parser_init(&rp, &head, out, &scratch);
	rp.is_head = flags & 1;
	rp.upgrade = flags & 2;
	rp.client_minor = flags & 4 ? 0 : 1;
	bool req_complete = !(flags & 8), client_keep_alive = !(flags & 16);
	rp.req_complete = &req_complete;
	rp.client_keep_alive = &client_keep_alive;
	rp.set_cookie = flags & 32 ? &sc : NULL;
	/* Every text type gzipped, whatever its length (compress.h). */
	static char *text[] = { "text/*" };
	static const struct compression_conf gz = { .enabled = true,
						    .types = text,
						    .ntypes = 1,
						    .level = 1 };
	struct response_compression rc = { .conf = flags & 64 ? &gz : NULL,
					   .client_gzip = flags & 128 && !(flags & 4),
					   .is_head = rp.is_head };
	rp.compress = &rc;

	/* Two reads, as the upstream feeds them: what one read does not use
	 * is kept and offered again with the next bytes. */
	enum response_step step = RESPONSE_MORE;
	size_t pos = 0, used;
	for (int read = 0; read < 2 && step == RESPONSE_MORE; read++) {
		size_t end = read == 0 ? split : len;
		if (end > pos) {
			step = response_parser_feed(&rp, in + pos, end - pos, &used);
			pos += used;
		}
		if (step == RESPONSE_MORE && response_parser_pause(&rp) < 0)
			abort();
	}
	bool complete = step == RESPONSE_DONE;
	if (step == RESPONSE_MORE && response_parser_needs_eof(&rp))
		complete = response_parser_finish(&rp);
	if (complete != rp.complete && step != RESPONSE_MORE)
		abort();
	if (rp.bytes_out != evbuffer_get_length(out))
		abort(); /* the access log counts what was queued */
	if (step == RESPONSE_INVALID && !rp.started)
		http_error_write(out, 502, true, 0, NULL, NULL); /* what lbd answers instead */
	if (complete && rp.started && !rp.closes_client && (rp.body == BODY_EOF || !req_complete))
		abort();
	check_output(out, rp.is_head, complete, step == RESPONSE_UPGRADE);

	compress_end(&rc);
	http_head_free(&head);
	evbuffer_free(out);
	return 0;
}

/* admin_reply.c — the admin API's answers: JSON with no-store, HEAD with
 * its length and no body, 405 with Allow. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>

#include "daemon/admin_private.h"
#include "util/json.h"

void admin_reply(struct evhttp_request *req, int code, const char *reason, const char *type,
		 struct strbuf *body)
{
	struct evbuffer *out = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (!out || strbuf_failed(body)) {
		evbuffer_free(out);
		strbuf_free(body);
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	/* libevent 2.1 would send a body after a HEAD answer: the length is
	 * told, the body left out. */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		char len[24];
		snprintf(len, sizeof(len), "%zu", body->len);
		evhttp_add_header(h, "Content-Length", len);
	} else {
		evbuffer_add(out, body->data, body->len);
	}
	strbuf_free(body);
	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

void admin_reply_json(struct evhttp_request *req, int code, const char *reason, struct strbuf *body)
{
	admin_reply(req, code, reason, "application/json", body);
}

void admin_reply_error(struct evhttp_request *req, int code, const char *reason, const char *msg)
{
	struct strbuf sb = { 0 };

	strbuf_adds(&sb, "{\"ok\":false,\"error\":");
	json_add_string(&sb, msg);
	strbuf_adds(&sb, "}\n");
	admin_reply_json(req, code, reason, &sb);
}

void admin_reply_ok(struct evhttp_request *req, const char *extra)
{
	struct strbuf sb = { 0 };

	strbuf_adds(&sb, "{\"ok\":true");
	strbuf_adds(&sb, extra);
	strbuf_adds(&sb, "}\n");
	admin_reply_json(req, 200, "OK", &sb);
}

/* HEAD is a GET without the body (evhttp leaves the body out). */
bool admin_method_is(struct evhttp_request *req, enum evhttp_cmd_type want, const char *allow)
{
	enum evhttp_cmd_type got = evhttp_request_get_command(req);

	if (got == want || (want == EVHTTP_REQ_GET && got == EVHTTP_REQ_HEAD))
		return true;
	if (want == EVHTTP_REQ_GET)
		allow = "GET, HEAD";
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
	admin_reply_error(req, 405, "Method Not Allowed", "method not allowed");
	return false;
}

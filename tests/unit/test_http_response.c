/* test_http_response.c — the response parser (http_response.c) without
 * sockets: what the client gets for a server's bytes, fed whole and one
 * byte at a time, and the responses it refuses. */
#include <check.h>

#include "check_main.h"
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_response.h"

struct run {
	struct response_parser rp;
	struct http_head head;
	struct evbuffer *out;
	struct strbuf scratch;
	enum response_step step;
	size_t used;     /* bytes of the input consumed */
	char text[4096]; /* what the client got */
};

/* Parse IN (STEP bytes a read; 0: all at once) with the exchange as the
 * flags say; what the client got lands in r->text. */
/* What the parser reads of the exchange through pointers. */
static const bool yes = true, no = false;
/* The owner's answer to "retry elsewhere?" (NULL: never asked). */
static response_retry_fn retry_with;

static void parse(struct run *r, const char *in, size_t step, bool is_head, bool upgrade,
		  int client_minor)
{
	size_t len = strlen(in);

	memset(r, 0, sizeof(*r));
	r->out = evbuffer_new();
	ck_assert_ptr_nonnull(r->out);
	http_head_init(&r->head, 64 * 1024, 500);
	response_parser_init(&r->rp, &r->head, r->out, &r->scratch);
	r->rp.is_head = is_head;
	r->rp.upgrade = upgrade;
	r->rp.client_minor = client_minor;
	r->rp.req_complete = &yes;
	r->rp.client_keep_alive = &yes;
	r->rp.retry_fn = retry_with;
	r->step = RESPONSE_MORE;
	while (r->used < len && r->step == RESPONSE_MORE) {
		size_t n = step && len - r->used > step ? step : len - r->used, used;
		r->step = response_parser_feed(&r->rp, in + r->used, n, &used);
		r->used += used;
	}
	if (r->step == RESPONSE_MORE && response_parser_needs_eof(&r->rp) &&
	    response_parser_finish(&r->rp))
		r->step = RESPONSE_DONE;
	size_t n = evbuffer_get_length(r->out);
	ck_assert_uint_lt(n, sizeof(r->text));
	evbuffer_copyout(r->out, r->text, n);
	r->text[n] = 0;
	ck_assert_uint_eq(r->rp.bytes_out, n);
}

static void done(struct run *r)
{
	http_head_free(&r->head);
	strbuf_free(&r->scratch);
	evbuffer_free(r->out);
}

START_TEST(chunked_response_reframed_byte_by_byte)
{
	static const char in[] =
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, X-Hop\r\n"
		"X-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-Kept: yes\r\n\r\n"
		"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
	struct run r;

	for (size_t step = 0; step <= 1; step++) {
		parse(&r, in, step, false, false, 1);
		ck_assert_int_eq(r.step, RESPONSE_DONE);
		ck_assert_uint_eq(r.used, strlen(in) - 4); /* NEXT is not this response's */
		ck_assert_int_eq(r.rp.status, 200);
		ck_assert(r.rp.complete && r.rp.server_keep_alive && !r.rp.closes_client);
		/* Single-byte reads give one chunk per byte; both are framed anew. */
		if (step == 0)
			ck_assert_str_eq(
				r.text,
				"HTTP/1.1 200 OK\r\nX-Kept: yes\r\n"
				"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
		else
			ck_assert_str_eq(
				r.text,
				"HTTP/1.1 200 OK\r\nX-Kept: yes\r\n"
				"Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n1\r\nc\r\n"
				"1\r\nd\r\n1\r\ne\r\n0\r\n\r\n");
		done(&r);
	}
}
END_TEST

START_TEST(close_delimited_to_http10_client)
{
	struct run r;

	parse(&r, "HTTP/1.1 200 OK\r\n\r\nuntil close", 4, false, false, 0);
	ck_assert_int_eq(r.step, RESPONSE_DONE);
	ck_assert_int_eq(r.rp.body, BODY_EOF);
	ck_assert(r.rp.closes_client && !r.rp.server_keep_alive);
	ck_assert_str_eq(r.text, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close");
	done(&r);
}
END_TEST

START_TEST(interim_responses)
{
	static const char in[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
				 "Link: </s.css>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
	struct run r;

	parse(&r, in, 0, false, false, 1);
	ck_assert_int_eq(r.step, RESPONSE_DONE);
	ck_assert_str_eq(r.text, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
				 "Link: </s.css>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
	done(&r);
	parse(&r, in, 0, false, false, 0); /* HTTP/1.0 clients get the final one only */
	ck_assert_str_eq(r.text, "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n");
	done(&r);
}
END_TEST

START_TEST(head_and_304_keep_the_declared_length)
{
	struct run r;

	parse(&r, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", 0, true, false, 1);
	ck_assert_int_eq(r.step, RESPONSE_DONE);
	ck_assert_str_eq(r.text, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
	done(&r);
	parse(&r, "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", 0, false, false, 1);
	ck_assert_int_eq(r.step, RESPONSE_DONE);
	ck_assert_str_eq(r.text, "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n");
	done(&r);
}
END_TEST

START_TEST(upgrade_stops_at_the_tunnel)
{
	static const char in[] = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
				 "Upgrade: websocket\r\n\r\nframes";
	struct run r;

	parse(&r, in, 0, false, true, 1);
	ck_assert_int_eq(r.step, RESPONSE_UPGRADE);
	ck_assert_uint_eq(r.used, strlen(in) - 6);
	ck_assert_str_eq(r.text, "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n"
				 "Upgrade: websocket\r\n\r\n");
	done(&r);
}
END_TEST

START_TEST(refused_responses)
{
	static const struct {
		const char *name, *in;
		bool upgrade;
	} cases[] = {
		{ "101 not asked",
		  "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
		  "Upgrade: websocket\r\n\r\n",
		  false },
		{ "101 not named", "HTTP/1.1 101 Switching Protocols\r\n\r\n", true },
		{ "101 with a body",
		  "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
		  "Upgrade: websocket\r\nContent-Length: 2\r\n\r\nab",
		  true },
		{ "two-digit status", "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", false },
		{ "two-digit interim", "HTTP/1.1 10\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", false },
		{ "length and chunked",
		  "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n",
		  false },
		{ "gzip last", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
		  false },
		{ "obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n",
		  false },
		{ "obs-fold after an empty value",
		  "HTTP/1.1 200 OK\r\nX-A:\r\n b\r\nContent-Length: 0\r\n\r\n", false },
		{ "obs-fold of spaces only",
		  "HTTP/1.1 200 OK\r\nX-A:\r\n \r\nContent-Length: 0\r\n\r\n", false },
		{ "no CRLF after chunk",
		  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "2\r\nabXX0\r\n\r\n",
		  false },
	};
	struct run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t step = 0; step <= 1; step++) {
			parse(&r, cases[i].in, step, false, cases[i].upgrade, 1);
			ck_assert_msg(r.step == RESPONSE_INVALID, "%s (step %zu): %d",
				      cases[i].name, step, r.step);
			ck_assert_ptr_nonnull(response_parser_error(&r.rp));
			done(&r);
		}
	}
}
END_TEST

/* RFC 9110 §5.5: a field value may be empty; the client gets it too. */
START_TEST(empty_values_are_passed_on)
{
	static const char in[] = "HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Spaces:   \r\n"
				 "Set-Cookie:\r\nContent-Length: 2\r\nX-Last:\r\n\r\nok";
	struct run r;

	for (size_t step = 0; step <= 1; step++) {
		parse(&r, in, step, false, false, 1);
		ck_assert_msg(r.step == RESPONSE_DONE, "step %zu: %d", step, r.step);
		ck_assert_str_eq(r.text, "HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Spaces:\r\n"
					 "Set-Cookie:\r\nX-Last:\r\nContent-Length: 2\r\n\r\nok");
		done(&r);
	}
}
END_TEST

START_TEST(request_not_complete_closes_the_client)
{
	struct run r;

	memset(&r, 0, sizeof(r));
	r.out = evbuffer_new();
	http_head_init(&r.head, 64 * 1024, 500);
	response_parser_init(&r.rp, &r.head, r.out, &r.scratch);
	r.rp.client_minor = 1;
	r.rp.client_keep_alive = &yes;
	r.rp.req_complete = &no; /* an early 413 while the client uploads */
	static const char in[] = "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n";
	ck_assert_int_eq(response_parser_feed(&r.rp, in, strlen(in), &r.used), RESPONSE_DONE);
	ck_assert(r.rp.closes_client);
	evbuffer_copyout(r.out, r.text, sizeof(r.text) - 1);
	ck_assert_ptr_nonnull(strstr(r.text, "Connection: close\r\n"));
	done(&r);
}
END_TEST

static bool retry_503(void *arg, int status)
{
	(void)arg;
	return status == 503;
}

START_TEST(retry_status_is_not_relayed)
{
	static const char in503[] = "HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy";
	static const char in200[] = "HTTP/1.1 100 Continue\r\n\r\n"
				    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	struct run r;

	retry_with = retry_503;
	for (size_t step = 0; step <= 1; step++) {
		/* the head is taken back: nothing for the client, the body unread */
		parse(&r, in503, step, false, false, 1);
		ck_assert_int_eq(r.step, RESPONSE_RETRY);
		ck_assert_int_eq(r.rp.status, 503);
		ck_assert(!r.rp.started && !r.rp.complete);
		ck_assert_str_eq(r.text, "");
		ck_assert_uint_eq(r.used, strlen(in503) - 4);
		done(&r);
		/* any other final status is relayed as always (interim ones too) */
		parse(&r, in200, step, false, false, 1);
		ck_assert_int_eq(r.step, RESPONSE_DONE);
		ck_assert_int_eq(r.rp.status, 200);
		ck_assert_ptr_nonnull(strstr(r.text, "HTTP/1.1 100 Continue\r\n"));
		ck_assert_ptr_nonnull(strstr(r.text, "ok"));
		done(&r);
	}
	retry_with = NULL;
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_response");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, chunked_response_reframed_byte_by_byte);
	tcase_add_test(tc, close_delimited_to_http10_client);
	tcase_add_test(tc, interim_responses);
	tcase_add_test(tc, head_and_304_keep_the_declared_length);
	tcase_add_test(tc, upgrade_stops_at_the_tunnel);
	tcase_add_test(tc, refused_responses);
	tcase_add_test(tc, request_not_complete_closes_the_client);
	tcase_add_test(tc, empty_values_are_passed_on);
	tcase_add_test(tc, retry_status_is_not_relayed);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

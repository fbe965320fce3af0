/* test_http_head.c — field names recognised once (http_name.c) and what a
 * head answers with them (http_head.c): the answers must be those of plain
 * case-insensitive string compares, whatever the case, for names that are
 * only prefixes or extensions of known ones, and for names that reach the
 * head in pieces. */
#include <check.h>

#include "check_main.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/http_head.h"
#include "http/http_name.h"
#include "http/http_rewrite.h"

/* What http_name_of() must answer, by strncasecmp() over every text. */
static enum http_name reference_name(const char *name, size_t len)
{
	for (int id = HN_OTHER + 1; id < HN_COUNT; id++) {
		const char *text = http_name_text(id);
		if (strlen(text) == len && strncasecmp(name, text, len) == 0)
			return id;
	}
	return HN_OTHER;
}

START_TEST(known_names_in_any_case)
{
	char buf[64];

	for (int id = HN_OTHER + 1; id < HN_COUNT; id++) {
		const char *text = http_name_text(id);
		size_t len = strlen(text);
		/* The word compares rely on this (http_name.c). */
		ck_assert_uint_ge(len, 2);
		ck_assert_uint_eq(strspn(text, "abcdefghijklmnopqrstuvwxyz-"), len);
		ck_assert_int_eq(http_name_of(text, len), id);
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)(text[i] >= 'a' && text[i] <= 'z' ? text[i] - 32 : text[i]);
		ck_assert_int_eq(http_name_of(buf, len), id);
		for (size_t i = 0; i < len; i += 2)
			buf[i] = text[i];
		ck_assert_int_eq(http_name_of(buf, len), id);
	}
	ck_assert_int_eq(http_name_of("Content-Length", 14), HN_CONTENT_LENGTH);
	ck_assert_int_eq(http_name_of("X-FORWARDED-FOR", 15), HN_X_FORWARDED_FOR);
	ck_assert_int_eq(http_name_of("tE", 2), HN_TE);
	ck_assert_str_eq(http_name_text(HN_OTHER), "");
}
END_TEST

START_TEST(near_names_are_other)
{
	static const char *const names[] = {
		"Hostx",
		"Hos",
		"xHost",
		"Content-Length2",
		"Content-Lengt",
		"Content_Length",
		"Content Length",
		"Content\rLength",
		"Transfer-Encodings",
		"T",
		"",
		"TEE",
		"Connectio",
		"Connection:",
		"Set-Cookie2",
		"Cookies",
		"X-Forwarded-Fo",
		"X-Forwarded-Protocol",
		"Keep-Alive\t",
		"Ho\xd3t",
		"X-Client-Cert-Subjects",
		"X-Client-Cert-Verif",
		"Upgrade-Insecure-Requests",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ck_assert_msg(http_name_of(names[i], strlen(names[i])) == HN_OTHER, "%s", names[i]);
	}
	ck_assert_int_eq(http_name_of("H\0st", 4), HN_OTHER);
}
END_TEST

/* Every byte value at every position of every known name: a letter may
 * change its case, nothing else may change. */
START_TEST(every_changed_byte_is_seen)
{
	char buf[64];

	for (int id = HN_OTHER + 1; id < HN_COUNT; id++) {
		const char *text = http_name_text(id);
		size_t len = strlen(text);
		for (size_t i = 0; i < len; i++) {
			for (int c = 0; c < 256; c++) {
				memcpy(buf, text, len);
				buf[i] = (char)c;
				ck_assert_msg(http_name_of(buf, len) == reference_name(buf, len),
					      "%s byte %zu = %d", text, i, c);
			}
		}
	}
}
END_TEST

START_TEST(tchar_is_rfc9110s)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	for (int c = 0; c < 256; c++) {
		bool want = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z') || (c && strchr(extra, c));
		ck_assert_msg(http_is_tchar((unsigned char)c) == want, "byte %d", c);
	}
}
END_TEST

/* A head with the fields of RAW ("Name: value\n" lines), each name and
 * value added STEP bytes at a time (0: whole). */
static void build(struct http_head *h, const char *raw, size_t step)
{
	http_head_init(h, 16384, 100);
	while (*raw) {
		const char *colon = strchr(raw, ':'), *nl = strchr(raw, '\n');
		const char *v = colon + 1;
		while (*v == ' ')
			v++;
		for (const char *p = raw; p < colon;) {
			size_t n = step && (size_t)(colon - p) > step ? step : (size_t)(colon - p);
			ck_assert_int_eq(http_head_add_name(h, p, n), 0);
			p += n;
		}
		if (colon == raw)
			ck_assert_int_eq(http_head_add_name(h, raw, 0), 0);
		ck_assert_int_eq(http_head_add_value(h, v, (size_t)(nl - v)), 0);
		raw = nl + 1;
	}
}

START_TEST(split_names_are_classified_whole)
{
	struct http_head h;

	for (size_t step = 0; step <= 3; step++) {
		build(&h,
		      "Ho: a\nHostx: b\nCONTENT-length: 3\nContent-Length2: 4\n"
		      "Host: c\nX-A: 1\nx-a: 2\n",
		      step);
		ck_assert_int_eq(h.fields[0].name_id, HN_OTHER);
		ck_assert_int_eq(h.fields[1].name_id, HN_OTHER);
		ck_assert_int_eq(h.fields[2].name_id, HN_CONTENT_LENGTH);
		ck_assert_int_eq(h.fields[3].name_id, HN_OTHER);
		ck_assert_int_eq(h.fields[4].name_id, HN_HOST);
		unsigned n;
		const struct http_field *f = http_head_find(&h, "HOST", &n);
		ck_assert_uint_eq(n, 1);
		ck_assert_ptr_eq(f, &h.fields[4]);
		ck_assert_ptr_eq(http_head_find_id(&h, HN_HOST, &n), &h.fields[4]);
		ck_assert_ptr_eq(http_head_find(&h, "content-length", &n), &h.fields[2]);
		ck_assert_uint_eq(n, 1);
		ck_assert_ptr_eq(http_head_find(&h, "hostX", &n), &h.fields[1]);
		ck_assert_ptr_eq(http_head_find(&h, "X-a", &n), &h.fields[5]);
		ck_assert_uint_eq(n, 2);
		ck_assert_ptr_null(http_head_find(&h, "X-", &n));
		ck_assert_uint_eq(n, 0);
		ck_assert_ptr_null(http_head_find_id(&h, HN_TRANSFER_ENCODING, &n));
		ck_assert_uint_eq(n, 0);
		http_head_free(&h);
	}
	/* "Host" in pieces then more: the head may think it has a Host, and
	 * finds none. */
	http_head_init(&h, 16384, 100);
	ck_assert_int_eq(http_head_add_name(&h, "Host", 4), 0);
	ck_assert_int_eq(http_head_add_name(&h, "x", 1), 0);
	ck_assert_int_eq(http_head_add_value(&h, "a", 1), 0);
	ck_assert_int_eq(h.fields[0].name_id, HN_OTHER);
	ck_assert_ptr_null(http_head_find_id(&h, HN_HOST, NULL));
	ck_assert_ptr_null(http_head_find(&h, "host", NULL));
	http_head_free(&h);
}
END_TEST

/* What http_head_connection_names() must answer, by comparing names. */
static bool reference_listed(const struct http_head *h, const struct http_field *f)
{
	for (uint32_t i = 0; i < h->nfields; i++) {
		const struct http_field *c = &h->fields[i];
		if (c->name_len == 10 &&
		    strncasecmp(http_field_name(h, c), "connection", 10) == 0 &&
		    http_list_has_token(http_field_value(h, c), c->value_len, http_field_name(h, f),
					f->name_len))
			return true;
	}
	return false;
}

START_TEST(connection_names_as_compared)
{
	static const char *const lists[] = {
		"close",
		"keep-alive",
		"Keep-Alive, X-Foo",
		"x-foo,",
		"Host",
		"hostx",
		"",
		" , ",
		"TE, close",
		"upgrade",
		"x-foo, Bar",
		"CONTENT-LENGTH",
		"content-length2",
		"close, ",
		"set-cookie",
	};
	static const char *const names[] = {
		"X-Foo",      "x-foo", "Host", "Hostx",          "Close",           "TE",
		"Keep-Alive", "Bar",   "",     "Content-Length", "Content-Length2", "Set-Cookie",
		"X-Bar",
	};
	char raw[512];

	for (size_t a = 0; a < sizeof(lists) / sizeof(lists[0]); a++) {
		for (size_t b = 0; b < sizeof(lists) / sizeof(lists[0]); b++) {
			int n = snprintf(raw, sizeof(raw), "Connection: %s\nconnection: %s\n",
					 lists[a], lists[b]);
			for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
				n += snprintf(raw + n, sizeof(raw) - (size_t)n, "%s: v\n",
					      names[i]);
			struct http_head h;
			build(&h, raw, a % 3);
			for (int complete = 0; complete <= 1; complete++) {
				if (complete)
					http_head_complete(&h);
				for (uint32_t i = 0; i < h.nfields; i++)
					ck_assert_msg(http_head_connection_names(&h,
										 &h.fields[i]) ==
							      reference_listed(&h, &h.fields[i]),
						      "%s | %s | field %u complete %d", lists[a],
						      lists[b], i, complete);
			}
			http_head_free(&h);
		}
	}
}
END_TEST

START_TEST(connection_value_set_later_counts)
{
	struct http_head h;

	build(&h, "Connection: close\nX-Foo: 1\nHost: a\n", 0);
	http_head_complete(&h);
	ck_assert(!http_head_connection_names(&h, &h.fields[1]));
	ck_assert_int_eq(http_head_set_value(&h, 0, "x-foo, host", 11), 0);
	ck_assert(http_head_connection_names(&h, &h.fields[1]));
	ck_assert(http_head_connection_names(&h, &h.fields[2]));
	ck_assert(http_is_hop_by_hop(&h, &h.fields[0]));
	http_head_free(&h);
	/* No Connection field at all. */
	build(&h, "X-Foo: 1\nKeep-Alive: 5\nTE: trailers\n", 1);
	ck_assert(!http_head_connection_names(&h, &h.fields[0]));
	ck_assert(!http_is_hop_by_hop(&h, &h.fields[0]));
	ck_assert(http_is_hop_by_hop(&h, &h.fields[1]));
	ck_assert(http_is_hop_by_hop(&h, &h.fields[2]));
	http_head_free(&h);
}
END_TEST

START_TEST(hop_by_hop_names)
{
	ck_assert(http_name_is_hop_by_hop("Connection", 10));
	ck_assert(http_name_is_hop_by_hop("PROXY-CONNECTION", 16));
	ck_assert(http_name_is_hop_by_hop("te", 2));
	ck_assert(http_name_is_hop_by_hop("Trailer", 7));
	ck_assert(http_name_is_hop_by_hop("transfer-encoding", 17));
	ck_assert(http_name_is_hop_by_hop("Upgrade", 7));
	ck_assert(http_name_is_hop_by_hop("keep-alive", 10));
	ck_assert(!http_name_is_hop_by_hop("Upgrade-Insecure-Requests", 25));
	ck_assert(!http_name_is_hop_by_hop("Trailers", 8));
	ck_assert(!http_name_is_hop_by_hop("Host", 4));
	ck_assert(!http_name_is_hop_by_hop("Close", 5));
	ck_assert(!http_name_is_hop_by_hop("", 0));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_head");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, known_names_in_any_case);
	tcase_add_test(tc, near_names_are_other);
	tcase_add_test(tc, every_changed_byte_is_seen);
	tcase_add_test(tc, tchar_is_rfc9110s);
	tcase_add_test(tc, split_names_are_classified_whole);
	tcase_add_test(tc, connection_names_as_compared);
	tcase_add_test(tc, connection_value_set_later_counts);
	tcase_add_test(tc, hop_by_hop_names);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

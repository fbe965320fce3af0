/* test_access_log.c — the access log: exact JSON and combined lines, hostile
 * bytes, the snprintf-like size contract, buffering, rotation with reopen,
 * and whole lines from many threads. */
#include "build_config.h"
#include "core/access_log.h"

#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T_2026_11_25_10_00_00 1795600800

/* ---- helpers ---- */

static struct access_entry full_entry(void)
{
	struct access_entry e = {
		.start = { .tv_sec = T_2026_11_25_10_00_00, .tv_nsec = 123456789 },
		.client = "127.0.0.1",
		.method = "GET",
		.method_len = 3,
		.target = "/a?b=1",
		.target_len = 6,
		.host = "example.com",
		.host_len = 11,
		.user_agent = "curl/8.0",
		.user_agent_len = 8,
		.referer = "http://example.com/",
		.referer_len = 19,
		.http_minor = 1,
		.status = 200,
		.bytes_sent = 1234,
		.bytes_received = 78,
		.listener = "web",
		.pool = "web",
		.server = "app1",
		.upstream_us = 3000,
		.total_us = 4000,
		.generation = 1,
		.request_id = "4bf92f3577b34da6a3ce929d0e0e4736",
	};
	return e;
}

/* What lbd knows of a request whose head never parsed (a 400 or 408). */
static struct access_entry minimal_entry(void)
{
	struct access_entry e = {
		.start = { .tv_sec = T_2026_11_25_10_00_00, .tv_nsec = 0 },
		.client = "::1",
		.http_minor = -1,
		.status = 408,
		.listener = "web",
		.upstream_us = -1,
		.total_us = 10000000,
		.generation = 3,
		.termination = ACCESS_TERM_CLIENT_TIMEOUT,
	};
	return e;
}

static char *format(enum access_format f, const struct access_entry *e)
{
	static char buf[8192];
	size_t n = access_log_format(f, e, buf, sizeof(buf));

	ck_assert_uint_lt(n, sizeof(buf));
	ck_assert_uint_eq(strlen(buf), n);
	return buf;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == c;
	return n;
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	const char *dir = getenv("TMPDIR");

	snprintf(buf, len, "%s/lbd-test-access-%ld-%s", dir != NULL ? dir : "/tmp", (long)getpid(),
		 name);
	unlink(buf);
}

/* ---- a small JSON checker: the access line is one flat object ---- */

static const char *json_skip_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || p[i] == '\0')
						return NULL;
				p += 5;
			} else if (*p != '\0' && strchr("\"\\/bfnrt", *p)) {
				p++;
			} else {
				return NULL;
			}
		} else if (c < 0x80) {
			p++;
		} else {
			/* Well-formed UTF-8 only (RFC 3629). */
			size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			unsigned cp = c & (need == 2 ? 0x1f : need == 3 ? 0x0f : 0x07);

			if (c < 0xc2 || c > 0xf4)
				return NULL;
			for (size_t i = 1; i < need; i++) {
				if (((unsigned char)p[i] & 0xc0) != 0x80)
					return NULL;
				cp = cp << 6 | ((unsigned char)p[i] & 0x3f);
			}
			if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
			    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
				return NULL;
			p += need;
		}
	}
	return p + 1;
}

static const char *json_skip_value(const char *p)
{
	if (*p == '"')
		return json_skip_string(p);
	if (strncmp(p, "null", 4) == 0)
		return p + 4;
	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return NULL;
	while ((*p >= '0' && *p <= '9') || *p == '.')
		p++;
	return p;
}

/* True when LINE is one flat JSON object followed by exactly one '\n'. */
static bool json_line_valid(const char *line)
{
	const char *p = line;

	if (*p++ != '{')
		return false;
	for (;;) {
		if ((p = json_skip_string(p)) == NULL || *p++ != ':')
			return false;
		if ((p = json_skip_value(p)) == NULL)
			return false;
		if (*p == '}')
			break;
		if (*p++ != ',')
			return false;
	}
	return p[1] == '\n' && p[2] == '\0';
}

/* ---- formats ---- */

START_TEST(test_json_full)
{
	struct access_entry e = full_entry();

	ck_assert_str_eq(format(ACCESS_FORMAT_JSON, &e),
			 "{\"time\":\"2026-11-25T10:00:00.123Z\",\"client\":\"127.0.0.1\","
			 "\"listener\":\"web\",\"method\":\"GET\",\"path\":\"/a?b=1\","
			 "\"protocol\":\"HTTP/1.1\",\"host\":\"example.com\",\"status\":200,"
			 "\"bytes\":1234,\"bytes_in\":78,\"pool\":\"web\",\"server\":\"app1\","
			 "\"upstream_time\":0.003,\"total_time\":0.004,\"generation\":1,"
			 "\"user_agent\":\"curl/8.0\",\"termination\":\"ok\",\"retries\":0,"
			 "\"request_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}\n");
	ck_assert(json_line_valid(format(ACCESS_FORMAT_JSON, &e)));
}
END_TEST

START_TEST(test_json_minimal)
{
	struct access_entry e = minimal_entry();

	ck_assert_str_eq(format(ACCESS_FORMAT_JSON, &e),
			 "{\"time\":\"2026-11-25T10:00:00.000Z\",\"client\":\"::1\","
			 "\"listener\":\"web\",\"method\":\"\",\"path\":\"\","
			 "\"protocol\":\"\",\"host\":\"\",\"status\":408,"
			 "\"bytes\":0,\"bytes_in\":0,\"pool\":null,\"server\":null,"
			 "\"upstream_time\":null,\"total_time\":10.000,\"generation\":3,"
			 "\"user_agent\":\"\",\"termination\":\"client_timeout\",\"retries\":0,"
			 "\"request_id\":null}\n");
	ck_assert(json_line_valid(format(ACCESS_FORMAT_JSON, &e)));
}
END_TEST

START_TEST(test_combined_full)
{
	struct access_entry e = full_entry();

	ck_assert_str_eq(format(ACCESS_FORMAT_COMBINED, &e),
			 "127.0.0.1 - - [25/Nov/2026:10:00:00 +0000] \"GET /a?b=1 HTTP/1.1\" "
			 "200 1234 \"http://example.com/\" \"curl/8.0\" listener=web pool=web "
			 "server=app1 upstream_time=0.003 total_time=0.004 generation=1 "
			 "termination=ok retries=0 request_id=4bf92f3577b34da6a3ce929d0e0e4736\n");
}
END_TEST

START_TEST(test_combined_minimal)
{
	struct access_entry e = minimal_entry();

	ck_assert_str_eq(format(ACCESS_FORMAT_COMBINED, &e),
			 "::1 - - [25/Nov/2026:10:00:00 +0000] \"-\" 408 0 \"-\" \"-\" "
			 "listener=web pool=- server=- upstream_time=- total_time=10.000 "
			 "generation=3 termination=client_timeout retries=0 request_id=-\n");
}
END_TEST

START_TEST(test_http10_and_partial_request)
{
	struct access_entry e = full_entry();

	e.http_minor = 0;
	e.target = NULL;
	e.pool = NULL;
	ck_assert_str_eq(format(ACCESS_FORMAT_COMBINED, &e),
			 "127.0.0.1 - - [25/Nov/2026:10:00:00 +0000] \"GET - HTTP/1.0\" "
			 "200 1234 \"http://example.com/\" \"curl/8.0\" listener=web pool=- "
			 "server=app1 upstream_time=0.003 total_time=0.004 generation=1 "
			 "termination=ok retries=0 request_id=4bf92f3577b34da6a3ce929d0e0e4736\n");
	ck_assert_ptr_nonnull(
		strstr(format(ACCESS_FORMAT_JSON, &e), "\"path\":\"\",\"protocol\":\"HTTP/1.0\""));
	ck_assert_ptr_nonnull(strstr(format(ACCESS_FORMAT_JSON, &e), "\"pool\":null,"));
}
END_TEST

START_TEST(test_dates)
{
	struct access_entry e = full_entry();

	e.start.tv_sec = 951782400 + 86399; /* 2000-02-29T23:59:59Z */
	e.start.tv_nsec = 999999999;
	ck_assert_ptr_nonnull(
		strstr(format(ACCESS_FORMAT_JSON, &e), "\"time\":\"2000-02-29T23:59:59.999Z\""));
	ck_assert_ptr_nonnull(
		strstr(format(ACCESS_FORMAT_COMBINED, &e), " [29/Feb/2000:23:59:59 +0000] "));
	e.start.tv_sec = 0;
	e.start.tv_nsec = 5000000;
	ck_assert_ptr_nonnull(
		strstr(format(ACCESS_FORMAT_JSON, &e), "\"time\":\"1970-01-01T00:00:00.005Z\""));
	ck_assert_ptr_nonnull(
		strstr(format(ACCESS_FORMAT_COMBINED, &e), " [01/Jan/1970:00:00:00 +0000] "));
}
END_TEST

START_TEST(test_seconds_rounding)
{
	static const struct {
		int64_t us;
		const char *want;
	} cases[] = {
		{ 0, "0.000" },       { 499, "0.000" },       { 500, "0.001" },
		{ 3499, "0.003" },    { 3500, "0.004" },      { 999500, "1.000" },
		{ 1234567, "1.235" }, { 61000000, "61.000" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct access_entry e = full_entry();
		char want[64];

		e.upstream_us = cases[i].us;
		e.total_us = (uint64_t)cases[i].us;
		snprintf(want, sizeof(want), "\"upstream_time\":%s,\"total_time\":%s,",
			 cases[i].want, cases[i].want);
		ck_assert_ptr_nonnull(strstr(format(ACCESS_FORMAT_JSON, &e), want));
		snprintf(want, sizeof(want), " upstream_time=%s total_time=%s ", cases[i].want,
			 cases[i].want);
		ck_assert_ptr_nonnull(strstr(format(ACCESS_FORMAT_COMBINED, &e), want));
	}
}
END_TEST

/* ---- hostile bytes ---- */

/* Quote, backslash, CR LF, NUL, tab, DEL, a lone 0xff, valid UTF-8 (é, €,
 * U+1F600), an overlong '/', a surrogate, and a sequence cut off at the end. */
static const char hostile[] = "a\"b\\c\r\nd\0e\tf\x7f"
			      "g\xffh\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
			      "\xc0\xaf\xed\xa0\x80\xe2\x82";

START_TEST(test_json_hostile)
{
	struct access_entry e = full_entry();
	const char *want = "\"a\\\"b\\\\c\\u000d\\u000ad\\u0000e\\u0009f\\u007f"
			   "g\\u00ffh\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
			   "\\u00c0\\u00af\\u00ed\\u00a0\\u0080\\u00e2\\u0082\"";
	char field[256];
	char *line;

	e.method = hostile;
	e.method_len = sizeof(hostile) - 1;
	e.target = hostile;
	e.target_len = sizeof(hostile) - 1;
	e.host = hostile;
	e.host_len = sizeof(hostile) - 1;
	e.user_agent = hostile;
	e.user_agent_len = sizeof(hostile) - 1;
	line = format(ACCESS_FORMAT_JSON, &e);
	ck_assert(json_line_valid(line));
	ck_assert_uint_eq(count_char(line, '\n'), 1);
	snprintf(field, sizeof(field), "\"method\":%s,", want);
	ck_assert_ptr_nonnull(strstr(line, field));
	snprintf(field, sizeof(field), "\"path\":%s,", want);
	ck_assert_ptr_nonnull(strstr(line, field));
	snprintf(field, sizeof(field), "\"host\":%s,", want);
	ck_assert_ptr_nonnull(strstr(line, field));
	snprintf(field, sizeof(field), "\"user_agent\":%s,", want);
	ck_assert_ptr_nonnull(strstr(line, field));
}
END_TEST

/* An aborted download: the termination, the retries and the bytes sent
 * so far, in both formats; every termination has a name of its own. */
START_TEST(test_termination_and_retries)
{
	struct access_entry e = full_entry();
	const char *seen[ACCESS_TERM_COUNT];

	e.termination = ACCESS_TERM_CLIENT_ABORTED;
	e.retries = 2;
	e.bytes_sent = 65536;
	ck_assert_ptr_nonnull(strstr(format(ACCESS_FORMAT_JSON, &e), "\"bytes\":65536,"));
	ck_assert_ptr_nonnull(strstr(format(ACCESS_FORMAT_JSON, &e),
				     ",\"termination\":\"client_aborted\",\"retries\":2,"));
	ck_assert(json_line_valid(format(ACCESS_FORMAT_JSON, &e)));
	ck_assert_ptr_nonnull(
		strstr(format(ACCESS_FORMAT_COMBINED, &e), " 200 65536 \"http://example.com/\""));
	ck_assert_ptr_nonnull(strstr(format(ACCESS_FORMAT_COMBINED, &e),
				     " termination=client_aborted retries=2 "));
	for (int t = 0; t < ACCESS_TERM_COUNT; t++) {
		seen[t] = access_termination_name((enum access_termination)t);
		ck_assert_uint_gt(strlen(seen[t]), 0);
		ck_assert_uint_eq(strspn(seen[t], "abcdefghijklmnopqrstuvwxyz_"), strlen(seen[t]));
		for (int u = 0; u < t; u++)
			ck_assert_str_ne(seen[t], seen[u]);
	}
}
END_TEST

START_TEST(test_json_every_byte)
{
	static const unsigned char tails[] = { 0x00, 0x41, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xff };
	struct access_entry e = full_entry();
	unsigned char s[256];

	for (int i = 0; i < 256; i++)
		s[i] = (unsigned char)i;
	e.target = (const char *)s;
	e.target_len = sizeof(s);
	ck_assert(json_line_valid(format(ACCESS_FORMAT_JSON, &e)));
	/* Every lead byte, every second byte, a few third and fourth ones. */
	e.target_len = 4;
	for (int lead = 0x80; lead <= 0xff; lead++) {
		for (int b1 = 0; b1 < 256; b1++) {
			for (size_t t = 0; t < sizeof(tails); t++) {
				s[0] = (unsigned char)lead;
				s[1] = (unsigned char)b1;
				s[2] = tails[t];
				s[3] = tails[sizeof(tails) - 1 - t];
				ck_assert_msg(json_line_valid(format(ACCESS_FORMAT_JSON, &e)),
					      "%02x %02x %02x %02x", s[0], s[1], s[2], s[3]);
			}
		}
	}
}
END_TEST

START_TEST(test_combined_hostile)
{
	struct access_entry e = full_entry();
	const char *want = "a\\x22b\\x5Cc\\x0D\\x0Ad\\x00e\\x09f\\x7F"
			   "g\\xFFh\\xC3\\xA9\\xE2\\x82\\xAC\\xF0\\x9F\\x98\\x80"
			   "\\xC0\\xAF\\xED\\xA0\\x80\\xE2\\x82";
	char field[512];
	char *line;

	e.method = hostile;
	e.method_len = sizeof(hostile) - 1;
	e.target = "/a b\"c";
	e.target_len = 6;
	e.user_agent = hostile;
	e.user_agent_len = sizeof(hostile) - 1;
	e.referer = hostile;
	e.referer_len = sizeof(hostile) - 1;
	e.listener = "we b";
	line = format(ACCESS_FORMAT_COMBINED, &e);
	ck_assert_uint_eq(count_char(line, '\n'), 1);
	snprintf(field, sizeof(field),
		 "] \"%s /a b\\x22c HTTP/1.1\" 200 1234 \"%s\" \"%s\" "
		 "listener=we\\x20b pool=",
		 want, want, want);
	ck_assert_ptr_nonnull(strstr(line, field));
}
END_TEST

/* ---- the size contract ---- */

START_TEST(test_size_contract)
{
	struct access_entry e = full_entry();
	char full[1024], small[1024];
	size_t n = access_log_format(ACCESS_FORMAT_JSON, &e, full, sizeof(full));

	ck_assert_uint_eq(n, strlen(full));
	ck_assert_uint_eq(access_log_format(ACCESS_FORMAT_JSON, &e, NULL, 0), n);

	memset(small, 'X', sizeof(small));
	ck_assert_uint_eq(access_log_format(ACCESS_FORMAT_JSON, &e, small, 10), n);
	ck_assert_str_eq(small, "{\"time\":\"");
	ck_assert_int_eq(small[10], 'X');

	/* Exactly the line's length: no room for the NUL, so cut by one. */
	ck_assert_uint_eq(access_log_format(ACCESS_FORMAT_JSON, &e, small, n), n);
	ck_assert_uint_eq(strlen(small), n - 1);
	ck_assert_int_eq(strncmp(small, full, n - 1), 0);

	ck_assert_uint_eq(access_log_format(ACCESS_FORMAT_JSON, &e, small, n + 1), n);
	ck_assert_str_eq(small, full);

	n = access_log_format(ACCESS_FORMAT_COMBINED, &e, full, sizeof(full));
	ck_assert_uint_eq(access_log_format(ACCESS_FORMAT_COMBINED, &e, small, 1), n);
	ck_assert_str_eq(small, "");
}
END_TEST

/* ---- the log object ---- */

START_TEST(test_open_errors_and_off)
{
	struct access_log *log;
	char err[256] = "";

	log = access_log_open("/nonexistent-dir/access.log", ACCESS_FORMAT_JSON, err, sizeof(err));
	ck_assert_ptr_null(log);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/access.log"));
	ck_assert_ptr_null(access_log_open("", ACCESS_FORMAT_JSON, err, sizeof(err)));

	log = access_log_open("off", ACCESS_FORMAT_JSON, err, sizeof(err));
	ck_assert_ptr_nonnull(log);
	ck_assert(!access_log_on(log));
	ck_assert(!access_log_on(NULL));
	struct access_entry e = full_entry();

	access_log_write(log, &e);
	access_log_flush(log);
	ck_assert_int_eq(access_log_reopen(log, err, sizeof(err)), 0);
	ck_assert_uint_eq(access_log_dropped(log), 0);
	access_log_close(log);
}
END_TEST

START_TEST(test_buffered_until_flush)
{
	struct access_entry e = full_entry();
	struct access_log *log;
	char path[512], err[256];
	char *s;

	tmp_path(path, sizeof(path), "buffered");
	log = access_log_open(path, ACCESS_FORMAT_COMBINED, err, sizeof(err));
	ck_assert_msg(log != NULL, "%s", err);
	ck_assert(access_log_on(log));
	access_log_write(log, &e);
	access_log_write(log, &e);
	s = read_file(path);
	ck_assert_str_eq(s, "");
	free(s);
	access_log_flush(log);
	s = read_file(path);
	ck_assert_uint_eq(count_char(s, '\n'), 2);
	ck_assert_str_eq(s + strlen(s) / 2, format(ACCESS_FORMAT_COMBINED, &e));
	free(s);
	access_log_close(log);

	struct stat st;
	mode_t mask = umask(0);

	umask(mask);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0640 & ~mask);
	unlink(path);
}
END_TEST

START_TEST(test_flushes_when_full)
{
	struct access_entry e = full_entry();
	size_t line = strlen(format(ACCESS_FORMAT_JSON, &e));
	struct access_log *log;
	char path[512], err[256];
	char *s;
	size_t i;

	tmp_path(path, sizeof(path), "full");
	log = access_log_open(path, ACCESS_FORMAT_JSON, err, sizeof(err));
	ck_assert_msg(log != NULL, "%s", err);
	for (i = 0; i * line < 16 * 1024; i++)
		access_log_write(log, &e);
	/* Past the threshold without a flush: written in one go, whole. */
	s = read_file(path);
	ck_assert_uint_eq(count_char(s, '\n'), i);
	ck_assert_uint_eq(strlen(s), i * line);
	free(s);
	access_log_close(log);
	unlink(path);
}
END_TEST

START_TEST(test_long_line_written_whole)
{
	struct access_entry e = full_entry();
	size_t big = 100 * 1024;
	char *target = malloc(big);
	struct access_log *log;
	char path[512], err[256];
	char *s;

	memset(target, 'x', big);
	target[0] = '/';
	e.target = target;
	e.target_len = big;
	tmp_path(path, sizeof(path), "long");
	log = access_log_open(path, ACCESS_FORMAT_JSON, err, sizeof(err));
	ck_assert_msg(log != NULL, "%s", err);
	access_log_write(log, &e);
	e.target_len = 2;
	access_log_write(log, &e);
	access_log_flush(log);
	access_log_close(log);
	s = read_file(path);
	ck_assert_uint_eq(count_char(s, '\n'), 2);
	ck_assert(json_line_valid(strchr(s, '\n') + 1));
	ck_assert_ptr_nonnull(strstr(strchr(s, '\n') + 1, "\"path\":\"/x\""));
	*strchr(s, '\n') = '\0';
	ck_assert_uint_gt(strlen(s), big);
	free(s);
	free(target);
	unlink(path);
}
END_TEST

START_TEST(test_dropped_on_write_error)
{
	struct access_entry e = full_entry();
	struct access_log *log;
	char err[256];

	log = access_log_open("/dev/full", ACCESS_FORMAT_JSON, err, sizeof(err));
	if (log == NULL)
		return; /* no /dev/full in this sandbox */
	access_log_write(log, &e);
	access_log_write(log, &e);
	access_log_write(log, &e);
	access_log_flush(log);
	ck_assert_uint_eq(access_log_dropped(log), 3);
	access_log_close(log);
}
END_TEST

/* logrotate: rename, then SIGUSR1 makes lbd reopen. Lines flushed before
 * the reopen stay in the renamed file, lines after go to the new one. */
START_TEST(test_reopen_after_rename)
{
	struct access_entry e = full_entry();
	struct access_log *log;
	char path[512], rotated[600], err[256];
	char *s;

	tmp_path(path, sizeof(path), "rotate");
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	log = access_log_open(path, ACCESS_FORMAT_JSON, err, sizeof(err));
	ck_assert_msg(log != NULL, "%s", err);
	e.generation = 1;
	access_log_write(log, &e);
	access_log_flush(log);
	ck_assert_int_eq(rename(path, rotated), 0);
	e.generation = 2; /* buffered across the rotation */
	access_log_write(log, &e);
	ck_assert_int_eq(access_log_reopen(log, err, sizeof(err)), 0);
	e.generation = 3;
	access_log_write(log, &e);
	access_log_close(log);

	s = read_file(rotated);
	ck_assert_uint_eq(count_char(s, '\n'), 1);
	ck_assert_ptr_nonnull(strstr(s, "\"generation\":1,"));
	free(s);
	s = read_file(path);
	ck_assert_uint_eq(count_char(s, '\n'), 2);
	ck_assert_ptr_nonnull(strstr(s, "\"generation\":2,"));
	ck_assert_ptr_nonnull(strstr(s, "\"generation\":3,"));
	free(s);

	/* Close-on-exec survives the reopen: no descriptor leaks to children.
	 * The log takes the lowest free descriptor, which PROBE finds. */
	int probe = dup(STDIN_FILENO);

	close(probe);
	log = access_log_open(path, ACCESS_FORMAT_JSON, err, sizeof(err));
	ck_assert_int_eq(fcntl(probe, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(access_log_reopen(log, err, sizeof(err)), 0);
	ck_assert_int_eq(fcntl(probe, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	access_log_close(log);
	unlink(path);
	unlink(rotated);
}
END_TEST

START_TEST(test_reopen_failure_keeps_old_file)
{
	struct access_entry e = full_entry();
	struct access_log *log;
	char dir[512], path[600], err[256] = "";

	tmp_path(dir, sizeof(dir), "dir");
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/access.log", dir);
	log = access_log_open(path, ACCESS_FORMAT_JSON, err, sizeof(err));
	ck_assert_msg(log != NULL, "%s", err);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_int_eq(access_log_reopen(log, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, path));
	/* Still writable: into the unlinked file, but no crash, no drop. */
	access_log_write(log, &e);
	access_log_flush(log);
	ck_assert_uint_eq(access_log_dropped(log), 0);
	access_log_close(log);
}
END_TEST

/* ---- threads ---- */

#define THREADS 4
#define LINES_PER_THREAD 20000

struct writer {
	pthread_t tid;
	struct access_log *log;
	int id;
	bool flush_at_end;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct access_entry e = full_entry();
	char ua[32];

	snprintf(ua, sizeof(ua), "writer-%d", w->id);
	e.user_agent = ua;
	e.user_agent_len = strlen(ua);
	for (int i = 0; i < LINES_PER_THREAD; i++) {
		e.generation = (uint64_t)i;
		access_log_write(w->log, &e);
	}
	if (w->flush_at_end)
		access_log_flush(w->log);
	return NULL;
}

/* Every line whole and valid, each writer's lines all there and in order.
 * Returns the number of lines. */
static size_t check_lines(char *s, int *next_gen)
{
	size_t lines = 0;

	for (char *line = s, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		char save = nl[1];
		int id;
		long gen;
		char *p;

		nl[1] = '\0';
		ck_assert_msg(json_line_valid(line), "broken line: %s", line);
		p = strstr(line, "\"generation\":");
		ck_assert_ptr_nonnull(p);
		gen = strtol(p + 13, NULL, 10);
		p = strstr(line, "\"user_agent\":\"writer-");
		ck_assert_ptr_nonnull(p);
		id = atoi(p + 21);
		ck_assert_int_lt(id, THREADS);
		ck_assert_int_eq(gen, next_gen[id]);
		next_gen[id]++;
		nl[1] = save;
		lines++;
	}
	return lines;
}

/* ROTATE_PATH: rename that file and reopen the log while the writers run. */
static void run_writers(struct access_log *log, bool flush_at_end, const char *rotate_path)
{
	struct writer w[THREADS];
	char err[256];

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct writer){ .log = log, .id = i, .flush_at_end = flush_at_end };
		ck_assert_int_eq(pthread_create(&w[i].tid, NULL, writer_main, &w[i]), 0);
	}
	for (int r = 0; rotate_path != NULL && r < 20; r++) {
		char rotated[600];

		snprintf(rotated, sizeof(rotated), "%s.%d", rotate_path, r);
		ck_assert_int_eq(rename(rotate_path, rotated), 0);
		ck_assert_int_eq(access_log_reopen(log, err, sizeof(err)), 0);
		usleep(1000);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(w[i].tid, NULL);
}

START_TEST(test_threads_whole_lines)
{
	struct access_log *log;
	char path[512], err[256];
	int next_gen[THREADS] = { 0 };
	char *s;

	tmp_path(path, sizeof(path), "threads");
	log = access_log_open(path, ACCESS_FORMAT_JSON, err, sizeof(err));
	ck_assert_msg(log != NULL, "%s", err);
	run_writers(log, true, NULL);
	ck_assert_uint_eq(access_log_dropped(log), 0);
	access_log_close(log);
	s = read_file(path);
	ck_assert_uint_eq(check_lines(s, next_gen), THREADS * LINES_PER_THREAD);
	free(s);
	unlink(path);
}
END_TEST

/* Writers that never flush and have exited: close writes out their lines. */
START_TEST(test_close_flushes_other_threads)
{
	struct access_log *log;
	char path[512], err[256];
	int next_gen[THREADS] = { 0 };
	char *s;

	tmp_path(path, sizeof(path), "close");
	log = access_log_open(path, ACCESS_FORMAT_JSON, err, sizeof(err));
	ck_assert_msg(log != NULL, "%s", err);
	run_writers(log, false, NULL);
	access_log_close(log);
	s = read_file(path);
	ck_assert_uint_eq(check_lines(s, next_gen), THREADS * LINES_PER_THREAD);
	free(s);
	unlink(path);
}
END_TEST

/* Rotation while four threads write: every line lands whole in one of the
 * files, none is lost. */
START_TEST(test_threads_rotate)
{
	struct access_log *log;
	char path[512], file[600], err[256];
	int next_gen[THREADS] = { 0 };
	size_t lines = 0;
	char *s;

	tmp_path(path, sizeof(path), "threads-rotate");
	log = access_log_open(path, ACCESS_FORMAT_JSON, err, sizeof(err));
	ck_assert_msg(log != NULL, "%s", err);
	run_writers(log, true, path);
	access_log_close(log);
	for (int r = 0; r < 20; r++) {
		snprintf(file, sizeof(file), "%s.%d", path, r);
		s = read_file(file);
		lines += check_lines(s, next_gen);
		free(s);
		unlink(file);
	}
	s = read_file(path);
	lines += check_lines(s, next_gen);
	free(s);
	unlink(path);
	ck_assert_uint_eq(lines, THREADS * LINES_PER_THREAD);
}
END_TEST

/* stdout on a pipe (a container runtime reading it): lines stay whole even
 * though each flush is larger than the pipe, which makes a plain write(2)
 * from one thread interleave with another's at page boundaries. */
struct drain {
	int fd;
	char *data;
	size_t len, cap;
};

static void *drain_main(void *arg)
{
	struct drain *d = arg;

	for (;;) {
		ssize_t n;

		if (d->cap - d->len < 65536) {
			d->cap = d->cap * 2 + 65536;
			d->data = realloc(d->data, d->cap + 1);
		}
		/* Small reads keep the pipe full, so writers wait and race. */
		n = read(d->fd, d->data + d->len, 700);
		if (n <= 0)
			break;
		d->len += (size_t)n;
	}
	d->data[d->len] = '\0';
	return NULL;
}

START_TEST(test_stdout_pipe_whole_lines)
{
	struct drain d = { 0 };
	struct access_log *log;
	pthread_t reader;
	int next_gen[THREADS] = { 0 };
	int p[2], saved;
	char err[256];

	ck_assert_int_eq(pipe(p), 0);
	fcntl(p[1], F_SETPIPE_SZ, 4096); /* small: writers block and race */
	saved = dup(STDOUT_FILENO);
	ck_assert_int_eq(dup2(p[1], STDOUT_FILENO), STDOUT_FILENO);
	close(p[1]);
	d.fd = p[0];
	ck_assert_int_eq(pthread_create(&reader, NULL, drain_main, &d), 0);

	log = access_log_open("stdout", ACCESS_FORMAT_JSON, err, sizeof(err));
	ck_assert_ptr_nonnull(log);
	run_writers(log, true, NULL);
	access_log_close(log);
	dup2(saved, STDOUT_FILENO); /* the last write end: the reader sees EOF */
	close(saved);
	pthread_join(reader, NULL);
	close(p[0]);
	ck_assert_uint_eq(check_lines(d.data, next_gen), THREADS * LINES_PER_THREAD);
	free(d.data);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("access_log");
	TCase *fmt = tcase_create("format");
	TCase *io = tcase_create("io");

	tcase_add_test(fmt, test_json_full);
	tcase_add_test(fmt, test_json_minimal);
	tcase_add_test(fmt, test_combined_full);
	tcase_add_test(fmt, test_combined_minimal);
	tcase_add_test(fmt, test_http10_and_partial_request);
	tcase_add_test(fmt, test_dates);
	tcase_add_test(fmt, test_seconds_rounding);
	tcase_add_test(fmt, test_json_hostile);
	tcase_add_test(fmt, test_json_every_byte);
	tcase_add_test(fmt, test_termination_and_retries);
	tcase_add_test(fmt, test_combined_hostile);
	tcase_add_test(fmt, test_size_contract);
	suite_add_tcase(s, fmt);

	tcase_add_test(io, test_open_errors_and_off);
	tcase_add_test(io, test_buffered_until_flush);
	tcase_add_test(io, test_flushes_when_full);
	tcase_add_test(io, test_long_line_written_whole);
	tcase_add_test(io, test_dropped_on_write_error);
	tcase_add_test(io, test_reopen_after_rename);
	tcase_add_test(io, test_reopen_failure_keeps_old_file);
	tcase_add_test(io, test_threads_whole_lines);
	tcase_add_test(io, test_close_flushes_other_threads);
	tcase_add_test(io, test_threads_rotate);
	tcase_add_test(io, test_stdout_pipe_whole_lines);
	tcase_set_timeout(io, 60);
	suite_add_tcase(s, io);

	return run_suite(s);
}

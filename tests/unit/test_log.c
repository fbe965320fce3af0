/* test_log.c — the error log: level names, the line format, filtering,
 * escaping, truncation, and whole lines from many threads. Each test sends
 * stderr to a temporary file and reads back what log.c wrote. */
#include "build_config.h"
#include "core/log.h"

#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char capture_path[512];
static int saved_stderr = -1;

static void capture_start(void)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(capture_path, sizeof(capture_path), "%s/lbd-test-log-XXXXXX",
		 dir != NULL ? dir : "/tmp");
	fd = mkstemp(capture_path);
	ck_assert_int_ge(fd, 0);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	log_set_level(LOG_LEVEL_INFO);
}

/* Restores stderr and returns what was written (the caller frees it). */
static char *capture_end(void)
{
	FILE *f = fopen(capture_path, "rb");
	char *s;
	long n;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	unlink(capture_path);
	return s;
}

/* "2026-11-25T10:00:00.123Z lbd[PID]: " */
#define PREFIX_RE \
	"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z lbd\\[%ld\\]: "

static void assert_line(const char *line, const char *level_and_msg)
{
	char pattern[512];
	regex_t re;

	snprintf(pattern, sizeof(pattern), PREFIX_RE, (long)getpid());
	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED), 0);
	ck_assert_msg(regexec(&re, line, 0, NULL, 0) == 0, "bad prefix: %s", line);
	regfree(&re);
	ck_assert_str_eq(strstr(line, "]: ") + 3, level_and_msg);
}

START_TEST(test_level_parse)
{
	enum log_level l = LOG_LEVEL_INFO;

	ck_assert_int_eq(log_level_parse("error", &l), 0);
	ck_assert_int_eq(l, LOG_LEVEL_ERROR);
	ck_assert_int_eq(log_level_parse("warn", &l), 0);
	ck_assert_int_eq(l, LOG_LEVEL_WARN);
	ck_assert_int_eq(log_level_parse("info", &l), 0);
	ck_assert_int_eq(l, LOG_LEVEL_INFO);
	ck_assert_int_eq(log_level_parse("debug", &l), 0);
	ck_assert_int_eq(l, LOG_LEVEL_DEBUG);

	l = LOG_LEVEL_WARN;
	ck_assert_int_eq(log_level_parse("", &l), -1);
	ck_assert_int_eq(log_level_parse("warning", &l), -1);
	ck_assert_int_eq(log_level_parse("INFO", &l), -1);
	ck_assert_int_eq(log_level_parse("info ", &l), -1);
	ck_assert_int_eq(log_level_parse(NULL, &l), -1);
	ck_assert_int_eq(l, LOG_LEVEL_WARN); /* untouched on error */
}
END_TEST

START_TEST(test_set_get_level)
{
	ck_assert_int_eq(log_get_level(), LOG_LEVEL_INFO); /* the default */
	log_set_level(LOG_LEVEL_DEBUG);
	ck_assert_int_eq(log_get_level(), LOG_LEVEL_DEBUG);
	log_set_level(LOG_LEVEL_ERROR);
	ck_assert_int_eq(log_get_level(), LOG_LEVEL_ERROR);
}
END_TEST

START_TEST(test_line_format)
{
	char *s;

	capture_start();
	log_warn("pool %s: server %s is down (%d failures)", "api", "api1", 3);
	s = capture_end();
	assert_line(s, "warn: pool api: server api1 is down (3 failures)\n");
	free(s);
}
END_TEST

START_TEST(test_levels_filter)
{
	char *s, *second;

	capture_start();
	log_debug("hidden at info");
	log_info("one");
	log_set_level(LOG_LEVEL_ERROR);
	log_warn("hidden at error");
	log_error("two");
	log_set_level(LOG_LEVEL_DEBUG);
	log_debug("three");
	s = capture_end();

	second = strchr(s, '\n') + 1;
	ck_assert_ptr_nonnull(strstr(s, ": info: one\n"));
	ck_assert_ptr_nonnull(strstr(second, ": error: two\n"));
	ck_assert_ptr_nonnull(strstr(strchr(second, '\n') + 1, ": debug: three\n"));
	ck_assert_ptr_null(strstr(s, "hidden"));
	free(s);
}
END_TEST

/* A message quoting client input must not forge a second log line. */
START_TEST(test_newlines_escaped)
{
	char *s;

	capture_start();
	log_error("bad header %s", "x\r\nlbd[1]: error: forged\t\x01\x7f");
	s = capture_end();
	assert_line(s, "error: bad header x\\r\\nlbd[1]: error: forged\\t\\x01\\x7f\n");
	free(s);
}
END_TEST

/* Under systemd (JOURNAL_STREAM names stderr's device and inode) each line
 * starts with its syslog priority and leaves time and pid to the journal;
 * a JOURNAL_STREAM that names another file (stderr redirected) does not. */
START_TEST(test_journal_priority_prefix)
{
	struct stat st;
	char env[64];
	char *s;

	capture_start();
	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	ck_assert(log_detect_journal());
	log_set_level(LOG_LEVEL_DEBUG);
	log_error("e");
	log_warn("w");
	log_info("i");
	log_debug("d");
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	ck_assert(!log_detect_journal());
	log_info("plain");
	unsetenv("JOURNAL_STREAM");
	ck_assert(!log_detect_journal());
	s = capture_end();
	ck_assert_str_eq(strstr(s, "<3>"), s);
	ck_assert_ptr_nonnull(strstr(s, "<3>error: e\n<4>warn: w\n<6>info: i\n<7>debug: d\n"));
	assert_line(strstr(s, "d\n") + 2, "info: plain\n");
	free(s);
}
END_TEST

START_TEST(test_truncation)
{
	size_t big = 3 * PIPE_BUF;
	char *msg = malloc(big + 1);
	char *s;
	size_t len;

	memset(msg, 'm', big);
	msg[big] = '\0';
	capture_start();
	log_info("%s", msg);
	log_info("%s", "after");
	s = capture_end();

	len = (size_t)(strchr(s, '\n') + 1 - s);
	ck_assert_uint_eq(len, PIPE_BUF);
	ck_assert_int_eq(strncmp(s + len - 6, "mm...\n", 6), 0);
	ck_assert_ptr_nonnull(strstr(s + len, ": info: after\n"));
	free(s);
	free(msg);
}
END_TEST

/* Escaping near the end of the room: cut before an escape, never through
 * one. */
START_TEST(test_truncation_of_escapes)
{
	size_t big = 2 * PIPE_BUF;
	char *msg = malloc(big + 1);
	char *s, *nl;

	memset(msg, '\n', big);
	msg[big] = '\0';
	capture_start();
	log_info("%s", msg);
	s = capture_end();
	nl = strchr(s, '\n');
	ck_assert_uint_le((size_t)(nl + 1 - s), PIPE_BUF);
	ck_assert_int_eq(strncmp(nl - 5, "\\n...", 5), 0);
	ck_assert_int_eq(nl[1], '\0');
	free(s);
	free(msg);
}
END_TEST

START_TEST(test_errno_preserved)
{
	char *s;

	capture_start();
	errno = ENOSPC;
	log_error("disk: %s", strerror(errno));
	ck_assert_int_eq(errno, ENOSPC);
	s = capture_end();
	free(s);
}
END_TEST

#define THREADS 8
#define LINES_PER_THREAD 2000

static void *logger_main(void *arg)
{
	long id = (long)arg;
	char pad[1500];

	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (int i = 0; i < LINES_PER_THREAD; i++)
		log_info("thread %ld line %d %s end", id, i, pad + (i % 1000));
	return NULL;
}

START_TEST(test_threads_whole_lines)
{
	pthread_t t[THREADS];
	int next[THREADS] = { 0 };
	size_t lines = 0;
	char *s;

	capture_start();
	for (long i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, logger_main, (void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	s = capture_end();

	for (char *line = s, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		long id;
		int n;

		*nl = '\0';
		ck_assert_msg(sscanf(strstr(line, ": info: "), ": info: thread %ld line %d", &id,
				     &n) == 2,
			      "broken line: %s", line);
		ck_assert_int_lt(id, THREADS);
		ck_assert_int_eq(n, next[id]);
		next[id]++;
		ck_assert_int_eq(strcmp(nl - 4, " end"), 0);
		lines++;
	}
	ck_assert_uint_eq(lines, THREADS * LINES_PER_THREAD);
	free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_level_parse);
	tcase_add_test(tc, test_set_get_level);
	tcase_add_test(tc, test_line_format);
	tcase_add_test(tc, test_levels_filter);
	tcase_add_test(tc, test_newlines_escaped);
	tcase_add_test(tc, test_journal_priority_prefix);
	tcase_add_test(tc, test_truncation);
	tcase_add_test(tc, test_truncation_of_escapes);
	tcase_add_test(tc, test_errno_preserved);
	tcase_add_test(tc, test_threads_whole_lines);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	return run_suite(s);
}

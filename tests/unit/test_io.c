/* test_io.c — an io_reader's read timeout (io.c): time allowed without a
 * byte while reading, kept as a deadline whose timer fires early and is
 * re-armed when the deadline moved later; and the writing of bufferevents
 * without libevent's output callback (quiet) or with lbd's (loud); over a
 * socketpair, on a real event loop. Bounds below are loose upwards: the
 * machine may be busy. */
#include <check.h>

#include "check_main.h"
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event/io.h"
#include "util/clock.h"

#define EARLY_MS 2  /* the timer's slack (io.c) and the loop's rounding */
#define LATE_MS 150 /* a loaded test machine */

static int pair[2];
static struct event_base *base;
static struct bufferevent *bev;
static struct io_reader rd;
static uint64_t start_us;
static uint64_t event_ms; /* when the event came, from the start; 0: none */
static short event_what;
static size_t bytes;

static uint64_t elapsed_ms(void)
{
	return (monotonic_us() - start_us) / 1000;
}

static void on_read(void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	(void)arg;
	bytes += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void on_event(short what, void *arg)
{
	(void)arg;
	event_what = what;
	event_ms = elapsed_ms();
	event_base_loopbreak(base);
}

static void setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	fcntl(pair[0], F_SETFL, O_NONBLOCK);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	bev = bufferevent_socket_new(base, pair[0], 0);
	ck_assert_ptr_nonnull(bev);
	ck_assert_int_eq(io_reader_init(&rd, base, bev, 0, on_read, on_event, NULL), 0);
	event_ms = 0;
	event_what = 0;
	bytes = 0;
	start_us = monotonic_us();
}

static void teardown(void)
{
	io_reader_free(&rd);
	bufferevent_free(bev);
	event_base_free(base);
	close(pair[0]);
	close(pair[1]);
}

static void set_timeout(uint64_t ms)
{
	struct timeval tv;

	ms_to_timeval(ms, &tv);
	io_reader_timeout(&rd, &tv);
}

/* Run the loop until the reader reports something or MS pass. */
static void run(uint64_t ms)
{
	struct timeval tv;

	ms_to_timeval(ms, &tv);
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* FN at MS from now, from the loop. */
static void at(uint64_t ms, event_callback_fn fn)
{
	struct timeval tv;

	ms_to_timeval(ms, &tv);
	ck_assert_int_eq(event_base_once(base, -1, EV_TIMEOUT, fn, NULL, &tv), 0);
}

static void assert_timeout_near(uint64_t ms)
{
	ck_assert_int_eq(event_what, BEV_EVENT_READING | BEV_EVENT_TIMEOUT);
	ck_assert_uint_ge(event_ms, ms - EARLY_MS);
	ck_assert_uint_lt(event_ms, ms + LATE_MS);
	ck_assert(!rd.on);
}

START_TEST(times_out_after_silence)
{
	set_timeout(80);
	io_reader_set(&rd, true);
	run(1000);
	assert_timeout_near(80);
}
END_TEST

static void send_byte(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	ck_assert_int_eq(write(pair[1], "x", 1), 1);
}

START_TEST(a_byte_restarts_it)
{
	set_timeout(100);
	io_reader_set(&rd, true);
	at(60, send_byte);
	run(1000);
	ck_assert_uint_eq(bytes, 1);
	assert_timeout_near(160);
}
END_TEST

static void set_100(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	set_timeout(100);
}

/* The timer pending for the first deadline fires early and is re-armed
 * for the rest. */
START_TEST(a_later_deadline_is_kept)
{
	set_timeout(50);
	io_reader_set(&rd, true);
	at(30, set_100);
	run(1000);
	assert_timeout_near(130);
}
END_TEST

START_TEST(an_earlier_deadline_rearms)
{
	set_timeout(2000);
	io_reader_set(&rd, true);
	at(20, set_100);
	run(3000);
	assert_timeout_near(120);
}
END_TEST

static void reading_off(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	io_reader_set(&rd, false);
}

static void timeout_off(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	io_reader_timeout(&rd, NULL);
}

START_TEST(reading_off_stops_it)
{
	set_timeout(50);
	io_reader_set(&rd, true);
	at(20, reading_off);
	run(200);
	ck_assert_uint_eq(event_ms, 0);
	/* Reading again: the whole timeout from then. */
	start_us = monotonic_us();
	io_reader_set(&rd, true);
	run(1000);
	assert_timeout_near(50);
}
END_TEST

START_TEST(no_timeout_stops_it)
{
	set_timeout(50);
	io_reader_set(&rd, true);
	at(20, timeout_off);
	run(200);
	ck_assert_uint_eq(event_ms, 0);
	ck_assert(rd.on);
}
END_TEST

/* What reached the other end of the socketpair, as a string. */
static const char *received(void)
{
	static char buf[64];
	ssize_t n = recv(pair[1], buf, sizeof(buf) - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Without libevent's output callback, io_flush() writes all the same. */
START_TEST(a_quiet_bufferevent_writes_on_flush)
{
	io_bev_quiet(bev);
	bufferevent_disable(bev, EV_WRITE); /* on when new; see io.h */
	evbuffer_add(bufferevent_get_output(bev), "abc", 3);
	ck_assert(io_flush(bev));
	ck_assert_str_eq(received(), "abc");
}
END_TEST

/* A loud one gets bytes queued while writing is on written by libevent,
 * even after libevent dropped its write event for an empty output. */
START_TEST(a_loud_bufferevent_writes_what_is_queued)
{
	io_bev_quiet(bev);
	ck_assert_int_eq(io_bev_loud(bev), 0);
	bufferevent_enable(bev, EV_WRITE);
	run(20); /* writable with nothing to write: the event goes */
	evbuffer_add(bufferevent_get_output(bev), "xyz", 3);
	run(50);
	ck_assert_str_eq(received(), "xyz");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io");
	TCase *tc = tcase_create("read timeout");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, times_out_after_silence);
	tcase_add_test(tc, a_byte_restarts_it);
	tcase_add_test(tc, a_later_deadline_is_kept);
	tcase_add_test(tc, an_earlier_deadline_rearms);
	tcase_add_test(tc, reading_off_stops_it);
	tcase_add_test(tc, no_timeout_stops_it);
	tcase_add_test(tc, a_quiet_bufferevent_writes_on_flush);
	tcase_add_test(tc, a_loud_bufferevent_writes_what_is_queued);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

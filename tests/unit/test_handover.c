/* test_handover.c — the upgrade's messages (daemon/handover_wire.h): every
 * type survives encoding, anything else is refused with a reason; and the
 * new process's side (daemon/handover.h) takes sockets and state from a
 * scripted old one. */
#include <check.h>

#include "check_main.h"
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/retry_budget.h"
#include "daemon/handover.h"
#include "daemon/handover_wire.h"

static struct handover_msg in, out;
static uint8_t buf[HANDOVER_MSG_MAX];
static char err[256];

static int roundtrip(void)
{
	int len = handover_encode(&in, buf, sizeof(buf));

	ck_assert_int_gt(len, 0);
	return handover_decode(buf, (size_t)len, &out, err, sizeof(err));
}

START_TEST(every_type_round_trips)
{
	memset(&in, 0, sizeof(in));
	in = (struct handover_msg){ .type = HANDOVER_HELLO, .pid = 4242 };
	ck_assert_int_eq(roundtrip(), 0);
	ck_assert_int_eq(out.type, HANDOVER_HELLO);
	ck_assert_uint_eq(out.pid, 4242);

	memset(&in, 0, sizeof(in));
	in.type = HANDOVER_SOCKET;
	in.kind = HANDOVER_BIND;
	in.per_worker = true;
	in.has_lock = true;
	in.total = 300;
	in.first = 250;
	in.nsockets = 50;
	strcpy(in.text, "[::1]:8443");
	ck_assert_int_eq(roundtrip(), 0);
	ck_assert_int_eq(out.kind, HANDOVER_BIND);
	ck_assert(out.per_worker && out.has_lock);
	ck_assert_uint_eq(out.total, 300);
	ck_assert_uint_eq(out.first, 250);
	ck_assert_uint_eq(out.nsockets, 50);
	ck_assert_str_eq(out.text, "[::1]:8443");

	memset(&in, 0, sizeof(in));
	in.type = HANDOVER_STATE;
	strcpy(in.key, "generation");
	strcpy(in.text, "17");
	ck_assert_int_eq(roundtrip(), 0);
	ck_assert_str_eq(out.key, "generation");
	ck_assert_str_eq(out.text, "17");

	memset(&in, 0, sizeof(in));
	in.type = HANDOVER_FAILED;
	memset(in.text, 'x', sizeof(in.text) - 1); /* the longest text */
	ck_assert_int_eq(roundtrip(), 0);
	ck_assert_uint_eq(strlen(out.text), sizeof(in.text) - 1);

	for (int t = HANDOVER_END; t <= HANDOVER_READY; t++) {
		memset(&in, 0, sizeof(in));
		in.type = (enum handover_type)t;
		ck_assert_int_eq(roundtrip(), 0);
		ck_assert_int_eq(out.type, t);
	}
}
END_TEST

START_TEST(bad_messages_are_refused)
{
	memset(&in, 0, sizeof(in));
	in = (struct handover_msg){ .type = HANDOVER_HELLO, .pid = 7 };
	int len = handover_encode(&in, buf, sizeof(buf));

	ck_assert_int_eq(len, 10);
	for (int n = 0; n < len; n++) /* every truncation */
		ck_assert_int_eq(handover_decode(buf, (size_t)n, &out, err, sizeof(err)), -1);
	buf[len] = 0; /* a trailing byte */
	ck_assert_int_eq(handover_decode(buf, (size_t)len + 1, &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "trailing"));
	buf[4] = 2; /* a later version */
	ck_assert_int_eq(handover_decode(buf, (size_t)len, &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "version 2"));
	buf[4] = HANDOVER_VERSION;
	buf[0] = 'X';
	ck_assert_int_eq(handover_decode(buf, (size_t)len, &out, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "not an lbd upgrade message");
	buf[0] = 'L';
	buf[5] = 99; /* unknown type */
	ck_assert_int_eq(handover_decode(buf, (size_t)len, &out, err, sizeof(err)), -1);

	/* A socket message with more sockets than it may carry, none, or one
	 * past the total. */
	memset(&in, 0, sizeof(in));
	in.type = HANDOVER_SOCKET;
	strcpy(in.text, "127.0.0.1:80");
	in.total = in.nsockets = HANDOVER_FDS_MAX + 1;
	ck_assert_int_eq(handover_encode(&in, buf, sizeof(buf)), -1);
	in.total = 2;
	in.nsockets = 0;
	ck_assert_int_eq(handover_encode(&in, buf, sizeof(buf)), -1);
	in.first = 1;
	in.nsockets = 2;
	ck_assert_int_eq(handover_encode(&in, buf, sizeof(buf)), -1);
	in.first = 0;
	len = handover_encode(&in, buf, sizeof(buf));
	ck_assert_int_gt(len, 0);
	buf[6] = HANDOVER_SOCKET_KINDS; /* unknown kind */
	ck_assert_int_eq(handover_decode(buf, (size_t)len, &out, err, sizeof(err)), -1);
	buf[6] = 0;
	buf[7] = 4; /* unknown flag */
	ck_assert_int_eq(handover_decode(buf, (size_t)len, &out, err, sizeof(err)), -1);
	buf[7] = 0;
	buf[len - 3] = '\0'; /* a NUL inside the address */
	ck_assert_int_eq(handover_decode(buf, (size_t)len, &out, err, sizeof(err)), -1);

	/* A text longer than the buffer: cut when written, refused when read. */
	memset(&in, 0, sizeof(in));
	in.type = HANDOVER_FAILED;
	len = handover_encode(&in, buf, sizeof(buf));
	buf[6] = 0xff;
	buf[7] = 0xff;
	ck_assert_int_eq(handover_decode(buf, (size_t)len, &out, err, sizeof(err)), -1);
	ck_assert_int_eq(handover_encode(&in, buf, 5), -1); /* no room */
}
END_TEST

START_TEST(server_lines)
{
	struct handover_server s = { .state = 2,
				     .weight = 7,
				     .checked = true,
				     .down = true,
				     .ok_run = 0,
				     .fail_run = 3 },
			       t;
	char line[600];

	strcpy(s.pool, "api");
	strcpy(s.name, "10.0.0.1:80");
	ck_assert_int_eq(handover_server_format(&s, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "api\t10.0.0.1:80\t2\t7\t1\t1\t0\t3\t0");
	ck_assert_int_eq(handover_server_parse(line, &t), 0);
	ck_assert_str_eq(t.pool, "api");
	ck_assert_str_eq(t.name, "10.0.0.1:80");
	ck_assert_int_eq(t.state, 2);
	ck_assert_int_eq(t.weight, 7);
	ck_assert(t.checked && t.down);
	ck_assert_uint_eq(t.fail_run, 3);
	s.passive_until_ms = UINT64_C(123456789012);
	ck_assert_int_eq(handover_server_format(&s, line, sizeof(line)), 0);
	ck_assert_int_eq(handover_server_parse(line, &t), 0);
	ck_assert_uint_eq(t.passive_until_ms, UINT64_C(123456789012));

	strcpy(s.name, "a\tb");
	ck_assert_int_eq(handover_server_format(&s, line, sizeof(line)), -1);
	ck_assert_int_eq(handover_server_format(&t, line, 10), -1);

	static const char *const bad[] = {
		"",
		"api",
		"api\ta\t0\t-1\t0\t0\t0\t0",       /* a field short */
		"api\ta\t4\t-1\t0\t0\t0\t0\t0",    /* no such state */
		"api\ta\t0\t-2\t0\t0\t0\t0\t0",    /* weight below -1 */
		"api\ta\t0\t-1\t2\t0\t0\t0\t0",    /* not a flag */
		"api\ta\t0\t-1\t0\t0\t0\t0\t0\t9", /* one too many */
		"api\ta\t0\t-1\t0\t0\t0\t0\t-1",   /* a time before the clock */
		"api\ta\t0\t-1\t0\t0\t0\t0\t0\t",  /* a trailing tab */
		"api\ta\t0\tx\t0\t0\t0\t0\t0",
		"\ta\t0\t-1\t0\t0\t0\t0\t0",
		"api\ta\n\t0\t-1\t0\t0\t0\t0\t0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(handover_server_parse(bad[i], &t) == -1, "accepted: %s", bad[i]);
}
END_TEST

START_TEST(member_and_found_lines)
{
	struct handover_member m = { .weight = 3, .backup = true }, m2;
	struct handover_found f, f2;
	char line[1024];

	strcpy(m.pool, "api");
	strcpy(m.name, "x");
	strcpy(m.address, "[::1]:8080");
	ck_assert_int_eq(handover_member_format(&m, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "api\tx\t[::1]:8080\t3\t1");
	ck_assert_int_eq(handover_member_parse(line, &m2), 0);
	ck_assert_str_eq(m2.address, "[::1]:8080");
	ck_assert_uint_eq(m2.weight, 3);
	ck_assert(m2.backup);
	ck_assert_int_eq(handover_member_parse("api\tx\t[::1]:8080\t3\t1\t", &m2), -1);
	ck_assert_int_eq(handover_member_parse("api\tx\t[::1]:8080\t3\t2", &m2), -1);
	ck_assert_int_eq(handover_member_parse("api\t\t[::1]:8080\t3\t1", &m2), -1);

	memset(&f, 0, sizeof(f));
	strcpy(f.pool, "api");
	strcpy(f.identity, "a.node.consul:80");
	strcpy(f.address, "10.0.0.1:80");
	ck_assert_int_eq(handover_found_format(&f, line, sizeof(line)), 0);
	ck_assert_int_eq(handover_found_parse(line, &f2), 0);
	ck_assert_str_eq(f2.identity, "a.node.consul:80");
	ck_assert_int_eq(handover_found_parse("api\ta.node.consul:80", &f2), -1);
	ck_assert_int_eq(handover_found_parse("api\ta\tb\tc", &f2), -1);
	strcpy(f.address, "10.0.0.1\n:80");
	ck_assert_int_eq(handover_found_format(&f, line, sizeof(line)), -1); /* one line each */
}
END_TEST

START_TEST(changed_ramp_and_budget_lines)
{
	struct handover_changed c = { .changed_ms = UINT64_C(98765432101) }, c2;
	struct handover_budget b = { .spent = RETRY_BUDGET_SPENT_MAX }, b2;
	char line[600];

	strcpy(c.pool, "api");
	strcpy(c.name, "10.0.0.1:80");
	ck_assert_int_eq(handover_changed_format(&c, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "api\t10.0.0.1:80\t98765432101");
	ck_assert_int_eq(handover_changed_parse(line, &c2), 0);
	ck_assert_str_eq(c2.pool, "api");
	ck_assert_str_eq(c2.name, "10.0.0.1:80");
	ck_assert_uint_eq(c2.changed_ms, UINT64_C(98765432101));
	ck_assert_int_eq(handover_changed_parse("api\ta\t0", &c2), -1); /* never changed */
	ck_assert_int_eq(handover_changed_parse("api\ta", &c2), -1);
	ck_assert_int_eq(handover_changed_parse("api\ta\t1\t", &c2), -1);
	ck_assert_int_eq(handover_changed_parse("api\ta\t-5", &c2), -1);

	struct handover_ramp r = { .permille = 350, .since_ms = 4242 }, r2;
	strcpy(r.pool, "api");
	strcpy(r.name, "x");
	ck_assert_int_eq(handover_ramp_format(&r, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "api\tx\t350\t4242");
	ck_assert_int_eq(handover_ramp_parse(line, &r2), 0);
	ck_assert_uint_eq(r2.permille, 350);
	ck_assert_uint_eq(r2.since_ms, 4242);
	ck_assert_int_eq(handover_ramp_parse("api\tx\t0\t0", &r2), 0); /* whole weight */
	r.permille = 1000;
	ck_assert_int_eq(handover_ramp_format(&r, line, sizeof(line)), -1);
	ck_assert_int_eq(handover_ramp_parse("api\tx\t1000\t1", &r2), -1);
	ck_assert_int_eq(handover_ramp_parse("api\tx\t5", &r2), -1);
	ck_assert_int_eq(handover_ramp_parse("api\tx\t5\t-1", &r2), -1);

	/* An empty budget (all spent) goes over as it is. */
	strcpy(b.pool, "api");
	ck_assert_int_eq(handover_budget_format(&b, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "api\t10000");
	ck_assert_int_eq(handover_budget_parse(line, &b2), 0);
	ck_assert_str_eq(b2.pool, "api");
	ck_assert_uint_eq(b2.spent, RETRY_BUDGET_SPENT_MAX);
	b.spent = RETRY_BUDGET_SPENT_MAX + 1;
	ck_assert_int_eq(handover_budget_format(&b, line, sizeof(line)), -1);
	ck_assert_int_eq(handover_budget_parse("api\t10001", &b2), -1); /* beyond empty */
	ck_assert_int_eq(handover_budget_parse("api\t-1", &b2), -1);
	ck_assert_int_eq(handover_budget_parse("api", &b2), -1);
	ck_assert_int_eq(handover_budget_parse("\t5", &b2), -1);
	ck_assert_int_eq(handover_budget_parse("api\t5\t6", &b2), -1);
}
END_TEST

/* A budget carried over is the budget the old process left: spent, it
 * allows no retry until requests refill it. */
START_TEST(budget_restored_as_it_was)
{
	struct retry_budget old = { 0 }, new = { 0 };

	while (retry_budget_withdraw(&old, 20))
		;
	retry_budget_restore(&new, retry_budget_spent(&old));
	ck_assert(!retry_budget_withdraw(&new, 20));
	for (int i = 0; i < 5; i++)
		retry_budget_deposit(&new, 20);
	ck_assert(retry_budget_withdraw(&new, 20));
	ck_assert(!retry_budget_withdraw(&new, 20));
	retry_budget_restore(&new, UINT64_MAX); /* never beyond empty */
	ck_assert_uint_eq(retry_budget_spent(&new), RETRY_BUDGET_SPENT_MAX);
}
END_TEST

START_TEST(rate_lines)
{
	static struct handover_rate r, r2;
	static char line[HANDOVER_TEXT_MAX];

	memset(&r, 0, sizeof(r));
	r.id = handover_rate_id("web\n0\n\n/\n\n60/60000/3/16384");
	r.seed = 0x0123456789abcdefull;
	r.n = 2;
	r.slots[0] = (struct handover_slot){ 0, 1, 2 };
	r.slots[1] = (struct handover_slot){ 16383, UINT64_MAX, 0xabc };
	ck_assert_int_eq(handover_rate_format(&r, line, sizeof(line)), 0);
	ck_assert_str_eq(line + 16, "\t0123456789abcdef\t0:1:2,3fff:ffffffffffffffff:abc");
	ck_assert_int_eq(handover_rate_parse(line, &r2), 0);
	ck_assert_uint_eq(r2.id, r.id);
	ck_assert_uint_eq(r2.seed, r.seed);
	ck_assert_uint_eq(r2.n, 2);
	ck_assert_uint_eq(r2.slots[1].index, 16383);
	ck_assert_uint_eq(r2.slots[1].tag, UINT64_MAX);
	ck_assert_uint_eq(r2.slots[1].tat, 0xabc);
	/* The largest value fits in one message. */
	r.n = HANDOVER_SLOTS_MAX;
	for (size_t i = 0; i < r.n; i++)
		r.slots[i] = (struct handover_slot){ UINT32_MAX, UINT64_MAX, UINT64_MAX };
	ck_assert_int_eq(handover_rate_format(&r, line, sizeof(line)), 0);

	static const char *const bad[] = {
		"0000000000000001\t0000000000000002\t",       /* no slot */
		"0000000000000001\t0000000000000002\t1:2",    /* no tat */
		"0000000000000001\t0000000000000002\t1:2:3,", /* trailing comma */
		"0000000000000001\t0000000000000002\t01:2:3", /* leading zero */
		"0000000000000001\t0000000000000002\t1:2:X",
		"0000000000000001\t0000000000000002\t100000000:2:3", /* index over 32 bits */
		"000000000000001\t0000000000000002\t1:2:3",          /* a short id */
		"000000000000000G\t0000000000000002\t1:2:3",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(handover_rate_parse(bad[i], &r2) == -1, "accepted: %s", bad[i]);
}
END_TEST

static void send_msg(int sock, const struct handover_msg *m, const int *fds, size_t n)
{
	ck_assert_int_eq(handover_send(sock, m, fds, n, err, sizeof(err)), 0);
}

/* The old side's messages are queued before the new side reads them: a
 * per-worker address with its lock, the admin socket, and state. */
START_TEST(receive_takes_sockets_and_state)
{
	static struct handover_msg m;
	struct handover_inherit got;
	int sp[2], fds[3];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	for (int i = 0; i < 3; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	memset(&m, 0, sizeof(m));
	m = (struct handover_msg){ .type = HANDOVER_SOCKET,
				   .kind = HANDOVER_BIND,
				   .per_worker = true,
				   .has_lock = true,
				   .total = 2,
				   .nsockets = 2 };
	strcpy(m.text, "127.0.0.1:1");
	send_msg(sp[0], &m, fds, 3);
	m.kind = HANDOVER_ADMIN_SOCKET;
	m.per_worker = m.has_lock = false;
	m.total = m.nsockets = 1;
	strcpy(m.text, "unix:/nonexistent/admin.sock");
	send_msg(sp[0], &m, fds, 1);
	memset(&m, 0, sizeof(m));
	m.type = HANDOVER_STATE;
	strcpy(m.key, "generation");
	strcpy(m.text, "41");
	send_msg(sp[0], &m, NULL, 0);
	strcpy(m.key, "server");
	strcpy(m.text, "api\ta\t2\t5\t1\t1\t0\t2\t12345");
	send_msg(sp[0], &m, NULL, 0);
	strcpy(m.key, "health_changed");
	strcpy(m.text, "api\ta\t777");
	send_msg(sp[0], &m, NULL, 0);
	strcpy(m.key, "slow_start");
	strcpy(m.text, "api\ta\t100\t555");
	send_msg(sp[0], &m, NULL, 0);
	strcpy(m.key, "retry_budget");
	strcpy(m.text, "api\t4000");
	send_msg(sp[0], &m, NULL, 0);
	strcpy(m.key, "from-a-newer-lbd");
	strcpy(m.text, "ignored");
	send_msg(sp[0], &m, NULL, 0);
	memset(&m, 0, sizeof(m));
	m.type = HANDOVER_END;
	send_msg(sp[0], &m, NULL, 0);

	ck_assert_int_eq(handover_receive(sp[1], 2, &got, err, sizeof(err)), 0);
	ck_assert_uint_eq(got.binds.n, 1);
	ck_assert(got.binds.items[0].per_worker);
	ck_assert_int_ge(got.binds.items[0].fds[0], 0);
	ck_assert_int_ge(got.binds.items[0].fds[1], 0);
	ck_assert_int_ge(got.binds.items[0].lock_fd, 0);
	ck_assert_int_ge(got.admin_fd[HANDOVER_ADMIN_SOCKET], 0);
	ck_assert_uint_eq(got.generation, 41);
	ck_assert_uint_eq(got.nservers, 1);
	ck_assert_int_eq(got.servers[0].weight, 5);
	ck_assert_uint_eq(got.nchanged, 1);
	ck_assert_uint_eq(got.changed[0].changed_ms, 777);
	ck_assert_uint_eq(got.nramps, 1);
	ck_assert_uint_eq(got.ramps[0].since_ms, 555);
	ck_assert_uint_eq(got.nbudgets, 1);
	ck_assert_str_eq(got.budgets[0].pool, "api");
	ck_assert_uint_eq(got.budgets[0].spent, 4000);
	ck_assert(!got.has_tickets);
	size_t nfds;
	ck_assert_int_eq(handover_recv(sp[0], &m, fds, 1, &nfds, 1000, err, sizeof(err)), 1);
	ck_assert_int_eq(m.type, HANDOVER_HELLO);
	ck_assert_uint_eq(m.pid, (uint32_t)getpid());
	handover_inherit_free(&got);
	ck_assert_uint_eq(got.binds.n, 0);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	close(sp[0]);
	close(sp[1]);
}
END_TEST

/* An old side that goes away, or sends fewer descriptors than it says. */
START_TEST(receive_refuses_what_does_not_add_up)
{
	static struct handover_msg m;
	struct handover_inherit got;
	int sp[2], fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	memset(&m, 0, sizeof(m));
	m = (struct handover_msg){ .type = HANDOVER_SOCKET,
				   .total = 2,
				   .nsockets = 2,
				   .per_worker = true };
	strcpy(m.text, "127.0.0.1:1");
	send_msg(sp[0], &m, &fd, 1);
	ck_assert_int_eq(handover_receive(sp[1], 2, &got, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "descriptors"));
	close(sp[0]);
	ck_assert_int_eq(handover_receive(sp[1], 2, &got, err, sizeof(err)), -1);
	close(sp[1]);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("handover");
	TCase *tc = tcase_create("handover");

	tcase_add_test(tc, every_type_round_trips);
	tcase_add_test(tc, bad_messages_are_refused);
	tcase_add_test(tc, server_lines);
	tcase_add_test(tc, member_and_found_lines);
	tcase_add_test(tc, changed_ramp_and_budget_lines);
	tcase_add_test(tc, budget_restored_as_it_was);
	tcase_add_test(tc, rate_lines);
	tcase_add_test(tc, receive_takes_sockets_and_state);
	tcase_add_test(tc, receive_refuses_what_does_not_add_up);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

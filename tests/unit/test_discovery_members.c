/* test_discovery_members.c — the membership rules of a discovered pool
 * (discovery/members.h) on a fake clock: identities, moves, the hold, the
 * confirmed empty answer, failures, start-up, duplicates, the maximum, a
 * failed allocation, and the delays between queries. */
#include <arpa/inet.h>
#include <check.h>

#include "check_main.h"
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/members.h"
#include "util/addr.h"

/* The link wraps calloc (see Makefile.am): FAIL_IN > 0 makes the
 * FAIL_IN-th next call fail. */
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
static int fail_in;

void *__wrap_calloc(size_t n, size_t size)
{
	if (fail_in > 0 && --fail_in == 0)
		return NULL;
	return __real_calloc(n, size);
}

#define HOLD 5000
#define EMPTY_AFTER 30000
#define T0 1000000

static const struct discovery_rules A_RULES = { HOLD, EMPTY_AFTER, false, NULL };
static const struct discovery_rules SRV_RULES = { HOLD, EMPTY_AFTER, true, NULL };

/* The changes reported, as "+id ~id -id ". */
static char changes[1 << 16];

static void record(void *arg, const struct discovered *m, enum member_change c)
{
	static const char
		sign[] = { [MEMBER_ADDED] = '+', [MEMBER_MOVED] = '~', [MEMBER_REMOVED] = '-' };
	size_t len = strlen(changes);

	(void)arg;
	snprintf(changes + len, sizeof(changes) - len, "%c%s ", sign[c], m->identity);
}

static struct dns_target target(const char *name, const char *addr)
{
	struct dns_target t;
	const char *why = NULL;

	memset(&t, 0, sizeof(t));
	snprintf(t.target, sizeof(t.target), "%s", name);
	ck_assert_msg(addr_parse(addr, &t.addr, &why) == 0, "%s: %s", addr, why);
	return t;
}

/* Apply an answer with the N addresses of ADDRS (A/AAAA, or SRV when NAMES
 * is given), then return the changes it reported. */
static const char *answer(struct discovery_state *st, const struct discovery_rules *r, uint64_t now,
			  const char *const *names, const char *const *addrs, size_t n, int want)
{
	struct dns_target t[16];
	struct dns_answer a = { DNS_OK, NULL, t, n, 60 };

	ck_assert_uint_le(n, 16);
	for (size_t i = 0; i < n; i++)
		t[i] = target(names ? names[i] : "", addrs[i]);
	changes[0] = '\0';
	ck_assert_int_eq(discovery_apply(st, r, &a, now, record, NULL), want);
	return changes;
}

#define ANSWER_A(st, now, want, ...) \
	answer(st, &A_RULES, now, NULL, (const char *const[]){ __VA_ARGS__ }, \
	       sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *), want)

static const char *status(struct discovery_state *st, const struct discovery_rules *r,
			  enum dns_status s, uint64_t now, int want)
{
	struct dns_answer a = { s, "test", NULL, 0, 0 };

	changes[0] = '\0';
	ck_assert_int_eq(discovery_apply(st, r, &a, now, record, NULL), want);
	return changes;
}

static const char *tick(struct discovery_state *st, const struct discovery_rules *r, uint64_t now,
			int want)
{
	changes[0] = '\0';
	ck_assert_int_eq(discovery_tick(st, r, now, record, NULL), want);
	return changes;
}

START_TEST(records_are_added_at_once)
{
	struct discovery_state st = { 0 };

	ck_assert_str_eq(ANSWER_A(&st, T0, 3, "10.0.0.2:80", "[2001:DB8::1]:8080", "10.0.0.1:80"),
			 "+10.0.0.1:80 +10.0.0.2:80 +[2001:db8::1]:8080 ");
	ck_assert_uint_eq(st.n, 3);
	const struct discovered *m = discovery_find(&st, "[2001:db8::1]:8080");
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->addr.text, "[2001:db8::1]:8080");
	ck_assert(!m->missing);
	ck_assert_ptr_null(discovery_find(&st, "10.0.0.3:80"));
	/* The same answer again changes nothing. */
	ck_assert_str_eq(ANSWER_A(&st, T0 + 5000, 0, "10.0.0.1:80", "10.0.0.2:80",
				  "[2001:db8::1]:8080"),
			 "");
	/* Another port is another server. */
	ck_assert_str_eq(ANSWER_A(&st, T0 + 10000, 1, "10.0.0.1:80", "10.0.0.1:81", "10.0.0.2:80",
				  "[2001:db8::1]:8080"),
			 "+10.0.0.1:81 ");
	discovery_state_free(&st);
	ck_assert_uint_eq(st.n, 0);
}
END_TEST

START_TEST(srv_identity_is_the_target_and_port)
{
	struct discovery_state st = { 0 };
	const char *names[] = { "API-1.Service.Consul.", "api-2.service.consul" };
	const char *addrs[] = { "10.0.0.1:8080", "10.0.0.2:9090" };

	ck_assert_str_eq(answer(&st, &SRV_RULES, T0, names, addrs, 2, 2),
			 "+api-1.service.consul:8080 +api-2.service.consul:9090 ");
	const struct discovered *m = discovery_find(&st, "api-1.service.consul:8080");
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->addr.text, "10.0.0.1:8080");
	discovery_state_free(&st);
}
END_TEST

/* A target that moves keeps its identity: MEMBER_MOVED, not removed and
 * added. */
START_TEST(srv_target_moves)
{
	struct discovery_state st = { 0 };
	const char *names[] = { "api-1.consul.", "api-2.consul." };
	const char *before[] = { "10.0.0.1:8080", "10.0.0.2:8080" };
	const char *after[] = { "10.0.0.1:8080", "10.0.0.7:8080" };

	answer(&st, &SRV_RULES, T0, names, before, 2, 2);
	ck_assert_str_eq(answer(&st, &SRV_RULES, T0 + 5000, names, after, 2, 1),
			 "~api-2.consul:8080 ");
	ck_assert_str_eq(discovery_find(&st, "api-2.consul:8080")->addr.text, "10.0.0.7:8080");
	ck_assert_uint_eq(st.n, 2);
	ck_assert_str_eq(answer(&st, &SRV_RULES, T0 + 10000, names, after, 2, 0), "");
	discovery_state_free(&st);
}
END_TEST

/* Several addresses of one target: the lowest (IPv4 first), whatever the
 * order of the records. */
START_TEST(srv_target_with_several_addresses)
{
	struct discovery_state st = { 0 };
	struct discovery_state other = { 0 };
	const char *names[] = { "api.consul", "api.consul", "api.consul", "api.consul" };
	const char *addrs[] = { "[::1]:80", "10.0.0.9:80", "10.0.0.10:80", "9.255.0.1:80" };
	const char *reversed[] = { "9.255.0.1:80", "10.0.0.10:80", "10.0.0.9:80", "[::1]:80" };

	ck_assert_str_eq(answer(&st, &SRV_RULES, T0, names, addrs, 4, 1), "+api.consul:80 ");
	ck_assert_str_eq(st.members[0].addr.text, "9.255.0.1:80");
	answer(&other, &SRV_RULES, T0, names, reversed, 4, 1);
	ck_assert_str_eq(other.members[0].addr.text, "9.255.0.1:80");
	/* Its chosen address gone, the next one: a move. */
	ck_assert_str_eq(answer(&st, &SRV_RULES, T0 + 5000, names, addrs, 3, 1), "~api.consul:80 ");
	ck_assert_str_eq(st.members[0].addr.text, "10.0.0.9:80");
	const char *v6[] = { "[2001:db8::2]:80", "[2001:db8::1]:80" };
	ck_assert_str_eq(answer(&st, &SRV_RULES, T0 + 10000, names, v6, 2, 1), "~api.consul:80 ");
	ck_assert_str_eq(st.members[0].addr.text, "[2001:db8::1]:80");
	discovery_state_free(&st);
	discovery_state_free(&other);
}
END_TEST

/* A server of the file whose host name is followed: one member, named as
 * the server, at the lowest address; an empty answer or a failure never
 * takes it away. */
START_TEST(static_name_keeps_its_server)
{
	const struct discovery_rules rules = { UINT64_MAX, UINT64_MAX, false, "app" };
	struct discovery_state st = { 0 };
	const char *two[] = { "10.0.0.9:80", "10.0.0.2:80" };
	const char *moved[] = { "10.0.0.3:80" };

	ck_assert_str_eq(answer(&st, &rules, T0, NULL, two, 2, 1), "+app ");
	ck_assert_str_eq(st.members[0].addr.text, "10.0.0.2:80");
	ck_assert_str_eq(answer(&st, &rules, T0 + 1000, NULL, two + 1, 1, 0), "");
	ck_assert_str_eq(answer(&st, &rules, T0 + 2000, NULL, moved, 1, 1), "~app ");
	ck_assert_str_eq(st.members[0].addr.text, "10.0.0.3:80");
	/* NXDOMAIN, again and again, days later; then a failing resolver. */
	ck_assert_str_eq(status(&st, &rules, DNS_EMPTY, T0 + 3000, 0), "");
	ck_assert_str_eq(status(&st, &rules, DNS_EMPTY, T0 + 86400000ULL * 30, 0), "");
	ck_assert_str_eq(status(&st, &rules, DNS_FAILED, T0 + 86400000ULL * 31, 0), "");
	ck_assert_str_eq(tick(&st, &rules, UINT64_MAX - 1, 0), "");
	ck_assert_uint_eq(st.n, 1);
	ck_assert_str_eq(st.members[0].identity, "app");
	discovery_state_free(&st);
}
END_TEST

START_TEST(missing_member_is_held_then_removed)
{
	struct discovery_state st = { 0 };

	ANSWER_A(&st, T0, 2, "10.0.0.1:80", "10.0.0.2:80");
	ck_assert_uint_eq(discovery_next_hold_end_ms(&st, &A_RULES), UINT64_MAX);
	ck_assert_str_eq(ANSWER_A(&st, T0 + 1000, 0, "10.0.0.1:80"), "");
	const struct discovered *m = discovery_find(&st, "10.0.0.2:80");
	ck_assert(m && m->missing);
	ck_assert_uint_eq(m->missing_since_ms, T0 + 1000);
	ck_assert_uint_eq(discovery_next_hold_end_ms(&st, &A_RULES), T0 + 1000 + HOLD);
	/* A second answer that misses it does not restart the hold. */
	ck_assert_str_eq(ANSWER_A(&st, T0 + 1000 + HOLD - 1, 0, "10.0.0.1:80"), "");
	ck_assert_uint_eq(discovery_find(&st, "10.0.0.2:80")->missing_since_ms, T0 + 1000);
	ck_assert_str_eq(tick(&st, &A_RULES, T0 + 1000 + HOLD - 1, 0), "");
	ck_assert_str_eq(tick(&st, &A_RULES, T0 + 1000 + HOLD, 1), "-10.0.0.2:80 ");
	ck_assert_uint_eq(st.n, 1);
	ck_assert_uint_eq(discovery_next_hold_end_ms(&st, &A_RULES), UINT64_MAX);
	ck_assert_str_eq(tick(&st, &A_RULES, T0 + 100000, 0), "");
	discovery_state_free(&st);
}
END_TEST

/* The hold also ends at an answer that comes after it. */
START_TEST(hold_ends_at_an_answer)
{
	struct discovery_state st = { 0 };

	ANSWER_A(&st, T0, 2, "10.0.0.1:80", "10.0.0.2:80");
	ANSWER_A(&st, T0 + 1000, 0, "10.0.0.1:80");
	ck_assert_str_eq(ANSWER_A(&st, T0 + 1000 + HOLD, 2, "10.0.0.1:80", "10.0.0.3:80"),
			 "-10.0.0.2:80 +10.0.0.3:80 ");
	discovery_state_free(&st);
}
END_TEST

START_TEST(member_back_within_its_hold_continues)
{
	struct discovery_state st = { 0 };

	ANSWER_A(&st, T0, 2, "10.0.0.1:80", "10.0.0.2:80");
	ANSWER_A(&st, T0 + 1000, 0, "10.0.0.1:80");
	ck_assert_str_eq(ANSWER_A(&st, T0 + 3000, 0, "10.0.0.1:80", "10.0.0.2:80"), "");
	ck_assert(!discovery_find(&st, "10.0.0.2:80")->missing);
	ck_assert_str_eq(tick(&st, &A_RULES, T0 + 1000 + HOLD, 0), "");
	/* Missing again: a new hold from then. */
	ANSWER_A(&st, T0 + 4000, 0, "10.0.0.1:80");
	ck_assert_str_eq(tick(&st, &A_RULES, T0 + 4000 + HOLD - 1, 0), "");
	ck_assert_str_eq(tick(&st, &A_RULES, T0 + 4000 + HOLD, 1), "-10.0.0.2:80 ");
	discovery_state_free(&st);
}
END_TEST

START_TEST(no_hold_removes_at_the_answer)
{
	struct discovery_state st = { 0 };
	const struct discovery_rules r = { 0, EMPTY_AFTER, false, NULL };
	const char *two[] = { "10.0.0.1:80", "10.0.0.2:80" };

	answer(&st, &r, T0, NULL, two, 2, 2);
	ck_assert_str_eq(answer(&st, &r, T0 + 1, NULL, two, 1, 1), "-10.0.0.2:80 ");
	discovery_state_free(&st);
}
END_TEST

/* One empty answer never empties the pool, however long ago it came. */
START_TEST(one_empty_answer_is_not_enough)
{
	struct discovery_state st = { 0 };

	ANSWER_A(&st, T0, 2, "10.0.0.1:80", "10.0.0.2:80");
	ck_assert_str_eq(status(&st, &A_RULES, DNS_EMPTY, T0 + 1000, 0), "");
	ck_assert(st.empty_run);
	ck_assert_uint_eq(st.empty_answers, 1);
	ck_assert_str_eq(tick(&st, &A_RULES, T0 + 1000 + 10 * EMPTY_AFTER, 0), "");
	ck_assert_uint_eq(st.n, 2);
	ck_assert(!st.members[0].missing && !st.members[1].missing);
	discovery_state_free(&st);
}
END_TEST

START_TEST(two_empty_answers_after_empty_after_empty_the_pool)
{
	struct discovery_state st = { 0 };

	ANSWER_A(&st, T0, 2, "10.0.0.1:80", "10.0.0.2:80");
	status(&st, &A_RULES, DNS_EMPTY, T0 + 1000, 0);
	/* A second one before empty_after: not yet. */
	ck_assert_str_eq(status(&st, &A_RULES, DNS_EMPTY, T0 + 1000 + EMPTY_AFTER - 1, 0), "");
	ck_assert_uint_eq(st.empty_answers, 2);
	ck_assert_uint_eq(st.n, 2);
	ck_assert_str_eq(tick(&st, &A_RULES, T0 + 1000 + EMPTY_AFTER, 0), "");
	ck_assert_str_eq(status(&st, &A_RULES, DNS_EMPTY, T0 + 1000 + EMPTY_AFTER, 2),
			 "-10.0.0.1:80 -10.0.0.2:80 ");
	ck_assert_uint_eq(st.n, 0);
	ck_assert_str_eq(status(&st, &A_RULES, DNS_EMPTY, T0 + 2000 + EMPTY_AFTER, 0), "");
	/* Records again: added at once. */
	ck_assert_str_eq(ANSWER_A(&st, T0 + 3000 + EMPTY_AFTER, 1, "10.0.0.1:80"), "+10.0.0.1:80 ");
	ck_assert(!st.empty_run);
	discovery_state_free(&st);
}
END_TEST

/* Two empty answers, the second after empty_after, suffice. */
START_TEST(second_empty_answer_after_empty_after)
{
	struct discovery_state st = { 0 };

	ANSWER_A(&st, T0, 1, "10.0.0.1:80");
	status(&st, &A_RULES, DNS_EMPTY, T0 + 1000, 0);
	ck_assert_str_eq(status(&st, &A_RULES, DNS_EMPTY, T0 + 1000 + EMPTY_AFTER, 1),
			 "-10.0.0.1:80 ");
	discovery_state_free(&st);
}
END_TEST

/* Without empty_after, the second empty answer still has to agree. */
START_TEST(empty_answer_is_always_confirmed)
{
	struct discovery_state st = { 0 };
	const struct discovery_rules r = { HOLD, 0, false, NULL };
	const char *one[] = { "10.0.0.1:80" };

	answer(&st, &r, T0, NULL, one, 1, 1);
	ck_assert_str_eq(status(&st, &r, DNS_EMPTY, T0 + 1000, 0), "");
	ck_assert_str_eq(tick(&st, &r, T0 + 100000, 0), "");
	ck_assert_str_eq(status(&st, &r, DNS_EMPTY, T0 + 100000, 1), "-10.0.0.1:80 ");
	discovery_state_free(&st);
}
END_TEST

START_TEST(records_between_end_the_empty_run)
{
	struct discovery_state st = { 0 };

	ANSWER_A(&st, T0, 1, "10.0.0.1:80");
	status(&st, &A_RULES, DNS_EMPTY, T0 + 1000, 0);
	ANSWER_A(&st, T0 + 2000, 0, "10.0.0.1:80");
	ck_assert(!st.empty_run);
	ck_assert_uint_eq(st.empty_answers, 0);
	/* The run starts again: this answer is its first. */
	ck_assert_str_eq(status(&st, &A_RULES, DNS_EMPTY, T0 + 1000 + EMPTY_AFTER, 0), "");
	ck_assert_uint_eq(st.empty_since_ms, T0 + 1000 + EMPTY_AFTER);
	ck_assert_str_eq(status(&st, &A_RULES, DNS_EMPTY, T0 + 999 + 2 * EMPTY_AFTER, 0), "");
	ck_assert_str_eq(status(&st, &A_RULES, DNS_EMPTY, T0 + 1000 + 2 * EMPTY_AFTER, 1),
			 "-10.0.0.1:80 ");
	discovery_state_free(&st);
}
END_TEST

/* An empty answer starts no hold: the members it does not name wait for
 * empty_after, not for hold. */
START_TEST(empty_answer_starts_no_hold)
{
	struct discovery_state st = { 0 };

	ANSWER_A(&st, T0, 1, "10.0.0.1:80");
	status(&st, &A_RULES, DNS_EMPTY, T0 + 1000, 0);
	status(&st, &A_RULES, DNS_EMPTY, T0 + 2000, 0);
	ck_assert_str_eq(tick(&st, &A_RULES, T0 + 2000 + HOLD, 0), "");
	ck_assert_uint_eq(st.n, 1);
	discovery_state_free(&st);
}
END_TEST

START_TEST(failures_remove_nothing)
{
	struct discovery_state st = { 0 };

	ANSWER_A(&st, T0, 2, "10.0.0.1:80", "10.0.0.2:80");
	ck_assert_uint_eq(discovery_stale_ms(&st, T0 + 1000), 0);
	ck_assert_str_eq(status(&st, &A_RULES, DNS_FAILED, T0 + 5000, 0), "");
	ck_assert(st.stale);
	ck_assert_uint_eq(discovery_stale_ms(&st, T0 + 5000), 0);
	ck_assert_uint_eq(discovery_stale_ms(&st, T0 + 6500), 1500);
	for (uint64_t t = T0 + 6000; t < T0 + 10 * EMPTY_AFTER; t += 1000) {
		ck_assert_str_eq(status(&st, &A_RULES, DNS_FAILED, t, 0), "");
		ck_assert_str_eq(tick(&st, &A_RULES, t, 0), "");
	}
	ck_assert_uint_eq(st.n, 2);
	ck_assert_uint_eq(st.stale_since_ms, T0 + 5000);
	ck_assert_uint_eq(discovery_stale_ms(&st, T0 + 10 * EMPTY_AFTER), 10 * EMPTY_AFTER - 5000);
	/* Cancelled queries say nothing either. */
	ck_assert_str_eq(status(&st, &A_RULES, DNS_CANCELLED, T0 + 11 * EMPTY_AFTER, 0), "");
	ck_assert(st.stale);
	/* An answer ends the stale run; an empty one too. */
	ANSWER_A(&st, T0 + 11 * EMPTY_AFTER, 0, "10.0.0.1:80", "10.0.0.2:80");
	ck_assert(!st.stale);
	ck_assert_uint_eq(discovery_stale_ms(&st, T0 + 12 * EMPTY_AFTER), 0);
	status(&st, &A_RULES, DNS_FAILED, T0 + 12 * EMPTY_AFTER, 0);
	status(&st, &A_RULES, DNS_EMPTY, T0 + 13 * EMPTY_AFTER, 0);
	ck_assert_uint_eq(discovery_stale_ms(&st, T0 + 14 * EMPTY_AFTER), 0);
	discovery_state_free(&st);
}
END_TEST

/* A failure neither ends an empty run nor counts in it. */
START_TEST(failures_leave_the_empty_run)
{
	struct discovery_state st = { 0 };

	ANSWER_A(&st, T0, 1, "10.0.0.1:80");
	status(&st, &A_RULES, DNS_EMPTY, T0 + 1000, 0);
	ck_assert_str_eq(status(&st, &A_RULES, DNS_FAILED, T0 + 1000 + EMPTY_AFTER, 0), "");
	ck_assert_uint_eq(st.empty_answers, 1);
	ck_assert_str_eq(status(&st, &A_RULES, DNS_EMPTY, T0 + 2000 + EMPTY_AFTER, 1),
			 "-10.0.0.1:80 ");
	discovery_state_free(&st);
}
END_TEST

/* The last valid answer stays the truth while the resolver fails: a member
 * it did not name still leaves when its hold ends, the others stay. */
START_TEST(hold_ends_while_failing)
{
	struct discovery_state st = { 0 };

	ANSWER_A(&st, T0, 2, "10.0.0.1:80", "10.0.0.2:80");
	ANSWER_A(&st, T0 + 1000, 0, "10.0.0.1:80");
	ck_assert_str_eq(status(&st, &A_RULES, DNS_FAILED, T0 + 2000, 0), "");
	ck_assert_str_eq(status(&st, &A_RULES, DNS_FAILED, T0 + 1000 + HOLD, 0), "");
	ck_assert_str_eq(tick(&st, &A_RULES, T0 + 1000 + HOLD, 1), "-10.0.0.2:80 ");
	ck_assert_str_eq(tick(&st, &A_RULES, T0 + 100 * HOLD, 0), "");
	ck_assert_uint_eq(st.n, 1);
	discovery_state_free(&st);
}
END_TEST

START_TEST(start_up)
{
	struct discovery_state st = { 0 };

	ck_assert_uint_eq(st.n, 0);
	ck_assert(!st.answered);
	/* A failure first: stale, nothing to remove. */
	ck_assert_str_eq(status(&st, &A_RULES, DNS_FAILED, T0, 0), "");
	ck_assert(!st.answered);
	ck_assert_uint_eq(discovery_stale_ms(&st, T0 + 3000), 3000);
	ck_assert_str_eq(tick(&st, &A_RULES, T0 + 3000, 0), "");
	/* Then empty answers: the run starts, there is nothing to empty. */
	ck_assert_str_eq(status(&st, &A_RULES, DNS_EMPTY, T0 + 4000, 0), "");
	ck_assert(st.answered && st.empty_run && !st.stale);
	ck_assert_str_eq(status(&st, &A_RULES, DNS_EMPTY, T0 + 4000 + EMPTY_AFTER, 0), "");
	ck_assert_uint_eq(st.n, 0);
	/* The first records: all added at once. */
	ck_assert_str_eq(ANSWER_A(&st, T0 + 5000 + EMPTY_AFTER, 2, "10.0.0.2:80", "10.0.0.1:80"),
			 "+10.0.0.1:80 +10.0.0.2:80 ");
	discovery_state_free(&st);

	/* Records as the very first answer. */
	ck_assert_str_eq(ANSWER_A(&st, T0, 1, "10.0.0.1:80"), "+10.0.0.1:80 ");
	ck_assert(st.answered && !st.stale && !st.empty_run);
	discovery_state_free(&st);
}
END_TEST

START_TEST(duplicates_count_once)
{
	struct discovery_state st = { 0 };
	const char *names[] = { "a.consul.", "A.CONSUL", "a.consul", "b.consul" };
	const char *addrs[] = { "10.0.0.1:80", "10.0.0.1:80", "10.0.0.1:80", "10.0.0.1:80" };

	ck_assert_str_eq(ANSWER_A(&st, T0, 2, "10.0.0.1:80", "10.0.0.2:80", "10.0.0.1:80",
				  "10.0.0.1:80"),
			 "+10.0.0.1:80 +10.0.0.2:80 ");
	ck_assert_uint_eq(st.n, 2);
	discovery_state_free(&st);
	/* Two targets on one address are two servers. */
	ck_assert_str_eq(answer(&st, &SRV_RULES, T0, names, addrs, 4, 2),
			 "+a.consul:80 +b.consul:80 ");
	discovery_state_free(&st);
}
END_TEST

/* Targets that cannot be members are counted and skipped; an answer with
 * none left is an empty answer. */
START_TEST(unusable_targets)
{
	struct discovery_state st = { 0 };
	const char *names[] = { ".", "", "bad\x01name", "ok.consul", "UNIX.consul" };
	const char *addrs[] = { "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80",
				"unix:/run/x.sock" };
	struct dns_target t[6];
	struct dns_answer a = { DNS_OK, NULL, t, 6, 60 };

	for (int i = 0; i < 5; i++)
		t[i] = target(names[i], addrs[i]);
	t[5] = target("zero.consul", "10.0.0.5:80");
	((struct sockaddr_in *)&t[5].addr.sa)->sin_port = 0;
	changes[0] = '\0';
	ck_assert_int_eq(discovery_apply(&st, &SRV_RULES, &a, T0, record, NULL), 1);
	ck_assert_str_eq(changes, "+ok.consul:80 ");
	ck_assert_uint_eq(st.invalid, 5);

	/* "." only: the service is not there (RFC 2782), an empty answer. */
	a.n = 1;
	ck_assert_int_eq(discovery_apply(&st, &SRV_RULES, &a, T0 + 1000, record, NULL), 0);
	ck_assert(st.empty_run);
	ck_assert_uint_eq(st.invalid, 1);
	ck_assert_int_eq(discovery_apply(&st, &SRV_RULES, &a, T0 + 1000 + EMPTY_AFTER, record,
					 NULL),
			 1);
	ck_assert_uint_eq(st.n, 0);
	/* No records at all, with DNS_OK: the same. */
	a.n = 0;
	ck_assert_int_eq(discovery_apply(&st, &SRV_RULES, &a, T0 + 2000 + EMPTY_AFTER, record,
					 NULL),
			 0);
	ck_assert_uint_eq(st.empty_answers, 3);
	discovery_state_free(&st);
}
END_TEST

static struct dns_target *many(size_t n, unsigned port_base)
{
	struct dns_target *t = calloc(n, sizeof(*t));

	ck_assert_ptr_nonnull(t);
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&t[i].addr.sa;
		/* Backwards, so the sort has work to do. */
		size_t k = n - 1 - i;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)(k / 60000));
		sin->sin_port = htons((uint16_t)(port_base + k % 60000));
		t[i].addr.salen = sizeof(*sin);
	}
	return t;
}

START_TEST(members_are_capped)
{
	struct discovery_state st = { 0 };
	size_t n = DISCOVERY_MAX_MEMBERS + 904;
	struct dns_target *t = many(n, 10000);
	struct dns_answer a = { DNS_OK, NULL, t, n, 60 };

	ck_assert_int_eq(discovery_apply(&st, &A_RULES, &a, T0, NULL, NULL), DISCOVERY_MAX_MEMBERS);
	ck_assert_uint_eq(st.n, DISCOVERY_MAX_MEMBERS);
	ck_assert_uint_eq(st.ignored, 904);
	/* The lowest identities in their order. */
	ck_assert_str_eq(st.members[0].identity, "10.0.0.0:10000");
	ck_assert_ptr_nonnull(discovery_find(&st, "10.0.0.0:14095"));
	ck_assert_ptr_null(discovery_find(&st, "10.0.0.0:14096"));
	/* The members in place keep it against a new, lower identity. */
	struct dns_target *more = calloc(n + 1, sizeof(*more));
	ck_assert_ptr_nonnull(more);
	memcpy(more, t, n * sizeof(*t));
	more[n] = target("", "1.0.0.0:80");
	a.targets = more;
	a.n = n + 1;
	ck_assert_int_eq(discovery_apply(&st, &A_RULES, &a, T0 + 1000, NULL, NULL), 0);
	ck_assert_uint_eq(st.ignored, 905);
	ck_assert_ptr_null(discovery_find(&st, "1.0.0.0:80"));
	/* A held member keeps its place until its hold ends, then the new
	 * identity takes it. */
	more[n - 1] = more[n]; /* in place of 10.0.0.0:10000 */
	ck_assert_int_eq(discovery_apply(&st, &A_RULES, &a, T0 + 2000, NULL, NULL), 0);
	ck_assert(discovery_find(&st, "10.0.0.0:10000")->missing);
	ck_assert_ptr_null(discovery_find(&st, "1.0.0.0:80"));
	ck_assert_int_eq(discovery_apply(&st, &A_RULES, &a, T0 + 2000 + HOLD, NULL, NULL), 2);
	ck_assert_ptr_null(discovery_find(&st, "10.0.0.0:10000"));
	ck_assert_ptr_nonnull(discovery_find(&st, "1.0.0.0:80"));
	ck_assert_uint_eq(st.n, DISCOVERY_MAX_MEMBERS);
	ck_assert_uint_eq(st.ignored, 904);
	free(more);
	free(t);
	discovery_state_free(&st);
}
END_TEST

/* A large answer is handled whole and fast: 10,000 targets, each twice
 * (one DNS message holds at most about 4,000 A records). */
START_TEST(large_answer)
{
	struct discovery_state st = { 0 };
	size_t n = 20000;
	struct dns_target *t = many(n / 2, 1);
	struct dns_target *both = calloc(n, sizeof(*both));

	ck_assert_ptr_nonnull(both);
	memcpy(both, t, n / 2 * sizeof(*t));
	memcpy(both + n / 2, t, n / 2 * sizeof(*t));
	struct dns_answer a = { DNS_OK, NULL, both, n, 60 };
	ck_assert_int_eq(discovery_apply(&st, &A_RULES, &a, T0, NULL, NULL), DISCOVERY_MAX_MEMBERS);
	ck_assert_uint_eq(st.ignored, n / 2 - DISCOVERY_MAX_MEMBERS);
	ck_assert_int_eq(discovery_apply(&st, &A_RULES, &a, T0 + 1000, NULL, NULL), 0);
	free(both);
	free(t);
	discovery_state_free(&st);
}
END_TEST

static void assert_same(const struct discovery_state *a, const struct discovery_state *b)
{
	ck_assert_uint_eq(a->n, b->n);
	ck_assert_mem_eq(a->members, b->members, a->n * sizeof(*a->members));
	ck_assert_int_eq(a->empty_run, b->empty_run);
	ck_assert_int_eq(a->stale, b->stale);
	ck_assert_uint_eq(a->ignored, b->ignored);
	ck_assert_uint_eq(a->invalid, b->invalid);
}

/* Out of memory at any allocation: the state is as before, the same
 * answer applies later. */
START_TEST(out_of_memory_changes_nothing)
{
	struct discovery_state st = { 0 }, copy;
	struct discovered saved[2];
	struct dns_target t[2] = { target("", "10.0.0.1:80"), target("", "10.0.0.3:80") };
	struct dns_answer a = { DNS_OK, NULL, t, 2, 60 };

	ANSWER_A(&st, T0, 2, "10.0.0.1:80", "10.0.0.2:80");
	status(&st, &A_RULES, DNS_FAILED, T0 + 500, 0);
	memcpy(saved, st.members, sizeof(saved));
	copy = st;
	copy.members = saved;
	for (int at = 1; at <= 2; at++) {
		fail_in = at;
		int r = discovery_apply(&st, &A_RULES, &a, T0 + 1000, NULL, NULL);
		ck_assert_int_eq(fail_in, 0);
		ck_assert_int_eq(r, -1);
		assert_same(&st, &copy);
	}
	changes[0] = '\0';
	ck_assert_int_eq(discovery_apply(&st, &A_RULES, &a, T0 + 1000, record, NULL), 1);
	ck_assert_str_eq(changes, "+10.0.0.3:80 ");
	ck_assert(!st.stale);
	/* A tick that cannot allocate removes nothing; the next one does. */
	fail_in = 1;
	int r = discovery_tick(&st, &A_RULES, T0 + 1000 + HOLD, NULL, NULL);
	ck_assert_int_eq(fail_in, 0);
	ck_assert_int_eq(r, -1);
	ck_assert_uint_eq(st.n, 3);
	ck_assert_str_eq(tick(&st, &A_RULES, T0 + 1000 + HOLD, 1), "-10.0.0.2:80 ");
	discovery_state_free(&st);
}
END_TEST

START_TEST(refresh_follows_refresh_and_ttl)
{
	for (uint64_t seed = 0; seed < 200; seed++) {
		uint64_t d = discovery_next_refresh_ms(5000, 30, false, seed);

		ck_assert_uint_eq(d, discovery_next_refresh_ms(5000, 30, false, seed));
		ck_assert_uint_ge(d, 4500);
		ck_assert_uint_le(d, 5000);
		/* A shorter A/AAAA TTL is honoured, */
		d = discovery_next_refresh_ms(5000, 2, false, seed);
		ck_assert_uint_ge(d, 1800);
		ck_assert_uint_le(d, 2000);
		/* never below a second, */
		ck_assert_uint_eq(discovery_next_refresh_ms(5000, 0, false, seed), 1000);
		ck_assert_uint_eq(discovery_next_refresh_ms(5000, 1, false, seed), 1000);
		ck_assert_uint_eq(discovery_next_refresh_ms(0, 30, false, seed), 1000);
		ck_assert_uint_eq(discovery_next_refresh_ms(500, 30, true, seed), 1000);
		/* not for SRV. */
		d = discovery_next_refresh_ms(5000, 1, true, seed);
		ck_assert_uint_ge(d, 4500);
		ck_assert_uint_le(d, 5000);
		d = discovery_next_refresh_ms(UINT64_MAX, UINT32_MAX, false, seed);
		ck_assert_uint_le(d, (uint64_t)UINT32_MAX * 1000);
		ck_assert_uint_ge(d, (uint64_t)UINT32_MAX * 900);
	}
}
END_TEST

/* The jitter spreads: seeds give many values over the whole tenth. */
START_TEST(refresh_jitter_spreads)
{
	unsigned low = 0, high = 0, distinct = 0;
	uint64_t last = 0;

	for (uint64_t seed = 0; seed < 1000; seed++) {
		uint64_t d = discovery_next_refresh_ms(10000, 0, true, seed);

		low += d < 9500;
		high += d >= 9500;
		distinct += d != last;
		last = d;
	}
	ck_assert_uint_gt(low, 400);
	ck_assert_uint_gt(high, 400);
	ck_assert_uint_gt(distinct, 900);
}
END_TEST

START_TEST(retry_backs_off)
{
	ck_assert_uint_eq(discovery_retry_ms(5000, 0, 7), 1000);
	ck_assert_uint_eq(discovery_retry_ms(5000, 1, 7), 1000);
	for (uint64_t seed = 0; seed < 100; seed++) {
		uint64_t d = discovery_retry_ms(5000, 2, seed);

		ck_assert_uint_ge(d, 1800);
		ck_assert_uint_le(d, 2000);
		d = discovery_retry_ms(5000, 3, seed);
		ck_assert_uint_ge(d, 3600);
		ck_assert_uint_le(d, 4000);
		for (unsigned f = 4; f < 100; f += 7) {
			d = discovery_retry_ms(5000, f, seed);
			ck_assert_uint_ge(d, 4500);
			ck_assert_uint_le(d, 5000);
		}
		d = discovery_retry_ms(UINT64_MAX, UINT32_MAX, seed);
		ck_assert_uint_ge(d, 1000);
		ck_assert_uint_eq(discovery_retry_ms(800, 5, seed), 1000);
	}
	ck_assert_uint_eq(discovery_retry_ms(5000, 3, 42), discovery_retry_ms(5000, 3, 42));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("discovery_members");
	TCase *tc = tcase_create("members");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, records_are_added_at_once);
	tcase_add_test(tc, srv_identity_is_the_target_and_port);
	tcase_add_test(tc, srv_target_moves);
	tcase_add_test(tc, srv_target_with_several_addresses);
	tcase_add_test(tc, static_name_keeps_its_server);
	tcase_add_test(tc, missing_member_is_held_then_removed);
	tcase_add_test(tc, hold_ends_at_an_answer);
	tcase_add_test(tc, member_back_within_its_hold_continues);
	tcase_add_test(tc, no_hold_removes_at_the_answer);
	tcase_add_test(tc, one_empty_answer_is_not_enough);
	tcase_add_test(tc, two_empty_answers_after_empty_after_empty_the_pool);
	tcase_add_test(tc, second_empty_answer_after_empty_after);
	tcase_add_test(tc, empty_answer_is_always_confirmed);
	tcase_add_test(tc, records_between_end_the_empty_run);
	tcase_add_test(tc, empty_answer_starts_no_hold);
	tcase_add_test(tc, failures_remove_nothing);
	tcase_add_test(tc, failures_leave_the_empty_run);
	tcase_add_test(tc, hold_ends_while_failing);
	tcase_add_test(tc, start_up);
	tcase_add_test(tc, duplicates_count_once);
	tcase_add_test(tc, unusable_targets);
	tcase_add_test(tc, members_are_capped);
	tcase_add_test(tc, large_answer);
	tcase_add_test(tc, out_of_memory_changes_nothing);
	tcase_add_test(tc, refresh_follows_refresh_and_ttl);
	tcase_add_test(tc, refresh_jitter_spreads);
	tcase_add_test(tc, retry_backs_off);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

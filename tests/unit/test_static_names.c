/* test_static_names.c — the file's servers written with a host name, at
 * the address their names resolve to now (daemon/static_names.h): the
 * entry each pool publishes, one copy per pool of a generation, copies
 * handed back once their pool publishes them no more, and records
 * forgotten when the file writes the address another way. */
#include <check.h>

#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "daemon/static_names.h"
#include "util/addr.h"

/* The copies handed back, freed here as the membership's burial would. */
static struct server_conf *retired[16];
static size_t nretired;

static void retire(void *arg, struct server_conf *copy)
{
	(void)arg;
	ck_assert_uint_lt(nretired, 16);
	retired[nretired++] = copy;
}

static void free_retired(void)
{
	for (size_t i = 0; i < nretired; i++) {
		free(retired[i]->name);
		free(retired[i]);
	}
	nretired = 0;
}

static struct lbd_addr numeric(const char *text)
{
	struct lbd_addr a;
	const char *why = NULL;

	ck_assert_msg(addr_parse(text, &a, &why) == 0, "%s: %s", text, why);
	return a;
}

/* A server written WRITTEN that the load resolved to LOADED (NULL: did
 * not resolve). */
static struct server_conf file_server(char *name, const char *written, const char *loaded)
{
	struct server_conf s = { .name = name, .weight = 3 };

	if (loaded)
		s.addr = numeric(loaded);
	else
		s.unresolved = true;
	snprintf(s.addr.text, sizeof(s.addr.text), "%s", written);
	return s;
}

START_TEST(entry_follows_the_name)
{
	struct static_names *sn = static_names_new();
	struct server_conf servers[] = { file_server("app", "app.test.:80", "10.0.0.1:80") };
	struct pool_conf p = { .name = "p", .servers = servers, .nservers = 1 };
	struct lbd_addr moved = numeric("10.0.0.2:80");

	ck_assert_ptr_eq(static_names_entry(sn, &p, &servers[0]), &servers[0]);
	ck_assert_ptr_eq(static_names_addr(sn, "p", &servers[0]), &servers[0].addr);
	ck_assert_int_eq(static_names_set(sn, "p", &servers[0], &moved), 0);
	struct server_conf *c = static_names_entry(sn, &p, &servers[0]);
	ck_assert_ptr_ne(c, &servers[0]);
	ck_assert_str_eq(c->name, "app");
	ck_assert_ptr_ne(c->name, servers[0].name);
	ck_assert_str_eq(c->addr.text, "app.test.:80"); /* as written */
	ck_assert(addr_equal(&c->addr, &moved));
	ck_assert_ptr_eq(c->file, &servers[0]);
	ck_assert_uint_eq(c->weight, 3);
	ck_assert_uint_eq(config_server_index(&p, c), 0);
	/* Published again: the same copy. */
	ck_assert_ptr_eq(static_names_entry(sn, &p, &servers[0]), c);
	static_names_published(sn, &p, &c, 1, retire, NULL);
	ck_assert_uint_eq(nretired, 0);
	/* It moves again: a new copy; the old one goes once P publishes the
	 * new one. */
	struct lbd_addr again = numeric("10.0.0.3:80");
	ck_assert_int_eq(static_names_set(sn, "p", &servers[0], &again), 0);
	struct server_conf *c2 = static_names_entry(sn, &p, &servers[0]);
	ck_assert_ptr_ne(c2, c);
	static_names_published(sn, &p, &c2, 1, retire, NULL);
	ck_assert_uint_eq(nretired, 1);
	ck_assert_ptr_eq(retired[0], c);
	free_retired();
	/* Back at the load's address: the file's own entry. */
	struct lbd_addr back = numeric("10.0.0.1:80");
	ck_assert_int_eq(static_names_set(sn, "p", &servers[0], &back), 0);
	struct server_conf *s = static_names_entry(sn, &p, &servers[0]);
	ck_assert_ptr_eq(s, &servers[0]);
	static_names_published(sn, &p, &s, 1, retire, NULL);
	ck_assert_uint_eq(nretired, 1);
	ck_assert_ptr_eq(retired[0], c2);
	free_retired();
	static_names_free(sn);
}
END_TEST

/* Unresolved at load: down until its name resolves, then a copy. */
START_TEST(unresolved_then_resolved)
{
	struct static_names *sn = static_names_new();
	struct server_conf servers[] = { file_server("late", "late.test.:80", NULL) };
	struct pool_conf p = { .name = "p", .servers = servers, .nservers = 1 };
	struct lbd_addr addr = numeric("10.0.0.9:80");

	ck_assert_ptr_null(static_names_addr(sn, "p", &servers[0]));
	ck_assert_ptr_eq(static_names_entry(sn, &p, &servers[0]), &servers[0]);
	ck_assert_int_eq(static_names_set(sn, "p", &servers[0], &addr), 0);
	ck_assert(addr_equal(static_names_addr(sn, "p", &servers[0]), &addr));
	struct server_conf *c = static_names_entry(sn, &p, &servers[0]);
	ck_assert_ptr_ne(c, &servers[0]);
	ck_assert(!c->unresolved);
	ck_assert(addr_equal(&c->addr, &addr));
	static_names_free(sn); /* frees the copy it still holds */
}
END_TEST

/* Two generations: each pool its own copy (its own file entry); a pool
 * that will never be read again gives its copies back, the other keeps
 * its own; a file that writes the address another way forgets it. */
START_TEST(copies_per_generation)
{
	struct static_names *sn = static_names_new();
	struct server_conf old_servers[] = { file_server("app", "app.test.:80", "10.0.0.1:80") };
	struct server_conf new_servers[] = { file_server("b", "b.test.:81", "10.0.0.5:81"),
					     file_server("app", "app.test.:80", "10.0.0.1:80") };
	struct pool_conf old_p = { .name = "p", .servers = old_servers, .nservers = 1 };
	struct pool_conf new_p = { .name = "p", .servers = new_servers, .nservers = 2 };
	struct lbd_addr moved = numeric("10.0.0.2:80");

	ck_assert_int_eq(static_names_set(sn, "p", &old_servers[0], &moved), 0);
	struct server_conf *co = static_names_entry(sn, &old_p, &old_servers[0]);
	struct server_conf *cn = static_names_entry(sn, &new_p, &new_servers[1]);
	ck_assert_ptr_ne(co, cn);
	ck_assert_ptr_eq(cn->file, &new_servers[1]);
	ck_assert_uint_eq(config_server_index(&new_p, cn), 1);
	static_names_published(sn, &old_p, NULL, 0, retire, NULL);
	ck_assert_uint_eq(nretired, 1);
	ck_assert_ptr_eq(retired[0], co);
	free_retired();
	/* The file keeps the address as written: the record and copy stay. */
	struct config cfg = { .pools = &new_p, .npools = 1 };
	static_names_keep(sn, &cfg, retire, NULL);
	ck_assert_uint_eq(nretired, 0);
	ck_assert_ptr_eq(static_names_entry(sn, &new_p, &new_servers[1]), cn);
	/* Written another way: forgotten, its copy given back. */
	struct server_conf renamed[] = { file_server("app", "app2.test.:80", "10.0.0.7:80") };
	struct pool_conf next_p = { .name = "p", .servers = renamed, .nservers = 1 };
	struct config next = { .pools = &next_p, .npools = 1 };
	static_names_keep(sn, &next, retire, NULL);
	ck_assert_uint_eq(nretired, 1);
	ck_assert_ptr_eq(retired[0], cn);
	free_retired();
	ck_assert_ptr_eq(static_names_entry(sn, &next_p, &renamed[0]), &renamed[0]);
	ck_assert(addr_equal(static_names_addr(sn, "p", &renamed[0]), &renamed[0].addr));
	static_names_free(sn);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("static_names");
	TCase *tc = tcase_create("static_names");

	tcase_add_test(tc, entry_follows_the_name);
	tcase_add_test(tc, unresolved_then_resolved);
	tcase_add_test(tc, copies_per_generation);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

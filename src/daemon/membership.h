/* membership.h — servers that come and go without a reload: those the
 * admin API adds (origin api) and those discovery finds (origin dns), each
 * origin the single owner of its members; and the file's servers whose
 * names discovery follows, at the address they resolve to now. They are published
 * into the newest generation's pools after the file's servers
 * (struct pool_members), kept across reloads by pool and name, and a
 * removed one drains: no new request, and its entry goes once its last
 * request has ended (membership.c).
 */
#ifndef LBD_MEMBERSHIP_H
#define LBD_MEMBERSHIP_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct daemon;
struct membership;
struct discovery_ops;

enum member_result {
	MEMBER_OK,
	MEMBER_NO_POOL,   /* 404 */
	MEMBER_NOT_FOUND, /* 404 */
	MEMBER_EXISTS,    /* 409: the name is taken in the pool */
	MEMBER_NOT_OWNER, /* 409: the file's (or discovery's) server */
	MEMBER_BAD,       /* 400: WHY names the field */
	MEMBER_FAILED,    /* 500: out of memory, or the state file could not be written */
};

/* What the admin API asks for; a NULL or negative field is unset. */
struct member_spec {
	const char *name;
	const char *address; /* numeric: "10.1.2.3:8080", "[2001:db8::1]:80", "unix:/p" */
	int weight;          /* 0 .. CONFIG_WEIGHT_MAX */
	int backup;          /* 0 or 1 */
};

struct membership *membership_new(struct daemon *d);
void membership_free(struct membership *ms);

/* CFG is the newest generation, or one being adopted: its pools get their
 * runtime members (a name CFG's file has is the file's server there). With
 * OLD, CFG now serves in OLD's place: OLD keeps only its file's servers, so
 * that no old generation points at a member after it is gone, and a member
 * whose name the file now has, or whose pool is gone, goes. Returns 0, or
 * -1 out of memory. */
int membership_apply(struct membership *ms, struct config *cfg, struct config *old);

/* CFG, given to membership_apply() without OLD, will never serve (its
 * reload is rejected): what was made for its pools alone goes. */
void membership_forget(struct membership *ms, const struct config *cfg);

/* The admin API's calls; WHY gets a sentence for the answer. */
enum member_result membership_add(struct membership *ms, const char *pool,
				  const struct member_spec *spec, char *why, size_t len);
enum member_result membership_set(struct membership *ms, const char *pool,
				  const struct member_spec *spec, char *why, size_t len);
enum member_result membership_remove(struct membership *ms, const char *pool, const char *name,
				     char *why, size_t len);

/* global.state_file: the members the admin API added, read at start-up
 * (a file that does not exist yet is none; one that cannot be read is an
 * error in ERR, and lbd does not start) and written after every change,
 * atomically. */
int membership_load(struct membership *ms, const char *path, char *err, size_t errlen);

/* The N entries E (a state file's, or what a binary upgrade carried over,
 * SOURCE naming which for the log and ERR) become members, as
 * membership_load() makes them. Returns 0, or -1 with ERR set. */
struct state_entry;
int membership_adopt(struct membership *ms, const struct state_entry *e, size_t n,
		     const char *source, char *err, size_t errlen);

/* The members the admin API added, as entries of a state file (*N of
 * them; the array is the caller's to free, its strings the members').
 * NULL when out of memory. */
struct state_entry *membership_export(struct membership *ms, size_t *n);

/* What discovery (discovery/discovery.h) calls, with the membership as its
 * argument: servers found (origin dns), moved, or gone from the answers
 * (they drain), and servers of the file whose names resolve elsewhere
 * (they stay the file's). A name the file or the admin API has keeps its
 * owner. */
extern const struct discovery_ops membership_discovery_ops;

#endif

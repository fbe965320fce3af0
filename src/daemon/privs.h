/* privs.h — dropping root privileges to global.user / global.group once
 * every socket is bound.
 */
#ifndef LBD_PRIVS_H
#define LBD_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config/config.h"

struct privs {
	bool change;      /* false: nothing configured or nothing to do */
	const char *user; /* NULL: keep the user, change the group only */
	uid_t uid;
	gid_t gid;
};

/* Resolve G's user and group. Fails (-1, ERR set) when they do not exist or
 * lbd is not root but would have to change identity. */
int privs_lookup(const struct global_conf *g, struct privs *p, char *err, size_t errlen);

/* Switch to P's identity for good: supplementary groups, group, user.
 * Returns 0, or -1 with ERR set. */
int privs_drop(const struct privs *p, char *err, size_t errlen);

#endif

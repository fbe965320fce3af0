/* privs.c — resolving and switching to the configured user and group. The
 * switch is for good (setuid as root changes every uid), so that nothing in
 * the process can regain root. Listening sockets stay open across it. */
#include "daemon/privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int privs_lookup(const struct global_conf *g, struct privs *p, char *err, size_t errlen)
{
	*p = (struct privs){ 0 };
	if (!g->user && !g->group)
		return 0;
	if (g->user) {
		struct passwd *pw = getpwnam(g->user);
		if (!pw) {
			snprintf(err, errlen, "global.user: no user named \"%s\"", g->user);
			return -1;
		}
		p->user = g->user;
		p->uid = pw->pw_uid;
		p->gid = pw->pw_gid;
	} else {
		p->uid = getuid();
	}
	if (g->group) {
		struct group *gr = getgrnam(g->group);
		if (!gr) {
			snprintf(err, errlen, "global.group: no group named \"%s\"", g->group);
			return -1;
		}
		p->gid = gr->gr_gid;
	} else if (!g->user) {
		p->gid = getgid();
	}
	if (p->uid == geteuid() && p->uid == getuid() && p->gid == getegid() && p->gid == getgid())
		return 0; /* already there, e.g. systemd's User= */
	if (geteuid() != 0) {
		snprintf(err, errlen, "cannot switch to %s %s: lbd runs as uid %u, not as root",
			 g->user ? "user" : "group", g->user ? g->user : g->group,
			 (unsigned)geteuid());
		return -1;
	}
	p->change = true;
	return 0;
}

int privs_drop(const struct privs *p, char *err, size_t errlen)
{
	if (!p->change)
		return 0;
	if ((p->user ? initgroups(p->user, p->gid) : setgroups(1, &p->gid)) < 0) {
		snprintf(err, errlen, "setting supplementary groups: %s", strerror(errno));
		return -1;
	}
	if (setgid(p->gid) < 0) {
		snprintf(err, errlen, "setgid(%u): %s", (unsigned)p->gid, strerror(errno));
		return -1;
	}
	if (p->user && setuid(p->uid) < 0) {
		snprintf(err, errlen, "setuid(%u): %s", (unsigned)p->uid, strerror(errno));
		return -1;
	}
	/* Make sure the way back is closed. */
	if (p->user && p->uid != 0 && setuid(0) == 0) {
		snprintf(err, errlen, "could regain root after dropping privileges");
		return -1;
	}
	return 0;
}

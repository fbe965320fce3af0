/* binds.h — the listening sockets of a configuration, kept across reloads.
 *
 * A reload reuses the socket of every bind address that stays (so no SYN is
 * ever refused during a reload), opens the new ones, and leaves the ones
 * the new configuration no longer names to be closed once the workers have
 * let go of them. TCP binds get one SO_REUSEPORT socket per worker, which
 * that worker owns and closes; a unix: bind is one socket shared by all
 * workers, owned here.
 */
#ifndef LBD_BINDS_H
#define LBD_BINDS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/addr.h"

struct config;

struct bind_socket {
	struct lbd_addr addr;
	bool per_worker;
	int *fds;              /* nworkers sockets, or fds[0] when shared */
	size_t listener_index; /* in the configuration the table was built for */
};

struct bind_table {
	struct bind_socket *items;
	size_t n;
	unsigned nworkers;
};

/* What one worker polls, and whether it closes the socket itself. */
struct listen_spec {
	int fd;
	bool owns_fd;
	size_t listener_index;
};

/* Build NEW for CFG, taking from OLD every socket whose address stays and
 * opening the others. On success OLD keeps only what CFG no longer binds.
 * On failure nothing changes (what was opened is closed again) and ERR
 * names the bind. Returns 0 or -1. */
int binds_update(struct bind_table *old, struct bind_table *new, const struct config *cfg,
		 unsigned nworkers, char *err, size_t errlen);

/* The sockets worker W polls. *SPECS is allocated; the caller frees it. */
int binds_specs(const struct bind_table *t, unsigned w, struct listen_spec **specs, size_t *n);

/* Close the sockets this table owns (the shared ones) and free it; the
 * per-worker ones are their workers' to close. */
void binds_release(struct bind_table *t);

#endif

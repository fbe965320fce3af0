/* binds.h — the listening sockets of a configuration, kept across reloads.
 *
 * A reload reuses the socket of every bind address that stays (so no SYN is
 * ever refused during a reload), opens the new ones, and leaves the ones
 * the new configuration no longer names to be closed once the workers have
 * let go of them. TCP binds get one SO_REUSEPORT socket per worker, which
 * that worker owns and closes; a unix: bind is one socket shared by all
 * workers, owned here.
 *
 * A TCP bind of a listener without share_port also holds its bind lock
 * (bind_lock.h) for exactly as long as the table holds the address: kept
 * with the socket across reloads, taken when a reload adds the address
 * (a reload that cannot take it is rejected), released with the socket.
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
	int lock_fd;           /* the address's bind lock, or -1 (share_port, unix:) */
	size_t listener_index; /* in the configuration the table was built for */
};

struct bind_table {
	struct bind_socket *items;
	size_t n;
	unsigned nworkers;
	/* The sockets went to a new lbd (a binary upgrade): their unix:
	 * socket files are its own now, not to be removed here. */
	bool keep_files;
};

/* What one worker polls, and whether it closes the socket itself. */
struct listen_spec {
	int fd;
	bool owns_fd;
	size_t listener_index;
};

/* Build NEW for CFG, taking from OLD (the previous generation's, or after
 * an upgrade those the old lbd handed over) every socket whose address stays and
 * opening the others, with their bind locks. On success OLD keeps only
 * what CFG no longer binds. On failure nothing changes (what was opened or
 * locked is closed again) and ERR names the bind. Returns 0 or -1. */
int binds_update(struct bind_table *old, struct bind_table *new, const struct config *cfg,
		 unsigned nworkers, char *err, size_t errlen);

/* The sockets worker W polls. *SPECS is allocated; the caller frees it. */
int binds_specs(const struct bind_table *t, unsigned w, struct listen_spec **specs, size_t *n);

/* Close the sockets this table owns (the shared ones) and the bind locks,
 * and free it; the per-worker sockets are their workers' to close (the
 * table is released once they have). */
void binds_release(struct bind_table *t);

#endif

/* admin.h — the admin API: HTTP/1.1 with JSON bodies on the admin UNIX
 * socket (global.admin.socket) and the optional TCP admin listener
 * (global.admin.listen), served on the main thread's event loop.
 */
#ifndef LBD_ADMIN_H
#define LBD_ADMIN_H

#include <stddef.h>
#include <sys/types.h>

#include "util/addr.h"

struct config;
struct daemon;
struct admin;

struct handover_inherit;

/* Bind the admin sockets named by CFG and serve them on D's event loop. A
 * stale socket file nobody listens on is removed first; the socket file
 * gets mode 0660. After an upgrade, IN (else NULL) holds the old process's
 * admin sockets: one whose address CFG still names is served as it is (and
 * taken out of IN) instead of being bound again. Returns NULL with ERR set
 * when a socket cannot be bound. */
struct admin *admin_start(struct daemon *d, const struct config *cfg, struct handover_inherit *in,
			  char *err, size_t errlen);

/* For an upgrade: the listening socket of each admin port, by enum
 * handover_socket_kind (-1: none), and its address. The descriptors stay
 * the admin's. */
void admin_sockets(const struct admin *a, int fd[], const struct lbd_addr *addr[]);

/* After an upgrade handed the sockets over: stop accepting on them, and
 * leave the socket file to the new process. Connections already accepted
 * get their answers. */
void admin_retire(struct admin *a);

/* Give the socket file to GID (before privileges are dropped, so that the
 * daemon's group may use it). Returns 0, or -1 with ERR set. */
int admin_chown(struct admin *a, gid_t gid, char *err, size_t errlen);

/* Stop serving, close the sockets and remove the socket file. NULL is
 * fine. */
void admin_free(struct admin *a);

#endif

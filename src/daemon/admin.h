/* admin.h — the admin API: HTTP/1.1 with JSON bodies on the admin UNIX
 * socket (global.admin.socket) and the optional TCP admin listener
 * (global.admin.listen), served on the main thread's event loop.
 */
#ifndef LBD_ADMIN_H
#define LBD_ADMIN_H

#include <stddef.h>
#include <sys/types.h>

struct config;
struct daemon;
struct admin;

/* Bind the admin sockets named by CFG and serve them on D's event loop. A
 * stale socket file nobody listens on is removed first; the socket file
 * gets mode 0660. Returns NULL with ERR set when a socket cannot be bound. */
struct admin *admin_start(struct daemon *d, const struct config *cfg, char *err, size_t errlen);

/* Give the socket file to GID (before privileges are dropped, so that the
 * daemon's group may use it). Returns 0, or -1 with ERR set. */
int admin_chown(struct admin *a, gid_t gid, char *err, size_t errlen);

/* Stop serving, close the sockets and remove the socket file. NULL is
 * fine. */
void admin_free(struct admin *a);

#endif

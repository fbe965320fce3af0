/* bind_lock.h — one lbd per TCP bind address, unless both say share_port.
 *
 * Listening sockets are opened with SO_REUSEPORT (one per worker), so the
 * kernel would let a second lbd of the same user bind the same address and
 * silently take half its connections. A listener without share_port: true
 * therefore holds a lock for each of its TCP addresses: an abstract UNIX
 * socket named after the address ("@lbd-bind:127.0.0.1:8080"). Abstract
 * names live in the network namespace, like ports, and vanish with the last
 * descriptor of the socket, so a crashed lbd leaves no stale lock; a second
 * lbd that finds the name taken connects to it and learns the holder's pid
 * (SO_PEERCRED) for its error message.
 *
 * The lock is a descriptor like the listening sockets: a binary upgrade
 * that passes the listening sockets to the new process (SCM_RIGHTS) passes
 * each lock descriptor beside its socket, and the new process keeps the
 * name bound without ever releasing it. Nothing else has to move.
 */
#ifndef LBD_BIND_LOCK_H
#define LBD_BIND_LOCK_H

#include <stddef.h>

#include "util/addr.h"

/* Take the lock of ADDR (a TCP address). Returns its descriptor, or -1
 * with a sentence naming the address and the holder in ERR. */
int bind_lock_take(const struct lbd_addr *addr, const char *listener, char *err, size_t errlen);

/* For a share_port listener: 0 when no lbd holds ADDR exclusively, else -1
 * with the sentence in ERR. */
int bind_lock_check_shared(const struct lbd_addr *addr, const char *listener, char *err,
			   size_t errlen);

/* Whether anything listens on ADDR's port and address (a wildcard bind
 * included) in a way that SO_REUSEPORT would share: a socket bound without
 * SO_REUSEPORT meets every such listener. Returns 0 when nothing does, -1
 * with the sentence in ERR. */
int bind_probe_unused(const struct lbd_addr *addr, const char *listener, char *err, size_t errlen);

#endif

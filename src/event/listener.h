/* listener.h — opening listening sockets for the configured binds.
 *
 * Each worker thread gets its own socket per TCP bind (SO_REUSEPORT), so
 * the kernel spreads new connections over the threads and no thread wakes
 * for another's connection. A UNIX-socket bind cannot be shared that way:
 * it is opened once and every worker polls the same descriptor.
 */
#ifndef LBD_LISTENER_H
#define LBD_LISTENER_H

#include <stdbool.h>
#include <stddef.h>

#include "util/addr.h"

#define LISTEN_BACKLOG 4096

/* Returns a non-blocking listening descriptor, or -1 with a sentence
 * naming the address and the reason in ERR. */
int listener_open(const struct lbd_addr *addr, bool reuseport, char *err, size_t errlen);

/* True when ADDR's kind of socket can be opened once per worker. */
bool listener_can_reuseport(const struct lbd_addr *addr);

#endif

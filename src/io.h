/* io.h — speculative writes on bufferevents.
 *
 * libevent's socket bufferevent writes on the next loop iteration: it adds
 * write interest when data is queued and removes it once the buffer is
 * empty, two epoll_ctl() calls per response on each side. lbd keeps write
 * interest off while a connection keeps up, writes queued bytes at once
 * (as HAProxy does), and lets libevent take over only when the socket is
 * full: io_flush() after queueing, io_written() in the write callback.
 */
#ifndef LBD_IO_H
#define LBD_IO_H

#include <stdbool.h>

struct bufferevent;

/* Write what BEV's output holds now; what the socket does not take is
 * left to libevent (write interest on). Returns true when all is out. */
bool io_flush(struct bufferevent *bev);

/* From the write callback: turn write interest off again once the output
 * is empty. Returns true when it is. */
bool io_written(struct bufferevent *bev);

#endif

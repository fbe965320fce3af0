/* proxy.h — what the worker loop calls into the proxy modules for. */
#ifndef LBD_PROXY_H
#define LBD_PROXY_H

#include <stddef.h>
#include <sys/socket.h>

struct worker;

/* Take over the accepted descriptor FD of listener LISTENER_INDEX (HTTP or
 * TCP). Returns 0, or -1 when the caller must close FD. */
int proxy_accept(struct worker *w, size_t listener_index, int fd,
		 const struct sockaddr *peer, socklen_t peer_len);

/* Close every idle pooled server connection of W. */
void upstream_close_idle(struct worker *w);

/* Close W's idle pooled connections to servers that can no longer take
 * requests (down by health, drained, disabled), once after each time a
 * server went down (health_down_epoch()). Cheap when nothing changed. */
void upstream_close_unavailable(struct worker *w);

#endif

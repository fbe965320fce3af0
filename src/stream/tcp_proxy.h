/* tcp_proxy.h — listeners with protocol: tcp: each client connection is
 * relayed byte for byte to one server of the listener's pool. */
#ifndef LBD_TCP_PROXY_H
#define LBD_TCP_PROXY_H

#include <stddef.h>
#include <sys/socket.h>

struct worker;

int tcp_proxy_accept(struct worker *w, size_t listener_index, int fd,
		     const struct sockaddr *peer);

#endif

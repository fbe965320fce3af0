/* tcp_proxy.h — listeners with protocol: tcp: each client connection is
 * relayed byte for byte to one server of the listener's pool. */
#ifndef LBD_TCP_PROXY_H
#define LBD_TCP_PROXY_H

#include "event/worker.h"

/* What the daemon hands to each worker for listeners with protocol: tcp. */
extern const struct worker_protocol tcp_protocol;

#endif

/* http.h — the HTTP/1 protocol as a worker runs it (http_worker.c): what
 * the daemon hands to each worker for listeners with protocol: http. */
#ifndef LBD_HTTP_H
#define LBD_HTTP_H

#include "event/worker.h"

extern const struct worker_protocol http_protocol;

#endif

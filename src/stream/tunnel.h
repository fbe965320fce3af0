/* tunnel.h — two connections joined byte for byte: TCP listeners, and HTTP
 * connections after a successful Upgrade (WebSocket).
 *
 * Bytes are relayed with bounded buffers both ways (a slow reader stops the
 * other side from being read). When one side finishes sending (EOF), the
 * other is shut down for writing once everything was delivered, so
 * half-closed protocols keep working; the tunnel ends when both directions
 * are done, on an error, or after timeouts.tunnel without any traffic.
 */
#ifndef LBD_TUNNEL_H
#define LBD_TUNNEL_H

#include <stdint.h>

struct bufferevent;
struct worker;

/* Called once when the tunnel ends, before it is freed. BYTES[0] were
 * received from side A, BYTES[1] from side B. */
typedef void (*tunnel_done_fn)(void *arg, const uint64_t bytes[2]);

/* Join A (the client side) and B (the server side). The tunnel owns both
 * bufferevents from now on, and any bytes already in their input buffers
 * are relayed first. It registers itself with W as a client connection
 * (the caller then unregisters the connection it replaces). Returns
 * 0, or -1 (out of memory) after freeing both bufferevents. */
int tunnel_start(struct worker *w, struct bufferevent *a, struct bufferevent *b, uint64_t idle_ms,
		 tunnel_done_fn done, void *arg);

#endif

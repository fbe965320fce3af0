/* proxy_protocol.h — the PROXY protocol header (HAProxy's spec, versions 1
 * and 2) that an L4 balancer in front of lbd sends first on a connection to
 * tell the client's real address. A pure parser: the caller feeds it the
 * bytes received so far and learns whether the header is complete, broken,
 * or needs more.
 */
#ifndef LBD_PROXY_PROTOCOL_H
#define LBD_PROXY_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* A v1 header is at most 107 bytes; lbd accepts v2 headers (with their
 * TLVs, which it skips) up to this size and refuses longer ones. */
#define PP_V1_MAX 107
#define PP_MAX 1024

enum pp_status {
	PP_BAD = -1, /* not a PROXY header, or a broken one: close */
	PP_MORE = 0, /* a valid beginning: wait for more bytes */
	PP_DONE = 1, /* complete: *CONSUMED bytes are the header */
};

struct pp_result {
	/* False for v1 UNKNOWN, v2 LOCAL and address families other than
	 * TCP/UDP over IPv4 and IPv6: the connection's own peer stays the
	 * client address. */
	bool has_addr;
	struct sockaddr_storage src;
	socklen_t srclen;
};

/* Parse the start of a connection's bytes BUF (LEN of them). */
enum pp_status pp_parse(const void *buf, size_t len, struct pp_result *out, size_t *consumed);

#endif

/* proxy_protocol.h — the PROXY protocol header (HAProxy's spec, versions 1
 * and 2) that an L4 balancer in front of lbd sends first on a connection to
 * tell the client's real address. A pure parser: the caller feeds it the
 * bytes received so far and learns whether the header is complete, broken,
 * or needs more.
 *
 * lbd also sends it (pools[].send_proxy): pp_encode() writes the header a
 * connection to a server starts with, naming the client lbd relays.
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

/* Room for the longest header pp_encode() writes: v1's bound (107 bytes)
 * is above v2's 52 (IPv6, no TLV). */
#define PP_ENCODED_MAX PP_V1_MAX

/* Write into OUT the header of VERSION (1 or 2) for a connection relayed
 * from client SRC to DST, the address it reached lbd on. SRC NULL: a
 * connection lbd makes for itself (a health check): v2 says LOCAL, v1
 * UNKNOWN. A client of another family than IPv4 or IPv6 (a unix socket)
 * is sent as v2 PROXY with an unspecified family, v1 UNKNOWN, which tell
 * the server to use the connection's own addresses. An IPv4 address beside
 * an IPv6 one is sent as IPv4-mapped IPv6. Returns the header's length. */
size_t pp_encode(int version, const struct sockaddr *src, const struct sockaddr *dst,
		 unsigned char out[PP_ENCODED_MAX]);

/* Parse the start of a connection's bytes BUF (LEN of them). */
enum pp_status pp_parse(const void *buf, size_t len, struct pp_result *out, size_t *consumed);

#endif

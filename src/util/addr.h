/* addr.h — listener and server addresses: "HOST:PORT", "[IPv6]:PORT",
 * "*:PORT" (all IPv4 addresses) and "unix:/path".
 *
 * HOST may be a name; it is resolved when the configuration is loaded,
 * never on the request path (discovery follows it afterwards).
 */
#ifndef LBD_UTIL_ADDR_H
#define LBD_UTIL_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* "unix:" + sun_path (108) + NUL, or "[IPv6%scope]:65535". */
#define ADDR_TEXT_MAX 128

struct lbd_addr {
	struct sockaddr_storage sa;
	socklen_t salen;
	char text[ADDR_TEXT_MAX]; /* as written in the configuration */
};

/* The reason addr_parse() gives for a well-formed host name that does not
 * resolve (the caller may keep such an address as unresolved). */
extern const char ADDR_WHY_UNRESOLVED[];

/* Parse S into OUT. Returns 0, or -1 with *WHY set to a static sentence
 * saying what was expected ("a port from 1 to 65535", ...). */
int addr_parse(const char *s, struct lbd_addr *out, const char **why);

/* True when S ("HOST:PORT", "[IPv6]:PORT" or "unix:/path") names no host
 * to resolve: a unix path, or an IPv4 or IPv6 address before the port. For
 * the addresses that must never wait for DNS (name servers, servers added
 * at run time); the port and the rest are left to addr_parse(). */
bool addr_is_numeric(const char *s);

/* The host name and port of S when S is "HOST:PORT" with a name as HOST
 * (not an IP address, "*" or a unix: path): a server whose address follows
 * DNS after the load. False otherwise, or when HOST does not fit in LEN. */
bool addr_host_name(const char *s, char *host, size_t len, unsigned *port);

/* True when A and B name the same socket address (family, address, port or
 * path); the text form is ignored. */
bool addr_equal(const struct lbd_addr *a, const struct lbd_addr *b);

/* Write the numeric form of SA ("192.0.2.1", "2001:db8::1", "unix") into
 * BUF, without the port. For X-Forwarded-For and the access log. */
void addr_host_text(const struct sockaddr *sa, char *buf, size_t len);

/* Write A's socket address as numbers, with its port ("192.0.2.1:80",
 * "[2001:db8::1]:443"), whatever its text says; a unix: address as its
 * text. */
void addr_numeric_text(const struct lbd_addr *a, char *buf, size_t len);

#endif

/* addr.c — parsing and comparing listener and server addresses.
 *
 * Numeric forms never touch the resolver. A host name is looked up here,
 * when the file is loaded, with getaddrinfo(); the first result wins, as
 * with nginx's "server" directive when only one address is wanted (a
 * server's name is then followed by discovery, on the main loop).
 */
#include "util/addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

static const char WHY_FORM[] = "HOST:PORT, [IPv6]:PORT or unix:/path";
static const char WHY_PORT[] = "a port from 1 to 65535";
static const char WHY_UNIX[] = "a unix socket path of 1 to 107 bytes after \"unix:\"";
static const char WHY_IPV6[] = "a numeric IPv6 address in brackets, as in [::1]:80";
static const char WHY_IPV4[] = "an IPv4 address such as 192.0.2.1";
static const char WHY_HOST[] = "a host name, an IPv4 address or an [IPv6] address before the port";
const char ADDR_WHY_UNRESOLVED[] = "a host name that resolves";
#define WHY_RESOLVE ADDR_WHY_UNRESOLVED
static const char WHY_LONG[] = "an address of at most 127 characters";

/* Port text: 1 to 5 digits, value 1..65535. */
static int parse_port(const char *s, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (i == 0 || v < 1 || v > 65535)
		return -1;
	*out = v;
	return 0;
}

static int parse_unix(const char *path, struct lbd_addr *out, const char **why)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->sa;
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(sun->sun_path)) {
		*why = WHY_UNIX;
		return -1;
	}
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n + 1);
	out->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

/* getaddrinfo() with FLAGS; copies the first result into OUT. */
static int lookup(const char *host, const char *port, int family, int flags, struct lbd_addr *out)
{
	struct addrinfo hints, *res = NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = flags | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
		return -1;
	if (res->ai_addrlen > sizeof(out->sa)) {
		freeaddrinfo(res);
		return -1;
	}
	memcpy(&out->sa, res->ai_addr, res->ai_addrlen);
	out->salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void set_inet(struct lbd_addr *out, const struct in_addr *ip, unsigned port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->sa;

	sin->sin_family = AF_INET;
	sin->sin_addr = *ip;
	sin->sin_port = htons((uint16_t)port);
	out->salen = sizeof(*sin);
}

static int parse_ipv6(const char *host, const char *port, struct lbd_addr *out, const char **why)
{
	if (lookup(host, port, AF_INET6, AI_NUMERICHOST, out) != 0) {
		*why = WHY_IPV6;
		return -1;
	}
	return 0;
}

static bool is_host_name(const char *s)
{
	if (!*s || *s == '.' || *s == '-')
		return false;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			return false;
	}
	return true;
}

static bool is_dotted_digits(const char *s)
{
	return strspn(s, "0123456789.") == strlen(s);
}

static int parse_host(const char *host, const char *port, unsigned portnum, struct lbd_addr *out,
		      const char **why)
{
	struct in_addr ip;

	if (strcmp(host, "*") == 0) {
		ip.s_addr = htonl(INADDR_ANY);
		set_inet(out, &ip, portnum);
		return 0;
	}
	if (inet_pton(AF_INET, host, &ip) == 1) {
		set_inet(out, &ip, portnum);
		return 0;
	}
	if (strchr(host, ':')) {
		*why = WHY_IPV6;
		return -1;
	}
	if (!is_host_name(host)) {
		*why = WHY_HOST;
		return -1;
	}
	/* Shorthand IPv4 ("127.1", "0x7f.0.0.1") is accepted by the resolver
	 * but surprises readers: insist on the dotted quad. */
	if (is_dotted_digits(host) || lookup(host, port, AF_INET, AI_NUMERICHOST, out) == 0) {
		*why = WHY_IPV4;
		return -1;
	}
	if (lookup(host, port, AF_UNSPEC, 0, out) != 0) {
		*why = WHY_RESOLVE;
		return -1;
	}
	return 0;
}

bool addr_is_numeric(const char *s)
{
	char host[ADDR_TEXT_MAX];
	unsigned char buf[sizeof(struct in6_addr)];
	const char *colon = strrchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : 0;

	if (strncmp(s, "unix:", 5) == 0)
		return true;
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (!colon || n >= sizeof(host))
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

bool addr_host_name(const char *s, char *host, size_t len, unsigned *port)
{
	const char *colon = strrchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : 0;

	if (addr_is_numeric(s) || !colon || n == 0 || n >= len || s[0] == '[')
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	return strcmp(host, "*") != 0 && is_host_name(host) && !is_dotted_digits(host) &&
	       parse_port(colon + 1, port) == 0;
}

int addr_parse(const char *s, struct lbd_addr *out, const char **why)
{
	char buf[ADDR_TEXT_MAX];
	char *host, *port;
	unsigned portnum;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!s || !*s) {
		*why = WHY_FORM;
		return -1;
	}
	n = strlen(s);
	if (strncmp(s, "unix:", 5) == 0) {
		if (parse_unix(s + 5, out, why) != 0)
			return -1;
		memcpy(out->text, s, n + 1); /* fits: sun_path is shorter */
		return 0;
	}
	if (n >= sizeof(buf)) {
		*why = WHY_LONG;
		return -1;
	}
	memcpy(out->text, s, n + 1);

	memcpy(buf, s, n + 1);
	port = strrchr(buf, ':');
	if (!port) {
		*why = WHY_FORM;
		return -1;
	}
	*port++ = '\0';
	host = buf;
	if (parse_port(port, &portnum) != 0) {
		*why = WHY_PORT;
		return -1;
	}
	if (*host == '[') {
		size_t hl = strlen(host);
		if (hl < 3 || host[hl - 1] != ']') {
			*why = WHY_IPV6;
			return -1;
		}
		host[hl - 1] = '\0';
		return parse_ipv6(host + 1, port, out, why);
	}
	if (!*host) {
		*why = WHY_HOST;
		return -1;
	}
	return parse_host(host, port, portnum, out, why);
}

bool addr_equal(const struct lbd_addr *a, const struct lbd_addr *b)
{
	int fam = a->sa.ss_family;

	if (fam != b->sa.ss_family)
		return false;
	if (fam == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->sa, *y = (const void *)&b->sa;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (fam == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->sa, *y = (const void *)&b->sa;
		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	if (fam == AF_UNIX) {
		const struct sockaddr_un *x = (const void *)&a->sa, *y = (const void *)&b->sa;
		return strncmp(x->sun_path, y->sun_path, sizeof(x->sun_path)) == 0;
	}
	return false;
}

/* Dotted quad of A into BUF (INET_ADDRSTRLEN bytes): every connection's
 * peer address is written once at accept, and glibc's inet_ntop() goes
 * through sprintf() for each byte, some 1,700 instructions a connection
 * against about a hundred here. */
static void ipv4_text(const struct in_addr *a, char *buf)
{
	const unsigned char *b = (const unsigned char *)&a->s_addr;
	char *p = buf;

	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];
		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
}

void addr_host_text(const struct sockaddr *sa, char *buf, size_t len)
{
	const char *r = NULL;

	if (len == 0)
		return;
	if (sa->sa_family == AF_UNIX) {
		snprintf(buf, len, "unix");
		return;
	}
	if (sa->sa_family == AF_INET && len >= INET_ADDRSTRLEN) {
		ipv4_text(&((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf);
		return;
	}
	if (sa->sa_family == AF_INET)
		r = inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			      buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		r = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			      buf, (socklen_t)len);
	if (!r)
		snprintf(buf, len, "-");
}

void addr_numeric_text(const struct lbd_addr *a, char *buf, size_t len)
{
	const struct sockaddr_in *sin = (const void *)&a->sa;
	const struct sockaddr_in6 *sin6 = (const void *)&a->sa;
	char host[INET6_ADDRSTRLEN];

	if (a->sa.ss_family != AF_INET && a->sa.ss_family != AF_INET6) {
		snprintf(buf, len, "%s", a->text);
		return;
	}
	addr_host_text((const struct sockaddr *)&a->sa, host, sizeof(host));
	if (a->sa.ss_family == AF_INET)
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
	else
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
}

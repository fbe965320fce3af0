/* listener.c — binding listening sockets. */
#include "event/listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

bool listener_can_reuseport(const struct lbd_addr *addr)
{
	return addr->sa.ss_family == AF_INET || addr->sa.ss_family == AF_INET6;
}

/* A stale socket file left by a previous run would make bind() fail with
 * EADDRINUSE; remove it only when nothing listens on it. */
static void unlink_stale_unix(const struct sockaddr_un *sun)
{
	struct stat st;

	if (stat(sun->sun_path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return;
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return;
	if (connect(probe, (const struct sockaddr *)sun, sizeof(*sun)) < 0 && errno == ECONNREFUSED)
		unlink(sun->sun_path);
	close(probe);
}

int listener_open(const struct lbd_addr *addr, bool reuseport, char *err, size_t errlen)
{
	int family = addr->sa.ss_family;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", addr->text, strerror(errno));
		return -1;
	}
	if (family == AF_UNIX) {
		unlink_stale_unix((const struct sockaddr_un *)&addr->sa);
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
			snprintf(err, errlen, "%s: SO_REUSEPORT: %s", addr->text, strerror(errno));
			close(fd);
			return -1;
		}
		if (family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, (const struct sockaddr *)&addr->sa, addr->salen) < 0) {
		if (errno == EACCES && family != AF_UNIX && geteuid() != 0)
			snprintf(err, errlen,
				 "cannot bind %s: %s (a port below 1024 needs root or "
				 "CAP_NET_BIND_SERVICE; lbd runs as uid %u)",
				 addr->text, strerror(errno), (unsigned)geteuid());
		else
			snprintf(err, errlen, "cannot bind %s: %s", addr->text, strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr->text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* bind_lock.c — the per-address lock that keeps a second lbd off a port
 * (see bind_lock.h for why an abstract UNIX socket). */
#include "event/bind_lock.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LOCK_PREFIX "lbd-bind:"
/* Askers queue on the lock and are never accepted; past this many, a
 * refused lbd still says the address is held, only without the pid. */
#define LOCK_BACKLOG 64

static const char SHARE_HINT[] = "stop it, bind another address, or set share_port: true on the "
				 "listeners of both to share the port";

/* "@lbd-bind:192.0.2.1:80", "@lbd-bind:[2001:db8::1]:443": the numeric
 * form, so that names written differently meet. Returns the address
 * length. */
static socklen_t lock_name(const struct lbd_addr *addr, struct sockaddr_un *sun)
{
	char host[ADDR_TEXT_MAX];
	unsigned port;
	int n;

	addr_host_text((const struct sockaddr *)&addr->sa, host, sizeof(host));
	if (addr->sa.ss_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)&addr->sa)->sin6_port);
	else
		port = ntohs(((const struct sockaddr_in *)&addr->sa)->sin_port);
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1,
		     addr->sa.ss_family == AF_INET6 ? LOCK_PREFIX "[%s]:%u" : LOCK_PREFIX "%s:%u",
		     host, port);
	if (n < 0 || (size_t)n >= sizeof(sun->sun_path) - 1)
		n = (int)sizeof(sun->sun_path) - 2; /* cut, but the same for everyone */
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* The pid of the process holding the lock, or 0 when it cannot be told
 * (its backlog is full of earlier askers, or it just went away). The
 * holder never accepts: the kernel answers SO_PEERCRED with the
 * credentials it listened with. */
static pid_t holder_pid(const struct sockaddr_un *sun, socklen_t len)
{
	struct ucred cred = { 0 };
	socklen_t clen = sizeof(cred);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (connect(fd, (const struct sockaddr *)sun, len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
		cred.pid = 0;
	close(fd);
	return cred.pid;
}

static void held_error(const struct lbd_addr *addr, const char *listener, pid_t pid,
		       const char *what, char *err, size_t errlen)
{
	char who[48] = "another lbd";

	if (pid > 0)
		snprintf(who, sizeof(who), "another lbd (pid %ld)", (long)pid);
	snprintf(err, errlen, "cannot bind %s (listener %s): %s %s; %s", addr->text, listener, who,
		 what, SHARE_HINT);
}

int bind_lock_take(const struct lbd_addr *addr, const char *listener, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	socklen_t len = lock_name(addr, &sun);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create its bind lock: %s", addr->text,
			 strerror(errno));
		return -1;
	}
	if (bind(fd, (const struct sockaddr *)&sun, len) == 0 && listen(fd, LOCK_BACKLOG) == 0)
		return fd;
	int e = errno;
	close(fd);
	if (e == EADDRINUSE)
		held_error(addr, listener, holder_pid(&sun, len), "already listens on it", err,
			   errlen);
	else
		snprintf(err, errlen, "%s: cannot take its bind lock: %s", addr->text, strerror(e));
	return -1;
}

int bind_lock_check_shared(const struct lbd_addr *addr, const char *listener, char *err,
			   size_t errlen)
{
	struct sockaddr_un sun;
	socklen_t len = lock_name(addr, &sun);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	/* Binding the name for a moment asks without queueing on the holder. */
	if (fd < 0)
		return 0;
	if (bind(fd, (const struct sockaddr *)&sun, len) == 0 || errno != EADDRINUSE) {
		close(fd);
		return 0;
	}
	close(fd);
	held_error(addr, listener, holder_pid(&sun, len), "listens on it without share_port: true",
		   err, errlen);
	return -1;
}

int bind_probe_unused(const struct lbd_addr *addr, const char *listener, char *err, size_t errlen)
{
	int fd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1, rc = 0;

	if (fd < 0)
		return 0; /* the real bind will say why */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr->sa.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&addr->sa, addr->salen) < 0 && errno == EADDRINUSE) {
		snprintf(err, errlen,
			 "cannot bind %s (listener %s): another process listens on it (%s); stop "
			 "it or bind another address (two lbd share a port only with share_port: "
			 "true on both)",
			 addr->text, listener, strerror(EADDRINUSE));
		rc = -1;
	}
	close(fd);
	return rc;
}

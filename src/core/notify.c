/* notify.c — sd_notify without libsystemd. The socket's address comes from
 * NOTIFY_SOCKET: a path, or "@name" for an abstract socket. */
#include "core/notify.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len;
	socklen_t salen;
	int fd, rc;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return -1;
	len = strlen(path);
	if (len < 2 || len > sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, salen) < 0 ?
		     -1 :
		     0;
	close(fd);
	return rc;
}

void notify_ready(unsigned long long generation)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=serving configuration generation %llu",
		 generation);
	notify_send(msg);
}

void notify_reloading(void)
{
	struct timespec ts;
	char msg[128];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg),
		 "RELOADING=1\nSTATUS=reloading the configuration\n"
		 "MONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL +
			 (unsigned long long)ts.tv_nsec / 1000);
	notify_send(msg);
}

void notify_stopping(const char *why)
{
	char msg[192];

	snprintf(msg, sizeof(msg), "STOPPING=1\nSTATUS=stopping (%s)", why);
	notify_send(msg);
}

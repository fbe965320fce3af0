/* lifecycle.h — what main calls to run the daemon (lifecycle.c). */
#ifndef LBD_LIFECYCLE_H
#define LBD_LIFECYCLE_H

struct config;

/* Exit codes (lbd(8)). */
#define LBD_EXIT_BAD_CONFIG 1
#define LBD_EXIT_RUNTIME 2

/* How lbd was started. */
struct daemon_start {
	char *const *argv; /* its arguments, for the new process of an upgrade */
	int upgrade_fd;    /* started by an upgrade (handover.h), else -1 */
};

/* Run lbd on CFG (loaded from PATH; one reference, taken over) until it
 * stops. Returns the process's exit code. */
int daemon_main(const char *path, struct config *cfg, const struct daemon_start *start);

#endif

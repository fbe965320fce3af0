/* lifecycle.h — what main calls to run the daemon (lifecycle.c). */
#ifndef LBD_LIFECYCLE_H
#define LBD_LIFECYCLE_H

struct config;

/* Exit codes (lbd(8)). */
#define LBD_EXIT_BAD_CONFIG 1
#define LBD_EXIT_RUNTIME 2

/* Run lbd on CFG (loaded from PATH; one reference, taken over) until it
 * stops. Returns the process's exit code. */
int daemon_main(const char *path, struct config *cfg);

#endif

/* request_id.h — request ids for X-Request-Id: 128 random bits written as
 * 32 lower-case hex digits. */
#ifndef LBD_REQUEST_ID_H
#define LBD_REQUEST_ID_H

#include <stdbool.h>
#include <stddef.h>

#define REQUEST_ID_LEN 32  /* a generated id, without its NUL */
#define REQUEST_ID_MAX 128 /* the longest id kept from a client */

/* Write a new id and its NUL to OUT. Each thread has its own generator,
 * seeded once from getrandom(): no lock and no system call per id. */
void request_id_new(char out[REQUEST_ID_LEN + 1]);

/* Whether a client's id (LEN bytes) is kept as it is: 1 to REQUEST_ID_MAX
 * visible ASCII characters, so that it is safe in a header and a log. */
bool request_id_acceptable(const char *id, size_t len);

#endif

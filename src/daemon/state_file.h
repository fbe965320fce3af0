/* state_file.h — global.state_file: the servers the admin API added, kept
 * across restarts (state_file.c). */
#ifndef LBD_STATE_FILE_H
#define LBD_STATE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct state_entry {
	char *pool;
	char *name;
	char *address;
	uint32_t weight;
	bool backup;
};

/* Write N entries to PATH atomically (a temporary file beside it, synced,
 * then renamed over it): a crash leaves the old file or the new one, never
 * half of one. Returns 0, or -1 with the reason in ERR. */
int state_file_save(const char *path, const struct state_entry *e, size_t n, char *err,
		    size_t errlen);

/* Read PATH into *E (allocated; state_file_free) and *N. A file that does
 * not exist is no entries. Returns 0, or -1 with the reason in ERR (it
 * cannot be read, it is not what lbd writes, an entry lacks a field). */
int state_file_load(const char *path, struct state_entry **e, size_t *n, char *err, size_t errlen);

void state_file_free(struct state_entry *e, size_t n);

#endif

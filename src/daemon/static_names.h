/* static_names.h — the servers of the file written as host:port, at the
 * address their names resolve to now (discovery follows the names and
 * tells the membership, which keeps them here).
 *
 * A generation is immutable, so a server whose name moved is published as
 * a copy of the file's entry at the new address: the same name, runtime
 * state (counters, health, sticky and hash place), weight, backup and
 * address text, made once per pool of a generation and per address. A
 * copy that its pool publishes no more is handed back to be retired like
 * any other entry: a worker may still hold it (membership.c buries it).
 */
#ifndef LBD_DAEMON_STATIC_NAMES_H
#define LBD_DAEMON_STATIC_NAMES_H

#include <stddef.h>

#include "config/config.h"
#include "util/addr.h"

struct static_names;

/* Takes a copy no pool publishes any more. */
typedef void static_names_retire_fn(void *arg, struct server_conf *copy);

/* NULL when out of memory. */
struct static_names *static_names_new(void);

/* Frees every record and copy still held: only once no worker runs. */
void static_names_free(struct static_names *sn);

/* The address S (a server of POOL's file) has now: the one its name last
 * resolved to, else the load's; NULL when it has none (unresolved). */
const struct lbd_addr *static_names_addr(const struct static_names *sn, const char *pool,
					 const struct server_conf *s);

/* S, a server of POOL's file, is at ADDR now (for as long as the file
 * writes its address as S does). Returns 0, or -1 out of memory (nothing
 * changes). */
int static_names_set(struct static_names *sn, const char *pool, const struct server_conf *s,
		     const struct lbd_addr *addr);

/* What P publishes for S, a server of its file: S, or its copy at the
 * address its name resolves to now. S itself when out of memory (said in
 * the log). */
struct server_conf *static_names_entry(struct static_names *sn, const struct pool_conf *p,
				       struct server_conf *s);

/* P publishes SERVERS (N of them; none for a pool that will never be read
 * again): its copies not among them go to RETIRE. */
void static_names_published(struct static_names *sn, const struct pool_conf *p,
			    struct server_conf *const *servers, size_t n,
			    static_names_retire_fn *retire, void *arg);

/* CFG serves, and no pool of another generation publishes a copy: the
 * servers its file no longer writes as they were are forgotten, their
 * copies (if any is left) to RETIRE. */
void static_names_keep(struct static_names *sn, const struct config *cfg,
		       static_names_retire_fn *retire, void *arg);

#endif

/* config_runtime.h — binding a configuration to the runtime state of its
 * listeners, pools and servers (core/runtime.h), which outlives it.
 */
#ifndef LBD_CONFIG_RUNTIME_H
#define LBD_CONFIG_RUNTIME_H

struct config;

/* Bind every listener, pool and server of CFG to its runtime state by
 * identity, creating state for identities seen for the first time; a
 * server whose weight was set through the admin API takes that weight.
 * Called before CFG is published. Returns 0, or -1 when out of memory. */
int config_attach_runtime(struct config *cfg);

/* NEW replaces OLD: the servers of OLD that NEW no longer has lose what
 * was set on them at run time (drain or disable, a weight, a passive
 * failure window), so that a server added later under the same name, a
 * replacement machine, starts afresh. Their counters stay: metrics never
 * go back. Returns 0, or -1 when out of memory (nothing is forgotten). */
/* CFG is being freed: drop what it holds of shared runtime state (its
 * rate limits' tables). */
void config_detach_runtime(struct config *cfg);

int config_forget_runtime(const struct config *old, const struct config *new);

#endif

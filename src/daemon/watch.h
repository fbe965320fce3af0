/* watch.h — global.watch_config: lbd reloads by itself when its
 * configuration file, or a file it includes, changes (watch.c). */
#ifndef LBD_WATCH_H
#define LBD_WATCH_H

struct config;
struct daemon;
struct watch;

/* The watcher of daemon D, on its main loop, idle until watch_apply. NULL
 * when out of memory. */
struct watch *watch_new(struct daemon *d);

/* CFG is the newest generation: with global.watch_config, watch the
 * directories it was read from (its file, its include patterns and the
 * files they matched), else watch nothing. A directory that cannot be
 * watched is logged and left out. */
void watch_apply(struct watch *w, const struct config *cfg);

void watch_free(struct watch *w);

#endif

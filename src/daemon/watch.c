/* watch.c — global.watch_config: reload when the configuration changes.
 *
 * inotify watches the directories the serving configuration was read from
 * (not the files: an editor or `kubectl apply` replaces a file by renaming
 * another over it, and a Kubernetes ConfigMap volume swaps a `..data`
 * symlink to a new directory, which no watch on the old file would see).
 * An event counts when its name is one of those files, matches one of the
 * include patterns, or is `..data`; other files in the directories (an
 * editor's swap file) do not reload. Events are debounced: the reload
 * starts WATCH_SETTLE_MS after the last one, so a file written in several
 * steps is read once, whole. The reload is daemon_reload's, the same as
 * `lbctl reload`: a bad file is logged and rejected, and the next change
 * tries again. The watched set follows each new generation.
 */
#include "daemon/watch.h"

#include <errno.h>
#include <event2/event.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"
#include "daemon/daemon.h"

#define WATCH_SETTLE_MS 200
#define WATCH_EVENTS \
	(IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
	 IN_MOVED_TO)

/* A file name, or an include pattern's last part, in a watched directory. */
struct wname {
	int wd;
	char *name;
};

struct watch {
	struct daemon *d;
	int fd; /* the inotify instance; -1 while off */
	struct event *ev;
	struct event *settle;
	struct wname *names;
	size_t nnames;
};

static void forget_names(struct watch *w)
{
	for (size_t i = 0; i < w->nnames; i++)
		free(w->names[i].name);
	free(w->names);
	w->names = NULL;
	w->nnames = 0;
}

static void stop(struct watch *w)
{
	forget_names(w);
	if (w->ev)
		event_free(w->ev);
	w->ev = NULL;
	evtimer_del(w->settle);
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

static void on_settled(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	struct timeval tv = { 0, WATCH_SETTLE_MS * 1000 };

	if (daemon_stopping(w->d))
		return;
	/* One is under way (lbctl reload, or ours): try again after it. */
	if (daemon_reload(w->d, NULL, NULL) < 0)
		evtimer_add(w->settle, &tv);
}

static bool counts(const struct watch *w, const struct inotify_event *e)
{
	if (e->mask & IN_Q_OVERFLOW)
		return true; /* events were lost: one of them may have counted */
	if (!e->len)
		return false; /* the directory itself */
	if (strcmp(e->name, "..data") == 0)
		return true; /* a ConfigMap volume switched to new contents */
	for (size_t i = 0; i < w->nnames; i++)
		if (w->names[i].wd == e->wd && fnmatch(w->names[i].name, e->name, FNM_PERIOD) == 0)
			return true;
	return false;
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const char *changed = NULL;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			if (!changed && counts(w, e))
				changed = e->len ? e->name : "(events lost)";
			p += sizeof(*e) + e->len;
		}
		if (changed) {
			struct timeval tv = { 0, WATCH_SETTLE_MS * 1000 };
			if (!evtimer_pending(w->settle, NULL))
				log_info("watch_config: %s changed; reloading in %d ms unless it "
					 "changes again",
					 changed, WATCH_SETTLE_MS);
			evtimer_add(w->settle, &tv); /* from the last event on */
			changed = NULL;
		}
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		log_error("watch_config: reading inotify events: %s; changes need lbctl reload",
			  strerror(errno));
		stop(w);
	}
}

struct watch *watch_new(struct daemon *d)
{
	struct watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->d = d;
	w->fd = -1;
	w->settle = evtimer_new(daemon_base(d), on_settled, w);
	if (!w->settle) {
		free(w);
		return NULL;
	}
	return w;
}

static int start(struct watch *w)
{
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		log_error("watch_config: inotify: %s; changes need lbctl reload", strerror(errno));
		return -1;
	}
	w->ev = event_new(daemon_base(w->d), w->fd, EV_READ | EV_PERSIST, on_inotify, w);
	if (!w->ev || event_add(w->ev, NULL) < 0) {
		log_error("watch_config: out of memory; changes need lbctl reload");
		stop(w);
		return -1;
	}
	log_info("watch_config: on; lbd reloads when its configuration changes");
	return 0;
}

static bool has_wildcard(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '*' || s[i] == '?' || s[i] == '[')
			return true;
	return false;
}

/* Watch the directory of SOURCE and remember its last part. A pattern
 * with wildcards in its directories is left to the files it matched. */
static void add_source(struct watch *w, const char *source, struct wname *names, size_t *n)
{
	const char *slash = strrchr(source, '/');
	char dir[PATH_MAX];
	int wd;

	if (!slash)
		strcpy(dir, ".");
	else if (slash == source)
		strcpy(dir, "/");
	else if ((size_t)(slash - source) < sizeof(dir) && !has_wildcard(source, slash - source))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - source), source);
	else
		return;
	wd = inotify_add_watch(w->fd, dir, WATCH_EVENTS | IN_ONLYDIR);
	if (wd < 0) {
		log_warn("watch_config: cannot watch %s: %s; changes there need lbctl reload", dir,
			 strerror(errno));
		return;
	}
	names[*n].wd = wd;
	names[*n].name = strdup(slash ? slash + 1 : source);
	if (names[*n].name)
		(*n)++;
}

static bool still_watched(int wd, const struct wname *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (names[i].wd == wd)
			return true;
	return false;
}

void watch_apply(struct watch *w, const struct config *cfg)
{
	struct wname *names;
	size_t n = 0;

	if (!cfg->global.watch_config) {
		if (w->fd >= 0)
			log_info("watch_config: off; changes need lbctl reload");
		stop(w);
		return;
	}
	if (w->fd < 0 && start(w) < 0)
		return;
	names = calloc(cfg->nsources ? cfg->nsources : 1, sizeof(*names));
	if (!names) {
		log_error("watch_config: out of memory; the directories watched stay as they were");
		return;
	}
	for (size_t i = 0; i < cfg->nsources; i++)
		add_source(w, cfg->sources[i], names, &n);
	/* A directory the new generation no longer reads from. */
	for (size_t i = 0; i < w->nnames; i++)
		if (!still_watched(w->names[i].wd, names, n) &&
		    !still_watched(w->names[i].wd, w->names, i))
			inotify_rm_watch(w->fd, w->names[i].wd);
	forget_names(w);
	w->names = names;
	w->nnames = n;
}

void watch_free(struct watch *w)
{
	if (!w)
		return;
	stop(w);
	event_free(w->settle);
	free(w);
}

/* binds.c — opening, keeping and retiring listening sockets. */
#include "event/binds.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/config.h"
#include "event/bind_lock.h"
#include "event/listener.h"

/* A unix: socket's file goes with the socket, as with nginx and HAProxy;
 * the next start would find it stale anyway. */
static void unlink_unix(const struct bind_socket *b)
{
	if (b->addr.sa.ss_family == AF_UNIX)
		unlink(((const struct sockaddr_un *)&b->addr.sa)->sun_path);
}

static void socket_close_all(struct bind_socket *b, unsigned nworkers)
{
	unsigned n = b->per_worker ? nworkers : 1;

	for (unsigned i = 0; i < n; i++)
		if (b->fds[i] >= 0)
			close(b->fds[i]);
	unlink_unix(b);
}

static int socket_open(struct bind_socket *b, unsigned nworkers, char *err, size_t errlen)
{
	unsigned n;

	b->per_worker = listener_can_reuseport(&b->addr);
	n = b->per_worker ? nworkers : 1;
	b->fds = malloc(n * sizeof(*b->fds));
	if (!b->fds) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < n; i++)
		b->fds[i] = -1;
	for (unsigned i = 0; i < n; i++) {
		b->fds[i] = listener_open(&b->addr, b->per_worker, err, errlen);
		if (b->fds[i] < 0) {
			socket_close_all(b, nworkers);
			free(b->fds);
			b->fds = NULL;
			return -1;
		}
	}
	return 0;
}

static struct bind_socket *find(struct bind_table *t, const struct lbd_addr *addr)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->items[i].fds && addr_equal(&t->items[i].addr, addr))
			return &t->items[i];
	return NULL;
}

static size_t count_binds(const struct config *cfg)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->nlisteners; i++)
		n += cfg->listeners[i].nbinds;
	return n;
}

static unsigned addr_port(const struct lbd_addr *a)
{
	if (a->sa.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->sa)->sin_port;
	if (a->sa.ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)&a->sa)->sin6_port;
	return 0;
}

static bool same_port(const struct lbd_addr *a, const struct lbd_addr *b)
{
	return a->sa.ss_family == b->sa.ss_family && addr_port(a) == addr_port(b);
}

/* Whether ADDR's port is one this lbd uses for another address (now, or
 * in CFG): the probe would then meet our own socket, as when a reload
 * moves a listener from 127.0.0.1:80 to *:80. */
static bool port_is_ours(const struct bind_table *old, const struct config *cfg,
			 const struct lbd_addr *addr)
{
	for (size_t i = 0; i < old->n; i++)
		if (same_port(&old->items[i].addr, addr) && !addr_equal(&old->items[i].addr, addr))
			return true;
	for (size_t i = 0; i < cfg->nlisteners; i++)
		for (size_t b = 0; b < cfg->listeners[i].nbinds; b++) {
			const struct lbd_addr *o = &cfg->listeners[i].binds[b];
			if (same_port(o, addr) && !addr_equal(o, addr))
				return true;
		}
	return false;
}

/* What binds_update did to one item of NEW, so it can be undone. */
struct step {
	bool opened; /* its sockets were opened here */
	bool locked; /* its lock was taken here */
	size_t from; /* the item of OLD it was kept from, or SIZE_MAX */
};

/* Make sure another lbd cannot share a new address of a listener: take its
 * lock (or, with share_port, check that no lbd holds it), then check that
 * nothing else listens on it. */
static int claim(const struct bind_table *old, const struct config *cfg,
		 const struct listener_conf *l, struct bind_socket *s, struct step *st, char *err,
		 size_t errlen)
{
	if (!listener_can_reuseport(&s->addr))
		return 0;
	if (l->share_port)
		return bind_lock_check_shared(&s->addr, l->name, err, errlen);
	s->lock_fd = bind_lock_take(&s->addr, l->name, err, errlen);
	if (s->lock_fd < 0)
		return -1;
	st->locked = true;
	if (!port_is_ours(old, cfg, &s->addr) &&
	    bind_probe_unused(&s->addr, l->name, err, errlen) < 0)
		return -1;
	return 0;
}

/* A kept address whose listener changed its share_port takes or leaves
 * its lock (left ones are closed once the reload succeeds). */
static int keep(const struct bind_socket *kept, const struct listener_conf *l,
		struct bind_socket *s, struct step *st, char *err, size_t errlen)
{
	s->per_worker = kept->per_worker;
	s->fds = kept->fds;
	s->lock_fd = kept->lock_fd;
	if (!listener_can_reuseport(&s->addr))
		return 0;
	if (l->share_port) {
		s->lock_fd = -1;
	} else if (kept->lock_fd < 0) {
		s->lock_fd = bind_lock_take(&s->addr, l->name, err, errlen);
		if (s->lock_fd < 0)
			return -1;
		st->locked = true;
	}
	return 0;
}

/* Sockets and locks of NEW that were opened here (not taken from OLD) go
 * again. */
static void undo(struct bind_table *new, const struct step *steps)
{
	for (size_t i = 0; i < new->n; i++) {
		if (steps[i].locked && new->items[i].lock_fd >= 0)
			close(new->items[i].lock_fd);
		if (steps[i].opened) {
			socket_close_all(&new->items[i], new->nworkers);
			free(new->items[i].fds);
		}
	}
	free(new->items);
	memset(new, 0, sizeof(*new));
}

/* Success: OLD keeps only the sockets no longer bound; the locks that
 * kept sockets no longer need go now. */
static void commit(struct bind_table *old, const struct bind_table *new, const struct step *steps)
{
	size_t left = 0;

	for (size_t k = 0; k < new->n; k++) {
		size_t from = steps[k].from;
		if (from == SIZE_MAX)
			continue;
		if (old->items[from].lock_fd >= 0 &&
		    old->items[from].lock_fd != new->items[k].lock_fd)
			close(old->items[from].lock_fd);
		old->items[from].fds = NULL; /* NEW's now */
	}
	for (size_t i = 0; i < old->n; i++)
		if (old->items[i].fds)
			old->items[left++] = old->items[i];
	old->n = left;
}

int binds_update(struct bind_table *old, struct bind_table *new, const struct config *cfg,
		 unsigned nworkers, char *err, size_t errlen)
{
	size_t total = count_binds(cfg), k = 0;
	struct step *steps = calloc(total ? total : 1, sizeof(*steps));

	memset(new, 0, sizeof(*new));
	new->nworkers = nworkers;
	new->items = calloc(total ? total : 1, sizeof(*new->items));
	if (!steps || !new->items) {
		free(steps);
		free(new->items);
		new->items = NULL;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct listener_conf *l = &cfg->listeners[i];
		for (size_t b = 0; b < l->nbinds; b++, k++) {
			struct bind_socket *s = &new->items[k];
			struct bind_socket *kept = find(old, &l->binds[b]);
			int rc;
			new->n = k + 1;
			s->addr = l->binds[b];
			s->listener_index = i;
			s->lock_fd = -1;
			steps[k].from = kept ? (size_t)(kept - old->items) : SIZE_MAX;
			if (kept) {
				rc = keep(kept, l, s, &steps[k], err, errlen);
			} else {
				rc = claim(old, cfg, l, s, &steps[k], err, errlen);
				if (rc == 0)
					rc = socket_open(s, nworkers, err, errlen);
				steps[k].opened = rc == 0;
			}
			if (rc < 0) {
				undo(new, steps);
				free(steps);
				return -1;
			}
		}
	}
	commit(old, new, steps);
	free(steps);
	return 0;
}

int binds_specs(const struct bind_table *t, unsigned w, struct listen_spec **specs, size_t *n)
{
	*specs = calloc(t->n ? t->n : 1, sizeof(**specs));
	if (!*specs)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		const struct bind_socket *b = &t->items[i];
		(*specs)[i] = (struct listen_spec){
			.fd = b->per_worker ? b->fds[w] : b->fds[0],
			.owns_fd = b->per_worker,
			.listener_index = b->listener_index,
		};
	}
	*n = t->n;
	return 0;
}

void binds_release(struct bind_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct bind_socket *b = &t->items[i];
		if (!b->per_worker && b->fds && b->fds[0] >= 0) {
			close(b->fds[0]);
			if (!t->keep_files)
				unlink_unix(b);
		}
		if (b->lock_fd >= 0)
			close(b->lock_fd);
		free(b->fds);
	}
	free(t->items);
	memset(t, 0, sizeof(*t));
}

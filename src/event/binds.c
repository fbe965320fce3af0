/* binds.c — opening, keeping and retiring listening sockets. */
#include "event/binds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/config.h"
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

/* Sockets of NEW that were opened here (not taken from OLD) go again. */
static void undo(struct bind_table *new, const bool *opened)
{
	for (size_t i = 0; i < new->n; i++)
		if (opened[i]) {
			socket_close_all(&new->items[i], new->nworkers);
			free(new->items[i].fds);
		}
	free(new->items);
	memset(new, 0, sizeof(*new));
}

int binds_update(struct bind_table *old, struct bind_table *new, const struct config *cfg,
		 unsigned nworkers, char *err, size_t errlen)
{
	size_t total = count_binds(cfg), k = 0;
	bool *opened = calloc(total ? total : 1, sizeof(*opened));
	bool *taken = calloc(old->n ? old->n : 1, sizeof(*taken));

	memset(new, 0, sizeof(*new));
	new->nworkers = nworkers;
	new->items = calloc(total ? total : 1, sizeof(*new->items));
	if (!opened || !taken || !new->items) {
		free(opened);
		free(taken);
		free(new->items);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct listener_conf *l = &cfg->listeners[i];
		for (size_t b = 0; b < l->nbinds; b++, k++) {
			struct bind_socket *s = &new->items[k];
			struct bind_socket *kept = find(old, &l->binds[b]);
			new->n = k + 1;
			s->addr = l->binds[b];
			s->listener_index = i;
			if (kept) {
				s->per_worker = kept->per_worker;
				s->fds = kept->fds;
				taken[kept - old->items] = true;
				continue;
			}
			if (socket_open(s, nworkers, err, errlen) < 0) {
				new->n = k; /* S holds nothing */
				undo(new, opened);
				free(opened);
				free(taken);
				return -1;
			}
			opened[k] = true;
		}
	}
	/* Success: OLD keeps only the sockets no longer bound. */
	size_t left = 0;
	for (size_t i = 0; i < old->n; i++) {
		if (taken[i])
			continue;
		old->items[left++] = old->items[i];
	}
	old->n = left;
	free(opened);
	free(taken);
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
			unlink_unix(b);
		}
		free(b->fds);
	}
	free(t->items);
	memset(t, 0, sizeof(*t));
}

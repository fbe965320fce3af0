/* handover.c — descriptors beside the upgrade's messages, and the new
 * process's side of the handover (handover.h). */
#include "daemon/handover.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event/listener.h"

/* How long the new process waits for each message of the old one. */
#define HANDOVER_RECV_TIMEOUT_MS 10000

int handover_send(int sock, const struct handover_msg *m, const int *fds, size_t nfds, char *err,
		  size_t errlen)
{
	static uint8_t buf[HANDOVER_MSG_MAX];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * (HANDOVER_FDS_MAX + 1))];
	} ctl;
	int len = handover_encode(m, buf, sizeof(buf));

	if (len < 0 || nfds > HANDOVER_FDS_MAX + 1) {
		snprintf(err, errlen, "cannot encode an upgrade message");
		return -1;
	}
	struct iovec iov = { .iov_base = buf, .iov_len = (size_t)len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.space;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	for (;;) {
		if (sendmsg(sock, &msg, MSG_NOSIGNAL) == len)
			return 0;
		if (errno != EINTR)
			break;
	}
	snprintf(err, errlen, "sending to the other lbd: %s", strerror(errno));
	return -1;
}

static void close_fds(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

/* The descriptors of a received message's SCM_RIGHTS. */
static void collect_fds(struct msghdr *msg, int *fds, size_t maxfds, size_t *nfds, bool *extra)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int got[HANDOVER_FDS_MAX + 1];
		if (n > HANDOVER_FDS_MAX + 1)
			n = HANDOVER_FDS_MAX + 1;
		memcpy(got, CMSG_DATA(c), n * sizeof(int));
		for (size_t i = 0; i < n; i++) {
			if (*nfds < maxfds)
				fds[(*nfds)++] = got[i];
			else {
				close(got[i]);
				*extra = true;
			}
		}
	}
}

int handover_recv(int sock, struct handover_msg *m, int *fds, size_t maxfds, size_t *nfds,
		  int timeout_ms, char *err, size_t errlen)
{
	static uint8_t buf[HANDOVER_MSG_MAX + 1];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * (HANDOVER_FDS_MAX + 1))];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = ctl.space,
			      .msg_controllen = sizeof(ctl.space) };
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	bool extra = false;
	ssize_t n;

	*nfds = 0;
	int ready = poll(&pfd, 1, timeout_ms);
	if (ready == 0) {
		snprintf(err, errlen, "the other lbd sent nothing for %d ms", timeout_ms);
		return -1;
	}
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(err, errlen, "receiving from the other lbd: %s", strerror(errno));
		return -1;
	}
	collect_fds(&msg, fds, maxfds, nfds, &extra);
	if (n == 0 && *nfds == 0)
		return 0;
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC) || extra) {
		snprintf(err, errlen, "an upgrade message too long, or with too many descriptors");
	} else if (handover_decode(buf, (size_t)n, m, err, errlen) == 0) {
		return 1;
	}
	close_fds(fds, *nfds);
	*nfds = 0;
	return -1;
}

int handover_child_fd(void)
{
	const char *s = getenv(HANDOVER_FD_ENV);
	char *end;
	long fd;

	if (!s)
		return -1;
	fd = strtol(s, &end, 10);
	unsetenv(HANDOVER_FD_ENV);
	if (*end || fd < 3 || fd > 65535 || fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0)
		return -1;
	return (int)fd;
}

/* --- the new process ------------------------------------------------------- */

/* The item of IN's table with ADDR, or a new one. */
static struct bind_socket *bind_slot(struct bind_table *t, const struct lbd_addr *addr)
{
	for (size_t i = 0; i < t->n; i++)
		if (addr_equal(&t->items[i].addr, addr))
			return &t->items[i];
	struct bind_socket *items = realloc(t->items, (t->n + 1) * sizeof(*items));
	if (!items)
		return NULL;
	t->items = items;
	struct bind_socket *b = &items[t->n++];
	*b = (struct bind_socket){ .addr = *addr, .lock_fd = -1 };
	return b;
}

/* Give an inherited address exactly NWORKERS sockets: more are closed, the
 * missing ones opened in the same SO_REUSEPORT group. */
static int fit_workers(struct bind_socket *b, unsigned total, unsigned nworkers, char *err,
		       size_t errlen)
{
	if (!b->per_worker || total == nworkers)
		return 0;
	for (unsigned i = nworkers; i < total; i++)
		close(b->fds[i]);
	int *fds = realloc(b->fds, nworkers * sizeof(*fds));
	if (!fds) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	b->fds = fds;
	b->listener_index = nworkers;
	for (unsigned i = total; i < nworkers; i++) {
		fds[i] = listener_open(&b->addr, true, err, errlen);
		if (fds[i] < 0) {
			for (unsigned k = i; k < nworkers; k++)
				fds[k] = -1;
			return -1;
		}
	}
	return 0;
}

static int take_bind(struct handover_inherit *in, const struct handover_msg *m,
		     const struct lbd_addr *addr, const int *fds, char *err, size_t errlen)
{
	struct bind_socket *b = bind_slot(&in->binds, addr);

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!b->fds) {
		b->per_worker = m->per_worker;
		b->fds = malloc(m->total * sizeof(*b->fds));
		if (!b->fds) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		for (unsigned i = 0; i < m->total; i++)
			b->fds[i] = -1;
		b->listener_index = m->total; /* the count, until fit_workers */
	}
	if (b->listener_index != m->total || b->per_worker != m->per_worker ||
	    (!m->per_worker && m->total != 1)) {
		snprintf(err, errlen, "inconsistent sockets for %s", m->text);
		return -1;
	}
	for (unsigned i = 0; i < m->nsockets; i++) {
		if (b->fds[m->first + i] >= 0) {
			snprintf(err, errlen, "socket %u of %s sent twice", m->first + i, m->text);
			return -1;
		}
		b->fds[m->first + i] = fds[i];
	}
	if (m->has_lock) {
		if (b->lock_fd >= 0)
			close(b->lock_fd);
		b->lock_fd = fds[m->nsockets];
	}
	return 0;
}

static int take_socket(struct handover_inherit *in, const struct handover_msg *m, int *fds,
		       size_t nfds, char *err, size_t errlen)
{
	struct lbd_addr addr;
	const char *why;

	if (nfds != (size_t)m->nsockets + (m->has_lock ? 1 : 0)) {
		snprintf(err, errlen, "%s: %zu descriptors where %u were announced", m->text, nfds,
			 m->nsockets + (m->has_lock ? 1 : 0));
		close_fds(fds, nfds);
		return -1;
	}
	if (addr_parse(m->text, &addr, &why) != 0) {
		snprintf(err, errlen, "socket address %s: %s", m->text, why);
		close_fds(fds, nfds);
		return -1;
	}
	if (m->kind != HANDOVER_BIND) {
		if (m->nsockets != 1 || m->has_lock || in->admin_fd[m->kind] >= 0) {
			snprintf(err, errlen, "admin socket %s: unexpected descriptors", m->text);
			close_fds(fds, nfds);
			return -1;
		}
		in->admin_fd[m->kind] = fds[0];
		in->admin_addr[m->kind] = addr;
		return 0;
	}
	if (take_bind(in, m, &addr, fds, err, errlen) < 0) {
		close_fds(fds, nfds);
		return -1;
	}
	return 0;
}

/* Append the SIZE bytes of ITEM to the array *ITEMS of *N. */
static int append(void **items, size_t *n, const void *item, size_t size)
{
	char *grown = realloc(*items, (*n + 1) * size);

	if (!grown)
		return -1;
	memcpy(grown + *n * size, item, size);
	*items = grown;
	(*n)++;
	return 0;
}

static int take_state(struct handover_inherit *in, const struct handover_msg *m, char *err,
		      size_t errlen)
{
	if (strcmp(m->key, "generation") == 0) {
		char *end;
		in->generation = strtoull(m->text, &end, 10);
		if (*end || !m->text[0])
			goto bad;
	} else if (strcmp(m->key, "tickets") == 0) {
		if (strlen(m->text) != 2 * HANDOVER_TICKETS_LEN)
			goto bad;
		for (size_t i = 0; i < HANDOVER_TICKETS_LEN; i++) {
			unsigned v;
			if (sscanf(m->text + 2 * i, "%2x", &v) != 1)
				goto bad;
			in->tickets[i] = (unsigned char)v;
		}
		in->has_tickets = true;
	} else if (strcmp(m->key, "server") == 0) {
		struct handover_server s;
		if (handover_server_parse(m->text, &s) < 0)
			goto bad;
		if (append((void **)&in->servers, &in->nservers, &s, sizeof(s)) < 0)
			goto oom;
	} else if (strcmp(m->key, "member") == 0) {
		struct handover_member mb;
		if (handover_member_parse(m->text, &mb) < 0)
			goto bad;
		if (append((void **)&in->members, &in->nmembers, &mb, sizeof(mb)) < 0)
			goto oom;
	} else if (strcmp(m->key, "rate_limit") == 0) {
		struct handover_rate *r = malloc(sizeof(*r));
		int rc = r ? handover_rate_parse(m->text, r) : -1;
		if (rc == 0)
			rc = append((void **)&in->rates, &in->nrates, r, sizeof(*r));
		free(r);
		if (rc < 0)
			goto bad;
	} else if (strcmp(m->key, "health_changed") == 0) {
		struct handover_changed c;
		if (handover_changed_parse(m->text, &c) < 0)
			goto bad;
		if (append((void **)&in->changed, &in->nchanged, &c, sizeof(c)) < 0)
			goto oom;
	} else if (strcmp(m->key, "slow_start") == 0) {
		struct handover_ramp r;
		if (handover_ramp_parse(m->text, &r) < 0)
			goto bad;
		if (append((void **)&in->ramps, &in->nramps, &r, sizeof(r)) < 0)
			goto oom;
	} else if (strcmp(m->key, "retry_budget") == 0) {
		struct handover_budget b;
		if (handover_budget_parse(m->text, &b) < 0)
			goto bad;
		if (append((void **)&in->budgets, &in->nbudgets, &b, sizeof(b)) < 0)
			goto oom;
	} else if (strcmp(m->key, "found") == 0) {
		struct handover_found f;
		if (handover_found_parse(m->text, &f) < 0)
			goto bad;
		if (append((void **)&in->found, &in->nfound, &f, sizeof(f)) < 0)
			goto oom;
	}
	/* Keys this version does not know are a newer lbd's: left alone. */
	return 0;
bad:
	snprintf(err, errlen, "bad state %s: %.64s", m->key, m->text);
	return -1;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Every per-worker address got all its sockets; fit them to NWORKERS. */
static int complete(struct handover_inherit *in, unsigned nworkers, char *err, size_t errlen)
{
	for (size_t i = 0; i < in->binds.n; i++) {
		struct bind_socket *b = &in->binds.items[i];
		unsigned total = (unsigned)b->listener_index;
		for (unsigned k = 0; k < total; k++)
			if (b->fds[k] < 0) {
				snprintf(err, errlen, "%s: socket %u never came", b->addr.text, k);
				return -1;
			}
		if (fit_workers(b, total, nworkers, err, errlen) < 0)
			return -1;
		b->listener_index = 0;
	}
	in->binds.nworkers = nworkers;
	return 0;
}

static void inherit_init(struct handover_inherit *in)
{
	memset(in, 0, sizeof(*in));
	for (int k = 0; k < HANDOVER_SOCKET_KINDS; k++)
		in->admin_fd[k] = -1;
}

int handover_receive(int sock, unsigned nworkers, struct handover_inherit *in, char *err,
		     size_t errlen)
{
	struct handover_msg *m = malloc(sizeof(*m));
	struct handover_msg hello = { .type = HANDOVER_HELLO, .pid = (uint32_t)getpid() };
	int fds[HANDOVER_FDS_MAX + 1];
	int rc = -1;

	inherit_init(in);
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (handover_send(sock, &hello, NULL, 0, err, errlen) < 0)
		goto out;
	for (;;) {
		size_t nfds;
		int got = handover_recv(sock, m, fds, HANDOVER_FDS_MAX + 1, &nfds,
					HANDOVER_RECV_TIMEOUT_MS, err, errlen);
		if (got == 0)
			snprintf(err, errlen, "the old lbd closed the upgrade before it ended");
		if (got <= 0)
			goto out;
		if (m->type == HANDOVER_END)
			break;
		if (m->type == HANDOVER_SOCKET) {
			if (take_socket(in, m, fds, nfds, err, errlen) < 0)
				goto out;
			continue;
		}
		close_fds(fds, nfds);
		if (m->type != HANDOVER_STATE) {
			snprintf(err, errlen, "unexpected upgrade message (type %d)", (int)m->type);
			goto out;
		}
		if (take_state(in, m, err, errlen) < 0)
			goto out;
	}
	rc = complete(in, nworkers, err, errlen);
out:
	free(m);
	if (rc < 0)
		handover_inherit_free(in);
	return rc;
}

void handover_inherit_free(struct handover_inherit *in)
{
	for (size_t i = 0; i < in->binds.n; i++) {
		struct bind_socket *b = &in->binds.items[i];
		unsigned n = b->per_worker ? in->binds.nworkers : 1;
		if (b->listener_index) /* never completed: the count sent */
			n = (unsigned)b->listener_index;
		for (unsigned k = 0; b->fds && k < n; k++)
			if (b->fds[k] >= 0)
				close(b->fds[k]);
		if (b->lock_fd >= 0)
			close(b->lock_fd);
		free(b->fds);
	}
	free(in->binds.items);
	for (int k = 0; k < HANDOVER_SOCKET_KINDS; k++)
		if (in->admin_fd[k] >= 0)
			close(in->admin_fd[k]);
	free(in->servers);
	free(in->members);
	free(in->found);
	free(in->rates);
	free(in->changed);
	free(in->ramps);
	free(in->budgets);
	inherit_init(in);
}

int handover_ready(int sock)
{
	struct handover_msg m = { .type = HANDOVER_READY };
	char err[128];

	return handover_send(sock, &m, NULL, 0, err, sizeof(err));
}

void handover_failed(int sock, const char *why)
{
	struct handover_msg *m = calloc(1, sizeof(*m));
	char err[128];

	if (!m)
		return;
	m->type = HANDOVER_FAILED;
	snprintf(m->text, sizeof(m->text), "%s", why);
	handover_send(sock, m, NULL, 0, err, sizeof(err));
	free(m);
}

/* resolver.c — the c-ares channel on the main thread's libevent loop: an
 * event per socket c-ares opens (its socket-state callback), one timer
 * from ares_timeout(), and per lookup the order of its queries (SRV, then
 * each target's A and AAAA), its deadline and the call of its callback.
 * What the answers mean is dns_build.c's.
 */
#include "discovery/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <event2/event.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/dns_build.h"

/* ns_t_srv and friends, without arpa/nameser.h's whole namespace. */
enum { QCLASS_IN = 1, QTYPE_A = 1, QTYPE_AAAA = 28, QTYPE_SRV = 33 };

struct rsock {
	struct rsock *next;
	struct resolver *r;
	struct event *ev;
	ares_socket_t fd;
};

struct lookup;

/* One c-ares query's callback argument. */
struct query {
	struct lookup *l;
	size_t name; /* in the build's names: its A or AAAA */
	bool aaaa;
};

struct lookup {
	struct lookup *prev, *next;
	struct resolver *r;
	struct dns_build *b;
	resolver_cb cb; /* NULL once called */
	void *arg;
	unsigned pending;      /* queries c-ares has not called back yet */
	struct query srv;      /* the SRV query's argument */
	struct query *queries; /* two per name: A, AAAA */
	struct event *ev;      /* the deadline, then the call of CB */
	bool answered;         /* every query is in: CB is due */
};

struct resolver {
	struct event_base *base;
	ares_channel channel;
	bool channel_up;
	struct event *timer; /* c-ares's next timeout */
	struct rsock *socks;
	struct lookup *lookups;
	struct timeval deadline; /* timeout × attempts × nameservers */
	bool closing;
};

/* --- c-ares's sockets and timeouts on the loop ----------------------- */

static void rearm(struct resolver *r)
{
	struct timeval tv, *tp = ares_timeout(r->channel, NULL, &tv);

	if (tp)
		evtimer_add(r->timer, tp);
	else
		evtimer_del(r->timer);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm(r);
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = ((struct rsock *)arg)->r; /* c-ares may close the socket */

	ares_process_fd(r->channel, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	rearm(r);
}

static struct rsock **sock_find(struct resolver *r, ares_socket_t fd)
{
	struct rsock **p = &r->socks;

	while (*p && (*p)->fd != fd)
		p = &(*p)->next;
	return p;
}

/* c-ares opened, changed or closed FD. libevent allows freeing an event
 * from its own callback, which is where c-ares closes sockets. Out of
 * memory, the socket goes unwatched and its queries end by timeout. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct rsock **p = sock_find(r, fd);
	struct rsock *s = *p;
	short what = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));

	if (s) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (!what) {
		if (s) {
			*p = s->next;
			free(s);
		}
		return;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return;
		s->r = r;
		s->fd = fd;
		s->next = r->socks;
		r->socks = s;
	}
	s->ev = event_new(r->base, fd, what | EV_PERSIST, on_socket, s);
	if (s->ev)
		event_add(s->ev, NULL);
}

/* --- lookups ---------------------------------------------------------- */

static void lookup_free(struct lookup *l)
{
	struct resolver *r = l->r;

	if (l->prev)
		l->prev->next = l->next;
	else
		r->lookups = l->next;
	if (l->next)
		l->next->prev = l->prev;
	event_free(l->ev);
	dns_build_free(l->b);
	free(l->queries);
	free(l);
}

static void deliver(struct lookup *l, const struct dns_answer *a)
{
	static const struct dns_answer nomem = { .status = DNS_FAILED, .why = "out of memory" };
	resolver_cb cb = l->cb;

	l->cb = NULL;
	cb(l->arg, a ? a : &nomem);
}

static void deliver_cancelled(struct lookup *l)
{
	static const struct dns_answer cancelled = { .status = DNS_CANCELLED, .why = "cancelled" };

	if (l->cb)
		deliver(l, &cancelled);
}

/* A query is in. The last one makes the answer due, from the loop (a
 * query can end inside ares_query(), so inside resolver_lookup()). */
static void query_done(struct lookup *l)
{
	if (--l->pending > 0)
		return;
	if (l->r->closing) {
		deliver_cancelled(l);
		lookup_free(l);
	} else if (!l->cb) {
		lookup_free(l); /* answered at its deadline already */
	} else {
		l->answered = true;
		event_active(l->ev, EV_TIMEOUT, 0);
	}
}

/* The deadline (whatever is in by then makes the answer), or every query
 * in. */
static void on_lookup_event(evutil_socket_t fd, short what, void *arg)
{
	struct lookup *l = arg;

	if (l->cb)
		deliver(l, dns_build_finish(l->b));
	if (l->answered)
		lookup_free(l);
}

static bool wanted(const struct lookup *l)
{
	return l->cb && !l->r->closing;
}

static void on_addrs(void *arg, int status, int timeouts, unsigned char *buf, int len)
{
	struct query *q = arg;

	if (wanted(q->l))
		dns_build_addrs(q->l->b, q->name, q->aaaa, status, buf, len);
	query_done(q->l);
}

static void send_query(struct lookup *l, const char *name, int type, ares_callback cb,
		       struct query *q)
{
	l->pending++;
	ares_query(l->r->channel, name, QCLASS_IN, type, cb, q);
}

/* Each name's A and AAAA, side by side. */
static void ask_names(struct lookup *l)
{
	size_t n = dns_build_nnames(l->b);

	if (n == 0)
		return;
	l->queries = calloc(2 * n, sizeof(*l->queries));
	for (size_t i = 0; i < 2 * n; i++) {
		bool aaaa = i % 2;
		if (!l->queries) {
			dns_build_addrs(l->b, i / 2, aaaa, ARES_ENOMEM, NULL, 0);
			continue;
		}
		l->queries[i] = (struct query){ .l = l, .name = i / 2, .aaaa = aaaa };
		send_query(l, dns_build_name(l->b, i / 2), aaaa ? QTYPE_AAAA : QTYPE_A, on_addrs,
			   &l->queries[i]);
	}
}

static void on_srv(void *arg, int status, int timeouts, unsigned char *buf, int len)
{
	struct lookup *l = ((struct query *)arg)->l;

	if (wanted(l)) {
		dns_build_srv(l->b, status, buf, len);
		ask_names(l);
	}
	query_done(l);
}

int resolver_lookup(struct resolver *r, const char *name, uint16_t port, resolver_cb cb, void *arg)
{
	struct lookup *l;

	if (r->closing || !cb)
		return -1;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -1;
	l->r = r;
	l->cb = cb;
	l->arg = arg;
	l->b = dns_build_new(name, port);
	l->ev = evtimer_new(r->base, on_lookup_event, l);
	if (!l->b || !l->ev || evtimer_add(l->ev, &r->deadline) != 0) {
		if (l->ev)
			event_free(l->ev);
		dns_build_free(l->b);
		free(l);
		return -1;
	}
	l->next = r->lookups;
	if (r->lookups)
		r->lookups->prev = l;
	r->lookups = l;
	/* Held until every first query is sent: one that ends at once must
	 * not make the answer due before its sibling is asked. */
	l->pending = 1;
	l->srv.l = l;
	if (dns_build_srv_name(l->b))
		send_query(l, dns_build_srv_name(l->b), QTYPE_SRV, on_srv, &l->srv);
	else
		ask_names(l);
	query_done(l);
	rearm(r);
	return 0;
}

/* --- the resolver ----------------------------------------------------- */

static int set_nameservers(struct resolver *r, const struct resolver_options *o, char *err,
			   size_t errlen)
{
	struct ares_addr_port_node *nodes = calloc(o->nnameservers, sizeof(*nodes));
	int st;

	if (!nodes) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < o->nnameservers; i++) {
		const struct lbd_addr *a = &o->nameservers[i];
		const struct sockaddr *sa = (const struct sockaddr *)&a->sa;
		struct ares_addr_port_node *n = &nodes[i];
		n->next = i + 1 < o->nnameservers ? &nodes[i + 1] : NULL;
		n->family = sa->sa_family;
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
			n->addr.addr4 = sin->sin_addr;
			n->udp_port = n->tcp_port = ntohs(sin->sin_port);
		} else if (sa->sa_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
			memcpy(&n->addr.addr6, &sin6->sin6_addr, sizeof(n->addr.addr6));
			n->udp_port = n->tcp_port = ntohs(sin6->sin6_port);
		} else {
			snprintf(err, errlen, "nameserver %s: an IPv4 or IPv6 address and port",
				 a->text);
			free(nodes);
			return -1;
		}
	}
	st = ares_set_servers_ports(r->channel, nodes);
	free(nodes);
	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "nameservers: %s", ares_strerror(st));
		return -1;
	}
	return 0;
}

/* The whole budget of a lookup, as an HAProxy user reads "timeout" and
 * "attempts": each try waits timeout, each nameserver gets attempts tries.
 * c-ares itself doubles the timeout after each round, which would make
 * 2 s × 4 attempts a minute. */
static int set_deadline(struct resolver *r, char *err, size_t errlen)
{
	struct ares_options opts;
	struct ares_addr_port_node *servers = NULL;
	int mask;
	uint64_t ms, nservers = 0;
	int st = ares_save_options(r->channel, &opts, &mask);

	if (st == ARES_SUCCESS)
		st = ares_get_servers_ports(r->channel, &servers);
	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(st));
		return -1;
	}
	for (const struct ares_addr_port_node *n = servers; n; n = n->next)
		nservers++;
	ms = (uint64_t)(opts.timeout > 0 ? opts.timeout : 1) *
	     (uint64_t)(opts.tries > 0 ? opts.tries : 1);
	ms *= nservers ? nservers : 1;
	ares_free_data(servers);
	ares_destroy_options(&opts);
	r->deadline.tv_sec = (time_t)(ms / 1000);
	r->deadline.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return 0;
}

/* glibc's "options timeout:N attempts:N" of resolv.conf (c-ares 1.18
 * reads only the BSD "retrans:" and "retry:"), and glibc's defaults, 5 s
 * and 2, where the file says nothing: the system resolver keeps the
 * system's budget. */
static void resolv_conf_budget(const char *path, uint64_t *timeout_ms, unsigned *attempts)
{
	FILE *f = fopen(path ? path : "/etc/resolv.conf", "r");
	char line[512];

	*timeout_ms = 5000;
	*attempts = 2;
	while (f && fgets(line, sizeof(line), f)) {
		char *save = NULL, *w = strtok_r(line, " \t\r\n", &save);
		if (!w || strcmp(w, "options") != 0)
			continue;
		while ((w = strtok_r(NULL, " \t\r\n", &save))) {
			unsigned long v;
			if (sscanf(w, "timeout:%lu", &v) == 1)
				*timeout_ms = (v < 1  ? 1 :
					       v > 30 ? 30 :
							v) *
					      1000; /* glibc's bounds */
			else if (sscanf(w, "attempts:%lu", &v) == 1)
				*attempts = v < 1 ? 1 : v > 5 ? 5 : (unsigned)v;
		}
	}
	if (f)
		fclose(f);
}

static int channel_init(struct resolver *r, const struct resolver_options *o, char *err,
			size_t errlen)
{
	struct ares_options opts;
	int mask = ARES_OPT_FLAGS | ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	uint64_t timeout_ms;
	unsigned attempts;
	int st;

	resolv_conf_budget(o->resolv_conf, &timeout_ms, &attempts);
	if (o->timeout_ms)
		timeout_ms = o->timeout_ms;
	if (o->attempts)
		attempts = o->attempts;
	memset(&opts, 0, sizeof(opts));
	/* Not ARES_FLAG_IGNTC: a truncated answer is asked again over TCP.
	 * Names go out with ares_query(), which never applies the search
	 * list, so ARES_FLAG_NOSEARCH would change nothing. */
	opts.flags = ARES_FLAG_EDNS;
	opts.sock_state_cb = on_sock_state;
	opts.sock_state_cb_data = r;
	opts.timeout = timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms;
	opts.tries = attempts > INT_MAX ? INT_MAX : (int)attempts;
	if (o->resolv_conf) {
		mask |= ARES_OPT_RESOLVCONF;
		opts.resolvconf_path = (char *)o->resolv_conf; /* c-ares copies it */
	}
	st = ares_init_options(&r->channel, &opts, mask);
	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(st));
		return -1;
	}
	r->channel_up = true;
	if (o->nnameservers && set_nameservers(r, o, err, errlen) != 0)
		return -1;
	return set_deadline(r, err, errlen);
}

struct resolver *resolver_new(struct event_base *base, const struct resolver_options *o, char *err,
			      size_t errlen)
{
	static const struct resolver_options none;
	struct resolver *r;
	int st = ares_library_init(ARES_LIB_INIT_ALL);

	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(st));
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		ares_library_cleanup();
		return NULL;
	}
	r->base = base;
	r->timer = evtimer_new(base, on_timer, r);
	if (!r->timer) {
		snprintf(err, errlen, "out of memory");
		resolver_free(r);
		return NULL;
	}
	if (channel_init(r, o ? o : &none, err, errlen) != 0) {
		resolver_free(r);
		return NULL;
	}
	return r;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	r->closing = true;
	/* Ends every query (ARES_EDESTRUCTION): their lookups are called
	 * back cancelled and freed in query_done(). */
	if (r->channel_up)
		ares_destroy(r->channel);
	while (r->lookups) {
		deliver_cancelled(r->lookups); /* answered, waiting for the loop */
		lookup_free(r->lookups);
	}
	while (r->socks) {
		struct rsock *s = r->socks;
		r->socks = s->next;
		if (s->ev)
			event_free(s->ev);
		free(s);
	}
	if (r->timer)
		event_free(r->timer);
	free(r);
	ares_library_cleanup();
}

/* resolve.c — one lookup through lbd's resolver (src/discovery/resolver.c),
 * for the end-to-end tests (tests/e2e/test_resolver.py); not installed.
 *
 *   resolve [--ns IP:PORT]... [--timeout MS] [--attempts N]
 *           [--resolv-conf FILE] [--cancel-after MS] NAME [PORT]
 *
 * Prints one line per target, "TARGET ADDRESS PRIORITY WEIGHT", then
 * "status OK" (or "status EMPTY NXDOMAIN", "status FAILED timeout", ...)
 * and "ttl N". --cancel-after frees the resolver after MS milliseconds,
 * which must call the lookup back cancelled. Exits 0 for OK, 1 for any
 * other answer, 2 for bad arguments or a resolver that does not start.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/resolver.h"
#include "util/addr.h"

#define NS_MAX 8

struct run {
	struct event_base *base;
	struct resolver *r;
	int calls;
	enum dns_status status;
};

static const char *const status_words[] = { "OK", "EMPTY", "FAILED", "CANCELLED" };

static void on_answer(void *arg, const struct dns_answer *a)
{
	struct run *run = arg;

	for (size_t i = 0; i < a->n; i++)
		printf("%s %s %u %u\n", a->targets[i].target, a->targets[i].addr.text,
		       (unsigned)a->targets[i].priority, (unsigned)a->targets[i].weight);
	printf("status %s%s%s\nttl %u\n", status_words[a->status], a->why ? " " : "",
	       a->why ? a->why : "", (unsigned)a->ttl_s);
	fflush(stdout);
	run->calls++;
	run->status = a->status;
	event_base_loopbreak(run->base);
}

static void on_cancel(evutil_socket_t fd, short what, void *arg)
{
	struct run *run = arg;

	resolver_free(run->r);
	run->r = NULL;
	event_base_loopbreak(run->base);
}

static int usage(void)
{
	fprintf(stderr, "usage: resolve [--ns IP:PORT]... [--timeout MS] [--attempts N] "
			"[--resolv-conf FILE] [--cancel-after MS] NAME [PORT]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static struct lbd_addr ns[NS_MAX];
	struct resolver_options o = { .nameservers = ns };
	struct run run = { 0 };
	struct event *cancel = NULL;
	long cancel_ms = -1;
	char err[256];
	int i;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		const char *why;
		if (i + 1 >= argc)
			return usage();
		if (strcmp(argv[i], "--ns") == 0 && o.nnameservers < NS_MAX) {
			if (addr_parse(argv[i + 1], &ns[o.nnameservers++], &why) != 0) {
				fprintf(stderr, "resolve: --ns %s: %s\n", argv[i + 1], why);
				return 2;
			}
		} else if (strcmp(argv[i], "--timeout") == 0) {
			o.timeout_ms = strtoull(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--attempts") == 0) {
			o.attempts = (unsigned)strtoul(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--resolv-conf") == 0) {
			o.resolv_conf = argv[i + 1];
		} else if (strcmp(argv[i], "--cancel-after") == 0) {
			cancel_ms = strtol(argv[i + 1], NULL, 10);
		} else {
			return usage();
		}
	}
	if (i != argc - 1 && i != argc - 2)
		return usage();

	run.base = event_base_new();
	if (!run.base)
		return 2;
	run.r = resolver_new(run.base, &o, err, sizeof(err));
	if (!run.r) {
		fprintf(stderr, "resolve: %s\n", err);
		return 2;
	}
	uint16_t port = i + 1 < argc ? (uint16_t)strtoul(argv[i + 1], NULL, 10) : 0;
	if (resolver_lookup(run.r, argv[i], port, on_answer, &run) != 0) {
		fprintf(stderr, "resolve: out of memory\n");
		return 2;
	}
	if (cancel_ms >= 0) {
		struct timeval tv = { cancel_ms / 1000, (cancel_ms % 1000) * 1000 };
		cancel = evtimer_new(run.base, on_cancel, &run);
		evtimer_add(cancel, &tv);
	}
	event_base_dispatch(run.base);
	if (cancel)
		event_free(cancel);
	resolver_free(run.r);
	event_base_free(run.base);
	if (run.calls != 1) {
		fprintf(stderr, "resolve: the callback ran %d times\n", run.calls);
		return 2;
	}
	return run.status == DNS_OK ? 0 : 1;
}

/* fuzz_h2.c — libFuzzer target for the HTTP/2 client side (src/http2/):
 * arbitrary frames, after a valid connection preface, on a client
 * connection of a real worker, whose pool's server is a fake HTTP/1 server
 * in the same process.
 *
 * The connection is one end of a socketpair handed to the worker's HTTP
 * protocol as an accepted socket, so the h2c preface sniffing, the
 * hand-over to h2_conn_start() and everything after it run as in lbd. The
 * fake server answers each request head it sees the way the input's first
 * byte says (a short body, a chunked one, a large one, or a close without
 * an answer), so responses come back to the streams as frames.
 *
 * Input: one byte of flags (bits 0-1: the fake server's answer; bit 2: the
 * client half-closes its side once everything is written, instead of
 * closing it), then the bytes that follow the client preface. Each input
 * ends with the client gone and every connection freed, so LeakSanitizer
 * sees what one input leaves behind. `make fuzz-h2` runs it.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "balance/balance.h"
#include "config/config.h"
#include "config/config_runtime.h"
#include "core/log.h"
#include "event/worker.h"
#include "http2/http2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* Loop passes to let a written input play out, and at most this many
 * more for the connection to end once the client is gone. */
#define SETTLE_PASSES 64
#define CLOSE_PASSES 256

/* --- the fake server ---------------------------------------------------- */

enum answer {
	ANSWER_SHORT,   /* 200 with Content-Length */
	ANSWER_CHUNKED, /* 200, chunked */
	ANSWER_LARGE,   /* 200 with 256 KiB: more than a window */
	ANSWER_CLOSE,   /* closes without an answer */
};

struct fake_conn {
	LIST_ENTRY(fake_conn) link;
	struct bufferevent *bev;
	size_t scanned; /* bytes of input already searched for a head's end */
};

static struct {
	int listen_fd;
	struct event *accept_ev;
	LIST_HEAD(, fake_conn) conns;
	enum answer answer;
} fake;

static void fake_conn_free(struct fake_conn *fc)
{
	LIST_REMOVE(fc, link);
	bufferevent_free(fc->bev);
	free(fc);
}

/* Every connection of the fake server ends with a reset: no TIME_WAIT is
 * left on either side, so thousands of inputs a second do not use up the
 * machine's ephemeral ports. */
static void fake_reset_all(void)
{
	const struct linger reset = { .l_onoff = 1, .l_linger = 0 };

	while (!LIST_EMPTY(&fake.conns)) {
		struct fake_conn *fc = LIST_FIRST(&fake.conns);
		setsockopt(bufferevent_getfd(fc->bev), SOL_SOCKET, SO_LINGER, &reset,
			   sizeof(reset));
		fake_conn_free(fc);
	}
}

static void fake_answer(struct fake_conn *fc)
{
	static const char large_head[] = "HTTP/1.1 200 OK\r\nContent-Length: 262144\r\n\r\n";
	static char large_body[262144];
	struct evbuffer *out = bufferevent_get_output(fc->bev);

	switch (fake.answer) {
	case ANSWER_SHORT:
		evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
					 "X-Fake: 1\r\n\r\nhello");
		break;
	case ANSWER_CHUNKED:
		evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
					 "3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n");
		break;
	case ANSWER_LARGE:
		evbuffer_add(out, large_head, sizeof(large_head) - 1);
		evbuffer_add_reference(out, large_body, sizeof(large_body), NULL, NULL);
		break;
	case ANSWER_CLOSE:
		break;
	}
}

/* Each request head gets an answer; bodies are read and ignored (a head
 * is found by its blank line, which a body may hold too: then the server
 * answers once more, which lbd must survive as well). */
static void fake_on_read(struct bufferevent *bev, void *arg)
{
	struct fake_conn *fc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		struct evbuffer_ptr at;
		evbuffer_ptr_set(in, &at, fc->scanned > 3 ? fc->scanned - 3 : 0, EVBUFFER_PTR_SET);
		struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, &at);
		if (end.pos < 0) {
			fc->scanned = evbuffer_get_length(in);
			return;
		}
		evbuffer_drain(in, (size_t)end.pos + 4);
		fc->scanned = 0;
		if (fake.answer == ANSWER_CLOSE) {
			fake_conn_free(fc);
			return;
		}
		fake_answer(fc);
	}
}

static void fake_on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev, (void)what;
	fake_conn_free(arg);
}

static void fake_on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct event_base *base = arg;

	(void)what;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return;
		struct fake_conn *fc = calloc(1, sizeof(*fc));
		if (!fc)
			abort();
		fc->bev = bufferevent_socket_new(base, cfd, BEV_OPT_CLOSE_ON_FREE);
		if (!fc->bev)
			abort();
		LIST_INSERT_HEAD(&fake.conns, fc, link);
		bufferevent_setcb(fc->bev, fake_on_read, NULL, fake_on_event, fc);
		bufferevent_enable(fc->bev, EV_READ | EV_WRITE);
	}
}

/* --- set-up, once a process ----------------------------------------------- */

static struct {
	struct config *cfg;
	struct conn_limit conns;
	struct worker w;
	void *http; /* the worker's HTTP protocol state */
} lbd;

static const struct worker_protocol *const protocols[] = { &http2_protocol };

static void teardown(void)
{
	fake_reset_all();
	if (fake.accept_ev)
		event_free(fake.accept_ev);
	close(fake.listen_fd);
	worker_free(&lbd.w);
	config_unref(lbd.cfg);
}

static int fake_listen(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		abort();
	fake.listen_fd = fd;
	return ntohs(sin.sin_port);
}

/* Small limits, so that the fuzzer reaches them: few streams, a small
 * header list, a few requests per connection. */
static void setup(void)
{
	char yaml[1024];
	struct config_errors errs;

	int port = fake_listen();
	snprintf(yaml, sizeof(yaml),
		 "defaults:\n"
		 "  timeouts: { connect: 1s, header: 1s, client_idle: 1s, server: 1s }\n"
		 "  limits: { h2_max_streams: 8, h2_max_requests: 64, header_size: 4096,"
		 " headers: 20, body_size: 65536 }\n"
		 "listeners:\n"
		 "  - { name: web, bind: [127.0.0.1:1], http2: true, routes: [{ pool: api }] }\n"
		 "pools:\n"
		 "  - name: api\n"
		 "    servers: [{ name: a, address: \"127.0.0.1:%d\" }]\n",
		 port);
	log_set_level(LOG_LEVEL_ERROR);
	config_errors_init(&errs);
	lbd.cfg = config_load_buffer("fuzz.yaml", yaml, strlen(yaml), &errs);
	for (size_t i = 0; i < errs.count; i++) {
		char line[256];
		config_error_format(&errs.items[i], line, sizeof(line));
		fprintf(stderr, "fuzz_h2: %s\n", line);
	}
	config_errors_free(&errs);
	if (!lbd.cfg || config_attach_runtime(lbd.cfg) != 0 || balance_build(lbd.cfg) != 0)
		abort();
	atomic_store(&lbd.conns.max, 1000);
	struct worker_env env = {
		.protocols = protocols,
		.nprotocols = 1,
		.conns = &lbd.conns,
	};
	if (worker_init(&lbd.w, 0, &env, lbd.cfg) != 0)
		abort();
	lbd.http = lbd.w.protos[0].ctx;
	fake.accept_ev = event_new(lbd.w.base, fake.listen_fd, EV_READ | EV_PERSIST, fake_on_accept,
				   lbd.w.base);
	if (!fake.accept_ev || event_add(fake.accept_ev, NULL) != 0)
		abort();
	LIST_INIT(&fake.conns);
	atexit(teardown);
}

/* --- one input ------------------------------------------------------------- */

/* One pass of the loop, and what lbd sent the client read and dropped. */
static void pass(int client)
{
	char buf[16384];

	event_base_loop(lbd.w.base, EVLOOP_NONBLOCK);
	while (read(client, buf, sizeof(buf)) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct sockaddr_in peer = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				    .sin_port = htons(40000) };
	int fds[2];

	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 1)
		return 0;
	fake.answer = (enum answer)(data[0] & 3);
	bool half_close = data[0] & 4;
	data++, size--;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
		abort();
	/* The worker's accept takes a slot before it hands the socket on. */
	atomic_fetch_add(&lbd.conns.open, 1);
	if (http2_protocol.accept(lbd.http, 0, fds[0], (struct sockaddr *)&peer, sizeof(peer)) < 0)
		abort();

	/* The preface, then the input, written as the socket takes it. */
	size_t total = sizeof(preface) - 1 + size, sent = 0;
	for (int stuck = 0; sent < total && stuck < SETTLE_PASSES;) {
		const void *from = sent < sizeof(preface) - 1 ?
					   (const void *)(preface + sent) :
					   (const void *)(data + sent - (sizeof(preface) - 1));
		size_t len = sent < sizeof(preface) - 1 ? sizeof(preface) - 1 - sent : total - sent;
		ssize_t n = write(fds[1], from, len);
		if (n > 0)
			sent += (size_t)n, stuck = 0;
		else if (n < 0 && errno != EAGAIN)
			break;
		else
			stuck++;
		pass(fds[1]);
	}
	for (int i = 0; i < SETTLE_PASSES; i++)
		pass(fds[1]);
	/* The server goes first (see fake_reset_all()): the streams still
	 * waiting on it fail, the idle connections lbd kept are closed. */
	fake_reset_all();
	for (int i = 0; i < SETTLE_PASSES; i++)
		pass(fds[1]);

	/* The client leaves; every connection must end with it. */
	if (half_close) {
		shutdown(fds[1], SHUT_WR);
		for (int i = 0; i < SETTLE_PASSES && lbd.w.nconns; i++)
			pass(fds[1]);
	}
	close(fds[1]);
	for (int i = 0; i < CLOSE_PASSES && lbd.w.nconns; i++)
		event_base_loop(lbd.w.base, EVLOOP_NONBLOCK);
	if (lbd.w.nconns)
		abort();               /* a connection outlived its client */
	http2_protocol.stop(lbd.http); /* idle server connections, if any */
	fake_reset_all();
	return 0;
}

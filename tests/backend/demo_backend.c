/* demo_backend.c — lbd-demo-backend: several named HTTP servers in one
 * process, for trying lbd by hand and for the end-to-end tests.
 *
 * Every instance answers every request with its own name, what it received
 * and the forwarding headers lbd added, so a person (or a test) sees at a
 * glance which server answered and what lbd sent. A few paths make it
 * misbehave on purpose: a chosen status, a delay, a large streamed body.
 */
#include "build_config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define PROG "lbd-demo-backend"
#define DELAY_MAX_MS 60000
#define BYTES_MAX (1ULL << 30)
#define BODY_MAX (64 * 1024 * 1024)
#define CHUNK_SIZE (64 * 1024)
/* Long enough for the longest /delay. */
#define TIMEOUT_S 120

struct instance {
	char *spec; /* NAME=HOST:PORT, cut in place into the three below */
	const char *name;
	char *host;
	char *port;
	struct evhttp *http;
};

/* In-flight work is kept on lists so that shutdown can free it. */
struct link {
	struct link *prev, *next;
};

/* A /delay request waiting for its timer. */
struct delayed {
	struct link link; /* first: a struct link * is a struct delayed * */
	struct instance *inst;
	struct evhttp_request *req;
	struct event *timer;
	int status;
};

/* A /bytes response being streamed, one chunk at a time: the next chunk is
 * queued only when the previous one has gone out, so a slow client holds
 * one chunk of memory, not the whole body. */
struct stream {
	struct link link; /* first, as in struct delayed */
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	uint64_t sent, total;
};

static bool quiet;
static struct event_base *base;
static struct link delays = { &delays, &delays };
static struct link streams = { &streams, &streams };

static void link_insert(struct link *head, struct link *l)
{
	l->next = head->next;
	l->prev = head;
	head->next->prev = l;
	head->next = l;
}

static void link_remove(struct link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " [-q] NAME=HOST:PORT [NAME=HOST:PORT ...]\n"
		"Serve one small HTTP server per NAME=HOST:PORT (PORT 0 picks a free\n"
		"port; each bound address is printed on stdout).\n"
		"\n"
		"  -q, --quiet  do not log each request on stderr\n"
		"  -h, --help   print this help and exit\n"
		"\n"
		"Every server answers:\n"
		"  GET /healthz      200 \"ok\"\n"
		"  ANY /status/NNN   status NNN (200-599)\n"
		"  ANY /delay/MS     200 after MS milliseconds (at most %d)\n"
		"  ANY /bytes/N      N bytes of body (at most 1 GiB), streamed;\n"
		"                    add ?chunked=1 for chunked transfer coding\n"
		"  POST /echo        the request body\n"
		"  anything else     200 \"NAME: METHOD PATH from CLIENT (...)\"\n"
		"\n"
		"example: " PROG " app1=127.0.0.1:9001 app2=127.0.0.1:9002\n",
		DELAY_MAX_MS);
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	case EVHTTP_REQ_CONNECT:
		return "CONNECT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	}
	return "?";
}

static const char *client_addr(struct evhttp_request *req, ev_uint16_t *port)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	char *addr = NULL;

	*port = 0;
	if (conn != NULL)
		evhttp_connection_get_peer(conn, &addr, port);
	return addr != NULL ? addr : "-";
}

static const char *header_or_dash(struct evhttp_request *req, const char *name)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);

	return v != NULL ? v : "-";
}

static void log_request(struct instance *inst, struct evhttp_request *req, int status)
{
	ev_uint16_t port;
	const char *addr;

	if (quiet)
		return;
	addr = client_addr(req, &port);
	fprintf(stderr, "%s: %s:%u %s %s %d\n", inst->name, addr, port,
		method_name(evhttp_request_get_command(req)), evhttp_request_get_uri(req), status);
}

static void reply(struct instance *inst, struct evhttp_request *req, int status,
		  struct evbuffer *body)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	evhttp_add_header(out, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(out, "X-Backend", inst->name);
	log_request(inst, req, status);
	/* HEAD: the length GET would have, no body (libevent 2.1 would send
	 * one after the head). */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		char len[24];
		snprintf(len, sizeof(len), "%zu", body ? evbuffer_get_length(body) : (size_t)0);
		evhttp_add_header(out, "Content-Length", len);
		evhttp_send_reply(req, status, NULL, NULL);
		return;
	}
	evhttp_send_reply(req, status, NULL, body);
}

static void reply_text(struct instance *inst, struct evhttp_request *req, int status,
		       const char *text)
{
	struct evbuffer *body = evbuffer_new();

	if (body != NULL)
		evbuffer_add(body, text, strlen(text));
	reply(inst, req, status, body);
	if (body != NULL)
		evbuffer_free(body);
}

/* The default answer: who answered, and what lbd forwarded. */
static void reply_hello(struct instance *inst, struct evhttp_request *req, int status)
{
	struct evbuffer *body = evbuffer_new();
	ev_uint16_t port;

	if (body == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add_printf(body, "%s: %s %s from %s (X-Forwarded-For: %s, Host: %s)\n", inst->name,
			    method_name(evhttp_request_get_command(req)),
			    evhttp_request_get_uri(req), client_addr(req, &port),
			    header_or_dash(req, "X-Forwarded-For"), header_or_dash(req, "Host"));
	reply(inst, req, status, body);
	evbuffer_free(body);
}

/* Parses the decimal number after PREFIX in PATH, up to MAX. Returns 1 when
 * PATH has the prefix and a valid number, 0 when it lacks the prefix, -1
 * when the number is bad. */
static int path_number(const char *path, const char *prefix, uint64_t max, uint64_t *out)
{
	size_t n = strlen(prefix);
	uint64_t v = 0;
	const char *p;

	if (strncmp(path, prefix, n) != 0)
		return 0;
	p = path + n;
	if (*p == '\0')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max)
			return -1;
	}
	if (*p != '\0')
		return -1;
	*out = v;
	return 1;
}

/* ---- /delay ---- */

static void delayed_free(struct delayed *d)
{
	link_remove(&d->link);
	event_free(d->timer);
	free(d);
}

static void delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct delayed *d = arg;

	/* If the client left meanwhile, libevent detached the request and
	 * evhttp_send_reply() just frees it. */
	reply_hello(d->inst, d->req, d->status);
	delayed_free(d);
}

static void start_delay(struct instance *inst, struct evhttp_request *req, uint64_t ms)
{
	struct delayed *d = calloc(1, sizeof(*d));
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	if (d == NULL || (d->timer = evtimer_new(base, delay_done, d)) == NULL) {
		free(d);
		reply_text(inst, req, 500, "out of memory\n");
		return;
	}
	d->inst = inst;
	d->req = req;
	d->status = 200;
	link_insert(&delays, &d->link);
	evtimer_add(d->timer, &tv);
}

/* ---- /bytes ---- */

static void stream_free(struct stream *s)
{
	link_remove(&s->link);
	free(s);
}

static void stream_closed(struct evhttp_connection *conn, void *arg)
{
	struct stream *s = arg;

	evhttp_connection_set_closecb(conn, NULL, NULL);
	/* A detached request is ours to free; an attached one goes with its
	 * connection. */
	if (evhttp_request_get_connection(s->req) == NULL)
		evhttp_request_free(s->req);
	stream_free(s);
}

/* Bytes of the body are 'a'..'z' repeating, so a test can check any slice. */
static void stream_next(struct evhttp_connection *conn, void *arg)
{
	struct stream *s = arg;
	char chunk[CHUNK_SIZE];
	struct evbuffer *buf;
	size_t n;

	if (s->sent == s->total) {
		evhttp_connection_set_closecb(s->conn, NULL, NULL);
		evhttp_send_reply_end(s->req);
		stream_free(s);
		return;
	}
	n = s->total - s->sent < sizeof(chunk) ? (size_t)(s->total - s->sent) : sizeof(chunk);
	for (size_t i = 0; i < n; i++)
		chunk[i] = (char)('a' + (s->sent + i) % 26);
	s->sent += n;
	buf = evbuffer_new();
	if (buf == NULL) { /* the client sees a short body */
		evhttp_connection_set_closecb(s->conn, NULL, NULL);
		evhttp_send_reply_end(s->req);
		stream_free(s);
		return;
	}
	evbuffer_add(buf, chunk, n);
	evhttp_send_reply_chunk_with_cb(s->req, buf, stream_next, s);
	evbuffer_free(buf);
}

static bool query_has(struct evhttp_request *req, const char *key, const char *value)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	const char *v;
	bool found;

	if (query == NULL || evhttp_parse_query_str(query, &params) != 0)
		return false;
	v = evhttp_find_header(&params, key);
	found = v != NULL && strcmp(v, value) == 0;
	evhttp_clear_headers(&params);
	return found;
}

static void start_bytes(struct instance *inst, struct evhttp_request *req, uint64_t n)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct stream *s;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		reply_text(inst, req, 500, "out of memory\n");
		return;
	}
	s->req = req;
	s->conn = evhttp_request_get_connection(req);
	s->total = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD ? 0 : n;
	evhttp_add_header(out, "Content-Type", "application/octet-stream");
	evhttp_add_header(out, "X-Backend", inst->name);
	/* With Content-Length libevent sends the body as is; without it, an
	 * HTTP/1.1 response is chunked. */
	if (!query_has(req, "chunked", "1")) {
		char len[24];

		snprintf(len, sizeof(len), "%" PRIu64, n);
		evhttp_add_header(out, "Content-Length", len);
	}
	link_insert(&streams, &s->link);
	evhttp_connection_set_closecb(s->conn, stream_closed, s);
	log_request(inst, req, 200);
	evhttp_send_reply_start(req, 200, NULL);
	stream_next(s->conn, s);
}

/* ---- dispatch ---- */

static void handle(struct evhttp_request *req, void *arg)
{
	struct instance *inst = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	uint64_t n;
	int r;

	if (path == NULL)
		path = "/";
	if (strcmp(path, "/healthz") == 0) {
		reply_text(inst, req, 200, "ok\n");
	} else if (strcmp(path, "/echo") == 0) {
		reply(inst, req, 200, evhttp_request_get_input_buffer(req));
	} else if ((r = path_number(path, "/status/", 599, &n)) != 0) {
		if (r < 0 || n < 200)
			reply_text(inst, req, 400, "/status/NNN takes a status from 200 to 599\n");
		else
			reply_hello(inst, req, (int)n);
	} else if ((r = path_number(path, "/delay/", DELAY_MAX_MS, &n)) != 0) {
		if (r < 0)
			reply_text(inst, req, 400, "/delay/MS takes 0 to 60000 milliseconds\n");
		else
			start_delay(inst, req, n);
	} else if ((r = path_number(path, "/bytes/", BYTES_MAX, &n)) != 0) {
		if (r < 0)
			reply_text(inst, req, 400, "/bytes/N takes 0 to 1073741824 bytes\n");
		else
			start_bytes(inst, req, n);
	} else {
		reply_hello(inst, req, 200);
	}
}

/* ---- start-up ---- */

/* NAME=HOST:PORT, NAME=[V6]:PORT. */
static int parse_instance(char *arg, struct instance *inst)
{
	char *eq = strchr(arg, '='), *addr, *colon;

	if (eq == NULL || eq == arg)
		return -1;
	*eq = '\0';
	addr = eq + 1;
	if (*addr == '[') {
		char *end = strchr(addr, ']');

		if (end == NULL || end[1] != ':')
			return -1;
		*end = '\0';
		addr++;
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL || colon == addr)
			return -1;
	}
	*colon = '\0';
	inst->name = arg;
	inst->host = addr;
	inst->port = colon + 1;
	if (*inst->port == '\0' || strspn(inst->port, "0123456789") != strlen(inst->port) ||
	    strlen(inst->port) > 5 || atoi(inst->port) > 65535)
		return -1;
	return 0;
}

static void print_bound(struct instance *inst, struct evhttp_bound_socket *bound)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &len) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		printf("%s listening on %s:%s\n", inst->name, inst->host, inst->port);
		return;
	}
	printf(ss.ss_family == AF_INET6 ? "%s listening on [%s]:%s\n" : "%s listening on %s:%s\n",
	       inst->name, host, port);
}

static int start_instance(struct instance *inst)
{
	struct evhttp_bound_socket *bound;

	inst->http = evhttp_new(base);
	if (inst->http == NULL)
		return -1;
	evhttp_set_allowed_methods(inst->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						       EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						       EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_max_body_size(inst->http, BODY_MAX);
	evhttp_set_timeout(inst->http, TIMEOUT_S);
	evhttp_set_gencb(inst->http, handle, inst);
	errno = 0; /* a name that does not resolve leaves it untouched */
	bound = evhttp_bind_socket_with_handle(inst->http, inst->host,
					       (ev_uint16_t)atoi(inst->port));
	if (bound == NULL) {
		fprintf(stderr, PROG ": %s: cannot listen on %s:%s%s%s\n", inst->name, inst->host,
			inst->port, errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
		return -1;
	}
	print_bound(inst, bound);
	return 0;
}

static void libevent_log(int severity, const char *msg)
{
	fprintf(stderr, PROG ": libevent: %s\n", msg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(base);
}

/* Frees what is still in flight, so that sanitizer builds see no leak. */
static void shutdown_all(struct instance *insts, int n)
{
	while (delays.next != &delays) {
		struct delayed *d = (struct delayed *)delays.next;

		if (evhttp_request_get_connection(d->req) == NULL)
			evhttp_request_free(d->req);
		delayed_free(d);
	}
	for (int i = 0; i < n; i++)
		if (insts[i].http != NULL)
			evhttp_free(insts[i].http); /* runs stream_closed */
	while (streams.next != &streams) {
		struct stream *s = (struct stream *)streams.next;

		evhttp_request_free(s->req); /* detached and never closed */
		stream_free(s);
	}
}

static void free_instances(struct instance *insts, int n)
{
	for (int i = 0; i < n; i++)
		free(insts[i].spec);
	free(insts);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct instance *insts;
	struct event *sigterm, *sigint;
	int c, n, rc = 0;

	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return 2;
		}
	}
	n = argc - optind;
	if (n == 0) {
		usage(stderr);
		return 2;
	}
	insts = calloc((size_t)n, sizeof(*insts));
	if (insts == NULL)
		return 1;
	for (int i = 0; i < n; i++) {
		/* Parse a copy: argv stays whole for ps and for the message. */
		insts[i].spec = strdup(argv[optind + i]);
		if (insts[i].spec == NULL || parse_instance(insts[i].spec, &insts[i]) != 0) {
			fprintf(stderr,
				PROG ": '%s': expected NAME=HOST:PORT, e.g. app1=127.0.0.1:9001\n",
				argv[optind + i]);
			free_instances(insts, n);
			return 2;
		}
	}

	signal(SIGPIPE, SIG_IGN); /* a client that leaves mid-body is not fatal */
	event_set_log_callback(libevent_log);
	base = event_base_new();
	if (base == NULL)
		return 1;
	for (int i = 0; i < n && rc == 0; i++)
		if (start_instance(&insts[i]) != 0)
			rc = 1;
	fflush(stdout);

	sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
	sigint = evsignal_new(base, SIGINT, on_signal, NULL);
	if (rc == 0) {
		evsignal_add(sigterm, NULL);
		evsignal_add(sigint, NULL);
		event_base_dispatch(base);
	}
	event_free(sigterm);
	event_free(sigint);
	shutdown_all(insts, n);
	event_base_free(base);
	free_instances(insts, n);
	return rc;
}

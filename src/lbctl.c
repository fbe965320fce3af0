/* lbctl.c — the control tool: one HTTP/1.1 request to lbd's admin socket
 * per command, its answer printed for people (or as JSON with --json).
 *
 * Exit status: 0 done, 1 lbd refused (the reason is printed: every error of
 * a rejected configuration with its file:line:column) or the command line
 * is wrong, 2 lbd cannot be reached (the message names the socket).
 */
#include "build_config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/units.h"

#define EXIT_REFUSED 1
#define EXIT_UNREACHABLE 2
#define ANSWER_MAX (16u << 20)
#define TIMEOUT_MS 60000
#define WAIT_POLL_MS 100

static const char *socket_path;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: lbctl [-s SOCKET] COMMAND [ARGUMENTS]\n"
		"  -s, --socket SOCKET  lbd's admin socket (default $LBD_SOCKET, else %s)\n"
		"  -V, --version        print the version and exit\n"
		"  -h, --help           print this help and exit\n"
		"commands:\n"
		"  reload                    reload the configuration file\n"
		"  upgrade [--binary PATH]   start lbd's binary (or PATH) and hand it every socket\n"
		"  status [--json]           listeners, pools and servers\n"
		"  metrics                   the Prometheus metrics (GET /metrics)\n"
		"  drain POOL SERVER         no new clients (sticky ones stay)\n"
		"  drain POOL SERVER --wait [TIMEOUT]  ... then wait until none is in flight\n"
		"  disable POOL SERVER       no requests at all, sticky clients moved too\n"
		"  enable POOL SERVER        back into rotation\n"
		"  weight POOL SERVER N      the server's weight at run time (0 to %d, or --reset)\n"
		"  server add POOL NAME ADDRESS [--weight N] [--backup]  add a server at run time\n"
		"  server set POOL NAME [--weight N] [--address A] [--backup|--no-backup]\n"
		"  server del POOL NAME      remove one added at run time: it drains, then goes\n"
		"  servers POOL              a pool's servers, with where each comes from\n"
		"  stop                      graceful shutdown\n"
		"  health                    exit 0 while serving, 1 while draining\n",
		CONFIG_ADMIN_SOCKET_DEFAULT, CONFIG_WEIGHT_MAX);
}

struct answer {
	int status;
	char *body; /* NUL-terminated */
};

static int unreachable(const char *what, int err)
{
	if (err)
		fprintf(stderr, "lbctl: cannot reach lbd at %s: %s: %s\n", socket_path, what,
			strerror(err));
	else
		fprintf(stderr, "lbctl: cannot reach lbd at %s: %s\n", socket_path, what);
	return -1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The whole answer, read until lbd closes (Connection: close) or the
 * Content-Length is complete. */
static int read_answer(int fd, struct strbuf *in)
{
	long long deadline = now_ms() + TIMEOUT_MS;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		char buf[16384];
		ssize_t n;

		if (left <= 0)
			return unreachable("no answer in time", 0);
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return unreachable("poll", errno);
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return unreachable("reading the answer", errno);
		if (n == 0)
			return 0;
		if (in->len + (size_t)n > ANSWER_MAX)
			return unreachable("the answer is too large", 0);
		strbuf_add(in, buf, (size_t)n);
		if (strbuf_failed(in))
			return unreachable("out of memory", 0);
	}
}

static int parse_answer(struct strbuf *in, struct answer *a)
{
	char *head_end, *cl;
	size_t body_len;

	strbuf_add(in, "", 1);
	if (strbuf_failed(in))
		return unreachable("out of memory", 0);
	in->len--;
	if (sscanf(in->data, "HTTP/1.%*1[01] %3d", &a->status) != 1)
		return unreachable("the answer is not HTTP", 0);
	head_end = strstr(in->data, "\r\n\r\n");
	if (!head_end)
		return unreachable("the answer ended early", 0);
	*head_end = '\0';
	body_len = in->len - (size_t)(head_end + 4 - in->data);
	cl = strcasestr(in->data, "\r\nContent-Length:");
	if (cl) {
		unsigned long long n = strtoull(cl + 17, NULL, 10);
		if (n > body_len)
			return unreachable("the answer ended early", 0);
		body_len = (size_t)n;
	}
	a->body = strndup(head_end + 4, body_len);
	if (!a->body)
		return unreachable("out of memory", 0);
	return 0;
}

static int request(const char *method, const char *path, const char *body, struct answer *a)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct strbuf out = { 0 }, in = { 0 };
	char len[32];
	int fd, rc = -1;

	if (strlen(socket_path) >= sizeof(sun.sun_path))
		return unreachable("the socket path is too long", 0);
	strcpy(sun.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return unreachable("socket", errno);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		unreachable("connect", errno);
		close(fd);
		return -1;
	}
	snprintf(len, sizeof(len), "%zu", body ? strlen(body) : 0);
	strbuf_adds(&out, method);
	strbuf_adds(&out, " ");
	strbuf_adds(&out, path);
	strbuf_adds(
		&out,
		" HTTP/1.1\r\nHost: lbd\r\nConnection: close\r\nUser-Agent: lbctl/" PACKAGE_VERSION
		"\r\nContent-Length: ");
	strbuf_adds(&out, len);
	if (body)
		strbuf_adds(&out, "\r\nContent-Type: application/json");
	strbuf_adds(&out, "\r\n\r\n");
	if (body)
		strbuf_adds(&out, body);
	if (strbuf_failed(&out))
		unreachable("out of memory", 0);
	else if (write_all(fd, out.data, out.len) < 0)
		unreachable("sending the request", errno);
	else if (read_answer(fd, &in) == 0 && parse_answer(&in, a) == 0)
		rc = 0;
	close(fd);
	strbuf_free(&out);
	strbuf_free(&in);
	return rc;
}

/* Percent-encode a path segment: server names may hold ':', '/', '[' and ']'. */
static void add_segment(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.') {
			strbuf_add(sb, p, 1);
		} else {
			char esc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			strbuf_add(sb, esc, 3);
		}
	}
}

/* Print why lbd refused: "errors" (a rejected configuration, one per line)
 * or "error". */
static void print_refusal(const struct answer *a, const char *what)
{
	const char *errors = json_member(a->body, "errors");
	const char *error = json_member(a->body, "error");
	char msg[8192];
	const char *it = NULL;
	bool any = false;

	while (errors && json_array_next(errors, &it)) {
		if (json_string(it, msg, sizeof(msg))) {
			fprintf(stderr, "%s\n", msg);
			any = true;
		}
	}
	if (any) {
		fprintf(stderr, "lbctl: %s rejected; the running configuration stays\n", what);
		return;
	}
	if (error && json_string(error, msg, sizeof(msg)))
		fprintf(stderr, "lbctl: %s: %s\n", what, msg);
	else
		fprintf(stderr, "lbctl: %s: lbd answered %d\n", what, a->status);
}

/* A reload's "warnings" (settings that wait for a restart), on stderr. */
static void print_warnings(const struct answer *a)
{
	const char *warnings = json_member(a->body, "warnings");
	const char *it = NULL;
	char msg[4096];

	while (warnings && json_array_next(warnings, &it))
		if (json_string(it, msg, sizeof(msg)))
			fprintf(stderr, "lbctl: warning: %s\n", msg);
}

static uint64_t member_u64(const char *doc, const char *key)
{
	const char *v = json_member(doc, key);
	uint64_t n = 0;

	if (v)
		json_u64(v, &n);
	return n;
}

static int run(const char *method, const char *path, const char *body, const char *what,
	       struct answer *a)
{
	if (request(method, path, body, a) < 0)
		return EXIT_UNREACHABLE;
	if (a->status < 200 || a->status > 299) {
		print_refusal(a, what);
		return EXIT_REFUSED;
	}
	return 0;
}

static int parse_weight(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || v > CONFIG_WEIGHT_MAX)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int bad_usage(const char *what, const char *arg)
{
	fprintf(stderr, "lbctl: %s%s\n", what, arg);
	usage(stderr);
	return EXIT_REFUSED;
}

/* upgrade [--binary PATH]: lbd answers once the new process serves, or
 * with why the old one goes on serving. PATH is made absolute here: lbd
 * runs elsewhere. */
static int upgrade_command(char **args, int nargs)
{
	char path[PATH_MAX], body[PATH_MAX + 64];
	struct strbuf sb = { 0 };
	struct answer a = { 0 };
	int rc;

	if (nargs != 0 && (nargs != 2 || strcmp(args[0], "--binary") != 0))
		return bad_usage("upgrade: expected nothing or --binary PATH", "");
	body[0] = '\0';
	if (nargs == 2) {
		if (!realpath(args[1], path)) {
			fprintf(stderr, "lbctl: upgrade: %s: %s\n", args[1], strerror(errno));
			return EXIT_REFUSED;
		}
		strbuf_adds(&sb, "{\"binary\":");
		json_add_string(&sb, path);
		strbuf_adds(&sb, "}");
		if (strbuf_failed(&sb) || sb.len >= sizeof(body)) {
			strbuf_free(&sb);
			return EXIT_REFUSED;
		}
		memcpy(body, sb.data, sb.len);
		body[sb.len] = '\0';
		strbuf_free(&sb);
	}
	rc = run("POST", "/upgrade", body[0] ? body : NULL, "upgrade", &a);
	if (rc == 0)
		printf("upgraded: pid %llu serves generation %llu\n",
		       (unsigned long long)member_u64(a.body, "pid"),
		       (unsigned long long)member_u64(a.body, "generation"));
	free(a.body);
	return rc;
}

/* The "active" count of SERVER in POOL in a /status document; -1 when the
 * server is not there (a reload removed it). */
static long long server_active(const char *doc, const char *pool, const char *server)
{
	const char *pools = json_member(doc, "pools"), *p = NULL;
	char name[512];

	while (pools && json_array_next(pools, &p)) {
		const char *n = json_member(p, "name"), *servers, *s = NULL;
		if (!n || !json_string(n, name, sizeof(name)) || strcmp(name, pool) != 0)
			continue;
		servers = json_member(p, "servers");
		while (servers && json_array_next(servers, &s)) {
			n = json_member(s, "name");
			if (n && json_string(n, name, sizeof(name)) && strcmp(name, server) == 0)
				return (long long)member_u64(s, "active");
		}
	}
	return -1;
}

/* drain --wait: poll /status until the server has no request in flight;
 * TIMEOUT_MS 0 waits as long as it takes. */
static int wait_drained(const char *pool, const char *server, uint64_t timeout_ms)
{
	long long deadline = now_ms() + (long long)timeout_ms, active;

	for (;;) {
		struct answer a = { 0 };
		int rc = run("GET", "/status", NULL, "drain --wait", &a);
		if (rc != 0) {
			free(a.body);
			return rc;
		}
		active = server_active(a.body, pool, server);
		free(a.body);
		if (active < 0) {
			fprintf(stderr,
				"lbctl: drain --wait: pool %s has no server named %s any more\n",
				pool, server);
			return EXIT_REFUSED;
		}
		if (active == 0)
			return 0;
		if (timeout_ms && now_ms() >= deadline) {
			char t[32];
			format_duration(timeout_ms, t, sizeof(t));
			fprintf(stderr,
				"lbctl: drain --wait: pool %s: server %s still has %lld active "
				"request%s after %s\n",
				pool, server, active, active == 1 ? "" : "s", t);
			return EXIT_REFUSED;
		}
		poll(NULL, 0, WAIT_POLL_MS);
	}
}

/* "--wait" and an optional TIMEOUT after drain's POOL SERVER. */
static int parse_wait(char **args, int nargs, bool *wait, uint64_t *timeout_ms)
{
	*wait = false;
	*timeout_ms = 0;
	if (nargs == 0)
		return 0;
	if (strcmp(args[0], "--wait") != 0 || nargs > 2)
		return bad_usage("drain: unexpected argument: ", args[0]);
	*wait = true;
	if (nargs == 2 && (parse_duration_ms(args[1], timeout_ms) != 0 || *timeout_ms == 0)) {
		fprintf(stderr,
			"lbctl: drain --wait: expected a timeout such as 30s, 500ms or 5m, got "
			"\"%s\"\n",
			args[1]);
		return EXIT_REFUSED;
	}
	return 0;
}

static int server_command(const char *cmd, char **args, int nargs)
{
	struct strbuf path = { 0 };
	struct answer a = { 0 };
	char body[64];
	unsigned weight = 0;
	bool is_weight = strcmp(cmd, "weight") == 0, wait = false;
	bool reset = is_weight && nargs == 3 && strcmp(args[2], "--reset") == 0;
	const char *method = !is_weight ? "POST" : reset ? "DELETE" : "PUT";
	uint64_t timeout_ms = 0;
	int rc;

	if (strcmp(cmd, "drain") == 0 && nargs > 2) {
		rc = parse_wait(args + 2, nargs - 2, &wait, &timeout_ms);
		if (rc)
			return rc;
		nargs = 2;
	}
	if (nargs != (is_weight ? 3 : 2))
		return bad_usage(cmd, is_weight ? " needs POOL SERVER N (or --reset)" :
						  " needs POOL SERVER");
	if (is_weight && !reset && parse_weight(args[2], &weight) < 0) {
		fprintf(stderr, "lbctl: weight: expected an integer from 0 to %d, got \"%s\"\n",
			CONFIG_WEIGHT_MAX, args[2]);
		return EXIT_REFUSED;
	}
	strbuf_adds(&path, "/servers/");
	add_segment(&path, args[0]);
	strbuf_adds(&path, "/");
	add_segment(&path, args[1]);
	strbuf_adds(&path, "/");
	strbuf_adds(&path, cmd);
	strbuf_add(&path, "", 1);
	if (strbuf_failed(&path)) {
		fprintf(stderr, "lbctl: out of memory\n");
		return EXIT_REFUSED;
	}
	snprintf(body, sizeof(body), "{\"weight\":%u}", weight);
	rc = run(method, path.data, is_weight && !reset ? body : NULL, cmd, &a);
	if (rc == 0 && is_weight)
		printf("pool %s: server %s: weight %llu (%s)\n", args[0], args[1],
		       (unsigned long long)member_u64(a.body, "weight"),
		       reset ? "the file's" : "set at run time; --reset returns to the file's");
	else if (rc == 0)
		printf("pool %s: server %s: %s\n", args[0], args[1],
		       strcmp(cmd, "drain") == 0   ? "draining" :
		       strcmp(cmd, "disable") == 0 ? "disabled" :
						     "up");
	free(a.body);
	strbuf_free(&path);
	if (rc == 0 && wait) {
		/* the line above is seen before the wait starts */
		fflush(stdout);
		rc = wait_drained(args[0], args[1], timeout_ms);
		if (rc == 0)
			printf("pool %s: server %s: no active requests\n", args[0], args[1]);
	}
	return rc;
}

/* The JSON body of "server add" and "server set" from ARGS (after POOL
 * NAME, and ADDRESS for add). Returns 0, or -1 after saying why. */
static int member_body(struct strbuf *body, const char *name, const char *address, char **args,
		       int nargs)
{
	unsigned weight;

	strbuf_adds(body, "{\"name\":");
	json_add_string(body, name);
	if (address) {
		strbuf_adds(body, ",\"address\":");
		json_add_string(body, address);
	}
	for (int i = 0; i < nargs; i++) {
		if (strcmp(args[i], "--weight") == 0 && i + 1 < nargs &&
		    parse_weight(args[i + 1], &weight) == 0) {
			strbuf_adds(body, ",\"weight\":");
			strbuf_add_u64(body, weight);
			i++;
		} else if (strcmp(args[i], "--address") == 0 && i + 1 < nargs && !address) {
			strbuf_adds(body, ",\"address\":");
			json_add_string(body, args[++i]);
		} else if (strcmp(args[i], "--backup") == 0 ||
			   strcmp(args[i], "--no-backup") == 0) {
			strbuf_adds(body,
				    args[i][2] == 'b' ? ",\"backup\":true" : ",\"backup\":false");
		} else {
			fprintf(stderr,
				"lbctl: server: unexpected \"%s\" (--weight 0 to %d, "
				"--address IP:PORT, --backup or --no-backup)\n",
				args[i], CONFIG_WEIGHT_MAX);
			return -1;
		}
	}
	strbuf_adds(body, "}");
	strbuf_add(body, "", 1);
	return strbuf_failed(body) ? -1 : 0;
}

/* One line a server of a GET /pools/POOL/servers answer. */
static void print_server(const char *s)
{
	char name[128] = "", address[160] = "", origin[16] = "", state[16] = "";
	const char *v;

	if ((v = json_member(s, "name")))
		json_string(v, name, sizeof(name));
	if ((v = json_member(s, "address")))
		json_string(v, address, sizeof(address));
	if ((v = json_member(s, "origin")))
		json_string(v, origin, sizeof(origin));
	if ((v = json_member(s, "state")))
		json_string(v, state, sizeof(state));
	printf("%-24s %-24s %-6s %-9s %6llu %6llu %10llu\n", name, address, origin, state,
	       (unsigned long long)member_u64(s, "weight"),
	       (unsigned long long)member_u64(s, "active"),
	       (unsigned long long)member_u64(s, "requests"));
}

/* servers POOL, server add|set|del POOL NAME ... */
static int member_command(const char *cmd, char **args, int nargs)
{
	struct strbuf path = { 0 }, body = { 0 };
	struct answer a = { 0 };
	bool list = strcmp(cmd, "servers") == 0;
	const char *op = list ? "list" : nargs ? args[0] : "";
	int rc = EXIT_REFUSED;

	if (!list) {
		args++;
		nargs--;
	}
	bool add = strcmp(op, "add") == 0, set = strcmp(op, "set") == 0;
	bool del = strcmp(op, "del") == 0;
	if ((list && nargs != 1) || (!list && !add && !set && !del) || (add && nargs < 3) ||
	    ((set || del) && nargs < 2) || (del && nargs != 2))
		return bad_usage(cmd, list ? " needs POOL" :
					     " needs add POOL NAME ADDRESS, set POOL NAME or del "
					     "POOL NAME");
	strbuf_adds(&path, "/pools/");
	add_segment(&path, args[0]);
	strbuf_adds(&path, "/servers");
	if (set || del) {
		strbuf_adds(&path, "/");
		add_segment(&path, args[1]);
	}
	strbuf_add(&path, "", 1);
	if ((add || set) && member_body(&body, args[1], add ? args[2] : NULL, args + (add ? 3 : 2),
					nargs - (add ? 3 : 2)) < 0)
		goto out;
	rc = run(list ? "GET" :
		 add  ? "POST" :
		 set  ? "PATCH" :
			"DELETE",
		 path.data, body.data, list ? "servers" : "server", &a);
	if (rc == 0 && list) {
		const char *servers = json_member(a.body, "servers"), *it = NULL;
		printf("%-24s %-24s %-6s %-9s %6s %6s %10s\n", "SERVER", "ADDRESS", "ORIGIN",
		       "STATE", "WEIGHT", "ACTIVE", "REQUESTS");
		while (servers && json_array_next(servers, &it))
			print_server(it);
	} else if (rc == 0) {
		printf("pool %s: server %s %s\n", args[0], args[1],
		       add ? "added" :
		       set ? "changed" :
			     "removed: it drains, then it is gone");
	}
out:
	free(a.body);
	strbuf_free(&path);
	strbuf_free(&body);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct answer a = { 0 };
	const char *cmd;
	int c, rc;

	socket_path = getenv("LBD_SOCKET");
	if (!socket_path || !*socket_path)
		socket_path = CONFIG_ADMIN_SOCKET_DEFAULT;
	/* "+": options end at the command, so "status --json" reaches it. */
	while ((c = getopt_long(argc, argv, "+s:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 'V':
			printf("lbctl %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_REFUSED;
		}
	}
	if (optind >= argc)
		return bad_usage("no command given", "");
	cmd = argv[optind];
	char **args = argv + optind + 1;
	int nargs = argc - optind - 1;

	if (strcmp(cmd, "reload") == 0 || strcmp(cmd, "stop") == 0) {
		if (nargs)
			return bad_usage("unexpected argument: ", args[0]);
		bool reload = cmd[0] == 'r';
		rc = run("POST", reload ? "/reload" : "/stop", NULL, cmd, &a);
		if (rc == 0 && reload) {
			printf("reloaded: generation %llu\n",
			       (unsigned long long)member_u64(a.body, "generation"));
			print_warnings(&a);
		} else if (rc == 0)
			printf("lbd is stopping\n");
	} else if (strcmp(cmd, "upgrade") == 0) {
		return upgrade_command(args, nargs);
	} else if (strcmp(cmd, "health") == 0) {
		/* For container health checks: 0 while lbd serves, 1 while it
		 * drains (GET /healthz answers 503), 2 when it is unreachable. */
		if (nargs)
			return bad_usage("unexpected argument: ", args[0]);
		rc = run("GET", "/healthz", NULL, cmd, &a);
		if (rc == 0)
			printf("ok\n");
	} else if (strcmp(cmd, "metrics") == 0) {
		if (nargs)
			return bad_usage("unexpected argument: ", args[0]);
		rc = run("GET", "/metrics", NULL, cmd, &a);
		if (rc == 0)
			fputs(a.body, stdout);
	} else if (strcmp(cmd, "status") == 0) {
		bool json = nargs == 1 && strcmp(args[0], "--json") == 0;
		if (nargs > (json ? 1 : 0))
			return bad_usage("unexpected argument: ", args[0]);
		rc = run("GET", json ? "/status" : "/status?format=table", NULL, cmd, &a);
		if (rc == 0)
			fputs(a.body, stdout);
	} else if (strcmp(cmd, "drain") == 0 || strcmp(cmd, "enable") == 0 ||
		   strcmp(cmd, "disable") == 0 || strcmp(cmd, "weight") == 0) {
		return server_command(cmd, args, nargs);
	} else if (strcmp(cmd, "server") == 0 || strcmp(cmd, "servers") == 0) {
		return member_command(cmd, args, nargs);
	} else {
		return bad_usage("unknown command: ", cmd);
	}
	free(a.body);
	if (fflush(stdout) != 0 && rc == 0)
		rc = EXIT_REFUSED;
	return rc;
}

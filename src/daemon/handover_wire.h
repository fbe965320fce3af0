/* handover_wire.h — the messages of a binary upgrade, as bytes (pure: no
 * sockets, no descriptors; handover_wire.c).
 *
 * The old lbd and the new one speak over a SOCK_SEQPACKET pair, one message
 * per packet. Each starts with the magic "LBDU", a version byte and a type
 * byte; a peer that reads another version refuses the upgrade with a clear
 * error instead of guessing. Integers are big-endian, strings carry their
 * length. Descriptors travel beside a SOCKET message (SCM_RIGHTS), never in
 * its bytes.
 *
 *   new → old  HELLO    the new process's pid: send me what you have
 *   old → new  SOCKET   one listening address, its descriptors attached
 *   old → new  STATE    one key and value of runtime state
 *   old → new  END      nothing more follows
 *   new → old  READY    serving: stop accepting and drain
 *   new → old  FAILED   why the new process will not serve; it exits
 */
#ifndef LBD_HANDOVER_WIRE_H
#define LBD_HANDOVER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HANDOVER_VERSION 1
#define HANDOVER_HEADER 6
#define HANDOVER_KEY_MAX 32
#define HANDOVER_TEXT_MAX 8192
/* The largest message: header, fixed fields, a key and a text. */
#define HANDOVER_MSG_MAX (HANDOVER_HEADER + 16 + HANDOVER_KEY_MAX + HANDOVER_TEXT_MAX)
/* Descriptors one SOCKET message may carry (the kernel's SCM_MAX_FD is
 * 253): an address with more sockets than that (one per worker, up to 256)
 * goes in several messages, each saying which of them it carries. */
#define HANDOVER_FDS_MAX 250

enum handover_type {
	HANDOVER_HELLO = 1,
	HANDOVER_SOCKET,
	HANDOVER_STATE,
	HANDOVER_END,
	HANDOVER_READY,
	HANDOVER_FAILED,
};

/* What a SOCKET message's address is for. */
enum handover_socket_kind {
	HANDOVER_BIND,           /* a listener's bind address */
	HANDOVER_ADMIN_SOCKET,   /* global.admin.socket */
	HANDOVER_ADMIN_LISTEN,   /* global.admin.listen */
	HANDOVER_METRICS_LISTEN, /* global.metrics.listen */
	HANDOVER_SOCKET_KINDS,
};

struct handover_msg {
	enum handover_type type;
	uint32_t pid;                   /* HELLO */
	enum handover_socket_kind kind; /* SOCKET */
	bool per_worker;                /* SOCKET: one SO_REUSEPORT socket per worker */
	bool has_lock;                  /* SOCKET: the last descriptor is the bind lock */
	uint16_t total;                 /* SOCKET: the address's listening sockets */
	uint16_t first;                 /* SOCKET: the index of the first one attached */
	uint16_t nsockets;              /* SOCKET: listening descriptors attached */
	char key[HANDOVER_KEY_MAX];     /* STATE */
	/* SOCKET: the address as lbd.yaml writes it ("127.0.0.1:80",
	 * "unix:/run/x.sock"); STATE: the value; FAILED: the reason. */
	char text[HANDOVER_TEXT_MAX];
};

/* Encode M into BUF (of CAP bytes; HANDOVER_MSG_MAX is always enough). A
 * text or key too long is cut. Returns the length, or -1 when M is not a
 * message that can be sent (unknown type or kind, no socket). */
int handover_encode(const struct handover_msg *m, uint8_t *buf, size_t cap);

/* Decode the LEN bytes of one message into *M. Returns 0, or -1 with the
 * reason in ERR (another version, a short or overlong field, an unknown
 * type or kind, a text with a NUL in it). */
int handover_decode(const uint8_t *buf, size_t len, struct handover_msg *m, char *err,
		    size_t errlen);

/* One server's runtime state as a STATE value ("server"): admin state,
 * weight override and health, so that neither drain flags nor a check's
 * verdict restart from nothing. */
struct handover_server {
	char pool[256];
	char name[256];
	int state;          /* enum server_state */
	int weight;         /* override, -1: none */
	bool checked, down; /* active health */
	unsigned ok_run, fail_run;
	/* Out after passive failures until then (health_now_ms(): the
	 * monotonic clock, the same in both processes); 0: not out. */
	uint64_t passive_until_ms;
};

/* "pool\tname\tstate\tweight\tchecked\tdown\tok_run\tfail_run\t
 * passive_until_ms". Returns
 * 0, or -1 when a name holds a tab or a newline or is too long. */
int handover_server_format(const struct handover_server *s, char *out, size_t len);

/* The reverse. Returns 0, or -1 on anything else. */
int handover_server_parse(const char *text, struct handover_server *s);

/* When a server's active checks last took it out or let it back in
 * ("health_changed"; health_now_ms(), the monotonic clock both processes
 * share), so that the status page's last change survives an upgrade. Apart
 * from "server" so that an lbd that does not know it skips it. */
struct handover_changed {
	char pool[256];
	char name[256];
	uint64_t changed_ms;
};

/* "pool\tname\tchanged_ms". Returns 0 or -1 as above. */
int handover_changed_format(const struct handover_changed *c, char *out, size_t len);
int handover_changed_parse(const char *text, struct handover_changed *c);

/* A server's slow start in a pool that has it ("slow_start"): its share
 * in thousandths (0: its whole weight) and since when it ramps
 * (health_now_ms(); 0: not yet, it is out), so that an upgrade neither
 * gives a warming server its whole weight nor ramps a warm one again. */
struct handover_ramp {
	char pool[256];
	char name[256];
	unsigned permille;
	uint64_t since_ms;
};

/* "pool\tname\tpermille\tsince_ms", permille below 1000. Returns 0 or -1
 * as above. */
int handover_ramp_format(const struct handover_ramp *r, char *out, size_t len);
int handover_ramp_parse(const char *text, struct handover_ramp *r);

/* What a pool's retry budget has spent ("retry_budget", in thousandths of a
 * retry: core/retry_budget.h), so that a pool whose budget ran out does not
 * get a full one from an upgrade. */
struct handover_budget {
	char pool[256];
	uint64_t spent;
};

/* "pool\tspent", spent at most RETRY_BUDGET_SPENT_MAX. Returns 0 or -1 as
 * above. */
int handover_budget_format(const struct handover_budget *b, char *out, size_t len);
int handover_budget_parse(const char *text, struct handover_budget *b);

/* A server the admin API added ("member"), carried when there is no
 * global.state_file to read it back from: the state file's fields. */
struct handover_member {
	char pool[256];
	char name[256];
	char address[128];
	unsigned weight;
	bool backup;
};

/* "pool\tname\taddress\tweight\tbackup". Returns 0 or -1 as above. */
int handover_member_format(const struct handover_member *m, char *out, size_t len);
int handover_member_parse(const char *text, struct handover_member *m);

/* A server discovery found ("found"): its pool, identity and numeric
 * address, so that a pool that follows DNS serves its last answer before
 * the new process's first one comes. */
struct handover_found {
	char pool[256];
	char identity[264];
	char address[128];
};

/* "pool\tidentity\taddress". Returns 0 or -1 as above. */
int handover_found_format(const struct handover_found *f, char *out, size_t len);
int handover_found_parse(const char *text, struct handover_found *f);

/* A route's rate limit budgets ("rate_limit"): the table's identity
 * (hashed: handover_rate_id), its seed and some of its slots, those whose
 * budget is not full; a table with more goes in several values. */
#define HANDOVER_SLOTS_MAX 128

struct handover_slot {
	uint32_t index;
	uint64_t tag, tat;
};

struct handover_rate {
	uint64_t id, seed;
	size_t n;
	struct handover_slot slots[HANDOVER_SLOTS_MAX];
};

/* The id of a rate limit's identity (struct rate_limit_rt). */
uint64_t handover_rate_id(const char *identity);

/* "id\tseed\tindex:tag:tat,index:tag:tat" in hex. Returns 0 or -1 as
 * above. */
int handover_rate_format(const struct handover_rate *r, char *out, size_t len);
int handover_rate_parse(const char *text, struct handover_rate *r);

#endif

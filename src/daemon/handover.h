/* handover.h — a binary upgrade's messages on the wire between two lbd
 * processes (handover.c): descriptors beside them, and the new process's
 * side of it, which receives the listening sockets and the state.
 *
 * The old process starts the new one with one end of a SOCK_SEQPACKET
 * pair as descriptor HANDOVER_FD_ENV names (upgrade.c). The new process
 * loads its configuration, then asks (HELLO) and receives every listening
 * socket with its address and bind lock, the admin sockets and the runtime
 * state (handover_wire.h), until END. Then it opens what is new, serves,
 * and says READY; the old one then stops accepting and drains.
 */
#ifndef LBD_HANDOVER_H
#define LBD_HANDOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/handover_wire.h"
#include "event/binds.h"
#include "util/addr.h"

/* The environment variable that names the descriptor of the new process's
 * end of the pair. */
#define HANDOVER_FD_ENV "LBD_UPGRADE_FD"

/* The TLS ticket secret's size (tls_tickets.h). */
#define HANDOVER_TICKETS_LEN 32

/* What the new process received. */
struct handover_inherit {
	struct bind_table binds; /* the listeners' sockets, by address */
	/* The admin sockets, by enum handover_socket_kind (BIND unused);
	 * -1 when none came. */
	int admin_fd[HANDOVER_SOCKET_KINDS];
	struct lbd_addr admin_addr[HANDOVER_SOCKET_KINDS];
	uint64_t generation; /* the old process's newest */
	struct handover_server *servers;
	size_t nservers;
	struct handover_member *members; /* servers the admin API added */
	size_t nmembers;
	struct handover_found *found; /* servers discovery found */
	size_t nfound;
	struct handover_rate *rates; /* rate limit budgets, in parts */
	size_t nrates;
	struct handover_changed *changed; /* when checks last moved a server */
	size_t nchanged;
	struct handover_ramp *ramps; /* slow starts, in pools that have it */
	size_t nramps;
	struct handover_budget *budgets; /* what pools' retry budgets spent */
	size_t nbudgets;
	bool has_tickets;
	unsigned char tickets[HANDOVER_TICKETS_LEN];
};

/* Send M with NFDS descriptors FDS. Returns 0, or -1 with ERR set. */
int handover_send(int sock, const struct handover_msg *m, const int *fds, size_t nfds, char *err,
		  size_t errlen);

/* Receive one message into *M and up to MAXFDS descriptors into FDS
 * (*NFDS), waiting at most TIMEOUT_MS. Returns 1, 0 when the peer closed
 * the pair, or -1 with ERR set (the descriptors of a bad message are
 * closed). */
int handover_recv(int sock, struct handover_msg *m, int *fds, size_t maxfds, size_t *nfds,
		  int timeout_ms, char *err, size_t errlen);

/* The descriptor HANDOVER_FD_ENV names (made close-on-exec, the variable
 * removed), or -1 when lbd was not started by an upgrade. */
int handover_child_fd(void);

/* New process: say hello and receive everything into *IN for NWORKERS
 * workers (an address with more sockets than workers keeps only NWORKERS,
 * one with fewer gets the rest opened beside them). Returns 0, or -1 with
 * ERR set (*IN is then empty). */
int handover_receive(int sock, unsigned nworkers, struct handover_inherit *in, char *err,
		     size_t errlen);

/* Close whatever of *IN is still there. */
void handover_inherit_free(struct handover_inherit *in);

/* New process: tell the old one. */
int handover_ready(int sock);
void handover_failed(int sock, const char *why);

#endif

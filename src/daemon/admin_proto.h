/* admin_proto.h — the pure parts of the admin API: request paths, request
 * bodies and the status document, apart from sockets and libevent so that
 * unit tests can drive them.
 */
#ifndef LBD_ADMIN_PROTO_H
#define LBD_ADMIN_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "util/strbuf.h"

#define ADMIN_SEGMENTS_MAX 8
#define ADMIN_SEGMENT_MAX 256

/* Split an absolute, percent-encoded PATH into at most ADMIN_SEGMENTS_MAX
 * decoded segments ("/servers/api/10.0.0.1%3A80/drain" gives "servers",
 * "api", "10.0.0.1:80", "drain"). A trailing '/' is ignored. Returns the
 * number of segments, or -1 for a malformed path (bad escape, %00, an empty
 * segment, too many or too long segments). */
int admin_path_split(const char *path, char seg[][ADMIN_SEGMENT_MAX], int max);

/* A weight body: {"weight": N} or a bare N, 0 .. CONFIG_WEIGHT_MAX, with
 * optional white space. Returns 0, or -1 when malformed or out of range. */
int admin_parse_weight(const char *body, size_t len, unsigned *out);

/* True when AUTHORIZATION (the header's value, NULL when absent) is
 * "Bearer TOKEN" with exactly the TOKEN_LEN bytes of TOKEN. The token is
 * compared in time that does not depend on where a guess goes wrong. */
bool admin_bearer_ok(const char *authorization, const char *token, size_t token_len);

/* What GET /status reports besides the configuration. */
struct admin_status_info {
	uint64_t generation;
	unsigned live_generations;
	uint64_t uptime_s;
	/* Open client connections of a listener. */
	unsigned (*listener_connections)(const struct listener_conf *lc, void *arg);
	/* How long a DNS pool's resolver has failed, in ms (NULL: 0). */
	uint64_t (*discovery_stale_ms)(const void *arg, const char *pool);
	void *arg;
};

const char *admin_server_state_name(int state);

/* {"pool":NAME,"servers":[...]}: POOL's servers now, as /status shows them
 * (GET /pools/POOL/servers, lbctl servers). */
void admin_pool_servers_json(struct strbuf *sb, const struct pool_conf *pool);

/* "config", "dns" or "api" (status: where a server comes from). */
const char *admin_origin_name(enum server_origin o);

/* The status document of SPEC §6, as JSON, or as the table lbctl prints. */
void admin_status_json(struct strbuf *sb, const struct config *cfg,
		       const struct admin_status_info *info);
void admin_status_table(struct strbuf *sb, const struct config *cfg,
			const struct admin_status_info *info);

#endif

/* fuzz_handover.c — libFuzzer target for the upgrade's messages
 * (src/daemon/handover_wire.c): bytes that another process sent. Every
 * input must decode or be refused with a reason; what decodes must encode
 * back to the very same bytes (the format has one spelling of each
 * message), and a "server", "member", "found", "rate_limit",
 * "health_changed", "slow_start" or "retry_budget" state value that parses
 * must write back. `make
 * fuzz-handover` runs it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/handover_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct handover_msg m;
	static uint8_t again[HANDOVER_MSG_MAX];
	struct handover_server s;
	char err[256];

	err[0] = '\0';
	if (handover_decode(data, size, &m, err, sizeof(err)) < 0) {
		if (!err[0])
			abort(); /* refused without a reason */
		return 0;
	}
	int len = handover_encode(&m, again, sizeof(again));
	if (len < 0 || (size_t)len != size || memcmp(again, data, size) != 0)
		abort(); /* decoded into something that is not what was sent */
	if (m.type != HANDOVER_STATE)
		return 0;
	/* A value that parses writes back as the same text. */
	static char line[HANDOVER_TEXT_MAX];
	struct handover_member mb;
	struct handover_found f;
	static struct handover_rate rate;
	struct handover_changed changed;
	struct handover_ramp ramp;
	struct handover_budget budget;
	int rc = 1;
	if (strcmp(m.key, "server") == 0 && handover_server_parse(m.text, &s) == 0)
		rc = handover_server_format(&s, line, sizeof(line));
	else if (strcmp(m.key, "member") == 0 && handover_member_parse(m.text, &mb) == 0)
		rc = handover_member_format(&mb, line, sizeof(line));
	else if (strcmp(m.key, "found") == 0 && handover_found_parse(m.text, &f) == 0)
		rc = handover_found_format(&f, line, sizeof(line));
	else if (strcmp(m.key, "health_changed") == 0 &&
		 handover_changed_parse(m.text, &changed) == 0)
		rc = handover_changed_format(&changed, line, sizeof(line));
	else if (strcmp(m.key, "slow_start") == 0 && handover_ramp_parse(m.text, &ramp) == 0)
		rc = handover_ramp_format(&ramp, line, sizeof(line));
	else if (strcmp(m.key, "retry_budget") == 0 && handover_budget_parse(m.text, &budget) == 0)
		rc = handover_budget_format(&budget, line, sizeof(line));
	else if (strcmp(m.key, "rate_limit") == 0 && handover_rate_parse(m.text, &rate) == 0) {
		rc = handover_rate_format(&rate, line, sizeof(line));
		if (rc == 0 && strcmp(line, m.text) != 0)
			abort(); /* budgets have one spelling */
	}
	if (rc < 0)
		abort(); /* parsed a value it cannot write back */
	return 0;
}

/* health_info.c — what /status, lbctl and the metrics show of a server's
 * health (health.h's read API): its check state and the last result in
 * words, read from its runtime state with atomic loads.
 */
#include "daemon/health.h"

#include <stdio.h>
#include <string.h>

#include "core/runtime.h"
#include "tls/tls_upstream.h"
#include "util/units.h"

void health_server_info(const struct server_rt *rt, struct health_info *out)
{
	const struct health_rt *hr = &rt->health;
	uint64_t until = atomic_load(&hr->passive_until_ms), now = health_now_ms();
	bool checked = atomic_load(&hr->checked);
	bool down = atomic_load(&hr->down);

	*out = (struct health_info){
		.status = !checked ? HEALTH_CHECK_NONE :
			  down     ? HEALTH_CHECK_FAILING :
				     HEALTH_CHECK_PASSING,
		.passive_out = until != 0 && now<until, .passive_left_ms = until> now ?
				       until - now :
				       0,
		.passive_trips = atomic_load(&hr->passive_trips),
		.last_result = (enum health_result)atomic_load(&hr->last_result),
		.last_code = atomic_load(&hr->last_code),
		.last_detail = atomic_load(&hr->last_detail),
		.last_ms = atomic_load(&hr->last_ms),
		.last_ok = atomic_load(&hr->last_ok),
		.ok_run = atomic_load(&hr->ok_run),
		.fail_run = atomic_load(&hr->fail_run),
		.checks = atomic_load(&hr->checks),
		.checks_failed = atomic_load(&hr->checks_failed),
	};
	out->up = !down && !out->passive_out;
	uint64_t changed = atomic_load(&hr->changed_ms);
	out->changed = changed != 0;
	out->changed_ago_ms = changed && now > changed ? now - changed : 0;
}

const char *health_check_status_name(enum health_check_status s)
{
	switch (s) {
	case HEALTH_CHECK_PASSING:
		return "passing";
	case HEALTH_CHECK_FAILING:
		return "failing";
	case HEALTH_CHECK_NONE:
		break;
	}
	return "none";
}

const char *health_result_name(enum health_result r)
{
	switch (r) {
	case HEALTH_RESULT_STATUS:
		return "status";
	case HEALTH_RESULT_CONNECTED:
		return "connected";
	case HEALTH_RESULT_ERROR:
		return "error";
	case HEALTH_RESULT_TIMEOUT:
		return "timeout";
	case HEALTH_RESULT_CLOSED:
		return "closed";
	case HEALTH_RESULT_BAD:
		return "bad";
	case HEALTH_RESULT_TLS:
		return "tls";
	case HEALTH_RESULT_NONE:
		break;
	}
	return "none";
}

void health_last_text(const struct health_info *info, char *buf, size_t len)
{
	char d[32];

	switch (info->last_result) {
	case HEALTH_RESULT_NONE:
		snprintf(buf, len, "%s", "");
		break;
	case HEALTH_RESULT_STATUS:
		snprintf(buf, len, "%s%d in %ums", info->last_ok ? "" : "status ", info->last_code,
			 info->last_ms);
		break;
	case HEALTH_RESULT_CONNECTED:
		snprintf(buf, len, "connected in %ums", info->last_ms);
		break;
	case HEALTH_RESULT_ERROR:
		if (info->last_code < 0)
			snprintf(buf, len, "%s after the connect", strerror(-info->last_code));
		else
			snprintf(buf, len, "connect: %s", strerror(info->last_code));
		break;
	case HEALTH_RESULT_TIMEOUT:
		format_duration(info->last_ms, d, sizeof(d));
		snprintf(buf, len, "timeout after %s", d);
		break;
	case HEALTH_RESULT_CLOSED:
		snprintf(buf, len, "closed before the status line (%ums)", info->last_ms);
		break;
	case HEALTH_RESULT_BAD:
		snprintf(buf, len, "not an HTTP response (%ums)", info->last_ms);
		break;
	case HEALTH_RESULT_TLS:
		tls_upstream_failure_text(
			&(struct tls_failure){ (enum tls_failure_kind)info->last_code,
					       info->last_detail },
			buf, len);
		break;
	}
}

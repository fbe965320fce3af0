/* test_metrics.c — the Prometheus text format writer (escaping, HELP and
 * TYPE lines, cumulative histograms, seconds) and lbd's metric families
 * rendered from a configuration and its runtime counters. */
#include <check.h>

#include "check_main.h"
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "config/config.h"
#include "config/config_runtime.h"
#include "core/runtime.h"
#include "daemon/metrics.h"
#include "util/prom.h"

/* SB's text, NUL-terminated, handed to the caller. */
static char *text_of(struct strbuf *sb)
{
	strbuf_add(sb, "", 1);
	ck_assert(!strbuf_failed(sb));
	return sb->data;
}

START_TEST(label_values_are_escaped)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" },
		{ "plain", "plain" },
		{ "a\\b", "a\\\\b" },
		{ "say \"hi\"", "say \\\"hi\\\"" },
		{ "two\nlines", "two\\nlines" },
		{ "\\\"\n", "\\\\\\\"\\n" },
		{ "tab\tstays", "tab\tstays" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf sb = { 0 };
		prom_add_label_value(&sb, cases[i].in);
		char *got = text_of(&sb);
		ck_assert_str_eq(got, cases[i].out);
		free(got);
	}
}
END_TEST

START_TEST(family_header_and_samples)
{
	struct strbuf sb = { 0 };
	const struct prom_label l[2] = { { "pool", "a\"b" }, { "server", "x\\y\nz" } };

	prom_family(&sb, "lbd_x_total", PROM_COUNTER, "Some \\ help\nover two lines.");
	prom_sample(&sb, "lbd_x_total", l, 2, 42);
	prom_family(&sb, "lbd_g", PROM_GAUGE, "A gauge.");
	prom_sample(&sb, "lbd_g", NULL, 0, 0);
	prom_sample_seconds(&sb, "lbd_g", l, 1, 1500);
	prom_family(&sb, "lbd_h", PROM_HISTOGRAM, "A histogram.");
	char *got = text_of(&sb);
	ck_assert_str_eq(got, "# HELP lbd_x_total Some \\\\ help\\nover two lines.\n"
			      "# TYPE lbd_x_total counter\n"
			      "lbd_x_total{pool=\"a\\\"b\",server=\"x\\\\y\\nz\"} 42\n"
			      "# HELP lbd_g A gauge.\n"
			      "# TYPE lbd_g gauge\n"
			      "lbd_g 0\n"
			      "lbd_g{pool=\"a\\\"b\"} 0.0015\n"
			      "# HELP lbd_h A histogram.\n"
			      "# TYPE lbd_h histogram\n");
	free(got);
}
END_TEST

START_TEST(seconds_are_exact_and_short)
{
	static const struct {
		uint64_t us;
		const char *out;
	} cases[] = {
		{ 0, "0" },
		{ 1, "0.000001" },
		{ 1000, "0.001" },
		{ 2500, "0.0025" },
		{ 100000, "0.1" },
		{ 1000000, "1" },
		{ 2500000, "2.5" },
		{ 10000000, "10" },
		{ 1234567, "1.234567" },
		{ 3600000010, "3600.00001" },
		{ UINT64_MAX, "18446744073709.551615" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf sb = { 0 };
		prom_add_seconds(&sb, cases[i].us);
		char *got = text_of(&sb);
		ck_assert_str_eq(got, cases[i].out);
		free(got);
	}
}
END_TEST

START_TEST(histogram_is_cumulative)
{
	static const uint64_t bounds[] = { 5000, 100000, 1000000 };
	static const uint64_t buckets[] = { 2, 0, 3, 1 }; /* not cumulative */
	const struct prom_label l = { "pool", "p" };
	struct strbuf sb = { 0 };

	prom_histogram(&sb, "lbd_rt_seconds", &l, 1, bounds, 3, buckets, 2750000);
	prom_histogram(&sb, "lbd_rt_seconds", NULL, 0, bounds, 3, (uint64_t[4]){ 0 }, 0);
	char *got = text_of(&sb);
	ck_assert_str_eq(got, "lbd_rt_seconds_bucket{pool=\"p\",le=\"0.005\"} 2\n"
			      "lbd_rt_seconds_bucket{pool=\"p\",le=\"0.1\"} 2\n"
			      "lbd_rt_seconds_bucket{pool=\"p\",le=\"1\"} 5\n"
			      "lbd_rt_seconds_bucket{pool=\"p\",le=\"+Inf\"} 6\n"
			      "lbd_rt_seconds_sum{pool=\"p\"} 2.75\n"
			      "lbd_rt_seconds_count{pool=\"p\"} 6\n"
			      "lbd_rt_seconds_bucket{le=\"0.005\"} 0\n"
			      "lbd_rt_seconds_bucket{le=\"0.1\"} 0\n"
			      "lbd_rt_seconds_bucket{le=\"1\"} 0\n"
			      "lbd_rt_seconds_bucket{le=\"+Inf\"} 0\n"
			      "lbd_rt_seconds_sum 0\n"
			      "lbd_rt_seconds_count 0\n");
	free(got);
}
END_TEST

START_TEST(status_classes_and_buckets)
{
	struct latency_hist h;
	struct latency_snapshot snap;

	ck_assert_int_eq(status_class_of(0), STATUS_OTHER);
	ck_assert_int_eq(status_class_of(99), STATUS_OTHER);
	ck_assert_int_eq(status_class_of(100), STATUS_1XX);
	ck_assert_int_eq(status_class_of(200), STATUS_2XX);
	ck_assert_int_eq(status_class_of(399), STATUS_3XX);
	ck_assert_int_eq(status_class_of(404), STATUS_4XX);
	ck_assert_int_eq(status_class_of(599), STATUS_5XX);
	ck_assert_int_eq(status_class_of(600), STATUS_OTHER);

	memset(&h, 0, sizeof(h));
	latency_observe(&h, 0);
	latency_observe(&h, 1000); /* le is "less or equal" */
	latency_observe(&h, 1001);
	latency_observe(&h, 10000000);
	latency_observe(&h, 10000001);
	latency_read(&h, &snap);
	ck_assert_uint_eq(snap.bucket[0], 2);
	ck_assert_uint_eq(snap.bucket[1], 1);
	ck_assert_uint_eq(snap.bucket[LATENCY_BOUNDS - 1], 1);
	ck_assert_uint_eq(snap.bucket[LATENCY_BOUNDS], 1);
	ck_assert_uint_eq(snap.sum_us, 20002002);
	for (unsigned i = 1; i < LATENCY_BOUNDS; i++)
		ck_assert_uint_gt(latency_bounds_us[i], latency_bounds_us[i - 1]);
}
END_TEST

static const char yaml[] =
	"listeners:\n"
	"  - { name: web, bind: 127.0.0.1:8080, routes: [{ pool: p }] }\n"
	"  - { name: raw, bind: 127.0.0.1:8081, protocol: tcp, routes: [{ pool: p }] }\n"
	"pools:\n"
	"  - name: p\n"
	"    servers:\n"
	"      - { name: a, address: 127.0.0.1:9001, weight: 2 }\n"
	"      - { address: 127.0.0.1:9002 }\n";

static struct config *load(void)
{
	struct config_errors errs;
	struct config *cfg;

	config_errors_init(&errs);
	cfg = config_load_buffer("t.yaml", yaml, sizeof(yaml) - 1, &errs);
	config_errors_free(&errs);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(config_attach_runtime(cfg), 0);
	ck_assert_int_eq(balance_build(cfg), 0);
	return cfg;
}

static char *render(const struct config *cfg)
{
	struct strbuf sb = { 0 };
	struct metrics_info info = {
		.generation = 3,
		.live_generations = 2,
		.now = 1000100,
		.daemon = { .reloads_ok = 2,
			    .reloads_rejected = 1,
			    .last_reload_ok = true,
			    .started_at = 1000000,
			    .connections = 5,
			    .max_connections = 100 },
	};

	metrics_render(&sb, cfg, &info);
	return text_of(&sb);
}

static void assert_line(const char *text, const char *line)
{
	char *want = malloc(strlen(line) + 3);

	ck_assert_ptr_nonnull(want);
	want[0] = '\n';
	strcpy(want + 1, line);
	strcat(want, "\n");
	ck_assert_msg(strstr(text, want) != NULL, "no line \"%s\" in:\n%s", line, text);
	free(want);
}

START_TEST(families_from_runtime_counters)
{
	struct config *cfg = load();
	struct server_rt *a = cfg->pools[0].servers[0].rt;
	struct server_rt *b = cfg->pools[0].servers[1].rt;

	runtime_count_request(cfg->listeners[0].rt, cfg->pools[0].rt, a, 200, 800, 100, 200);
	/* Counted by other workers (their own shards): the families add
	 * the shards up. */
	runtime_set_shard(1);
	runtime_count_request(cfg->listeners[0].rt, cfg->pools[0].rt, a, 204, 30000, 100, 200);
	runtime_set_shard(RUNTIME_SHARDS + 2);
	runtime_count_request(cfg->listeners[0].rt, cfg->pools[0].rt, b, 502, -1, 10, 20);
	runtime_set_shard(0);
	runtime_count_request(cfg->listeners[0].rt, cfg->pools[0].rt, NULL, 503, -1, 10, 20);
	runtime_count_request(cfg->listeners[0].rt, NULL, NULL, 404, -1, 10, 20);
	runtime_count_request(cfg->listeners[0].rt, cfg->pools[0].rt, b, 700, 2000, 0, 0);
	listener_rt_opened(cfg->listeners[0].rt);
	atomic_store(&b->state, SERVER_DRAINING);

	char *t = render(cfg);
	assert_line(t, "lbd_config_generation 3");
	assert_line(t, "lbd_config_live_generations 2");
	assert_line(t, "lbd_uptime_seconds 100");
	assert_line(t, "lbd_reloads_total{result=\"ok\"} 2");
	assert_line(t, "lbd_reloads_total{result=\"rejected\"} 1");
	assert_line(t, "lbd_connections 5");
	assert_line(t, "lbd_listener_connections{listener=\"web\"} 1");
	assert_line(t, "lbd_listener_connections_accepted_total{listener=\"web\"} 1");
	assert_line(t, "lbd_listener_requests_total{listener=\"web\",code=\"2xx\"} 2");
	assert_line(t, "lbd_listener_requests_total{listener=\"web\",code=\"4xx\"} 1");
	assert_line(t, "lbd_listener_requests_total{listener=\"web\",code=\"5xx\"} 2");
	assert_line(t, "lbd_listener_requests_total{listener=\"web\",code=\"other\"} 1");
	ck_assert_ptr_null(strstr(t, "lbd_listener_requests_total{listener=\"raw\""));
	assert_line(t, "lbd_listener_received_bytes_total{listener=\"web\"} 230");
	assert_line(t, "lbd_listener_sent_bytes_total{listener=\"web\"} 460");
	assert_line(t, "lbd_pool_requests_total{pool=\"p\",code=\"2xx\"} 2");
	assert_line(t, "lbd_pool_requests_total{pool=\"p\",code=\"5xx\"} 2");
	assert_line(t, "lbd_pool_servers_up{pool=\"p\"} 1");
	assert_line(t, "lbd_server_requests_total{pool=\"p\",server=\"a\",code=\"2xx\"} 2");
	assert_line(t, "lbd_server_requests_total{pool=\"p\",server=\"127.0.0.1:9002\","
		       "code=\"5xx\"} 1");
	assert_line(t, "lbd_server_up{pool=\"p\",server=\"127.0.0.1:9002\"} 0");
	assert_line(t, "lbd_server_state{pool=\"p\",server=\"127.0.0.1:9002\","
		       "state=\"draining\"} 1");
	assert_line(t, "lbd_server_state{pool=\"p\",server=\"127.0.0.1:9002\",state=\"up\"} 0");
	assert_line(t, "lbd_server_admin_state{pool=\"p\",server=\"a\",state=\"enabled\"} 1");
	assert_line(t, "lbd_server_weight{pool=\"p\",server=\"a\"} 2");
	/* The pool's histogram is its servers' added up: a's 800 us and
	 * 30 ms, b's 2 ms. */
	assert_line(t, "lbd_pool_upstream_response_seconds_bucket{pool=\"p\",le=\"0.001\"} 1");
	assert_line(t, "lbd_pool_upstream_response_seconds_bucket{pool=\"p\",le=\"0.0025\"} 2");
	assert_line(t, "lbd_pool_upstream_response_seconds_bucket{pool=\"p\",le=\"0.025\"} 2");
	assert_line(t, "lbd_pool_upstream_response_seconds_bucket{pool=\"p\",le=\"0.05\"} 3");
	assert_line(t, "lbd_pool_upstream_response_seconds_bucket{pool=\"p\",le=\"+Inf\"} 3");
	assert_line(t, "lbd_pool_upstream_response_seconds_sum{pool=\"p\"} 0.0328");
	assert_line(t, "lbd_pool_upstream_response_seconds_count{pool=\"p\"} 3");
	assert_line(t, "lbd_server_upstream_response_seconds_count{pool=\"p\",server=\"a\"} 2");
	free(t);
	config_unref(cfg);
	runtime_shutdown();
}
END_TEST

/* Every sample follows the HELP and TYPE of its family, each family is
 * declared once, and its samples are together. */
START_TEST(every_sample_has_its_family_first)
{
	struct config *cfg = load();
	char *t = render(cfg), *save = NULL;
	char family[128] = "", type[16] = "";
	char seen[64][128];
	size_t nseen = 0, helps = 0, types = 0;
	const char *last_help = NULL;

	for (char *line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			helps++;
			last_help = line + 7;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			types++;
			ck_assert_ptr_nonnull(last_help);
			size_t n = strcspn(line + 7, " ");
			ck_assert_int_eq(strncmp(last_help, line + 7, n), 0);
			ck_assert_int_eq(last_help[n], ' ');
			ck_assert_uint_lt(n, sizeof(family));
			memcpy(family, line + 7, n);
			family[n] = '\0';
			snprintf(type, sizeof(type), "%s", line + 8 + n);
			ck_assert_msg(strncmp(family, "lbd_", 4) == 0, "%s", family);
			for (size_t i = 0; i < nseen; i++)
				ck_assert_str_ne(seen[i], family);
			ck_assert_uint_lt(nseen, 64);
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", family);
			last_help = NULL;
			continue;
		}
		ck_assert_msg(line[0] != '#', "stray comment %s", line);
		size_t n = strcspn(line, "{ ");
		size_t f = strlen(family);
		ck_assert_msg(f && n >= f && strncmp(line, family, f) == 0,
			      "%s outside its family %s", line, family);
		const char *suffix = line + f;
		if (strcmp(type, "histogram") == 0)
			ck_assert_msg(strncmp(suffix, "_bucket{", 8) == 0 ||
					      strncmp(suffix, "_sum", 4) == 0 ||
					      strncmp(suffix, "_count", 6) == 0,
				      "%s", line);
		else
			ck_assert_msg(n == f, "%s outside its family %s", line, family);
		if (strcmp(type, "counter") == 0)
			ck_assert_msg(f > 6 && strcmp(family + f - 6, "_total") == 0, "%s", family);
	}
	ck_assert_uint_eq(helps, types);
	ck_assert_uint_gt(types, 20);
	free(t);
	config_unref(cfg);
	runtime_shutdown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, label_values_are_escaped);
	tcase_add_test(tc, family_header_and_samples);
	tcase_add_test(tc, seconds_are_exact_and_short);
	tcase_add_test(tc, histogram_is_cumulative);
	tcase_add_test(tc, status_classes_and_buckets);
	tcase_add_test(tc, families_from_runtime_counters);
	tcase_add_test(tc, every_sample_has_its_family_first);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

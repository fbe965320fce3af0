/* lbd.c — main: the command line, the configuration check (-t), then
 * the daemon (daemon/lifecycle.c).
 */
#include "build_config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "config/config.h"
#include "core/log.h"
#include "daemon/lifecycle.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: lbd [-c FILE] [-t] [-V] [-h]\n"
		"  -c, --config FILE  configuration file (default %s)\n"
		"  -t, --check        validate the configuration and exit\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         print this help and exit\n",
		CONFIG_DEFAULT_PATH);
}

static struct config *load_config(const char *path)
{
	struct config_errors errs;

	config_errors_init(&errs);
	struct config *cfg = config_load(path, &errs);
	if (!cfg)
		config_errors_print(&errs, stderr);
	config_errors_free(&errs);
	return cfg;
}

static void print_warning(void *path, const char *msg)
{
	fprintf(stderr, "%s: warning: %s\n", (const char *)path, msg);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONFIG_DEFAULT_PATH;
	bool check_only = false;
	int c;

	log_detect_journal();
	while ((c = getopt_long(argc, argv, "c:tVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check_only = true;
			break;
		case 'V':
			printf("lbd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return LBD_EXIT_BAD_CONFIG;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lbd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return LBD_EXIT_BAD_CONFIG;
	}

	struct config *cfg = load_config(path);
	if (!cfg)
		return LBD_EXIT_BAD_CONFIG;
	if (check_only) {
		struct config_errors errs;
		config_errors_init(&errs);
		int rc = config_check_environment(cfg, &errs);
		config_errors_print(&errs, stderr);
		config_unresolved_servers(cfg, print_warning, (void *)path);
		config_errors_free(&errs);
		config_unref(cfg);
		if (rc < 0)
			return LBD_EXIT_BAD_CONFIG;
		printf("%s: configuration OK\n", path);
		return 0;
	}
	return daemon_main(path, cfg);
}

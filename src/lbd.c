/* lbd.c — main: arguments, start-up, signals, worker threads and reload
 * orchestration. */
#include "build_config.h"
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

#define EXIT_BAD_CONFIG 1
#define EXIT_RUNTIME 2

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
	int check_only = 0;
	int c;

	while ((c = getopt_long(argc, argv, "c:tVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 't': check_only = 1; break;
		case 'V': printf("lbd %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_BAD_CONFIG;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lbd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_BAD_CONFIG;
	}

	struct config_errors errs;
	config_errors_init(&errs);
	struct config *cfg = config_load(path, &errs);
	if (!cfg) {
		config_errors_print(&errs, stderr);
		config_errors_free(&errs);
		return EXIT_BAD_CONFIG;
	}
	config_errors_free(&errs);
	if (check_only) {
		printf("%s: configuration OK\n", path);
		config_unref(cfg);
		return 0;
	}
	config_unref(cfg);
	log_error("the proxy core is not built yet");
	return EXIT_RUNTIME;
}

/* lbd.c — main: the command line, the configuration check (-t), then
 * the daemon (daemon/lifecycle.c).
 */
#include "build_config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/config.h"
#include "core/log.h"
#include "daemon/handover.h"
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

static void tell_errors(const struct config_errors *errs, int upgrade_fd)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	fprintf(f, "configuration rejected:\n");
	config_errors_print(errs, f);
	if (fclose(f) == 0) {
		while (len && text[len - 1] == '\n')
			text[--len] = '\0';
		handover_failed(upgrade_fd, text);
	}
	free(text);
}

/* The errors also go to the old lbd when an upgrade started this one
 * (UPGRADE_FD >= 0), so that `lbctl upgrade` shows them. */
static struct config *load_config(const char *path, int upgrade_fd)
{
	struct config_errors errs;

	config_errors_init(&errs);
	struct config *cfg = config_load(path, &errs);
	if (!cfg) {
		config_errors_print(&errs, stderr);
		if (upgrade_fd >= 0)
			tell_errors(&errs, upgrade_fd);
	}
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

	int upgrade_fd = check_only ? -1 : handover_child_fd();
	struct config *cfg = load_config(path, upgrade_fd);
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
	struct daemon_start start = { .argv = argv, .upgrade_fd = upgrade_fd };
	return daemon_main(path, cfg, &start);
}

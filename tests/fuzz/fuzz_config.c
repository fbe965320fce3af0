/* fuzz_config.c — libFuzzer target for the configuration loader: any bytes
 * must give a configuration or errors, never a crash, a hang or a leak.
 *
 * Built by `make fuzz-config` with clang -fsanitize=fuzzer,address,undefined.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Host names in fuzz input must not reach DNS (slow, and not what is being
 * tested): every lookup the loader makes is turned numeric-only. */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
	struct addrinfo h = { 0 };

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
	if (hints)
		h = *hints;
	h.ai_flags |= AI_NUMERICHOST;
	return real(node, service, &h, res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs;
	struct config *cfg;
	char line[256];

	config_errors_init(&errs);
	cfg = config_load_buffer("fuzz.yaml", (const char *)data, size, &errs);
	if (cfg && errs.count)
		abort(); /* a configuration is returned only without errors */
	if (!cfg && !errs.count)
		abort(); /* a rejection always says why */
	for (size_t i = 0; i < errs.count; i++)
		config_error_format(&errs.items[i], line, sizeof(line));
	config_errors_free(&errs);
	config_unref(cfg);
	return 0;
}

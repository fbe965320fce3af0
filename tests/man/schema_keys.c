/* schema_keys.c — prints every key of the lbd.yaml schema, from the
 * loader's own tables, one per line: "value PATH", "section PATH",
 * "list PATH" or "enum PATH WORD". tests/man/check-man compares the list
 * with lbd.yaml(5), so that a key the loader accepts cannot stay
 * undocumented. A test program only: lbd itself has no such option. */
#include <stdio.h>
#include <stdlib.h>

#include "config/config_schema.h"

static void print_key(void *ctx, const char *path, enum config_key_kind kind, const char *value)
{
	static const char *const kinds[] = {
		[CONFIG_KEY_VALUE] = "value",
		[CONFIG_KEY_SECTION] = "section",
		[CONFIG_KEY_LIST] = "list",
		[CONFIG_KEY_ENUM_VALUE] = "enum",
	};

	(void)ctx;
	if (value)
		printf("%s %s %s\n", kinds[kind], path, value);
	else
		printf("%s %s\n", kinds[kind], path);
}

int main(void)
{
	if (config_schema_keys(print_key, NULL) < 0) {
		fprintf(stderr, "schema_keys: a key path is longer than 256 bytes\n");
		return 1;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("schema_keys: stdout");
		return 1;
	}
	return 0;
}

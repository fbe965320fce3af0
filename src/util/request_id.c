/* request_id.c — X-Request-Id values from the per-thread generator of
 * util/random.h: the ids only need to be unique, not secret. */
#include "util/request_id.h"

#include <stdint.h>

#include "util/random.h"

void request_id_new(char out[REQUEST_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int half = 0; half < 2; half++) {
		uint64_t v = random_u64();
		for (int i = 0; i < 16; i++)
			out[half * 16 + i] = hex[(v >> (60 - 4 * i)) & 0xf];
	}
	out[REQUEST_ID_LEN] = '\0';
}

bool request_id_acceptable(const char *id, size_t len)
{
	if (len == 0 || len > REQUEST_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
			return false;
	return true;
}

/* request_id.c — X-Request-Id values from the per-thread generator of
 * util/random.h: the ids only need to be unique, not secret. */
#include "util/request_id.h"

#include <stdint.h>
#include <string.h>

#include "util/random.h"

/* The 8 hex digits of X, most significant first, in the 8 bytes of the
 * result as they lie in memory: each nibble spread to a byte, then all
 * eight turned to digits at once ('a'..'f' are 39 past '9' + 1). Some 20
 * instructions where a digit at a time takes ten each. */
static inline uint64_t hex8(uint32_t x)
{
	const uint64_t ones = 0x0101010101010101ULL;
	uint64_t v = x;

	v = ((v & 0xffff0000ULL) << 16) | (v & 0x0000ffffULL);
	v = ((v & 0x0000ff000000ff00ULL) << 8) | (v & 0x000000ff000000ffULL);
	v = ((v & 0x00f000f000f000f0ULL) << 4) | (v & 0x000f000f000f000fULL);
	v = __builtin_bswap64(v); /* the most significant nibble comes first */
	uint64_t letters = ((v + 6 * ones) >> 4) & ones; /* 1 where a nibble > 9 */
	return v + '0' * ones + letters * ('a' - '9' - 1);
}

void request_id_new(char out[REQUEST_ID_LEN + 1])
{
	for (int half = 0; half < 2; half++) {
		uint64_t v = random_u64(), d[2] = { hex8((uint32_t)(v >> 32)), hex8((uint32_t)v) };
		memcpy(out + half * 16, d, sizeof(d));
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

/* hash.h — a fixed 64-bit hash for balancing decisions.
 *
 * Balancing needs a hash that is the same in every lbd process on every
 * machine (so that instances with one configuration agree), fast on short
 * keys, and well mixed in every bit. FNV-1a over the bytes, then the
 * MurmurHash3 finalizer: FNV-1a alone mixes its high bits poorly. It is not
 * a keyed or cryptographic hash: it must not decide anything an attacker
 * profits from predicting.
 */
#ifndef LBD_UTIL_HASH_H
#define LBD_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Finalizer: a bijection of 64-bit values with full avalanche. */
static inline uint64_t hash_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* Hash LEN bytes of DATA, continuing from SEED (0 to start). */
uint64_t hash64(const void *data, size_t len, uint64_t seed);

#endif

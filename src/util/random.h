/* random.h — fast per-thread random numbers for choices that need no
 * secrecy (request ids, a split's pick without a key). */
#ifndef LBD_UTIL_RANDOM_H
#define LBD_UTIL_RANDOM_H

#include <stdint.h>

/* 64 random bits. Each thread has its own xoshiro256** generator, seeded
 * once from getrandom(): no lock and no system call per number. */
uint64_t random_u64(void);

#endif

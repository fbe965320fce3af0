/* random.c — a per-thread xoshiro256** generator. Its numbers only need
 * to be unpredictable enough to spread choices, not secret: a fast
 * generator with a good seed serves, and getrandom() is asked once per
 * thread. */
#include "util/random.h"

#include <stdbool.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static _Thread_local uint64_t state[4];
static _Thread_local bool seeded;

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t next(void)
{
	uint64_t result = rotl(state[1] * 5, 7) * 9, t = state[1] << 17;

	state[2] ^= state[0];
	state[3] ^= state[1];
	state[1] ^= state[2];
	state[0] ^= state[3];
	state[2] ^= t;
	state[3] = rotl(state[3], 45);
	return result;
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Without getrandom() (an old kernel, a sandbox refusing it), the time,
 * the process and the thread's own address still make threads and
 * processes differ. */
static void seed(void)
{
	if (getrandom(state, sizeof(state), 0) != (ssize_t)sizeof(state)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		x ^= (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&seeded;
		for (int i = 0; i < 4; i++)
			state[i] = splitmix(&x);
	}
	if (!(state[0] | state[1] | state[2] | state[3]))
		state[0] = 1; /* the one state xoshiro cannot leave */
	seeded = true;
}

uint64_t random_u64(void)
{
	if (!seeded)
		seed();
	return next();
}

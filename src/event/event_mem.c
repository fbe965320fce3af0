/* event_mem.c — libevent's memory, with per-thread spares of its buffer
 * chains (event_mem.h). */
#include "event/event_mem.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Each block carries its size in front, so that free() and realloc() know
 * it; the header keeps the block as aligned as malloc()'s. */
struct block {
	alignas(max_align_t) size_t size;
};

#define SPARE_SHIFT_MIN 10 /* 1 KiB, libevent's smallest chain */
#define SPARE_SHIFT_MAX 17 /* 128 KiB, a 64 KiB read's chain */
#define SPARE_CLASSES (SPARE_SHIFT_MAX - SPARE_SHIFT_MIN + 1)
/* Bytes kept per size, per thread: as many chains as a burst of
 * exchanges frees at once, and a bounded amount of memory. */
#define SPARE_BYTES (256 * 1024)
#define SPARE_COUNT_MIN 4

struct spare {
	struct spare *next;
};

struct spares {
	struct spare *head[SPARE_CLASSES];
	unsigned n[SPARE_CLASSES];
	bool registered; /* with the key whose destructor frees them */
};

static _Thread_local struct spares spares;
static pthread_key_t spares_key;

/* The class of a block of SIZE bytes, or -1 when blocks of that size are
 * not kept: only exact powers of two, as libevent sizes its chains. */
static int size_class(size_t size)
{
	if (size < ((size_t)1 << SPARE_SHIFT_MIN) || size > ((size_t)1 << SPARE_SHIFT_MAX) ||
	    (size & (size - 1)))
		return -1;
	return __builtin_ctzl(size) - SPARE_SHIFT_MIN;
}

static unsigned class_max(int c)
{
	unsigned n = SPARE_BYTES >> (c + SPARE_SHIFT_MIN);

	return n > SPARE_COUNT_MIN ? n : SPARE_COUNT_MIN;
}

static void *mem_malloc(size_t size)
{
	int c = size_class(size);
	struct block *b;

	if (c >= 0 && spares.head[c]) {
		struct spare *s = spares.head[c];
		spares.head[c] = s->next;
		spares.n[c]--;
		b = (struct block *)s - 1;
		return b + 1;
	}
	b = malloc(sizeof(*b) + size);
	if (!b)
		return NULL;
	b->size = size;
	return b + 1;
}

static void mem_free(void *p)
{
	struct block *b;
	int c;

	if (!p)
		return;
	b = (struct block *)p - 1;
	c = size_class(b->size);
	if (c < 0 || spares.n[c] >= class_max(c)) {
		free(b);
		return;
	}
	if (!spares.registered) {
		spares.registered = true;
		pthread_setspecific(spares_key, &spares);
	}
	struct spare *s = p;
	s->next = spares.head[c];
	spares.head[c] = s;
	spares.n[c]++;
}

static void *mem_realloc(void *p, size_t size)
{
	struct block *b;
	void *q;

	if (!p)
		return mem_malloc(size);
	b = (struct block *)p - 1;
	if (size_class(b->size) < 0 && size_class(size) < 0) {
		b = realloc(b, sizeof(*b) + size);
		if (!b)
			return NULL;
		b->size = size;
		return b + 1;
	}
	q = mem_malloc(size);
	if (!q)
		return NULL;
	memcpy(q, p, b->size < size ? b->size : size);
	mem_free(p);
	return q;
}

static void spares_free(struct spares *sp)
{
	for (int c = 0; c < SPARE_CLASSES; c++) {
		while (sp->head[c]) {
			struct spare *s = sp->head[c];
			sp->head[c] = s->next;
			free((struct block *)s - 1);
		}
		sp->n[c] = 0;
	}
}

static void spares_destroy(void *arg)
{
	struct spares *sp = arg;

	spares_free(sp);
	sp->registered = false; /* a later free registers it again */
}

void event_mem_init(void)
{
	pthread_key_create(&spares_key, spares_destroy);
	event_set_mem_functions(mem_malloc, mem_realloc, mem_free);
}

void event_mem_release(void)
{
	spares_free(&spares);
}

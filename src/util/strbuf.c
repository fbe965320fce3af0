/* strbuf.c — growable byte buffer. */
#include "util/strbuf.h"

#include <stdlib.h>

bool strbuf_reserve(struct strbuf *sb, size_t more)
{
	if (sb->failed)
		return false;
	if (sb->len + more <= sb->cap)
		return true;
	size_t cap = sb->cap ? sb->cap : 512;
	while (cap < sb->len + more)
		cap *= 2;
	char *data = realloc(sb->data, cap);
	if (!data) {
		sb->failed = true;
		return false;
	}
	sb->data = data;
	sb->cap = cap;
	return true;
}

void strbuf_free(struct strbuf *sb)
{
	free(sb->data);
	*sb = (struct strbuf){ 0 };
}

void strbuf_add_u64(struct strbuf *sb, uint64_t v)
{
	char digits[20];
	size_t n = 0;

	do {
		digits[sizeof(digits) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	strbuf_add(sb, digits + sizeof(digits) - n, n);
}

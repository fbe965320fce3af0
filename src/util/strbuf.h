/* strbuf.h — a growable byte buffer for building heads with plain copies
 * (no printf on the request path). An allocation failure is remembered and
 * reported once, by strbuf_failed(), instead of at every append. */
#ifndef LBD_UTIL_STRBUF_H
#define LBD_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct strbuf {
	char *data;
	size_t len, cap;
	bool failed;
};

bool strbuf_reserve(struct strbuf *sb, size_t more);
void strbuf_free(struct strbuf *sb);

static inline void strbuf_add(struct strbuf *sb, const void *p, size_t n)
{
	/* An empty strbuf's data is NULL, and memcpy() from NULL is undefined
	 * even for no bytes: adding one empty buffer to another must not. */
	if (n == 0)
		return;
	if (sb->len + n > sb->cap && !strbuf_reserve(sb, n))
		return;
	memcpy(sb->data + sb->len, p, n);
	sb->len += n;
}

static inline void strbuf_adds(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void strbuf_add_u64(struct strbuf *sb, uint64_t v);

static inline bool strbuf_failed(const struct strbuf *sb)
{
	return sb->failed;
}

#endif

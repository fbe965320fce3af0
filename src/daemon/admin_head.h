/* admin_head.h — the check of an admin request's head before evhttp reads
 * it (admin_head.c): socket-free, so that the tests can feed it bytes. */
#ifndef LBD_ADMIN_HEAD_H
#define LBD_ADMIN_HEAD_H

#include <stdbool.h>
#include <stddef.h>

#define ADMIN_HEAD_ERROR_MAX 96

enum admin_head_result {
	ADMIN_HEAD_MORE,    /* no whole head yet, and still within the limit */
	ADMIN_HEAD_OK,      /* a head evhttp will take: pass it on */
	ADMIN_HEAD_REFUSED, /* answer code, reason and error instead */
};

struct admin_head {
	/* OK, and REFUSED with 413: the head's bytes, its empty line
	 * included, and the body's bytes after it (for 413 the body the
	 * client announced, 0 when it waits for 100-continue) */
	size_t head_len;
	size_t body_len;
	bool is_head; /* the method is HEAD: the answer has no body */
	int code;     /* REFUSED: the status, its reason phrase, the error */
	const char *reason;
	char error[ADMIN_HEAD_ERROR_MAX];
};

/* Check the request head at the start of BUF (LEN bytes; the bytes after
 * the head are the body or the next request, not looked at). A head over
 * HEAD_MAX bytes is refused with 431, a body over BODY_MAX with 413, an
 * unknown method with 501, anything else evhttp 2.1 would refuse with its
 * own HTML page with 400 (411 for a chunked body, 417 for an Expect other
 * than 100-continue). The check is at least as strict as evhttp's, so a
 * head it lets through is one evhttp takes. */
enum admin_head_result admin_head_check(const char *buf, size_t len, size_t head_max,
					size_t body_max, struct admin_head *out);

#endif

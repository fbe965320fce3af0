/* config_secret.c — pools[].sticky.secret, secret_file and their
 * previous_ forms: read while the configuration loads (so lbd -t and a
 * reload report a file that cannot be read at its line), kept as bytes,
 * checked against each other, and wiped when the configuration is freed.
 *
 * A secret's value never reaches an error message, a log line or the
 * admin API: errors name the key, and the file by its path.
 */
#include "config/config_schema.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_PATH_MAX 4096

void config_secret_clear(struct sticky_secret *s)
{
	if (s->bytes) {
		OPENSSL_cleanse(s->bytes, s->len);
		free(s->bytes);
	}
	s->bytes = NULL;
	s->len = 0;
}

/* Replace the secret at OBJ + f->off with a copy of LEN bytes of DATA. */
static void set_secret(struct walk *w, const struct field *f, const struct cnode *v, void *obj,
		       const void *data, size_t len)
{
	struct sticky_secret *s = walk_slot(obj, f->off);
	unsigned char *copy = malloc(len);

	if (!copy) {
		cerr_at(w->errs, v, "out of memory");
		return;
	}
	memcpy(copy, data, len);
	config_secret_clear(s);
	s->bytes = copy;
	s->len = len;
}

void field_sticky_secret(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	const char *s = walk_scalar(w, v, "a secret string");
	size_t len;

	if (!s)
		return;
	len = strlen(s);
	if (len == 0 || len > STICKY_SECRET_MAX) {
		cerr_at(w->errs, v, "expected a secret of 1 to %d bytes, got %s", STICKY_SECRET_MAX,
			len ? "a longer one" : "an empty string");
		return;
	}
	set_secret(w, f, v, obj, s, len);
}

/* Room for the largest secret, a CRLF, and one byte more that tells a
 * file that is too large. */
#define SECRET_READ_MAX (STICKY_SECRET_MAX + 3)

/* PATH's content into BUF (SECRET_READ_MAX bytes), one trailing newline
 * cut: its length, or 0 with the reason in WHY. A FIFO or a device is
 * refused rather than read, so that a wrong path cannot block the load. */
static size_t read_secret(const char *path, unsigned char *buf, char *why, size_t whylen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	size_t n = 0;
	ssize_t r;

	if (fd < 0) {
		snprintf(why, whylen, "cannot read the secret file %s: %s", path, strerror(errno));
		return 0;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "cannot read the secret file %s: not a regular file", path);
		close(fd);
		return 0;
	}
	while (n < SECRET_READ_MAX && (r = read(fd, buf + n, SECRET_READ_MAX - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(why, whylen, "cannot read the secret file %s: %s", path,
				 strerror(errno));
			close(fd);
			return 0;
		}
		n += (size_t)r;
	}
	close(fd);
	if (n < SECRET_READ_MAX && n && buf[n - 1] == '\n')
		n -= n > 1 && buf[n - 2] == '\r' ? 2 : 1;
	if (n > STICKY_SECRET_MAX)
		snprintf(why, whylen, "the secret file %s holds more than %d bytes", path,
			 STICKY_SECRET_MAX);
	else if (n == 0)
		snprintf(why, whylen, "the secret file %s is empty", path);
	return n <= STICKY_SECRET_MAX ? n : 0;
}

/* A relative path is taken from the directory of the file that writes it,
 * as TLS files are. */
void field_sticky_secret_file(struct walk *w, const struct field *f, const struct cnode *v,
			      void *obj)
{
	const char *s = walk_scalar(w, v, "a file path");
	const char *base = v->file ? v->file : w->cfg->path, *slash = strrchr(base, '/');
	size_t dir = s && s[0] != '/' && slash ? (size_t)(slash - base) + 1 : 0;
	char path[SECRET_PATH_MAX], why[SECRET_PATH_MAX + 128];
	unsigned char buf[SECRET_READ_MAX];
	size_t len;

	if (!s)
		return;
	if (!s[0]) {
		cerr_at(w->errs, v, "expected a file path, got an empty string");
		return;
	}
	if (dir + strlen(s) >= sizeof(path)) {
		cerr_at(w->errs, v, "expected a file path of less than %d bytes", SECRET_PATH_MAX);
		return;
	}
	memcpy(path, base, dir);
	strcpy(path + dir, s);
	len = read_secret(path, buf, why, sizeof(why));
	if (len)
		set_secret(w, f, v, obj, buf, len);
	else
		cerr_at(w->errs, v, "%s", why);
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* V: the sticky mapping. Reported at the key that is one too many. */
void config_check_sticky_secrets(struct walk *w, const struct cnode *v)
{
	const struct cnode *secret = cnode_get(v, "secret");
	const struct cnode *file = cnode_get(v, "secret_file");
	const struct cnode *prev = cnode_get(v, "previous_secret");
	const struct cnode *prev_file = cnode_get(v, "previous_secret_file");

	if (secret && file)
		cerr_at(w->errs, file->key, "set secret or secret_file, not both");
	if (prev && prev_file)
		cerr_at(w->errs, prev_file->key,
			"set previous_secret or previous_secret_file, not both");
	if ((prev || prev_file) && !secret && !file)
		cerr_at(w->errs, (prev ? prev : prev_file)->key,
			"the secret being rotated from needs the one rotated to: set secret or "
			"secret_file too");
}

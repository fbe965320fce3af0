/* replay.c — runs a fuzz target's LLVMFuzzerTestOneInput over every file
 * of its corpus directories, without libFuzzer, so that `make check`
 * replays the seed corpora (and the crash inputs kept beside them) through
 * the normal and the sanitizer builds. A target that finds a bad input
 * aborts, which fails the test.
 *
 *   replay_NAME [DIR-OR-FILE...]   (default: FUZZ_CORPUS_DIR, the
 *                                   target's tests/fuzz/corpus/NAME)
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Corpus files are small; anything above libFuzzer's default -max_len
 * times sixteen is not one. */
#define REPLAY_MAX (64 * 1024)

static int replay_file(const char *path)
{
	static uint8_t buf[REPLAY_MAX];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	/* A copy of exactly the input's size, so that ASan sees reads past it. */
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		return -1;
	memcpy(copy, buf, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	return 0;
}

static int replay(const char *path, unsigned *count)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort);
	int rc = n < 0 ? -1 : 0;
	for (int i = 0; i < n; i++) {
		char full[4096];
		if (names[i]->d_name[0] != '.') {
			snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name);
			if (replay(full, count) < 0)
				rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int rc = 0;

	if (argc < 2) {
		if (replay(FUZZ_CORPUS_DIR, &count) < 0)
			rc = 1;
	}
	for (int i = 1; i < argc; i++)
		if (replay(argv[i], &count) < 0)
			rc = 1;
	if (count == 0)
		rc = 1; /* an empty corpus proves nothing */
	/* Reached only when no input crashed the target. */
	printf("replay: %u inputs of %s: %u passed, %d failed\n", count,
	       argc < 2 ? FUZZ_CORPUS_DIR : "the arguments", count, rc);
	return rc;
}

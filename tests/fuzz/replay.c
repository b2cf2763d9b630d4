/* Seed replayer: main() for a libFuzzer target built without libFuzzer, so
 * every committed seed runs once in the normal (and sanitized) test pass
 * with any compiler.
 *
 *   replay-fuzz_x PATH...   each PATH a file, or a directory whose files
 *                           (and files one directory further down) are
 *                           replayed in name order
 *
 * Output is TAP with a single test point. A crash in the target kills the
 * process before "ok" is printed, which the harness reports as failure. A
 * missing path, an unreadable file or a directory with no inputs is "not
 * ok": an empty corpus would otherwise pass without testing anything. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;
	size_t n;

	if (!fp || fstat(fileno(fp), &st) < 0) {
		printf("# %s: %s\n", path, strerror(errno));
		if (fp)
			fclose(fp);
		return -1;
	}
	/* Exactly the input's size, so ASan sees any read past its end. */
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (!buf) {
		fclose(fp);
		printf("# %s: out of memory\n", path);
		return -1;
	}
	n = fread(buf, 1, (size_t)st.st_size, fp);
	fclose(fp);
	if (n != (size_t)st.st_size) {
		printf("# %s: short read\n", path);
		free(buf);
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

static int skip_name(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Returns the number of inputs replayed, or -1 on error. */
static long replay_path(const char *path, int depth)
{
	struct dirent **ents;
	struct stat st;
	long total = 0;
	int n;

	if (stat(path, &st) < 0) {
		printf("# %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path) < 0 ? -1 : 1;
	if (depth > 1)
		return 0; /* recurse one level only */
	n = scandir(path, &ents, skip_name, alphasort);
	if (n < 0) {
		printf("# %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char sub[4096];
		int len = snprintf(sub, sizeof(sub), "%s/%s", path,
				   ents[i]->d_name);
		long got = -1;
		if (len > 0 && (size_t)len < sizeof(sub))
			got = replay_path(sub, depth + 1);
		if (got < 0 || total < 0)
			total = -1;
		else
			total += got;
		free(ents[i]);
	}
	free(ents);
	return total;
}

int main(int argc, char **argv)
{
	long total = 0;
	int ok = argc > 1;
	char what[1024] = "";

	printf("1..1\n");
	fflush(stdout);
	for (int i = 1; i < argc; i++) {
		long got = replay_path(argv[i], 0);
		if (got <= 0) {
			if (got == 0)
				printf("# %s: no inputs\n", argv[i]);
			ok = 0;
		} else {
			total += got;
		}
		size_t used = strlen(what);
		snprintf(what + used, sizeof(what) - used, "%s%s",
			 i > 1 ? " " : "", argv[i]);
		fflush(stdout);
	}
	if (argc <= 1)
		printf("# usage: %s corpus-dir-or-file...\n", argv[0]);
	printf("%sok 1 - replayed %ld inputs from %s\n", ok ? "" : "not ",
	       total, argc > 1 ? what : "(nothing)");
	return ok ? 0 : 1;
}

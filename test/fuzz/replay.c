/*
 * replay.c
 *	  A main() for the fuzz targets without libFuzzer: runs
 *	  LLVMFuzzerTestOneInput() once per file named on the command line (or
 *	  per file in a directory named there).  `make sanitizecheck` links
 *	  each target with it under gcc's AddressSanitizer and
 *	  UndefinedBehaviorSanitizer and replays the committed corpus, so the
 *	  parsers run under both compilers' sanitizers.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int	files = 0;

static int
replay_file(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf;
	long		len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
	{
		perror(path);
		return 1;
	}
	/* exactly the file's size, so that ASan sees a read past its end */
	buf = malloc(len > 0 ? (size_t) len : 1);
	if (buf == NULL || fread(buf, 1, (size_t) len, f) != (size_t) len)
	{
		perror(path);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t) len);
	free(buf);
	files++;
	return 0;
}

static int
replay(const char *path)
{
	struct stat st;
	DIR		   *d;
	struct dirent *e;
	int			rc = 0;

	if (stat(path, &st) != 0)
	{
		perror(path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	if ((d = opendir(path)) == NULL)
	{
		perror(path);
		return 1;
	}
	while ((e = readdir(d)) != NULL)
	{
		char		sub[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rc |= replay(sub);
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	int			rc = 0;

	for (int i = 1; i < argc; i++)
		rc |= replay(argv[i]);
	printf("%s: %d inputs replayed\n", argv[0], files);
	return rc;
}

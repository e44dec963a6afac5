/*
 * test_vlog.c
 *	  Unit test of visionproc/log.c: a message is masked before it is cut
 *	  to the line limit, so a cut never falls inside a password.
 *
 *	  The password "xK@qJ/wZ" holds an '@' and a later '/': cut between them
 *	  it reads as a complete URL with host "qJ" (the one case url.c cannot
 *	  mask after the fact), so only masking first keeps it hidden.  The
 *	  filler moves the 1024-byte line limit across every byte of the URL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "log.h"

#define MARKERS "KJQWZ"

int
main(void)
{
	const char *url = "rtsp://admin:xK@qJ/wZ@10.0.0.5/live";
	FILE	   *out = tmpfile();
	char		filler[1100];
	char		line[8192];
	int			failures = 0;
	int			lines = 0;
	int			saved = dup(2);

	if (out == NULL || saved < 0)
		return 2;
	fflush(stderr);
	dup2(fileno(out), 2);
	vlog_capture_ffmpeg();
	for (int n = 1024 - (int) strlen(url) - 2; n <= 1024; n++)
	{
		memset(filler, 'a', n);
		filler[n] = '\0';
		vlog("%s %s: Connection refused", filler, url);
		av_log(NULL, AV_LOG_FATAL, "%s %s: Connection refused\n", filler + 8, url);
	}
	fflush(stderr);
	dup2(saved, 2);

	rewind(out);
	while (fgets(line, sizeof(line), out) != NULL)
	{
		lines++;
		if (strpbrk(strchr(line, ']'), MARKERS) != NULL)
		{
			if (failures++ < 5)
				printf("FAIL vlog line shows a password: ...%s", line + strlen(line) - 60);
		}
		if (strlen(strchr(line, ']')) > 1024 + 4)
		{
			failures++;
			printf("FAIL vlog line longer than the limit: %zu bytes\n", strlen(line));
		}
	}
	if (lines != 2 * ((int) strlen(url) + 3))
	{
		failures++;
		printf("FAIL %d log lines, want %d\n", lines, 2 * ((int) strlen(url) + 3));
	}
	if (failures)
	{
		printf("test_vlog: %d failures\n", failures);
		return 1;
	}
	printf("test_vlog: %d lines, no password, none too long\n", lines);
	return 0;
}

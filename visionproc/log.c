/*
 * log.c
 *	  visionproc's log (see log.h).  FFmpeg's messages can hold the URL
 *	  being opened, so they pass through the same masking.
 *
 *	  Mask before you truncate: a message is formatted in full, masked, and
 *	  only the masked text is cut to LOG_LINE_MAX.  Cutting first could end
 *	  a URL inside its password and print the part before the cut.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "log.h"
#include "url.h"

/* Longest line written (bytes of masked message). */
#define LOG_LINE_MAX 1024

static void
vlog_line(const char *msg)
{
	char	   *masked = malloc(MASK_SECRETS_BUFSIZE(strlen(msg)));
	char		stamp[32];
	struct timeval tv;
	struct tm	tm;
	size_t		len;

	if (masked == NULL)
		return;					/* never print an unmasked message */
	mask_secrets(msg, masked);
	len = strlen(masked);
	while (len > 0 && masked[len - 1] == '\n')
		len--;
	if (len > LOG_LINE_MAX)
		len = LOG_LINE_MAX;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "%s.%03d UTC visionproc[%d]: %.*s\n", stamp, (int) (tv.tv_usec / 1000),
			(int) getpid(), (int) len, masked);
	free(masked);
}

/* The whole message, malloc'd after "prefix"; NULL when out of memory. */
static char *
format_all(const char *prefix, const char *fmt, va_list ap)
{
	size_t		plen = strlen(prefix);
	va_list		ap2;
	int			n;
	char	   *msg;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	msg = malloc(plen + n + 1);
	if (msg == NULL)
		return NULL;
	memcpy(msg, prefix, plen);
	vsnprintf(msg + plen, n + 1, fmt, ap);
	return msg;
}

void
vlog(const char *fmt,...)
{
	va_list		ap;
	char	   *msg;

	va_start(ap, fmt);
	msg = format_all("", fmt, ap);
	va_end(ap);
	if (msg == NULL)
		return;
	vlog_line(msg);
	free(msg);
}

static void
ffmpeg_log(void *avcl, int level, const char *fmt, va_list ap)
{
	char	   *msg;

	(void) avcl;
	/* stream errors are reported in each task's result, not here */
	if (level > AV_LOG_FATAL)
		return;
	msg = format_all("ffmpeg: ", fmt, ap);
	if (msg == NULL)
		return;
	vlog_line(msg);
	free(msg);
}

void
vlog_capture_ffmpeg(void)
{
	av_log_set_callback(ffmpeg_log);
}

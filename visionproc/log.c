/*
 * log.c
 *	  visionproc's log (see log.h).  FFmpeg's messages can hold the URL
 *	  being opened, so they pass through the same masking.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "log.h"
#include "url.h"

static void
vlog_line(const char *msg)
{
	char		masked[MASK_SECRETS_BUFSIZE(1024)];
	char		stamp[32];
	struct timeval tv;
	struct tm	tm;
	size_t		len;

	mask_secrets(msg, masked);
	len = strlen(masked);
	while (len > 0 && masked[len - 1] == '\n')
		masked[--len] = '\0';
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "%s.%03d UTC visionproc[%d]: %s\n", stamp, (int) (tv.tv_usec / 1000),
			(int) getpid(), masked);
}

void
vlog(const char *fmt,...)
{
	char		msg[1024];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vlog_line(msg);
}

static void
ffmpeg_log(void *avcl, int level, const char *fmt, va_list ap)
{
	char		msg[1024];

	/* stream errors are reported in each task's result, not here */
	if (level > AV_LOG_FATAL)
		return;
	memcpy(msg, "ffmpeg: ", 8);
	vsnprintf(msg + 8, sizeof(msg) - 8, fmt, ap);
	vlog_line(msg);
}

void
vlog_capture_ffmpeg(void)
{
	av_log_set_callback(ffmpeg_log);
}

/*
 * log.h
 *	  visionproc's log: one line per event on stderr, credentials masked.
 */
#ifndef VISIONPROC_LOG_H
#define VISIONPROC_LOG_H

extern void vlog(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* Route FFmpeg's own fatal messages through vlog. */
extern void vlog_capture_ffmpeg(void);

#endif							/* VISIONPROC_LOG_H */

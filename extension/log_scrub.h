/*
 * log_scrub.h
 *	  Keeps camera credentials out of the server log and error messages.
 */
#ifndef CAMERA_HEALTH_LOG_SCRUB_H
#define CAMERA_HEALTH_LOG_SCRUB_H

extern void log_scrub_install(void);
extern char *scrub_secrets(const char *text);
extern char *scrub_url(const char *url);

#endif							/* CAMERA_HEALTH_LOG_SCRUB_H */

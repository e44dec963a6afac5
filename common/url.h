/*
 * url.h
 *	  Camera URL checks and credential masking, shared by the extension and
 *	  visionproc.  Plain C: no PostgreSQL, no allocation.
 */
#ifndef CAMERA_HEALTH_URL_H
#define CAMERA_HEALTH_URL_H

#include <stdbool.h>
#include <stddef.h>

/* Longest camera URL we accept (bytes). */
#define CAMERA_URL_MAX_LEN 2048

/*
 * Is "url" a URL a camera can be read from: scheme rtsp, rtsps, http or
 * https (any case), a non-empty host, an optional numeric port 1..65535, no
 * whitespace or control characters?  On false, *reason (if not NULL) names
 * what is wrong, in words fit for an error detail.
 */
extern bool camera_url_is_valid(const char *url, const char **reason);

/*
 * Size of the buffer mask_secrets() needs for an input of "len" bytes.
 * Every masked secret is at least one byte and becomes three, so the output
 * never grows beyond this bound.
 */
#define MASK_SECRETS_BUFSIZE(len) (3 * (len) + 1)

/*
 * Copy "in" to "out", replacing every credential found inside a URL with
 * "***": the password of "scheme://user:password@host" and the value of
 * query parameters such as password=, pwd=, token=, auth=.  Text outside
 * URLs is copied as it is.  "out" must hold MASK_SECRETS_BUFSIZE(strlen(in))
 * bytes.  Returns true when something was masked.
 */
extern bool mask_secrets(const char *in, char *out);

/* Does "text" hold a credential that mask_secrets() would mask? */
extern bool has_secrets(const char *text);

#endif							/* CAMERA_HEALTH_URL_H */

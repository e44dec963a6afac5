/*
 * url.h
 *	  Camera URL checks and credential masking, shared by the extension and
 *	  visionproc.  Plain C: no PostgreSQL, no allocation.
 *
 *	  One function, url_credentials(), decides what the credentials of a URL
 *	  are (and so where its userinfo ends and its host begins); the
 *	  validator, the maskers, the server-log filter and visionproc all go
 *	  through it.  The rules are written down above it in url.c.
 */
#ifndef CAMERA_HEALTH_URL_H
#define CAMERA_HEALTH_URL_H

#include <stdbool.h>
#include <stddef.h>

/* Longest camera URL we accept (bytes). */
#define CAMERA_URL_MAX_LEN 2048

/* A byte range [start, end) of a text. */
typedef struct UrlSpan
{
	size_t		start;
	size_t		end;
} UrlSpan;

/*
 * Secret spans reported per URL.  A URL with more secret query parameters
 * than this has its last span run to the end of the URL: masked too much,
 * never too little.
 */
#define URL_MAX_SECRETS 8

/* How far a URL may extend: one whole URL, or a URL inside free text. */
typedef enum UrlScope
{
	URL_WHOLE,					/* the text is one complete URL (a stored value) */
	URL_IN_TEXT					/* free text, possibly cut short anywhere */
} UrlScope;

/* What url_credentials() found; all positions are byte offsets. */
typedef struct UrlCredentials
{
	size_t		scheme_sep;		/* where "://" is */
	size_t		begin;			/* just after "://" */
	size_t		end;			/* end of the URL (its region, see url.c) */
	bool		has_userinfo;	/* an '@' ends a userinfo */
	size_t		host;			/* start of host[:port]: after that '@', or begin */
	size_t		host_end;		/* the first '/', '?' or '#' after host, or end */
	int			nsecrets;		/* spans in secrets[], ascending and disjoint */
	UrlSpan		secrets[URL_MAX_SECRETS];
} UrlCredentials;

/*
 * The first URL (a "://") of text[0..len) at or after offset "from", and
 * its credentials: the password of the userinfo and the values of secret
 * query parameters.  False when there is no further URL.
 */
extern bool url_credentials(const char *text, size_t len, size_t from,
							UrlScope scope, UrlCredentials *uc);

/*
 * Is "url" a URL a camera can be read from: scheme rtsp, rtsps, http or
 * https (any case), a non-empty host, an optional numeric port 1..65535, no
 * whitespace or control characters?  On false, *reason (if not NULL) names
 * what is wrong, in words fit for an error detail.
 */
extern bool camera_url_is_valid(const char *url, const char **reason);

/*
 * "scheme://host" of a URL, without userinfo, port, path or query, for
 * error messages about a refused URL.  Writes at most outsize bytes
 * (NUL included) and returns the length; 0 (and "") when the URL has no
 * plausible scheme.  The host is left out ("scheme://") when it is empty,
 * holds unusual characters or lies inside a secret.
 */
extern size_t url_origin(const char *url, char *out, size_t outsize);

/*
 * The URL as client libraries must be given it: FFmpeg (av_url_split) and
 * libcurl end the authority at the first '/', '?' or '#', so a userinfo
 * holding them (accepted above: "admin:99#secret@host") would send them to
 * another host.  Copies "url" with every userinfo byte that is not
 * unreserved, a sub-delim, ':' or a valid %XX percent-encoded (both decode
 * it again).  "out" needs MASK_SECRETS_BUFSIZE(strlen(url)) bytes; returns
 * the length written.
 */
extern size_t url_for_client(const char *url, char *out);

/*
 * Size of the buffer the maskers need for an input of "len" bytes.  Every
 * masked secret is at least one byte and becomes three, so the output never
 * grows beyond this bound.
 */
#define MASK_SECRETS_BUFSIZE(len) (3 * (len) + 1)

/*
 * Copy "in" to "out", replacing every credential of every URL in the free
 * text "in" with "***" (URL_IN_TEXT rules: masks more rather than less, also
 * when "in" was cut short).  "out" must hold
 * MASK_SECRETS_BUFSIZE(strlen(in)) bytes.  Returns true when something was
 * masked.  Mask before you truncate: cutting the masked text is always
 * safe, masking a cut text is the fallback.  Idempotent (both maskers):
 * masking a masked text again changes nothing (url.c, rule 6).
 */
extern bool mask_secrets(const char *in, char *out);

/* The same for one complete URL (URL_WHOLE rules), e.g. a stored rtsp_url. */
extern bool mask_url_secrets(const char *url, char *out);

/* Does the free text hold a credential that mask_secrets() would mask? */
extern bool has_secrets(const char *text);

#endif							/* CAMERA_HEALTH_URL_H */

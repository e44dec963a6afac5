/*
 * url.c
 *	  Camera URL checks and credential masking (see url.h).
 *
 * Camera URLs very often carry credentials (rtsp://admin:secret@10.0.0.5/,
 * http://10.0.0.6/snap.jpg?user=admin&pwd=secret).  Everything that may end
 * up in a log line, an error message, a health log or an alert goes through
 * mask_secrets() first, and url_credentials() alone decides what in a URL
 * is a credential.
 */
#include "url.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Query parameters whose value is a credential. */
static const char *const secret_params[] = {
	"password", "passwd", "pass", "pwd", "psw", "token", "access_token",
	"auth", "authorization", "key", "apikey", "api_key", "secret", NULL
};

static const char *const camera_schemes[] = {"rtsp", "rtsps", "http", "https", NULL};

static bool
is_secret_param(const char *name, size_t len)
{
	for (int i = 0; secret_params[i] != NULL; i++)
	{
		if (strlen(secret_params[i]) == len &&
			strncasecmp(name, secret_params[i], len) == 0)
			return true;
	}
	return false;
}

static bool
is_scheme_char(char c)
{
	return isalnum((unsigned char) c) || c == '+' || c == '-' || c == '.';
}

/*
 * First "://" in text[from..len), or len.  With after_scheme, only one
 * right after a scheme character: the start of a next URL in free text
 * ("rtsp://"), not a "://" inside a password ("admin:://x@").
 */
static size_t
find_sep(const char *text, size_t len, size_t from, bool after_scheme)
{
	for (size_t i = from; i + 3 <= len; i++)
		if (text[i] == ':' && text[i + 1] == '/' && text[i + 2] == '/' &&
			(!after_scheme || (i > 0 && is_scheme_char(text[i - 1]))))
			return i;
	return len;
}

/* First c in text[from..to), or to. */
static size_t
find_char(const char *text, size_t from, size_t to, char c)
{
	const char *p = memchr(text + from, c, to - from);

	return p ? (size_t) (p - text) : to;
}

/*
 * Record a secret span.  Beyond URL_MAX_SECRETS, the last span runs to the
 * end of the URL instead (query spans arrive in ascending order, so it
 * covers every later one).
 */
static void
add_secret(UrlCredentials *uc, size_t start, size_t end)
{
	if (start >= end)
		return;
	if (uc->nsecrets == URL_MAX_SECRETS)
	{
		uc->secrets[URL_MAX_SECRETS - 1].end = uc->end;
		return;
	}
	uc->secrets[uc->nsecrets].start = start;
	uc->secrets[uc->nsecrets].end = end;
	uc->nsecrets++;
}

/* Sort the spans and merge those that overlap or touch. */
static void
merge_secrets(UrlCredentials *uc)
{
	int			n = 0;

	for (int i = 1; i < uc->nsecrets; i++)
	{
		UrlSpan		s = uc->secrets[i];
		int			j = i - 1;

		for (; j >= 0 && uc->secrets[j].start > s.start; j--)
			uc->secrets[j + 1] = uc->secrets[j];
		uc->secrets[j + 1] = s;
	}
	for (int i = 0; i < uc->nsecrets; i++)
	{
		if (n > 0 && uc->secrets[i].start <= uc->secrets[n - 1].end)
		{
			if (uc->secrets[i].end > uc->secrets[n - 1].end)
				uc->secrets[n - 1].end = uc->secrets[i].end;
		}
		else
			uc->secrets[n++] = uc->secrets[i];
	}
	uc->nsecrets = n;
}

/*
 * Values of secret query parameters: "name=value" after '?', '&' or ';',
 * anywhere in the URL (also before its last '@': "?pwd=a@b").  A value runs
 * to the next '&' or ';' (the camera reads those as separators too) or to
 * the end of the URL: '#', quotes and whitespace do not end it.
 */
static void
find_secret_params(const char *text, UrlCredentials *uc)
{
	for (size_t i = uc->begin; i < uc->end; i++)
	{
		size_t		name = i + 1;
		size_t		eq = name;
		size_t		vend;

		if (text[i] != '?' && text[i] != '&' && text[i] != ';')
			continue;
		while (eq < uc->end && strchr("=&;?#", text[eq]) == NULL &&
			   !isspace((unsigned char) text[eq]))
			eq++;
		if (eq == uc->end || text[eq] != '=' || !is_secret_param(text + name, eq - name))
			continue;
		vend = eq + 1;
		while (vend < uc->end && text[vend] != '&' && text[vend] != ';')
			vend++;
		add_secret(uc, eq + 1, vend);
		i = vend - 1;
	}
}

/*
 * Free text only: the authority may have been cut short, inside a password
 * ("rtsp://admin:sec", "rtsp://admin:99#se"), or have been followed by text
 * we cannot tell from a password's tail.
 *
 * - A URL whose userinfo holds a ':' and no '/' after its '@'
 *   ("rtsp://u:pw@cam" at the end of a message, or cut right after an '@'
 *   of the password, even a first one: "admin:@pa"): the password span
 *   runs to the end of the URL, host included.
 * - Otherwise a ':' in the host part (past a bracketed IPv6 address) is a
 *   port only when 1 to 5 digits and then a '/' follow; anything else after
 *   it may be a password that lost its '@', and is masked to the end.
 */
static void
mask_cut_authority(const char *text, UrlCredentials *uc, size_t pw_start)
{
	size_t		slash = find_char(text, uc->host, uc->end, '/');
	size_t		from = uc->host;
	size_t		colon;
	size_t		digits = 0;

	if (pw_start != SIZE_MAX && slash == uc->end)
	{
		add_secret(uc, pw_start, uc->end);	/* merged with the password */
		return;
	}
	if (from < slash && text[from] == '[')
	{
		size_t		close = find_char(text, from, slash, ']');

		if (close < slash)
			from = close;
	}
	colon = find_char(text, from, slash, ':');
	if (colon == slash)
		return;
	while (colon + 1 + digits < slash && isdigit((unsigned char) text[colon + 1 + digits]))
		digits++;
	if (digits >= 1 && digits <= 5 && colon + 1 + digits == slash && slash < uc->end)
		return;
	add_secret(uc, colon + 1, uc->end);
}

/*
 * url_credentials: THE rules for what a credential is.
 *
 * 1. A URL begins at "://" (whatever scheme precedes it).  With URL_WHOLE
 *    it runs to the end of the text.  In free text it runs to the next
 *    "://" that follows a scheme character (a letter, digit, '+', '-' or
 *    '.': "rtsp://", not the "://" of a password "admin:://x"), or to the
 *    end of the text: whitespace, quotes, '<', '>' and backticks do NOT end
 *    it, because a password may hold any of them and messages quote values
 *    without escaping them.  The price is masking prose that follows a URL
 *    when it looks like a credential, never the other way round.
 * 2. The userinfo runs to the LAST '@' of the URL, wherever '/', '?' or '#'
 *    stand before it: users put unencoded '@', '/', '?' and '#' in
 *    passwords ("admin:99#secret@host" is user admin, password 99#secret,
 *    host host).  The host and port follow that '@'; an '@' in a path or
 *    query must be written %40 or it is read as the end of a userinfo.
 * 3. The password is what follows the first ':' of the userinfo, up to
 *    that '@' (a user name holds no ':'; it may hold '@': an email).  The
 *    user name is not masked.
 * 4. Values of secret query parameters (find_secret_params).
 * 5. Free text may have been cut anywhere: see mask_cut_authority.
 *
 * What rule 5 costs: in free text a port not followed by a path is masked
 * ("rtsp://10.0.0.5:***", it might be "admin:99" of "admin:99#secret"), and
 * so is the host of a URL with a password and no path.
 *
 * Known gaps, the first two only for text cut short before masking (which
 * is why every caller masks before it truncates): a password holding an '@'
 * and a later '/', cut between the two ("admin:p@ss/w" of "p@ss/word@h"),
 * reads as a complete URL with host "ss"; a password that begins with
 * digits and a '/', cut after the '/', reads as a port.  And in free text
 * a password holding "://" right after a letter or digit ("ab://c") starts
 * a new URL there, cut or not.
 */
bool
url_credentials(const char *text, size_t len, size_t from, UrlScope scope,
				UrlCredentials *uc)
{
	size_t		sep = find_sep(text, len, from, false);
	size_t		at = SIZE_MAX;
	size_t		pw_start = SIZE_MAX;

	if (sep == len)
		return false;
	memset(uc, 0, sizeof(*uc));
	uc->scheme_sep = sep;
	uc->begin = sep + 3;
	uc->end = scope == URL_WHOLE ? len : find_sep(text, len, uc->begin, true);

	for (size_t i = uc->begin; i < uc->end; i++)
		if (text[i] == '@')
			at = i;
	uc->has_userinfo = at != SIZE_MAX;
	uc->host = uc->has_userinfo ? at + 1 : uc->begin;
	if (uc->has_userinfo)
	{
		size_t		colon = find_char(text, uc->begin, at, ':');

		if (colon < at)
		{
			pw_start = colon + 1;
			add_secret(uc, pw_start, at);
		}
	}
	uc->host_end = uc->host;
	while (uc->host_end < uc->end && strchr("/?#", text[uc->host_end]) == NULL)
		uc->host_end++;

	if (scope == URL_IN_TEXT)
		mask_cut_authority(text, uc, pw_start);
	find_secret_params(text, uc);
	merge_secrets(uc);
	return true;
}

/* Shared by the maskers (out != NULL) and has_secrets (out == NULL). */
static bool
walk_secrets(const char *in, char *out, UrlScope scope)
{
	size_t		len = strlen(in);
	size_t		copied = 0;
	size_t		from = 0;
	char	   *o = out;
	bool		found = false;
	UrlCredentials uc;

	while (from < len && url_credentials(in, len, from, scope, &uc))
	{
		for (int i = 0; i < uc.nsecrets; i++)
		{
			found = true;
			if (o == NULL)
				return true;
			memcpy(o, in + copied, uc.secrets[i].start - copied);
			o += uc.secrets[i].start - copied;
			memcpy(o, "***", 3);
			o += 3;
			copied = uc.secrets[i].end;
		}
		from = uc.end;
	}
	if (o != NULL)
	{
		memcpy(o, in + copied, len - copied);
		o[len - copied] = '\0';
	}
	return found;
}

bool
mask_secrets(const char *in, char *out)
{
	return walk_secrets(in, out, URL_IN_TEXT);
}

bool
mask_url_secrets(const char *url, char *out)
{
	return walk_secrets(url, out, URL_WHOLE);
}

bool
has_secrets(const char *text)
{
	return strstr(text, "://") != NULL && walk_secrets(text, NULL, URL_IN_TEXT);
}

/* Check the port of host[:port] at url[hostend..end); false sets *reason. */
static bool
port_is_valid(const char *hostend, const char *end, const char **reason)
{
	char		portbuf[8];
	size_t		plen = end - hostend - 1;
	char	   *endp;
	long		port;

	if (*hostend != ':' || plen == 0 || plen >= sizeof(portbuf))
	{
		*reason = "The URL has a malformed port.";
		return false;
	}
	memcpy(portbuf, hostend + 1, plen);
	portbuf[plen] = '\0';
	port = strtol(portbuf, &endp, 10);
	if (*endp != '\0' || !isdigit((unsigned char) portbuf[0]) ||
		port < 1 || port > 65535)
	{
		*reason = "The URL's port must be a number from 1 to 65535.";
		return false;
	}
	return true;
}

/* The end of the host in [host, end): past "[...]" or up to a ':'. */
static const char *
host_name_end(const char *host, const char *end, const char **reason)
{
	const char *hostend;

	if (*host != '[')
	{
		hostend = memchr(host, ':', end - host);
		return hostend ? hostend : end;
	}
	hostend = memchr(host, ']', end - host);
	if (hostend == NULL || hostend == host + 1)
	{
		*reason = "The URL has an unterminated or empty IPv6 address.";
		return NULL;
	}
	return hostend + 1;
}

/*
 * Host names, IPv4 and bracketed IPv6 addresses only: letters, digits, '-',
 * '.', '_', '~' and percent-encodings (and ':' inside brackets).  RFC 3986
 * also allows sub-delims, which no camera uses; refusing them catches a URL
 * whose '@' in the query made the rest of the query look like a host
 * ("?pwd=a@b&ch=1").
 */
static bool
host_chars_ok(const char *host, const char *hostend)
{
	bool		bracketed = *host == '[';

	for (const char *c = host + bracketed; c < hostend - bracketed; c++)
		if (!isalnum((unsigned char) *c) && strchr("-._~%", *c) == NULL &&
			!(bracketed && *c == ':'))
			return false;
	return true;
}

bool
camera_url_is_valid(const char *url, const char **reason)
{
	size_t		len = strlen(url);
	bool		scheme_ok = false;
	const char *dummy;
	const char *host;
	const char *end;
	const char *hostend;
	UrlCredentials uc;

	if (reason == NULL)
		reason = &dummy;
	if (len > CAMERA_URL_MAX_LEN)
	{
		*reason = "The URL is longer than 2048 bytes.";
		return false;
	}
	for (const char *c = url; *c; c++)
	{
		if (isspace((unsigned char) *c) || iscntrl((unsigned char) *c))
		{
			*reason = "The URL contains whitespace or control characters.";
			return false;
		}
	}
	if (url_credentials(url, len, 0, URL_WHOLE, &uc))
	{
		for (int i = 0; camera_schemes[i] != NULL; i++)
			if (strlen(camera_schemes[i]) == uc.scheme_sep &&
				strncasecmp(url, camera_schemes[i], uc.scheme_sep) == 0)
				scheme_ok = true;
	}
	if (!scheme_ok)
	{
		*reason = "The scheme must be rtsp, rtsps, http or https.";
		return false;
	}

	/* host[:port], after the userinfo as url_credentials() delimits it */
	host = url + uc.host;
	end = url + uc.host_end;
	hostend = host_name_end(host, end, reason);
	if (hostend == NULL)
		return false;
	if (hostend == host)
	{
		*reason = "The URL has no host.";
		return false;
	}
	if (!host_chars_ok(host, hostend))
	{
		*reason = "The URL's host has characters no host name has (write an '@' in a path or query as %40).";
		return false;
	}
	return hostend == end || port_is_valid(hostend, end, reason);
}

static bool
is_scheme(const char *s, size_t len)
{
	if (len == 0 || len > 16 || !isalpha((unsigned char) s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!is_scheme_char(s[i]))
			return false;
	return true;
}

/* May [host, hostend) be shown: plain host characters, not inside a secret? */
static bool
host_is_showable(const char *url, size_t host, size_t hostend, const UrlCredentials *uc)
{
	if (hostend == host || hostend - host > 255)
		return false;
	for (size_t i = host; i < hostend; i++)
		if (!isalnum((unsigned char) url[i]) && strchr(".-_~%[]:", url[i]) == NULL)
			return false;
	for (int i = 0; i < uc->nsecrets; i++)
		if (uc->secrets[i].start < hostend && host < uc->secrets[i].end)
			return false;
	return true;
}

size_t
url_origin(const char *url, char *out, size_t outsize)
{
	size_t		len = strlen(url);
	UrlCredentials uc;
	const char *dummy;
	const char *hostend;
	size_t		hlen = 0;
	int			n;

	if (outsize == 0)
		return 0;
	out[0] = '\0';
	if (!url_credentials(url, len, 0, URL_WHOLE, &uc) || !is_scheme(url, uc.scheme_sep))
		return 0;
	hostend = host_name_end(url + uc.host, url + uc.host_end, &dummy);
	if (hostend != NULL &&
		host_is_showable(url, uc.host, hostend - url, &uc))
		hlen = hostend - (url + uc.host);
	n = snprintf(out, outsize, "%.*s://%.*s", (int) uc.scheme_sep, url,
				 (int) hlen, url + uc.host);
	if (n < 0 || (size_t) n >= outsize)
	{
		out[0] = '\0';
		return 0;
	}
	return n;
}

static bool
is_hex(char c)
{
	return isxdigit((unsigned char) c) != 0;
}

/* May byte p[0] stand in a userinfo as it is (RFC 3986, 3.2.1)? */
static bool
userinfo_byte_ok(const char *p, const char *end)
{
	if (isalnum((unsigned char) *p) || strchr("-._~!$&'()*+,;=:", *p) != NULL)
		return *p != '\0';
	return *p == '%' && end - p >= 3 && is_hex(p[1]) && is_hex(p[2]);
}

size_t
url_for_client(const char *url, char *out)
{
	size_t		len = strlen(url);
	char	   *o = out;
	UrlCredentials uc;

	if (!url_credentials(url, len, 0, URL_WHOLE, &uc) || !uc.has_userinfo)
	{
		memcpy(out, url, len + 1);
		return len;
	}
	memcpy(o, url, uc.begin);
	o += uc.begin;
	for (const char *p = url + uc.begin; p < url + uc.host - 1; p++)
	{
		if (userinfo_byte_ok(p, url + uc.host - 1))
			*o++ = *p;
		else
			o += sprintf(o, "%%%02X", (unsigned char) *p);
	}
	memcpy(o, url + uc.host - 1, len - (uc.host - 1) + 1);
	return o - out + len - (uc.host - 1);
}

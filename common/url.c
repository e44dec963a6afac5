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
 * ("rtsp://"), not a "://" inside a password ("admin:://x@"); or right
 * after a "***" placeholder, because masking the previous URL may have
 * swallowed that scheme ("rtsp://a:se', 'rtsp://h/" became
 * "rtsp://a:***://h/"), and a masked text must read as it did before.
 */
static size_t
find_sep(const char *text, size_t len, size_t from, bool after_scheme)
{
	for (size_t i = from; i + 3 <= len; i++)
		if (text[i] == ':' && text[i + 1] == '/' && text[i + 2] == '/' &&
			(!after_scheme || (i > 0 && is_scheme_char(text[i - 1])) ||
			 (i >= 3 && memcmp(text + i - 3, "***", 3) == 0)))
			return i;
	return len;
}

/*
 * Record a secret span.  Beyond URL_MAX_SECRETS, the last span runs from
 * the new one's start (if that is earlier) to the end of the URL instead:
 * query spans arrive in ascending order, so it covers every later one.
 * "again" (the second reading, rule 6): unless a span already covers it,
 * so that finding a secret again does not use up the spans.
 */
static void
add_secret(UrlCredentials *uc, size_t start, size_t end, bool again)
{
	UrlSpan    *last = &uc->secrets[URL_MAX_SECRETS - 1];

	if (start >= end)
		return;
	for (int i = 0; again && i < uc->nsecrets; i++)
		if (uc->secrets[i].start <= start && end <= uc->secrets[i].end)
			return;
	if (uc->nsecrets == URL_MAX_SECRETS)
	{
		if (start < last->start)
			last->start = start;
		last->end = uc->end;
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
 * Where a secret found so far covers text[pos]: the end of that span, else
 * pos.  The second reading of a URL (see url_credentials, rule 6) reads
 * what a span covers as its "***" placeholder: no '@', ':', '/', '&', ';',
 * '=', '[', ']' or digit.
 */
static size_t
past_secret(const UrlCredentials *uc, size_t pos)
{
	for (int i = 0; i < uc->nsecrets; i++)
		if (uc->secrets[i].start <= pos && pos < uc->secrets[i].end)
			return uc->secrets[i].end;
	return pos;
}

static bool
is_shown(const UrlCredentials *uc, size_t pos)
{
	return past_secret(uc, pos) == pos;
}

/* First c in text[from..to) that no secret covers, or to. */
static size_t
find_shown(const char *text, const UrlCredentials *uc, size_t from, size_t to, char c)
{
	for (size_t i = from; i < to; i = past_secret(uc, i) == i ? i + 1 : past_secret(uc, i))
		if (is_shown(uc, i) && text[i] == c)
			return i;
	return to;
}

/* Last c in text[from..to) that no secret covers, or SIZE_MAX. */
static size_t
find_last_shown(const char *text, const UrlCredentials *uc, size_t from, size_t to, char c)
{
	size_t		last = SIZE_MAX;

	for (size_t i = find_shown(text, uc, from, to, c); i < to;
		 i = find_shown(text, uc, i + 1, to, c))
		last = i;
	return last;
}

/*
 * Values of secret query parameters: "name=value" after '?', '&' or ';',
 * anywhere in the URL (also before its last '@': "?pwd=a@b").  A value runs
 * to the next '&' or ';' (the camera reads those as separators too) or to
 * the end of the URL: '#', quotes and whitespace do not end it.  With
 * "again" (rule 6), separators, names and '=' that a secret found so far covers are
 * not seen (a '&' inside a password does not end a value that began before
 * it: once masked, that '&' is gone).
 */
static void
find_secret_params(const char *text, UrlCredentials *uc, bool again)
{
	for (size_t i = uc->begin; i < uc->end; i++)
	{
		size_t		name = i + 1;
		size_t		eq = name;
		size_t		vend;

		if (text[i] != '?' && text[i] != '&' && text[i] != ';')
			continue;
		if (again && !is_shown(uc, i))
			continue;
		while (eq < uc->end && strchr("=&;?#", text[eq]) == NULL &&
			   !isspace((unsigned char) text[eq]) && (!again || is_shown(uc, eq)))
			eq++;
		if (eq == uc->end || text[eq] != '=' || (again && !is_shown(uc, eq)) ||
			!is_secret_param(text + name, eq - name))
			continue;
		vend = eq + 1;
		while (vend < uc->end)
		{
			if (again && !is_shown(uc, vend))
				vend = past_secret(uc, vend);
			else if (text[vend] == '&' || text[vend] == ';')
				break;
			else
				vend++;
		}
		add_secret(uc, eq + 1, vend, again);
		i = vend - 1;
	}
}

/*
 * The password of the userinfo: after the first ':' up to the last '@'
 * (rules 2 and 3), both of them where no secret found so far covers them.
 */
static void
find_password(const char *text, UrlCredentials *uc, bool again)
{
	size_t		at = find_last_shown(text, uc, uc->begin, uc->end, '@');
	size_t		colon;

	if (at == SIZE_MAX)
		return;
	colon = find_shown(text, uc, uc->begin, at, ':');
	if (colon < at)
		add_secret(uc, colon + 1, at, again);
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
 *
 * The '@', ':', '/', ']' and digits looked at are those no secret found so
 * far covers (rule 6).
 */
static void
mask_cut_authority(const char *text, UrlCredentials *uc, bool again)
{
	size_t		at = find_last_shown(text, uc, uc->begin, uc->end, '@');
	size_t		host = at == SIZE_MAX ? uc->begin : at + 1;
	size_t		slash = find_shown(text, uc, host, uc->end, '/');
	size_t		from = host;
	size_t		colon;
	size_t		digits = 0;

	if (at != SIZE_MAX && find_shown(text, uc, uc->begin, at, ':') < at &&
		slash == uc->end)
	{
		add_secret(uc, find_shown(text, uc, uc->begin, at, ':') + 1, uc->end, again);
		return;
	}
	if (from < slash && text[from] == '[' && is_shown(uc, from))
	{
		size_t		close = find_shown(text, uc, from, slash, ']');

		if (close < slash)
			from = close;
	}
	colon = find_shown(text, uc, from, slash, ':');
	if (colon == slash)
		return;
	while (colon + 1 + digits < slash && is_shown(uc, colon + 1 + digits) &&
		   isdigit((unsigned char) text[colon + 1 + digits]))
		digits++;
	if (digits >= 1 && digits <= 5 && colon + 1 + digits == slash && slash < uc->end)
		return;
	add_secret(uc, colon + 1, uc->end, again);
}

/* How many bytes the secrets cover (they are merged). */
static size_t
secret_bytes(const UrlCredentials *uc)
{
	size_t		n = 0;

	for (int i = 0; i < uc->nsecrets; i++)
		n += uc->secrets[i].end - uc->secrets[i].start;
	return n;
}

/*
 * url_credentials: THE rules for what a credential is.
 *
 * 1. A URL begins at "://" (whatever scheme precedes it).  With URL_WHOLE
 *    it runs to the end of the text.  In free text it runs to the next
 *    "://" that follows a scheme character (a letter, digit, '+', '-' or
 *    '.': "rtsp://", not the "://" of a password "admin:://x") or a "***"
 *    placeholder (rule 6: masking may have replaced that scheme), or to the
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
 * 6. Masking is idempotent: a masked text reads as the text did, so
 *    masking it again changes nothing.  Rules 2 to 5 look at '@', ':',
 *    '/', '&', ';', '=' and digits that a secret may hide, so after the
 *    first reading they read the URL again as masking leaves it (what a
 *    secret covers counts as its "***"), adding what that finds, until
 *    nothing is added.  Only ever added: every byte the first reading
 *    masks is masked.  So "?auth=a:b;c@h/" is masked to its end (the ';'
 *    that ended the value lies in the password "b;c", and once masked,
 *    "?auth=***@h/" has a value that runs to the end).
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
 * a new URL there, cut or not; so does one holding "***://" (rule 6 reads
 * it as a placeholder): "u:***://x@h" in free text shows "x".  That one is
 * the price of idempotence and cannot be avoided: "rtsp://a:se',
 * 'rtsp://h/" must mask to "rtsp://a:***://h/", and masking that again
 * must not mask "://h/".
 */
bool
url_credentials(const char *text, size_t len, size_t from, UrlScope scope,
				UrlCredentials *uc)
{
	size_t		sep = find_sep(text, len, from, false);
	size_t		at;
	size_t		covered;

	if (sep == len)
		return false;
	memset(uc, 0, sizeof(*uc));
	uc->scheme_sep = sep;
	uc->begin = sep + 3;
	uc->end = scope == URL_WHOLE ? len : find_sep(text, len, uc->begin, true);

	/* the first reading: the URL as it is written */
	at = find_last_shown(text, uc, uc->begin, uc->end, '@');
	uc->has_userinfo = at != SIZE_MAX;
	uc->host = uc->has_userinfo ? at + 1 : uc->begin;
	find_password(text, uc, false);
	uc->host_end = uc->host;
	while (uc->host_end < uc->end && strchr("/?#", text[uc->host_end]) == NULL)
		uc->host_end++;
	if (scope == URL_IN_TEXT)
		mask_cut_authority(text, uc, false);
	find_secret_params(text, uc, false);
	merge_secrets(uc);

	/* rule 6: read it again as masking leaves it, until nothing is added */
	do
	{
		covered = secret_bytes(uc);
		find_password(text, uc, true);
		if (scope == URL_IN_TEXT)
			mask_cut_authority(text, uc, true);
		find_secret_params(text, uc, true);
		merge_secrets(uc);
	} while (secret_bytes(uc) != covered);
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

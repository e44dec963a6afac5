/*
 * url.c
 *	  Camera URL checks and credential masking (see url.h).
 *
 * Camera URLs very often carry credentials (rtsp://admin:secret@10.0.0.5/,
 * http://10.0.0.6/snap.jpg?user=admin&pwd=secret).  Everything that may end
 * up in a log line, an error message, a health log or an alert goes through
 * mask_secrets() first.
 */
#include "url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Query parameters whose value is a credential. */
static const char *const secret_params[] = {
	"password", "passwd", "pass", "pwd", "psw", "token", "access_token",
	"auth", "authorization", "key", "apikey", "api_key", "secret", NULL
};

static const char *const camera_schemes[] = {"rtsp", "rtsps", "http", "https", NULL};

/*
 * Where a URL ends inside free text.  Quotes end it because error messages
 * quote values; a password holding a quote may leak its tail, which is why
 * masking errs towards masking more (see walk_secrets).
 */
static bool
is_url_end(char c)
{
	return c == '\0' || isspace((unsigned char) c) || c == '"' || c == '\'' ||
		c == '<' || c == '>' || c == '`';
}

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

/* Append n bytes to *out unless out is NULL (detection only). */
static void
put(char **out, const char *s, size_t n)
{
	if (*out == NULL)
		return;
	memcpy(*out, s, n);
	*out += n;
}

/*
 * Copy one URL (from just after "://" to tokend) to *out with its secrets
 * masked.  The user information ends at the *last* '@' before any '?' or
 * '#', not at the first '/', so that an unencoded '/' or '@' in a password
 * (common in camera configurations) is still masked in full.
 */
static bool
walk_url(const char *tok, const char *tokend, char **out)
{
	const char *q = tok;
	const char *at = NULL;
	bool		found = false;

	for (const char *r = tok; r < tokend && *r != '?' && *r != '#'; r++)
		if (*r == '@')
			at = r;
	if (at != NULL)
	{
		const char *colon = memchr(tok, ':', at - tok);

		if (colon != NULL && colon + 1 < at)
		{
			put(out, tok, colon + 1 - tok);
			put(out, "***", 3);
			q = at;
			found = true;
		}
	}

	/* query parameters: ?name=value&name=value; also ';' separated */
	while (q < tokend)
	{
		const char *sep = q;
		const char *name;
		const char *eq;
		const char *vend;

		while (sep < tokend && *sep != '?' && *sep != '&' && *sep != ';')
			sep++;
		put(out, q, sep - q);
		if (sep == tokend)
			return found;
		put(out, sep, 1);
		name = sep + 1;
		eq = name;
		while (eq < tokend && *eq != '=' && *eq != '&' && *eq != ';' && *eq != '#')
			eq++;
		q = name;
		if (eq < tokend && *eq == '=' && is_secret_param(name, eq - name))
		{
			vend = eq + 1;
			while (vend < tokend && *vend != '&' && *vend != ';' && *vend != '#')
				vend++;
			if (vend > eq + 1)
			{
				put(out, name, eq + 1 - name);
				put(out, "***", 3);
				q = vend;
				found = true;
			}
		}
	}
	return found;
}

/* Shared by mask_secrets (out != NULL) and has_secrets (out == NULL). */
static bool
walk_secrets(const char *in, char *out)
{
	const char *p = in;
	char	   *o = out;
	bool		found = false;

	for (;;)
	{
		const char *sep = strstr(p, "://");
		const char *tok;
		const char *tokend;

		if (sep == NULL)
		{
			put(&o, p, strlen(p));
			break;
		}
		tok = sep + 3;
		put(&o, p, tok - p);
		tokend = tok;
		while (!is_url_end(*tokend))
			tokend++;
		if (walk_url(tok, tokend, &o))
			found = true;
		p = tokend;
	}
	if (o != NULL)
		*o = '\0';
	return found;
}

bool
mask_secrets(const char *in, char *out)
{
	return walk_secrets(in, out);
}

bool
has_secrets(const char *text)
{
	return strstr(text, "://") != NULL && walk_secrets(text, NULL);
}

bool
camera_url_is_valid(const char *url, const char **reason)
{
	const char *sep;
	const char *host;
	const char *end;
	const char *at;
	const char *hostend;
	size_t		len = strlen(url);
	bool		scheme_ok = false;
	const char *dummy;

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
	sep = strstr(url, "://");
	if (sep != NULL)
	{
		for (int i = 0; camera_schemes[i] != NULL; i++)
			if (strlen(camera_schemes[i]) == (size_t) (sep - url) &&
				strncasecmp(url, camera_schemes[i], sep - url) == 0)
				scheme_ok = true;
	}
	if (!scheme_ok)
	{
		*reason = "The scheme must be rtsp, rtsps, http or https.";
		return false;
	}

	/* authority: up to the first '/', '?' or '#'; user info before '@' */
	host = sep + 3;
	end = host + strcspn(host, "/?#");
	at = NULL;
	for (const char *c = host; c < end; c++)
		if (*c == '@')
			at = c;
	if (at != NULL)
		host = at + 1;

	/* an IPv6 literal is bracketed: [fe80::1]:554 */
	if (*host == '[')
	{
		hostend = memchr(host, ']', end - host);
		if (hostend == NULL || hostend == host + 1)
		{
			*reason = "The URL has an unterminated or empty IPv6 address.";
			return false;
		}
		hostend++;
	}
	else
	{
		hostend = memchr(host, ':', end - host);
		if (hostend == NULL)
			hostend = end;
	}
	if (hostend == host)
	{
		*reason = "The URL has no host.";
		return false;
	}
	if (hostend < end)
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
	}
	return true;
}

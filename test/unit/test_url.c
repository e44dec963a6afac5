/*
 * test_url.c
 *	  Unit tests of common/url.c: camera URL validation and credential
 *	  masking.
 *
 *	  Besides the cases by hand, passwords are generated from every
 *	  character RFC 3986 allows in a userinfo (unreserved, pct-encoded,
 *	  sub-delims, ':') and the ones users put there anyway, at every
 *	  position, in several URL shapes and free-text contexts, and every
 *	  prefix of those texts is masked too ("mask before you truncate" is the
 *	  rule, a cut text must still not show the password).  Passwords are
 *	  built around the marker letters K J Q W Z, which no other part of a
 *	  test text contains: a masked text that holds one of them shows a piece
 *	  of a password.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_url.h"
#include "url.h"

#define MARKERS "KJQWZ"

static int	failures = 0;
static long checks = 0;

#define FAIL(...) \
	do { \
		if (failures++ < 40) { printf("FAIL "); printf(__VA_ARGS__); printf("\n"); } \
	} while (0)

/*
 * Masking a masked text changes nothing: what is left of a secret is its
 * "***" placeholder, and the text around it reads as it did before.
 */
static void
expect_idempotent(const char *once, bool whole)
{
	char	   *twice = malloc(MASK_SECRETS_BUFSIZE(strlen(once)));

	if (whole)
		(void) mask_url_secrets(once, twice);
	else
		(void) mask_secrets(once, twice);
	if (strcmp(once, twice) != 0)
		FAIL("masking twice masks more: %s\n  twice: %s", once, twice);
	checks++;
	free(twice);
}

/* Mask into an exactly sized buffer followed by a guard: no overrun. */
static char *
masked(const char *in, bool whole, bool *found)
{
	size_t		size = MASK_SECRETS_BUFSIZE(strlen(in));
	char	   *out = malloc(size + 8);
	bool		f;

	memset(out + size, 0x5a, 8);
	f = whole ? mask_url_secrets(in, out) : mask_secrets(in, out);
	for (int i = 0; i < 8; i++)
		if (out[size + i] != 0x5a)
			FAIL("mask overran its buffer: %s", in);
	if (strlen(out) >= size)
		FAIL("mask output too long: %s", in);
	expect_idempotent(out, whole);
	if (!whole && has_secrets(in) != f)
		FAIL("has_secrets(%s) = %d, mask_secrets says %d", in, !f, f);
	if (found)
		*found = f;
	checks++;
	return out;
}

static void
expect_mask_in(const char *in, const char *want, bool whole)
{
	bool		found;
	char	   *out = masked(in, whole, &found);

	if (strcmp(out, want) != 0 || found != (strcmp(in, want) != 0))
		FAIL("mask%s: %s\n  got:  %s\n  want: %s", whole ? "_url" : "", in, out, want);
	free(out);
}

static void
expect_mask(const char *in, const char *want)
{
	expect_mask_in(in, want, false);
}

static void
expect_mask_url(const char *in, const char *want)
{
	expect_mask_in(in, want, true);
}

/* mask_secrets(in) shows no marker letter, i.e. no piece of a password. */
static void
expect_hidden(const char *in, const char *what)
{
	char	   *out = masked(in, false, NULL);

	if (strpbrk(out, MARKERS) != NULL)
		FAIL("%s reveals a password: %s\n  got: %s", what, in, out);
	free(out);
}

/* Every prefix of "in" is masked without showing a piece of a password. */
static void
expect_prefixes_hidden(const char *in)
{
	size_t		len = strlen(in);
	char	   *buf = malloc(len + 1);

	for (size_t k = 0; k <= len; k++)
	{
		memcpy(buf, in, k);
		buf[k] = '\0';
		expect_hidden(buf, "a prefix");
	}
	free(buf);
}

static void
expect_valid(const char *url, bool want)
{
	const char *reason = NULL;
	bool		got = camera_url_is_valid(url, &reason);

	checks++;
	if (got != want || (!got && reason == NULL))
		FAIL("valid(%s): got %d want %d (%s)", url, got, want, reason ? reason : "");
}

/* The host[:port] url_credentials() finds in a whole URL. */
static void
expect_host(const char *url, const char *host)
{
	UrlCredentials uc;

	checks++;
	if (!url_credentials(url, strlen(url), 0, URL_WHOLE, &uc) ||
		uc.host_end - uc.host != strlen(host) || strncmp(url + uc.host, host, strlen(host)) != 0)
		FAIL("host of %s: want %s", url, host);
}

/* The single secret of a whole URL is exactly "secret". */
static void
expect_one_secret(const char *url, const char *secret)
{
	UrlCredentials uc;

	checks++;
	if (!url_credentials(url, strlen(url), 0, URL_WHOLE, &uc) || uc.nsecrets != 1 ||
		uc.secrets[0].end - uc.secrets[0].start != strlen(secret) ||
		strncmp(url + uc.secrets[0].start, secret, strlen(secret)) != 0)
		FAIL("secret of %s: want %s (got %d spans)", url, secret, uc.nsecrets);
}

static void
expect_origin(const char *url, const char *want)
{
	char		out[300];

	checks++;
	url_origin(url, out, sizeof(out));
	if (strcmp(out, want) != 0)
		FAIL("origin(%s): got '%s' want '%s'", url, out, want);
}

/*
 * The host a client library reads (FFmpeg's av_url_split): the authority
 * ends at the first '/', '?' or '#'; the host follows its last '@'.
 */
static void
expect_client_host(const char *url, const char *host)
{
	char	   *out = malloc(MASK_SECRETS_BUFSIZE(strlen(url)));
	const char *auth;
	const char *end;
	const char *at;

	url_for_client(url, out);
	auth = strstr(out, "://") + 3;
	end = auth + strcspn(auth, "/?#");
	at = auth;
	for (const char *c = auth; c < end; c++)
		if (*c == '@')
			at = c + 1;
	checks++;
	if ((size_t) (end - at) != strlen(host) || strncmp(at, host, strlen(host)) != 0 ||
		!camera_url_is_valid(out, NULL))
		FAIL("client host of %s (as %s): want %s", url, out, host);
	free(out);
}

static void
expect_client(const char *url, const char *want)
{
	char	   *out = malloc(MASK_SECRETS_BUFSIZE(strlen(url)));
	size_t		n = url_for_client(url, out);

	checks++;
	if (strcmp(out, want) != 0 || n != strlen(out))
		FAIL("url_for_client(%s): got %s want %s", url, out, want);
	free(out);
}

static void
expect_redis(const char *url, bool ok, const char *host, int port, const char *password, int db)
{
	RedisUrl	r;
	const char *reason = NULL;
	bool		got = redis_url_parse(url, &r, &reason);

	checks++;
	if (got != ok || (!got && reason == NULL) ||
		(ok && (strcmp(r.host, host) != 0 || r.port != port ||
				strcmp(r.password, password) != 0 || r.db != db)))
		FAIL("redis_url(%s): got %d host=%s port=%d password=%s db=%d (%s)",
			 url, got, r.host, r.port, r.password, r.db, reason ? reason : "");
}

/* printf into a fresh buffer */
static char *
fmt(const char *f, const char *a, const char *b)
{
	size_t		n = strlen(f) + strlen(a) + strlen(b) + 1;
	char	   *s = malloc(n);

	snprintf(s, n, f, a, b);
	return s;
}

/* "s" with every ' doubled, as in an SQL literal */
static char *
sql_quoted(const char *s)
{
	char	   *out = malloc(2 * strlen(s) + 1);
	char	   *o = out;

	for (; *s; s++)
	{
		if (*s == '\'')
			*o++ = '\'';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/*
 * What goes into passwords: every unreserved character, the sub-delims and
 * ':', percent-encodings, and what users type anyway (free text only for
 * whitespace).
 */
static const char *atoms[128];
static int	natoms;
static const char *const extra_atoms[] = {
	"!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=", ":",
	"%41", "%2F", "%40", "%23", "%3A", "%25", "%20",
	"#", "?", "@", "/", "\"", "<", ">", "`", "%", "%G1", "%4", "[", "]", "\\",
	"{", "}", "|", "^", "://x", " ", "\t", NULL
};

static void
build_atoms(void)
{
	static char unreserved[80][2];
	const char *u = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
	int			n = 0;

	for (; u[n]; n++)
	{
		unreserved[n][0] = u[n];
		atoms[natoms++] = unreserved[n];
	}
	for (int i = 0; extra_atoms[i]; i++)
		atoms[natoms++] = extra_atoms[i];
}

static bool
is_free_text_only(const char *pw)
{
	return strpbrk(pw, " \t") != NULL;
}

/*
 * The one documented gap of cut text (url.c, rule 5): a password with an
 * '@' and a later '/', cut between them, reads as a complete URL.  So does
 * "://" inside a password, which starts a new URL.
 */
static bool
prefix_gap(const char *pw)
{
	const char *at = strchr(pw, '@');

	return (at != NULL && strchr(at, '/') != NULL) || strstr(pw, "://") != NULL;
}

/*
 * Free text: "://" after a letter or digit of a password starts a new URL
 * (url.c, rule 1), in full text too.
 */
static bool
new_url_inside(const char *pw)
{
	const char *sep = strstr(pw, "://");

	return sep != NULL && sep > pw &&
		(isalnum((unsigned char) sep[-1]) || strchr("+-.", sep[-1]) != NULL);
}

static const char *const users[] = {"admin", "me@corp.example", "", NULL};
static const char *const hosts[][2] = {	/* host[:port], host */
	{"10.0.0.5", "10.0.0.5"}, {"10.0.0.5:554", "10.0.0.5"},
	{"[fe80::1]:8554", "[fe80::1]"}, {"cam.example", "cam.example"}, {NULL, NULL}
};
static const char *const paths[] = {"/live", "/live/ch1?ch=1&q=2", "", NULL};
static const char *const contexts[] = {
	"%s", "could not open %s: Connection refused", "\"%s\"", "<%s>", "`%s`",
	"open '%s' failed", "%s and rtsp://10.0.0.9/other", "url=%s\nnext line", NULL
};

/* One URL with password pw: whole-URL rules, then inside every context. */
static void
check_password_url(const char *scheme, const char *user, int h, const char *path,
				   const char *pw, bool prefixes)
{
	char		url[512];
	char		want[512];
	char		origin[300];

	snprintf(url, sizeof(url), "%s://%s:%s@%s%s", scheme, user, pw, hosts[h][0], path);
	snprintf(want, sizeof(want), "%s://%s:***@%s%s", scheme, user, hosts[h][0], path);
	if (strstr(pw, "://") == NULL)
	{
		expect_mask_url(url, want);
		expect_host(url, hosts[h][0]);
		expect_one_secret(url, pw);
		if (!is_free_text_only(pw))
		{
			expect_valid(url, true);
			expect_client_host(url, hosts[h][0]);
		}
		snprintf(origin, sizeof(origin), "%s://%s", scheme, hosts[h][1]);
		expect_origin(url, origin);
	}
	for (int c = 0; contexts[c]; c++)
	{
		char	   *text = fmt(contexts[c], url, "");
		char	   *exact = fmt(contexts[c], want, "");

		if (!new_url_inside(pw))
			expect_hidden(text, "a URL in text");
		/* with a path, exactly the password is masked, the context kept */
		if (path[0] == '/' && strstr(pw, "://") == NULL)
			expect_mask(text, exact);
		if (prefixes && !prefix_gap(pw) && c < 2)
			expect_prefixes_hidden(text);
		free(text);
		free(exact);
	}
	/* in an SQL statement, as log_statement writes it */
	{
		char	   *lit = sql_quoted(url);
		char	   *text = fmt("statement: SELECT register_camera('10.0.0.5', 554, '%s')%s", lit, "");

		if (!new_url_inside(pw))
			expect_hidden(text, "a statement");
		if (prefixes && !prefix_gap(pw))
			expect_prefixes_hidden(text);
		free(lit);
		free(text);
	}
}

static void
generated_userinfo(void)
{
	char		pw[64];

	for (int a = 0; a < natoms; a++)
	{
		/* at the start, in the middle, at the end, twice, alone */
		const char *const shapes[] = {"%sxKqJ", "xK%sqJ", "xKqJ%s", "xK%s%sqJ", NULL};

		for (int s = 0; shapes[s]; s++)
		{
			snprintf(pw, sizeof(pw), shapes[s], atoms[a], atoms[a]);
			for (int u = 0; users[u]; u++)
				for (int h = 0; hosts[h][0]; h++)
					for (int p = 0; paths[p]; p++)
						check_password_url(h % 2 ? "https" : "rtsp", users[u], h, paths[p], pw,
										   u == 0 && p != 1);
		}
	}
	/* pairs of the characters users put in passwords, every order */
	for (int a = 0; extra_atoms[a]; a++)
		for (int b = 0; extra_atoms[b]; b++)
		{
			snprintf(pw, sizeof(pw), "xK%sqJ%swZ", extra_atoms[a], extra_atoms[b]);
			check_password_url("rtsp", "admin", a % 4, paths[(a + b) % 3], pw, true);
		}
}

/* The gap of prefix_gap(): the full text is still masked in full. */
static void
prefix_gap_is_only_for_cut_text(void)
{
	expect_mask("rtsp://admin:p@ss/word@10.0.0.5/live", "rtsp://admin:***@10.0.0.5/live");
	expect_mask("rtsp://admin:p@ss", "rtsp://admin:***");
	/* the documented leak, so that a change of it is noticed */
	expect_mask("rtsp://admin:p@ss/w", "rtsp://admin:***@ss/w");
	/* digits and '/' after a ':' read as a port when no '@' follows */
	expect_mask("rtsp://10.0.0.5:554/live", "rtsp://10.0.0.5:554/live");
	expect_mask("rtsp://admin:99", "rtsp://admin:***");
}

static void
generated_query_secrets(void)
{
	const char *const names[] = {
		"password", "passwd", "pass", "pwd", "psw", "token", "access_token", "auth",
		"authorization", "key", "apikey", "api_key", "secret", "PWD", "Password", NULL
	};
	const char *const seps[] = {"?", "&", ";", NULL};
	char		url[256];
	char		want[256];
	char		value[64];

	for (int n = 0; names[n]; n++)
		for (int s = 0; seps[s]; s++)
			for (int a = 0; atoms[a] != NULL && a < natoms; a++)
			{
				const char *at = atoms[a];

				/* '&' and ';' separate parameters */
				if (strpbrk(at, "&;") != NULL || strstr(at, "://"))
					continue;
				snprintf(value, sizeof(value), "xK%sqJ", at);
				if (s == 0)
				{
					snprintf(url, sizeof(url), "http://10.0.0.6/snap.cgi?%s=%s&ch=1", names[n], value);
					snprintf(want, sizeof(want), "http://10.0.0.6/snap.cgi?%s=***&ch=1", names[n]);
				}
				else
				{
					snprintf(url, sizeof(url), "http://10.0.0.6/snap.cgi?user=admin%s%s=%s%sch=1",
							 seps[s], names[n], value, seps[s]);
					snprintf(want, sizeof(want), "http://10.0.0.6/snap.cgi?user=admin%s%s=***%sch=1",
							 seps[s], names[n], seps[s]);
				}
				expect_mask(url, want);
				expect_mask_url(url, want);
				if (n < 3)
					expect_prefixes_hidden(url);
			}
}

/* Several URLs in one text: each is masked, the text between them kept. */
static void
generated_several_urls(void)
{
	const char *const seps[] = {" ", ", ", "','", "\n", "\t", " | ", "\" \"", NULL};
	const char *const pws[] = {"xKqJ", "xK'qJ", "xK@qJ", "xK#qJ", "xK qJ", "xK\"qJ", NULL};
	char		text[512];
	char		want[512];

	for (int s = 0; seps[s]; s++)
		for (int a = 0; pws[a]; a++)
			for (int b = 0; pws[b]; b++)
			{
				snprintf(text, sizeof(text),
						 "a rtsp://admin:%s@10.0.0.5/live%shttp://10.0.0.6/s.jpg?pwd=%s&ch=1%srtsp://u:%s@10.0.0.7:554/x b",
						 pws[a], seps[s], pws[b], seps[s], pws[b]);
				snprintf(want, sizeof(want),
						 "a rtsp://admin:***@10.0.0.5/live%shttp://10.0.0.6/s.jpg?pwd=***&ch=1%srtsp://u:***@10.0.0.7:554/x b",
						 seps[s], seps[s]);
				expect_mask(text, want);
				expect_prefixes_hidden(text);
			}
}

/*
 * Masking is idempotent also where the placeholder replaced what the rules
 * read: the scheme of the next URL, a '&' or ';' inside a password, the
 * '/' after a host, the last '@'.  Each was masked more on a second pass.
 */
static void
masking_twice(void)
{
	/* the scheme letters before the next "://" were masked with the password */
	expect_mask("http://c:dsp://assword=f", "http://c:***://assword=f");
	expect_mask("rtsp://a:se', 'rtsp://10.0.0.2/x'", "rtsp://a:***://10.0.0.2/x'");
	/* a value that began before the password does not end at its ';' */
	expect_mask_url("https://h?auth=a:b;c@host/", "https://h?auth=***");
	expect_mask("https://h?auth=a:b;c@host/", "https://h?auth=***");
	expect_mask_url("https://upPsswpasswd?auth=a%2ps://Aw@passcou:://c;d@edwd?autpPhpasswd?au",
					"https://upPsswpasswd?auth=***");
	expect_mask("https://upPsswpasswd?auth=a%2ps://Aw@passcou:://c;d@edwd?autpPhpasswd?au",
				"https://upPsswpasswd?auth=***://Aw@passcou:***");
	/* the '/' that made "c:x" a path was inside a value */
	expect_mask("rtsp://h;pwd=a/b&c:x/", "rtsp://h;pwd=***&c:***");
	/* the last '@' was inside a value: read without it, "u:" is a password */
	expect_mask("rtsp://u:p?pwd=q@h&x/", "rtsp://u:***");
	/* still exact where nothing moves */
	expect_mask("http://cam/snap?pwd=a@b&x=1", "http://cam/snap?pwd=***&x=1");
}

static void
hand_cases(void)
{
	/* masking: userinfo passwords */
	expect_mask("rtsp://admin:secret@10.0.0.5/stream1", "rtsp://admin:***@10.0.0.5/stream1");
	expect_mask("RTSP://admin:secret@10.0.0.5:554/", "RTSP://admin:***@10.0.0.5:554/");
	expect_mask_url("RTSP://admin:secret@10.0.0.5:554", "RTSP://admin:***@10.0.0.5:554");
	expect_mask("rtsp://admin@10.0.0.5/", "rtsp://admin@10.0.0.5/");
	expect_mask("rtsp://10.0.0.5/live", "rtsp://10.0.0.5/live");
	expect_mask_url("rtsp://10.0.0.5:8554", "rtsp://10.0.0.5:8554");
	/* unencoded '@', '/', '#', '?' and quotes in a password are masked in full */
	expect_mask("rtsp://admin:p@ss/w0rd@10.0.0.5/live", "rtsp://admin:***@10.0.0.5/live");
	expect_mask("rtsp://admin:99#secret@host/", "rtsp://admin:***@host/");
	expect_mask_url("rtsp://admin:99#secret@host", "rtsp://admin:***@host");
	expect_mask("'rtsp://admin:it''s \"<`x`>\"@10.0.0.1/x')", "'rtsp://admin:***@10.0.0.1/x')");
	expect_mask("rtsp://admin:p%40ss%2Fw%23rd%3F@10.0.0.5/live", "rtsp://admin:***@10.0.0.5/live");
	/* inside free text, quoted, several URLs */
	expect_mask("could not open \"rtsp://u:pw@h/a\" nor rtsp://v:x@g/: refused",
				"could not open \"rtsp://u:***@h/a\" nor rtsp://v:***@g/: refused");
	/* a password at the end of the text: the host may be its tail, masked too */
	expect_mask("could not open rtsp://v:x@g: refused", "could not open rtsp://v:***");
	expect_mask("statement: SELECT register_camera('10.0.0.1', 554, 'rtsp://a:b@10.0.0.1/x')",
				"statement: SELECT register_camera('10.0.0.1', 554, 'rtsp://a:***@10.0.0.1/x')");
	/* cut short: what is left of the password is still masked */
	expect_mask("could not open rtsp://admin:secr", "could not open rtsp://admin:***");
	expect_mask("parameters: $1 = 'rtsp://admin:se...', $2 = 'rtsp://10.0.0.2/x'",
				"parameters: $1 = 'rtsp://admin:***://10.0.0.2/x'");
	expect_mask("rtsp://me@corp.example:sec", "rtsp://me@corp.example:***");
	/* query-string credentials */
	expect_mask("http://10.0.0.6/cgi-bin/snapshot.cgi?user=admin&pwd=secret&ch=1",
				"http://10.0.0.6/cgi-bin/snapshot.cgi?user=admin&pwd=***&ch=1");
	expect_mask("http://cam/snap.jpg?Password=abc#frag", "http://cam/snap.jpg?Password=***");
	expect_mask("https://u:p@cam/snap?token=t1;auth=t2", "https://u:***@cam/snap?token=***;auth=***");
	expect_mask("http://cam/snap.jpg?password=&x=1", "http://cam/snap.jpg?password=&x=1");
	expect_mask("http://cam/snap?pwd=a@b&x=1", "http://cam/snap?pwd=***&x=1");
	expect_mask("http://u:p@cam/s?pwd=a@b", "http://u:***");
	/* more secret parameters than spans: the rest of the URL is masked */
	expect_mask("http://c/s?pwd=1&pwd=2&pwd=3&pwd=4&pwd=5&pwd=6&pwd=7&pwd=8&pwd=9&x=1 ok",
				"http://c/s?pwd=***&pwd=***&pwd=***&pwd=***&pwd=***&pwd=***&pwd=***&pwd=***");
	expect_mask("no url here, password=abc", "no url here, password=abc");
	expect_mask("", "");
	expect_mask("://:x@", "://:***");
	expect_mask("rtsp://admin:@10.0.0.5/", "rtsp://admin:@10.0.0.5/");

	/* validation: the host follows the userinfo as masking delimits it */
	expect_valid("rtsp://10.0.0.5/stream1", true);
	expect_valid("rtsps://admin:secret@cam.example:322/live", true);
	expect_valid("HTTP://10.0.0.6/snapshot.jpg", true);
	expect_valid("https://[fe80::1]:8443/snap", true);
	expect_valid("rtsp://127.0.0.1:8554", true);
	expect_valid("rtsp://admin:99#secret@host", true);
	expect_host("rtsp://admin:99#secret@host", "host");
	expect_one_secret("rtsp://admin:99#secret@host", "99#secret");
	expect_valid("rtsp://admin:99#secret@host:70000/", false);
	expect_valid("rtsp://admin:99@/x", false);
	expect_valid("ftp://10.0.0.5/x", false);
	expect_valid("rtsp:/10.0.0.5/x", false);
	expect_valid("10.0.0.5/stream", false);
	expect_valid("rtsp://", false);
	expect_valid("rtsp://user:pw@/x", false);
	expect_valid("rtsp://10.0.0.5:0/x", false);
	expect_valid("rtsp://10.0.0.5:65536/x", false);
	expect_valid("rtsp://10.0.0.5:55x/x", false);
	expect_valid("rtsp://10.0.0.5:/x", false);
	expect_valid("rtsp://[::1/x", false);
	expect_valid("rtsp://10.0.0.5/a b", false);
	expect_valid("rtsp://10.0.0.5/a\nb", false);
	expect_valid("http://10.0.0.5/snap?pwd=a@b&ch=1", false);
	expect_valid("http://10.0.0.5/snap?pwd=a%40b&ch=1", true);
	expect_valid("rtsp://a:b@ho$st/", false);
	expect_valid("rtsp://a:b@[::1]/", true);
	expect_valid("rtsp://a:b@[::1%25eth0]:554/", true);

	/* what client libraries are given: the userinfo percent-encoded */
	expect_client("rtsp://admin:99#secret@host/x", "rtsp://admin:99%23secret@host/x");
	expect_client("rtsp://admin:p@ss/w0rd@10.0.0.5/live", "rtsp://admin:p%40ss%2Fw0rd@10.0.0.5/live");
	expect_client("rtsp://a:%41%G1%4@h/", "rtsp://a:%41%25G1%254@h/");
	expect_client("rtsp://a:it's(*)+,;=:x@h/", "rtsp://a:it's(*)+,;=:x@h/");
	expect_client("rtsp://a:\"<`>\"@h/?x=#", "rtsp://a:%22%3C%60%3E%22@h/?x=#");
	expect_client("rtsp://10.0.0.5/live?a=b", "rtsp://10.0.0.5/live?a=b");
	expect_client("http://u@h/", "http://u@h/");

	/* what a refused URL may show of itself */
	expect_origin("ftp://admin:hunter2@10.1.0.1/stream", "ftp://10.1.0.1");
	expect_origin("rtsp://admin:hunter2@/stream", "rtsp://");
	expect_origin("rtsp://10.1.0.1:99999/stream", "rtsp://10.1.0.1");
	expect_origin("rtsp://[fe80::1]:554/x", "rtsp://[fe80::1]");
	expect_origin("10.1.0.1/stream", "");
	expect_origin("x'y://h/", "");
	expect_origin("http://cam/x?token=abc@def", "http://");
	expect_origin("rtsp://a:b@h<script>/", "rtsp://");
	expect_origin("rtsp://a:b@10.0.0.1/a b", "rtsp://10.0.0.1");

	/* Redis URLs */
	expect_redis("redis://127.0.0.1:6379/0", true, "127.0.0.1", 6379, "", 0);
	expect_redis("redis://localhost", true, "localhost", 6379, "", 0);
	expect_redis("redis://:pw@10.0.0.9:7000/3", true, "10.0.0.9", 7000, "pw", 3);
	expect_redis("redis://user:p@ss@10.0.0.9/", true, "10.0.0.9", 6379, "p@ss", 0);
	expect_redis("redis://[::1]:6380/1", true, "::1", 6380, "", 1);
	expect_redis("unix:///run/redis.sock?db=2", true, "/run/redis.sock", 6379, "", 2);
	expect_redis("unix://relative.sock", false, "", 0, "", 0);
	expect_redis("http://127.0.0.1", false, "", 0, "", 0);
	expect_redis("redis://127.0.0.1:0", false, "", 0, "", 0);
	expect_redis("redis://127.0.0.1:99999", false, "", 0, "", 0);
	expect_redis("redis://127.0.0.1/x", false, "", 0, "", 0);
	expect_redis("redis://pw@127.0.0.1", false, "", 0, "", 0);
	expect_redis("redis://:6379", false, "", 0, "", 0);
}

int
main(void)
{
	build_atoms();
	hand_cases();
	masking_twice();
	prefix_gap_is_only_for_cut_text();
	generated_userinfo();
	generated_query_secrets();
	generated_several_urls();

	if (failures)
	{
		printf("%d of %ld url checks failed\n", failures, checks);
		return 1;
	}
	printf("url tests passed (%ld checks)\n", checks);
	return 0;
}

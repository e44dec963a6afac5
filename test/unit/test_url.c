/*
 * test_url.c
 *	  Unit tests of common/url.c: camera URL validation and credential masking.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_url.h"
#include "url.h"

static int	failures = 0;

static void
expect_mask(const char *in, const char *want)
{
	char	   *out = malloc(MASK_SECRETS_BUFSIZE(strlen(in)));
	bool		masked = mask_secrets(in, out);

	if (strcmp(out, want) != 0 || masked != (strcmp(in, want) != 0) ||
		has_secrets(in) != masked)
	{
		printf("FAIL mask: %s\n  got:  %s\n  want: %s\n", in, out, want);
		failures++;
	}
	free(out);
}

static void
expect_valid(const char *url, bool want)
{
	const char *reason = NULL;
	bool		got = camera_url_is_valid(url, &reason);

	if (got != want || (!got && reason == NULL))
	{
		printf("FAIL valid(%s): got %d want %d\n", url, got, want);
		failures++;
	}
}

static void
expect_redis(const char *url, bool ok, const char *host, int port, const char *password, int db)
{
	RedisUrl	r;
	const char *reason = NULL;
	bool		got = redis_url_parse(url, &r, &reason);

	if (got != ok || (!got && reason == NULL) ||
		(ok && (strcmp(r.host, host) != 0 || r.port != port ||
				strcmp(r.password, password) != 0 || r.db != db)))
	{
		printf("FAIL redis_url(%s): got %d host=%s port=%d password=%s db=%d (%s)\n",
			   url, got, r.host, r.port, r.password, r.db, reason ? reason : "");
		failures++;
	}
}

int
main(void)
{
	/* masking: userinfo passwords */
	expect_mask("rtsp://admin:secret@10.0.0.5/stream1",
				"rtsp://admin:***@10.0.0.5/stream1");
	expect_mask("RTSP://admin:secret@10.0.0.5:554",
				"RTSP://admin:***@10.0.0.5:554");
	expect_mask("rtsp://admin@10.0.0.5/", "rtsp://admin@10.0.0.5/");
	expect_mask("rtsp://10.0.0.5/live", "rtsp://10.0.0.5/live");
	/* unencoded '@' and '/' in a password are masked in full */
	expect_mask("rtsp://admin:p@ss/w0rd@10.0.0.5/live",
				"rtsp://admin:***@10.0.0.5/live");
	/* inside free text, quoted, several URLs */
	expect_mask("could not open \"rtsp://u:pw@h/a\" nor rtsp://v:x@g: refused",
				"could not open \"rtsp://u:***@h/a\" nor rtsp://v:***@g: refused");
	expect_mask("statement: SELECT register_camera('10.0.0.1', 554, 'rtsp://a:b@10.0.0.1/x')",
				"statement: SELECT register_camera('10.0.0.1', 554, 'rtsp://a:***@10.0.0.1/x')");
	/* query-string credentials */
	expect_mask("http://10.0.0.6/cgi-bin/snapshot.cgi?user=admin&pwd=secret&ch=1",
				"http://10.0.0.6/cgi-bin/snapshot.cgi?user=admin&pwd=***&ch=1");
	expect_mask("http://cam/snap.jpg?Password=abc#frag", "http://cam/snap.jpg?Password=***#frag");
	expect_mask("https://u:p@cam/snap?token=t1;auth=t2",
				"https://u:***@cam/snap?token=***;auth=***");
	expect_mask("http://cam/snap.jpg?password=&x=1", "http://cam/snap.jpg?password=&x=1");
	expect_mask("no url here, password=abc", "no url here, password=abc");
	expect_mask("", "");
	expect_mask("://:x@", "://:***@");

	/* validation */
	expect_valid("rtsp://10.0.0.5/stream1", true);
	expect_valid("rtsps://admin:secret@cam.example:322/live", true);
	expect_valid("HTTP://10.0.0.6/snapshot.jpg", true);
	expect_valid("https://[fe80::1]:8443/snap", true);
	expect_valid("rtsp://127.0.0.1:8554", true);
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

	if (failures)
	{
		printf("%d url test(s) failed\n", failures);
		return 1;
	}
	printf("url tests passed\n");
	return 0;
}

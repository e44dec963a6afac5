/*
 * fuzz_url.c
 *	  libFuzzer target for the public API of common/url.h:
 *	  camera_url_is_valid(), mask_secrets(), has_secrets(), and, where the
 *	  header has them (URL_MAX_SECRETS defined), url_credentials(),
 *	  mask_url_secrets(), url_origin() and url_for_client().
 *
 * Besides "no crash, no undefined behaviour" it checks what callers rely on:
 *	- every output fits in the size the header promises (buffers are
 *	  allocated exactly that size, so ASan sees any overrun) and is a
 *	  NUL-terminated string within it;
 *	- mask_secrets() returns true exactly when has_secrets() says so, and
 *	  copies a text without secrets unchanged;
 *	- masking leaves no secret behind: whatever has_secrets() still finds
 *	  in a masked text is a "***" placeholder, so masking it again changes
 *	  nothing (masking is idempotent);
 *	- a valid URL is at most CAMERA_URL_MAX_LEN bytes, an invalid one comes
 *	  with a reason;
 *	- url_credentials() moves forward (callers loop on it), and its spans
 *	  lie inside the URL, ascending and disjoint; url_origin() shows no
 *	  secret.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

#define CHECK(cond, what) \
	do { if (!(cond)) { fprintf(stderr, "invariant broken: %s\n", what); abort(); } } while (0)

#ifdef URL_MAX_SECRETS
/* The rest of the API, in the url.h that has url_credentials(). */
static void
check_extended_api(const char *in, size_t len)
{
	size_t		cap = MASK_SECRETS_BUFSIZE(len);
	char	   *out = malloc(cap);
	char	   *again;
	char		origin[64];
	size_t		n;
	size_t		from = 0;
	UrlCredentials uc;

	(void) mask_url_secrets(in, out);
	CHECK(memchr(out, '\0', cap) != NULL, "mask_url_secrets() output within MASK_SECRETS_BUFSIZE");
	again = malloc(MASK_SECRETS_BUFSIZE(strlen(out)));
	(void) mask_url_secrets(out, again);
	CHECK(strcmp(out, again) == 0, "mask_url_secrets() is idempotent");
	free(again);

	n = url_for_client(in, out);
	CHECK(n < cap && strlen(out) == n, "url_for_client() length within MASK_SECRETS_BUFSIZE");
	free(out);

	n = url_origin(in, origin, sizeof(origin));
	CHECK(n < sizeof(origin) && strlen(origin) == n, "url_origin() within its buffer");
	CHECK(!has_secrets(origin), "url_origin() shows no secret");
	n = url_origin(in, origin, 5);
	CHECK(n < 5 && strlen(origin) == n, "url_origin() within a small buffer");

	for (int scope = 0; scope < 2; scope++)
	{
		from = 0;
		while (from < len && url_credentials(in, len, from, scope ? URL_IN_TEXT : URL_WHOLE, &uc))
		{
			CHECK(uc.end > from && uc.end <= len, "url_credentials() moves forward, within the text");
			CHECK(uc.begin <= uc.host && uc.host <= uc.host_end && uc.host_end <= uc.end,
				  "url_credentials(): begin <= host <= host_end <= end");
			CHECK(uc.nsecrets >= 0 && uc.nsecrets <= URL_MAX_SECRETS, "url_credentials(): nsecrets in range");
			for (int i = 0; i < uc.nsecrets; i++)
			{
				CHECK(uc.secrets[i].start <= uc.secrets[i].end, "secret span start <= end");
				CHECK(uc.secrets[i].start >= uc.begin && uc.secrets[i].end <= uc.end, "secret spans inside the URL");
				if (i > 0)
					CHECK(uc.secrets[i - 1].end <= uc.secrets[i].start, "secret spans ascending and disjoint");
			}
			from = uc.end;
		}
	}
}
#endif

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *in;
	char	   *out;
	char	   *again;
	size_t		len;
	size_t		outcap;
	bool		masked;
	const char *reason = NULL;

	/* C strings: the text ends at the first NUL, as it does for callers */
	if (size > 4 * CAMERA_URL_MAX_LEN)
		return 0;
	in = malloc(size + 1);
	memcpy(in, data, size);
	in[size] = '\0';
	len = strlen(in);

	if (camera_url_is_valid(in, &reason))
		CHECK(len <= CAMERA_URL_MAX_LEN, "a valid URL is at most CAMERA_URL_MAX_LEN bytes");
	else
		CHECK(reason != NULL && reason[0] != '\0', "an invalid URL comes with a reason");
	(void) camera_url_is_valid(in, NULL);

	outcap = MASK_SECRETS_BUFSIZE(len);
	out = malloc(outcap);
	masked = mask_secrets(in, out);
	CHECK(memchr(out, '\0', outcap) != NULL, "masked text is NUL-terminated within MASK_SECRETS_BUFSIZE");
	CHECK(masked == has_secrets(in), "mask_secrets() returns true exactly when has_secrets()");
	if (!masked)
		CHECK(strcmp(in, out) == 0, "a text without secrets is copied unchanged");

	again = malloc(MASK_SECRETS_BUFSIZE(strlen(out)));
	(void) mask_secrets(out, again);
	CHECK(strcmp(out, again) == 0, "masking is idempotent: no secret is left after masking");

#ifdef URL_MAX_SECRETS
	check_extended_api(in, len);
#endif

	free(again);
	free(out);
	free(in);
	return 0;
}

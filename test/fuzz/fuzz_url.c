/*
 * fuzz_url.c
 *	  libFuzzer target for the public API of common/url.h:
 *	  camera_url_is_valid(), mask_secrets(), has_secrets().
 *
 * Besides "no crash, no undefined behaviour" it checks what callers rely on:
 *	- the masked text fits in MASK_SECRETS_BUFSIZE(len) (the buffer is
 *	  allocated exactly that size, so ASan sees any overrun) and is a
 *	  NUL-terminated string within it;
 *	- mask_secrets() returns true exactly when has_secrets() says so, and
 *	  exactly when it changed the text (test/unit/test_url.c's contract:
 *	  an already masked "user:***@" is not a secret);
 *	- masking leaves no secret behind (has_secrets(masked) is false), and
 *	  masking again changes nothing (idempotent);
 *	- a valid URL gives a NULL-free answer, an invalid one a reason.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

#define CHECK(cond, what) \
	do { if (!(cond)) { fprintf(stderr, "invariant broken: %s\n", what); abort(); } } while (0)

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
	CHECK(masked == (strcmp(in, out) != 0), "mask_secrets() returns true exactly when it changed the text");
	CHECK(!has_secrets(out), "no secret is left after masking");

	again = malloc(MASK_SECRETS_BUFSIZE(strlen(out)));
	CHECK(!mask_secrets(out, again), "masking a masked text masks nothing");
	CHECK(strcmp(out, again) == 0, "masking is idempotent");

	free(again);
	free(out);
	free(in);
	return 0;
}

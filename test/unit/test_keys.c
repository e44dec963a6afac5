/*
 * test_keys.c
 *	  Unit tests of common/redis_keys.c: the key-safe encoding of site
 *	  names, which the scheduler and visionproc's agents must agree on byte
 *	  for byte, and its refusal of every other spelling.
 */
#include <stdio.h>
#include <string.h>

#include "redis_keys.h"

static int	failures = 0;

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			failures++; \
		} \
	} while (0)

static const char *
enc(const char *site)
{
	static char out[CH_SITE_KEY_MAX + 1];

	return ch_site_encode(site, strlen(site), out, sizeof(out)) ? out : NULL;
}

static void
test_encode(void)
{
	char		big[CH_SITE_MAX_BYTES + 2];
	char		small[8];

	CHECK(strcmp(enc("north"), "north") == 0);
	CHECK(strcmp(enc("A-z_0.9~"), "A-z_0.9~") == 0);
	CHECK(strcmp(enc("west wing/\xCE\xB2"), "west%20wing%2F%CE%B2") == 0);
	/* what would split a key or make a cluster hash tag is encoded */
	CHECK(strcmp(enc("a:b{c}%"), "a%3Ab%7Bc%7D%25") == 0);
	CHECK(strcmp(enc("\n\r\x01\x7F\xFF"), "%0A%0D%01%7F%FF") == 0);
	CHECK(enc("") == NULL);
	CHECK(!ch_site_encode("a\0b", 3, big, sizeof(big)));
	/* 800 bytes (200 characters of 4 bytes) fit; one more does not */
	memset(big, '\xF0', CH_SITE_MAX_BYTES);
	big[CH_SITE_MAX_BYTES] = '\0';
	CHECK(enc(big) != NULL && strlen(enc(big)) == CH_SITE_KEY_MAX);
	big[CH_SITE_MAX_BYTES] = 'x';
	big[CH_SITE_MAX_BYTES + 1] = '\0';
	CHECK(enc(big) == NULL);
	/* a buffer too small is refused, never overrun */
	CHECK(!ch_site_encode("abcdefgh", 8, small, sizeof(small)));
	CHECK(!ch_site_encode("\xFF\xFF", 2, small, 6));
	CHECK(ch_site_encode("\xFF", 1, small, 4) && strcmp(small, "%FF") == 0);
}

static void
test_valid(void)
{
	CHECK(ch_site_key_valid("north", 5));
	CHECK(ch_site_key_valid("west%20wing%2F%CE%B2", 20));
	CHECK(!ch_site_key_valid("", 0));
	CHECK(!ch_site_key_valid("a b", 3));	/* a raw byte to encode */
	CHECK(!ch_site_key_valid("a%2", 3));	/* cut short */
	CHECK(!ch_site_key_valid("a%2f", 4));	/* lower case: another spelling */
	CHECK(!ch_site_key_valid("%41", 3));	/* 'A' spelt %41 */
	CHECK(!ch_site_key_valid("%00", 3));	/* a NUL */
	CHECK(!ch_site_key_valid("a:b", 3));
	/* whatever encodes is valid */
	for (int c = 1; c < 256; c++)
	{
		char		s[2] = {(char) c, '\0'};
		const char *e = enc(s);

		CHECK(e != NULL && ch_site_key_valid(e, strlen(e)));
	}
}

int
main(void)
{
	test_encode();
	test_valid();
	if (failures > 0)
	{
		printf("test_keys: %d failures\n", failures);
		return 1;
	}
	printf("test_keys: all passed\n");
	return 0;
}

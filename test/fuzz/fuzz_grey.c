/*
 * fuzz_grey.c
 *	  libFuzzer target for the reference-image format: ch_grey_parse()
 *	  (common/grey_format.h) and visionproc's grey_decode()
 *	  (visionproc/image.c), which read frames from Redis and the database.
 *
 * Checks: an accepted image has sides in 1..CH_GREY_MAX_SIDE and exactly
 * width*height pixel bytes after the header, then either nothing or a focus
 * map of exactly its grid's tiles; grey_decode() accepts exactly
 * what ch_grey_parse() accepts, with the same size and pixels; and
 * grey_encode() of the decoded image gives the input back (one canonical
 * form: no leading zeros, one space, one newline).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grey_format.h"
#include "image.h"

#define CHECK(cond, what) \
	do { if (!(cond)) { fprintf(stderr, "invariant broken: %s\n", what); abort(); } } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int			w = -1,
				h = -1;
	size_t		at = 0;
	bool		ok;
	GreyImage  *img;
	ChGreyLayout l;

	ok = ch_grey_parse(data, size, &w, &h, &at);
	CHECK(ch_grey_parse_layout(data, size, &l) == ok, "both parsers agree");
	if (ok)
	{
		size_t		end = l.has_focus ? l.focus_at - 1 : size;

		CHECK(w >= 1 && w <= CH_GREY_MAX_SIDE && h >= 1 && h <= CH_GREY_MAX_SIDE, "sides in range");
		CHECK(l.width == w && l.height == h && l.pixels_at == at, "the same layout");
		CHECK(at < size && (l.has_focus ? end - at > (size_t) w * h : end - at == (size_t) w * h),
			  "exactly width*height pixel bytes");
		CHECK(!l.has_focus || (size - l.focus_at == (size_t) l.grid_x * l.grid_y * CH_FOCUS_TILE_BYTES &&
							   l.grid_x >= 1 && l.grid_x <= CH_FOCUS_MAX_GRID &&
							   l.grid_y >= 1 && l.grid_y <= CH_FOCUS_MAX_GRID),
			  "a focus map of exactly its grid's tiles");
	}

	img = grey_decode(data, size);
	CHECK((img != NULL) == ok, "grey_decode() accepts what ch_grey_parse() accepts");
	if (img != NULL)
	{
		uint8_t    *enc;
		size_t		enclen = 0;

		CHECK(img->width == w && img->height == h, "grey_decode() gives the parsed size");
		CHECK(memcmp(img->pixels, data + at, (size_t) w * h) == 0, "grey_decode() copies the pixels");
		CHECK((img->focus != NULL) == l.has_focus, "grey_decode() keeps the focus map");
		enc = grey_encode(img, &enclen);
		CHECK(enc != NULL && enclen == size && memcmp(enc, data, size) == 0,
			  "an accepted image is in canonical form: grey_encode() gives it back");
		free(enc);
		grey_free(img);
	}
	return 0;
}

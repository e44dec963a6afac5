/*
 * reference.c
 *	  valid_reference(bytea): is a value one well-formed grey analysis
 *	  image?  The CHECK constraint of camera_references.image, so that a
 *	  malformed reference frame (a truncated write, another version, a
 *	  hostile writer of Redis) can never be stored and then be judged
 *	  against for ever: the same parser as visionproc's (common/grey_format.c).
 */
#include "postgres.h"

#include "fmgr.h"

#include "grey_format.h"

PG_FUNCTION_INFO_V1(ch_valid_reference);

Datum
ch_valid_reference(PG_FUNCTION_ARGS)
{
	bytea	   *image = PG_GETARG_BYTEA_PP(0);
	int			width,
				height;
	size_t		pixels_at;

	PG_RETURN_BOOL(ch_grey_parse((const uint8_t *) VARDATA_ANY(image), VARSIZE_ANY_EXHDR(image),
								 &width, &height, &pixels_at));
}

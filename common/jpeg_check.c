/*
 * jpeg_check.c
 *	  The plausibility check of stored JPEG pictures (see jpeg_check.h).
 */
#include "jpeg_check.h"

bool
ch_jpeg_plausible(const uint8_t *data, size_t len)
{
	if (data == NULL || len < CH_JPEG_MIN_BYTES || len > CH_JPEG_MAX_BYTES)
		return false;
	return data[0] == 0xFF && data[1] == 0xD8 && data[len - 2] == 0xFF && data[len - 1] == 0xD9;
}

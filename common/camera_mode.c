/*
 * camera_mode.c
 *	  A camera's lighting modes: names and Redis key suffixes (see
 *	  camera_mode.h).
 */
#include "camera_mode.h"

#include <string.h>

static const char *const mode_names[CH_MODE_COUNT] = {"day", "ir"};
static const char *const mode_suffixes[CH_MODE_COUNT] = {"", ":ir"};

const char *
ch_mode_name(int mode)
{
	return mode >= 0 && mode < CH_MODE_COUNT ? mode_names[mode] : NULL;
}

int
ch_mode_parse(const char *s, size_t len)
{
	if (s == NULL)
		return -1;
	for (int m = 0; m < CH_MODE_COUNT; m++)
		if (strlen(mode_names[m]) == len && memcmp(s, mode_names[m], len) == 0)
			return m;
	return -1;
}

const char *
ch_mode_key_suffix(int mode)
{
	return mode >= 0 && mode < CH_MODE_COUNT ? mode_suffixes[mode] : NULL;
}

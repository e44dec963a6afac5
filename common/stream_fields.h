/*
 * stream_fields.h
 *	  The value of one field of a Redis stream entry, as hiredis returns it
 *	  (an array of alternating names and values).  Used by the prober and by
 *	  visionproc's workers to read their tasks.
 */
#ifndef CAMERA_HEALTH_STREAM_FIELDS_H
#define CAMERA_HEALTH_STREAM_FIELDS_H

#include <string.h>
#include <hiredis/hiredis.h>

/* NULL when the entry has no such field */
static inline const char *
stream_field(const redisReply *fields, const char *name)
{
	for (size_t i = 0; i + 1 < fields->elements; i += 2)
		if (strcmp(fields->element[i]->str, name) == 0)
			return fields->element[i + 1]->str;
	return NULL;
}

#endif							/* CAMERA_HEALTH_STREAM_FIELDS_H */

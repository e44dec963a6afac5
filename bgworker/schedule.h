/*
 * schedule.h
 *	  The check types and their names in Redis keys, tasks and health logs.
 */
#ifndef CAMERA_HEALTH_SCHEDULE_H
#define CAMERA_HEALTH_SCHEDULE_H

typedef enum CheckType
{
	CHECK_IP,
	CHECK_PORT,
	CHECK_VISION,
	NUM_CHECKS
} CheckType;

/* "ip", "port", "vision" */
extern const char *const check_names[NUM_CHECKS];

#endif							/* CAMERA_HEALTH_SCHEDULE_H */

/*
 * guc.h
 *	  camera_health's configuration parameters (postgresql.conf).
 */
#ifndef CAMERA_HEALTH_GUC_H
#define CAMERA_HEALTH_GUC_H

extern char *camera_health_database;
extern char *camera_health_redis_url;
extern char *camera_health_key_prefix;
extern int	camera_health_default_log_retention;
extern int	camera_health_default_trend_retention;
extern int	camera_health_ip_timeout;
extern int	camera_health_port_timeout;
extern double camera_health_high_latency;
extern int	camera_health_max_probes;
extern int	camera_health_alert_open_after;
extern int	camera_health_alert_resolve_after;
extern int	camera_health_retention_interval;
extern int	camera_health_retention_batch_size;
extern int	camera_health_retention_history;

extern int	camera_health_notify_group_wait;
extern char *camera_health_notify_base_url;
extern int	camera_health_notify_timeout;
extern int	camera_health_notify_connect_timeout;
extern int	camera_health_notify_max_in_flight;
extern int	camera_health_notify_retry_max;
extern int	camera_health_notify_max_age;
extern int	camera_health_notify_log_retention;

extern void camera_health_define_gucs(void);

#endif							/* CAMERA_HEALTH_GUC_H */

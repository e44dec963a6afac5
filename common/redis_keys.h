/*
 * redis_keys.h
 *	  The names of camera_health's Redis keys that more than one program
 *	  uses (the extension's workers and visionproc, here or at a site), and
 *	  the encoding of a site name into a key.
 *
 * Every key is written with camera_health.key_prefix (visionproc's
 * --key-prefix) in front.  A site name is user input (1 to 200 characters
 * of any text, so up to 800 bytes of UTF-8): in a key it is
 * percent-encoded (RFC 3986 unreserved characters as they are, every other
 * byte as %XX in upper case), so that "north" stays "north", a key never
 * holds a ':' of the site's own, a cluster hash tag ({...}) or a control
 * byte, and each site has exactly one encoding (ch_site_key_valid refuses
 * every other spelling).
 */
#ifndef CAMERA_HEALTH_REDIS_KEYS_H
#define CAMERA_HEALTH_REDIS_KEYS_H

#include <stdbool.h>
#include <stddef.h>

/* The database's queues, served by the prober bgworker and visionproc. */
#define CH_KEY_QUEUE_NETWORK "queue:network"
#define CH_KEY_QUEUE_VISION "queue:vision"
#define CH_KEY_RESULTS_NETWORK "results:network"
#define CH_KEY_RESULTS_VISION "results:vision"
#define CH_GROUP_PROBERS "probers"	/* of every network queue */
#define CH_GROUP_VISION "visionproc"	/* of every vision queue */

/*
 * A site served by agents: its tasks go to its own queues (same fields,
 * plus timeout_ms and threshold_ms in network tasks) while agents:{site}
 * exists.  That key is a hash of agent name -> last heartbeat (ms since
 * the epoch, the agent's clock), which every agent of the site writes and
 * expires (PEXPIRE) every CH_AGENT_HEARTBEAT_MS: it lives while at least
 * one agent does, and is gone CH_AGENT_TTL_MS after the last one died.
 */
#define CH_KEY_SITE_QUEUE_NETWORK "queue:network:site:%s"
#define CH_KEY_SITE_QUEUE_VISION "queue:vision:site:%s"
#define CH_KEY_SITE_AGENTS "agents:%s"
#define CH_AGENT_HEARTBEAT_MS 1000
#define CH_AGENT_TTL_MS 5000

#define CH_SITE_MAX_BYTES 800	/* 200 characters of at most 4 bytes */
#define CH_SITE_KEY_MAX (CH_SITE_MAX_BYTES * 3)	/* encoded, without the NUL */

/*
 * Percent-encode a site name of len bytes into out (at least
 * CH_SITE_KEY_MAX + 1 bytes).  False for an empty name, one longer than
 * CH_SITE_MAX_BYTES or one holding a NUL byte.
 */
extern bool ch_site_encode(const char *site, size_t len, char *out, size_t outsize);

/* Is s (len bytes) the encoding ch_site_encode gives of some site? */
extern bool ch_site_key_valid(const char *s, size_t len);

#endif							/* CAMERA_HEALTH_REDIS_KEYS_H */

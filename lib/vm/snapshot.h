/* snapshot.h — a suspended VM's snapshot (doc/snapshots.md):
 * vms/<id>/snapshot/ (root's, 0700) holding `vmstate` and `memory` (0600,
 * written by Firecracker) and `info.json`, written last: a snapshot is
 * there, complete, when info.json is.  A snapshot is used once: fcm-fc run
 * loads it and removes it. */
#ifndef FCM_SNAPSHOT_H
#define FCM_SNAPSHOT_H

#include <jv.h>

/* vms/<id>/snapshot, or a file in it when name is not NULL (malloc'd). */
char *fcm_snapshot_path(const char *id, const char *name);
/* Does VM id have a complete snapshot?  1 or 0. */
int fcm_snapshot_exists(const char *id);
/* Its info.json (created_at, firecracker, bytes), or an invalid jv. */
jv fcm_snapshot_info(const char *id);
/* Bytes the snapshot's files take on disk (allocated blocks); 0 when none. */
long long fcm_snapshot_bytes(const char *id);
/* Remove VM id's snapshot (info.json first, so that a half-removed one is
 * never taken for complete).  Idempotent; 0, or -1 with errno. */
int fcm_snapshot_remove(const char *id);

/* --- scale to zero (doc/snapshots.md) ------------------------------------
 * A VM's record may hold "idle_suspend": seconds without a packet to the
 * VM after which its `fcm-fc run` suspends it, waking it on the next one. */

/* "15m", "30s", "2h", "1d", or a number of seconds; "off" or "0" is 0.  The
 * seconds (at most 30 days), or -1 when s is none of those. */
long fcm_idle_parse(const char *s);

#endif

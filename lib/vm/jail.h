/* jail.h — where the VMM binaries are and how a VM is confined: Firecracker
 * and its jailer, a uid per VM, the jail directory, the cgroups
 * (doc/security.md, doc/fcm-fc.md). */
#ifndef FCM_JAIL_H
#define FCM_JAIL_H

#include <sys/types.h>
#include <jv.h>

/* Rate limits of a VM's drives and network interface (the record's
 * disk_rate MiB/s, disk_iops, net_rate Mbit/s, net_pps; 0 is no limit),
 * when it sets none: token buckets Firecracker refills every second. */
#define FCM_DEFAULT_DISK_RATE 200
#define FCM_DEFAULT_DISK_IOPS 10000
#define FCM_DEFAULT_NET_RATE 1000
#define FCM_DEFAULT_NET_PPS 100000

/* The parent cgroup of every VM's cgroup (jailer --parent-cgroup). */
#define FCM_CGROUP_PARENT "fcm"

/* The range of uids (and gids, the same numbers) given to VMs:
 * $FCM_JAIL_UIDS "FIRST-LAST", default 900000-999999.  0, or -1 with a
 * message in err when the setting is malformed. */
int fcm_jail_uid_range(uid_t *first, uid_t *last, char *err, size_t errlen);
/* Give VM id a uid/gid of its own, from the range, recorded in its record
 * ("uid", "gid"); keeps the one it has.  Done under the VM table lock, so no
 * two VMs share one; freed with the record.  Returns the uid, or -1 with a
 * message in err (range exhausted, bad setting, unreadable record).  Reads
 * no other record but those the index (vms/.uids) names for the uids it
 * tries: the first one free is found from vms/.uids/.next on. */
long fcm_jail_uid_claim(const char *id, char *err, size_t errlen);
/* Give uid back (its index entry, when it names id): with the record, by
 * destroy, under the VM table lock. */
void fcm_jail_uid_release(const char *id, long uid);
/* Have the next claim make the uid index anew from the records (the
 * daemon's start: lib/vm/repair.h). */
void fcm_jail_uids_forget(void);
/* The jail of VM id with this Firecracker: <root>/jailer/<exec name>/<id>
 * (the jailer's chroot is its root/).  malloc'd. */
char *fcm_jail_dir(const char *id, const char *firecracker);
/* Take VM id's jail apart: unmount what was bound into it, remove its
 * directory (every exec name), remove its cgroups (v1 and v2).  Idempotent;
 * 0, or -1 with a message in err when something stays. */
int fcm_jail_release(const char *id, char *err, size_t errlen);

#endif

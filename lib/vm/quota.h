/* quota.h — what one owner's VMs may take of the host.
 *
 * $FCM_ROOT/quota.json (0644, written atomically under the VM table lock):
 *   {"default":{"vms":3,"cpus":4,"memory":4096,"disk":"20G"},
 *    "users":{"alice-3f9a2c":{"vms":10}}}
 * memory in MiB, disk a size (lib/core/size.h).  A user's entry overrides
 * the defaults key by key; a key set nowhere is no limit, and so is a host
 * without the file.  The owner "admin" (the host's admin token) has none.
 *
 * Usage counts every record of the owner, whatever its state (a VM being
 * made counts: it holds its resources already).  fcm create checks under
 * the VM table lock, which it also holds while it writes the new record, so
 * two creates at once cannot both pass on the same room. */
#ifndef FCM_QUOTA_H
#define FCM_QUOTA_H

#include <stddef.h>

#include <jv.h>

/* The four resources, in the order messages list them. */
struct fcm_usage {
	long vms, cpus, memory;		/* memory in MiB */
	long long disk;			/* MiB */
};

/* The limits for owner: each -1 when there is none. */
void fcm_quota_of(const char *owner, struct fcm_usage *q);
/* What owner's VMs take now. */
void fcm_usage_of(const char *owner, struct fcm_usage *u);
/* MiB of a record's "disk" size (2G -> 2048), or 0. */
long long fcm_disk_mib(const char *size);
/* Would a VM of cpus, memory MiB and disk MiB more go over owner's quota?
 * 0 when not; else -1 with one line in why naming each resource over, with
 * the numbers: "over quota for alice-3f9a2c: vCPUs 3 used + 2 = 5 > 4 (1
 * over); ...".  Call under the VM table lock. */
int fcm_quota_check(const char *owner, long cpus, long memory, long long disk, char *why, size_t whylen);
/* {"vms":N,"cpus":N,"memory":N,"disk":"NM"} of usage, and of limits with
 * null for none (for replies). */
jv fcm_usage_json(const struct fcm_usage *u, int limits);

/* The whole file ({"default":{},"users":{}} when there is none). */
jv fcm_quota_load(void);
/* Write it (consumed).  0, or -1 with errno. */
int fcm_quota_save(jv all);

#endif

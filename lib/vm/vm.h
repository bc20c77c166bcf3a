/* vm.h — VM records: $FCM_ROOT/vms/<id>/config.json, one JSON object:
 *   {"id","name","ip","mac","tap","image","owner","state","expose",
 *    "url","cpus","memory","disk","created_at",
 *    "disk_rate","disk_iops","net_rate","net_pps"   rate limits (vm/jail.h)
 *    "uid","gid","confined"}   its VMM's uid and gid, and whether the jailer
 *                              confined it when it last started (fcm-fc)
 * Records are written atomically; creating or removing one happens under the
 * VM table lock so that names stay unique. */
#ifndef FCM_VM_H
#define FCM_VM_H

#include <jv.h>

char *fcm_vm_dir(const char *id);
/* The record of VM id, without the file's "format"; jv_invalid_with_msg
 * when there is none, or when its file is of a newer state format than
 * this fcm's (core/stateformat.h). */
jv fcm_vm_load(const char *id);
/* The record for a reference: an id or a name.  Invalid with
 * "no VM named 'x'" when there is none, or when ref is not a valid name. */
jv fcm_vm_find(const char *ref);
/* Every record, oldest first (an array). Unreadable records are skipped
 * with a warning. */
jv fcm_vm_list(void);
/* Write the record (consumed) into its directory, atomically, stamped
 * with this fcm's state format. */
int fcm_vm_save(jv rec);
/* Is a name taken by a VM? */
int fcm_vm_name_taken(const char *name);

/* The lock held while names are chosen and records made or removed. */
int fcm_vm_table_lock(void);

#endif

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
/* The same without the fsyncs (readers see the old record or the new one;
 * a crash of the machine may keep the old): only for a record still
 * "creating" and saved durably as such, whose every step fcm daemon's
 * repair undoes by the VM's id after a crash (lib/vm/repair.h), so that
 * losing this version loses nothing. */
int fcm_vm_save_unsynced(jv rec);
/* Is a name taken by a VM?  O(1) once the name index is complete (below);
 * before, every record is read. */
int fcm_vm_name_taken(const char *name);

/* The name index: vms/.names/<name>, a symlink to the VM's id, so that a
 * name is found and checked without reading every record.  fcm create
 * claims the name (under the VM table lock), destroy releases it last;
 * fcm_vm_names_rebuild (the daemon's start, fcm doctor: lib/vm/repair.h)
 * makes it from the records and marks it complete (vms/.names/.complete),
 * after which a name it lacks is free.  A record written by other means
 * than create must be followed by a rebuild.  All under the table lock. */
/* Claim name for VM id: 0; -1 with errno EEXIST when a VM holds it, or
 * another errno. */
int fcm_vm_name_claim(const char *name, const char *id);
/* Give name back if id holds it. */
void fcm_vm_name_release(const char *name, const char *id);
/* Is the index complete (made by a rebuild)? */
int fcm_vm_names_complete(void);
/* Make the index anew from the records.  0 or -1 (errno). */
int fcm_vm_names_rebuild(void);

/* Does `fcm ls` show rec to user `who` (every VM to an admin), and is it
 * owner's when owner is not NULL? */
int fcm_vm_visible(jv rec, const char *who, int admin, const char *owner);

/* The lock held while names are chosen and records made or removed. */
int fcm_vm_table_lock(void);

#endif

/* svc.h — fcm's s6 supervision tree (doc/supervision.md).
 *
 *   $FCM_ROOT/scan/                 s6-svscan's scan directory (fcm daemon)
 *   $FCM_ROOT/scan/vm-<id>  ->      $FCM_ROOT/vms/<id>/service
 *   $FCM_ROOT/vms/<id>/service/     run, finish, notification-fd, timeout-kill,
 *                                   down (while stopped), log/run
 *
 * A VM's state is read from s6-supervise's status file, so it is right
 * whether or not anyone asked fcm to change it (s6-svc -d/-u work too). */
#ifndef FCM_SVC_H
#define FCM_SVC_H

#include <stdint.h>
#include <sys/types.h>

#include <jv.h>

struct fcm_svc_status {
	int supervised;		/* an s6-supervise process holds the service */
	pid_t pid;		/* the run process, 0 when down */
	int want_up, ready, paused, finishing;
	int64_t since;		/* unix time of the last up/down change */
	int wstat;		/* raw wait status of the last death */
};

char *fcm_scandir(void);
char *fcm_vm_svcdir(const char *id);
/* Is an s6 program listening on the control fifo in dir (s6-svscan's
 * .s6-svscan, s6-supervise's supervise)?  1 or 0; never blocks. */
int fcm_s6_listening(const char *dir);
/* Is s6-svscan running on fcm's scan directory? */
int fcm_svscan_running(void);
/* Read a service's status; 0, or -1 when it was never supervised. */
int fcm_svc_status(const char *svcdir, struct fcm_svc_status *st);
/* "running", "starting", "stopping", "stopped", "suspended", "failed" or
 * "creating", from the record, its service and its snapshot. */
const char *fcm_vm_state(jv rec);

/* The record (consumed) as `fcm ls` shows it: with its state, and its
 * custom domains ([] when none; vm/domains.h). */
jv fcm_vm_listed(jv rec);
/* The same, its service's files opened relative to vms, a descriptor of
 * the directory vms/ (fcm ls reads hundreds: a lookup of four names each,
 * not of the whole path). */
jv fcm_vm_listed_at(int vms, jv rec);

/* Write the service directory of VM id.  down > 0 adds a down file (it
 * stays stopped); otherwise an existing down file is left as it is.  Each
 * file is replaced atomically but not fsynced: fcm daemon writes every VM's
 * anew from its record when it starts, so a crash of the machine loses
 * nothing the next start does not make again. */
int fcm_svc_make(const char *id, int down);
/* Send s6-supervise of svcdir the commands in cmds (s6-svc's letters: "u",
 * "d", ...) as s6-svc does, without its process: 0, or -1 with errno (ENXIO:
 * no s6-supervise listens). */
int fcm_svc_send(const char *svcdir, const char *cmds);

#endif

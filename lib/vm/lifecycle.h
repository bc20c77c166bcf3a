/* lifecycle.h — the steps the porcelain composes (create, start, stop,
 * destroy), each idempotent so that undo and destroy can run them on a VM
 * in any state. */
#ifndef FCM_LIFECYCLE_H
#define FCM_LIFECYCLE_H

#include <jv.h>

/* Refuse (die 111) unless `fcm daemon` is running. */
void fcm_need_daemon(void);
/* Link the VM's service into the scan directory (it starts unless its
 * service has a down file).  0 or -1 with a message in err. */
int fcm_vm_link(const char *id, char *err, size_t errlen);
/* fcm_vm_link in steps, for a service with a down file (a create's):
 * _start links it and has s6-svscan scan, without waiting; _armed waits
 * until its s6-supervise listens (30 s at most) and removes the down file
 * (the service starts at its supervisor's next start); fcm_vm_start_now
 * tells the supervisor to start it (s6-svc -u); _up is _armed then that.
 * 0, or -1 with a message in err. */
int fcm_vm_link_start(const char *id, char *err, size_t errlen);
int fcm_vm_link_armed(const char *id, char *err, size_t errlen);
int fcm_vm_start_now(const char *id, char *err, size_t errlen);
int fcm_vm_link_up(const char *id, char *err, size_t errlen);
/* After its service was linked or told to go up: wait (5 s at most) until
 * VM rec (borrowed) no longer looks stopped — s6-supervise starts the run
 * a moment after it took the command — so that a reply without waiting
 * for the guest says "starting", not "stopped". */
void fcm_vm_wait_leaving_stopped(jv rec);
/* Wait until the VM is ready (its guest sshd answers) or has died, for at
 * most timeout seconds.  0 ready, -1 with the reason in err (the last line
 * of the VM's log when it died). */
int fcm_vm_wait_ready(const char *id, long timeout, char *err, size_t errlen);
/* Wait until the VMM is gone, at most timeout seconds.  0 or -1. */
int fcm_vm_wait_down(const char *id, long timeout);
/* Take everything a VM has apart, in an order that a crash at any point
 * cannot make unsafe: the record marked "destroying" (fcm-proxy routes no
 * such VM), the service, its jail and cgroups (fcm-fc release), the proxy
 * route, then the tap and the lease (never before the route is gone), the
 * git repo, the disk, and last the directory with the record.  Every step tolerates a missing part; run it again to
 * finish.  Call under the VM table lock.  Warnings go to stderr; returns 0,
 * or -1 if some part could not be removed (the directory and record are
 * then kept). */
int fcm_vm_teardown(const char *id, const char *name);
/* The same with flags: FCM_TEARDOWN_NO_PROXY when no proxy runs (the
 * daemon's start: Caddy renders its routes from the records when it starts,
 * and a destroying VM is not among them). */
#define FCM_TEARDOWN_NO_PROXY 1
/* FCM_TEARDOWN_LOCK: called without the table lock; it is taken only for
 * the first step (the record marked) and the last (name and directory
 * removed), so that destroys of different VMs run side by side. */
#define FCM_TEARDOWN_LOCK 2
int fcm_vm_teardown_ex(const char *id, const char *name, unsigned flags);
/* The last non-empty line of the VM's log (malloc'd), or NULL. */
char *fcm_vm_log_tail(const char *id);
/* Is HTTPS routing through Caddy in use?  Yes when fcm-proxy is installed,
 * unless FCM_PROXY=off. */
int fcm_proxy_enabled(void);
/* Boot timeout: $FCM_BOOT_TIMEOUT seconds, default 300. */
long fcm_boot_timeout(void);

#endif

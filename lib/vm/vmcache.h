/* vmcache.h — what `fcm ls` shows, kept in memory by a long-running reader
 * (fcm-api), and exact.
 *
 * inotify reports every change that can alter an entry: the set of VMs
 * (vms/), a record (vms/<id>/config.json, written by rename), a service
 * (vms/<id>/service/: its down file, s6-supervise's supervise/ appearing)
 * and s6's view of it (supervise/status, written by rename; supervise/lock,
 * closed when s6-supervise ends).  fcm_vmcache_sync, called before every
 * answer, reads all the notifications the kernel has queued — every change
 * made before the request came — and rebuilds the entries they touch with
 * the same code as `fcm ls` (fcm_vm_load, fcm_vm_listed, fcm_vm_visible), so
 * an answer is never older than its request.  An entry is kept as its JSON
 * text: a list is a concatenation, not a serialisation. */
#ifndef FCM_VMCACHE_H
#define FCM_VMCACHE_H

#include <stddef.h>

struct fcm_vmcache;

/* A cache of $FCM_ROOT/vms, filled; NULL (errno set) when inotify is not
 * available: then read the files as `fcm ls` does. */
struct fcm_vmcache *fcm_vmcache_new(void);
void fcm_vmcache_free(struct fcm_vmcache *c);
/* Take in every queued change.  0, or -1 when the cache could not keep up
 * (it is then rebuilt from the files on the next call). */
int fcm_vmcache_sync(struct fcm_vmcache *c);
/* The JSON array (malloc'd, with its length) of the entries user `who`
 * sees (all with admin), only owner's when owner is not NULL: the same
 * text `GET /v1/vms` gave when fcm-ls answered it. */
char *fcm_vmcache_list(struct fcm_vmcache *c, const char *who, int admin, const char *owner,
    size_t *len);
/* The entry of VM ref (an id or a name) as a JSON object (malloc'd), or NULL
 * when there is none that `who` may see. */
char *fcm_vmcache_one(struct fcm_vmcache *c, const char *ref, const char *who, int admin,
    size_t *len);

#endif

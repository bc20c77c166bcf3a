/* vmmake.h — what fcm create and fcm import share while they make a VM
 * step by step through the helpers (fcm-disk, fcm-net, fcm-repo). */
#ifndef FCM_VMMAKE_H
#define FCM_VMMAKE_H

#include <jv.h>

/* A helper's request about VM id: {"op":op,"id":id}. */
jv fcm_vm_op(const char *op, const char *id);
/* rec (consumed) with the keys of a helper's reply (borrowed) that it has
 * and that are not null; the others left as they are.  keys ends with NULL. */
jv fcm_vm_merge(jv rec, jv reply, const char *const *keys);

#endif

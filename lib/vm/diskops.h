/* diskops.h — the operations of fcm-disk (doc/fcm-disk.md): create, delete, usage.
 * bin/fcm-disk serves them as JSON lines; fcm runs them in its own process
 * (fcm_call_here, lib/core/run.h), a program fewer per create and destroy. */
#ifndef FCM_DISKOPS_H
#define FCM_DISKOPS_H

#include "core/jsonl.h"

/* Each takes the request (borrowed) and returns the reply.  Ends with
 * { NULL, NULL }. */
extern const struct fcm_op fcm_disk_ops[];
/* fcm-disk's usage line. */
extern const char fcm_disk_usage[];

#endif

/* netops.h — the operations of fcm-net (doc/fcm-net.md): setup, alloc,
 * free, tap-add, tap-del, teardown, status, ls.  bin/fcm-net serves them
 * as JSON lines; fcm runs them in its own process (fcm_call_here,
 * lib/core/run.h), which spares a create or a destroy two programs started. */
#ifndef FCM_NETOPS_H
#define FCM_NETOPS_H

#include "core/jsonl.h"

/* Each takes the request (borrowed) and returns the reply; locks and
 * state as doc/fcm-net.md says.  Ends with { NULL, NULL }. */
extern const struct fcm_op fcm_net_ops[];
/* fcm-net's usage line. */
extern const char fcm_net_usage[];

#endif

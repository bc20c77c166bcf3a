/* repoops.h — the operations of fcm-repo (doc/fcm-repo.md): create, delete, show.
 * bin/fcm-repo serves them as JSON lines; fcm runs them in its own process
 * (fcm_call_here, lib/core/run.h), a program fewer per create and destroy. */
#ifndef FCM_REPOOPS_H
#define FCM_REPOOPS_H

#include "core/jsonl.h"

/* Each takes the request (borrowed) and returns the reply.  Ends with
 * { NULL, NULL }. */
extern const struct fcm_op fcm_repo_ops[];
/* fcm-repo's usage line. */
extern const char fcm_repo_usage[];

#endif

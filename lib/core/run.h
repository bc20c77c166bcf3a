/* run.h — running other programs: argv arrays only, never a shell
 * (posix_spawn; a failure to exec is reported, not hidden). */
#ifndef FCM_RUN_H
#define FCM_RUN_H

#include <stddef.h>

#include <jv.h>

/* Run argv[0] (a path, or a name looked up in PATH), wait for it.  Returns its
 * exit status, 128+signal if killed, or -1 with errno if it could not start. */
int fcm_run(char *const argv[]);
/* As fcm_run, feeding `in` (may be NULL) on its stdin and collecting at most
 * max bytes of its stdout into *out (malloc'd, NUL-terminated). */
int fcm_run_capture(char *const argv[], const char *in, size_t inlen,
    char **out, size_t max);

/* Send one request to the helper fcm-<name> and return its reply.  Never
 * fails to return an object: when the helper gives no reply, the reply is
 * {"ok":false,"error":"..."} saying what happened.  req is consumed.
 * The helper runs with FCM_CALLER set, so it does not also print its error
 * on stderr: the caller reports it once. */
jv fcm_call(const char *name, jv req);

#endif

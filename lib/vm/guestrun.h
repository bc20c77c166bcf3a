/* guestrun.h — fcm's own programs in a VM (the guest's
 * /usr/local/lib/fcm/app, doc/guest.md), run over ssh as root with the
 * host's key into its guests, checking the VM's pinned host key
 * (guestkey.h).  The command line is always fixed text of ours: what a user
 * gives (config values, a command to run) travels on stdin, or base64. */
#ifndef FCM_GUESTRUN_H
#define FCM_GUESTRUN_H

#include <stddef.h>

#include <jv.h>

#define FCM_GUEST_APP "/usr/local/lib/fcm/app"

/* The ssh argv that runs cmd in VM rec (borrowed): with a pseudo-terminal
 * (-tt) when tty, else none (-T).  NULL-terminated, malloc'd: free it with
 * fcm_guest_argv_free. */
char **fcm_guest_argv(jv rec, int tty, const char *cmd);
void fcm_guest_argv_free(char **argv);

/* Dies (kind conflict) unless VM rec is running, with the line saying how
 * to start it, or unrecorded host key. */
void fcm_guest_need_running(jv rec);

/* Run cmd in VM rec, in[0..inlen) on its stdin; its stdout and stderr, at
 * most max bytes, in *out (malloc'd).  Returns its exit status (255 when ssh
 * could not reach the guest), or -1 with errno when ssh did not start. */
int fcm_guest_call(jv rec, const char *cmd, const char *in, size_t inlen, char **out, size_t max);

/* The reason in a failed call's output (borrowed, changed in place): its
 * last line without the guest program's "app: " prefix. */
const char *fcm_guest_reason(char *out);

#endif

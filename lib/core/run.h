/* run.h — starting other programs, the one way every fcm program does it
 * (after git's run-command.c): argv arrays only, never a shell.  Describe
 * the child, start it, finish it:
 *
 *	struct fcm_child c = { .argv = argv, .out = FCM_CHILD_PIPE };
 *	if (fcm_child_start(&c) < 0)
 *		fcm_die_sys(FCM_E_INTERNAL, "unable to run %s", argv[0]);
 *	... read c.fd_out, close it ...
 *	st = fcm_child_finish(&c);
 *
 * Between fork and exec the child makes only async-signal-safe calls; it
 * starts with every signal at its default and none blocked.  A failure to
 * exec (or to set the child up) comes back to fcm_child_start as its errno,
 * over a close-on-exec pipe: never hidden in an exit status. */
#ifndef FCM_RUN_H
#define FCM_RUN_H

#include <stddef.h>
#include <sys/types.h>

#include <jv.h>

#include "core/jsonl.h"

/* A child's stdin, stdout or stderr: one of these, or an fd > 0 of ours to
 * dup2 there.  0 is INHERIT (as in git), so a description names only what
 * differs. */
#define FCM_CHILD_INHERIT 0
#define FCM_CHILD_NULL    (-2)	/* /dev/null */
#define FCM_CHILD_PIPE    (-3)	/* a pipe; our end in fd_in/fd_out/fd_err */

#define FCM_CHILD_SETSID  1	/* a session of its own */
#define FCM_CHILD_CTTY    2	/* as SETSID, and its stdin (a pty) becomes its controlling terminal */
#define FCM_CHILD_SETPGID 4	/* a process group of its own: kill(-pid) reaches what it starts */

struct fcm_child {
	char *const *argv;	/* argv[0]: a path, or a name looked up in PATH */
	char *const *env;	/* NULL: ours; else changes to ours, "K=V" sets, "K" unsets */
	int in, out, err;	/* FCM_CHILD_INHERIT (0), _NULL, _PIPE, or an fd > 0 */
	const int *fds;		/* nfds more of our fds, to be its 3, 4, ... */
	int nfds;
	int flags;		/* FCM_CHILD_SETSID, _CTTY, _SETPGID */
	int pdeathsig;		/* a signal it gets when we die (Linux), or 0 */
	/* Set by fcm_child_start: */
	pid_t pid;
	int fd_in, fd_out, fd_err;	/* our ends of its pipes (close-on-exec), else -1 */
};

/* Start the child c describes.  0 with c->pid and the pipe ends set; or -1
 * with errno (ENOENT: not in PATH; else the exec's or the set-up's errno),
 * leaving no process and no fd behind.  The caller closes its pipe ends. */
int fcm_child_start(struct fcm_child *c);

/* Wait for it: its exit status, 128+signal, or -1 with errno.  Closes no
 * pipe: close them first, or a child reading its stdin never ends. */
int fcm_child_finish(struct fcm_child *c);

/* A waitpid status as fcm_child_finish says it: exit status, or 128+signal. */
int fcm_wait_code(int wstatus);

/* Run argv, everything inherited, and wait: fcm_child_finish's answer, or
 * -1 with errno when it could not start. */
int fcm_run(char *const argv[]);

/* As fcm_run, feeding in[0..inlen) on its stdin (/dev/null when inlen is 0)
 * and keeping at most max bytes of its stdout in *out (malloc'd,
 * NUL-terminated).  Ignores SIGPIPE from then on. */
int fcm_run_capture(char *const argv[], const char *in, size_t inlen,
    char **out, size_t max);
/* As fcm_run_capture, with its stderr in *out too, interleaved as written. */
int fcm_run_capture_all(char *const argv[], const char *in, size_t inlen,
    char **out, size_t max);

/* Send one request to the helper fcm-<name> and return its reply.  Never
 * fails to return an object: when the helper gives no reply, the reply is
 * {"ok":false,"error":"..."} saying what happened.  req is consumed.
 * The helper runs with FCM_CALLER set, so it does not also print its error
 * on stderr: the caller reports it once. */
jv fcm_call(const char *name, jv req);
/* From now on fcm_call(name, ...) runs the operations of ops (the helper's
 * own table, linked into this program) here instead of starting fcm-<name>:
 * the same request and reply, without a process (two of them saved per VM
 * created or destroyed).  A request whose "op" is not in ops still goes to
 * the helper.  done, if not NULL, runs after each operation (to close what
 * the helper keeps open: nothing of it outlives the call, as with a
 * process).  At most 8 helpers. */
void fcm_call_here(const char *name, const struct fcm_op *ops, void (*done)(void));

#endif

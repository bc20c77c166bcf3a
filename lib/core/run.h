/* run.h — starting other programs, the one way every fcm program does it
 * (after git's run-command.c).  argv arrays only, never a shell.
 *
 * Describe the child in a struct fcm_child, start it, finish it:
 *
 *	struct fcm_child c = { .argv = argv, .out = FCM_CHILD_PIPE };
 *	if (fcm_child_start(&c) < 0)
 *		fcm_die_sys(FCM_E_INTERNAL, "unable to run %s", argv[0]);
 *	... read c.fd_out, close it ...
 *	st = fcm_child_finish(&c);
 *
 * Between fork and exec the child makes only async-signal-safe calls.  It
 * starts with every signal at its default disposition and none blocked,
 * whatever the parent had.  A failure to exec (or to set the child up) comes
 * back to fcm_child_start as its errno, over a close-on-exec pipe: it is
 * never hidden in an exit status. */
#ifndef FCM_RUN_H
#define FCM_RUN_H

#include <stddef.h>
#include <sys/types.h>

#include <jv.h>

/* What a child's stdin, stdout or stderr is.  Besides these, an fd > 0 of
 * the parent's is dup2'd there.  0 is INHERIT (as in git), so that a
 * description need only name what differs. */
#define FCM_CHILD_INHERIT 0	/* the parent's own */
#define FCM_CHILD_NULL    (-2)	/* /dev/null */
#define FCM_CHILD_PIPE    (-3)	/* a pipe; the parent's end in fd_in/fd_out/fd_err */

/* flags */
#define FCM_CHILD_SETSID  1	/* a session of its own (so a process group) */
#define FCM_CHILD_CTTY    2	/* as SETSID, and its stdin (a pty slave) becomes its controlling terminal */
#define FCM_CHILD_SETPGID 4	/* a process group of its own: kill(-pid) reaches what it starts */

struct fcm_child {
	char *const *argv;	/* argv[0]: a path, or a name looked up in PATH */
	char *const *env;	/* NULL: the parent's; else changes to it, "K=V" sets, "K" unsets */
	int in, out, err;	/* FCM_CHILD_INHERIT (0), _NULL, _PIPE, or an fd > 0 */
	const int *fds;		/* nfds more fds of the parent's, the child's 3, 4, ... */
	int nfds;
	int flags;		/* FCM_CHILD_SETSID | FCM_CHILD_CTTY | FCM_CHILD_SETPGID */
	int pdeathsig;		/* a signal it gets when this process dies (Linux), or 0 */

	/* Filled by fcm_child_start. */
	pid_t pid;
	int fd_in, fd_out, fd_err;	/* the parent's ends of the pipes (close-on-exec), else -1 */
};

/* Start the child c describes.  0 with c->pid and the pipe ends set; or -1
 * with errno when it could not run (ENOENT: no such program in PATH, or the
 * errno of the exec or of setting the child up), and nothing is left behind:
 * no process, no fd.  The caller closes the pipe ends it was given. */
int fcm_child_start(struct fcm_child *c);

/* Wait for the child to end.  Its exit status, 128+signal if a signal ended
 * it, or -1 with errno.  Closes no pipe: close the ends first, or a child
 * still reading its stdin never ends. */
int fcm_child_finish(struct fcm_child *c);

/* A waitpid status as fcm_child_finish says it: exit status, or 128+signal. */
int fcm_wait_code(int wstatus);

/* Run argv with everything inherited and wait: fcm_child_finish's answer,
 * or -1 with errno when it could not start. */
int fcm_run(char *const argv[]);

/* As fcm_run, feeding in[0..inlen) on its stdin (/dev/null when inlen is 0)
 * and collecting at most max bytes of its stdout into *out (malloc'd,
 * NUL-terminated; more is read and dropped).  Its stderr is inherited.
 * Ignores SIGPIPE from then on (a child may exit without reading). */
int fcm_run_capture(char *const argv[], const char *in, size_t inlen,
    char **out, size_t max);

/* Send one request to the helper fcm-<name> and return its reply.  Never
 * fails to return an object: when the helper gives no reply, the reply is
 * {"ok":false,"error":"..."} saying what happened.  req is consumed.
 * The helper runs with FCM_CALLER set, so it does not also print its error
 * on stderr: the caller reports it once. */
jv fcm_call(const char *name, jv req);

#endif

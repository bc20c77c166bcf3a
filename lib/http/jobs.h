/* jobs.h — the API's command queue (doc/fcm-api.md): each request that runs
 * a command has a job.  Jobs start in the order they came, a limited number
 * at once; a job's stdin is fed from memory, its stdout kept up to a limit,
 * the tail of its stderr kept to word its error; one that runs too long is
 * stopped.  A job knows nothing of HTTP: it wakes its owner when there is
 * something to look at.  In lib/http, beside the API's other pieces, so that
 * bin/fcm-api.c is the loop and the endpoints.  The API's poll loop drives
 * it (SIGPIPE ignored):
 *
 *	fcm_jobs_start();		top of every turn
 *	fcm_jobs_poll(add, arg);	the fds to poll, through add()
 *	fcm_job_io(j, fd);		for each fd poll woke
 *	fcm_jobs_check(now);		after poll: reap, time limits */
#ifndef FCM_JOBS_H
#define FCM_JOBS_H

#include <stddef.h>
#include <sys/types.h>

#include <jv.h>

struct fcm_job {
	/* For its owner to read once woken: */
	char *obuf;		/* stdout so far, NUL-terminated, or NULL; the owner may take it */
	size_t olen;		/* a stream's owner takes bytes from the front */
	int truncated;		/* stdout passed the limit: the rest was dropped */
	int status;		/* once done: exit status, 128+signal, or -1 (it did not start) */
	int out;		/* stdout's pipe, -1 once read to its end */
	/* The module's own: */
	void *owner;		/* NULL once dropped */
	char **argv, *in;
	size_t inlen, inoff, ocap, omax;
	int err, infd, stream, exited, term_sent;
	pid_t pid;		/* 0 queued, -1 never to run */
	long started, exited_at;
	char ebuf[4096];	/* the tail of stderr */
	size_t elen;
	struct fcm_job *next;
};

/* At most max_running commands at once, each for at most max_seconds
 * (then SIGTERM, SIGKILL 5 s later), and beside them at most max_streams
 * streams (no time limit): long-lived requests never take the slots short
 * ones need.  wake(owner) is called from the loop's calls when a job is
 * done, or a stream has more. */
void fcm_jobs_init(unsigned max_running, unsigned max_streams, unsigned max_seconds, void (*wake)(void *owner));

/* Queue argv (argv[0] a path; argv and its strings malloc'd, taken) for
 * owner, with in[0..inlen) on its stdin (taken, wiped when freed; NULL:
 * /dev/null), keeping at most out_max bytes of stdout.  A stream wakes its
 * owner each time stdout has more.  NULL (all freed) when the queue is full. */
struct fcm_job *fcm_job_new(void *owner, char **argv, char *in, size_t inlen, size_t out_max, int stream);

/* Has it ended (or failed to start), its output read to the end? */
int fcm_job_done(const struct fcm_job *j);

/* The owner lets go of j: queued, it never starts; running, it gets
 * SIGTERM.  Freed once done, by fcm_jobs_start. */
void fcm_job_drop(struct fcm_job *j);

/* The first JSON object on its stdout, or invalid. */
jv fcm_job_reply(const struct fcm_job *j);

/* Why it failed, for a person (malloc'd): its JSON reply's error, else the
 * last line of its stderr without "prog: fatal: ", else how it ended. */
char *fcm_job_error(struct fcm_job *j);

/* Free the done jobs nobody owns; start queued ones, oldest first, up to
 * the limit (one that cannot start is done, status -1). */
void fcm_jobs_start(void);

/* Each fd the jobs wait on, with its poll events, through add(arg, ...). */
void fcm_jobs_poll(void (*add)(void *arg, int fd, short events, struct fcm_job *j), void *arg);

/* poll woke fd, one of j's: read it, or feed it. */
void fcm_job_io(struct fcm_job *j, int fd);

/* Reap the commands that ended; stop those past their time; end the jobs
 * whose pipes stay open 2 s after it exited (held by its children).
 * now: fcm_now_ms(). */
void fcm_jobs_check(long now);

/* Does a command still run for an owner (streams aside)?  The API lets
 * them finish before it stops. */
int fcm_jobs_busy(void);

#endif

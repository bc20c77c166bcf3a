/* jobs.h — the API's command queue (doc/fcm-api.md): each request that runs
 * a command has a job.  Jobs start in the order they came, a limited number
 * at once; a job's stdin is fed from memory, its stdout collected up to a
 * limit, the tail of its stderr kept to word its error, and one that runs
 * too long is stopped.  A job knows nothing of HTTP: it has an owner, which
 * it wakes when there is something to look at.
 *
 * It is in lib/http, beside the API's routes and WebSocket framing, so that
 * bin/fcm-api.c holds the main loop and the endpoints only.  The API's poll
 * loop drives it, and is its only caller; SIGPIPE must be ignored:
 *
 *	fcm_jobs_start();			top of every turn of the loop
 *	fcm_jobs_poll(add, arg);		the fds to poll, through add()
 *	fcm_job_io(j, fd);			for each that poll woke
 *	fcm_jobs_check(now);			after poll (reaps; on SIGCHLD too)
 */
#ifndef FCM_JOBS_H
#define FCM_JOBS_H

#include <stddef.h>
#include <sys/types.h>

#include <jv.h>

struct fcm_job {
	/* What the command gave, for its owner to read once woken. */
	char *obuf;		/* stdout so far, NUL-terminated (or NULL); the owner may take it */
	size_t olen;		/* its length; a stream's owner takes bytes from the front */
	int truncated;		/* stdout went past the limit: the rest was dropped */
	int status;		/* once done: exit status, 128+signal, or -1 (it did not start) */
	int out;		/* stdout's pipe, -1 once read to its end */

	/* The rest is the module's own. */
	void *owner;		/* NULL once dropped */
	char **argv;
	char *in;
	size_t inlen, inoff, ocap, omax;
	int err, infd, stream, exited, term_sent;
	pid_t pid;		/* 0 queued, -1 never to run */
	long started, exited_at;
	char ebuf[4096];	/* the tail of stderr */
	size_t elen;
	struct fcm_job *next;
};

/* Settings for every job: at most max_running commands at once, each for
 * at most max_seconds seconds (then SIGTERM, SIGKILL 5 s later; streams have
 * no limit); wake(owner) is called from fcm_jobs_start, fcm_job_io and
 * fcm_jobs_check when a job is done, or a stream has output. */
void fcm_jobs_init(unsigned max_running, unsigned max_seconds, void (*wake)(void *owner));

/* Queue argv for owner: argv[0] is a path; argv and its strings are
 * malloc'd and taken.  in[0..inlen) (taken, wiped when freed; NULL for
 * /dev/null) goes to its stdin; at most out_max bytes of its stdout are
 * kept.  A stream (stream != 0) wakes its owner each time stdout has more.
 * NULL (argv and in freed) when too many are queued already. */
struct fcm_job *fcm_job_new(void *owner, char **argv, char *in, size_t inlen, size_t out_max, int stream);

/* Has the job ended (or failed to start) and its output been read to the end? */
int fcm_job_done(const struct fcm_job *j);

/* The owner lets go of j, done or not: if queued, it never starts; if
 * running, it gets SIGTERM.  It is freed once done (by fcm_jobs_start). */
void fcm_job_drop(struct fcm_job *j);

/* The first JSON object on its stdout, or invalid. */
jv fcm_job_reply(const struct fcm_job *j);

/* Why a failed job failed, for a person (malloc'd): the error of its JSON
 * reply, else the last line of its stderr without the "prog: fatal: ",
 * else how it ended. */
char *fcm_job_error(struct fcm_job *j);

/* Free the done jobs nobody owns; start queued ones, oldest first, up to
 * the limit (one that cannot start is done, with status -1). */
void fcm_jobs_start(void);

/* Each fd the jobs wait on, with its poll events, through add(arg, ...). */
void fcm_jobs_poll(void (*add)(void *arg, int fd, short events, struct fcm_job *j), void *arg);

/* poll woke fd, one of j's: read it, or feed it. */
void fcm_job_io(struct fcm_job *j, int fd);

/* Reap the commands that ended; stop those past their time; end the jobs
 * whose pipes stay open 2 s after the command exited (its own children
 * hold them).  now: fcm_now_ms(). */
void fcm_jobs_check(long now);

/* Does a command run for an owner still (streams aside)?  The API drains
 * them before it stops. */
int fcm_jobs_busy(void);

#endif

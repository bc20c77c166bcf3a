/* jobs.c — the API's command queue (jobs.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/run.h"
#include "http/jobs.h"

#define QUEUED_MAX 4096

static struct fcm_job *jobs;
static unsigned running, streaming, queued, running_max = 32, streams_max = 256, timeout_s = 900;
static void (*wake)(void *owner);

void fcm_jobs_init(unsigned max_running, unsigned max_streams, unsigned max_seconds, void (*w)(void *owner))
{
	running_max = max_running;
	streams_max = max_streams;
	timeout_s = max_seconds;
	wake = w;
}

static void job_free(struct fcm_job *j)
{
	int fds[] = { j->out, j->err, j->infd };

	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (char **a = j->argv; *a; a++)
		free(*a);
	free(j->argv);
	free(j->obuf);
	if (j->in)
		explicit_bzero(j->in, j->inlen);
	free(j->in);
	free(j);
}

struct fcm_job *fcm_job_new(void *owner, char **argv, char *in, size_t inlen, size_t out_max, int stream)
{
	struct fcm_job *j = fcm_malloc(sizeof *j), **pp = &jobs;

	*j = (struct fcm_job){ .owner = owner, .argv = argv, .in = in, .inlen = inlen, .omax = out_max,
	    .stream = stream, .out = -1, .err = -1, .infd = -1 };
	if (queued >= QUEUED_MAX) {
		job_free(j);
		return NULL;
	}
	/* Oldest first, so that commands start in the order they came. */
	while (*pp)
		pp = &(*pp)->next;
	*pp = j;
	queued++;
	return j;
}

int fcm_job_done(const struct fcm_job *j)
{
	return j->pid < 0 || (j->exited && j->out < 0 && j->err < 0);
}

/* The command ended and its output is read (or it never ran): wake its
 * owner.  Freed later, by fcm_jobs_start, never while the loop holds it. */
static void finished(struct fcm_job *j)
{
	if (j->pid > 0) {
		if (j->stream)
			streaming--;
		else
			running--;
	}
	if (j->infd >= 0) {
		close(j->infd);
		j->infd = -1;
	}
	if (j->owner)
		wake(j->owner);
}

static void start(struct fcm_job *j)
{
	struct fcm_child c = { .argv = j->argv, .in = j->in ? FCM_CHILD_PIPE : FCM_CHILD_NULL,
	    .out = FCM_CHILD_PIPE, .err = FCM_CHILD_PIPE };

	queued--;
	if (fcm_child_start(&c) < 0) {
		j->pid = -1;
		j->exited = 1;
		j->status = -1;
		snprintf(j->ebuf, sizeof j->ebuf, "unable to run %s: %s", j->argv[0], strerror(errno));
		j->elen = strlen(j->ebuf);
		finished(j);
		return;
	}
	j->pid = c.pid;
	j->out = c.fd_out;
	j->err = c.fd_err;
	j->infd = c.fd_in;
	fcntl(j->out, F_SETFL, O_NONBLOCK);
	fcntl(j->err, F_SETFL, O_NONBLOCK);
	if (j->infd >= 0)
		fcntl(j->infd, F_SETFL, O_NONBLOCK);
	j->started = fcm_now_ms();
	if (j->stream)
		streaming++;
	else
		running++;
}

void fcm_jobs_start(void)
{
	for (struct fcm_job **pp = &jobs, *j; (j = *pp);) {
		if (!j->owner && fcm_job_done(j)) {
			*pp = j->next;
			job_free(j);
			continue;
		}
		/* Streams (logs -f) have slots of their own: however many
		 * follow, short commands still start. */
		if (!j->pid && (j->stream ? streaming < streams_max : running < running_max))
			start(j);
		pp = &j->next;
	}
}

void fcm_job_drop(struct fcm_job *j)
{
	j->owner = NULL;
	if (j->pid == 0) {
		queued--;	/* never started */
		j->pid = -1;
		j->exited = 1;
	} else if (j->pid > 0 && !j->exited) {
		kill(j->pid, SIGTERM);
		j->term_sent = 1;
	}
}

void fcm_jobs_poll(void (*add)(void *arg, int fd, short events, struct fcm_job *j), void *arg)
{
	for (struct fcm_job *j = jobs; j; j = j->next) {
		if (j->out >= 0 && j->olen < j->omax)
			add(arg, j->out, POLLIN, j);
		if (j->err >= 0)
			add(arg, j->err, POLLIN, j);
		if (j->infd >= 0)
			add(arg, j->infd, POLLOUT, j);
	}
}

/* Keep the tail of stderr: the last line says what went wrong. */
static void keep_tail(struct fcm_job *j, const char *p, size_t k)
{
	if (k >= sizeof j->ebuf) {
		memcpy(j->ebuf, p + k - (sizeof j->ebuf - 1), sizeof j->ebuf - 1);
		j->elen = sizeof j->ebuf - 1;
	} else {
		if (j->elen + k >= sizeof j->ebuf) {
			size_t drop = j->elen + k - (sizeof j->ebuf - 1);
			memmove(j->ebuf, j->ebuf + drop, j->elen - drop);
			j->elen -= drop;
		}
		memcpy(j->ebuf + j->elen, p, k);
		j->elen += k;
	}
	j->ebuf[j->elen] = '\0';
}

void fcm_job_io(struct fcm_job *j, int fd)
{
	char tmp[65536];
	int *which = fd == j->out ? &j->out : fd == j->err ? &j->err : &j->infd;
	ssize_t n;

	if (which == &j->infd) {
		n = write(fd, j->in + j->inoff, j->inlen - j->inoff);
		if (n > 0)
			j->inoff += (size_t)n;
		if (j->inoff == j->inlen || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			close(fd);
			j->infd = -1;	/* EPIPE: it did not read it all, and says why */
		}
		return;
	}
	n = read(fd, tmp, sizeof tmp);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(fd);
		*which = -1;
		if (fcm_job_done(j))
			finished(j);
		else if (which == &j->out && j->stream && j->owner)
			wake(j->owner);
		return;
	}
	if (which == &j->err) {
		keep_tail(j, tmp, (size_t)n);
		return;
	}
	size_t k = (size_t)n;
	if (k > j->omax - j->olen) {
		k = j->omax - j->olen;
		j->truncated = 1;
	}
	if (j->olen + k + 1 > j->ocap) {
		size_t cap = j->ocap ? j->ocap : 8192;
		while (cap < j->olen + k + 1)
			cap *= 2;
		char *nb = realloc(j->obuf, cap);
		if (!nb)
			fcm_die_nomem();
		j->obuf = nb;
		j->ocap = cap;
	}
	memcpy(j->obuf + j->olen, tmp, k);
	j->olen += k;
	j->obuf[j->olen] = '\0';
	if (j->stream && j->owner)
		wake(j->owner);
}

void fcm_jobs_check(long now)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (struct fcm_job *j = jobs; j; j = j->next)
			if (j->pid == pid && !j->exited) {
				j->exited = 1;
				j->exited_at = now;
				j->status = fcm_wait_code(st);
				if (fcm_job_done(j))
					finished(j);
				break;
			}
	for (struct fcm_job *j = jobs; j; j = j->next) {
		if (j->pid > 0 && !j->exited && !j->stream && now - j->started > (long)timeout_s * 1000) {
			if (!j->term_sent) {
				fcm_warn("%s took more than %us: stopping it", j->argv[0], timeout_s);
				kill(j->pid, SIGTERM);
				j->term_sent = 1;
				j->started = now - (long)timeout_s * 1000 + 5000;
			} else {
				kill(j->pid, SIGKILL);
			}
		}
		if (j->exited && !fcm_job_done(j) && now - j->exited_at > 2000) {
			if (j->out >= 0)
				close(j->out);
			if (j->err >= 0)
				close(j->err);
			j->out = j->err = -1;
			finished(j);
		}
	}
}

int fcm_jobs_busy(void)
{
	for (struct fcm_job *j = jobs; j; j = j->next)
		if (j->owner && j->pid > 0 && !j->exited && !j->stream)
			return 1;
	return 0;
}

jv fcm_job_reply(const struct fcm_job *j)
{
	jv v;

	if (!j->obuf)
		return jv_invalid();
	char *nl = strchr(j->obuf, '\n');
	v = jv_parse_sized(j->obuf, (int)(nl ? (size_t)(nl - j->obuf) : j->olen));
	if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return jv_invalid();
	}
	return v;
}

char *fcm_job_error(struct fcm_job *j)
{
	jv v = fcm_job_reply(j);
	const char *e = jv_is_valid(v) ? fcm_get_str(v, "error") : NULL;
	const char *slash = strrchr(j->argv[0], '/'), *prog = slash ? slash + 1 : j->argv[0];

	if (e) {
		char *s = fcm_strdup(e);
		jv_free(v);
		return s;
	}
	jv_free(v);
	while (j->elen && (j->ebuf[j->elen - 1] == '\n' || j->ebuf[j->elen - 1] == '\r'))
		j->ebuf[--j->elen] = '\0';
	if (j->elen) {
		char *line = strrchr(j->ebuf, '\n');
		line = line ? line + 1 : j->ebuf;
		char *f = strstr(line, ": fatal: ");
		if (f)
			line = f + 9;
		else if ((f = strstr(line, ": error: ")))
			line = f + 9;
		if (*line)
			return fcm_strdup(line);
	}
	if (j->status >= 128)
		return fcm_asprintf("%s was killed by signal %d", prog, j->status - 128);
	return fcm_asprintf("%s failed (exit status %d) without saying why", prog, j->status);
}

/* run.c — the run-command module (run.h): fork + exec, as git's
 * run-command.c; calling fcm helpers with one JSON line. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/err.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "core/run.h"

extern char **environ;

/* The program argv[0] names: itself if it has a '/', else the first
 * executable file of that name in PATH (malloc'd); NULL with ENOENT.  Found
 * here, before fork, so that the child needs only execve. */
static char *locate(const char *name)
{
	const char *p = getenv("PATH");
	struct stat st;

	if (strchr(name, '/'))
		return fcm_strdup(name);
	for (p = p ? p : "/usr/local/bin:/usr/bin:/bin"; *name; p++) {
		size_t n = strcspn(p, ":");
		char *path = fcm_asprintf("%.*s%s%s", (int)n, p, n ? "/" : "", name);
		if (access(path, X_OK) == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			return path;
		free(path);
		p += n;
		if (!*p)
			break;
	}
	errno = ENOENT;
	return NULL;
}

/* environ with changes ("K=V" sets, "K" unsets); the strings are borrowed. */
static char **make_env(char *const *changes)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	for (char *const *c = changes; *c; c++)
		n++;
	env = fcm_malloc((n + 1) * sizeof *env);
	for (char **e = environ; *e; e++) {
		size_t klen = strcspn(*e, "=");
		char *const *c = changes;
		while (*c && (strcspn(*c, "=") != klen || strncmp(*c, *e, klen)))
			c++;
		if (!*c)
			env[k++] = *e;
	}
	for (char *const *c = changes; *c; c++)
		if (strchr(*c, '='))
			env[k++] = *c;
	env[k] = NULL;
	return env;
}

/* In the child, after fork: only async-signal-safe calls.  from[i] is the
 * fd to become fd i (-1: leave it), for i < top.  On any failure the errno
 * goes to the parent over ep. */
static _Noreturn void child(const struct fcm_child *c, const char *path, char *const *envp,
    int *from, int top, int ep, pid_t parent)
{
	struct sigaction dfl;
	sigset_t none;
	int e;

	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL);	/* SIGKILL, SIGSTOP: EINVAL, harmless */
	if (c->pdeathsig && (prctl(PR_SET_PDEATHSIG, c->pdeathsig) < 0 || getppid() != parent))
		goto fail;
	if (c->flags & (FCM_CHILD_SETSID | FCM_CHILD_CTTY) ? setsid() < 0 :
	    c->flags & FCM_CHILD_SETPGID ? setpgid(0, 0) < 0 : 0)
		goto fail;
	/* Out of the way of 0..top-1 first, so that no dup2 clobbers a source. */
	for (int i = 0; i < top; i++)
		if (from[i] >= 0 && from[i] < top && (from[i] = fcntl(from[i], F_DUPFD_CLOEXEC, top)) < 0)
			goto fail;
	for (int i = 0; i < top; i++)
		if (from[i] >= 0 && dup2(from[i], i) < 0)
			goto fail;
	if ((c->flags & FCM_CHILD_CTTY) && ioctl(0, TIOCSCTTY, 0) < 0)
		goto fail;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, c->argv, envp);
fail:
	e = errno;
	if (write(ep, &e, sizeof e) < 0) {
		/* the parent is gone: nobody to tell */
	}
	_exit(127);
}

int fcm_child_start(struct fcm_child *c)
{
	int std[3] = { c->in, c->out, c->err }, *ends[3] = { &c->fd_in, &c->fd_out, &c->fd_err };
	int p[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } }, ep[2] = { -1, -1 }, nul = -1, e = 0;
	int top = 3 + c->nfds, *from;
	char *path = locate(c->argv[0]), **envp = environ;
	pid_t parent = getpid();
	sigset_t all, old;
	ssize_t n;

	c->pid = -1;
	c->fd_in = c->fd_out = c->fd_err = -1;
	if (!path)
		return -1;
	from = fcm_malloc((size_t)top * sizeof *from);
	for (int i = 0; i < 3; i++) {
		if (std[i] == FCM_CHILD_PIPE && pipe2(p[i], O_CLOEXEC) < 0)
			goto fail;
		if (std[i] == FCM_CHILD_NULL && nul < 0 && (nul = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
			goto fail;
		if (std[i] < 0 && std[i] != FCM_CHILD_PIPE && std[i] != FCM_CHILD_NULL) {
			errno = EBADF;
			goto fail;
		}
		from[i] = std[i] == FCM_CHILD_PIPE ? p[i][i ? 1 : 0] : std[i] == FCM_CHILD_NULL ? nul :
		    std[i] ? std[i] : -1;
	}
	for (int i = 0; i < c->nfds; i++)
		from[3 + i] = c->fds[i];
	if (pipe2(ep, O_CLOEXEC) < 0)
		goto fail;
	if (c->env)
		envp = make_env(c->env);
	/* No handler of ours may run in the child: block all until it has
	 * set every signal to its default. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	c->pid = fork();
	if (c->pid == 0)
		child(c, path, envp, from, top, ep[1], parent);
	e = c->pid < 0 ? errno : 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(ep[1]);
	ep[1] = -1;
	if (c->pid > 0) {
		do
			n = read(ep[0], &e, sizeof e);
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof e)
			e = 0;	/* closed by the exec: it runs */
		else
			while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
				;
	}
	if (envp != environ)
		free(envp);
	for (int i = 0; i < 3 && !e; i++)
		if (p[i][0] >= 0) {
			*ends[i] = p[i][i ? 0 : 1];
			p[i][i ? 0 : 1] = -1;
		}
	if (e)
		c->pid = -1;
	goto out;
fail:
	e = errno;
out:
	for (int i = 0; i < 6; i++)
		if (p[i / 2][i % 2] >= 0)
			close(p[i / 2][i % 2]);
	if (nul >= 0)
		close(nul);
	if (ep[0] >= 0)
		close(ep[0]);
	free(from);
	free(path);
	errno = e;
	return e ? -1 : 0;
}

int fcm_wait_code(int wstatus)
{
	return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

int fcm_child_finish(struct fcm_child *c)
{
	int st;

	while (waitpid(c->pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return fcm_wait_code(st);
}

int fcm_run(char *const argv[])
{
	struct fcm_child c = { .argv = argv };

	return fcm_child_start(&c) < 0 ? -1 : fcm_child_finish(&c);
}

/* Start c with in on its stdin and its stdout into *out (fcm_run_capture). */
static int capture(struct fcm_child *c, const char *in, size_t inlen, char **out, size_t max, int merge)
{
	size_t len = 0, off = 0;
	char *buf;
	int p2[2];

	c->in = in && inlen ? FCM_CHILD_PIPE : FCM_CHILD_NULL;
	c->out = FCM_CHILD_PIPE;
	if (merge) {	/* stdout and stderr into one pipe */
		if (pipe2(p2, O_CLOEXEC) < 0)
			return -1;
		c->out = c->err = p2[1];
	}
	if (fcm_child_start(c) < 0) {
		if (merge) {
			int e = errno;
			close(p2[0]);
			close(p2[1]);
			errno = e;
		}
		return -1;
	}
	if (merge) {
		close(p2[1]);
		c->fd_out = p2[0];
	}
	buf = fcm_malloc(max + 1);
	/* Feed stdin and drain stdout together so neither side can block. */
	signal(SIGPIPE, SIG_IGN);
	while (c->fd_out >= 0) {
		struct pollfd p[2] = { { c->fd_out, POLLIN, 0 }, { c->fd_in, POLLOUT, 0 } };
		int np = c->fd_in >= 0 ? 2 : 1;
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (np == 2 && p[1].revents) {
			ssize_t w = write(c->fd_in, in + off, inlen - off);
			if (w > 0)
				off += (size_t)w;
			if (w < 0 || off == inlen) {
				close(c->fd_in);
				c->fd_in = -1;
			}
		}
		if (p[0].revents) {
			char tmp[4096];
			ssize_t r = read(c->fd_out, tmp, sizeof tmp);
			if (r <= 0)
				break;
			size_t take = (size_t)r;
			if (take > max - len)
				take = max - len;
			memcpy(buf + len, tmp, take);
			len += take;
		}
	}
	if (c->fd_in >= 0)
		close(c->fd_in);
	if (c->fd_out >= 0)
		close(c->fd_out);
	buf[len] = '\0';
	*out = buf;
	return fcm_child_finish(c);
}

int fcm_run_capture(char *const argv[], const char *in, size_t inlen,
    char **out, size_t max)
{
	struct fcm_child c = { .argv = argv };

	return capture(&c, in, inlen, out, max, 0);
}

int fcm_run_capture_all(char *const argv[], const char *in, size_t inlen,
    char **out, size_t max)
{
	struct fcm_child c = { .argv = argv };

	return capture(&c, in, inlen, out, max, 1);
}

static jv call_helper(const char *name, jv req);

static struct {
	const char *name;
	const struct fcm_op *ops;
	void (*done)(void);
} here[8];

void fcm_call_here(const char *name, const struct fcm_op *ops, void (*done)(void))
{
	for (size_t i = 0; i < sizeof here / sizeof here[0]; i++)
		if (!here[i].name || !strcmp(here[i].name, name)) {
			here[i].name = name;
			here[i].ops = ops;
			here[i].done = done;
			return;
		}
}

/* The operation of helper name that req asks for, when it runs here (and
 * the helper's done in *done). */
static const struct fcm_op *op_here(const char *name, jv req, void (**done)(void))
{
	const char *op = fcm_get_str(req, "op");

	for (size_t i = 0; op && i < sizeof here / sizeof here[0] && here[i].name; i++)
		if (!strcmp(here[i].name, name))
			for (const struct fcm_op *o = here[i].ops; o->name; o++)
				if (!strcmp(o->name, op)) {
					*done = here[i].done;
					return o;
				}
	return NULL;
}

/* A reply as fcm_call gives it: an object, with an error when it failed. */
static jv reply_checked(const char *name, jv reply, int st)
{
	if (!jv_is_valid(reply) || jv_get_kind(reply) != JV_KIND_OBJECT) {
		jv_free(reply);
		reply = fcm_fail(FCM_E_INTERNAL, "fcm-%s gave no reply (exit status %d)", name, st);
	} else if (!fcm_reply_ok(reply) && !fcm_get_str(reply, "error")) {
		jv_free(reply);
		reply = fcm_fail(FCM_E_INTERNAL, "fcm-%s failed without saying why (exit status %d)", name, st);
	}
	return reply;
}

jv fcm_call(const char *name, jv req)
{
	void (*done)(void) = NULL;
	const struct fcm_op *o = op_here(name, req, &done);

	if (o) {
		jv reply = o->fn(req);
		jv_free(req);
		if (done)
			done();
		return reply_checked(name, reply, 0);
	}
	return call_helper(name, req);
}

static jv call_helper(const char *name, jv req)
{
	char *path = fcm_helper(name);
	char *argv[] = { path, NULL };
	char *caller = fcm_asprintf("FCM_CALLER=%s", fcm_prog), *env[] = { caller, NULL };
	struct fcm_child c = { .argv = argv, .env = env };
	jv line = jv_dump_string(req, 0);
	char *in = fcm_asprintf("%s\n", jv_string_value(line));
	char *out = NULL;
	int st, e;
	jv reply;

	jv_free(line);
	st = capture(&c, in, strlen(in), &out, FCM_LINE_MAX, 0);
	e = errno;
	free(caller);
	free(in);
	if (st < 0) {
		reply = fcm_fail(FCM_E_INTERNAL, "unable to run %s: %s", path, strerror(e));
		free(out);
		free(path);
		return reply;
	}
	reply = reply_checked(name, jv_parse(out), st);
	free(out);
	free(path);
	return reply;
}

/* run.c — posix_spawn with pipes; calling fcm helpers with one JSON line. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/err.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "core/run.h"

extern char **environ;

static int wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

int fcm_run(char *const argv[])
{
	pid_t pid;
	int e = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);

	if (e) {
		errno = e;
		return -1;
	}
	return wait_status(pid);
}

int fcm_run_capture(char *const argv[], const char *in, size_t inlen,
    char **out, size_t max)
{
	posix_spawn_file_actions_t fa;
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 };
	size_t len = 0, off = 0;
	char *buf = fcm_malloc(max + 1);
	pid_t pid;
	int e;

	if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0) {
		e = errno;
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pin[0]);
	close(pout[1]);
	pin[0] = pout[1] = -1;
	if (e)
		goto fail;

	/* Feed stdin and drain stdout together so neither side can block. */
	signal(SIGPIPE, SIG_IGN);
	if (!in || inlen == 0) {
		close(pin[1]);
		pin[1] = -1;
	}
	while (pout[0] >= 0) {
		struct pollfd p[2] = { { pout[0], POLLIN, 0 }, { pin[1], POLLOUT, 0 } };
		int np = pin[1] >= 0 ? 2 : 1;
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (np == 2 && p[1].revents) {
			ssize_t w = write(pin[1], in + off, inlen - off);
			if (w > 0)
				off += (size_t)w;
			if (w < 0 || off == inlen) {
				close(pin[1]);
				pin[1] = -1;
			}
		}
		if (p[0].revents) {
			char tmp[4096];
			ssize_t r = read(pout[0], tmp, sizeof tmp);
			if (r <= 0) {
				close(pout[0]);
				pout[0] = -1;
				break;
			}
			size_t take = (size_t)r;
			if (take > max - len)
				take = max - len;
			memcpy(buf + len, tmp, take);
			len += take;
		}
	}
	if (pin[1] >= 0)
		close(pin[1]);
	if (pout[0] >= 0)
		close(pout[0]);
	buf[len] = '\0';
	*out = buf;
	return wait_status(pid);
fail:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
	}
	free(buf);
	errno = e;
	return -1;
}

jv fcm_call(const char *name, jv req)
{
	char *path = fcm_helper(name);
	char *argv[] = { path, NULL };
	jv line = jv_dump_string(req, 0);
	char *in = fcm_asprintf("%s\n", jv_string_value(line));
	char *out = NULL;
	int st;
	jv reply;

	const char *was = getenv("FCM_CALLER");
	char *saved = was ? fcm_strdup(was) : NULL;

	jv_free(line);
	setenv("FCM_CALLER", fcm_prog, 1);
	st = fcm_run_capture(argv, in, strlen(in), &out, FCM_LINE_MAX);
	if (saved)
		setenv("FCM_CALLER", saved, 1);
	else
		unsetenv("FCM_CALLER");
	free(saved);
	free(in);
	if (st < 0) {
		reply = fcm_fail(FCM_E_INTERNAL, "unable to run %s: %s", path, strerror(errno));
		free(path);
		return reply;
	}
	reply = jv_parse(out);
	if (!jv_is_valid(reply) || jv_get_kind(reply) != JV_KIND_OBJECT) {
		jv_free(reply);
		reply = fcm_fail(FCM_E_INTERNAL, "fcm-%s gave no reply (exit status %d)", name, st);
	} else if (!fcm_reply_ok(reply) && !fcm_get_str(reply, "error")) {
		jv_free(reply);
		reply = fcm_fail(FCM_E_INTERNAL, "fcm-%s failed without saying why (exit status %d)", name, st);
	}
	free(out);
	free(path);
	return reply;
}

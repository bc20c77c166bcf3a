/* ttysock.c — an fcm-tty session's unix socket. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "tty/ttysock.h"

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (!*path || strlen(path) >= sizeof sa->sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

int fcm_tty_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, e;

	if (fill_addr(&sa, path) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	while (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (errno == EINTR)
			continue;
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int fcm_tty_probe(const char *path, pid_t *pid)
{
	struct ucred cr;
	socklen_t crlen = sizeof cr;
	int fd = fcm_tty_connect(path);

	if (fd < 0) {
		if (errno == ECONNREFUSED)
			return 0;
		return -1;
	}
	if (pid) {
		*pid = 0;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == 0)
			*pid = cr.pid;
	}
	close(fd);
	return 1;
}

const char *fcm_tty_connect_error(const char *path, int err, char *buf, size_t len)
{
	switch (err) {
	case ENOENT:
		snprintf(buf, len, "no session at %s", path);
		break;
	case ECONNREFUSED:
		snprintf(buf, len, "the session at %s is dead (nothing serves its socket)", path);
		break;
	case ENOTSOCK:
		snprintf(buf, len, "%s is not a session socket", path);
		break;
	case ENAMETOOLONG:
		snprintf(buf, len, "socket path %.80s%s is too long (at most %zu bytes)", path,
		    strlen(path) > 80 ? "..." : "", sizeof ((struct sockaddr_un *)0)->sun_path - 1);
		break;
	default:
		snprintf(buf, len, "unable to connect to %s: %s", path, strerror(err));
	}
	return buf;
}

int fcm_tty_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	char *copy, *dir;
	int dfd, fd = -1, r;
	mode_t um;

	if (fill_addr(&sa, path) < 0) {
		fcm_tty_connect_error(path, ENAMETOOLONG, err, errlen);
		return -1;
	}
	copy = strdup(path);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	dir = dirname(copy);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(err, errlen, "unable to open directory %s: %s", dir, strerror(errno));
		free(copy);
		return -1;
	}
	if (flock(dfd, LOCK_EX) < 0) {
		snprintf(err, errlen, "unable to lock directory %s: %s", dir, strerror(errno));
		goto out;
	}
	r = fcm_tty_probe(path, NULL);
	if (r == 1) {
		snprintf(err, errlen, "a live session already serves %s", path);
		errno = EADDRINUSE;
		goto out;
	}
	if (r == 0 || (r < 0 && errno != ENOENT)) {
		struct stat st;
		if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket: refusing to replace it", path);
			errno = EEXIST;
			goto out;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			snprintf(err, errlen, "unable to remove the stale socket %s: %s", path, strerror(errno));
			goto out;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "unable to make a socket: %s", strerror(errno));
		goto out;
	}
	um = umask(077);
	r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(um);
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
		snprintf(err, errlen, "unable to listen on %s: %s", path, strerror(errno));
		if (r == 0)
			unlink(path);
		close(fd);
		fd = -1;
	}
out:
	close(dfd);	/* drops the lock */
	free(copy);
	return fd;
}

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int wait_gone(pid_t pid, long timeout_ms)
{
	for (long end = ms_now() + timeout_ms;;) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return 0;
		if (ms_now() >= end)
			return -1;
		usleep(20000);
	}
}

int fcm_tty_kill(const char *path, int sig, long timeout_ms)
{
	struct stat st;
	pid_t pid = 0;
	int r = fcm_tty_probe(path, &pid);

	if (r < 0)
		return errno == ENOENT ? 0 : -1;
	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		errno = ENOTSOCK;
		return -1;
	}
	if (r == 1 && pid > 0 && pid != getpid()) {
		if (kill(pid, sig) < 0 && errno != ESRCH)
			return -1;
		if (wait_gone(pid, timeout_ms) < 0) {
			kill(pid, SIGKILL);
			wait_gone(pid, 1000);
		}
	}
	/* A stale socket, or one its server could not remove. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && fcm_tty_probe(path, NULL) == 0)
		unlink(path);
	return 0;
}

/* sysprog.c — a system program run for its effect, its complaint kept. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/run.h"
#include "core/sysprog.h"

#define SAID_MAX 1024

/* The last line of s that says something, or NULL. */
static const char *last_line(char *s)
{
	size_t n = s ? strlen(s) : 0;

	while (n && strchr("\n\r ", s[n - 1]))
		s[--n] = '\0';
	if (!n)
		return NULL;
	char *l = strrchr(s, '\n');
	return l ? l + 1 : s;
}

int fcm_sysprog(char *argv[], char *why, size_t whylen)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
	char path[256], said[SAID_MAX] = "", *out = NULL, *name = argv[0];
	int st = -1, e, save, fd;
	const char *line;

	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0] && argv[0] == name; i++)
		if (snprintf(path, sizeof path, "%s/%s", dirs[i], name) < (int)sizeof path &&
		    access(path, X_OK) == 0)
			argv[0] = path;
	/* core/run leaves stderr as it is, and the reason is said there: our
	 * stderr goes to a scratch file for the call (we are single-threaded). */
	fd = memfd_create("fcm-sysprog-stderr", MFD_CLOEXEC);
	save = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (fd >= 0 && save >= 0 && dup2(fd, 2) == 2) {
		st = fcm_run_capture(argv, NULL, 0, &out, SAID_MAX - 1);
		e = errno;
		dup2(save, 2);
	} else
		e = errno;
	argv[0] = name;
	if (save >= 0)
		close(save);
	if (st == 0)
		goto out;
	if (fd >= 0) {
		off_t end = lseek(fd, 0, SEEK_END);
		ssize_t n = pread(fd, said, sizeof said - 1, end > SAID_MAX - 1 ? end - (SAID_MAX - 1) : 0);
		said[n > 0 ? n : 0] = '\0';
	}
	if (st < 0)
		snprintf(why, whylen, "%s", strerror(e));
	else if ((line = last_line(said)) || (line = last_line(out)))
		snprintf(why, whylen, "%s", line);
	else if (st > 128)
		snprintf(why, whylen, "killed by signal %d", st - 128);
	else
		snprintf(why, whylen, "exit status %d", st);
out:
	if (fd >= 0)
		close(fd);
	free(out);
	return st == 0 ? 0 : -1;
}

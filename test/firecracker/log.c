/* log.c — Firecracker's human-readable log lines:
 *   2024-05-01T10:00:00.123456789 [anonymous-instance:fc_api:INFO] message
 * to stdout until a log path is configured (as Firecracker), then to that file. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fc.h"

static struct {
	char id[65];
	int fd;
	int level;
	int show_level;
	int show_origin;
} L = {"anonymous-instance", 1, LVL_INFO, 0, 0};

void fc_log_init(const char *id)
{
	snprintf(L.id, sizeof L.id, "%s", id);
}

int fc_log_configure(const char *path, int level, int show_level, int show_origin, char *err,
                     size_t errlen)
{
	if (path) {
		/* Firecracker opens an existing file or FIFO; it does not create it. */
		int fd = open(path, O_RDWR | O_APPEND | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			snprintf(err, errlen, "%s (os error %d)", strerror(errno), errno);
			return -1;
		}
		if (L.fd > 2)
			close(L.fd);
		L.fd = fd;
	}
	if (level >= 0)
		L.level = level;
	if (show_level >= 0)
		L.show_level = show_level;
	if (show_origin >= 0)
		L.show_origin = show_origin;
	return 0;
}

static const char *const names[] = {"OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"};

void fc_log(int level, const char *thread, const char *fmt, ...)
{
	if (level > L.level || level == LVL_OFF)
		return;
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	char line[8192];
	int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld [%s:%s", tm.tm_year + 1900,
	                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec, L.id,
	                 thread);
	if (L.show_level)
		n += snprintf(line + n, sizeof line - (size_t)n, ":%s", names[level]);
	if (L.show_origin)
		n += snprintf(line + n, sizeof line - (size_t)n, ":test/firecracker/fc.c:0");
	n += snprintf(line + n, sizeof line - (size_t)n, "] ");
	va_list ap;
	va_start(ap, fmt);
	if (n < (int)sizeof line)
		n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	ssize_t w = write(L.fd, line, (size_t)n);
	(void)w;  /* Firecracker counts missed log lines; it never fails on them */
}

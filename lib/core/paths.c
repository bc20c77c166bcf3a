/* paths.c — the state root, helper lookup, mkdir -p. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/paths.h"

#ifndef FCM_LIBEXECDIR
#define FCM_LIBEXECDIR "/usr/local/lib/fcm"
#endif

int fcm_path_sane(const char *p)
{
	size_t n = strlen(p);

	if (p[0] != '/' || n > 512 || strstr(p, "/../") || strstr(p, "/./") ||
	    (n >= 3 && !strcmp(p + n - 3, "/..")))
		return 0;
	for (; *p; p++)
		if (!(*p == '/' || *p == '-' || *p == '_' || *p == '.' || *p == '+' ||
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return 0;
	return 1;
}

const char *fcm_root(void)
{
	static char *root;
	const char *r;
	size_t n;

	if (root)
		return root;
	r = getenv("FCM_ROOT");
	if (!r || !*r)
		r = FCM_ROOT_DEFAULT;
	if (!fcm_path_sane(r))
		fcm_die(FCM_E_USAGE, "FCM_ROOT must be an absolute path of letters, digits and -_.+/ (got '%.80s')", r);
	root = fcm_strdup(r);
	n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		root[--n] = '\0';
	return root;
}

char *fcm_path(const char *fmt, ...)
{
	char *rel, *full;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&rel, fmt, ap) < 0)
		fcm_die_nomem();
	va_end(ap);
	full = fcm_asprintf("%s/%s", fcm_root(), rel);
	free(rel);
	return full;
}

int fcm_mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Most often the parent is there: one mkdir, not one a component. */
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -1;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

const char *fcm_exec_dir(void)
{
	static char *dir;
	char self[PATH_MAX];
	const char *e = getenv("FCM_EXEC_PATH");
	ssize_t n;

	if (dir)
		return dir;
	if (e && *e) {
		dir = fcm_strdup(e);
		return dir;
	}
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		char *slash, *probe;
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			probe = fcm_asprintf("%s/fcm-name", self);
			if (access(probe, X_OK) == 0)
				dir = fcm_strdup(self);
			free(probe);
		}
	}
	if (!dir)
		dir = fcm_strdup(FCM_LIBEXECDIR);
	return dir;
}

char *fcm_helper(const char *name)
{
	return fcm_asprintf("%s/fcm-%s", fcm_exec_dir(), name);
}

char *fcm_saved_host(void)
{
	const char *home = getenv("HOME");
	char *path, *text;
	size_t n;

	if (!home || !*home)
		return NULL;
	path = fcm_asprintf("%s/.fcm-host", home);
	text = fcm_read_file(path, 512, &n);
	free(path);
	if (!text)
		return NULL;
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		text[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (text[i] <= ' ' || text[i] > '~')
			n = 0;
	if (!n) {
		free(text);
		return NULL;
	}
	return text;
}

/* app.c — the host's side of an app's processes (app.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "vm/app.h"
#include "vm/appenv.h"
#include "vm/guestrun.h"

int fcm_app_type_check(const char *t, char *why, size_t whylen)
{
	size_t n = strlen(t);

	if (n && n <= 32 && strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n)
		return 0;
	snprintf(why, whylen, "'%.64s' is not a process type: use a-z, 0-9, _ and -, as in the Procfile", t);
	return -1;
}

int fcm_app_unhealthy(int status)
{
	return status == 3 || status == 4;
}

long fcm_app_timeout(char *why, size_t whylen)
{
	const char *t = getenv("FCM_DEPLOY_TIMEOUT");
	char *end;
	long v;

	if (!t || !*t)
		return 60;
	errno = 0;
	v = strtol(t, &end, 10);
	if (*end || errno || v < 1 || v > 3600) {
		snprintf(why, whylen, "FCM_DEPLOY_TIMEOUT must be a whole number of seconds from 1 to 3600, not '%.32s'", t);
		return -1;
	}
	return v;
}

/* Run the guest's `app` with these words (fixed text), in on its stdin:
 * 0; 1 for its status 3 or 4 (the new web never became healthy: the old
 * one serves on, with the old config); -1; why set. */
static int app_call(jv rec, const char *words, const char *in, size_t inlen, char *why, size_t whylen)
{
	char *cmd = fcm_asprintf(FCM_GUEST_APP " %s", words), *out = NULL;
	int st = fcm_guest_call(rec, cmd, in, inlen, &out, 64 << 10);

	free(cmd);
	if (st != 0)
		snprintf(why, whylen, "%s", st < 0 ? strerror(errno) : fcm_guest_reason(out));
	free(out);
	return st == 0 ? 0 : fcm_app_unhealthy(st) ? 1 : -1;
}

int fcm_app_restart(jv rec, const char *type, char *why, size_t whylen)
{
	long wait = fcm_app_timeout(why, whylen);
	char *words;
	int r;

	if (wait < 0)
		return -1;
	words = fcm_asprintf("restart --wait %ld%s%s", wait, type ? " " : "", type ? type : "");
	r = app_call(rec, words, NULL, 0, why, whylen);
	free(words);
	return r;
}

int fcm_app_push_env(jv rec, int restart, char *why, size_t whylen)
{
	const char *id = fcm_get_str(rec, "id");
	jv env = fcm_env_load(id);
	long wait = fcm_app_timeout(why, whylen);
	size_t len;
	char *data, *words;
	int r;

	if (wait < 0) {
		jv_free(env);
		return -1;
	}

	if (!jv_is_valid(env)) {
		jv_free(env);
		snprintf(why, whylen, "unable to read its config vars on the host");
		return -1;
	}
	data = fcm_env_records(env, &len);
	jv_free(env);
	words = restart ? fcm_asprintf("env --restart --wait %ld", wait) : fcm_strdup("env");
	r = app_call(rec, words, data, len, why, whylen);
	free(words);
	explicit_bzero(data, len);
	free(data);
	if (r == 0)
		fcm_app_env_pending(id, 0);
	return r;
}

int fcm_app_env_pending(const char *id, int on)
{
	char *p = fcm_path("vms/%s/env.pending", id);
	int r = 0;

	if (on) {
		int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			r = -1;
		else
			close(fd);
	} else if (unlink(p) < 0 && errno != ENOENT) {
		r = -1;
	}
	free(p);
	return r;
}

int fcm_app_env_is_pending(const char *id)
{
	char *p = fcm_path("vms/%s/env.pending", id);
	int r = access(p, F_OK) == 0;

	free(p);
	return r;
}

void fcm_app_stamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char day[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09ldZ", day, ts.tv_nsec);
}

void fcm_app_event(const char *id, const char *fmt, ...)
{
	char *p = fcm_path("vms/%s/deploy.log", id), stamp[48], text[1024];
	va_list ap;
	int fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

	free(p);
	if (fd < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	fcm_app_stamp(stamp, sizeof stamp);
	dprintf(fd, "%s -----> %s\n", stamp, text);
	close(fd);
}

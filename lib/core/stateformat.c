/* stateformat.c — state formats and the migrations between them
 * (stateformat.h, doc/state.md). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "core/stateformat.h"

jv fcm_state_stamp(jv obj)
{
	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return obj;
	return jv_object_set(obj, jv_string("format"), jv_number(FCM_STATE_FORMAT));
}

static int newer(int f, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s is state format %d, newer than this fcm's (%d): upgrade fcm (version %s)",
	    what, f, FCM_STATE_FORMAT, FCM_VERSION);
	return -1;
}

int fcm_state_check(jv obj, const char *what, char *err, size_t errlen)
{
	jv f;
	double d;

	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return 1;
	f = jv_object_get(jv_copy(obj), jv_string("format"));
	if (jv_get_kind(f) == JV_KIND_INVALID || jv_get_kind(f) == JV_KIND_NULL) {
		jv_free(f);
		return 1;
	}
	d = jv_get_kind(f) == JV_KIND_NUMBER ? jv_number_value(f) : -1;
	jv_free(f);
	if (d < 1 || d > 1e6 || d != (int)d) {
		snprintf(err, errlen, "%s has a bad state format (a whole number from 1 is needed)", what);
		return -1;
	}
	if ((int)d > FCM_STATE_FORMAT)
		return newer((int)d, what, err, errlen);
	return (int)d;
}

int fcm_state_root_format(char *err, size_t errlen)
{
	char *p = fcm_path("format"), *text, *end;
	long f;

	text = fcm_read_file(p, 64, NULL);
	if (!text) {
		int e = errno;
		free(p);
		if (e != ENOENT) {
			snprintf(err, errlen, "unable to read %s/format: %s", fcm_root(), strerror(e));
			return -1;
		}
		char *vms = fcm_path("vms"), *images = fcm_path("images");
		int old = access(vms, F_OK) == 0 || access(images, F_OK) == 0;
		free(vms);
		free(images);
		return old ? 1 : FCM_STATE_FORMAT;
	}
	errno = 0;
	f = strtol(text, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (errno || end == text || *end || f < 1 || f > 1000000) {
		free(text);
		free(p);
		snprintf(err, errlen, "%s/format is not a state format (a whole number from 1)", fcm_root());
		return -1;
	}
	free(text);
	if (f > FCM_STATE_FORMAT) {
		newer((int)f, p, err, errlen);
		free(p);
		return -1;
	}
	free(p);
	return (int)f;
}

/* --- the JSON state objects and the steps between formats --------------- */

/* The JSON state objects of the root, as paths relative to it: each VM's
 * record and each image's manifest.  (Firecracker's own configuration,
 * vms/<id>/firecracker.json, is Firecracker's format, not ours.) */
static const struct {
	const char *dir, *file;
} objects[] = {
	{ "vms", "config.json" },
	{ "images", "manifest.json" },
};
#define NOBJECTS (sizeof objects / sizeof objects[0])

/* One step: an object of format `from` (in place, consumed) → from + 1.
 * Format 2 only adds "format" (fcm_state_stamp, when it is written). */
static jv step_1_2(jv obj)
{
	return obj;
}
static jv (*const steps[FCM_STATE_FORMAT])(jv) = { NULL, step_1_2 };

/* Call fn on each object file of the root; stops at the first non-zero. */
static int each_object(int (*fn)(const char *path, void *ctx), void *ctx)
{
	for (size_t i = 0; i < NOBJECTS; i++) {
		char *dir = fcm_path("%s", objects[i].dir);
		DIR *d = opendir(dir);
		struct dirent *e;
		int r = 0;

		free(dir);
		if (!d)
			continue;
		while (!r && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char *p = fcm_path("%s/%s/%s", objects[i].dir, e->d_name, objects[i].file);
			if (access(p, F_OK) == 0)
				r = fn(p, ctx);
			free(p);
		}
		closedir(d);
		if (r)
			return r;
	}
	return 0;
}

static int check_one(const char *path, void *ctx)
{
	char *err = ctx;
	jv v = fcm_read_json(path);
	int r = 0;

	if (jv_is_valid(v) && fcm_state_check(v, path, err, 512) < 0)
		r = -1;
	jv_free(v);
	return r;
}

static int migrate_one(const char *path, void *ctx)
{
	char err[512];
	jv v = fcm_read_json(path);
	struct stat st;
	int f;

	(void)ctx;
	if (!jv_is_valid(v) || jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);	/* not ours to fix: fcm doctor says so */
		return 0;
	}
	f = fcm_state_check(v, path, err, sizeof err);
	if (f < 0 || f == FCM_STATE_FORMAT) {
		jv_free(v);
		return 0;
	}
	for (; f < FCM_STATE_FORMAT; f++)
		v = steps[f](v);
	if (stat(path, &st) < 0 || fcm_write_json_atomic(path, fcm_state_stamp(v), st.st_mode & 0777) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to migrate %s to state format %d", path, FCM_STATE_FORMAT);
	return 0;
}

int fcm_state_migrate(void)
{
	char err[512] = "", line[32];
	int lock, found;

	found = fcm_state_root_format(err, sizeof err);
	if (found < 0)
		fcm_die(FCM_E_CONFLICT, "%s", err);
	if (each_object(check_one, err))
		fcm_die(FCM_E_CONFLICT, "%s", err);
	lock = fcm_lock_dir("vms", 0700);
	if (lock < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to lock the VM table");
	if (each_object(check_one, err))	/* again, under the lock */
		fcm_die(FCM_E_CONFLICT, "%s", err);
	char *p = fcm_path("format");
	if (found < FCM_STATE_FORMAT || access(p, F_OK) < 0) {
		each_object(migrate_one, NULL);
		snprintf(line, sizeof line, "%d\n", FCM_STATE_FORMAT);
		if (fcm_write_atomic(p, line, strlen(line), 0644) < 0)
			fcm_die_sys(FCM_E_INTERNAL, "unable to write %s", p);
	}
	free(p);
	close(lock);
	return found;
}

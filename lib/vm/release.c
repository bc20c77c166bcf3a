/* release.c — an app's releases (release.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/paths.h"
#include "vm/appenv.h"
#include "vm/release.h"

#define RELEASES_MAX (16 << 20)	/* bytes of the file that are read */

jv fcm_releases(const char *id)
{
	char *path = fcm_path("vms/%s/releases", id), *text = fcm_read_file(path, RELEASES_MAX, NULL), *save = NULL;
	jv list = jv_array();

	free(path);
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		jv r = jv_parse(l);
		if (jv_get_kind(r) == JV_KIND_OBJECT)
			list = jv_array_append(list, r);
		else
			jv_free(r);
	}
	free(text);
	return list;
}

jv fcm_release_latest(const char *id)
{
	jv list = fcm_releases(id);
	int n = jv_array_length(jv_copy(list));
	jv last = n ? jv_array_get(jv_copy(list), n - 1) : jv_null();

	jv_free(list);
	return last;
}

jv fcm_release_get(const char *id, long version)
{
	jv list = fcm_releases(id);

	jv_array_foreach(list, i, r) {
		jv v = jv_object_get(jv_copy(r), jv_string("version"));
		int hit = jv_get_kind(v) == JV_KIND_NUMBER && (long)jv_number_value(v) == version;
		jv_free(v);
		if (hit) {
			jv_free(list);
			return r;
		}
		jv_free(r);
		(void)i;
	}
	jv_free(list);
	return jv_invalid();
}

long fcm_release_add(const char *id, jv rel, char *why, size_t whylen)
{
	char *lockp = fcm_path("vms/%s/.releases.lock", id), *path = fcm_path("vms/%s/releases", id);
	char *dir = fcm_path("vms/%s/releases.d", id), *envp = NULL, *text = NULL, *data = NULL;
	int lk = fcm_lock(lockp, 1);
	long version = -1;
	size_t len = 0, elen = 0;

	if (lk < 0) {
		snprintf(why, whylen, "unable to lock %s: %s", lockp, strerror(errno));
		goto out;
	}
	jv last = fcm_release_latest(id);
	jv lv = jv_get_kind(last) == JV_KIND_OBJECT ? jv_object_get(jv_copy(last), jv_string("version")) : jv_null();
	version = jv_get_kind(lv) == JV_KIND_NUMBER ? (long)jv_number_value(lv) + 1 : 1;
	jv_free(lv);
	jv_free(last);
	/* its config first: a release line always has its config beside it */
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(why, whylen, "unable to make %s: %s", dir, strerror(errno));
		version = -1;
		goto out;
	}
	jv env = fcm_env_load(id);
	if (!jv_is_valid(env)) {
		jv_free(env);
		snprintf(why, whylen, "unable to read the config vars");
		version = -1;
		goto out;
	}
	data = fcm_env_records(env, &elen);
	jv_free(env);
	envp = fcm_asprintf("%s/v%ld.env", dir, version);
	if (fcm_write_atomic(envp, data, elen, 0600) < 0) {
		snprintf(why, whylen, "unable to write %s: %s", envp, strerror(errno));
		version = -1;
		goto out;
	}
	rel = jv_object_set(rel, jv_string("version"), jv_number((double)version));
	rel = jv_object_set(rel, jv_string("at"), jv_number((double)time(NULL)));
	jv line = jv_dump_string(jv_copy(rel), 0);
	text = fcm_read_file(path, RELEASES_MAX, &len);
	if (!text && errno != ENOENT) {
		jv_free(line);
		snprintf(why, whylen, "unable to read %s: %s", path, strerror(errno));
		version = -1;
		goto out;
	}
	char *all = fcm_asprintf("%.*s%s\n", (int)len, text ? text : "", jv_string_value(line));
	jv_free(line);
	if (fcm_write_atomic(path, all, strlen(all), 0600) < 0) {
		snprintf(why, whylen, "unable to write %s: %s", path, strerror(errno));
		version = -1;
	}
	free(all);
out:
	if (data) {
		explicit_bzero(data, elen);
		free(data);
	}
	jv_free(rel);
	if (lk >= 0)
		fcm_unlock(lk);
	free(text);
	free(envp);
	free(dir);
	free(path);
	free(lockp);
	return version;
}

char *fcm_release_env(const char *id, long version, size_t *len)
{
	char *p = fcm_path("vms/%s/releases.d/v%ld.env", id, version);
	char *data = fcm_read_file(p, FCM_ENV_TOTAL_MAX + 4096, len);

	free(p);
	return data;
}

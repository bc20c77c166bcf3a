/* appenv.c — an app's config vars on the host (appenv.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/paths.h"
#include "vm/appenv.h"

char *fcm_env_path(const char *id)
{
	return fcm_path("vms/%s/env", id);
}

int fcm_env_name_check(const char *name, char *why, size_t whylen)
{
	size_t n = strlen(name);

	if (!n || n > FCM_ENV_NAME_MAX || (name[0] >= '0' && name[0] <= '9') ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != n) {
		snprintf(why, whylen, "'%.64s%s' is not a config var name: use letters, digits and _, "
		    "not starting with a digit, at most %d characters (e.g. DATABASE_URL)",
		    name, n > 64 ? "..." : "", FCM_ENV_NAME_MAX);
		return -1;
	}
	if (!strcmp(name, "PORT")) {
		snprintf(why, whylen, "PORT is set by fcm (the web process listens on it): pick another name");
		return -1;
	}
	return 0;
}

/* The config vars that are settings of the zero-downtime switch (doc/deploy.md),
 * read by the guest's `app`: 0 when value suits name, else -1 with why. */
static int setting_check(const char *name, const char *value, char *why, size_t whylen)
{
	size_t n = strlen(value);

	if (!strcmp(name, "FCM_HEALTH_PATH")) {
		if (n && n <= 256 && value[0] == '/' &&
		    strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~/?=&%+:@!$,;-") == n)
			return 0;
		snprintf(why, whylen, "FCM_HEALTH_PATH must be a path of at most 256 characters starting with / "
		    "(letters, digits and ._~/?=&%%+:@!$,;- only), e.g. /healthz");
		return -1;
	}
	if (!strcmp(name, "FCM_HEALTH_TIMEOUT") || !strcmp(name, "FCM_GRACE")) {
		char *end;
		long s = strtol(value, &end, 10);
		if (n && n <= 4 && !*end && value[0] != '-' && value[0] != '+' && s >= 1 && s <= 3600)
			return 0;
		snprintf(why, whylen, "%s must be a whole number of seconds from 1 to 3600", name);
		return -1;
	}
	if (!strcmp(name, "FCM_STANDBY")) {
		char *end;
		long s = strtol(value, &end, 10);
		if (n && n <= 5 && !*end && value[0] != '-' && value[0] != '+' && s >= 0 && s <= 86400)
			return 0;
		snprintf(why, whylen, "FCM_STANDBY must be a whole number of seconds from 0 (no standby) to 86400");
		return -1;
	}
	return 0;
}

int fcm_env_value_check(const char *name, jv v, char *why, size_t whylen)
{
	if (jv_get_kind(v) != JV_KIND_STRING) {
		snprintf(why, whylen, "the value of %s must be a string", name);
		return -1;
	}
	int n = jv_string_length_bytes(jv_copy(v));
	if (n > FCM_ENV_VALUE_MAX) {
		snprintf(why, whylen, "the value of %s is %d bytes: at most %d are allowed",
		    name, n, FCM_ENV_VALUE_MAX);
		return -1;
	}
	if (memchr(jv_string_value(v), '\0', (size_t)n)) {
		snprintf(why, whylen, "the value of %s holds a NUL byte, which no environment can carry", name);
		return -1;
	}
	return setting_check(name, jv_string_value(v), why, whylen);
}

jv fcm_env_load(const char *id)
{
	char *path = fcm_env_path(id);
	size_t len = 0;
	char *text = fcm_read_file(path, FCM_ENV_TOTAL_MAX + 4096, &len);
	jv env = jv_object();

	free(path);
	if (!text) {
		if (errno == ENOENT)
			return env;
		jv_free(env);
		return jv_invalid_with_msg(jv_string("unable to read the config vars"));
	}
	for (size_t off = 0; off < len;) {
		const char *rec = text + off, *eq = memchr(rec, '=', strnlen(rec, len - off));
		size_t n = strnlen(rec, len - off);
		if (eq)
			env = jv_object_set(env, jv_string_sized(rec, (int)(eq - rec)),
			    jv_string_sized(eq + 1, (int)(n - (size_t)(eq + 1 - rec))));
		off += n + 1;
	}
	free(text);
	return env;
}

char *fcm_env_records(jv env, size_t *len)
{
	jv keys = jv_keys(jv_copy(env));	/* sorted */
	size_t cap = 1, n = 0;
	char *buf;

	jv_array_foreach(keys, i, k) {
		jv v = jv_object_get(jv_copy(env), jv_copy(k));
		cap += strlen(jv_string_value(k)) + (size_t)jv_string_length_bytes(v) + 2;
		jv_free(k);
	}
	buf = fcm_malloc(cap);
	jv_array_foreach(keys, i, k) {
		jv v = jv_object_get(jv_copy(env), jv_copy(k));
		size_t kl = strlen(jv_string_value(k)), vl = (size_t)jv_string_length_bytes(jv_copy(v));
		memcpy(buf + n, jv_string_value(k), kl);
		n += kl;
		buf[n++] = '=';
		memcpy(buf + n, jv_string_value(v), vl);
		n += vl;
		buf[n++] = '\0';
		jv_free(v);
		jv_free(k);
	}
	jv_free(keys);
	*len = n;
	return buf;
}

int fcm_env_save(const char *id, jv env, char *why, size_t whylen)
{
	size_t len;
	char *path, *data;
	int count = 0, r;

	jv_object_foreach(env, k, v) {
		const char *name = jv_string_value(k);
		r = fcm_env_name_check(name, why, whylen) < 0 || fcm_env_value_check(name, v, why, whylen) < 0;
		jv_free(k);
		jv_free(v);
		if (r) {
			jv_free(env);
			return -1;
		}
		count++;
	}
	data = fcm_env_records(env, &len);
	jv_free(env);
	if (count > FCM_ENV_COUNT_MAX || len > FCM_ENV_TOTAL_MAX) {
		snprintf(why, whylen, "that makes %d config vars of %zu bytes in all: at most %d vars and %d bytes are allowed",
		    count, len, FCM_ENV_COUNT_MAX, FCM_ENV_TOTAL_MAX);
		free(data);
		return -1;
	}
	path = fcm_env_path(id);
	r = fcm_write_atomic(path, data, len, 0600);
	if (r < 0)
		snprintf(why, whylen, "unable to write %s: %s", path, strerror(errno));
	explicit_bzero(data, len);
	free(data);
	free(path);
	return r;
}

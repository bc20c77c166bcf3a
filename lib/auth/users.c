/* users.c — the user store and user tokens (lib/auth/users.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "auth/token.h"
#include "auth/users.h"

#define LOCAL_MAX 24

void fcm_user_id(const char *email, const char *iss, const char *sub, char out[FCM_USER_MAX + 1])
{
	char hash[65], local[LOCAL_MAX + 1];
	char *both = fcm_asprintf("%s\n%s", iss, sub);
	size_t n = 0;

	fcm_token_hash(both, strlen(both), hash);
	free(both);
	/* lowercase letters and digits of the local part, other runs as '-' */
	for (const char *p = email ? email : ""; *p && *p != '@' && n < LOCAL_MAX; p++) {
		unsigned char ch = (unsigned char)tolower((unsigned char)*p);
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			local[n++] = (char)ch;
		else if (n && local[n - 1] != '-')
			local[n++] = '-';
	}
	while (n && local[n - 1] == '-')
		n--;
	local[n] = '\0';
	snprintf(out, FCM_USER_MAX + 1, "%s-%.6s", n ? local : "user", hash);
}

static int store_dirs(char *err, size_t errlen)
{
	const char *dirs[] = { "auth", "tokens" };

	for (size_t i = 0; i < 2; i++) {
		char *d = fcm_path("%s", dirs[i]);
		struct stat st;
		if ((fcm_mkdirs(d, 0700) < 0 && errno != EEXIST) || stat(d, &st) < 0) {
			snprintf(err, errlen, "unable to create %s: %s", d, strerror(errno));
			free(d);
			return -1;
		}
		if ((st.st_mode & 077) && chmod(d, 0700) < 0) {
			snprintf(err, errlen, "unable to make %s 0700: %s", d, strerror(errno));
			free(d);
			return -1;
		}
		free(d);
	}
	return 0;
}

jv fcm_users_list(void)
{
	char *path = fcm_path("auth/users.json");
	jv v = fcm_read_json(path);

	free(path);
	if (!jv_is_valid(v) || jv_get_kind(v) != JV_KIND_ARRAY) {
		jv_free(v);
		return jv_array();
	}
	return v;
}

jv fcm_users_get(const char *id)
{
	jv all = fcm_users_list(), found = jv_invalid();

	jv_array_foreach(all, i, u) {
		const char *uid = jv_get_kind(u) == JV_KIND_OBJECT ? fcm_get_str(u, "id") : NULL;
		if (!jv_is_valid(found) && uid && !strcmp(uid, id)) {
			jv_free(found);
			found = u;
		} else
			jv_free(u);
		(void)i;
	}
	jv_free(all);
	return found;
}

static int listed_admin(const struct fcm_auth_config *c, jv claims)
{
	const char *email = fcm_get_str(claims, "email");
	jv ev = jv_object_get(jv_copy(claims), jv_string("email_verified"));
	int verified = jv_get_kind(ev) != JV_KIND_FALSE && !(jv_get_kind(ev) == JV_KIND_STRING &&
	    !strcmp(jv_string_value(ev), "false"));
	int yes = 0;

	jv_free(ev);
	if (!email || !verified)
		return 0;
	jv_array_foreach(c->admins, i, a) {
		if (jv_get_kind(a) == JV_KIND_STRING && !strcasecmp(jv_string_value(a), email))
			yes = 1;
		jv_free(a);
		(void)i;
	}
	return yes;
}

int fcm_users_login(const struct fcm_auth_config *c, jv claims, jv *user, char *err, size_t errlen)
{
	const char *iss = fcm_get_str(claims, "iss"), *sub = fcm_get_str(claims, "sub");
	const char *email = fcm_get_str(claims, "email"), *name = fcm_get_str(claims, "name");
	char *path = NULL, *lockp = NULL, id[FCM_USER_MAX + 1], why[128];
	long now = (long)time(NULL);
	int lk = -1, r = -1, at = -1, admin;
	jv all, rec;

	*user = jv_invalid();
	if (!iss || !sub) {
		snprintf(err, errlen, "the ID token names no issuer or subject");
		return -1;
	}
	if (store_dirs(err, errlen) < 0)
		return -1;
	lockp = fcm_path("auth/.lock");
	path = fcm_path("auth/users.json");
	if ((lk = fcm_lock(lockp, 1)) < 0) {
		snprintf(err, errlen, "unable to lock %s: %s", lockp, strerror(errno));
		goto out;
	}
	all = fcm_users_list();
	jv_array_foreach(all, i, u) {
		const char *ui = fcm_get_str(u, "iss"), *us = fcm_get_str(u, "sub");
		if (at < 0 && ui && us && !strcmp(ui, iss) && !strcmp(us, sub))
			at = i;
		jv_free(u);
	}
	if (at >= 0) {
		rec = jv_array_get(jv_copy(all), at);
		jv a = jv_object_get(jv_copy(rec), jv_string("admin"));
		admin = jv_get_kind(c->admins) == JV_KIND_ARRAY && jv_array_length(jv_copy(c->admins)) > 0 ?
		    listed_admin(c, claims) : jv_get_kind(a) == JV_KIND_TRUE;
		jv_free(a);
	} else {
		fcm_user_id(email, iss, sub, id);
		if (fcm_name_check(id, why, sizeof why) < 0) {
			snprintf(err, errlen, "unable to make a user name for this account: %s", why);
			jv_free(all);
			goto out;
		}
		admin = jv_array_length(jv_copy(c->admins)) > 0 ? listed_admin(c, claims) :
		    jv_array_length(jv_copy(all)) == 0;
		rec = jv_object_set(jv_object(), jv_string("id"), jv_string(id));
		rec = jv_object_set(rec, jv_string("iss"), jv_string(iss));
		rec = jv_object_set(rec, jv_string("sub"), jv_string(sub));
		rec = jv_object_set(rec, jv_string("created_at"), jv_number((double)now));
		at = jv_array_length(jv_copy(all));
	}
	rec = jv_object_set(rec, jv_string("email"), email ? jv_string(email) : jv_null());
	rec = jv_object_set(rec, jv_string("name"), name ? jv_string(name) : jv_null());
	rec = jv_object_set(rec, jv_string("admin"), jv_bool(admin));
	rec = jv_object_set(rec, jv_string("last_login"), jv_number((double)now));
	all = jv_array_set(all, at, jv_copy(rec));
	if (fcm_write_json_atomic(path, all, 0600) < 0) {
		snprintf(err, errlen, "unable to write %s: %s", path, strerror(errno));
		jv_free(rec);
		goto out;
	}
	*user = rec;
	r = 0;
out:
	fcm_unlock(lk);
	free(lockp);
	free(path);
	return r;
}

int fcm_users_token_new(jv user, long ttl, char tok[FCM_TOKEN_HEXLEN + 1], long *expires_at,
    char *err, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[FCM_TOKEN_BYTES];
	char hash[65], *path;
	long now = (long)time(NULL);
	jv a, rec;
	int r;

	if (store_dirs(err, errlen) < 0)
		return -1;
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
		snprintf(err, errlen, "unable to get random bytes for a token: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof raw; i++) {
		tok[2 * i] = hex[raw[i] >> 4];
		tok[2 * i + 1] = hex[raw[i] & 15];
	}
	tok[FCM_TOKEN_HEXLEN] = '\0';
	explicit_bzero(raw, sizeof raw);
	fcm_token_hash(tok, FCM_TOKEN_HEXLEN, hash);
	*expires_at = now + ttl;
	a = jv_object_get(jv_copy(user), jv_string("admin"));
	rec = jv_object_set(jv_object(), jv_string("user"), jv_string(fcm_get_str(user, "id")));
	rec = jv_object_set(rec, jv_string("admin"), jv_bool(jv_get_kind(a) == JV_KIND_TRUE));
	rec = jv_object_set(rec, jv_string("expires_at"), jv_number((double)*expires_at));
	rec = jv_object_set(rec, jv_string("created_at"), jv_number((double)now));
	jv_free(a);
	path = fcm_path("tokens/%s", hash);
	r = fcm_write_json_atomic(path, rec, 0600);
	if (r < 0) {
		snprintf(err, errlen, "unable to write a token file in %s/tokens: %s", fcm_root(), strerror(errno));
		explicit_bzero(tok, FCM_TOKEN_HEXLEN);
	}
	free(path);
	return r;
}

int fcm_users_token_revoke(const char *tok, size_t len)
{
	char hash[65], *path;
	int r;

	if (!fcm_token_syntax_ok(tok, len))
		return 0;
	fcm_token_hash(tok, len, hash);
	path = fcm_path("tokens/%s", hash);
	r = unlink(path) == 0 ? 1 : errno == ENOENT ? 0 : -1;
	free(path);
	return r;
}

int fcm_users_revoke_all(const char *id)
{
	char *dir = fcm_path("tokens");
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d) {
		free(dir);
		return errno == ENOENT ? 0 : -1;
	}
	while ((e = readdir(d))) {
		if (!fcm_token_syntax_ok(e->d_name, strlen(e->d_name)))
			continue;
		char *p = fcm_asprintf("%s/%s", dir, e->d_name);
		jv rec = fcm_read_json(p);
		const char *u = jv_is_valid(rec) && jv_get_kind(rec) == JV_KIND_OBJECT ? fcm_get_str(rec, "user") : NULL;
		if (u && !strcmp(u, id) && unlink(p) == 0)
			n++;
		jv_free(rec);
		free(p);
	}
	closedir(d);
	free(dir);
	return n;
}

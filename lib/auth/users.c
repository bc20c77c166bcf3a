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

int fcm_users_admitted(const char *id)
{
	jv u = fcm_users_get(id);
	const char *email = jv_is_valid(u) ? fcm_get_str(u, "email") : NULL;
	int r = 1;

	if (email) {
		struct fcm_auth_config c;
		char err[256];
		int admin, have = fcm_auth_config_load(&c, err, sizeof err) == 0;
		jv access = fcm_access_load();
		if (!have) {
			fcm_auth_config_free(&c);
			memset(&c, 0, sizeof c);
		}
		r = fcm_access_admits(have ? &c : NULL, access, email, &admin);
		jv_free(access);
		if (have)
			fcm_auth_config_free(&c);
	}
	jv_free(u);
	return r;
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

/* --- who may log in ------------------------------------------------------ */

static int in_list(jv list, const char *s)
{
	int yes = 0;

	if (jv_get_kind(list) != JV_KIND_ARRAY)
		return 0;
	jv_array_foreach(list, i, a) {
		if (jv_get_kind(a) == JV_KIND_STRING && !strcasecmp(jv_string_value(a), s))
			yes = 1;
		jv_free(a);
		(void)i;
	}
	return yes;
}

char *fcm_access_entry(const char *s, char *why, size_t whylen)
{
	const char *at = s ? strchr(s, '@') : NULL, *dom;
	size_t n = s ? strlen(s) : 0;
	char *out, *p;

	if (!s || n == 0 || n > 254) {
		snprintf(why, whylen, "give an e-mail address (alice@example.com) or a domain (@example.com)");
		return NULL;
	}
	dom = at ? at + 1 : s;
	for (p = (char *)s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c >= 127 || strchr("\"(),:;<>[\\]", c) || (*p == '@' && p != at)) {
			snprintf(why, whylen, "'%.64s' is not an e-mail address or a domain: one '@' at most, no blanks or quotes", s);
			return NULL;
		}
	}
	if ((at && at != s && at == s + n - 1) || !*dom || !strchr(dom, '.') || *dom == '.' ||
	    dom[strlen(dom) - 1] == '.' || strstr(dom, "..")) {
		snprintf(why, whylen, "'%.64s' names no domain with a dot (alice@example.com, @example.com)", s);
		return NULL;
	}
	for (p = (char *)dom; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.')) {
			snprintf(why, whylen, "'%.64s': the domain may hold letters, digits, '-' and '.' only", s);
			return NULL;
		}
	/* "example.com" and "@example.com" are the domain; the rest an address */
	out = (at && at != s) ? fcm_strdup(s) : fcm_asprintf("@%s", dom);
	for (p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

jv fcm_access_load(void)
{
	char *path = fcm_path("auth/access.json");
	jv v = fcm_read_json(path), r = jv_object();

	free(path);
	if (jv_is_valid(v) && jv_get_kind(v) == JV_KIND_OBJECT)
		for (int k = 0; k < 3; k++) {
			const char *key = k == 2 ? "deny" : k ? "admins" : "allow";
			jv a = jv_object_get(jv_copy(v), jv_string(key));
			r = jv_object_set(r, jv_string(key), jv_get_kind(a) == JV_KIND_ARRAY ? a : (jv_free(a), jv_array()));
		}
	else
		r = jv_object_set(jv_object_set(jv_object_set(r, jv_string("allow"), jv_array()),
		    jv_string("admins"), jv_array()), jv_string("deny"), jv_array());
	jv_free(v);
	return r;
}

int fcm_access_admits(const struct fcm_auth_config *c, jv access, const char *email, int *admin)
{
	const char *at = email ? strrchr(email, '@') : NULL;
	jv allow = jv_object_get(jv_copy(access), jv_string("allow"));
	jv admins = jv_object_get(jv_copy(access), jv_string("admins"));
	jv deny = jv_object_get(jv_copy(access), jv_string("deny"));
	int yes = 0;

	*admin = 0;
	if (email && at) {
		/* auth.json's admins are the operator's: no list overrides them */
		if (c && in_list(c->admins, email))
			yes = *admin = 1;
		else if (!in_list(deny, email)) {
			*admin = in_list(admins, email);
			yes = *admin || in_list(allow, email) || in_list(allow, at);
		}
	}
	jv_free(allow);
	jv_free(admins);
	jv_free(deny);
	return yes;
}

/* Is the claim email_verified present and true (JSON true, or the string
 * "true" some issuers send)? */
static int email_verified(jv claims)
{
	jv ev = jv_object_get(jv_copy(claims), jv_string("email_verified"));
	int yes = jv_get_kind(ev) == JV_KIND_TRUE ||
	    (jv_get_kind(ev) == JV_KIND_STRING && !strcmp(jv_string_value(ev), "true"));

	jv_free(ev);
	return yes;
}

int fcm_users_lock(char *err, size_t errlen)
{
	char *lockp;
	int lk;

	if (store_dirs(err, errlen) < 0)
		return -1;
	lockp = fcm_path("auth/.lock");
	if ((lk = fcm_lock(lockp, 1)) < 0)
		snprintf(err, errlen, "unable to lock %s: %s", lockp, strerror(errno));
	free(lockp);
	return lk;
}

int fcm_users_save(jv all, jv access, char *err, size_t errlen)
{
	const char *names[2] = { "auth/users.json", "auth/access.json" };
	jv vals[2] = { all, access };
	int r = 0;

	for (int i = 0; i < 2; i++) {
		if (!jv_is_valid(vals[i]))
			continue;
		char *path = fcm_path("%s", names[i]);
		if (r == 0 && fcm_write_json_atomic(path, jv_copy(vals[i]), 0600) < 0) {
			snprintf(err, errlen, "unable to write %s: %s", path, strerror(errno));
			r = -1;
		}
		free(path);
		jv_free(vals[i]);
	}
	return r;
}

int fcm_users_login(const struct fcm_auth_config *c, jv claims, jv *user, char *err, size_t errlen)
{
	const char *iss = fcm_get_str(claims, "iss"), *sub = fcm_get_str(claims, "sub");
	const char *email = fcm_get_str(claims, "email"), *name = fcm_get_str(claims, "name");
	char id[FCM_USER_MAX + 1], why[128];
	long now = (long)time(NULL);
	int lk, r = -1, at = -1, admin;
	jv all, rec, access;

	*user = jv_invalid();
	if (!iss || !sub) {
		snprintf(err, errlen, "the ID token names no issuer or subject");
		return -1;
	}
	/* Who may log in goes by the e-mail address, so it must be one the
	 * issuer checked. */
	if (!email || !strchr(email, '@') || strlen(email) > 254) {
		snprintf(err, errlen, "the ID token carries no e-mail address: fcm needs the 'email' scope to know who may log in");
		return -2;
	}
	if (!email_verified(claims)) {
		snprintf(err, errlen, "the issuer has not verified the e-mail address %.254s (email_verified is not true): log in with a verified address", email);
		return -2;
	}
	if ((lk = fcm_users_lock(err, errlen)) < 0)
		return -1;
	access = fcm_access_load();
	if (!fcm_access_admits(c, access, email, &admin)) {
		snprintf(err, errlen, "%.254s may not log in to this host: an admin must allow it first ('fcm users allow %.254s')",
		    email, email);
		jv_free(access);
		r = -2;
		goto out;
	}
	jv_free(access);
	all = fcm_users_list();
	jv_array_foreach(all, i, u) {
		const char *ui = fcm_get_str(u, "iss"), *us = fcm_get_str(u, "sub");
		if (at < 0 && ui && us && !strcmp(ui, iss) && !strcmp(us, sub))
			at = i;
		jv_free(u);
	}
	if (at >= 0) {
		rec = jv_array_get(jv_copy(all), at);
	} else {
		fcm_user_id(email, iss, sub, id);
		if (fcm_name_check(id, why, sizeof why) < 0) {
			snprintf(err, errlen, "unable to make a user name for this account: %s", why);
			jv_free(all);
			goto out;
		}
		rec = jv_object_set(jv_object(), jv_string("id"), jv_string(id));
		rec = jv_object_set(rec, jv_string("iss"), jv_string(iss));
		rec = jv_object_set(rec, jv_string("sub"), jv_string(sub));
		rec = jv_object_set(rec, jv_string("created_at"), jv_number((double)now));
		at = jv_array_length(jv_copy(all));
	}
	rec = jv_object_set(rec, jv_string("email"), jv_string(email));
	rec = jv_object_set(rec, jv_string("name"), name ? jv_string(name) : jv_null());
	rec = jv_object_set(rec, jv_string("admin"), jv_bool(admin));
	rec = jv_object_set(rec, jv_string("allowed"), jv_true());
	rec = jv_object_set(rec, jv_string("last_login"), jv_number((double)now));
	all = jv_array_set(all, at, jv_copy(rec));
	if (fcm_users_save(all, jv_invalid(), err, errlen) < 0) {
		jv_free(rec);
		goto out;
	}
	*user = rec;
	r = 0;
out:
	fcm_unlock(lk);
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

/* token.c — the admin token file, user token lookup, constant-time compare. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jv.h>
#include <openssl/evp.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/name.h"
#include "core/paths.h"
#include "auth/token.h"
#include "auth/users.h"

int fcm_token_syntax_ok(const char *s, size_t n)
{
	if (n != FCM_TOKEN_HEXLEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int fcm_token_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	/* Every byte of b is looked at whatever a holds; only the (public)
	 * length of a decides how many of a's bytes are read. */
	unsigned diff = alen != blen;

	for (size_t i = 0; i < blen; i++)
		diff |= (unsigned char)(i < alen ? a[i] : 0) ^ (unsigned char)b[i];
	return diff == 0;
}

void fcm_token_hash(const char *tok, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (!EVP_Digest(tok, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != sizeof md)
		fcm_die(FCM_E_BUG, "SHA-256 is not available from libcrypto");
	for (size_t i = 0; i < sizeof md; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

/* The token in a file's text: 64 hex digits and an optional newline. */
static int parse_token_text(const char *text, size_t len, char out[FCM_TOKEN_HEXLEN + 1])
{
	if (len == FCM_TOKEN_HEXLEN + 1 && text[FCM_TOKEN_HEXLEN] == '\n')
		len--;
	if (!fcm_token_syntax_ok(text, len))
		return -1;
	memcpy(out, text, FCM_TOKEN_HEXLEN);
	out[FCM_TOKEN_HEXLEN] = '\0';
	return 0;
}

int fcm_admin_token_read(char out[FCM_TOKEN_HEXLEN + 1], char *err, size_t errlen)
{
	char *path = fcm_path(".token");
	size_t len = 0;
	char *text = fcm_read_file(path, 4096, &len);
	int r = 0;

	if (!text) {
		snprintf(err, errlen, "unable to read %s: %s", path, strerror(errno));
		r = -1;
	} else if (parse_token_text(text, len, out) < 0) {
		snprintf(err, errlen, "%s does not hold a token (64 hex digits): remove it and restart the daemon to make a new one",
		    path);
		r = -1;
	}
	if (text) {
		explicit_bzero(text, len);
		free(text);
	}
	free(path);
	return r;
}

int fcm_admin_token_ensure(char *err, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	char *path = fcm_path(".token"), *tmp = NULL;
	unsigned char raw[FCM_TOKEN_BYTES];
	char line[FCM_TOKEN_HEXLEN + 2], tok[FCM_TOKEN_HEXLEN + 1];
	struct stat st;
	int fd = -1, r = -1;

	if (fcm_mkdirs(fcm_root(), 0755) < 0) {
		snprintf(err, errlen, "unable to create %s: %s", fcm_root(), strerror(errno));
		goto out;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "%s is not a regular file: remove it to make a new token", path);
			goto out;
		}
		if ((st.st_mode & 077) && chmod(path, 0600) == 0)
			fcm_warn("%s was readable by others: made it 0600 (consider a new token: remove it and restart the daemon)",
			    path);
		r = fcm_admin_token_read(tok, err, errlen);
		explicit_bzero(tok, sizeof tok);
		goto out;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "unable to look at %s: %s", path, strerror(errno));
		goto out;
	}
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
		snprintf(err, errlen, "unable to get random bytes for the token: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < sizeof raw; i++) {
		line[2 * i] = hex[raw[i] >> 4];
		line[2 * i + 1] = hex[raw[i] & 15];
	}
	line[FCM_TOKEN_HEXLEN] = '\n';
	line[FCM_TOKEN_HEXLEN + 1] = '\0';
	tmp = fcm_asprintf("%s.tmp.%ld", path, (long)getpid());
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fchmod(fd, 0600) < 0 ||
	    write(fd, line, FCM_TOKEN_HEXLEN + 1) != FCM_TOKEN_HEXLEN + 1 || fsync(fd) < 0) {
		snprintf(err, errlen, "unable to write %s: %s", tmp, strerror(errno));
		goto out;
	}
	/* link(2) fails with EEXIST when another first run won: use its token. */
	if (link(tmp, path) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "unable to create %s: %s", path, strerror(errno));
		goto out;
	}
	r = fcm_admin_token_read(tok, err, errlen);
	explicit_bzero(tok, sizeof tok);
out:
	explicit_bzero(raw, sizeof raw);
	explicit_bzero(line, sizeof line);
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(path);
	return r;
}

/* A user name as it may appear as a VM's owner: the VM name rules. */
static int user_ok(const char *s)
{
	char why[256];

	return fcm_name_check(s, why, sizeof why) == 0;
}

static int user_token(const char *tok, size_t len, struct fcm_principal *p, char *err, size_t errlen)
{
	char hash[65];
	char *path;
	jv rec, v;
	int r = 0;

	fcm_token_hash(tok, len, hash);
	path = fcm_path("tokens/%s", hash);
	rec = fcm_read_json(path);
	if (!jv_is_valid(rec)) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "unable to read a user token file in %s/tokens: %s",
			    fcm_root(), strerror(errno));
			r = -1;
		}
		goto out;
	}
	if (jv_get_kind(rec) != JV_KIND_OBJECT)
		goto out;
	const char *user = fcm_get_str(rec, "user");
	if (!user || !user_ok(user))
		goto out;
	v = jv_object_get(jv_copy(rec), jv_string("expires_at"));
	if (jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) <= (double)time(NULL)) {
		jv_free(v);
		goto out;
	}
	jv_free(v);
	v = jv_object_get(jv_copy(rec), jv_string("admin"));
	p->admin = jv_get_kind(v) == JV_KIND_TRUE;
	jv_free(v);
	/* A user who logged in: admin as the user store says now (fcm users
	 * admin), and nothing once no longer allowed (fcm users deny). */
	jv u = fcm_users_get(user);
	if (jv_is_valid(u)) {
		jv al = jv_object_get(jv_copy(u), jv_string("allowed"));
		v = jv_object_get(jv_copy(u), jv_string("admin"));
		int denied = jv_get_kind(al) == JV_KIND_FALSE;
		p->admin = jv_get_kind(v) == JV_KIND_TRUE;
		jv_free(al);
		jv_free(v);
		jv_free(u);
		if (denied) {
			p->admin = 0;
			goto out;
		}
	}
	snprintf(p->name, sizeof p->name, "%s", user);
	r = 1;
out:
	jv_free(rec);
	free(path);
	return r;
}

int fcm_token_principal(const char *tok, size_t len, struct fcm_principal *p,
    char *err, size_t errlen)
{
	char admin[FCM_TOKEN_HEXLEN + 1];
	int eq;

	memset(p, 0, sizeof *p);
	if (!fcm_token_syntax_ok(tok, len))
		return 0;
	if (fcm_admin_token_read(admin, err, errlen) < 0)
		return -1;
	eq = fcm_token_equal(tok, len, admin, FCM_TOKEN_HEXLEN);
	explicit_bzero(admin, sizeof admin);
	if (eq) {
		snprintf(p->name, sizeof p->name, "admin");
		p->admin = 1;
		return 1;
	}
	return user_token(tok, len, p, err, errlen);
}

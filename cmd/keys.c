/* fcm keys — the ssh keys allowed to git push to fcm apps.
 *
 *   fcm keys add (--owner OWNER | --admin) [--json] KEY | FILE | -
 *   fcm keys ls [--owner OWNER] [--json]
 *   fcm keys rm [--json] ID | SHA256:FINGERPRINT
 *   fcm keys sshd                  the sshd_config line that enables them (on the host)
 *   fcm keys guest [--json]        the host's own key into its guests (on the host;
 *                                  vm/guestkey.h)
 *
 * add, ls and rm work through the API too: a user adds, lists and removes
 * their own keys; an admin anyone's.
 * The keys are kept in $FCM_ROOT/ssh/keys.json (an array of records) and
 * rendered, whole, into $FCM_ROOT/ssh/authorized_keys, which the host's sshd
 * reads (AuthorizedKeysFile, doc/deploy.md).  Each entry forces
 *   restrict,command="<libexec>/fcm-git-shell --root <root> <id>" <type> <key> <comment>
 * so the key can do nothing but git push/fetch to the repos its owner may use
 * (fcm-git-shell).  Both files are rewritten atomically under a lock.
 *
 * A key is checked before it is written: a known type, base64 that decodes, a
 * blob naming the same type, a comment of plain characters.  Its id is the
 * first 12 hex digits of the SHA-256 of the blob; its fingerprint is OpenSSH's
 * SHA256:<base64>. */
#include <errno.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/sha256.h>

#include "cmd/cmd.h"
#include "core/err.h"
#include "core/atomic.h"
#include "vm/expose.h"
#include "vm/guestkey.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "vm/svc.h"
#include "vm/vm.h"


#define KEYS_MAX 10000
#define KEYFILE_MAX (256 * 1024)

static const char *const key_types[] = {
	"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
	"sk-ecdsa-sha2-nistp256@openssh.com", NULL,
};

/* --- base64 ------------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

/* Strict decode (padding required, as OpenSSH writes keys).  Returns the
 * length, or -1. */
static long b64_decode(const char *s, size_t n, unsigned char *out, size_t outmax)
{
	size_t o = 0;

	if (n == 0 || n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;
		for (int j = 0; j < 4; j++) {
			if (s[i + j] == '=' && i + 4 == n && j >= 2) {
				v[j] = 0;
				pad++;
			} else if (pad || (v[j] = b64val(s[i + j])) < 0)
				return -1;
		}
		unsigned long w = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
		    (unsigned long)v[2] << 6 | (unsigned long)v[3];
		unsigned char bytes[3] = { (unsigned char)(w >> 16), (unsigned char)(w >> 8), (unsigned char)w };
		for (int j = 0; j < 3 - pad; j++) {
			if (o >= outmax)
				return -1;
			out[o++] = bytes[j];
		}
	}
	return (long)o;
}

/* Encode without padding (OpenSSH fingerprints). */
static void b64_nopad(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned long w = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64[w >> 18 & 63];
		out[o++] = b64[w >> 12 & 63];
		out[o++] = b64[w >> 6 & 63];
		out[o++] = b64[w & 63];
	}
	if (n - i == 1) {
		unsigned long w = (unsigned long)in[i] << 16;
		out[o++] = b64[w >> 18 & 63];
		out[o++] = b64[w >> 12 & 63];
	} else if (n - i == 2) {
		unsigned long w = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
		out[o++] = b64[w >> 18 & 63];
		out[o++] = b64[w >> 12 & 63];
		out[o++] = b64[w >> 6 & 63];
	}
	out[o] = '\0';
}

/* --- one key ---------------------------------------------------------------- */

struct key {
	char type[64];
	char *blob64;		/* base64 as given */
	char comment[256];
	char id[13];
	char fp[64];		/* SHA256:... */
};

/* Parse and check one public key line "type base64 [comment]".  0, or -1 with
 * the reason. */
static int key_parse(const char *line, struct key *k, char *why, size_t whylen)
{
	const char *p = line, *t, *b;
	size_t tl, bl;
	unsigned char *blob;
	long n;
	int known = 0;

	memset(k, 0, sizeof *k);
	while (*p == ' ' || *p == '\t')
		p++;
	t = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	tl = (size_t)(p - t);
	for (int i = 0; key_types[i]; i++)
		if (strlen(key_types[i]) == tl && !memcmp(key_types[i], t, tl))
			known = 1;
	if (!known) {
		if (memchr(t, '"', tl) || memchr(t, ',', tl) || memchr(t, '=', tl))
			snprintf(why, whylen, "give the public key alone (\"ssh-ed25519 AAAA... comment\"), without authorized_keys options");
		else
			snprintf(why, whylen, "'%.*s' is not an ssh public key type fcm accepts (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521, sk-...): give the contents of a .pub file",
			    (int)(tl > 40 ? 40 : tl), t);
		return -1;
	}
	memcpy(k->type, t, tl);
	while (*p == ' ' || *p == '\t')
		p++;
	b = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	bl = (size_t)(p - b);
	if (bl == 0 || bl > 16384) {
		snprintf(why, whylen, "the %s key has no key data after its type", k->type);
		return -1;
	}
	blob = fcm_malloc(bl);
	n = b64_decode(b, bl, blob, bl);
	/* The blob starts with the type again: uint32 length, then the name. */
	if (n < 4 || (size_t)n < 4 + ((size_t)blob[0] << 24 | (size_t)blob[1] << 16 | (size_t)blob[2] << 8 | blob[3]) ||
	    ((size_t)blob[0] << 24 | (size_t)blob[1] << 16 | (size_t)blob[2] << 8 | blob[3]) != tl ||
	    memcmp(blob + 4, k->type, tl) != 0 || (size_t)n < 4 + tl + 16) {
		free(blob);
		snprintf(why, whylen, "the %s key data is not valid (bad base64, or it is not a %s key): copy the whole line of the .pub file",
		    k->type, k->type);
		return -1;
	}
	{
		SHA256Schedule ctx = SHA256_INIT();
		unsigned char dig[32];
		static const char hex[] = "0123456789abcdef";
		sha256_update(&ctx, (const char *)blob, (size_t)n);
		sha256_final(&ctx, (char *)dig);
		for (int i = 0; i < 6; i++) {
			k->id[2 * i] = hex[dig[i] >> 4];
			k->id[2 * i + 1] = hex[dig[i] & 15];
		}
		k->id[12] = '\0';
		memcpy(k->fp, "SHA256:", 7);
		b64_nopad(dig, sizeof dig, k->fp + 7);
	}
	free(blob);
	k->blob64 = fcm_asprintf("%.*s", (int)bl, b);
	while (*p == ' ' || *p == '\t')
		p++;
	{
		size_t cl = strlen(p);
		while (cl && (p[cl - 1] == ' ' || p[cl - 1] == '\t' || p[cl - 1] == '\r'))
			cl--;
		if (cl >= sizeof k->comment) {
			snprintf(why, whylen, "the key's comment is longer than %zu characters", sizeof k->comment - 1);
			return -1;
		}
		for (size_t i = 0; i < cl; i++) {
			unsigned char c = (unsigned char)p[i];
			if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
				snprintf(why, whylen, "the key's comment has a character other than plain printable ASCII (no quotes or backslashes)");
				return -1;
			}
		}
		memcpy(k->comment, p, cl);
		k->comment[cl] = '\0';
	}
	return 0;
}

/* --- the key table -------------------------------------------------------------- */

static char *ssh_dir(void) { return fcm_path("ssh"); }

static jv keys_load(void)
{
	char *path = fcm_path("ssh/keys.json");
	jv v;

	if (access(path, F_OK) < 0 && errno == ENOENT) {
		free(path);
		return jv_array();
	}
	v = fcm_read_json(path);
	if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_ARRAY) {
		jv_free(v);
		v = jv_invalid_with_msg(jv_string_fmt("%s is not a JSON array", path));
	}
	free(path);
	if (!jv_is_valid(v)) {
		jv msg = jv_invalid_get_msg(v);
		fcm_die(FCM_E_INTERNAL, "unable to read the key table: %s",
		    jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "bad file");
	}
	return v;
}

/* Render authorized_keys from the table and write both files.  keys is
 * consumed. */
static void keys_save(jv keys)
{
	char *shell = fcm_helper("git-shell");
	char *ak = fcm_path("ssh/authorized_keys");
	char *kj = fcm_path("ssh/keys.json");
	size_t cap = 4096, len = 0;
	char *text = fcm_malloc(cap);

	if (!fcm_path_sane(shell) || !fcm_path_sane(fcm_root()))
		fcm_die(FCM_E_USAGE, "the path of fcm-git-shell (%s) or FCM_ROOT has characters other than letters, digits and -_.+/: install fcm under a plain path",
		    shell);
	text[0] = '\0';
	len = (size_t)snprintf(text, cap, "# Written by fcm keys: do not edit (see 'fcm keys').\n");
	jv_array_foreach(keys, i, k) {
		const char *id = fcm_get_str(k, "id"), *type = fcm_get_str(k, "type");
		const char *key = fcm_get_str(k, "key"), *comment = fcm_get_str(k, "comment");
		char *line = fcm_asprintf("restrict,command=\"%s --root %s %s\" %s %s%s%s\n",
		    shell, fcm_root(), id, type, key, comment && *comment ? " " : "",
		    comment ? comment : "");
		size_t ll = strlen(line);
		while (len + ll + 1 > cap) {
			cap *= 2;
			text = realloc(text, cap);
			if (!text)
				fcm_die_nomem();
		}
		memcpy(text + len, line, ll + 1);
		len += ll;
		free(line);
		jv_free(k);
	}
	/* The table first: authorized_keys is derived from it. */
	if (fcm_write_json_atomic(kj, keys, 0600) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write %s", kj);
	if (fcm_write_atomic(ak, text, len, 0600) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write %s", ak);
	free(text);
	free(shell);
	free(ak);
	free(kj);
}

static int keys_lock(void)
{
	char *dir = ssh_dir();
	char *lock = fcm_path("ssh/.lock");
	int fd;

	if (fcm_mkdirs(dir, 0700) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to make %s", dir);
	fd = fcm_lock(lock, 1);
	if (fd < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to lock %s", lock);
	free(dir);
	free(lock);
	return fd;
}

/* Does sshd read our authorized_keys?  A hint, not a guarantee. */
static int sshd_knows(const char *ak)
{
	glob_t g;
	int found = 0;

	if (glob("/etc/ssh/sshd_config", 0, NULL, &g) == 0) {
		glob("/etc/ssh/sshd_config.d/*.conf", GLOB_APPEND, NULL, &g);
		for (size_t i = 0; i < g.gl_pathc && !found; i++) {
			char *t = fcm_read_file(g.gl_pathv[i], 1024 * 1024, NULL);
			if (t && strstr(t, ak))
				found = 1;
			free(t);
		}
		globfree(&g);
	}
	return found;
}

static void print_sshd_line(FILE *f)
{
	char *ak = fcm_path("ssh/authorized_keys");

	fprintf(f, "AuthorizedKeysFile .ssh/authorized_keys %s\n", ak);
	free(ak);
}

/* --- commands ------------------------------------------------------------ */

/* The owner a request may act for: its "owner" (an admin's choice, or the
 * user's own name), else the user. */
static const char *owner_for(jv req, const struct fcm_principal *who)
{
	const char *owner = fcm_get_str(req, "owner");
	char why[256];

	if (owner && fcm_owner_check(owner, why, sizeof why) < 0)
		fcm_die(FCM_E_USAGE, "%s", why);
	if (owner && !who->admin && strcmp(owner, who->name))
		fcm_die(FCM_E_FORBIDDEN, "only an admin may manage the keys of another user ('%s')", owner);
	return owner ? owner : who->admin ? NULL : who->name;
}

/* On the client: the key lines from the argument: the key itself, "-" for
 * stdin, or a file. */
static jv add_prepare(jv req)
{
	const char *arg = fcm_get_str(req, "source");
	char *t = NULL;

	for (int i = 0; key_types[i] && !t; i++) {
		size_t n = strlen(key_types[i]);
		if (!strncmp(arg, key_types[i], n) && (arg[n] == ' ' || arg[n] == '\t'))
			t = fcm_strdup(arg);
	}
	if (!t && !strcmp(arg, "-")) {
		size_t cap = 4096, len = 0;
		t = fcm_malloc(cap + 1);
		for (;;) {
			size_t r = fread(t + len, 1, cap - len, stdin);
			len += r;
			if (r == 0)
				break;
			if (len == cap) {
				if (cap >= KEYFILE_MAX)
					fcm_die(FCM_E_USAGE, "standard input is longer than %d bytes: give public keys only", KEYFILE_MAX);
				cap *= 2;
				t = realloc(t, cap + 1);
				if (!t)
					fcm_die_nomem();
			}
		}
		if (ferror(stdin))
			fcm_die_sys(FCM_E_INTERNAL, "unable to read standard input");
		t[len] = '\0';
	} else if (!t) {
		t = fcm_read_file(arg, KEYFILE_MAX, NULL);
		if (!t && errno == ENOENT)
			fcm_die(FCM_E_USAGE, "'%.128s' is neither a public key nor a file: give a .pub file, '-' for standard input, or the key in quotes",
			    arg);
		if (!t)
			fcm_die_sys(FCM_E_USAGE, "unable to read %.128s", arg);
		if (strstr(t, "PRIVATE KEY"))
			fcm_die(FCM_E_USAGE, "%.128s is a private key: give the public one (%.120s.pub)", arg, arg);
	}
	req = jv_object_set(req, jv_string("source"), jv_string(!strcmp(arg, "-") ? "standard input" : "the argument"));
	req = jv_object_set(req, jv_string("keys"), jv_string(t));
	free(t);
	return req;
}

static jv add_run(jv req, jv none, const struct fcm_principal *who)
{
	const char *owner = owner_for(req, who), *src = fcm_get_str(req, "source");
	char *text = fcm_strdup(fcm_get_str(req, "keys") ? fcm_get_str(req, "keys") : "");
	struct key *ks = NULL;
	size_t nk = 0;
	char why[512];
	jv keys, out = jv_array();
	int lk, lineno = 0;

	(void)none;
	/* An admin key may push to every VM: never by default (doc/isolation.md). */
	if (jv_get_kind(jv_object_get(jv_copy(req), jv_string("admin"))) == JV_KIND_TRUE) {
		if (fcm_get_str(req, "owner"))
			fcm_die(FCM_E_USAGE, "--admin or --owner, not both: an admin key belongs to no user");
		if (!who->admin)
			fcm_die(FCM_E_FORBIDDEN, "only an admin may add an admin key");
		owner = "admin";
	} else if (!owner)
		fcm_die(FCM_E_USAGE, "say whose key this is: --owner USER for a user's key (pushes to that user's VMs), "
		    "or --admin for a key that may push to every VM");
	/* Check every line first: all or nothing. */
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		char *p = line;
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p || *p == '#')
			continue;
		ks = realloc(ks, (nk + 1) * sizeof *ks);
		if (!ks)
			fcm_die_nomem();
		if (key_parse(p, &ks[nk], why, sizeof why) < 0) {
			if (lineno > 1 || next)
				fcm_die(FCM_E_USAGE, "line %d: %s", lineno, why);
			fcm_die(FCM_E_USAGE, "%s", why);
		}
		nk++;
		if (nk > 100)
			fcm_die(FCM_E_USAGE, "more than 100 keys at once: add them in parts");
	}
	if (nk == 0)
		fcm_die(FCM_E_USAGE, "no public key in %s", src ? src : "the request");

	lk = keys_lock();
	keys = keys_load();
	for (size_t i = 0; i < nk; i++) {
		int dup = 0;
		jv_array_foreach(keys, j, rec) {
			const char *id = fcm_get_str(rec, "id"), *o = fcm_get_str(rec, "owner");
			if (!dup && id && !strcmp(id, ks[i].id)) {
				if (o && strcmp(o, owner))
					fcm_die(FCM_E_CONFLICT, "key %s (%s) already belongs to %s: one key, one owner; remove it first with 'fcm keys rm %s'",
					    ks[i].id, ks[i].fp, who->admin ? o : "another user", ks[i].id);
				dup = 1;
			}
			jv_free(rec);
		}
		jv r = jv_object();
		r = jv_object_set(r, jv_string("id"), jv_string(ks[i].id));
		r = jv_object_set(r, jv_string("owner"), jv_string(owner));
		r = jv_object_set(r, jv_string("type"), jv_string(ks[i].type));
		r = jv_object_set(r, jv_string("key"), jv_string(ks[i].blob64));
		r = jv_object_set(r, jv_string("comment"), jv_string(ks[i].comment));
		r = jv_object_set(r, jv_string("fingerprint"), jv_string(ks[i].fp));
		r = jv_object_set(r, jv_string("added_at"), jv_number((double)time(NULL)));
		jv shown = jv_object_set(jv_object_delete(jv_copy(r), jv_string("key")), jv_string("added"), jv_bool(!dup));
		out = jv_array_append(out, jv_object_set(fcm_ok(), jv_string("key"), shown));
		if (!dup) {
			keys = jv_array_append(keys, r);
			if (jv_array_length(jv_copy(keys)) > KEYS_MAX)
				fcm_die(FCM_E_USAGE, "more than %d keys: remove some first", KEYS_MAX);
		} else
			jv_free(r);
	}
	keys_save(keys);
	fcm_unlock(lk);
	for (size_t i = 0; i < nk; i++)
		free(ks[i].blob64);
	free(ks);
	free(text);
	return out;
}

static void add_print(jv reply, jv req)
{
	(void)req;
	jv_array_foreach(reply, i, r) {
		jv k = jv_object_get(r, jv_string("key")), added = jv_object_get(jv_copy(k), jv_string("added"));
		printf("%s %s %s (owner %s)\n", jv_get_kind(added) == JV_KIND_TRUE ? "Key added:" : "Key already there:",
		    fcm_get_str(k, "id"), fcm_get_str(k, "fingerprint"), fcm_get_str(k, "owner"));
		jv_free(added);
		jv_free(k);
		(void)i;
	}
	if (!fcm_remote_mode()) {
		char *ak = fcm_path("ssh/authorized_keys");
		if (!sshd_knows(ak)) {
			fprintf(stderr, "note: for git push over ssh, sshd must read %s: add this line to /etc/ssh/sshd_config and reload sshd:\n  ", ak);
			print_sshd_line(stderr);
		}
		free(ak);
	}
}

static jv ls_run(jv req, jv none, const struct fcm_principal *who)
{
	const char *owner = owner_for(req, who);
	jv keys = keys_load(), out = jv_array();

	(void)none;
	jv_array_foreach(keys, i, rec) {
		const char *o = fcm_get_str(rec, "owner");
		if (owner && (!o || strcmp(o, owner)))
			jv_free(rec);
		else
			out = jv_array_append(out, jv_object_delete(rec, jv_string("key")));
		(void)i;
	}
	jv_free(keys);
	return out;
}

static void ls_print(jv reply, jv req)
{
	(void)req;
	printf("%-12s  %-16s  %-11s  %-50s  %s\n", "ID", "OWNER", "TYPE", "FINGERPRINT", "COMMENT");
	jv_array_foreach(reply, i, rec) {
		const char *o = fcm_get_str(rec, "owner"), *c = fcm_get_str(rec, "comment");
		printf("%-12s  %-16s  %-11s  %-50s  %s\n", fcm_get_str(rec, "id"), o ? o : "-",
		    fcm_get_str(rec, "type"), fcm_get_str(rec, "fingerprint"), c && *c ? c : "-");
		jv_free(rec);
		(void)i;
	}
}

static jv rm_run(jv req, jv none, const struct fcm_principal *who)
{
	const char *ref = fcm_get_str(req, "key");
	jv keys, kept = jv_array(), gone = jv_invalid();
	int lk;

	(void)none;
	if (!ref || !*ref || strlen(ref) > 80)
		fcm_die(FCM_E_USAGE, "give a key id or fingerprint (see 'fcm keys ls')");
	lk = keys_lock();
	keys = keys_load();
	jv_array_foreach(keys, i, rec) {
		const char *id = fcm_get_str(rec, "id"), *fp = fcm_get_str(rec, "fingerprint");
		const char *o = fcm_get_str(rec, "owner");
		if (!jv_is_valid(gone) && ((id && !strcmp(id, ref)) || (fp && !strcmp(fp, ref))) &&
		    (who->admin || (o && !strcmp(o, who->name)))) {
			jv_free(gone);
			gone = rec;
		} else
			kept = jv_array_append(kept, rec);
		(void)i;
	}
	jv_free(keys);
	if (!jv_is_valid(gone)) {
		jv_free(kept);
		fcm_die(FCM_E_NOT_FOUND, "no key '%s' (see 'fcm keys ls')", ref);
	}
	keys_save(kept);
	fcm_unlock(lk);
	return jv_object_set(fcm_ok(), jv_string("key"), jv_object_delete(gone, jv_string("key")));
}

static void rm_print(jv reply, jv req)
{
	jv k = jv_object_get(jv_copy(reply), jv_string("key"));

	(void)req;
	printf("Key removed: %s %s (%s)\n", fcm_get_str(k, "id"), fcm_get_str(k, "fingerprint"),
	    fcm_get_str(k, "owner"));
	jv_free(k);
}

static jv sshd_run(jv req, jv none, const struct fcm_principal *who)
{
	(void)req;
	(void)none;
	(void)who;
	print_sshd_line(stdout);
	return jv_null();
}

/* The key this host logs in to its guests with, made on first need. */
static jv guest_run(jv req, jv none, const struct fcm_principal *who)
{
	char why[1024], *key = fcm_guestkey(why, sizeof why), *priv = fcm_guestkey_path();
	jv r;

	(void)req;
	(void)none;
	(void)who;
	if (!key)
		fcm_die(FCM_E_INTERNAL, "%s", why);
	r = jv_object_set(fcm_ok(), jv_string("private"), jv_string(priv));
	r = jv_object_set(r, jv_string("public"), jv_string_fmt("%s.pub", priv));
	r = jv_object_set(r, jv_string("key"), jv_string(key));
	free(key);
	free(priv);
	return r;
}

static void guest_print(jv reply, jv req)
{
	(void)req;
	printf("%s\n", fcm_get_str(reply, "key"));
}

static const struct fcm_opt owner_opt[] = {
	{ "owner", 'o', FCM_OPT_STRING, NULL, NULL, 0, 0, 0 },
	{ "keys", 0, FCM_OPT_STRING, NULL, NULL, 0, 0, FCM_OPT_WORD },
	{ NULL },
};

static const struct fcm_opt add_opt[] = {
	{ "owner", 'o', FCM_OPT_STRING, NULL, NULL, 0, 0, 0 },
	{ "admin", 0, FCM_OPT_FLAG, NULL, NULL, 0, 0, 0 },
	{ "keys", 0, FCM_OPT_STRING, NULL, NULL, 0, 0, FCM_OPT_WORD },
	{ NULL },
};

extern const struct fcm_cmd fcm_cmd_keys;

static const struct fcm_cmd keys_add = {
	.name = "add",
	.usage = "fcm keys add (--owner OWNER | --admin) [--json] KEY|FILE|-",
	.opts = add_opt,
	.args = (const char *const[]){ "source", NULL },
	.routes = (const struct fcm_cmd_route[]){ { "POST", "/v1/keys", 0 }, { NULL } },
	.status = 200,
	.prepare = add_prepare,
	.run = add_run,
	.print = add_print,
	.parent = &fcm_cmd_keys,
};

static const struct fcm_cmd keys_ls = {
	.name = "ls",
	.usage = "fcm keys ls [--owner OWNER] [--json]",
	.opts = owner_opt,
	.flags = FCM_CMD_NOWRITE,
	.routes = (const struct fcm_cmd_route[]){ { "GET", "/v1/keys", 0 }, { NULL } },
	.status = 200,
	.run = ls_run,
	.print = ls_print,
	.parent = &fcm_cmd_keys,
};

static const struct fcm_cmd keys_rm = {
	.name = "rm",
	.usage = "fcm keys rm [--json] ID|SHA256:FP",
	.args = (const char *const[]){ "key", NULL },
	.routes = (const struct fcm_cmd_route[]){ { "DELETE", "/v1/keys", 0 }, { NULL } },
	.status = 200,
	.run = rm_run,
	.print = rm_print,
	.parent = &fcm_cmd_keys,
};

static const struct fcm_cmd keys_sshd = {
	.name = "sshd",
	.usage = "fcm keys sshd",
	.flags = FCM_CMD_TEXT,
	.run = sshd_run,
	.parent = &fcm_cmd_keys,
};

static const struct fcm_cmd keys_guest = {
	.name = "guest",
	.usage = "fcm keys guest [--json]",
	.run = guest_run,
	.print = guest_print,
	.parent = &fcm_cmd_keys,
};

const struct fcm_cmd fcm_cmd_keys = {
	.name = "keys",
	.summary = "the ssh keys allowed to git push, and the host's key into its guests",
	.usage = "fcm keys add (--owner OWNER | --admin) [--json] KEY|FILE|- | fcm keys ls [--owner OWNER] [--json] | "
	    "fcm keys rm [--json] ID|SHA256:FP | fcm keys sshd | fcm keys guest [--json]",
	.subs = (const struct fcm_cmd *const[]){ &keys_add, &keys_ls, &keys_rm, &keys_sshd, &keys_guest, NULL },
};

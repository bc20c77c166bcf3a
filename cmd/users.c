/* fcm users — who may log in, who is an admin, and whose VMs are whose.
 *
 *   fcm users ls [--json]
 *   fcm users allow [--json] ADDRESS | @DOMAIN
 *   fcm users deny [--json] ADDRESS | @DOMAIN
 *   fcm users admin [--remove] [--json] ADDRESS
 *   fcm users reassign [--json] FROM TO
 *   fcm users quota [--user USER] [--vms N] [--cpus N] [--memory MIB] [--disk SIZE] [--clear] [--json]
 *
 * Admins only (the host's admin token, root on the host, or a named admin),
 * here and through the API.  The lists are lib/auth/users.h's
 * $FCM_ROOT/auth/access.json; every change is made under the user store's
 * lock, and then every known user whom the lists no longer let in is marked
 * "allowed":false and loses their tokens at once.  Their VMs stay, owned by
 * them; `reassign` gives every VM of one owner to another (an admin may also
 * destroy them as any VM).  `quota` shows or sets the host's default quota,
 * or one user's (lib/vm/quota.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "auth/oidc.h"
#include "auth/users.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "core/size.h"
#include "vm/quota.h"
#include "vm/vm.h"

#define ACCESS_MAX 10000	/* entries in one list */

static void admin_only(const struct fcm_principal *who)
{
	if (!who->admin)
		fcm_die(FCM_E_FORBIDDEN, "only an admin may manage users");
}

/* The admins of auth.json (c.admins), or an empty list when logins are not
 * set up on this host. */
static void config_load(struct fcm_auth_config *c)
{
	char err[512];

	if (fcm_auth_config_load(c, err, sizeof err) < 0) {
		fcm_auth_config_free(c);
		memset(c, 0, sizeof *c);
		c->admins = jv_array();
	}
}

static jv without(jv list, const char *s, int *found)
{
	jv out = jv_array();

	jv_array_foreach(list, i, a) {
		if (jv_get_kind(a) == JV_KIND_STRING && !strcmp(jv_string_value(a), s)) {
			*found = 1;
			jv_free(a);
		} else
			out = jv_array_append(out, a);
		(void)i;
	}
	jv_free(list);
	return out;
}

static jv with(jv list, const char *s)
{
	int found = 0;

	list = without(list, s, &found);
	if (jv_array_length(jv_copy(list)) >= ACCESS_MAX)
		fcm_die(FCM_E_USAGE, "more than %d entries: use domains", ACCESS_MAX);
	return jv_array_append(list, jv_string(s));
}

static jv list_of(jv access, const char *key)
{
	return jv_object_get(jv_copy(access), jv_string(key));
}

/* Under the lock: save access, mark every user it no longer lets in (and
 * revoke their tokens), set every user's admin flag as it says.  Returns
 * the ids of the users who lost access. */
static jv apply(jv access)
{
	struct fcm_auth_config c;
	char err[512];
	jv all = fcm_users_list(), out = jv_array(), revoked = jv_array();

	config_load(&c);
	jv_array_foreach(all, i, u) {
		const char *email = fcm_get_str(u, "email"), *id = fcm_get_str(u, "id");
		jv was = jv_object_get(jv_copy(u), jv_string("allowed"));
		int admin, in = fcm_access_admits(&c, access, email, &admin);
		if (!in && id) {
			if (fcm_users_revoke_all(id) < 0)
				fcm_die(FCM_E_INTERNAL, "unable to revoke the tokens of %s", id);
			if (jv_get_kind(was) != JV_KIND_FALSE)
				revoked = jv_array_append(revoked, jv_string(id));
		}
		u = jv_object_set(u, jv_string("allowed"), jv_bool(in));
		u = jv_object_set(u, jv_string("admin"), jv_bool(in && admin));
		out = jv_array_append(out, u);
		jv_free(was);
		(void)i;
	}
	jv_free(all);
	fcm_auth_config_free(&c);
	if (fcm_users_save(out, access, err, sizeof err) < 0)
		fcm_die(FCM_E_INTERNAL, "%s", err);
	return revoked;
}

static jv entry_of(jv req, const char *key)
{
	char why[256], *e = fcm_access_entry(fcm_get_str(req, key), why, sizeof why);
	jv r;

	if (!e)
		fcm_die(FCM_E_USAGE, "%s", why);
	r = jv_string(e);
	free(e);
	return r;
}

static jv reply_of(jv access, jv revoked, const char *what, jv entry)
{
	jv r = fcm_ok();

	r = jv_object_set(r, jv_string("done"), jv_string(what));
	r = jv_object_set(r, jv_string("entry"), entry);
	r = jv_object_set(r, jv_string("revoked"), revoked);
	jv_object_foreach(access, k, v)
		r = jv_object_set(r, k, v);
	jv_free(access);
	return r;
}

static jv allow_run(jv req, jv none, const struct fcm_principal *who)
{
	jv e = entry_of(req, "entry"), access, revoked;
	char err[512];
	int lk, found = 0;

	(void)none;
	admin_only(who);
	if ((lk = fcm_users_lock(err, sizeof err)) < 0)
		fcm_die(FCM_E_INTERNAL, "%s", err);
	access = fcm_access_load();
	access = jv_object_set(access, jv_string("allow"), with(list_of(access, "allow"), jv_string_value(e)));
	access = jv_object_set(access, jv_string("deny"), without(list_of(access, "deny"), jv_string_value(e), &found));
	revoked = apply(jv_copy(access));
	fcm_unlock(lk);
	return reply_of(access, revoked, "allowed", e);
}

static jv deny_run(jv req, jv none, const struct fcm_principal *who)
{
	jv e = entry_of(req, "entry"), access, revoked;
	const char *s = jv_string_value(e);
	char err[512];
	int lk, found = 0;

	(void)none;
	admin_only(who);
	if ((lk = fcm_users_lock(err, sizeof err)) < 0)
		fcm_die(FCM_E_INTERNAL, "%s", err);
	access = fcm_access_load();
	access = jv_object_set(access, jv_string("allow"), without(list_of(access, "allow"), s, &found));
	access = jv_object_set(access, jv_string("admins"), without(list_of(access, "admins"), s, &found));
	if (s[0] != '@') {
		struct fcm_auth_config c;
		int admin, named;
		jv empty = jv_object();
		config_load(&c);
		named = fcm_access_admits(&c, empty, s, &admin);
		fcm_auth_config_free(&c);
		jv_free(empty);
		if (named)
			fcm_die(FCM_E_CONFLICT, "%s is an admin named in %s/auth.json (or FCM_OIDC_ADMINS): remove it there",
			    s, fcm_root());
		/* An address still let in by its domain is denied by name. */
		if (fcm_access_admits(NULL, access, s, &admin)) {
			access = jv_object_set(access, jv_string("deny"), with(list_of(access, "deny"), s));
			found = 1;
		}
	}
	if (!found)
		fcm_die(FCM_E_NOT_FOUND, "%s is not on the allow-list (see 'fcm users ls')", s);
	revoked = apply(jv_copy(access));
	fcm_unlock(lk);
	return reply_of(access, revoked, "denied", e);
}

static jv admin_run(jv req, jv none, const struct fcm_principal *who)
{
	jv e = entry_of(req, "email"), access, revoked, rm = jv_object_get(jv_copy(req), jv_string("remove"));
	const char *s = jv_string_value(e);
	int remove = jv_get_kind(rm) == JV_KIND_TRUE, lk, found = 0;
	char err[512];

	(void)none;
	jv_free(rm);
	admin_only(who);
	if (s[0] == '@')
		fcm_die(FCM_E_USAGE, "an admin is a person: give an e-mail address, not a domain");
	if ((lk = fcm_users_lock(err, sizeof err)) < 0)
		fcm_die(FCM_E_INTERNAL, "%s", err);
	access = fcm_access_load();
	if (remove) {
		access = jv_object_set(access, jv_string("admins"), without(list_of(access, "admins"), s, &found));
		if (!found)
			fcm_die(FCM_E_NOT_FOUND, "%s is not an admin named with 'fcm users admin' (see 'fcm users ls')", s);
	} else {
		access = jv_object_set(access, jv_string("admins"), with(list_of(access, "admins"), s));
		access = jv_object_set(access, jv_string("deny"), without(list_of(access, "deny"), s, &found));
	}
	revoked = apply(jv_copy(access));
	fcm_unlock(lk);
	return reply_of(access, revoked, remove ? "no longer admin" : "admin", e);
}

/* An owner from what an admin typed: an owner id, or the e-mail address of
 * a known user.  fatal when neither. */
static char *owner_of(const char *s, int known_only)
{
	char why[256];
	jv all = fcm_users_list();
	char *r = NULL;

	if (!s || !*s)
		fcm_die(FCM_E_USAGE, "usage: fcm users reassign FROM TO (user ids or e-mail addresses)");
	jv_array_foreach(all, i, u) {
		const char *id = fcm_get_str(u, "id"), *email = fcm_get_str(u, "email");
		jv al = jv_object_get(jv_copy(u), jv_string("allowed"));
		if (!r && id && (!strcmp(id, s) || (email && !strcasecmp(email, s))) &&
		    (!known_only || jv_get_kind(al) != JV_KIND_FALSE))
			r = fcm_strdup(id);
		jv_free(al);
		jv_free(u);
		(void)i;
	}
	jv_free(all);
	if (r)
		return r;
	if (known_only && strcmp(s, "admin"))
		fcm_die(FCM_E_NOT_FOUND, "no user '%.128s' who may log in (see 'fcm users ls'); or give 'admin'", s);
	if (strchr(s, '@'))
		fcm_die(FCM_E_NOT_FOUND, "no user with the address '%.128s' (see 'fcm users ls')", s);
	if (fcm_name_check(s, why, sizeof why) < 0)
		fcm_die(FCM_E_USAGE, "'%.128s' is not a user id: %s", s, why);
	return fcm_strdup(s);
}

static jv reassign_run(jv req, jv none, const struct fcm_principal *who)
{
	char *from, *to;
	jv vms, moved = jv_array();
	int lk;

	(void)none;
	admin_only(who);
	from = owner_of(fcm_get_str(req, "from"), 0);
	to = owner_of(fcm_get_str(req, "to"), 1);
	lk = fcm_vm_table_lock();
	vms = fcm_vm_list();
	jv_array_foreach(vms, i, rec) {
		const char *o = fcm_get_str(rec, "owner");
		if (o && !strcmp(o, from)) {
			jv name = jv_object_get(jv_copy(rec), jv_string("name"));
			if (fcm_vm_save(jv_object_set(rec, jv_string("owner"), jv_string(to))) < 0)
				fcm_die_sys(FCM_E_INTERNAL, "unable to write the record of VM '%s'", jv_string_value(name));
			moved = jv_array_append(moved, name);
		} else
			jv_free(rec);
		(void)i;
	}
	jv_free(vms);
	fcm_unlock(lk);
	jv r = fcm_ok();
	r = jv_object_set(r, jv_string("from"), jv_string(from));
	r = jv_object_set(r, jv_string("to"), jv_string(to));
	r = jv_object_set(r, jv_string("vms"), moved);
	free(from);
	free(to);
	return r;
}

static jv ls_run(jv req, jv none, const struct fcm_principal *who)
{
	jv access = fcm_access_load(), all = fcm_users_list(), vms = fcm_vm_list(), users = jv_array();
	jv r = fcm_ok();

	(void)req;
	(void)none;
	admin_only(who);
	jv_array_foreach(all, i, u) {
		const char *id = fcm_get_str(u, "id");
		int n = 0;
		jv_array_foreach(vms, j, rec) {
			const char *o = fcm_get_str(rec, "owner");
			n += o && id && !strcmp(o, id);
			jv_free(rec);
			(void)j;
		}
		jv al = jv_object_get(jv_copy(u), jv_string("allowed")), ad = jv_object_get(jv_copy(u), jv_string("admin"));
		jv v = jv_object();
		v = jv_object_set(v, jv_string("id"), jv_object_get(jv_copy(u), jv_string("id")));
		v = jv_object_set(v, jv_string("email"), jv_object_get(jv_copy(u), jv_string("email")));
		v = jv_object_set(v, jv_string("name"), jv_object_get(jv_copy(u), jv_string("name")));
		v = jv_object_set(v, jv_string("admin"), jv_bool(jv_get_kind(ad) == JV_KIND_TRUE));
		v = jv_object_set(v, jv_string("allowed"), jv_bool(jv_get_kind(al) != JV_KIND_FALSE));
		v = jv_object_set(v, jv_string("vms"), jv_number(n));
		v = jv_object_set(v, jv_string("last_login"), jv_object_get(jv_copy(u), jv_string("last_login")));
		users = jv_array_append(users, v);
		jv_free(al);
		jv_free(ad);
		jv_free(u);
		(void)i;
	}
	jv_free(all);
	jv_free(vms);
	jv_object_foreach(access, k, v)
		r = jv_object_set(r, k, v);
	jv_free(access);
	return jv_object_set(r, jv_string("users"), users);
}

/* --- quotas ---------------------------------------------------------------------- */

static jv quota_run(jv req, jv none, const struct fcm_principal *who)
{
	static const char *const keys[] = { "vms", "cpus", "memory", "disk" };
	const char *user = fcm_get_str(req, "user"), *disk = fcm_get_str(req, "disk");
	jv clear = jv_object_get(jv_copy(req), jv_string("clear")), all, entry, r;
	int lk, set = 0;
	char *uid = NULL;

	(void)none;
	admin_only(who);
	if (user && strcmp(user, "default"))
		uid = owner_of(user, 0);
	if (uid && !strcmp(uid, "admin"))
		fcm_die(FCM_E_USAGE, "the host's admin has no quota");
	if (disk && !fcm_size_parse(disk))
		fcm_die(FCM_E_USAGE, "--disk must be a size like 20G or 512M, not '%.32s'", disk);
	lk = fcm_vm_table_lock();
	all = fcm_quota_load();
	entry = uid ? jv_object_get(jv_object_get(jv_copy(all), jv_string("users")), jv_string(uid)) :
	    jv_object_get(jv_copy(all), jv_string("default"));
	if (jv_get_kind(entry) != JV_KIND_OBJECT || jv_get_kind(clear) == JV_KIND_TRUE) {
		jv_free(entry);
		entry = jv_object();
		set = jv_get_kind(clear) == JV_KIND_TRUE;
	}
	for (int i = 0; i < 4; i++) {
		jv v = jv_object_get(jv_copy(req), jv_string(keys[i]));
		if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL) {
			entry = jv_object_set(entry, jv_string(keys[i]), v);
			set = 1;
		} else
			jv_free(v);
	}
	if (set) {
		if (uid) {
			jv users = jv_object_get(jv_copy(all), jv_string("users"));
			users = jv_object_length(jv_copy(entry)) ? jv_object_set(users, jv_string(uid), jv_copy(entry)) :
			    jv_object_delete(users, jv_string(uid));
			all = jv_object_set(all, jv_string("users"), users);
		} else
			all = jv_object_set(all, jv_string("default"), jv_copy(entry));
		if (fcm_quota_save(jv_copy(all)) < 0)
			fcm_die_sys(FCM_E_INTERNAL, "unable to write %s/quota.json", fcm_root());
	}
	fcm_unlock(lk);
	r = fcm_ok();
	r = jv_object_set(r, jv_string("user"), uid ? jv_string(uid) : jv_string("default"));
	r = jv_object_set(r, jv_string("set"), entry);
	if (uid) {
		struct fcm_usage q, u;
		fcm_quota_of(uid, &q);
		fcm_usage_of(uid, &u);
		r = jv_object_set(r, jv_string("quota"), fcm_usage_json(&q, 1));
		r = jv_object_set(r, jv_string("usage"), fcm_usage_json(&u, 0));
	}
	jv_free(all);
	jv_free(clear);
	free(uid);
	return r;
}

static void quota_print(jv reply, jv req)
{
	jv shown = jv_object_get(jv_copy(reply), jv_string("quota"));
	jv d;

	(void)req;
	if (jv_get_kind(shown) != JV_KIND_OBJECT) {
		jv_free(shown);
		shown = jv_object_get(jv_copy(reply), jv_string("set"));
	}
	d = jv_dump_string(shown, 0);
	printf("quota of %s: %s\n", fcm_get_str(reply, "user"), jv_string_value(d));
	jv_free(d);
}

static void print_list(const char *what, jv reply, const char *key)
{
	jv l = jv_object_get(jv_copy(reply), jv_string(key));

	printf("%s", what);
	if (jv_get_kind(l) != JV_KIND_ARRAY || jv_array_length(jv_copy(l)) == 0)
		printf(" (none)");
	jv_array_foreach(l, i, e) {
		printf(" %s", jv_string_value(e));
		jv_free(e);
		(void)i;
	}
	printf("\n");
	jv_free(l);
}

static void ls_print(jv reply, jv req)
{
	jv users = jv_object_get(jv_copy(reply), jv_string("users"));

	(void)req;
	print_list("Allowed:", reply, "allow");
	print_list("Denied: ", reply, "deny");
	print_list("Admins: ", reply, "admins");
	printf("\n%-24s  %-32s  %-5s  %-7s  %s\n", "USER", "EMAIL", "ADMIN", "ALLOWED", "VMS");
	jv_array_foreach(users, i, u) {
		const char *email = fcm_get_str(u, "email");
		jv a = jv_object_get(jv_copy(u), jv_string("admin")), al = jv_object_get(jv_copy(u), jv_string("allowed"));
		jv n = jv_object_get(jv_copy(u), jv_string("vms"));
		printf("%-24s  %-32s  %-5s  %-7s  %d\n", fcm_get_str(u, "id"), email ? email : "-",
		    jv_get_kind(a) == JV_KIND_TRUE ? "yes" : "no", jv_get_kind(al) == JV_KIND_TRUE ? "yes" : "no",
		    (int)jv_number_value(n));
		jv_free(a);
		jv_free(al);
		jv_free(n);
		jv_free(u);
		(void)i;
	}
	jv_free(users);
}

static void change_print(jv reply, jv req)
{
	jv rv = jv_object_get(jv_copy(reply), jv_string("revoked"));

	(void)req;
	printf("%s: %s\n", fcm_get_str(reply, "entry"), fcm_get_str(reply, "done"));
	jv_array_foreach(rv, i, id) {
		printf("%s may no longer log in: its tokens are revoked; its VMs stay (fcm users reassign %s USER, or fcm destroy)\n",
		    jv_string_value(id), jv_string_value(id));
		jv_free(id);
		(void)i;
	}
	jv_free(rv);
}

static void reassign_print(jv reply, jv req)
{
	jv vms = jv_object_get(jv_copy(reply), jv_string("vms"));
	int n = jv_array_length(jv_copy(vms));

	(void)req;
	printf("%d VM%s of %s now owned by %s", n, n == 1 ? "" : "s", fcm_get_str(reply, "from"), fcm_get_str(reply, "to"));
	jv_array_foreach(vms, i, v) {
		printf("%s%s", i ? ", " : ": ", jv_string_value(v));
		jv_free(v);
	}
	printf("\n");
	jv_free(vms);
}

static const struct fcm_opt entry_opt[] = {
	{ "entry", 0, FCM_OPT_STRING, NULL, NULL, 0, 0, FCM_OPT_WORD },
	{ NULL },
};

static const struct fcm_opt admin_opt[] = {
	{ "remove", 0, FCM_OPT_FLAG, NULL, NULL, 0, 0, 0 },
	{ "email", 0, FCM_OPT_STRING, NULL, NULL, 0, 0, FCM_OPT_WORD },
	{ NULL },
};

static const struct fcm_opt quota_opt[] = {
	{ "user", 'u', FCM_OPT_STRING, NULL, NULL, 0, 0, 0 },
	{ "vms", 0, FCM_OPT_NUMBER, NULL, NULL, 0, 100000, 0 },
	{ "cpus", 0, FCM_OPT_NUMBER, NULL, NULL, 0, 1000000, 0 },
	{ "memory", 0, FCM_OPT_NUMBER, NULL, NULL, 0, 1L << 40, 0 },
	{ "disk", 0, FCM_OPT_STRING, NULL, NULL, 0, 0, 0 },
	{ "clear", 0, FCM_OPT_FLAG, NULL, NULL, 0, 0, 0 },
	{ NULL },
};

extern const struct fcm_cmd fcm_cmd_users;

static const struct fcm_cmd users_ls = {
	.name = "ls",
	.usage = "fcm users ls [--json]",
	.flags = FCM_CMD_NOWRITE,
	.routes = (const struct fcm_cmd_route[]){ { "GET", "/v1/users", 0 }, { NULL } },
	.status = 200,
	.run = ls_run,
	.print = ls_print,
	.parent = &fcm_cmd_users,
};

static const struct fcm_cmd users_allow = {
	.name = "allow",
	.usage = "fcm users allow [--json] ADDRESS|@DOMAIN",
	.opts = entry_opt,
	.args = (const char *const[]){ "entry", NULL },
	.routes = (const struct fcm_cmd_route[]){ { "POST", "/v1/users/allow", 0 }, { NULL } },
	.status = 200,
	.run = allow_run,
	.print = change_print,
	.parent = &fcm_cmd_users,
};

static const struct fcm_cmd users_deny = {
	.name = "deny",
	.usage = "fcm users deny [--json] ADDRESS|@DOMAIN",
	.opts = entry_opt,
	.args = (const char *const[]){ "entry", NULL },
	.routes = (const struct fcm_cmd_route[]){ { "POST", "/v1/users/deny", 0 }, { NULL } },
	.status = 200,
	.run = deny_run,
	.print = change_print,
	.parent = &fcm_cmd_users,
};

static const struct fcm_cmd users_admin = {
	.name = "admin",
	.usage = "fcm users admin [--remove] [--json] ADDRESS",
	.opts = admin_opt,
	.args = (const char *const[]){ "email", NULL },
	.routes = (const struct fcm_cmd_route[]){ { "POST", "/v1/users/admin", 0 }, { NULL } },
	.status = 200,
	.run = admin_run,
	.print = change_print,
	.parent = &fcm_cmd_users,
};

static const struct fcm_cmd users_reassign = {
	.name = "reassign",
	.usage = "fcm users reassign [--json] FROM TO",
	.args = (const char *const[]){ "from", "to", NULL },
	.routes = (const struct fcm_cmd_route[]){ { "POST", "/v1/users/reassign", 0 }, { NULL } },
	.status = 200,
	.run = reassign_run,
	.print = reassign_print,
	.parent = &fcm_cmd_users,
};

static const struct fcm_cmd users_quota = {
	.name = "quota",
	.usage = "fcm users quota [--user USER] [--vms N] [--cpus N] [--memory MIB] [--disk SIZE] [--clear] [--json]",
	.opts = quota_opt,
	.routes = (const struct fcm_cmd_route[]){ { "POST", "/v1/users/quota", 0 }, { NULL } },
	.status = 200,
	.run = quota_run,
	.print = quota_print,
	.parent = &fcm_cmd_users,
};

const struct fcm_cmd fcm_cmd_users = {
	.name = "users",
	.summary = "who may log in, who is an admin, and whose VMs are whose",
	.usage = "fcm users ls [--json] | fcm users allow|deny [--json] ADDRESS|@DOMAIN | "
	    "fcm users admin [--remove] [--json] ADDRESS | fcm users reassign [--json] FROM TO | "
	    "fcm users quota [--user USER] [--vms N] [--cpus N] [--memory MIB] [--disk SIZE] [--clear] [--json]",
	.subs = (const struct fcm_cmd *const[]){ &users_ls, &users_allow, &users_deny, &users_admin,
	    &users_reassign, &users_quota, NULL },
};

/* fcm remote — add a VM's git remote to the current git repository.
 *
 * The host says the VM's git URL (its "git" field, root@<host>:<name>.git,
 * from fcm-repo); the client adds it to the repository it runs in.  An
 * existing remote of that name with the same URL is fine; with another URL
 * it is refused, naming the way out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/run.h"

static int remote_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '-' || s[0] == '.' || strstr(s, ".."))
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

/* Run git quietly: its exit status, and the first line of its stdout. */
static int git(char *out[1], char *a0, char *a1, char *a2, char *a3, char *a4)
{
	char *argv[] = { "git", a0, a1, a2, a3, a4, NULL };
	char *o = NULL;
	int st = fcm_run_capture(argv, NULL, 0, &o, 4096);

	if (st < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to run git");
	if (o)
		o[strcspn(o, "\n")] = '\0';
	if (out)
		*out = o;
	else
		free(o);
	return st;
}

static const char *remote_of(jv req)
{
	const char *r = fcm_get_str(req, "remote");

	return r ? r : "origin";
}

/* On the client, first: a good remote name, in a git repository. */
static jv prepare(jv req)
{
	const char *remote = remote_of(req);

	if (!remote_name_ok(remote))
		fcm_die(FCM_E_USAGE, "'%.64s' is not a good remote name: use letters, digits, '-', '_' and '.'", remote);
	if (git(NULL, "rev-parse", "--git-dir", NULL, NULL, NULL) != 0)
		fcm_die(FCM_E_USAGE, "not in a git repository: run 'git init' (or cd into your app) first");
	return req;
}

/* On the host: the VM's git URL. */
static jv run(jv req, jv rec, const struct fcm_principal *who)
{
	const char *name = fcm_get_str(rec, "name"), *url = fcm_get_str(rec, "git");
	jv out = jv_object_set(jv_object(), jv_string("ok"), jv_true());

	(void)req;
	(void)who;
	out = jv_object_set(out, jv_string("name"), jv_string(name));
	if (url)
		return jv_object_set(out, jv_string("git"), jv_string(url));
	/* An older record: ask fcm-repo. */
	jv r = fcm_call("repo", jv_object_set(jv_object_set(jv_object(), jv_string("op"), jv_string("show")),
	    jv_string("name"), jv_string(name)));
	if (!fcm_reply_ok(r) || !fcm_get_str(r, "git"))
		fcm_die(FCM_E_NOT_FOUND, "VM '%s' has no git remote: %s", name, fcm_reply_error(r));
	out = jv_object_set(out, jv_string("git"), jv_string(fcm_get_str(r, "git")));
	jv_free(r);
	return out;
}

/* On the client, last: add the remote here. */
static jv after(jv reply, jv req)
{
	const char *remote = remote_of(req), *url = fcm_get_str(reply, "git");
	char *key = fcm_asprintf("remote.%s.url", remote), *o = NULL;
	int added = 0;

	/* Quiet when absent, unlike `git remote get-url`. */
	if (git(&o, "config", "--get", key, NULL, NULL) == 0 && o) {
		if (strcmp(o, url))
			fcm_die(FCM_E_CONFLICT, "remote '%s' already points to %s: choose another with --name, or run 'git remote set-url %s %s'",
			    remote, o, remote, url);
	} else {
		int st = git(NULL, "remote", "add", (char *)remote, (char *)url, NULL);
		if (st != 0)
			fcm_die(FCM_E_INTERNAL, "git remote add %s %s failed (exit %d)", remote, url, st);
		added = 1;
	}
	free(o);
	free(key);
	reply = jv_object_set(reply, jv_string("remote"), jv_string(remote));
	return jv_object_set(reply, jv_string("added"), jv_bool(added));
}

static void print(jv reply, jv req)
{
	const char *remote = fcm_get_str(reply, "remote"), *url = fcm_get_str(reply, "git");
	jv added = jv_object_get(jv_copy(reply), jv_string("added"));

	(void)req;
	if (jv_get_kind(added) == JV_KIND_TRUE)
		printf("Added remote '%s': %s\n", remote, url);
	else
		printf("Remote '%s' is already %s\n", remote, url);
	printf("Deploy with: git push %s main\n", remote);
	jv_free(added);
}

static const struct fcm_opt opts[] = {
	{ "name", 'n', FCM_OPT_STRING, "remote", NULL, 0, 0, FCM_OPT_CLIENT },
	{ NULL },
};

const struct fcm_cmd fcm_cmd_remote = {
	.name = "remote",
	.summary = "add a VM's git remote to the current repository",
	.usage = "fcm remote [VM] [--name REMOTE] [--json]",
	.opts = opts,
	.flags = FCM_CMD_VM | FCM_CMD_NOWRITE,
	.routes = (const struct fcm_cmd_route[]){ { "GET", "/v1/vms/{vm}/remote", 0 }, { NULL } },
	.status = 200,
	.prepare = prepare,
	.run = run,
	.after = after,
	.print = print,
};

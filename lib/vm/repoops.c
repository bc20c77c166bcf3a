/* repoops.c — the operations of fcm-repo (see repoops.h).
 *
 * fcm-repo — the bare git repository of each VM, for git push deploys.
 *
 *   {"op":"create","id":"8i5agfx2","name":"cosmic-nova","owner":"admin"}
 *       → {"ok":true,"path":"/var/lib/firecracker/git/cosmic-nova.git",
 *          "git":"root@64.34.93.45:cosmic-nova.git"}
 *   {"op":"delete","name":"cosmic-nova"}            → {"ok":true}  (idempotent)
 *   {"op":"show","name":"cosmic-nova"}              → as create, with "exists"
 *
 * The repo is $FCM_ROOT/git/<name>.git, made whole or not at all: the layout
 * of `git init --bare` written in a temporary directory beside it (without
 * git: make_bare_repo), the hook and fcm.json, then one rename.  Its
 * pre-receive hook is fixed text naming only checked paths; it execs fcm-deploy, which deploys a push to main/master into the VM
 * and refuses the push when the deploy fails (doc/fcm-deploy.md).
 *
 * The git remote is root@<host>:<name>.git, <host> being $FCM_GIT_HOST (a DNS
 * name or IPv4 address) or the public IP (lib/vm/expose.h).  With $FCM_GIT_PORT
 * it is ssh://root@<host>:<port>/<name>.git. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/atomic.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "vm/repoops.h"
#include "core/rmtree.h"
#include "core/run.h"
#include "vm/svc.h"
#include "vm/vm.h"

const char fcm_repo_usage[] = "fcm-repo [create id=ID name=NAME owner=OWNER | delete name=NAME | show name=NAME]";

/* The git remote for a repo name (malloc'd), or NULL with the reason. */
static char *git_url(const char *name, char *err, size_t errlen)
{
	const char *host = getenv("FCM_GIT_HOST"), *port = getenv("FCM_GIT_PORT");
	char ip[16], why[256];
	long p;

	if (host && *host) {
		struct in_addr a;
		if (inet_pton(AF_INET, host, &a) != 1 && fcm_domain_check(host, why, sizeof why) < 0) {
			snprintf(err, errlen, "FCM_GIT_HOST is neither an IPv4 address nor a DNS name: %s", why);
			return NULL;
		}
		snprintf(ip, sizeof ip, "%s", "");
	} else {
		if (fcm_public_ip(ip, err, errlen) < 0)
			return NULL;
		host = ip;
	}
	if (port && *port) {
		if (fcm_port_parse(port, &p, why, sizeof why) < 0) {
			snprintf(err, errlen, "FCM_GIT_PORT: %s", why);
			return NULL;
		}
		return fcm_asprintf("ssh://root@%s:%ld/%s.git", host, p, name);
	}
	return fcm_asprintf("root@%s:%s.git", host, name);
}

/* The bare repository `git init --quiet --bare --template= --shared=0600
 * --initial-branch=main dir` makes (gitrepository-layout(5)), written here
 * without starting git (a create's host-side time, issue 22): directories
 * 0700 and files 0600, root's alone (doc/isolation.md), HEAD on main, and
 * the config git writes followed by fcm's [receive] settings: pushes may
 * rewrite history, as on Heroku (the repo mirrors the app), and every pushed
 * object is checked (fcm-git-shell says so too).  Not fsynced, as git init
 * does not: a create interrupted by a crash is undone by fcm daemon's start
 * (lib/vm/repair.h).  test/deploy-repo.bats has git check the result.
 * 0, or -1 with errno. */
static int make_bare_repo(const char *dir)
{
	static const char *const dirs[] = { "", "/objects", "/objects/info", "/objects/pack",
		"/refs", "/refs/heads", "/refs/tags", NULL };
	static const char head[] = "ref: refs/heads/main\n";
	static const char config[] =
	    "[core]\n"
	    "\trepositoryformatversion = 0\n"
	    "\tfilemode = true\n"
	    "\tbare = true\n"
	    "\tsharedrepository = 0600\n"
	    "[receive]\n"
	    "\tdenyNonFastForwards = false\n"
	    "\tdenyDeleteCurrent = true\n"
	    "\tfsckObjects = true\n";
	char *p;
	int r = 0;

	for (size_t i = 0; dirs[i] && r == 0; i++) {
		p = fcm_asprintf("%s%s", dir, dirs[i]);
		r = mkdir(p, 0700);
		free(p);
	}
	if (r == 0) {
		p = fcm_asprintf("%s/HEAD", dir);
		r = fcm_write_replace(p, head, sizeof head - 1, 0600);
		free(p);
	}
	if (r == 0) {
		p = fcm_asprintf("%s/config", dir);
		r = fcm_write_replace(p, config, sizeof config - 1, 0600);
		free(p);
	}
	return r;
}

static const char hook_fmt[] =
    "#!/bin/sh\n"
    "# Written by fcm-repo: deploys each push to main or master into VM %s.\n"
    "# A failed deploy refuses the push and leaves the previous release serving.\n"
    "FCM_ROOT='%s'\n"
    "export FCM_ROOT\n"
    "exec '%s' --hook\n";

static int write_hook(const char *repo, const char *name)
{
	char *deploy = fcm_helper("deploy");
	char *hooks = fcm_asprintf("%s/hooks", repo);
	char *path = fcm_asprintf("%s/hooks/pre-receive", repo);
	char *text;
	int r = -1;

	if (!fcm_path_sane(deploy) || !fcm_path_sane(fcm_root())) {
		errno = EINVAL;
		goto out;
	}
	text = fcm_asprintf(hook_fmt, name, fcm_root(), deploy);
	if (fcm_mkdirs(hooks, 0700) == 0)
		r = fcm_write_atomic(path, text, strlen(text), 0700);
	free(text);
out:
	free(deploy);
	free(hooks);
	free(path);
	return r;
}

static jv reply_for(const char *name, const char *path)
{
	char err[512];
	char *url = git_url(name, err, sizeof err);
	jv r;

	if (!url)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	r = jv_object_set(fcm_ok(), jv_string("path"), jv_string(path));
	r = jv_object_set(r, jv_string("git"), jv_string(url));
	free(url);
	return r;
}

static jv op_create(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "id", JV_KIND_STRING, 1 },
		{ "name", JV_KIND_STRING, 1 },
		{ "owner", JV_KIND_STRING, 0 },
		{ NULL, 0, 0 },
	};
	char err[512];
	const char *id, *name, *owner;
	char *path = NULL, *tmp = NULL, *meta = NULL;
	jv reply;
	int lk;

	if (fcm_fields_check(req, spec, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	id = fcm_get_str(req, "id");
	name = fcm_get_str(req, "name");
	owner = fcm_get_str(req, "owner");
	if (!owner)
		owner = "admin";
	if (fcm_id_check(id) < 0)
		return fcm_fail(FCM_E_USAGE, "'%.64s' is not a VM id (8 of a-z0-9)", id);
	if (fcm_name_check(name, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	if (fcm_owner_check(owner, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	{
		/* Check the remote can be named before making anything. */
		char *url = git_url(name, err, sizeof err);
		if (!url)
			return fcm_fail(FCM_E_USAGE, "%s", err);
		free(url);
	}

	lk = fcm_lock_dir("git", 0700);
	if (lk < 0)
		return fcm_fail(FCM_E_INTERNAL, "unable to lock %s/git: %s", fcm_root(), strerror(errno));
	path = fcm_path("git/%s.git", name);
	meta = fcm_asprintf("%s/fcm.json", path);

	if (access(path, F_OK) == 0) {
		/* Idempotent for the same VM; never take over another VM's repo. */
		jv m = fcm_read_json(meta);
		const char *mid = jv_is_valid(m) ? fcm_get_str(m, "id") : NULL;
		if (mid && !strcmp(mid, id))
			reply = reply_for(name, path);
		else if (mid)
			reply = fcm_fail(FCM_E_USAGE,
			    "a git repo for '%s' already exists (%s) and belongs to VM %s: remove it with 'fcm-repo delete name=%s' if that VM is gone",
			    name, path, mid, name);
		else
			reply = fcm_fail(FCM_E_USAGE,
			    "%s already exists but was not made by fcm-repo: move it away, or remove it with 'fcm-repo delete name=%s'",
			    path, name);
		jv_free(m);
		goto out;
	}

	tmp = fcm_path("git/.new-%s-%ld", name, (long)getpid());
	fcm_rm_tree(tmp);
	if (make_bare_repo(tmp) < 0) {
		reply = fcm_fail(FCM_E_INTERNAL, "unable to make the git repository %s: %s", tmp, strerror(errno));
		goto undo;
	}
	if (write_hook(tmp, name) < 0) {
		reply = errno == EINVAL
		    ? fcm_fail(FCM_E_USAGE, "the path of fcm-deploy or FCM_ROOT has characters other than letters, digits and -_.+/: install fcm under a plain path")
		    : fcm_fail(FCM_E_INTERNAL, "unable to write the deploy hook in %s: %s", tmp, strerror(errno));
		goto undo;
	}
	{
		char *tmeta = fcm_asprintf("%s/fcm.json", tmp);
		jv m = jv_object_set(jv_object(), jv_string("id"), jv_string(id));
		m = jv_object_set(m, jv_string("name"), jv_string(name));
		m = jv_object_set(m, jv_string("owner"), jv_string(owner));
		int r = fcm_write_json_atomic(tmeta, m, 0600);
		free(tmeta);
		if (r < 0) {
			reply = fcm_fail(FCM_E_INTERNAL, "unable to write %s/fcm.json: %s", tmp, strerror(errno));
			goto undo;
		}
	}
	if (rename(tmp, path) < 0) {
		reply = fcm_fail(FCM_E_INTERNAL, "unable to rename %s to %s: %s", tmp, path, strerror(errno));
		goto undo;
	}
	{
		char *git = fcm_path("git");
		fcm_fsync_path(git);	/* the rename, durable */
		free(git);
	}
	reply = reply_for(name, path);
	goto out;
undo:
	fcm_rm_tree(tmp);
out:
	fcm_unlock(lk);
	free(path);
	free(tmp);
	free(meta);
	return reply;
}

static jv op_delete(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "name", JV_KIND_STRING, 1 },
		{ "id", JV_KIND_STRING, 0 },
		{ NULL, 0, 0 },
	};
	char err[512];
	const char *name;
	char *path, *old;
	jv reply;
	int lk;

	if (fcm_fields_check(req, spec, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	name = fcm_get_str(req, "name");
	if (fcm_name_check(name, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	lk = fcm_lock_dir("git", 0755);
	if (lk < 0)
		return fcm_fail(FCM_E_INTERNAL, "unable to lock %s/git: %s", fcm_root(), strerror(errno));
	reply = fcm_ok();	/* (made before the checks, it leaked when they failed) */
	path = fcm_path("git/%s.git", name);
	old = fcm_path("git/.old-%s-%ld", name, (long)getpid());
	fcm_rm_tree(old);
	if (rename(path, old) < 0) {
		if (errno != ENOENT) {
			int e = errno;
			jv_free(reply);
			reply = fcm_fail(FCM_E_INTERNAL, "unable to remove %s: %s", path, strerror(e));
		}
	} else if (fcm_rm_tree(old) < 0) {
		fcm_warn_sys("unable to remove all of %s", old);
	}
	fcm_unlock(lk);
	free(path);
	free(old);
	return reply;
}

static jv op_show(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "name", JV_KIND_STRING, 1 },
		{ NULL, 0, 0 },
	};
	char err[512];
	const char *name;
	char *path;
	jv reply;

	if (fcm_fields_check(req, spec, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	name = fcm_get_str(req, "name");
	if (fcm_name_check(name, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	path = fcm_path("git/%s.git", name);
	reply = reply_for(name, path);
	if (fcm_reply_ok(reply))
		reply = jv_object_set(reply, jv_string("exists"), jv_bool(access(path, F_OK) == 0));
	free(path);
	return reply;
}

const struct fcm_op fcm_repo_ops[] = {
	{ "create", op_create },
	{ "delete", op_delete },
	{ "show", op_show },
	{ NULL, NULL },
};

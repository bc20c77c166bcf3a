/* fcm import — a VM from the archive of fcm export on stdin, on this host
 * or another (doc/fcm-import.md, doc/export.md): its files into a new VM
 * directory, a new id, a new address and tap, a fresh git repo holding the
 * archive's history, its service; started when it was running.  Its name
 * is kept unless --name gives another; a name in use is refused.  Any
 * failure undoes every step done, as create does. */
#include <errno.h>
#include <fnmatch.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "cmd/cmd.h"
#include "vmmake.h"
#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "core/rmtree.h"
#include "core/run.h"
#include "core/stateformat.h"
#include "vm/export.h"
#include "vm/expose.h"
#include "vm/domains.h"
#include "vm/guestkey.h"
#include "vm/image.h"
#include "vm/lifecycle.h"
#include "vm/quota.h"
#include "vm/svc.h"
#include "vm/vm.h"
#include "vm/vmprint.h"

static char *tmp;		/* where the archive is unpacked */
static const char *id;		/* set once the VM's directory exists */
static const char *vm_name;

/* Undo everything and die with one line. */
static _Noreturn void fail(int kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static _Noreturn void fail(int kind, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (id) {
		int lk = fcm_vm_table_lock();
		fcm_vm_teardown(id, vm_name);
		fcm_unlock(lk);
	}
	if (tmp)
		fcm_rm_tree(tmp);
	fcm_die(kind, "%s", msg);
}

static void check_reply(const char *what, jv reply)
{
	if (!fcm_reply_ok(reply)) {
		char msg[900];
		snprintf(msg, sizeof msg, "%s", fcm_reply_error(reply));
		jv_free(reply);
		fail(FCM_E_INTERNAL, "unable to %s: %s", what, msg);
	}
	jv_free(reply);
}

static void save(jv rec)
{
	if (fcm_vm_save(rec) < 0)
		fail(FCM_E_INTERNAL, "unable to write the VM record: %s", strerror(errno));
}

/* The guest's host key stays pinned under the VM's new id: the archive's
 * known_hosts names the old one (fcm-<old id>), which ssh would not match;
 * without one, it is read from the disk (fcm_hostkey_adopt). */
static void repin(void)
{
	char *path = fcm_hostkey_path(id), *text = fcm_read_file(path, 16384, NULL), why[512];
	char *key = text ? strchr(text, ' ') : NULL;

	if (key) {
		key++;
		key[strcspn(key, "\r\n")] = '\0';
		if (fcm_hostkey_record(id, key, why, sizeof why) < 0)
			fail(FCM_E_INTERNAL, "%s", why);
	} else {
		unlink(path);
		if (fcm_hostkey_adopt(id, why, sizeof why) < 0)
			fail(FCM_E_INTERNAL, "unable to pin the guest's host key: %s", why);
	}
	free(text);
	free(path);
}

/* Is this a runtime file of a VM's directory (export.h)?  Such files are
 * made here, never taken from an archive (a service directory from one
 * would run what it says). */
static int runtime(const char *name)
{
	for (const char *const *x = fcm_export_runtime; *x; x++)
		if (fnmatch(*x, name, 0) == 0)
			return 1;
	return 0;
}

/* Only directories and regular files may come out of an archive. */
static int plain(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_SL || flag == FTW_SLN || (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)))
		return 1;
	return 0;
}

/* The archive's description, checked. */
static jv read_manifest(void)
{
	char *p = fcm_asprintf("%s/%s", tmp, FCM_EXPORT_MANIFEST), err[512];
	jv m = fcm_read_json(p), vm, ver;

	free(p);
	if (!jv_is_valid(m) || jv_get_kind(m) != JV_KIND_OBJECT || !fcm_get_str(m, "archive") ||
	    strcmp(fcm_get_str(m, "archive"), FCM_EXPORT_ARCHIVE))
		fail(FCM_E_USAGE, "stdin is not an archive of fcm export (no %s)", FCM_EXPORT_MANIFEST);
	ver = jv_object_get(jv_copy(m), jv_string("version"));
	if (jv_get_kind(ver) != JV_KIND_NUMBER || jv_number_value(ver) < 1)
		fail(FCM_E_USAGE, "%s has no archive version", FCM_EXPORT_MANIFEST);
	if (jv_number_value(ver) > FCM_EXPORT_VERSION)
		fail(FCM_E_CONFLICT, "the archive is version %d, newer than this fcm's (%d): upgrade fcm (version %s)",
		    (int)jv_number_value(ver), FCM_EXPORT_VERSION, FCM_VERSION);
	jv_free(ver);
	jv sf = jv_object_get(jv_copy(m), jv_string("state_format"));
	jv probe = jv_object_set(jv_object(), jv_string("format"), sf);
	if (fcm_state_check(probe, "the archive's VM", err, sizeof err) < 0)
		fail(FCM_E_CONFLICT, "%s", err);
	jv_free(probe);
	vm = jv_object_get(jv_copy(m), jv_string("vm"));
	if (jv_get_kind(vm) != JV_KIND_OBJECT || !fcm_get_str(vm, "name") || !fcm_get_str(vm, "image"))
		fail(FCM_E_USAGE, "%s holds no VM record with a name and an image", FCM_EXPORT_MANIFEST);
	jv_free(vm);
	return m;
}

/* debugfs with argv on the disk image, quietly: 0 or -1. */
static int debugfs(char *const argv[])
{
	struct fcm_child c = { .argv = argv, .in = FCM_CHILD_NULL, .out = FCM_CHILD_NULL, .err = FCM_CHILD_NULL };

	if (fcm_child_start(&c) < 0)
		return -1;
	return fcm_child_finish(&c) == 0 ? 0 : -1;
}

/* This host's key into its guests (fcm keys guest) added to the authorized
 * keys on the guest's disk — the overlay's upper layer, where fcm-disk
 * seeded them — so that this host reaches the imported guest (console,
 * deploys) as it reaches those it made.  The other keys stay. */
static void authorize_here(void)
{
	const char *in = "/upper/root/.ssh/authorized_keys";
	char why[512], *key = fcm_guestkey(why, sizeof why);
	char *disk = fcm_path("vms/%s/disk.img", id), *ak = fcm_asprintf("%s/authorized_keys", tmp);
	char *text, *all, *dump, *cmds;
	size_t n;

	if (!key)
		fail(FCM_E_INTERNAL, "%s", why);
	if (access(disk, F_OK) < 0)
		fail(FCM_E_USAGE, "the archive holds no disk (vm/disk.img)");
	/* A running VM's disk is exported as after a power cut: its journal
	 * replayed and its counts made right first (the guest would do the
	 * same at boot); 0-3: clean or repaired. */
	char *fargv[] = { "e2fsck", "-f", "-y", disk, NULL };
	struct fcm_child fc = { .argv = fargv, .in = FCM_CHILD_NULL, .out = FCM_CHILD_NULL, .err = FCM_CHILD_NULL };
	int fst = fcm_child_start(&fc) < 0 ? -1 : fcm_child_finish(&fc);
	if (fst < 0 || fst >= 4)
		fail(FCM_E_USAGE, "the archive's disk has a file system e2fsck cannot repair (exit %d)", fst);
	dump = fcm_asprintf("dump %s %s", in, ak);
	char *rargv[] = { "debugfs", "-R", dump, disk, NULL };
	debugfs(rargv);
	text = fcm_read_file(ak, 1 << 20, &n);
	if (!text || !strstr(text, key)) {
		all = fcm_asprintf("%s%s%s\n", text ? text : "", text && n && text[n - 1] != '\n' ? "\n" : "", key);
		char *cf = fcm_asprintf("%s/debugfs.cmds", tmp);
		cmds = fcm_asprintf("rm %s\nwrite %s %s\nsif %s mode 0100600\nsif %s uid 0\nsif %s gid 0\n",
		    in, ak, in, in, in, in);
		if (fcm_write_atomic(ak, all, strlen(all), 0600) < 0 || fcm_write_atomic(cf, cmds, strlen(cmds), 0600) < 0)
			fail(FCM_E_INTERNAL, "unable to write in %s: %s", tmp, strerror(errno));
		char *wargv[] = { "debugfs", "-w", "-f", cf, disk, NULL };
		free(text);
		text = NULL;
		if (debugfs(wargv) < 0 || unlink(ak) < 0 || debugfs(rargv) < 0 ||
		    !(text = fcm_read_file(ak, 1 << 20, &n)) || !strstr(text, key))
			fail(FCM_E_INTERNAL, "unable to add this host's key to the guest's authorized keys on %s", disk);
		free(all);
		free(cf);
		free(cmds);
	}
	free(text);
	free(dump);
	free(key);
	free(disk);
	free(ak);
}

static jv run(jv req, jv none, const struct fcm_principal *who)
{
	char err[1024], idbuf[FCM_ID_LEN + 1];
	const char *name = fcm_get_str(req, "name");
	jv m, rec, reply;
	int lk, st;

	(void)none;
	(void)who;
	if (isatty(STDIN_FILENO))
		fcm_die(FCM_E_USAGE, "the archive comes on stdin, which is a terminal: fcm import < VM.tar");
	if (name && fcm_name_check(name, err, sizeof err) < 0)
		fcm_die(FCM_E_USAGE, "--name: %s", err);
	fcm_need_daemon();

	/* Unpack beside the VMs (one file system: entries are renamed in). */
	char *t = fcm_path("tmp");
	if (fcm_mkdirs(t, 0700) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to make %s", t);
	free(t);
	tmp = fcm_path("tmp/import.XXXXXX");
	if (!mkdtemp(tmp))
		fcm_die_sys(FCM_E_INTERNAL, "unable to make a directory in %s/tmp", fcm_root());
	char *xargv[] = { "tar", "--extract", "--file=-", "--directory", tmp, "--no-same-owner",
		"--no-overwrite-dir", "--delay-directory-restore", NULL };
	st = fcm_run(xargv);
	if (st != 0)
		fail(FCM_E_USAGE, "unable to unpack the archive on stdin (tar failed)");
	if (nftw(tmp, plain, 16, FTW_PHYS) != 0)
		fail(FCM_E_USAGE, "the archive holds a link or a special file: not an archive of fcm export");
	m = read_manifest();
	rec = jv_object_get(jv_copy(m), jv_string("vm"));
	if (!name)
		name = fcm_strdup(fcm_get_str(rec, "name"));
	if (fcm_name_check(name, err, sizeof err) < 0)
		fail(FCM_E_USAGE, "the archive's VM name: %s", err);
	const char *image = fcm_get_str(rec, "image");
	char *ip = fcm_path("images/%s/manifest.json", image);
	if (!fcm_image_version_ok(image) || access(ip, F_OK) < 0)
		fail(FCM_E_CONFLICT, "VM '%s' boots image '%s', which is not installed here: add it first ('fcm-image ls')",
		    name, image);
	free(ip);

	/* Name and id under the table lock, then its files moved in. */
	lk = fcm_vm_table_lock();
	if (lk < 0)
		fail(FCM_E_INTERNAL, "unable to lock the VM table");
	if (fcm_vm_name_taken(name)) {
		fcm_unlock(lk);
		fail(FCM_E_CONFLICT, "name '%s' is already used by a VM here: import it under another with --name NEW", name);
	}
	/* Its custom domains must be free here: a name routes to one VM. */
	{
		jv mine = fcm_domains_of(rec), all = fcm_vm_list();
		jv_array_foreach(mine, i, d) {
			jv_array_foreach(all, j, other) {
				jv theirs = fcm_domains_of(other);
				jv_array_foreach(theirs, k, th) {
					if (fcm_hosts_overlap(jv_string_value(d), jv_string_value(th))) {
						fcm_unlock(lk);
						fail(FCM_E_CONFLICT, "the archive's VM has the domain '%s', which a VM here has "
						    "('fcm domains rm' it there first)", jv_string_value(d));
					}
					jv_free(th);
				}
				jv_free(theirs);
				jv_free(other);
			}
			jv_free(d);
		}
		jv_free(mine);
		jv_free(all);
	}
	/* The owner's quota, as create checks it, under the same lock. */
	{
		const char *owner = fcm_get_str(rec, "owner"), *disk = fcm_get_str(rec, "disk");
		jv c = jv_object_get(jv_copy(rec), jv_string("cpus")), mem = jv_object_get(jv_copy(rec), jv_string("memory"));
		long cpus = jv_get_kind(c) == JV_KIND_NUMBER ? (long)jv_number_value(c) : 1;
		long mib = jv_get_kind(mem) == JV_KIND_NUMBER ? (long)jv_number_value(mem) : 1024;
		jv_free(c);
		jv_free(mem);
		if (owner && fcm_name_check(owner, err, sizeof err) < 0) {
			fcm_unlock(lk);
			fail(FCM_E_USAGE, "the archive's VM owner: %s", err);
		}
		if (owner && fcm_quota_check(owner, cpus, mib, fcm_disk_mib(disk ? disk : "2G"), err, sizeof err) < 0) {
			fcm_unlock(lk);
			fail(FCM_E_FORBIDDEN, "%s", err);
		}
	}
	vm_name = name;
	for (int tries = 0;; tries++) {
		fcm_id_new(idbuf);
		char *dir = fcm_vm_dir(idbuf);
		int r = mkdir(dir, 0700), e = errno;
		free(dir);
		if (r == 0)
			break;
		if (e != EEXIST || tries > 100) {
			fcm_unlock(lk);
			errno = e;
			fail(FCM_E_INTERNAL, "unable to make a VM directory in %s/vms: %s", fcm_root(), strerror(e));
		}
	}
	id = idbuf;
	char *busy = fcm_path("vms/%s/.busy", id);
	if (fcm_lock_try(busy) < 0) {
		fcm_unlock(lk);
		fail(FCM_E_INTERNAL, "unable to lock %s", busy);
	}
	free(busy);
	/* The name index (lib/vm/vm.h), as create claims it. */
	if (fcm_vm_name_claim(name, id) < 0) {
		int e = errno;
		fcm_unlock(lk);
		if (e == EEXIST)
			fail(FCM_E_CONFLICT, "name '%s' is already used by a VM here: import it under another with --name NEW", name);
		fail(FCM_E_INTERNAL, "unable to index the name '%s': %s", name, strerror(e));
	}
	const char *drop[] = { "ip", "mac", "tap", "gateway", "netmask", "prefix", "url", "git", "format", NULL };
	for (int i = 0; drop[i]; i++)
		rec = jv_object_delete(rec, jv_string(drop[i]));
	rec = jv_object_set(rec, jv_string("id"), jv_string(id));
	rec = jv_object_set(rec, jv_string("name"), jv_string(name));
	rec = jv_object_set(rec, jv_string("state"), jv_string("creating"));
	rec = jv_object_set(rec, jv_string("imported_at"), jv_number((double)time(NULL)));
	save(jv_copy(rec));
	fcm_unlock(lk);
	{
		char *from = fcm_asprintf("%s/vm", tmp);
		DIR *d = opendir(from);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "config.json") ||
			    runtime(e->d_name))
				continue;
			char *a = fcm_asprintf("%s/%s", from, e->d_name), *b = fcm_path("vms/%s/%s", id, e->d_name);
			if (rename(a, b) < 0)
				fail(FCM_E_INTERNAL, "unable to move %s into %s: %s", e->d_name, b, strerror(errno));
			free(a);
			free(b);
		}
		if (d)
			closedir(d);
		free(from);
	}

	authorize_here();
	repin();

	/* A new address, MAC and tap here. */
	reply = fcm_call("net", fcm_vm_op("alloc", id));
	rec = fcm_vm_merge(rec, reply, (const char *const[]){ "ip", "mac", "tap", "gateway", "netmask", "prefix", NULL });
	check_reply("allocate an address", reply);
	save(jv_copy(rec));
	check_reply("create the tap", fcm_call("net", fcm_vm_op("tap-add", id)));

	/* Its public URL, on this host's domain. */
	jv ex = jv_object_get(jv_copy(rec), jv_string("expose")), pj = jv_invalid();
	if (jv_get_kind(ex) == JV_KIND_OBJECT)
		pj = jv_object_get(jv_copy(ex), jv_string("port"));
	long port = jv_get_kind(pj) == JV_KIND_NUMBER ? (long)jv_number_value(pj) : 0;
	jv_free(ex);
	jv_free(pj);
	rec = fcm_expose_apply(rec, port);
	if (!jv_is_valid(rec)) {
		jv msg = jv_invalid_get_msg(rec);
		snprintf(err, sizeof err, "%s", jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "bad expose");
		jv_free(msg);
		fail(FCM_E_USAGE, "%s", err);
	}

	/* A fresh repo (this host's hooks) holding the archive's history. */
	jv rreq = fcm_vm_op("create", id);
	rreq = jv_object_set(rreq, jv_string("name"), jv_string(name));
	rreq = jv_object_set(rreq, jv_string("owner"), jv_string(fcm_get_str(rec, "owner") ? fcm_get_str(rec, "owner") : "admin"));
	reply = fcm_call("repo", rreq);
	rec = fcm_vm_merge(rec, reply, (const char *const[]){ "git", NULL });
	check_reply("create the git repo", reply);
	char *oldgit = fcm_asprintf("%s/git", tmp), *newgit = fcm_path("git/%s.git", name);
	if (access(oldgit, F_OK) == 0) {
		char *gd = fcm_asprintf("--git-dir=%s", newgit);
		char *gargv[] = { "git", gd, "fetch", "--quiet", "--update-head-ok", oldgit, "+refs/*:refs/*", NULL };
		if (fcm_run(gargv) != 0)
			fail(FCM_E_INTERNAL, "unable to copy the git history into %s", newgit);
		free(gd);
	}
	free(oldgit);
	free(newgit);

	/* Its service; running again if it was. */
	const char *was = fcm_get_str(m, "state");
	int up = was && !strcmp(was, "running");
	rec = jv_object_set(rec, jv_string("state"), jv_string(up ? "running" : "stopped"));
	save(jv_copy(rec));
	if (fcm_svc_make(id, !up) < 0)
		fail(FCM_E_INTERNAL, "unable to write the VM's service directory: %s", strerror(errno));
	if (fcm_vm_link(id, err, sizeof err) < 0)
		fail(FCM_E_INTERNAL, "%s", err);
	if (port && fcm_proxy_enabled()) {
		reply = fcm_proxy_sync();
		if (!fcm_reply_ok(reply))
			fcm_warn("the VM has no HTTPS route yet: %s", fcm_reply_error(reply));
		jv_free(reply);
	}
	fcm_rm_tree(tmp);
	jv_free(m);
	rec = jv_object_set(rec, jv_string("state"), jv_string(fcm_vm_state(rec)));
	return jv_object_set(rec, jv_string("ok"), jv_true());
}

static void print(jv reply, jv req)
{
	(void)req;
	fcm_print_created(stdout, reply);
}

static const struct fcm_opt opts[] = {
	{ "name", 0, FCM_OPT_STRING, NULL, NULL, 0, 0, 0 },
	{ NULL },
};

/* On the host only, as root (no route yet): the archive holds a disk. */
const struct fcm_cmd fcm_cmd_import = {
	.name = "import",
	.summary = "a VM from an archive of fcm export on stdin: new address, same files and history",
	.usage = "fcm import [--name NAME] [--json] < VM.tar",
	.opts = opts,
	.run = run,
	.print = print,
};

/* fcm create — make a VM: name → disk → network → route → git repo →
 * service → wait until its guest answers.  Any failure undoes every step
 * done, so no half-made VM is ever left behind. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "vmmake.h"
#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "core/size.h"
#include "core/run.h"
#include "core/utf8.h"
#include "vm/dotfcm.h"
#include "vm/expose.h"
#include "vm/guestkey.h"
#include "vm/image.h"
#include "vm/lifecycle.h"
#include "vm/jail.h"
#include "vm/quota.h"
#include "vm/snapshot.h"
#include "vm/svc.h"
#include "vm/vm.h"
#include "vm/vmname.h"
#include "vm/vmm.h"
#include "vm/vmprint.h"

#define CPUS_MAX 32	/* Firecracker's limit */

static const char *id;		/* set once the VM's directory exists */
static const char *vm_name;
static int quiet;		/* no progress lines */

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "-----> ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

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
		progress("undoing: removing %s", vm_name ? vm_name : id);
		fcm_sync_commit();	/* the undo's own writes synced as they go */
		int lk = fcm_vm_table_lock();
		fcm_vm_teardown(id, vm_name);
		fcm_unlock(lk);
	}
	fcm_die(kind, "%s", msg);
}

static long host_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (n < CPUS_MAX ? n : CPUS_MAX) : 1;
}

static long host_mem_mib(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);

	return pages > 0 && size > 0 ? (long)((long long)pages * size / (1024 * 1024)) : 1024;
}

static long get_num(jv req, const char *key, long def)
{
	jv v = jv_object_get(jv_copy(req), jv_string(key));
	long n = jv_get_kind(v) == JV_KIND_NUMBER ? (long)jv_number_value(v) : def;

	jv_free(v);
	return n;
}

static int disk_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32)
		return 0;
	return strspn(s, "0123456789.kKmMgGtT") == n && s[0] >= '0' && s[0] <= '9';
}

/* On the client: the keys named by --ssh-key, read here. */
static jv prepare(jv req)
{
	jv files = jv_object_get(jv_copy(req), jv_string("ssh-key")), keys = jv_array();

	if (jv_get_kind(files) != JV_KIND_ARRAY) {
		jv_free(files);
		jv_free(keys);
		return req;
	}
	jv_array_foreach(files, i, f) {
		const char *path = jv_string_value(f);
		char *text = fcm_read_file(path, 16384, NULL);
		size_t n;
		if (!text) {
			jv_free(keys);	/* nothing of ours left behind for LeakSanitizer */
			fcm_die_sys(FCM_E_USAGE, "unable to read ssh key %s", path);
		}
		n = strlen(text);
		while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
			text[--n] = '\0';
		if (!fcm_utf8_valid(text, n) || strchr(text, '\n') ||
		    (strncmp(text, "ssh-", 4) && strncmp(text, "ecdsa-", 6) && strncmp(text, "sk-", 3))) {
			jv_free(keys);
			free(text);
			fcm_die(FCM_E_USAGE, "%s is not an ssh public key (one line, 'ssh-ed25519 AAAA...')", path);
		}
		keys = jv_array_append(keys, jv_string(text));
		free(text);
		jv_free(f);
		(void)i;
	}
	jv_free(files);
	return jv_object_set(jv_object_delete(req, jv_string("ssh-key")), jv_string("keys"), keys);
}

/* Where the VMs are: the host's limits, the name, the public name. */
static jv check(jv req)
{
	const char *name = fcm_get_str(req, "name"), *disk = fcm_get_str(req, "disk");
	long cpus = get_num(req, "cpus", 1), mem = get_num(req, "memory", 1024);
	char err[512];

	if (cpus < 1 || cpus > host_cpus())
		fcm_die(FCM_E_USAGE, "--cpus must be a whole number from 1 to %ld (this host's CPUs, Firecracker allows %d), not '%ld'",
		    host_cpus(), CPUS_MAX, cpus);
	if (mem < 128 || mem > host_mem_mib())
		fcm_die(FCM_E_USAGE, "--memory must be a whole number from 128 to %ld MiB (this host's memory), not '%ld'",
		    host_mem_mib(), mem);
	if (disk && (!disk_ok(disk) || !fcm_size_parse(disk)))
		fcm_die(FCM_E_USAGE, "--disk must be a size like 2G or 512M, not '%.32s'", disk);
	if (name && fcm_name_check(name, err, sizeof err) < 0)
		fcm_die(FCM_E_USAGE, "--name: %s", err);
	const char *idle = fcm_get_str(req, "idle_suspend");
	if (idle && fcm_idle_parse(idle) < 0)
		fcm_die(FCM_E_USAGE, "--idle-suspend must be a duration like 15m, 30s or 2h (at most 30d), or off, not '%.32s'", idle);
	const char *image = fcm_get_str(req, "image");
	if (image && strcmp(image, "default") && !fcm_image_version_ok(image))
		fcm_die(FCM_E_USAGE, "--image must be an image version as 'fcm-image ls' lists them, not '%.64s'", image);
	jv keys = jv_object_get(jv_copy(req), jv_string("keys"));
	if (jv_is_valid(keys) && jv_get_kind(keys) == JV_KIND_ARRAY) {
		jv_array_foreach(keys, i, k) {
			const char *t = jv_string_value(k);
			if (strchr(t, '\n') || (strncmp(t, "ssh-", 4) && strncmp(t, "ecdsa-", 6) && strncmp(t, "sk-", 3)))
				fcm_die(FCM_E_USAGE, "keys[%d] is not an ssh public key (one line, 'ssh-ed25519 AAAA...')", i);
			jv_free(k);
		}
	}
	jv_free(keys);
	jv e = jv_object_get(jv_copy(req), jv_string("expose"));
	if (jv_get_kind(e) != JV_KIND_FALSE) {
		/* Check the public name now, before anything is made. */
		char *dom = fcm_expose_domain(name ? name : "x", err, sizeof err);
		if (!dom)
			fcm_die(FCM_E_USAGE, "%s", err);
		free(dom);
	}
	jv_free(e);
	return req;
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

/* The record (consumed), durable, in one commit of the journal rather than
 * the two of fcm_vm_save (lib/core/atomic.h: a batch of one).  A crash
 * before it ends leaves the old record, none, or a torn one: the VM is
 * still "creating" to the daemon's repair, which takes it apart. */
static void save(jv rec)
{
	fcm_sync_batch();
	if (fcm_vm_save(rec) < 0 || fcm_sync_commit() < 0)
		fail(FCM_E_INTERNAL, "unable to write the VM record: %s", strerror(errno));
}

/* For fcm_vm_name_fresh: the name index is complete (make_record). */
static int name_taken(const char *name, void *arg)
{
	(void)arg;
	return fcm_vm_name_taken(name);
}

/* Name and id, under the table lock: names stay unique.  Returns the record. */
static jv make_record(jv req, const char *owner, char idbuf[FCM_ID_LEN + 1])
{
	const char *name = fcm_get_str(req, "name");
	int lk = fcm_vm_table_lock();

	if (lk < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to lock the VM table");
	/* The name index (lib/vm/vm.h) answers "is it taken" without reading
	 * every record; made from the records first if it is not complete. */
	if (!fcm_vm_names_complete() && fcm_vm_names_rebuild() < 0) {
		fcm_unlock(lk);
		fcm_die_sys(FCM_E_INTERNAL, "unable to index the VMs' names in %s/vms/.names", fcm_root());
	}
	if (name && fcm_vm_name_taken(name)) {
		fcm_unlock(lk);
		fcm_die(FCM_E_CONFLICT, "name '%s' is already used by a VM: choose another, or leave --name out", name);
	}
	/* The owner's quota, under the same lock as the record is written: two
	 * creates at once cannot both take the last room. */
	{
		char why[1024];
		const char *disk = fcm_get_str(req, "disk");
		if (fcm_quota_check(owner, get_num(req, "cpus", 1), get_num(req, "memory", 1024),
		    fcm_disk_mib(disk ? disk : "2G"), why, sizeof why) < 0) {
			fcm_unlock(lk);
			fcm_die(FCM_E_FORBIDDEN, "%s", why);
		}
	}
	if (!name) {
		/* A fresh one, from the index, here (what fcm-name does). */
		char fresh[FCM_NAME_MAX + 1];
		if (fcm_vm_name_fresh(fresh, sizeof fresh, name_taken, NULL) < 0) {
			fcm_unlock(lk);
			fcm_die(FCM_E_INTERNAL, "every one of the %zu names is taken: give one with --name",
			    fcm_vm_names_total());
		}
		name = fcm_strdup(fresh);
	}
	vm_name = name;
	for (int tries = 0;; tries++) {
		fcm_id_new(idbuf);
		char *dir = fcm_vm_dir(idbuf);
		int r = mkdir(dir, 0700), e = errno;	/* root's alone */
		free(dir);
		if (r == 0)
			break;
		if (e != EEXIST || tries > 100) {
			fcm_unlock(lk);
			errno = e;
			fcm_die_sys(FCM_E_INTERNAL, "unable to make a VM directory in %s/vms", fcm_root());
		}
	}
	id = idbuf;
	if (fcm_vm_name_claim(name, id) < 0) {
		int e = errno;
		char *dir = fcm_vm_dir(id);
		rmdir(dir);
		free(dir);
		id = NULL;
		fcm_unlock(lk);
		if (e == EEXIST)
			fcm_die(FCM_E_CONFLICT, "name '%s' is already used by a VM: choose another, or leave --name out", name);
		errno = e;
		fcm_die_sys(FCM_E_INTERNAL, "unable to index the name '%s'", name);
	}
	/* Held until this process ends: a "creating" record whose lock is free
	 * is half-made, not in progress (lib/vm/repair.h). */
	{
		char *busy = fcm_path("vms/%s/.busy", id);
		if (fcm_lock_try(busy) < 0) {
			fcm_unlock(lk);
			fcm_die_sys(FCM_E_INTERNAL, "unable to lock %s", busy);
		}
		free(busy);
	}
	jv rec = jv_object();
	rec = jv_object_set(rec, jv_string("id"), jv_string(id));
	rec = jv_object_set(rec, jv_string("name"), jv_string(name));
	rec = jv_object_set(rec, jv_string("state"), jv_string("creating"));
	rec = jv_object_set(rec, jv_string("owner"), jv_string(owner));
	rec = jv_object_set(rec, jv_string("cpus"), jv_number((double)get_num(req, "cpus", 1)));
	rec = jv_object_set(rec, jv_string("memory"), jv_number((double)get_num(req, "memory", 1024)));
	if (fcm_get_str(req, "idle_suspend") && fcm_idle_parse(fcm_get_str(req, "idle_suspend")) > 0)
		rec = jv_object_set(rec, jv_string("idle_suspend"),
		    jv_number((double)fcm_idle_parse(fcm_get_str(req, "idle_suspend"))));
	rec = jv_object_set(rec, jv_string("disk"), jv_string(fcm_get_str(req, "disk") ? fcm_get_str(req, "disk") : "2G"));
	/* Its rate limits (fcm-fc renders them into Firecracker's config). */
	rec = jv_object_set(rec, jv_string("disk_rate"), jv_number((double)get_num(req, "disk_rate", FCM_DEFAULT_DISK_RATE)));
	rec = jv_object_set(rec, jv_string("disk_iops"), jv_number((double)get_num(req, "disk_iops", FCM_DEFAULT_DISK_IOPS)));
	rec = jv_object_set(rec, jv_string("net_rate"), jv_number((double)get_num(req, "net_rate", FCM_DEFAULT_NET_RATE)));
	rec = jv_object_set(rec, jv_string("net_pps"), jv_number((double)get_num(req, "net_pps", FCM_DEFAULT_NET_PPS)));
	rec = jv_object_set(rec, jv_string("expose"), jv_null());
	rec = jv_object_set(rec, jv_string("url"), jv_null());
	rec = jv_object_set(rec, jv_string("domains"), jv_array());	/* fcm domains */
	rec = jv_object_set(rec, jv_string("created_at"), jv_number((double)time(NULL)));
	save(jv_copy(rec));
	fcm_unlock(lk);
	return rec;
}

/* Wait until the guest answers (its sshd), or undo. */
static void wait_ready(void)
{
	time_t t0 = time(NULL);
	long timeout = fcm_boot_timeout();
	sigset_t pending;
	char err[1024];

	for (;;) {
		if (fcm_vm_wait_ready(id, 1, err, sizeof err) == 0)
			break;
		sigpending(&pending);
		if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) ||
		    sigismember(&pending, SIGHUP))
			fail(FCM_E_INTERNAL, "interrupted while the VM was booting");
		if (strstr(err, "did not start"))
			fail(FCM_E_INTERNAL, "%s", err);
		if (time(NULL) - t0 >= timeout)
			fail(FCM_E_INTERNAL, "the VM was not ready within %ld s (no answer from its sshd); FCM_BOOT_TIMEOUT sets the limit",
			    timeout);
	}
	progress("Ready in %ld s", (long)(time(NULL) - t0));
}

static jv run(jv req, jv none, const struct fcm_principal *who)
{
	const char *owner = fcm_get_str(req, "owner");
	jv e = jv_object_get(jv_copy(req), jv_string("expose")), w = jv_object_get(jv_copy(req), jv_string("wait"));
	long port = jv_get_kind(e) == JV_KIND_NUMBER ? (long)jv_number_value(e) :
	    jv_get_kind(e) == JV_KIND_FALSE ? 0 : FCM_PORT_DEFAULT;
	int wait = jv_get_kind(w) != JV_KIND_FALSE;
	char err[1024], idbuf[FCM_ID_LEN + 1];
	sigset_t block;
	jv rec, reply;

	(void)none;
	jv_free(e);
	jv_free(w);
	if (owner && strcmp(owner, who->name) && !who->admin)
		fcm_die(FCM_E_FORBIDDEN, "only an admin may create VMs for another user ('%s')", owner);
	if (owner && fcm_name_check(owner, err, sizeof err) < 0)
		fcm_die(FCM_E_USAGE, "--owner: user names follow the VM name rules: %s", err);
	if (!owner)
		owner = who->name;
	quiet = !isatty(STDERR_FILENO) || !isatty(STDOUT_FILENO);
	fcm_need_daemon();

	/* Ctrl-C and friends wait until the next step, then undo everything. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, NULL);

	/* The image, and whether this host's Firecracker can boot it: refused
	 * here, before anything is made.  (With no image installed at all,
	 * fcm-disk says so below, as the host's failure it is.) */
	jv bad = jv_invalid();
	const char *want = fcm_get_str(req, "image");
	char *image = fcm_image_resolve(want, &bad);
	if (!image && want)
		fcm_die_reply(bad);
	jv_free(bad);
	if (image && fcm_vmm_can_boot(image, err, sizeof err) < 0)
		fcm_die(FCM_E_CONFLICT, "%s", err);
	/* Whether its VMM will be confined, as fcm-fc decides at each start. */
	int confined = 0;
	{
		char *fc = fcm_vmm_path(err, sizeof err), *jailer = fc ? fcm_vmm_jailer(fc) : NULL;
		confined = jailer != NULL;
		free(fc);
		free(jailer);
	}

	rec = make_record(req, owner, idbuf);
	rec = jv_object_set(rec, jv_string("confined"), jv_bool(confined));
	progress("Creating %s (%ld vCPU, %ld MiB, %s disk)", vm_name, get_num(req, "cpus", 1),
	    get_num(req, "memory", 1024), fcm_get_str(rec, "disk"));
	/* What follows is durable together, before the record says "running"
	 * (lib/core/atomic.h): a crash before that leaves a "creating" record,
	 * and the daemon's repair takes the VM apart by its id. */
	fcm_sync_batch();
	/* Its service, linked now but down: s6-svscan starts its supervisor
	 * while the disk, the network and the repo are made; it starts the VM
	 * once they are (fcm_vm_link_armed and fcm_vm_start_now below). */
	if (fcm_svc_make(id, 1) < 0)
		fail(FCM_E_INTERNAL, "unable to write the VM's service directory: %s", strerror(errno));
	if (fcm_vm_link_start(id, err, sizeof err) < 0)
		fail(FCM_E_INTERNAL, "%s", err);

	/* The VM's own sparse disk over the shared base image. */
	jv keys = jv_object_get(jv_copy(req), jv_string("keys"));
	jv dreq = fcm_vm_op("create", id);
	dreq = jv_object_set(dreq, jv_string("name"), jv_string(vm_name));
	dreq = jv_object_set(dreq, jv_string("size"), jv_string(fcm_get_str(rec, "disk")));
	if (image)
		dreq = jv_object_set(dreq, jv_string("image"), jv_string(image));
	free(image);
	dreq = jv_object_set(dreq, jv_string("keys"), jv_get_kind(keys) == JV_KIND_ARRAY ? keys : (jv_free(keys), jv_array()));
	reply = fcm_call("disk", dreq);
	rec = fcm_vm_merge(rec, reply, (const char *const[]){ "image", NULL });
	/* Its own ssh host key, made with the disk: from now on the only key
	 * the host accepts from this guest (lib/vm/guestkey.h). */
	if (fcm_reply_ok(reply) && fcm_hostkey_record(id, fcm_get_str(reply, "host_key"), err, sizeof err) < 0) {
		jv_free(reply);
		fail(FCM_E_INTERNAL, "%s", err);
	}
	check_reply("create the disk", reply);
	progress("Disk ready");

	/* An address, a MAC and a tap on the bridge. */
	reply = fcm_call("net", fcm_vm_op("alloc", id));
	rec = fcm_vm_merge(rec, reply, (const char *const[]){ "ip", "mac", "tap", "gateway", "netmask", "prefix", NULL });
	check_reply("allocate an address", reply);
	/* For readers (the address, the tap), not for a crash: the record is
	 * still "creating", and repair frees the lease and the tap by id. */
	if (fcm_vm_save_unsynced(jv_copy(rec)) < 0)
		fail(FCM_E_INTERNAL, "unable to write the VM record: %s", strerror(errno));
	check_reply("create the tap", fcm_call("net", fcm_vm_op("tap-add", id)));
	progress("Network: %s on %s", fcm_get_str(rec, "ip"), fcm_get_str(rec, "tap"));

	/* The public URL. */
	rec = fcm_expose_apply(rec, port);
	if (!jv_is_valid(rec)) {
		jv msg = jv_invalid_get_msg(rec);
		snprintf(err, sizeof err, "%s", jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "bad expose");
		jv_free(msg);
		fail(FCM_E_USAGE, "%s", err);
	}

	/* The git repo for `git push`. */
	char *repo = fcm_helper("repo");
	if (access(repo, X_OK) == 0) {
		jv rreq = fcm_vm_op("create", id);
		rreq = jv_object_set(rreq, jv_string("name"), jv_string(vm_name));
		rreq = jv_object_set(rreq, jv_string("owner"), jv_string(owner));
		reply = fcm_call("repo", rreq);
		rec = fcm_vm_merge(rec, reply, (const char *const[]){ "git", NULL });
		check_reply("create the git repo", reply);
	}
	free(repo);

	/* Everything there, durable: the VM starts.  The down file goes
	 * before the record says "running", and the start after: a create
	 * killed between the two leaves a whole VM that its supervisor's
	 * next start (the daemon's) or fcm start starts; before them, a
	 * "creating" one that repair takes apart.  (Not the start first: fcm-fc
	 * run writes the record too, and the save below would undo that.) */
	if (fcm_sync_commit() < 0)
		fail(FCM_E_INTERNAL, "unable to write the VM's files to disk: %s", strerror(errno));
	if (fcm_vm_link_armed(id, err, sizeof err) < 0)
		fail(FCM_E_INTERNAL, "%s", err);
	rec = jv_object_set(rec, jv_string("state"), jv_string("running"));
	save(jv_copy(rec));
	if (fcm_vm_start_now(id, err, sizeof err) < 0)
		fail(FCM_E_INTERNAL, "%s", err);
	progress("Booting");

	/* Its route through Caddy. */
	if (port && fcm_proxy_enabled()) {
		reply = fcm_proxy_sync();
		if (!fcm_reply_ok(reply))
			fcm_warn("the VM has no HTTPS route yet: %s", fcm_reply_error(reply));
		jv_free(reply);
	}
	if (wait)
		wait_ready();
	else
		fcm_vm_wait_leaving_stopped(rec);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	rec = jv_object_set(rec, jv_string("state"), jv_string(fcm_vm_state(rec)));
	return jv_object_set(rec, jv_string("ok"), jv_true());
}

/* On the client: .fcm here names the new VM. */
static jv after(jv reply, jv req)
{
	jv d = jv_object_get(jv_copy(req), jv_string("dotfile"));

	if (jv_get_kind(d) != JV_KIND_FALSE && fcm_dotfcm_write(reply) < 0)
		fcm_warn_sys("unable to write .fcm in the current directory");
	jv_free(d);
	return reply;
}

static void print(jv reply, jv req)
{
	(void)req;
	fcm_print_created(stdout, reply);
}

static const struct fcm_opt opts[] = {
	{ "name", 0, FCM_OPT_STRING, NULL, NULL, 0, 0, 0 },
	{ "cpus", 0, FCM_OPT_NUMBER, NULL, NULL, 0, 1024, 0 },
	{ "memory", 0, FCM_OPT_NUMBER, NULL, NULL, 0, 16L * 1024 * 1024, 0 },
	{ "disk", 0, FCM_OPT_STRING, NULL, NULL, 0, 0, 0 },
	{ "expose", 0, FCM_OPT_NUMBER, NULL, NULL, 1, 65535, 0 },
	{ "disk-rate", 0, FCM_OPT_NUMBER, "disk_rate", NULL, 0, 100000, 0 },
	{ "disk-iops", 0, FCM_OPT_NUMBER, "disk_iops", NULL, 0, 10000000, 0 },
	{ "net-rate", 0, FCM_OPT_NUMBER, "net_rate", NULL, 0, 100000, 0 },
	{ "net-pps", 0, FCM_OPT_NUMBER, "net_pps", NULL, 0, 100000000, 0 },
	{ "no-expose", 0, FCM_OPT_FLAG, "expose", "false", 0, 0, 0 },
	{ "ssh-key", 0, FCM_OPT_LIST, NULL, NULL, 0, 0, FCM_OPT_CLIENT },
	{ "keys", 0, FCM_OPT_LIST, NULL, NULL, 0, 0, FCM_OPT_WORD },
	{ "owner", 0, FCM_OPT_STRING, NULL, NULL, 0, 0, 0 },
	{ "image", 0, FCM_OPT_STRING, NULL, NULL, 0, 0, 0 },
	{ "no-wait", 0, FCM_OPT_FLAG, "wait", "false", 0, 0, 0 },
	{ "no-dotfile", 0, FCM_OPT_FLAG, "dotfile", "false", 0, 0, FCM_OPT_CLIENT },
	{ "idle-suspend", 0, FCM_OPT_STRING, "idle_suspend", NULL, 0, 0, 0 },
	{ NULL },
};

static const struct fcm_cmd_route routes[] = {
	{ "POST", "/v1/vms", 0 },
	{ NULL },
};

const struct fcm_cmd fcm_cmd_create = {
	.name = "create",
	.summary = "create a VM: name, disk, network, service; prints its URL and git remote",
	.usage = "fcm create [--name NAME] [--cpus N] [--memory MIB] [--disk SIZE] [--expose PORT | --no-expose]\n"
	    "                  [--disk-rate MIB_S] [--disk-iops N] [--net-rate MBIT_S] [--net-pps N]\n"
	    "                  [--ssh-key FILE]... [--owner USER] [--image VERSION] [--idle-suspend DURATION]\n"
	    "                  [--no-wait] [--no-dotfile] [--json]",
	.opts = opts,
	.routes = routes,
	.status = 201,
	.prepare = prepare,
	.check = check,
	.run = run,
	.after = after,
	.print = print,
};

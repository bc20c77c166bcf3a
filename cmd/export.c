/* fcm export — one VM as a tar archive on stdout, for backups and moves
 * (doc/fcm-export.md, doc/export.md).  The archive holds fcm-export.json
 * (what it is: the archive format, the state format, the VM's record), vm/
 * (the durable files of the VM's directory, whatever they are: its disk,
 * record, host key pin, config, releases, ...; runtime files and, unless
 * --include-secrets, secrets left out) and git/ (its bare repository).  A
 * running VM is paused for the copy (fcm-fc pause), then resumed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "core/rmtree.h"
#include "core/run.h"
#include "core/stateformat.h"
#include "vm/export.h"
#include "vm/guestkey.h"
#include "vm/svc.h"
#include "vm/vm.h"

static jv fc_op(const char *op, const char *id)
{
	return fcm_call("fc", jv_object_set(jv_object_set(jv_object(), jv_string("op"), jv_string(op)),
	    jv_string("id"), jv_string(id)));
}

/* Ask the running guest to write its dirty pages and commit its journal.
 * Best effort: a guest that does not answer is still paused and copied,
 * as after a power cut (import repairs the file system: e2fsck). */
static void guest_sync(jv rec)
{
	const char *id = fcm_get_str(rec, "id"), *ip = fcm_get_str(rec, "ip");
	char *pin[FCM_GUEST_SSH_NOPTS + 1], *key = fcm_guestkey_path(), *target;
	char *argv[40] = {
		"ssh", "-T", "-F", "/dev/null", "-i", key,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20",
	};
	size_t n = 0;

	if (!ip)
		return free(key);
	while (argv[n])
		n++;
	fcm_guest_ssh_opts(id, pin);
	for (size_t i = 0; pin[i]; i++)
		argv[n++] = pin[i];
	target = fcm_asprintf("root@%s", ip);
	argv[n++] = target;
	argv[n++] = "sync";
	argv[n] = NULL;
	struct fcm_child c = { .argv = argv, .in = FCM_CHILD_NULL, .out = FCM_CHILD_NULL, .err = FCM_CHILD_NULL };
	if (fcm_child_start(&c) < 0 || fcm_child_finish(&c) != 0)
		fcm_warn("VM '%s' did not sync its disk: the archive holds it as after a power cut", fcm_get_str(rec, "name"));
	fcm_guest_ssh_opts_free(pin);
	free(target);
	free(key);
}

static jv run(jv req, jv rec, const struct fcm_principal *who)
{
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");
	jv js = jv_object_get(jv_copy(req), jv_string("include_secrets"));
	int secrets = jv_get_kind(js) == JV_KIND_TRUE, paused = 0, st;
	char *tmp, *mpath, *vmdir, *repo, *vmxf, *gitxf;
	jv m, r;

	(void)who;
	jv_free(js);
	if (isatty(STDOUT_FILENO))
		fcm_die(FCM_E_USAGE, "the archive goes to stdout, which is a terminal: fcm export %s > %s.tar", name, name);
	/* The description, in a directory of its own outside the state root:
	 * exporting changes nothing there. */
	const char *td = getenv("TMPDIR");
	tmp = fcm_asprintf("%s/fcm-export.XXXXXX", td && *td == '/' ? td : "/tmp");
	if (!mkdtemp(tmp))
		fcm_die_sys(FCM_E_INTERNAL, "unable to make a temporary directory (%s)", tmp);
	m = jv_object();
	m = jv_object_set(m, jv_string("archive"), jv_string(FCM_EXPORT_ARCHIVE));
	m = jv_object_set(m, jv_string("version"), jv_number(FCM_EXPORT_VERSION));
	m = jv_object_set(m, jv_string("state_format"), jv_number(FCM_STATE_FORMAT));
	m = jv_object_set(m, jv_string("fcm"), jv_string(FCM_VERSION));
	m = jv_object_set(m, jv_string("exported_at"), jv_number((double)time(NULL)));
	m = jv_object_set(m, jv_string("secrets"), jv_bool(secrets));
	m = jv_object_set(m, jv_string("state"), jv_string(fcm_vm_state(rec)));
	m = jv_object_set(m, jv_string("vm"), jv_copy(rec));
	mpath = fcm_asprintf("%s/%s", tmp, FCM_EXPORT_MANIFEST);
	if (fcm_write_json_atomic(mpath, m, 0600) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write %s", mpath);
	vmdir = fcm_asprintf("vms/%s", id);
	repo = fcm_asprintf("git/%s.git", name);
	vmxf = fcm_asprintf("--transform=s,^vms/%s,vm,", id);
	gitxf = fcm_asprintf("--transform=s,^git/%s\\.git,git,", name);

	/* A consistent copy: the guest writes what it holds in memory out
	 * (sync, through ssh with the host's key, its host key pinned), then
	 * does not write while its disk is read. */
	if (!strcmp(fcm_vm_state(rec), "running")) {
		guest_sync(rec);
		r = fc_op("pause", id);
		if (!fcm_reply_ok(r))
			fcm_die(FCM_E_INTERNAL, "unable to pause VM '%s' for a consistent copy: %s", name, fcm_reply_error(r));
		jv_free(r);
		paused = 1;
	}
	char *argv[64];
	int n = 0, first_x;
	argv[n++] = "tar";
	argv[n++] = "--create";
	argv[n++] = "--file=-";
	argv[n++] = "--sparse";
	argv[n++] = "--format=gnu";
	argv[n++] = "--numeric-owner";
	first_x = n;
	for (const char *const *x = fcm_export_runtime; *x; x++)
		argv[n++] = fcm_asprintf("--exclude=%s", *x);
	if (!secrets)
		for (const char *const *x = fcm_export_secret; *x; x++)
			argv[n++] = fcm_asprintf("--exclude=%s", *x);
	int end_x = n;
	argv[n++] = "-C";
	argv[n++] = tmp;
	argv[n++] = FCM_EXPORT_MANIFEST;
	argv[n++] = "-C";
	argv[n++] = (char *)fcm_root();
	argv[n++] = vmxf;
	argv[n++] = gitxf;
	argv[n++] = vmdir;
	char *rp = fcm_path("%s", repo);
	if (access(rp, F_OK) == 0)
		argv[n++] = repo;
	free(rp);
	argv[n] = NULL;
	st = fcm_run(argv);
	for (int i = first_x; i < end_x; i++)
		free(argv[i]);
	if (paused) {
		r = fc_op("resume", id);
		if (!fcm_reply_ok(r))
			fcm_warn("unable to resume VM '%s' after the copy: %s (fcm stop; fcm start)", name, fcm_reply_error(r));
		jv_free(r);
	}
	fcm_rm_tree(tmp);
	if (st != 0)
		fcm_die(FCM_E_INTERNAL, "unable to write the archive of VM '%s' (tar: %s)", name,
		    st < 0 ? strerror(errno) : "failed");
	free(tmp);
	free(mpath);
	free(vmdir);
	free(repo);
	free(vmxf);
	free(gitxf);
	return jv_null();
}

static const struct fcm_opt opts[] = {
	{ "include-secrets", 0, FCM_OPT_FLAG, "include_secrets", NULL, 0, 0, 0 },
	{ NULL },
};

/* On the host only, as root (no route yet): the archive holds the disk. */
const struct fcm_cmd fcm_cmd_export = {
	.name = "export",
	.summary = "a VM as a tar archive on stdout: record, disk, git repo, config",
	.usage = "fcm export [VM] [--include-secrets] > VM.tar",
	.opts = opts,
	.flags = FCM_CMD_VM | FCM_CMD_TEXT | FCM_CMD_NOWRITE,
	.run = run,
};

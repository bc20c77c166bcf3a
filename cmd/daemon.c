/* fcm daemon — run fcm's supervision tree (doc/supervision.md).
 *
 * Sets up what the tree needs — state directories, the admin token, the host
 * network (fcm-net setup), the repair of what a crash left (lib/vm/repair.h),
 * every VM's tap on the bridge — writes the service directories of the API and
 * Caddy from the templates in s6/, links every VM's service, and execs
 * s6-svscan on $FCM_ROOT/scan.  From then on s6 runs everything: one
 * service per VM, the API, Caddy.
 *
 * Run again while the tree is up, it reloads instead: redoes the setup,
 * links new services, restarts the API and re-syncs the proxy — running VMs
 * are never touched.  Stopping the tree (SIGTERM to s6-svscan, or
 * `fcm daemon --stop`) stops every VM gracefully, as a host shutdown should. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "vm/expose.h"
#include "vm/guestkey.h"
#include "core/err.h"
#include "core/atomic.h"
#include "vm/jail.h"
#include "vm/lifecycle.h"
#include "vm/private.h"
#include "vm/repair.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/paths.h"
#include "core/run.h"
#include "core/stateformat.h"
#include "vm/svc.h"
#include "vm/vm.h"
#include "vm/vmm.h"
#include "auth/token.h"

static char *templates_dir(void)
{
	char *d = fcm_asprintf("%s/../s6", fcm_exec_dir());
	struct stat st;

	if (stat(d, &st) == 0 && S_ISDIR(st.st_mode))
		return d;
	free(d);
	return fcm_asprintf("%s/s6", fcm_exec_dir());
}

/* Copy a service template (regular files and one level of subdirectories)
 * into $FCM_ROOT/services/<name>.  Returns the service dir or NULL. */
static char *install_service(const char *name)
{
	char *tdir = templates_dir();
	char *src = fcm_asprintf("%s/%s", tdir, name);
	char *dst = fcm_path("services/%s", name);
	DIR *d = opendir(src);
	struct dirent *e;

	free(tdir);
	if (!d) {
		free(src);
		free(dst);
		return NULL;
	}
	if (fcm_mkdirs(dst, 0755) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to make %s", dst);
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		char *from = fcm_asprintf("%s/%s", src, e->d_name);
		char *to = fcm_asprintf("%s/%s", dst, e->d_name);
		if (stat(from, &st) == 0 && S_ISREG(st.st_mode)) {
			size_t len;
			char *text = fcm_read_file(from, 1 << 20, &len);
			if (!text || fcm_write_atomic(to, text, len, st.st_mode & 0777) < 0)
				fcm_die_sys(FCM_E_INTERNAL, "unable to install %s", to);
			free(text);
		} else if (S_ISDIR(st.st_mode)) {
			/* e.g. log/: copy its files. */
			DIR *sd = opendir(from);
			struct dirent *se;
			fcm_mkdirs(to, 0755);
			while (sd && (se = readdir(sd))) {
				char *f2 = fcm_asprintf("%s/%s", from, se->d_name);
				char *t2 = fcm_asprintf("%s/%s", to, se->d_name);
				struct stat s2;
				if (se->d_name[0] != '.' && stat(f2, &s2) == 0 && S_ISREG(s2.st_mode)) {
					size_t l2;
					char *t = fcm_read_file(f2, 1 << 20, &l2);
					if (!t || fcm_write_atomic(t2, t, l2, s2.st_mode & 0777) < 0)
						fcm_die_sys(FCM_E_INTERNAL, "unable to install %s", t2);
					free(t);
				}
				free(f2);
				free(t2);
			}
			if (sd)
				closedir(sd);
		}
		free(from);
		free(to);
	}
	closedir(d);
	free(src);
	return dst;
}

static void link_into_scan(const char *scan, const char *name, const char *target)
{
	char *link = fcm_asprintf("%s/%s", scan, name);
	char *tmp = fcm_asprintf("%s/.%s.tmp", scan, name);
	char buf[4096];
	ssize_t n = readlink(link, buf, sizeof buf - 1);

	if (n > 0) {
		buf[n] = '\0';
		if (!strcmp(buf, target))
			goto out;
	}
	unlink(tmp);
	if (symlink(target, tmp) < 0 || rename(tmp, link) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to link %s into %s", target, scan);
out:
	free(link);
	free(tmp);
}

static int have_program(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL;
	int found = 0;

	if (!path)
		return 0;
	copy = fcm_strdup(path);
	for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *p = fcm_asprintf("%s/%s", d, name);
		found = access(p, X_OK) == 0;
		free(p);
	}
	free(copy);
	return found;
}

/* What a crash left (lib/vm/repair.h): repaired before any VM starts. */
static void repair(int starting)
{
	jv r = fcm_vm_repair(starting ? FCM_TEARDOWN_NO_PROXY : 0);

	if (!jv_is_valid(r)) {
		jv msg = jv_invalid_get_msg(r);
		fcm_warn("unable to check for half-made VMs: %s", jv_string_value(msg));
		jv_free(msg);
		return;
	}
	jv fixed = jv_object_get(jv_copy(r), jv_string("fixed")), failed = jv_object_get(jv_copy(r), jv_string("failed"));
	jv swept = jv_object_get(r, jv_string("swept"));
	if (jv_get_kind(swept) == JV_KIND_NUMBER && jv_number_value(swept) > 0)
		fprintf(stderr, "fcm-daemon: removed %d leftover%s of killed disk template builds from %s/cache\n",
		    (int)jv_number_value(swept), jv_number_value(swept) == 1 ? "" : "s", fcm_root());
	jv_free(swept);
	jv_array_foreach(fixed, i, f) {
		fprintf(stderr, "fcm-daemon: repaired VM %s: it was %s; removed\n", fcm_get_str(f, "id"), fcm_get_str(f, "was"));
		jv_free(f);
		(void)i;
	}
	jv_array_foreach(failed, i, f) {
		fcm_warn("VM %s (%s) could not be repaired: run 'fcm doctor'", fcm_get_str(f, "id"), fcm_get_str(f, "was"));
		jv_free(f);
		(void)i;
	}
	jv_free(fixed);
	jv_free(failed);
}

/* Everything but exec'ing s6-svscan: safe to run again and again.
 * starting: no tree runs yet (a first start, or after a reboot). */
static void prepare(const char *scan, int starting)
{
	char err[512];
	char *ctl = fcm_asprintf("%s/.s6-svscan", scan);

	if (fcm_mkdirs(ctl, 0755) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to make %s", ctl);
	free(ctl);
	char *vms = fcm_path("vms");
	fcm_mkdirs(vms, 0700);
	free(vms);
	/* Tenant data is root's alone: fix what an older fcm (or a hand)
	 * left readable by others. */
	fcm_private_fix();
	if (fcm_admin_token_ensure(err, sizeof err) < 0)
		fcm_die(FCM_E_INTERNAL, "%s", err);

	/* The host network: bridge, NAT, isolation. */
	jv req = jv_object_set(jv_object(), jv_string("op"), jv_string("setup"));
	const char *subnet = getenv("FCM_SUBNET");
	if (subnet && *subnet)
		req = jv_object_set(req, jv_string("subnet"), jv_string(subnet));
	jv r = fcm_call("net", req);
	if (!fcm_reply_ok(r))
		fcm_die(FCM_E_INTERNAL, "unable to set up the host network: %s", fcm_reply_error(r));
	jv_free(r);

	/* Half-made VMs and interrupted destroys, before anything starts. */
	repair(starting);

	/* The daemon's own services. */
	setenv("FCM_EXEC_PATH", fcm_exec_dir(), 1);
	char *svc = install_service("api");
	if (svc) {
		link_into_scan(scan, "api", svc);
		free(svc);
	}
	if (fcm_proxy_enabled() && have_program(getenv("FCM_CADDY") ? getenv("FCM_CADDY") : "caddy")) {
		svc = install_service("caddy");
		if (svc) {
			link_into_scan(scan, "caddy", svc);
			free(svc);
		}
	}

	/* Every VM: its tap on the bridge first (after a reboot the host has
	 * none: a VMM would open a fresh tap on no bridge), then its service
	 * (stopped ones keep their down file).  Caddy renders every route
	 * from the records when it starts. */
	jv list = fcm_vm_list();
	jv_array_foreach(list, i, rec) {
		const char *id = fcm_get_str(rec, "id");
		const char *state = fcm_get_str(rec, "state");
		if (!id || (state && (!strcmp(state, "creating") || !strcmp(state, "destroying")))) {
			jv_free(rec);
			continue;
		}
		/* A VM made before fcm recorded host keys: its key from its disk. */
		if (fcm_hostkey_adopt(id, err, sizeof err) < 0)
			fcm_warn("%s", err);
		if (fcm_get_str(rec, "tap")) {
			jv t = fcm_call("net", jv_object_set(jv_object_set(jv_object(), jv_string("op"), jv_string("tap-add")),
			    jv_string("id"), jv_string(id)));
			if (!fcm_reply_ok(t))
				fcm_warn("VM %s: unable to put its tap on the bridge: %s", id, fcm_reply_error(t));
			jv_free(t);
		}
		char *sdir = fcm_vm_svcdir(id);
		char *name = fcm_asprintf("vm-%s", id);
		struct stat st;
		if (stat(sdir, &st) < 0)
			fcm_svc_make(id, state && strcmp(state, "running"));
		else
			fcm_svc_make(id, -1);	/* refresh the scripts, keep down as it is */
		link_into_scan(scan, name, sdir);
		free(sdir);
		free(name);
		jv_free(rec);
	}
	jv_free(list);
}

static jv run(jv req, jv none, const struct fcm_principal *who)
{
	jv jr = jv_object_get(jv_copy(req), jv_string("reload")), js = jv_object_get(jv_copy(req), jv_string("stop"));
	int reload = jv_get_kind(jr) == JV_KIND_TRUE, stop = jv_get_kind(js) == JV_KIND_TRUE;
	char *scan;

	(void)none;
	(void)who;
	jv_free(jr);
	jv_free(js);
	if (reload && stop)
		fcm_die(FCM_E_USAGE, "--reload or --stop, not both; usage: fcm daemon [--reload | --stop]");
	/* Older state is brought up to this fcm's format once, before anything
	 * uses it; newer state is refused, nothing changed (doc/state.md). */
	if (!stop) {
		int was = fcm_state_migrate();
		if (was < FCM_STATE_FORMAT)
			fprintf(stderr, "fcm-daemon: migrated %s from state format %d to %d\n", fcm_root(), was, FCM_STATE_FORMAT);
	}
	scan = fcm_scandir();
	if (fcm_mkdirs(scan, 0755) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to make %s", scan);

	if (stop) {
		if (!fcm_svscan_running())
			fcm_die(FCM_E_USAGE, "fcm daemon is not running on %s", fcm_root());
		char *a[] = { "s6-svscanctl", "-t", scan, NULL };
		if (fcm_run(a) != 0)
			fcm_die(FCM_E_INTERNAL, "s6-svscanctl -t %s failed", scan);
		return jv_null();
	}
	if (fcm_svscan_running()) {
		/* Reload: never touches running VMs. */
		prepare(scan, 0);
		char *a[] = { "s6-svscanctl", "-a", scan, NULL };
		fcm_run(a);
		char *api = fcm_path("services/api");
		if (access(api, F_OK) == 0)
			fcm_svc_send(api, "r");
		free(api);
		if (fcm_proxy_enabled()) {
			jv r = fcm_proxy_sync();
			if (!fcm_reply_ok(r))
				fcm_warn("unable to sync the proxy: %s", fcm_reply_error(r));
			jv_free(r);
		}
		fprintf(stderr, "fcm-daemon: already running on %s: reloaded\n", scan);
		free(scan);
		return jv_null();
	}
	if (reload)
		fcm_die(FCM_E_USAGE, "fcm daemon is not running on %s: nothing to reload", fcm_root());
	prepare(scan, 1);
	/* Say it once, loudly: no jailer, no confinement (doc/security.md). */
	char why[512];
	char *fc = fcm_vmm_path(why, sizeof why), *jailer = fc ? fcm_vmm_jailer(fc) : NULL;
	if (fc && !jailer)
		fcm_warn("Firecracker's jailer is not installed (FCM_JAILER, PATH, or beside %s): every VMM will run as root, unconfined — a guest that escapes its VMM owns this host; 'fcm ls --json' shows \"confined\": false",
		    fc);
	free(fc);
	free(jailer);
	fprintf(stderr, "fcm-daemon: supervising %s\n", scan);
	/* Each VM is two services (its own and its logger's): s6-svscan's
	 * default of 500 ran out at about 245 VMs, and it then starts no more
	 * (create fails in s6-svlink).  10,000 is room for about 4,990 VMs. */
	char *a[] = { "s6-svscan", "-c", "10000", scan, NULL };
	execvp(a[0], a);
	fcm_die_sys(FCM_E_INTERNAL, "unable to run s6-svscan");
}

static const struct fcm_opt opts[] = {
	{ "reload", 0, FCM_OPT_FLAG, NULL, NULL, 0, 0, 0 },
	{ "stop", 0, FCM_OPT_FLAG, NULL, NULL, 0, 0, 0 },
	{ NULL },
};

/* On the host only (no route): it is what the API runs under. */
const struct fcm_cmd fcm_cmd_daemon = {
	.name = "daemon",
	.summary = "run the supervision tree and the HTTP API",
	.usage = "fcm daemon [--reload | --stop]",
	.opts = opts,
	.flags = FCM_CMD_TEXT,
	.run = run,
};

/* fcm-create — make a VM: name → disk → network → route → git repo →
 * service → wait until its guest answers.  Any failure undoes every step
 * done, so no half-made VM is ever left behind. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vm/expose.h"
#include "core/err.h"
#include "core/atomic.h"
#include "vm/dotfcm.h"
#include "vm/lifecycle.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "core/run.h"
#include "vm/svc.h"
#include "core/utf8.h"
#include "vm/vm.h"
#include "vm/vmprint.h"

static const char usage[] =
    "fcm create [--name NAME] [--cpus N] [--memory MIB] [--disk SIZE] [--expose PORT | --no-expose]\n"
    "                  [--ssh-key FILE]... [--owner USER] [--no-wait] [--no-dotfile] [--json]";

static const char *id;		/* set once the VM's directory exists */
static const char *vm_name;
static int json;
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
static _Noreturn void fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static _Noreturn void fail(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (id) {
		progress("undoing: removing %s", vm_name ? vm_name : id);
		int lk = fcm_vm_table_lock();
		fcm_vm_teardown(id, vm_name);
		fcm_unlock(lk);
	}
	fcm_die(code, "%s", msg);
}

static long host_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? n : 1;
}

static long host_mem_mib(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);

	return pages > 0 && size > 0 ? (long)((long long)pages * size / (1024 * 1024)) : 1024;
}

static long parse_num(const char *opt, const char *s, long min, long max, const char *hint)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max)
		fcm_die(FCM_E_USAGE, "%s must be a whole number from %ld to %ld%s, not '%.32s'",
		    opt, min, max, hint, s);
	return v;
}

/* Read an ssh public key file: one line, starting like a key. */
static jv read_key(const char *path)
{
	char *text = fcm_read_file(path, 16384, NULL);
	size_t n;

	if (!text)
		fcm_die_sys(FCM_E_USAGE, "unable to read ssh key %s", path);
	n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	if (!fcm_utf8_valid(text, n) || strchr(text, '\n') ||
	    (strncmp(text, "ssh-", 4) && strncmp(text, "ecdsa-", 6) && strncmp(text, "sk-", 3)))
		fcm_die(FCM_E_USAGE, "%s is not an ssh public key (one line, 'ssh-ed25519 AAAA...')", path);
	jv k = jv_string(text);
	free(text);
	return k;
}

static void check_reply(const char *what, jv reply)
{
	if (!fcm_reply_ok(reply)) {
		char msg[900];
		snprintf(msg, sizeof msg, "%s", fcm_reply_error(reply));
		jv_free(reply);
		fail(FCM_E_INTERNAL, "unable to %s: %s", what, msg);
	}
}

static jv merge(jv rec, jv reply, const char *const *keys)
{
	for (int i = 0; keys[i]; i++) {
		jv v = jv_object_get(jv_copy(reply), jv_string(keys[i]));
		if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL)
			rec = jv_object_set(rec, jv_string(keys[i]), v);
		else
			jv_free(v);
	}
	return rec;
}

static void save(jv rec)
{
	if (fcm_vm_save(rec) < 0)
		fail(FCM_E_INTERNAL, "unable to write the VM record: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "disk", required_argument, NULL, 'd' },
		{ "expose", required_argument, NULL, 'e' },
		{ "no-expose", no_argument, NULL, 'E' },
		{ "ssh-key", required_argument, NULL, 'k' },
		{ "owner", required_argument, NULL, 'o' },
		{ "no-wait", no_argument, NULL, 'W' },
		{ "no-dotfile", no_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL, *disk = "2G", *owner = "admin";
	long cpus = 1, memory = 1024, port = FCM_PORT_DEFAULT;
	int wait = 1, dotfile = 1, c;
	jv keys = jv_array();
	char err[1024], idbuf[FCM_ID_LEN + 1];
	sigset_t block;

	fcm_init("fcm-create");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'N': name = optarg; break;
		case 'c':
			cpus = parse_num("--cpus", optarg, 1, host_cpus() < 32 ? host_cpus() : 32,
			    " (this host's CPUs, Firecracker allows 32)");
			break;
		case 'm':
			memory = parse_num("--memory", optarg, 128, host_mem_mib(), " MiB (this host's memory)");
			break;
		case 'd': disk = optarg; break;
		case 'e':
			if (fcm_port_parse(optarg, &port, err, sizeof err) < 0)
				fcm_die(FCM_E_USAGE, "--expose: %s", err);
			break;
		case 'E': port = 0; break;
		case 'k': keys = jv_array_append(keys, read_key(optarg)); break;
		case 'o': {
			char why[256];
			if (fcm_name_check(optarg, why, sizeof why) < 0)
				fcm_die(FCM_E_USAGE, "--owner: user names follow the VM name rules: %s", why);
			owner = optarg;
			break;
		}
		case 'W': wait = 0; break;
		case 'D': dotfile = 0; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			fcm_die(FCM_E_USAGE, "unknown option '%.64s'; usage: %s", argv[optind - 1], usage);
		}
	}
	if (optind != argc)
		fcm_die(FCM_E_USAGE, "unexpected argument '%.64s'; usage: %s", argv[optind], usage);
	if (json)
		fcm_err_json(1);
	quiet = json || !isatty(STDERR_FILENO);
	if (name) {
		char why[256];
		if (fcm_name_check(name, why, sizeof why) < 0)
			fcm_die(FCM_E_USAGE, "--name: %s", why);
	}
	if (port) {
		/* Check the public name now, before anything is made. */
		char *dom = fcm_expose_domain(name ? name : "x", err, sizeof err);
		if (!dom)
			fcm_die(FCM_E_USAGE, "%s", err);
		free(dom);
	}
	fcm_need_daemon();

	/* Ctrl-C and friends wait until the next step, then undo everything. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, NULL);

	/* 1. Name and id, under the table lock: names stay unique. */
	int lk = fcm_vm_table_lock();
	if (lk < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to lock the VM table");
	if (name) {
		if (fcm_vm_name_taken(name)) {
			fcm_unlock(lk);
			fcm_die(FCM_E_USAGE, "name '%s' is already used by a VM: choose another, or leave --name out",
			    name);
		}
	} else {
		char *nargv[] = { NULL, NULL };
		char *out = NULL;
		nargv[0] = fcm_helper("name");
		int st = fcm_run_capture(nargv, NULL, 0, &out, 4096);
		jv r = out ? jv_parse(out) : jv_invalid();
		free(out);
		free(nargv[0]);
		if (st != 0 || !fcm_reply_ok(r) || !fcm_get_str(r, "name")) {
			fcm_unlock(lk);
			fcm_die(FCM_E_INTERNAL, "unable to choose a name: %s",
			    jv_is_valid(r) ? fcm_reply_error(r) : "fcm-name failed");
		}
		name = fcm_strdup(fcm_get_str(r, "name"));
		jv_free(r);
	}
	vm_name = name;
	char *vms = fcm_path("vms");
	for (int tries = 0;; tries++) {
		fcm_id_new(idbuf);
		char *dir = fcm_vm_dir(idbuf);
		int r = mkdir(dir, 0755);
		int e = errno;
		free(dir);
		if (r == 0)
			break;
		if (e != EEXIST || tries > 100) {
			fcm_unlock(lk);
			errno = e;
			fcm_die_sys(FCM_E_INTERNAL, "unable to make a directory in %s", vms);
		}
	}
	free(vms);
	id = idbuf;
	jv rec = jv_object();
	rec = jv_object_set(rec, jv_string("id"), jv_string(id));
	rec = jv_object_set(rec, jv_string("name"), jv_string(name));
	rec = jv_object_set(rec, jv_string("state"), jv_string("creating"));
	rec = jv_object_set(rec, jv_string("owner"), jv_string(owner));
	rec = jv_object_set(rec, jv_string("cpus"), jv_number((double)cpus));
	rec = jv_object_set(rec, jv_string("memory"), jv_number((double)memory));
	rec = jv_object_set(rec, jv_string("disk"), jv_string(disk));
	rec = jv_object_set(rec, jv_string("expose"), jv_null());
	rec = jv_object_set(rec, jv_string("url"), jv_null());
	rec = jv_object_set(rec, jv_string("created_at"), jv_number((double)time(NULL)));
	save(jv_copy(rec));
	fcm_unlock(lk);
	progress("Creating %s (%ld vCPU, %ld MiB, %s disk)", name, cpus, memory, disk);

	/* 2. Disk: the VM's own sparse disk over the shared base image. */
	jv req = jv_object();
	req = jv_object_set(req, jv_string("op"), jv_string("create"));
	req = jv_object_set(req, jv_string("id"), jv_string(id));
	req = jv_object_set(req, jv_string("name"), jv_string(name));
	req = jv_object_set(req, jv_string("size"), jv_string(disk));
	req = jv_object_set(req, jv_string("keys"), keys);
	jv reply = fcm_call("disk", req);
	check_reply("create the disk", jv_copy(reply));
	rec = merge(rec, reply, (const char *const[]){ "image", NULL });
	jv_free(reply);
	progress("Disk ready");

	/* 3. Network: an address, a MAC and a tap on the bridge. */
	req = jv_object_set(jv_object_set(jv_object(), jv_string("op"), jv_string("alloc")),
	    jv_string("id"), jv_string(id));
	reply = fcm_call("net", req);
	check_reply("allocate an address", jv_copy(reply));
	rec = merge(rec, reply, (const char *const[]){ "ip", "mac", "tap", "gateway", "netmask", "prefix", NULL });
	jv_free(reply);
	save(jv_copy(rec));
	req = jv_object_set(jv_object_set(jv_object(), jv_string("op"), jv_string("tap-add")),
	    jv_string("id"), jv_string(id));
	check_reply("create the tap", fcm_call("net", req));
	progress("Network: %s on %s", fcm_get_str(rec, "ip"), fcm_get_str(rec, "tap"));

	/* 4. The public URL. */
	rec = fcm_expose_apply(rec, port);
	if (!jv_is_valid(rec)) {
		jv msg = jv_invalid_get_msg(rec);
		snprintf(err, sizeof err, "%s", jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "bad expose");
		jv_free(msg);
		fail(FCM_E_USAGE, "%s", err);
	}

	/* 5. The git repo for `git push`. */
	char *repo = fcm_helper("repo");
	if (access(repo, X_OK) == 0) {
		req = jv_object();
		req = jv_object_set(req, jv_string("op"), jv_string("create"));
		req = jv_object_set(req, jv_string("id"), jv_string(id));
		req = jv_object_set(req, jv_string("name"), jv_string(name));
		req = jv_object_set(req, jv_string("owner"), jv_string(owner));
		reply = fcm_call("repo", req);
		check_reply("create the git repo", jv_copy(reply));
		rec = merge(rec, reply, (const char *const[]){ "git", NULL });
		jv_free(reply);
	}
	free(repo);

	/* 6. The service: s6 starts it as soon as it is linked. */
	rec = jv_object_set(rec, jv_string("state"), jv_string("running"));
	save(jv_copy(rec));
	if (fcm_svc_make(id, 0) < 0)
		fail(FCM_E_INTERNAL, "unable to write the VM's service directory: %s", strerror(errno));
	if (fcm_vm_link(id, err, sizeof err) < 0)
		fail(FCM_E_INTERNAL, "%s", err);
	progress("Booting");

	/* 7. Its route through Caddy. */
	if (port && fcm_proxy_enabled()) {
		reply = fcm_proxy_sync();
		if (!fcm_reply_ok(reply))
			fcm_warn("the VM has no HTTPS route yet: %s", fcm_reply_error(reply));
		jv_free(reply);
	}

	/* 8. Wait until the guest answers (its sshd), or undo. */
	if (wait) {
		time_t t0 = time(NULL);
		long timeout = fcm_boot_timeout();
		sigset_t pending;
		for (;;) {
			int r = fcm_vm_wait_ready(id, 1, err, sizeof err);
			if (r == 0)
				break;
			sigpending(&pending);
			if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) ||
			    sigismember(&pending, SIGHUP))
				fail(FCM_E_INTERNAL, "interrupted while the VM was booting");
			if (strstr(err, "did not start") || time(NULL) - t0 >= timeout) {
				if (!strstr(err, "did not start"))
					snprintf(err, sizeof err, "the VM was not ready within %ld s (no answer from its sshd); FCM_BOOT_TIMEOUT sets the limit",
					    timeout);
				fail(FCM_E_INTERNAL, "%s", err);
			}
		}
		progress("Ready in %ld s", (long)(time(NULL) - t0));
	}
	sigprocmask(SIG_UNBLOCK, &block, NULL);

	if (dotfile && fcm_dotfcm_write(rec) < 0)
		fcm_warn_sys("unable to write .fcm in the current directory");
	jv out = jv_copy(rec);
	out = jv_object_set(out, jv_string("state"), jv_string(fcm_vm_state(rec)));
	if (fcm_human_output(json))
		fcm_print_created(stdout, out);
	else if (fcm_jsonl_write(stdout, jv_object_set(jv_copy(out), jv_string("ok"), jv_true())) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write to stdout");
	jv_free(out);
	jv_free(rec);
	return 0;
}

/* fcm-deploy — deploy a pushed commit into its VM (doc/fcm-deploy.md).
 *
 *   fcm-deploy --hook          as the repo's pre-receive hook: cwd is the bare
 *                              repo $FCM_ROOT/git/<name>.git, "<old> <new> <ref>"
 *                              lines on stdin
 *   fcm-deploy VM [REV]        deploy REV (default: main, else master) of the
 *                              VM's repo again
 *
 * A push to main or master is deployed; other refs are let through with a
 * note.  The VM must be running.  The pushed tree (git archive) and the guest
 * half of the deploy (guest/deploy, shipped with every push so host and guest
 * always agree) go to the VM in one tar stream over ssh:
 *
 *   ssh -i $FCM_ROOT/ssh/id_ed25519 ... root@<vm-ip> <fixed command>
 *
 * and the guest builds, switches and restarts the app, streaming "-----> "
 * lines back, which git shows the pusher as "remote: -----> ...".  A failed
 * deploy exits 1, so the pre-receive hook refuses the push: the branch keeps
 * pointing at what is deployed, and the previous release keeps serving.
 * Everything is also appended to $FCM_ROOT/vms/<id>/deploy.log. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/atomic.h"
#include "vm/app.h"
#include "vm/appenv.h"
#include "vm/dotfcm.h"
#include "vm/expose.h"
#include "vm/guestkey.h"
#include "vm/guestrun.h"
#include "vm/release.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "core/run.h"
#include "vm/vm.h"
#include "vm/svc.h"


static const char usage[] = "fcm-deploy --hook (as pre-receive) | fcm-deploy VM [REV]";

#define REFLINES_MAX 1000

/* The command run in the guest: fixed text, nothing from the push in it. */
static const char guest_cmd[] =
    "set -e; umask 022; mkdir -p /app/.incoming; "
    "d=$(mktemp -d /app/.incoming/push.XXXXXX); "
    "tar -x -C \"$d\" -f -; "
    "exec /bin/bash \"$d/.fcm/deploy\" \"$d\"";

static int logfd = -1;
static long built = -1;	/* the guest's build that the deploy made serve */

/* One line to the pusher (stdout, relayed by git) and to the deploy log.
 * A pusher who went away does not stop the deploy. */
static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	fwrite(buf, 1, (size_t)n, stdout);
	fflush(stdout);
	clearerr(stdout);
	if (logfd >= 0) {	/* the log is best effort; its lines carry the time */
		char stamp[48];
		fcm_app_stamp(stamp, sizeof stamp);
		dprintf(logfd, "%s %.*s", stamp, n, buf);
	}
}

/* The deploy log is capped: once it holds FCM_DEPLOY_LOG_MAX bytes
 * (default 1 MiB), it becomes deploy.log.1 (the one before goes) and a new
 * one starts, as s6-log rotates the VM's own log. */
static void rotate_log(const char *path)
{
	const char *m = getenv("FCM_DEPLOY_LOG_MAX");
	long max = 1024 * 1024;
	struct stat st;

	if (m && *m) {
		char *end;
		long v = strtol(m, &end, 10);
		if (!*end && v >= 1024 && v <= (1L << 30))
			max = v;
	}
	if (stat(path, &st) == 0 && st.st_size >= max) {
		char *old = fcm_asprintf("%s.1", path);
		if (rename(path, old) < 0)
			fcm_warn_sys("unable to rotate %s", path);
		free(old);
	}
}

static _Noreturn void failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void failed(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	out("-----> Deploy failed: %s", msg);
	_exit(1);
}

/* A whole number from the environment in [min, max], else def. */
static long env_long(const char *name, long def, long min, long max)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	n = strtol(v, &end, 10);
	if (*end || n < min || n > max)
		failed("%s must be a whole number from %ld to %ld, not '%.32s'", name, min, max, v);
	return n;
}

static int hex_ok(const char *s)
{
	size_t n = strlen(s);

	if (n != 40 && n != 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static int zero_sha(const char *s)
{
	return strspn(s, "0") == strlen(s);
}

/* A ref or revision given on our command line: plain characters, not an option. */
static int rev_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 200 || s[0] == '-' || strstr(s, ".."))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    *s == '/' || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

/* A URL passed into the guest: http(s), no quotes, spaces or shell syntax. */
static int url_ok(const char *s)
{
	size_t n = strlen(s);

	if (n > 512 || (strncmp(s, "http://", 7) && strncmp(s, "https://", 8)))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    strchr("._~:/?=&%+@-", *s)))
			return 0;
	return 1;
}

/* Where guest/deploy is: $FCM_GUEST_DIR, <libexec>/guest (installed), or
 * <bin>/../guest (a checkout). */
static char *guest_dir(void)
{
	const char *e = getenv("FCM_GUEST_DIR");
	char *d, *f;

	if (e && *e)
		return fcm_strdup(e);
	d = fcm_asprintf("%s/guest", fcm_exec_dir());
	f = fcm_asprintf("%s/deploy", d);
	if (access(f, R_OK) == 0) {
		free(f);
		return d;
	}
	free(f);
	free(d);
	d = fcm_asprintf("%s/../guest", fcm_exec_dir());
	f = realpath(d, NULL);	/* no ".." left in a path that is checked */
	if (f) {
		free(d);
		return f;
	}
	return d;
}

/* git rev-parse of rev in the repo (standalone mode), into sha. */
static int resolve(const char *repo, const char *rev, char *sha, size_t shalen)
{
	char *gd = fcm_asprintf("--git-dir=%s", repo);
	char *spec = fcm_asprintf("%s^{commit}", rev);
	char *argv[] = { "git", gd, "rev-parse", "--verify", "--quiet", spec, NULL };
	char *o = NULL;
	int st = fcm_run_capture(argv, NULL, 0, &o, 256);

	free(gd);
	free(spec);
	if (st != 0 || !o) {
		free(o);
		return -1;
	}
	o[strcspn(o, "\n")] = '\0';
	snprintf(sha, shalen, "%s", o);
	free(o);
	return hex_ok(sha) ? 0 : -1;
}

/* The name of the app whose repo is the current directory. */
static char *repo_name_from_cwd(void)
{
	char cwd[PATH_MAX], gitdir[PATH_MAX], why[256];
	char *g = fcm_path("git");
	size_t n;
	char *name;

	if (!getcwd(cwd, sizeof cwd))
		fcm_die_sys(FCM_E_INTERNAL, "unable to find the current directory");
	if (!realpath(g, gitdir))
		fcm_die_sys(FCM_E_INTERNAL, "unable to resolve %s", g);
	free(g);
	n = strlen(gitdir);
	if (strncmp(cwd, gitdir, n) || cwd[n] != '/' || strchr(cwd + n + 1, '/'))
		fcm_die(FCM_E_USAGE, "--hook runs in an app repo under %s, not in %s", gitdir, cwd);
	name = fcm_strdup(cwd + n + 1);
	n = strlen(name);
	if (n < 5 || strcmp(name + n - 4, ".git"))
		fcm_die(FCM_E_USAGE, "%s is not an app repo (<name>.git)", cwd);
	name[n - 4] = '\0';
	if (fcm_name_check(name, why, sizeof why) < 0)
		fcm_die(FCM_E_USAGE, "%s is not an app repo: %s", cwd, why);
	return name;
}

/* Read the pushed refs; pick the one to deploy. */
static const char *pick_ref(char *sha, size_t shalen)
{
	static char chosen[256];
	char line[4096];
	int nlines = 0, got = 0;

	while (fgets(line, sizeof line, stdin)) {
		char old[80], new[80], ref[256];
		if (++nlines > REFLINES_MAX)
			fcm_die(FCM_E_USAGE, "more than %d refs in one push", REFLINES_MAX);
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%79s %79s %255s", old, new, ref) != 3 || !hex_ok(old) || !hex_ok(new))
			fcm_die(FCM_E_USAGE, "unexpected hook input line '%.80s'", line);
		int is_deploy = !strcmp(ref, "refs/heads/main") || !strcmp(ref, "refs/heads/master");
		if (is_deploy && zero_sha(new)) {
			out("-----> Deleting %s: nothing to deploy (the running release stays)", ref + 11);
			continue;
		}
		if (!is_deploy) {
			out("-----> Not deploying %s: only pushes to main or master are deployed",
			    strncmp(ref, "refs/heads/", 11) ? ref : ref + 11);
			continue;
		}
		/* main wins over master when both are pushed at once */
		if (!got || !strcmp(ref, "refs/heads/main")) {
			if (got)
				out("-----> Not deploying %s: main is deployed", chosen + 11);
			snprintf(chosen, sizeof chosen, "%s", ref);
			snprintf(sha, shalen, "%s", new);
			got = 1;
		} else
			out("-----> Not deploying %s: main is deployed", ref + 11);
	}
	return got ? chosen : NULL;
}

/* The settings for the guest, checked, in <tmpd>/deploy.env (tmpd is a
 * mkdtemp template).  Returns the file's path. */
static char *write_env(char *tmpd, jv rec, const char *name, const char *sha)
{
	static const char *const pass[] = {
		"FCM_PIP_INDEX_URL", "FCM_NPM_REGISTRY", "FCM_GEM_SOURCE", NULL,
	};
	const char *url = fcm_get_str(rec, "url");
	char *text, *path;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		fcm_die_nomem();
	fprintf(f, "FCM_APP=%s\nFCM_REV=%s\n", name, sha);
	if (url && url_ok(url))
		fprintf(f, "FCM_URL=%s\n", url);
	else {
		const char *ip = fcm_get_str(rec, "ip");
		fprintf(f, "FCM_URL=http://%s:8000\n", ip);
	}
	for (int i = 0; pass[i]; i++) {
		const char *v = getenv(pass[i]);
		if (!v || !*v)
			continue;
		if (!url_ok(v))
			failed("%s is not a plain http(s) URL: '%.100s'", pass[i], v);
		fprintf(f, "%s=%s\n", pass[i], v);
	}
	{
		char why[160];
		long v = fcm_app_timeout(why, sizeof why);
		if (v < 0)
			failed("%s", why);
		fprintf(f, "FCM_DEPLOY_TIMEOUT=%ld\n", v);
	}
	fclose(f);
	if (!mkdtemp(tmpd))
		failed("unable to make a temporary directory: %s", strerror(errno));
	path = fcm_asprintf("%s/deploy.env", tmpd);
	if (fcm_write_atomic(path, text, len, 0600) < 0) {
		rmdir(tmpd);
		failed("unable to write %s: %s", path, strerror(errno));
	}
	free(text);
	return path;
}

/* One line of the guest's (len bytes at s, no newline) to the pusher;
 * *refused when it is ssh refusing the guest's host key. */
static void relay_line(const char *s, size_t len, int *refused)
{
	char one[4096];

	if (len >= sizeof one)
		len = sizeof one - 1;
	memcpy(one, s, len);
	one[len] = '\0';
	if (fcm_hostkey_refusal(one))
		*refused = 1;
	/* guest/deploy says which of its builds now serves: the release's */
	if (sscanf(one, "-----> Build %ld is serving", &built) != 1 && !strncmp(one, "-----> Build ", 13))
		built = -1;
	out("%s", one);
}

/* Stream git archive | ssh, relaying the guest's lines.  Returns ssh's
 * status; *refused when ssh refused the guest's host key. */
static int ship(const char *gitdir, const char *sha, const char *guest, const char *envfile,
    jv rec, int *refused)
{
	char *appenv = fcm_env_path(fcm_get_str(rec, "id"));
	char *add3 = fcm_asprintf("--add-file=%s", appenv);
	char *gd = gitdir ? fcm_asprintf("--git-dir=%s", gitdir) : NULL;
	char *add1 = fcm_asprintf("--add-file=%s/deploy", guest);
	char *add2 = fcm_asprintf("--add-file=%s", envfile);
	char *gargv[14];
	int ga = 0;
	/* ssh with the host's key, checking the guest's own host key strictly */
	char **sargv = fcm_guest_argv(rec, 0, guest_cmd);
	int tar[2], o[2];
	struct fcm_child git = { .argv = gargv }, ssh = { .argv = sargv };
	int gst, sst;
	char line[4096];

	*refused = 0;

	gargv[ga++] = "git";
	if (gd)
		gargv[ga++] = gd;
	gargv[ga++] = "archive";
	gargv[ga++] = "--format=tar";
	gargv[ga++] = "--prefix=.fcm/";
	gargv[ga++] = add1;
	gargv[ga++] = add2;
	gargv[ga++] = add3;	/* the app's config vars: .fcm/env */
	gargv[ga++] = "--prefix=app/";
	gargv[ga++] = (char *)sha;
	gargv[ga] = NULL;

	if (pipe2(tar, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0)
		failed("unable to make a pipe: %s", strerror(errno));
	git.out = tar[1];
	git.err = ssh.out = ssh.err = o[1];
	ssh.in = tar[0];
	if (fcm_child_start(&git) < 0)
		failed("unable to run git archive: %s", strerror(errno));
	if (fcm_child_start(&ssh) < 0)
		failed("unable to run ssh: %s (is openssh-client installed?)", strerror(errno));
	close(tar[0]);
	close(tar[1]);
	close(o[1]);
	/* Relay the guest's lines, within the host's limits: a deploy may run
	 * FCM_DEPLOY_HOST_TIMEOUT seconds and print FCM_DEPLOY_OUTPUT_MAX
	 * bytes; past either it is stopped (whatever the guest's own limit). */
	{
		long limit_s = env_long("FCM_DEPLOY_HOST_TIMEOUT", 1800, 1, 86400);
		long out_max = env_long("FCM_DEPLOY_OUTPUT_MAX", 4L << 20, 1024, 1L << 30);
		time_t end = time(NULL) + limit_s;
		size_t have = 0, total = 0;
		const char *why = NULL;

		for (;;) {
			struct pollfd p = { o[0], POLLIN, 0 };
			long left = (long)(end - time(NULL));
			ssize_t n;
			if (left <= 0) {
				why = "time";
				break;
			}
			if (poll(&p, 1, (int)(left > 1000 ? 1000000 : left * 1000)) < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			if (!p.revents)
				continue;
			n = read(o[0], line + have, sizeof line - 1 - have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			total += (size_t)n;
			have += (size_t)n;
			/* whole lines out; a line longer than the buffer goes out in parts */
			char *start = line, *nl;
			while ((nl = memchr(start, '\n', have - (size_t)(start - line))) ||
			    (start == line && have == sizeof line - 1)) {
				size_t len = nl ? (size_t)(nl - start) : have;
				relay_line(start, len, refused);
				start += len + (nl ? 1 : 0);
			}
			have -= (size_t)(start - line);
			memmove(line, start, have);
			if (total > (size_t)out_max) {
				why = "output";
				break;
			}
		}
		if (have && !why)
			relay_line(line, have, refused);
		if (why) {
			kill(ssh.pid, SIGTERM);
			kill(git.pid, SIGTERM);
			fcm_child_finish(&git);
			fcm_child_finish(&ssh);
			close(o[0]);
			if (!strcmp(why, "time"))
				failed("the deploy ran longer than %ld s (FCM_DEPLOY_HOST_TIMEOUT): stopped", limit_s);
			failed("the deploy printed more than %ld bytes (FCM_DEPLOY_OUTPUT_MAX): stopped", out_max);
		}
		close(o[0]);
	}

	gst = fcm_child_finish(&git);
	sst = fcm_child_finish(&ssh);
	free(gd);
	free(add1);
	free(add2);
	free(add3);
	free(appenv);
	fcm_guest_argv_free(sargv);
	if (gst != 0 && sst == 0)
		failed("git archive %s failed (exit %d)", sha, gst);
	return sst;
}

int main(int argc, char **argv)
{
	char sha[80] = "", why[256];
	const char *ref = NULL, *state, *ip, *owner;
	char *name = NULL, *repo, *key, *guest, *guestf, *vmdir, *lockp, *logp, *tmpd, *envf;
	int hook = 0, lk, st, refused;
	struct in_addr a;
	jv rec;
	time_t t0 = time(NULL);

	fcm_init("fcm-deploy");
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && !strcmp(argv[1], "--hook"))
		hook = 1;
	else if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: %s\n", usage);
		return 0;
	} else if (argc < 2 || argc > 3 || argv[1][0] == '-')
		fcm_die(FCM_E_USAGE, "usage: %s", usage);

	if (hook) {
		name = repo_name_from_cwd();
		repo = fcm_path("git/%s.git", name);
		ref = pick_ref(sha, sizeof sha);
		if (!ref) {
			free(name);
			free(repo);
			return 0;	/* nothing to deploy */
		}
	} else {
		rec = fcm_vm_from_arg(argv[1]);
		if (!jv_is_valid(rec)) {
			jv msg = jv_invalid_get_msg(rec);
			snprintf(why, sizeof why, "%s", jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "no such VM");
			jv_free(msg);
			fcm_die(FCM_E_USAGE, "%s", why);
		}
		name = fcm_strdup(fcm_get_str(rec, "name"));
		jv_free(rec);
		repo = fcm_path("git/%s.git", name);
		if (access(repo, F_OK) < 0)
			fcm_die(FCM_E_USAGE, "VM '%s' has no git repo (%s)", name, repo);
		if (argc == 3) {
			if (!rev_ok(argv[2]))
				fcm_die(FCM_E_USAGE, "'%.64s' is not a revision name", argv[2]);
			ref = argv[2];
			if (resolve(repo, ref, sha, sizeof sha) < 0)
				fcm_die(FCM_E_USAGE, "no commit '%s' in %s", ref, repo);
		} else if (resolve(repo, (ref = "refs/heads/main"), sha, sizeof sha) < 0 &&
		    resolve(repo, (ref = "refs/heads/master"), sha, sizeof sha) < 0)
			fcm_die(FCM_E_USAGE, "nothing pushed to %s yet: git push to main first", name);
	}

	/* The VM: its record, and it must be running. */
	rec = fcm_vm_find(name);
	if (!jv_is_valid(rec)) {
		jv_free(rec);
		out("-----> Deploying %.12s to %s...", sha, name);
		failed("there is no VM '%s' any more (see 'fcm ls')", name);
	}
	owner = getenv("FCM_PUSH_OWNER");
	vmdir = fcm_vm_dir(fcm_get_str(rec, "id"));
	lockp = fcm_asprintf("%s/deploy.lock", vmdir);
	logp = fcm_asprintf("%s/deploy.log", vmdir);
	rotate_log(logp);
	logfd = open(logp, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (logfd >= 0) {
		char when[64];
		struct tm tm;
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t0, &tm));
		char stamp[48];
		fcm_app_stamp(stamp, sizeof stamp);
		dprintf(logfd, "%s === %s: %s %s of %s, pushed by %s ===\n", stamp, when, ref, sha, name,
		    owner ? owner : "a local user");
	}
	out("-----> Deploying %.12s to %s...", sha, name);
	state = fcm_vm_state(rec);
	if (strcmp(state, "running")) {
		if (!strcmp(state, "starting"))
			failed("VM '%s' is still starting: push again in a moment (see 'fcm ls')", name);
		failed("VM '%s' is not running: start it with 'fcm start %s'", name, name);
	}
	ip = fcm_get_str(rec, "ip");
	if (!ip || inet_pton(AF_INET, ip, &a) != 1)
		failed("VM '%s' has no IPv4 address in its record", name);

	{
		char *none = fcm_hostkey_unrecorded(name, fcm_get_str(rec, "id"));
		if (none)
			failed("%s", none);
	}
	key = fcm_guestkey_path();
	if (access(key, R_OK) < 0)
		failed("no ssh key %s to reach the VM with: it is made when fcm makes its first VM", key);
	guest = guest_dir();
	guestf = fcm_asprintf("%s/deploy", guest);
	if (!fcm_path_sane(guest) || access(guestf, R_OK) < 0)
		failed("the guest deploy script %s is missing: reinstall fcm", guestf);

	/* One deploy per VM at a time. */
	lk = fcm_lock(lockp, 1);
	if (lk < 0)
		failed("unable to lock %s: %s", lockp, strerror(errno));
	tmpd = fcm_strdup("/tmp/fcm-deploy.XXXXXX");
	envf = write_env(tmpd, rec, name, sha);

	/* The config vars go with the push, as they are now: a config change
	 * waits for the deploy (and the deploy for it). */
	{
		char *envlock = fcm_asprintf("%s/.env.lock", vmdir), *envp = fcm_env_path(fcm_get_str(rec, "id"));
		char ewhy[256];
		int ek = fcm_lock(envlock, 1);
		if (access(envp, F_OK) < 0 && fcm_env_save(fcm_get_str(rec, "id"), jv_object(), ewhy, sizeof ewhy) < 0)
			failed("%s", ewhy);
		st = ship(hook ? NULL : repo, sha, guest, envf, rec, &refused);
		if (st == 0)
			fcm_app_env_pending(fcm_get_str(rec, "id"), 0);
		if (ek >= 0)
			fcm_unlock(ek);
		free(envlock);
		free(envp);
	}
	unlink(envf);
	rmdir(tmpd);
	fcm_unlock(lk);

	if (st == 255 && refused) {
		char *msg = fcm_hostkey_refused(name, fcm_get_str(rec, "id"));
		failed("%s", msg);
	}
	if (st == 255)
		failed("unable to reach VM '%s' over ssh at %s (see 'fcm logs %s')", name, ip, name);
	if (st != 0) {
		/* The guest said why; say what it means for the push. */
		if (hook)
			out("-----> The push was refused: %s still serves the previous release", name);
		if (logfd >= 0) {
			char stamp[48];
			fcm_app_stamp(stamp, sizeof stamp);
			dprintf(logfd, "%s === failed after %ld s (exit %d) ===\n", stamp, (long)(time(NULL) - t0), st);
		}
		return 1;
	}
	if (logfd >= 0) {
		char stamp[48];
		fcm_app_stamp(stamp, sizeof stamp);
		dprintf(logfd, "%s === deployed in %ld s ===\n", stamp, (long)(time(NULL) - t0));
	}
	/* A release (fcm releases): the build, the commit, who. */
	if (built > 0) {
		char rwhy[256];
		jv r = jv_object_set(jv_object(), jv_string("kind"), jv_string("deploy"));
		r = jv_object_set(r, jv_string("by"), jv_string(owner ? owner : "admin"));
		r = jv_object_set(r, jv_string("description"), jv_string_fmt("Deploy %.12s", sha));
		r = jv_object_set(r, jv_string("commit"), jv_string(sha));
		r = jv_object_set(r, jv_string("build"), jv_number((double)built));
		long v = fcm_release_add(fcm_get_str(rec, "id"), r, rwhy, sizeof rwhy);
		if (v < 0)
			out("-----> warning: the release was not recorded: %s", rwhy);
		else
			out("-----> Released v%ld", v);
	}
	/* The record says when (fcm ls, the dashboard): read again, as another
	 * command may have written it meanwhile. */
	jv_free(rec);
	rec = fcm_vm_find(name);
	if (jv_is_valid(rec)) {
		rec = jv_object_set(rec, jv_string("deployed_at"), jv_number((double)time(NULL)));
		rec = jv_object_set(rec, jv_string("deployed_rev"), jv_string(sha));
		if (fcm_vm_save(rec) < 0)
			fcm_warn_sys("unable to write the record of VM '%s'", name);
	} else {
		jv_free(rec);
	}
	return 0;
}

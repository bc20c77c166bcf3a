/* fcm-console — a persistent console on a VM (doc/fcm-console.md).
 *
 *   fcm console [VM] [--session NAME] [--read-only]   a login shell over ssh,
 *                                                     held by fcm-tty on the host
 *   fcm console [VM] --serial [--read-only]           the VM's serial console
 *   fcm console [VM] --list [--json]                  the VM's sessions
 *   fcm console [VM] --ensure [--session NAME | --serial] [--json]
 *                     start the session if needed, print its socket (the API)
 *   fcm console VM --ensure --run B64 [--plain]
 *                     a new session running one command (fcm run through the
 *                     API; --plain: no echo, no CR before LF, for a pipe)
 *   fcm console VM --kill [--session NAME]            end one session
 *   fcm-console --cleanup VM                          end every session of a VM
 *                                                     (called when it stops or
 *                                                     is destroyed)
 *
 * VM is a name or an id; left out, it comes from .fcm here.  Ctrl-] detaches.
 *
 * In remote mode (FCM_HOST set, or not root: fcm_remote_mode, as every
 * command) the console goes through the API's WebSocket (doc/api.md) with the
 * same arguments and the same output.  --list, --ensure, --kill and --cleanup
 * work on the host only, as root, whatever FCM_HOST says.  Locally and
 * remotely the terminal is lib/tty/term's loop. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vm/dotfcm.h"
#include "core/err.h"
#include "vm/expose.h"
#include "vm/guestkey.h"
#include "vm/guestrun.h"
#include "core/jsonl.h"
#include "core/name.h"
#include "core/paths.h"
#include "core/run.h"
#include "http/client.h"
#include "http/wsterm.h"
#include "vm/vm.h"
#include "tty/term.h"
#include "tty/ttyproto.h"
#include "tty/ttysock.h"

static const char usage[] =
    "fcm console [VM] [--session NAME] [--serial] [--read-only] | [VM] --list [--json] | "
    "[VM] --ensure [--session NAME | --serial] | VM --ensure --run B64 [--plain] | VM --kill [--session NAME] | --cleanup VM";

#define SESSION_MAX 32
#define RUN_B64_MAX 12000	/* fcm run's words: 8 KiB, in base64 */
#define START_TIMEOUT_MS 10000

static int session_check(const char *s, char *why, size_t len)
{
	size_t n = strlen(s);

	if (strchr(s, '/')) {
		snprintf(why, len, "session name '%.64s' may not contain '/': use 1 to %d of a-z, 0-9 and '-'",
		    s, SESSION_MAX);
		return -1;
	}
	if (!n || n > SESSION_MAX) {
		snprintf(why, len, "session name '%.64s%s' is too %s: use 1 to %d of a-z, 0-9 and '-'", s,
		    n > 64 ? "..." : "", n ? "long" : "short", SESSION_MAX);
		return -1;
	}
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
			snprintf(why, len, "session name '%.64s' is not valid: use 1 to %d of a-z, 0-9 and '-'",
			    s, SESSION_MAX);
			return -1;
		}
	return 0;
}

/* The VM must be running: for now, its serial console server (fcm-tty on
 * console.sock, held by fcm-fc) answers. */
static void need_running(const char *id, const char *name)
{
	char *cons = fcm_path("vms/%s/console.sock", id);
	int live = fcm_tty_probe(cons, NULL) == 1;

	free(cons);
	if (!live)
		fcm_die(FCM_E_CONFLICT, "VM '%s' is not running: start it with 'fcm start %s'", name, name);
}

static void winsize(unsigned *rows, unsigned *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	for (int fd = 0; fd <= 2; fd++)
		if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
			*rows = ws.ws_row;
			*cols = ws.ws_col;
			return;
		}
}

/* Start `fcm-tty serve SOCK -- ssh ... root@IP` in a session of its own,
 * detached from us, and wait until it listens (its --ready-fd). */
static void start_session(const char *sock, const char *id, const char *ip, const char *name,
    const char *session, const char *cmd)
{
	char *tty = fcm_helper("tty"), *key = fcm_guestkey_path();
	char *target = fcm_asprintf("root@%s", ip), rows_s[16], cols_s[16];
	unsigned rows, cols;
	int rp[2], e;
	char c;
	ssize_t r;
	struct pollfd pfd;

	if (access(key, R_OK) < 0)
		fcm_die(FCM_E_INTERNAL, "unable to read the host's ssh key %s: %s (it is made with the first VM's disk)",
		    key, strerror(errno));
	/* The web console (the API runs us with no terminal) is an xterm. */
	const char *term = getenv("TERM");
	if (!term || !*term || !strcmp(term, "dumb"))
		setenv("TERM", "xterm-256color", 1);
	winsize(&rows, &cols);
	snprintf(rows_s, sizeof rows_s, "%u", rows);
	snprintf(cols_s, sizeof cols_s, "%u", cols);
	/* The guest must show the host key recorded at create: say so
	 * plainly here, and its ssh below checks it strictly anyway. */
	switch (fcm_hostkey_check(id, ip)) {
	case 0:
		fcm_die(FCM_E_CONFLICT, "%s", fcm_hostkey_refused(name, id));
	case -2:
		fcm_die(FCM_E_CONFLICT, "%s", fcm_hostkey_unrecorded(name, id));
	default:
		break;
	}
	char *pin[FCM_GUEST_SSH_NOPTS + 1], *argv[40] = {
		tty, "serve", (char *)sock, "--ready-fd", "3", "--rows", rows_s, "--cols", cols_s,
	};
	size_t na = 0;

	while (argv[na])
		na++;
	if (cmd)	/* one command: it starts when its client is there */
		argv[na++] = "--wait-attach";
	argv[na++] = "--";
	argv[na++] = "ssh";
	argv[na++] = "-i";
	argv[na++] = key;
	argv[na++] = "-o";
	argv[na++] = "ServerAliveInterval=2";
	argv[na++] = "-o";
	argv[na++] = "LogLevel=ERROR";
	argv[na++] = "-tt";
	fcm_guest_ssh_opts(id, pin);
	for (size_t i = 0; pin[i]; i++)
		argv[na++] = pin[i];
	argv[na++] = target;
	if (cmd)
		argv[na++] = (char *)cmd;	/* fixed text and base64 (fcm run) */
	argv[na] = NULL;

	if (pipe2(rp, O_CLOEXEC) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to make a pipe");
	/* A session of its own: it outlives this command. */
	struct fcm_child srv = { .argv = argv, .in = FCM_CHILD_NULL, .out = FCM_CHILD_NULL,
	    .err = FCM_CHILD_NULL, .fds = &rp[1], .nfds = 1, .flags = FCM_CHILD_SETSID };
	e = fcm_child_start(&srv);
	close(rp[1]);
	if (e < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to run %s", tty);
	pfd = (struct pollfd){ .fd = rp[0], .events = POLLIN };
	do
		e = poll(&pfd, 1, START_TIMEOUT_MS);
	while (e < 0 && errno == EINTR);
	r = e > 0 ? read(rp[0], &c, 1) : -1;
	close(rp[0]);
	if (r != 1) {
		int st;
		/* Another `fcm console` may have started the same session
		 * just now: then it is live, and we use it. */
		if (fcm_tty_probe(sock, NULL) == 1)
			goto out;
		if (waitpid(srv.pid, &st, WNOHANG) == srv.pid)
			fcm_die(FCM_E_INTERNAL, "unable to start console session '%s' of VM '%s' (fcm-tty exited %d)",
			    session, name, fcm_wait_code(st));
		fcm_die(FCM_E_INTERNAL, "console session '%s' of VM '%s' did not start in %ds", session, name,
		    START_TIMEOUT_MS / 1000);
	}
out:
	fcm_guest_ssh_opts_free(pin);
	free(tty);
	free(key);
	free(target);
}

static char *sessions_dir(const char *id)
{
	return fcm_path("vms/%s/sessions", id);
}

/* Make sure the session is served; returns its socket (malloc'd).  With
 * cmd, the session runs that command in the guest instead of a login shell,
 * and ends with it. */
static char *ensure_session(jv rec, const char *session, const char *cmd)
{
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");
	const char *ip = fcm_get_str(rec, "ip");
	char *dir = sessions_dir(id), *sock = fcm_asprintf("%s/%s.sock", dir, session);
	int r;

	r = fcm_tty_probe(sock, NULL);
	if (r == 1) {
		free(dir);
		return sock;
	}
	if (r == 0)
		fcm_warn("console session '%s' of VM '%s' had died (what ran in it is lost): starting a new one",
		    session, name);
	if (!ip || !*ip)
		fcm_die(FCM_E_USAGE, "VM '%s' has no IP address: use 'fcm console %s --serial'", name, name);
	if (fcm_mkdirs(dir, 0700) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to make %s", dir);
	start_session(sock, id, ip, name, session, cmd);
	free(dir);
	return sock;
}

/* How to come back, said on detach. */
static char *reattach_hint(const char *name, const char *session, int serial)
{
	if (serial)
		return fcm_asprintf("fcm console %s --serial", name);
	if (strcmp(session, "main"))
		return fcm_asprintf("fcm console %s --session %s", name, session);
	return fcm_asprintf("fcm console %s", name);
}

static _Noreturn void attach(const char *sock, const char *hint, int ro)
{
	char *tty = fcm_helper("tty");
	char *argv[] = { tty, "attach", (char *)sock, "--hint", (char *)hint, ro ? "--read-only" : NULL, NULL };

	fflush(stdout);
	execv(tty, argv);
	fcm_die_sys(FCM_E_INTERNAL, "unable to run %s", tty);
}

/* --- list, kill, cleanup ---------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The session names of a VM (sorted, NULL-terminated, malloc'd). */
static char **sessions_of(const char *id)
{
	char *dir = sessions_dir(id);
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = fcm_malloc(sizeof *v);
	size_t n = 0;

	while (d && (e = readdir(d))) {
		size_t k = strlen(e->d_name);
		char why[128], *s;
		if (k < 6 || strcmp(e->d_name + k - 5, ".sock"))
			continue;
		s = fcm_strdup(e->d_name);
		s[k - 5] = '\0';
		if (session_check(s, why, sizeof why) < 0) {
			free(s);
			continue;
		}
		v = realloc(v, (n + 2) * sizeof *v);
		if (!v)
			fcm_die_nomem();
		v[n++] = s;
	}
	if (d)
		closedir(d);
	v[n] = NULL;
	qsort(v, n, sizeof *v, by_name);
	free(dir);
	return v;
}

static int list(jv rec, int json)
{
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");
	char **v = sessions_of(id);
	int n = 0;

	if (!json)
		printf("%-32s  %-5s  %-8s  %s\n", "SESSION", "STATE", "PID", "STARTED");
	for (char **s = v; *s; s++, n++) {
		char *sock = fcm_path("vms/%s/sessions/%s.sock", id, *s);
		pid_t pid = 0;
		int live = fcm_tty_probe(sock, &pid) == 1;
		struct stat st;
		long started = stat(sock, &st) == 0 ? (long)st.st_mtime : 0;

		if (json) {
			jv o = jv_object();
			o = jv_object_set(o, jv_string("vm"), jv_string(name));
			o = jv_object_set(o, jv_string("session"), jv_string(*s));
			o = jv_object_set(o, jv_string("state"), jv_string(live ? "live" : "dead"));
			if (live)
				o = jv_object_set(o, jv_string("pid"), jv_number(pid));
			o = jv_object_set(o, jv_string("started_at"), jv_number((double)started));
			o = jv_object_set(o, jv_string("socket"), jv_string(sock));
			if (fcm_jsonl_write(stdout, o) < 0)
				fcm_die_sys(FCM_E_INTERNAL, "unable to write to stdout");
		} else {
			char when[32] = "-", pids[16] = "-";
			struct tm tm;
			time_t t = started;
			if (started && localtime_r(&t, &tm))
				strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
			if (live)
				snprintf(pids, sizeof pids, "%d", (int)pid);
			printf("%-32s  %-5s  %-8s  %s\n", *s, live ? "live" : "dead", pids, when);
		}
		free(sock);
		free(*s);
	}
	free(v);
	if (!json && !n)
		printf("(no sessions: 'fcm console %s' starts one)\n", name);
	return 0;
}

static int kill_one(const char *id, const char *session)
{
	char *sock = fcm_path("vms/%s/sessions/%s.sock", id, session);

	if (fcm_tty_kill(sock, SIGHUP, 5000) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to end console session '%s'", session);
	free(sock);
	return 0;
}

/* End every session of VM id and remove its sessions directory.  Works
 * without a record (a VM half destroyed).  The serial console is not a
 * session: it ends with the VMM. */
static int cleanup(const char *id)
{
	char **v = sessions_of(id), *dir = sessions_dir(id);
	int bad = 0;

	for (char **s = v; *s; s++) {
		char *sock = fcm_path("vms/%s/sessions/%s.sock", id, *s);
		if (fcm_tty_kill(sock, SIGHUP, 3000) < 0) {
			fcm_warn_sys("unable to end console session '%s' of VM %s", *s, id);
			bad = 1;
		}
		free(sock);
		free(*s);
	}
	free(v);
	if (rmdir(dir) < 0 && errno != ENOENT) {
		fcm_warn_sys("unable to remove %s", dir);
		bad = 1;
	}
	free(dir);
	return bad ? FCM_EXIT_TEMP : 0;
}

/* fcm console over the API: the same arguments, the same output. */
static _Noreturn void remote(const char *ref, const char *session, int serial, int ro)
{
	char why[256], q[160] = "", *path, *hint;
	unsigned rows, cols;
	jv name;

	name = ref ? jv_string(ref) : fcm_dotfcm_vm();
	if (!jv_is_valid(name))
		fcm_die_invalid(FCM_E_USAGE, name);
	if (fcm_name_check(jv_string_value(name), why, sizeof why) < 0)
		fcm_die(FCM_E_USAGE, "%s", why);
	fcm_set_instance(jv_string_value(name));
	fcm_client_setup(1);
	fcm_term_size(&rows, &cols);
	if (rows)
		snprintf(q, sizeof q, "rows=%u&cols=%u&", rows, cols);
	path = fcm_asprintf("/v1/vms/%s/console?%smode=%s%s%s", jv_string_value(name), q, ro ? "ro" : "rw",
	    serial ? "&serial=1" : strcmp(session, "main") ? "&session=" : "",
	    serial || !strcmp(session, "main") ? "" : session);
	hint = reattach_hint(jv_string_value(name), session, serial);
	jv_free(name);
	fcm_wsterm_run(path, hint, ro);
}

int main(int argc, char **argv)
{
	enum { OPT_SERIAL = 256, OPT_CLEANUP, OPT_ENSURE, OPT_KILL, OPT_JSON, OPT_RUN, OPT_PLAIN };
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "serial", no_argument, NULL, OPT_SERIAL },
		{ "list", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "read-only", no_argument, NULL, 'r' },
		{ "ensure", no_argument, NULL, OPT_ENSURE },
		{ "kill", no_argument, NULL, OPT_KILL },
		{ "cleanup", no_argument, NULL, OPT_CLEANUP },
		{ "run", required_argument, NULL, OPT_RUN },
		{ "plain", no_argument, NULL, OPT_PLAIN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *session = NULL, *ref = NULL, *id, *name, *run = NULL;
	char *runcmd = NULL, runsess[16];
	int plain = 0, serial = 0, do_list = 0, json = !isatty(1), ro = 0, ensure = 0, do_kill = 0, do_cleanup = 0;
	char why[256], *sock, *hint;
	jv rec;
	int c;

	fcm_init(argv[0]);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "s:lrh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': session = optarg; break;
		case OPT_SERIAL: serial = 1; break;
		case 'l': do_list = 1; break;
		case OPT_JSON: json = 1; break;
		case 'r': ro = 1; break;
		case OPT_ENSURE: ensure = 1; break;
		case OPT_KILL: do_kill = 1; break;
		case OPT_CLEANUP: do_cleanup = 1; break;
		case OPT_RUN: run = optarg; break;
		case OPT_PLAIN: plain = 1; break;
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			fcm_die(FCM_E_USAGE, "unknown option or missing value '%.64s'; usage: %s",
			    argv[optind - 1], usage);
		}
	}
	if (optind < argc)
		ref = argv[optind++];
	if (optind < argc)
		fcm_die(FCM_E_USAGE, "unexpected argument '%.64s'; usage: %s", argv[optind], usage);
	if (do_list + ensure + do_kill + do_cleanup > 1)
		fcm_die(FCM_E_USAGE, "--list, --ensure, --kill and --cleanup go alone; usage: %s", usage);
	if (serial && session)
		fcm_die(FCM_E_USAGE, "--serial and --session go alone: the serial console is not a session");
	if (ensure && json)
		fcm_err_json(1);
	if (session && session_check(session, why, sizeof why) < 0)
		fcm_die(FCM_E_USAGE, "%s", why);
	if (run) {
		/* fcm run through the API: a session of its own for one command,
		 * given as the base64 of its words (the guest decodes it). */
		size_t n = strlen(run);
		uint32_t rnd;
		if (!ensure || serial)
			fcm_die(FCM_E_USAGE, "--run goes with --ensure [--session NAME]; usage: %s", usage);
		if (!n || n > RUN_B64_MAX || strspn(run, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != n)
			fcm_die(FCM_E_USAGE, "--run takes the base64 of the command's words, each ended by a NUL byte");
		if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
			fcm_die_sys(FCM_E_INTERNAL, "unable to get random bytes");
		snprintf(runsess, sizeof runsess, "run-%08x", (unsigned)rnd);
		if (!session)	/* the client may name it, to say how to reattach */
			session = runsess;
		runcmd = fcm_asprintf(FCM_GUEST_APP " run %s%s", plain ? "--plain " : "", run);
	} else if (plain) {
		fcm_die(FCM_E_USAGE, "--plain goes with --run; usage: %s", usage);
	}
	if (!session)
		session = "main";
	if (!(do_list || ensure || do_kill || do_cleanup) && fcm_remote_mode())
		remote(ref, session, serial, ro);
	if (geteuid() != 0)
		fcm_die(FCM_E_FORBIDDEN, "'fcm console %s' works on the host only: run it there as root",
		    do_list ? "--list" : ensure ? "--ensure" : do_kill ? "--kill" : "--cleanup");

	if (do_cleanup) {
		if (!ref)
			fcm_die(FCM_E_USAGE, "--cleanup needs a VM (a name or an id)");
		if (fcm_id_check(ref) == 0)
			return cleanup(ref);	/* works with or without a record */
		rec = fcm_vm_find(ref);
		if (!jv_is_valid(rec)) {
			fcm_die_invalid(fcm_name_check(ref, why, sizeof why) == 0 ? FCM_E_NOT_FOUND : FCM_E_USAGE, rec);
		}
		c = cleanup(fcm_get_str(rec, "id"));
		jv_free(rec);
		return c;
	}

	rec = fcm_vm_from_arg(ref);
	if (!jv_is_valid(rec)) {
		/* a good name that names no VM is not found; a bad one is usage */
		fcm_die_invalid(ref && fcm_name_check(ref, why, sizeof why) == 0 ? FCM_E_NOT_FOUND : FCM_E_USAGE, rec);
	}
	id = fcm_get_str(rec, "id");
	name = fcm_get_str(rec, "name");
	if (!id || fcm_id_check(id) < 0 || !name)
		fcm_die(FCM_E_INTERNAL, "the record of VM '%s' has no valid id or name", ref ? ref : "?");
	fcm_set_instance(name);

	if (do_list || do_kill) {
		c = do_list ? list(rec, json) : kill_one(id, session);
		jv_free(rec);
		return c;
	}

	need_running(id, name);
	if (run) {
		char *live = fcm_path("vms/%s/sessions/%s.sock", id, session);
		if (fcm_tty_probe(live, NULL) == 1)
			fcm_die(FCM_E_CONFLICT, "console session '%s' of VM '%s' exists: fcm run makes a new one", session, name);
		free(live);
	}
	sock = serial ? fcm_path("vms/%s/console.sock", id) : ensure_session(rec, session, runcmd);
	hint = reattach_hint(name, session, serial);
	if (ensure) {
		jv o = fcm_ok();
		o = jv_object_set(o, jv_string("vm"), jv_string(name));
		o = jv_object_set(o, jv_string("session"), jv_string(serial ? "serial" : session));
		o = jv_object_set(o, jv_string("socket"), jv_string(sock));
		if (fcm_jsonl_write(stdout, o) < 0)
			fcm_die_sys(FCM_E_INTERNAL, "unable to write to stdout");
		jv_free(rec);
		free(sock);
		free(hint);
		return 0;
	}
	attach(sock, hint, ro);
}

/* fcm logs — an app's logs (doc/fcm-logs.md): by default its processes'
 * output (from the guest), its deploys and config changes, and the VM's
 * events, merged by time; --type one process type's output only; --deploy
 * the deploy log; --console the serial console and VMM (the s6-log of its
 * service).  -f follows. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "core/run.h"
#include "vm/app.h"
#include "vm/guestrun.h"
#include "vm/svc.h"
#include "vm/vm.h"

/* Print the last n lines of text. */
static void tail_lines(const char *text, size_t len, long n)
{
	size_t start = len;
	long seen = 0;

	if (len && text[len - 1] == '\n')
		start--;
	while (start > 0) {
		if (text[start - 1] == '\n' && ++seen == n)
			break;
		start--;
	}
	fwrite(text + start, 1, len - start, stdout);
}

/* Follow: read what is appended; reopen when s6-log rotates the file. */
static void follow(const char *path, const char *id, const char *name, off_t pos)
{
	char *vmdir = fcm_vm_dir(id);
	ino_t ino = 0;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && fstat(fd, &st) == 0)
		ino = st.st_ino;
	for (;;) {
		char buf[8192];
		ssize_t r;
		if (fd >= 0) {
			while ((r = pread(fd, buf, sizeof buf, pos)) > 0) {
				if (fwrite(buf, 1, (size_t)r, stdout) != (size_t)r || fflush(stdout) != 0)
					exit(0);	/* reader went away */
				pos += r;
			}
		}
		usleep(200000);
		if (stat(path, &st) == 0 && st.st_ino != ino) {
			if (fd >= 0)
				close(fd);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			ino = st.st_ino;
			pos = 0;
		} else if (stat(path, &st) < 0 && access(vmdir, F_OK) < 0) {
			fprintf(stderr, "fcm-logs: VM '%s' was destroyed\n", name);
			exit(0);
		}
	}
}

/* --- the merged view: app output, deploys, VM events --------------------- */

/* A line of the VM's own log ("2026-12-01 14:00:00.123456789  text", s6-log
 * T) that is an event of fcm-fc's, as "<stamp>Z fcm[vm]: text"; else NULL. */
static char *vm_event(const char *l)
{
	if (strlen(l) < 31 || l[4] != '-' || l[10] != ' ' || l[29] != ' ')
		return NULL;
	const char *text = l + 31;
	if (strncmp(text, "fcm-fc ", 7) && strncmp(text, "fcm-fc:", 7))
		return NULL;
	return fcm_asprintf("%.10sT%.18sZ fcm[vm]: %s", l, l + 11, text);
}

/* A line of deploy.log ("<stamp> text") as "<stamp> fcm[deploy]: text"; NULL
 * for a line without a stamp (written by an older fcm). */
static char *deploy_line(const char *l)
{
	if (strlen(l) < 31 || l[4] != '-' || l[10] != 'T' || l[29] != 'Z' || l[30] != ' ')
		return NULL;
	return fcm_asprintf("%.30s fcm[deploy]: %s", l, l + 31);
}

/* A line of the guest's `app logs` ("<stamp> web.1 text") as
 * "<stamp>Z app[web.1]: text". */
static char *app_line(const char *l)
{
	const char *sp = strchr(l, ' '), *sp2 = sp ? strchr(sp + 1, ' ') : NULL;

	if (!sp || !sp2 || sp - l < 19 || sp - l > 40)
		return NULL;
	return fcm_asprintf("%.*sZ app[%.*s]: %s", (int)(sp - l), l, (int)(sp2 - sp - 1), sp + 1, sp2 + 1);
}

/* Every line of text (consumed) through conv, appended to lines. */
static jv add_lines(jv lines, char *text, char *(*conv)(const char *))
{
	char *save = NULL;

	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		char *m = conv(l);
		if (m)
			lines = jv_array_append(lines, jv_string(m));
		free(m);
	}
	free(text);
	return lines;
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The app's lines from the guest: `app logs -n N [--type T] [-f]`. */
static char *app_cmd(long n, const char *type, int fol)
{
	return fcm_asprintf(FCM_GUEST_APP " logs -n %ld%s%s%s", n, type ? " --type " : "", type ? type : "",
	    fol ? " -f" : "");
}

/* Follow the merged view: the guest's new lines as they come, and what is
 * appended to the deploy log and the VM's log. */
static void follow_merged(jv rec, const char *type, off_t dpos, off_t vpos)
{
	const char *id = fcm_get_str(rec, "id");
	char *dpath = fcm_path("vms/%s/deploy.log", id), *vpath = fcm_path("vms/%s/log/current", id);
	char *cmd = app_cmd(0, type, 1), **argv = NULL, buf[65536], *vmdir = fcm_vm_dir(id);
	struct fcm_child c = { .in = FCM_CHILD_NULL, .out = FCM_CHILD_PIPE, .err = FCM_CHILD_NULL,
	    .pdeathsig = SIGTERM };
	size_t have = 0;
	int fd = -1;

	if (!strcmp(fcm_vm_state(rec), "running")) {
		argv = fcm_guest_argv(rec, 0, cmd);
		c.argv = argv;
		if (fcm_child_start(&c) == 0)
			fd = c.fd_out;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, fd >= 0 ? 1 : 0, 300);
		if (r > 0) {
			ssize_t got = read(fd, buf + have, sizeof buf - 1 - have);
			if (got <= 0) {
				close(fd);
				fd = -1;
			} else {
				have += (size_t)got;
				buf[have] = '\0';
				char *end = strrchr(buf, '\n');
				if (end || have == sizeof buf - 1) {
					size_t used = end ? (size_t)(end - buf) + 1 : have;
					char *part = fcm_asprintf("%.*s", (int)used, buf);
					jv lines = add_lines(jv_array(), part, app_line);
					jv_array_foreach(lines, i, l) {
						printf("%s\n", jv_string_value(l));
						jv_free(l);
					}
					jv_free(lines);
					memmove(buf, buf + used, have - used);
					have -= used;
				}
			}
		}
		if (!type) {
			const char *paths[2] = { dpath, vpath };
			off_t *pos[2] = { &dpos, &vpos };
			for (int i = 0; i < 2; i++) {
				struct stat st;
				if (stat(paths[i], &st) < 0)
					continue;
				if (st.st_size < *pos[i])
					*pos[i] = 0;	/* rotated */
				if (st.st_size == *pos[i])
					continue;
				size_t len = 0;
				char *text = fcm_read_file(paths[i], 64 << 20, &len);
				if (!text)
					continue;
				char *part = fcm_asprintf("%s", text + *pos[i]);
				*pos[i] = (off_t)len;
				free(text);
				jv lines = add_lines(jv_array(), part, i ? vm_event : deploy_line);
				jv_array_foreach(lines, j, l) {
					printf("%s\n", jv_string_value(l));
					jv_free(l);
				}
				jv_free(lines);
			}
		}
		if (fflush(stdout) != 0 || ferror(stdout))
			break;	/* reader went away */
		if (access(vmdir, F_OK) < 0)
			break;	/* destroyed */
	}
	if (argv) {
		kill(c.pid, SIGTERM);
		fcm_child_finish(&c);
		fcm_guest_argv_free(argv);
	}
	exit(0);
}

static void merged(jv rec, long n, const char *type, int fol)
{
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");
	jv lines = jv_array();
	size_t dlen = 0, vlen = 0;
	char *dpath = fcm_path("vms/%s/deploy.log", id), *vpath = fcm_path("vms/%s/log/current", id);
	char *note = NULL;	/* said after the lines (also through the API) */

	if (!strcmp(fcm_vm_state(rec), "running")) {
		char *cmd = app_cmd(n, type, 0), *out = NULL;
		char **argv = fcm_guest_argv(rec, 0, cmd);
		int st = fcm_run_capture_all(argv, NULL, 0, &out, 64 << 20);
		fcm_guest_argv_free(argv);
		free(cmd);
		if (st != 0) {
			if (type && out && strstr(out, "no process type"))
				fcm_die(FCM_E_NOT_FOUND, "VM '%s': no process type '%s' has run in it (see 'fcm ps %s')",
				    name, type, name);
			/* ssh's own words vary with the way the connection broke */
			note = st == 255 || !out ? fcm_asprintf("(the app's output of VM '%s' is out of reach: "
			    "ssh could not log in to it)", name) :
			    fcm_asprintf("(the app's output of VM '%s' is out of reach: %s)", name, fcm_guest_reason(out));
			free(out);
			out = NULL;
		}
		lines = add_lines(lines, out, app_line);
	} else {
		note = fcm_asprintf("(VM '%s' is %s: its app's output shows when it runs)", name, fcm_vm_state(rec));
	}
	if (!type) {
		char *d = fcm_read_file(dpath, 64 << 20, &dlen), *v = fcm_read_file(vpath, 64 << 20, &vlen);
		lines = add_lines(lines, d, deploy_line);
		lines = add_lines(lines, v, vm_event);
	}
	int count = jv_array_length(jv_copy(lines));
	const char **sorted = fcm_malloc(sizeof *sorted * (size_t)(count + 1));
	for (int i = 0; i < count; i++) {
		jv l = jv_array_get(jv_copy(lines), i);
		sorted[i] = jv_string_value(l);	/* lines holds it */
		jv_free(l);
	}
	qsort(sorted, (size_t)count, sizeof *sorted, by_text);
	for (int i = count > n ? count - (int)n : 0; i < count; i++)
		printf("%s\n", sorted[i]);
	free(sorted);
	jv_free(lines);
	if (note)
		printf("%s\n", note);
	free(note);
	fflush(stdout);
	if (fol)
		follow_merged(rec, type, (off_t)dlen, (off_t)vlen);
	free(dpath);
	free(vpath);
}

static jv run(jv req, jv rec, const struct fcm_principal *who)
{
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");
	const char *type = fcm_get_str(req, "type");
	jv f = jv_object_get(jv_copy(req), jv_string("follow")), d = jv_object_get(jv_copy(req), jv_string("deploy"));
	jv c = jv_object_get(jv_copy(req), jv_string("console"));
	jv n = jv_object_get(jv_copy(req), jv_string("lines"));
	int fol = jv_get_kind(f) == JV_KIND_TRUE, deploy = jv_get_kind(d) == JV_KIND_TRUE;
	int console = jv_get_kind(c) == JV_KIND_TRUE;
	long lines = jv_get_kind(n) == JV_KIND_NUMBER ? (long)jv_number_value(n) : 100;

	(void)who;
	jv_free(f);
	jv_free(d);
	jv_free(c);
	jv_free(n);
	if (deploy + console + (type != NULL) > 1)
		fcm_die(FCM_E_USAGE, "--deploy, --console and --type each pick one log: give one of them");
	if (!deploy && !console) {
		merged(rec, lines, type, fol);
		return jv_null();
	}
	char *path = deploy ? fcm_path("vms/%s/deploy.log", id) : fcm_path("vms/%s/log/current", id);
	size_t len = 0;
	char *text = fcm_read_file(path, 64 << 20, &len);

	if (!text && errno != ENOENT)
		fcm_die_sys(FCM_E_INTERNAL, "unable to read %s", path);
	if (!text && !fol)
		fcm_die(FCM_E_NOT_FOUND, "VM '%s' has no %s log yet", name, deploy ? "deploy" : "console");
	if (text)
		tail_lines(text, len, lines);
	free(text);
	fflush(stdout);
	if (fol)
		follow(path, id, name, (off_t)len);
	free(path);
	return jv_null();
}

/* A process type: as in the Procfile. */
static jv check(jv req)
{
	const char *t = fcm_get_str(req, "type");
	char why[160];

	if (t && fcm_app_type_check(t, why, sizeof why) < 0)
		fcm_die(FCM_E_USAGE, "%s", why);
	return req;
}

static const struct fcm_opt opts[] = {
	{ "follow", 'f', FCM_OPT_FLAG, NULL, NULL, 0, 0, 0 },
	{ "lines", 'n', FCM_OPT_NUMBER, NULL, NULL, 0, 1000000, 0 },
	{ "deploy", 0, FCM_OPT_FLAG, NULL, NULL, 0, 0, 0 },
	{ "console", 0, FCM_OPT_FLAG, NULL, NULL, 0, 0, 0 },
	{ "type", 't', FCM_OPT_STRING, NULL, NULL, 0, 0, 0 },
	{ NULL },
};

static const struct fcm_cmd_route routes[] = {
	{ "GET", "/v1/vms/{vm}/logs", 0 },
	{ NULL },
};

const struct fcm_cmd fcm_cmd_logs = {
	.name = "logs",
	.summary = "show an app's logs: its processes' output, deploys and VM events",
	.usage = "fcm logs [VM] [-f] [-n LINES] [--type TYPE | --deploy | --console]",
	.opts = opts,
	.flags = FCM_CMD_VM | FCM_CMD_TEXT | FCM_CMD_NOWRITE,
	.routes = routes,
	.status = 200,
	.check = check,
	.run = run,
};

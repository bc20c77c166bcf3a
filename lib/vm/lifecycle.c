/* lifecycle.c — linking, waiting for, and taking apart VMs. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/err.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "vm/lifecycle.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "core/rmtree.h"
#include "core/run.h"
#include "vm/jail.h"
#include "vm/svc.h"
#include "vm/vm.h"

void fcm_need_daemon(void)
{
	if (!fcm_svscan_running())
		fcm_die(FCM_E_UNAVAILABLE, "fcm daemon is not running on %s: start it with 'fcm daemon' (as root)",
		    fcm_root());
}

int fcm_proxy_enabled(void)
{
	const char *e = getenv("FCM_PROXY");
	char *helper;
	int ok;

	if (e && !strcmp(e, "off"))
		return 0;
	helper = fcm_helper("proxy");
	ok = access(helper, X_OK) == 0;
	free(helper);
	return ok;
}

long fcm_boot_timeout(void)
{
	const char *e = getenv("FCM_BOOT_TIMEOUT");
	long t = e ? strtol(e, NULL, 10) : 0;

	return t > 0 ? t : 300;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Tell s6-svscan to scan now (s6-svscanctl -a): 0, or -1 with errno. */
static int svscan_rescan(void)
{
	char *ctl = fcm_path("scan/.s6-svscan/control");
	int fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC), r = -1;

	free(ctl);
	if (fd >= 0) {
		r = write(fd, "a", 1) == 1 ? 0 : -1;
		close(fd);
	}
	return r;
}

/* Is an s6-supervise listening on the service directory's control fifo? */
static int supervised(const char *svc)
{
	char *dir = fcm_asprintf("%s/supervise", svc);
	int r = fcm_s6_listening(dir);

	free(dir);
	return r;
}

/* Wait, polling 1 to 4 ms apart, until svc is supervised (up) or neither
 * svc nor log is (!up), at most seconds.  0, or -1 when time ran out. */
static int wait_supervision(const char *svc, const char *log, int up, long seconds)
{
	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long ms = 1;; ms = ms < 4 ? ms * 2 : ms) {
		if (up ? supervised(svc) : !supervised(svc) && !(log && supervised(log)))
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= seconds)
			return -1;
		sleep_ms(ms);
	}
}

/* After its link is gone: s6-svscan told to stop the supervisors of
 * services no longer there (s6-svscanctl -an), then a wait (90 s at most)
 * until the VM's and its logger's have stopped and exited.  0, or -1. */
static int vm_unsupervise(const char *id)
{
	char *svc = fcm_vm_svcdir(id), *ctl = fcm_path("scan/.s6-svscan/control");
	char *log = fcm_asprintf("%s/log", svc);
	int fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC), r = 0;

	free(ctl);
	if (fd >= 0) {
		if (write(fd, "an", 2) != 2)
			r = -1;
		close(fd);
	}
	if (r == 0)
		r = wait_supervision(svc, log, 0, 90);
	free(svc);
	free(log);
	return r;
}

int fcm_vm_link_start(const char *id, char *err, size_t errlen)
{
	/* What s6-svlink does, without its two processes: the link, and a
	 * scan now. */
	char *scan = fcm_scandir();
	char *svc = fcm_vm_svcdir(id);
	char *link = fcm_asprintf("%s/vm-%s", scan, id);
	int r = 0;

	if (symlink(svc, link) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "unable to link service %s into %s: %s", svc, scan, strerror(errno));
		r = -1;
	} else if (!supervised(svc) && svscan_rescan() < 0) {
		snprintf(err, errlen, "unable to link service %s into %s: s6-svscan does not answer (%s)",
		    svc, scan, strerror(errno));
		r = -1;
	}
	free(scan);
	free(svc);
	free(link);
	return r;
}

/* Wait (30 s at most) until the service of VM id has its s6-supervise,
 * which then listens for s6-svc: 0, or -1 with a message in err. */
static int link_wait(const char *id, char *err, size_t errlen)
{
	char *svc = fcm_vm_svcdir(id);
	int r = wait_supervision(svc, NULL, 1, 30);

	if (r < 0)
		snprintf(err, errlen, "unable to link service %s into %s/scan: no s6-supervise for it within 30 s",
		    svc, fcm_root());
	free(svc);
	return r;
}

int fcm_vm_link(const char *id, char *err, size_t errlen)
{
	return fcm_vm_link_start(id, err, errlen) < 0 ? -1 : link_wait(id, err, errlen);
}

int fcm_vm_link_armed(const char *id, char *err, size_t errlen)
{
	char *svc = fcm_vm_svcdir(id), *down = fcm_asprintf("%s/down", svc);
	int r = link_wait(id, err, errlen);

	if (r == 0 && unlink(down) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "unable to remove %s: %s", down, strerror(errno));
		r = -1;
	}
	free(svc);
	free(down);
	return r;
}

int fcm_vm_start_now(const char *id, char *err, size_t errlen)
{
	char *svc = fcm_vm_svcdir(id);
	int r = fcm_svc_send(svc, "u");

	if (r < 0)
		snprintf(err, errlen, "unable to start service %s: its s6-supervise does not answer (%s)",
		    svc, strerror(errno));
	free(svc);
	return r;
}

int fcm_vm_link_up(const char *id, char *err, size_t errlen)
{
	return fcm_vm_link_armed(id, err, errlen) < 0 ? -1 : fcm_vm_start_now(id, err, errlen);
}

char *fcm_vm_log_tail(const char *id)
{
	/* The VMM's last words: the last line that is not fcm-fc's own
	 * narration ("info:", crash counting), without s6-log's timestamp. */
	char *path = fcm_path("vms/%s/log/current", id);
	char *text = fcm_read_file(path, 4 << 20, NULL);
	char *line = NULL, *save = NULL;

	free(path);
	if (!text)
		return NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strlen(l) > 30 && l[4] == '-' && l[10] == ' ' && l[29] == ' ')
			l += 30;
		while (*l == ' ' || *l == '\r')
			l++;
		if (!*l || (!strncmp(l, "fcm-fc ", 7) && (strstr(l, ": info: ") || strstr(l, "VMM died"))))
			continue;
		free(line);
		line = fcm_strdup(l);
	}
	free(text);
	if (line) {
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
			line[--n] = '\0';
	}
	return line;
}

void fcm_vm_wait_leaving_stopped(jv rec)
{
	struct timespec t0, now;

	/* Polled 1 to 4 ms apart: s6-supervise takes about a millisecond. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long ms = 1; !strcmp(fcm_vm_state(rec), "stopped"); ms = ms < 4 ? ms * 2 : ms) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= 5)
			break;
		sleep_ms(ms);
	}
}

int fcm_vm_wait_ready(const char *id, long timeout, char *err, size_t errlen)
{
	char *svc = fcm_vm_svcdir(id);
	char *crashes = fcm_path("vms/%s/crashes", id);
	time_t end = time(NULL) + timeout;
	struct fcm_svc_status st;
	int r = -1;

	for (;;) {
		if (fcm_svc_status(svc, &st) == 0 && st.supervised && st.pid && st.ready) {
			r = 0;
			break;
		}
		if (access(crashes, F_OK) == 0) {
			char *tail = fcm_vm_log_tail(id);
			snprintf(err, errlen, "the VM did not start: %s", tail ? tail : "its VMM exited (see 'fcm logs')");
			free(tail);
			break;
		}
		if (time(NULL) >= end) {
			snprintf(err, errlen, "the VM was not ready within %ld s (no answer from its sshd): see 'fcm logs'; FCM_BOOT_TIMEOUT sets the limit",
			    timeout);
			break;
		}
		sleep_ms(100);
	}
	free(svc);
	free(crashes);
	return r;
}

int fcm_vm_wait_down(const char *id, long timeout)
{
	char *svc = fcm_vm_svcdir(id);
	time_t end = time(NULL) + timeout;
	struct fcm_svc_status st;
	int r = -1;

	for (;;) {
		if (fcm_svc_status(svc, &st) < 0 || !st.supervised || (!st.pid && !st.finishing)) {
			r = 0;
			break;
		}
		if (time(NULL) >= end)
			break;
		sleep_ms(100);
	}
	free(svc);
	return r;
}

static void step(const char *what, jv reply, int *failed)
{
	if (!fcm_reply_ok(reply)) {
		fcm_warn("unable to %s: %s", what, fcm_reply_error(reply));
		*failed = 1;
	}
	jv_free(reply);
}

static jv id_req(const char *op, const char *id)
{
	return jv_object_set(jv_object_set(jv_object(), jv_string("op"), jv_string(op)),
	    jv_string("id"), jv_string(id));
}

int fcm_vm_teardown(const char *id, const char *name)
{
	return fcm_vm_teardown_ex(id, name, 0);
}

int fcm_vm_teardown_ex(const char *id, const char *name, unsigned flags)
{
	char *scan = fcm_scandir();
	char *link = fcm_asprintf("%s/vm-%s", scan, id);
	char *dir = fcm_path("vms/%s", id);
	char *helper;
	struct stat st;
	int failed = 0;
	jv rec;

	if (fcm_id_check(id) < 0) {
		fcm_warn("refusing to take apart '%.64s': not a VM id", id);
		free(scan);
		free(link);
		free(dir);
		return -1;
	}
	/* 0. The record says so first: the proxy routes no VM being taken
	 * apart, and a crash from here on leaves a record that says what to
	 * finish (the daemon's start and fcm doctor do). */
	int lk = flags & FCM_TEARDOWN_LOCK ? fcm_vm_table_lock() : -1;
	long uid = -1;
	rec = fcm_vm_load(id);
	if (jv_is_valid(rec) && jv_get_kind(rec) == JV_KIND_OBJECT) {
		jv u = jv_object_get(jv_copy(rec), jv_string("uid"));
		uid = jv_get_kind(u) == JV_KIND_NUMBER ? (long)jv_number_value(u) : -1;
		jv_free(u);
		const char *state = fcm_get_str(rec, "state");
		if (!state || strcmp(state, "destroying"))
			if (fcm_vm_save(jv_object_set(jv_copy(rec), jv_string("state"), jv_string("destroying"))) < 0)
				fcm_warn_sys("unable to mark VM %s as being destroyed", id);
	}
	jv_free(rec);
	if (lk >= 0)
		fcm_unlock(lk);
	/* 1. The service: unlink it and wait until its s6-supervise is gone
	 * (what s6-svunlink does, without its two processes). */
	if (lstat(link, &st) == 0) {
		if (unlink(link) < 0 && errno != ENOENT) {
			fcm_warn_sys("unable to remove %s", link);
			failed = 1;
		} else if (fcm_svscan_running() && vm_unsupervise(id) < 0)
			fcm_warn("the supervisor of VM %s did not stop within 90 s", id);
	}
	/* 1b. Its jail and cgroups, if the VMM was confined (a crash may have
	 * left them): fcm-fc release's own function, here. */
	{
		char why[1024];
		if (fcm_jail_release(id, why, sizeof why) < 0) {
			fcm_warn("unable to release the VM's jail: %s", why);
			failed = 1;
		}
	}
	/* 2. Its route, before its address is given back: a route must never
	 * point at an address another VM may get.  Should the proxy not take
	 * the change, the address stays leased (and the record says
	 * destroying) until a later destroy, the daemon's start or fcm doctor. */
	int routed = 1;
	if (fcm_proxy_enabled() && !(flags & FCM_TEARDOWN_NO_PROXY)) {
		jv r = fcm_proxy_sync();
		if (!fcm_reply_ok(r)) {
			fcm_warn("unable to remove the VM's route from the proxy: %s", fcm_reply_error(r));
			failed = 1;
			routed = 0;
		}
		jv_free(r);
	}
	/* 3. Network: tap and lease. */
	helper = fcm_helper("net");
	if (routed && access(helper, X_OK) == 0) {
		step("delete the VM's tap", fcm_call("net", id_req("tap-del", id)), &failed);
		step("free the VM's address", fcm_call("net", id_req("free", id)), &failed);
	}
	free(helper);
	/* 4. Git repo. */
	helper = fcm_helper("repo");
	if (name && access(helper, X_OK) == 0)
		step("delete the VM's git repo", fcm_call("repo",
		    jv_object_set(jv_object_set(jv_object(), jv_string("op"), jv_string("delete")),
		    jv_string("name"), jv_string(name))), &failed);
	free(helper);
	/* 5. Disk and directory (with the record: last, once all else is gone). */
	helper = fcm_helper("disk");
	if (access(helper, X_OK) == 0)
		step("delete the VM's disk", fcm_call("disk", id_req("delete", id)), &failed);
	free(helper);
	lk = flags & FCM_TEARDOWN_LOCK ? fcm_vm_table_lock() : -1;
	if (!failed && name)
		fcm_vm_name_release(name, id);
	if (!failed)
		fcm_jail_uid_release(id, uid);
	if (!failed && fcm_rm_tree(dir) < 0) {
		fcm_warn_sys("unable to remove %s", dir);
		failed = 1;
	}
	if (lk >= 0)
		fcm_unlock(lk);
	free(scan);
	free(link);
	free(dir);
	return failed ? -1 : 0;
}

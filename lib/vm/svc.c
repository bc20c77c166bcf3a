/* svc.c — reading s6-supervise status, writing VM service directories. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skalibs/djbunix.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/name.h"
#include "core/paths.h"
#include "vm/domains.h"
#include "vm/snapshot.h"
#include "vm/svc.h"

char *fcm_scandir(void)
{
	return fcm_path("scan");
}

char *fcm_vm_svcdir(const char *id)
{
	return fcm_path("vms/%s/service", id);
}

int fcm_s6_listening(const char *dir)
{
	/* A reader holds the control fifo open exactly while the s6 program
	 * (s6-svscan, s6-supervise) runs: opening it for writing without
	 * blocking fails with ENXIO otherwise. */
	char *ctl = fcm_asprintf("%s/control", dir);
	int fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	free(ctl);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

int fcm_svscan_running(void)
{
	char *dir = fcm_path("scan/.s6-svscan");
	int r = fcm_s6_listening(dir);

	free(dir);
	return r;
}

static uint64_t be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* fcm_svc_status, svcdir relative to the directory dfd (or absolute, or
 * dfd AT_FDCWD). */
static int status_at(int dfd, const char *svcdir, struct fcm_svc_status *st)
{
	/* s6 2.11 status: tain stamp (12), tain readystamp (12), pid (8, big
	 * endian), wstat (2, big endian), flags (1): paused 1, finishing 2,
	 * wantup 4, ready 8. */
	unsigned char b[35];
	char *path = fcm_asprintf("%s/supervise/status", svcdir);
	char *lock = fcm_asprintf("%s/supervise/lock", svcdir);
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	memset(st, 0, sizeof *st);
	free(path);
	if (fd < 0) {
		free(lock);
		return -1;
	}
	n = read(fd, b, sizeof b);
	close(fd);
	if (n != (ssize_t)sizeof b) {
		free(lock);
		return -1;
	}
	st->since = (int64_t)(be64(b) - 4611686018427387914ULL);	/* TAI64 - 10 s */
	st->pid = (pid_t)be64(b + 24);
	st->wstat = (b[32] << 8) | b[33];
	st->paused = b[34] & 1;
	st->finishing = !!(b[34] & 2);
	st->want_up = !!(b[34] & 4);
	st->ready = !!(b[34] & 8);
	/* Is a supervisor alive?  It holds supervise/lock. */
	fd = openat(dfd, lock, O_RDONLY | O_CLOEXEC);
	free(lock);
	if (fd >= 0) {
		/* A read lock: the fd is read-only, and s6-supervise holds a write lock. */
		st->supervised = fd_lock(fd, 0, 1) == 0;
		close(fd);
	}
	if (!st->supervised) {
		st->pid = 0;
		st->ready = 0;
	}
	return 0;
}

int fcm_svc_status(const char *svcdir, struct fcm_svc_status *st)
{
	return status_at(AT_FDCWD, svcdir, st);
}

/* A VM whose VMM is gone: suspended when fcm suspend said so and its
 * snapshot is there, else stopped. */
static const char *suspended_or_stopped(const char *id, const char *state)
{
	return state && !strcmp(state, "suspended") && fcm_snapshot_exists(id) ? "suspended" : "stopped";
}

/* fcm_vm_state, the service's files relative to vms (or AT_FDCWD). */
static const char *state_at(int vms, jv rec)
{
	const char *id = fcm_get_str(rec, "id");
	const char *state = fcm_get_str(rec, "state");
	struct fcm_svc_status st;
	char *dir;

	if (!id || fcm_id_check(id) < 0)	/* (it names a directory) */
		return "unknown";
	if (state && (!strcmp(state, "creating") || !strcmp(state, "failed") ||
	    !strcmp(state, "destroying")))
		return state;
	/* Suspended by fcm suspend (service down) or by itself when idle
	 * (its fcm-fc run waits for a packet to it: service up). */
	if (!strcmp(suspended_or_stopped(id, state), "suspended"))
		return "suspended";
	dir = vms == AT_FDCWD ? fcm_vm_svcdir(id) : fcm_asprintf("%s/service", id);
	if (status_at(vms, dir, &st) < 0 || !st.supervised) {
		free(dir);
		return "stopped";
	}
	free(dir);
	if (st.pid && st.ready && st.want_up)
		return "running";
	if (st.pid && st.want_up)
		return "starting";
	if (st.pid)
		return "stopping";
	if (st.want_up)
		return "starting";	/* between a death and the restart */
	return "stopped";
}

const char *fcm_vm_state(jv rec)
{
	return state_at(AT_FDCWD, rec);
}

jv fcm_vm_listed(jv rec)
{
	return fcm_vm_listed_at(AT_FDCWD, rec);
}

jv fcm_vm_listed_at(int vms, jv rec)
{
	const char *state = state_at(vms, rec);

	rec = jv_object_set(rec, jv_string("state"), jv_string(state));
	if (!strcmp(state, "suspended"))	/* what its snapshot takes on disk */
		rec = jv_object_set(rec, jv_string("snapshot_bytes"),
		    jv_number((double)fcm_snapshot_bytes(fcm_get_str(rec, "id"))));
	return jv_object_set(rec, jv_string("domains"), fcm_domains_of(rec));
}

static int write_exec(const char *dir, const char *name, const char *text)
{
	char *p = fcm_asprintf("%s/%s", dir, name);
	int r = fcm_write_replace(p, text, strlen(text), 0755);	/* daemon rewrites them */

	free(p);
	return r;
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char *p = fcm_asprintf("%s/%s", dir, name);
	int r = fcm_write_replace(p, text, strlen(text), 0644);

	free(p);
	return r;
}

int fcm_svc_make(const char *id, int down)
{
	/* The scripts hold only validated paths (fcm_root's charset) and the
	 * id ([a-z0-9]{8}): nothing from a user reaches a shell. */
	char *dir = fcm_vm_svcdir(id);
	char *logdir = fcm_asprintf("%s/log", dir);
	char *fc = fcm_helper("fc");
	char *vmlog = fcm_path("vms/%s/log", id);
	char *run = fcm_asprintf(
	    "#!/bin/sh\n# fcm VM %s: written by fcm, do not edit\n"
	    "FCM_ROOT=%s\nexport FCM_ROOT\nexec 2>&1\nexec %s run %s\n",
	    id, fcm_root(), fc, id);
	char *finish = fcm_asprintf(
	    "#!/bin/sh\nFCM_ROOT=%s\nexport FCM_ROOT\nexec 2>&1\nexec %s finish %s \"$@\"\n",
	    fcm_root(), fc, id);
	char *logrun = fcm_asprintf(
	    "#!/bin/sh\nexec s6-log -b n10 s1000000 T %s\n", vmlog);
	int r = -1;

	if (fcm_mkdirs(logdir, 0700) < 0 || fcm_mkdirs(vmlog, 0700) < 0)
		goto out;
	if (down > 0 && write_file(dir, "down", "") < 0)
		goto out;
	if (write_exec(dir, "run", run) < 0 || write_exec(dir, "finish", finish) < 0 ||
	    write_file(dir, "notification-fd", "3\n") < 0 ||
	    /* fcm-fc turns SIGTERM into a graceful guest shutdown; s6 kills
	     * only after this long. */
	    write_file(dir, "timeout-kill", "60000\n") < 0 ||
	    write_file(dir, "timeout-finish", "10000\n") < 0 ||
	    write_exec(logdir, "run", logrun) < 0)
		goto out;
	r = 0;
out:
	free(dir);
	free(logdir);
	free(fc);
	free(vmlog);
	free(run);
	free(finish);
	free(logrun);
	return r;
}

int fcm_svc_send(const char *svcdir, const char *cmds)
{
	char *ctl = fcm_asprintf("%s/supervise/control", svcdir);
	int fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC), r = -1, e;
	size_t n = strlen(cmds);

	free(ctl);
	if (fd < 0)
		return -1;
	if (write(fd, cmds, n) == (ssize_t)n)
		r = 0;
	e = errno;
	close(fd);
	errno = e;
	return r;
}


/* jail.c — Firecracker, its jailer, uids and jails (see jail.h). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "core/rmtree.h"
#include "vm/jail.h"
#include "vm/vm.h"

int fcm_jail_uid_range(uid_t *first, uid_t *last, char *err, size_t errlen)
{
	const char *s = getenv("FCM_JAIL_UIDS");
	unsigned long a, b;
	char *end;

	if (!s || !*s)
		s = "900000-999999";
	errno = 0;
	a = strtoul(s, &end, 10);
	if (errno || end == s || *end != '-')
		goto bad;
	s = end + 1;
	b = strtoul(s, &end, 10);
	if (errno || end == s || *end || a == 0 || b < a || b >= 0xfffffffeUL)
		goto bad;
	*first = (uid_t)a;
	*last = (uid_t)b;
	return 0;
bad:
	snprintf(err, errlen, "FCM_JAIL_UIDS='%.40s' is not a range of uids FIRST-LAST (1 <= FIRST <= LAST)",
	    getenv("FCM_JAIL_UIDS"));
	return -1;
}

static long rec_uid(jv rec)
{
	jv v = jv_object_get(jv_copy(rec), jv_string("uid"));
	long u = jv_get_kind(v) == JV_KIND_NUMBER ? (long)jv_number_value(v) : -1;

	jv_free(v);
	return u;
}

/* --- the uid index: vms/.uids/<uid>, a symbolic link to the VM's id ------
 * Kept exact under the VM table lock, so that claiming a uid reads one
 * entry, not every record; .uids/.next: every uid of the range below it is
 * held (a release lowers it); .uids/.complete: the index holds every
 * record's uid (made from the records when it is missing, as after an
 * upgrade). */

static char *uid_entry(long uid)
{
	return fcm_path("vms/.uids/%ld", uid);
}

/* The VM holding uid in the index (its live record says so), or 0. */
static int uid_held(long uid, const char *except)
{
	char *p = uid_entry(uid), id[FCM_ID_LEN + 2];
	ssize_t k = readlink(p, id, sizeof id - 1);
	int held = 0;

	free(p);
	if (k <= 0 || (size_t)k > FCM_ID_LEN)
		return 0;
	id[k] = '\0';
	if (fcm_id_check(id) < 0 || (except && !strcmp(id, except)))
		return 0;
	jv rec = fcm_vm_load(id);
	held = jv_is_valid(rec) && rec_uid(rec) == uid;
	jv_free(rec);
	return held;
}

/* Point .uids/<uid> at id (over a stale entry).  0, or -1. */
static int uid_index_set(long uid, const char *id)
{
	char *p = uid_entry(uid);
	int r = symlink(id, p);

	if (r < 0 && errno == EEXIST && unlink(p) == 0)
		r = symlink(id, p);
	free(p);
	return r;
}

static long uid_next(uid_t first)
{
	char *p = fcm_path("vms/.uids/.next"), *s = fcm_read_file(p, 32, NULL);
	long u = s ? strtol(s, NULL, 10) : 0;

	free(p);
	free(s);
	return u > (long)first ? u : (long)first;
}

static void uid_next_set(long u)
{
	char *p = fcm_path("vms/.uids/.next"), *s = fcm_asprintf("%ld\n", u);

	fcm_write_replace(p, s, strlen(s), 0600);	/* a hint: lower is only slower */
	free(p);
	free(s);
}

/* The index, made from the records when it is not complete.  0, or -1. */
static int uid_index_need(void)
{
	char *dir = fcm_path("vms/.uids"), *done = fcm_path("vms/.uids/.complete");
	int r = 0;

	if (access(done, F_OK) < 0) {
		jv list;
		r = -1;
		if (fcm_rm_tree(dir) < 0 && errno != ENOENT)
			goto out;
		if (mkdir(dir, 0700) < 0)
			goto out;
		list = fcm_vm_list();
		r = 0;
		jv_array_foreach(list, i, rec) {
			const char *id = fcm_get_str(rec, "id");
			long u = rec_uid(rec);
			if (id && u > 0 && uid_index_set(u, id) < 0)
				r = -1;
			jv_free(rec);
			(void)i;
		}
		jv_free(list);
		if (r == 0 && fcm_write_atomic(done, "", 0, 0600) < 0)
			r = -1;
	}
out:
	free(dir);
	free(done);
	return r;
}

void fcm_jail_uids_forget(void)
{
	char *done = fcm_path("vms/.uids/.complete");

	unlink(done);
	free(done);
}

long fcm_jail_uid_claim(const char *id, char *err, size_t errlen)
{
	uid_t first, last;
	long uid = -1, start;
	int lk;
	jv rec;

	if (fcm_jail_uid_range(&first, &last, err, errlen) < 0)
		return -1;
	if ((lk = fcm_vm_table_lock()) < 0) {
		snprintf(err, errlen, "unable to lock the VM table: %s", strerror(errno));
		return -1;
	}
	rec = fcm_vm_load(id);
	if (!jv_is_valid(rec)) {
		jv_free(rec);
		fcm_unlock(lk);
		snprintf(err, errlen, "no VM with id %s", id);
		return -1;
	}
	if (uid_index_need() < 0) {
		jv_free(rec);
		fcm_unlock(lk);
		snprintf(err, errlen, "unable to index the VMs' uids in %s/vms/.uids: %s", fcm_root(), strerror(errno));
		return -1;
	}
	uid = rec_uid(rec);
	if (uid >= (long)first && uid <= (long)last && !uid_held(uid, id)) {
		/* Its own (indexed again: an imported or older record). */
		uid_index_set(uid, id);
		jv_free(rec);
		fcm_unlock(lk);
		return uid;
	}
	/* The lowest uid of the range no other VM holds: from .next, then
	 * (should .next be off) from the start of the range. */
	uid = -1;
	start = uid_next(first);
	for (int pass = 0; pass < 2 && uid < 0; pass++)
		for (long u = pass ? (long)first : start; u <= (long)last && (pass == 0 || u < start); u++)
			if (!uid_held(u, id)) {
				uid = u;
				break;
			}
	if (uid < 0) {
		jv_free(rec);
		fcm_unlock(lk);
		snprintf(err, errlen, "every uid of FCM_JAIL_UIDS (%lu-%lu) is taken by a VM: widen the range",
		    (unsigned long)first, (unsigned long)last);
		return -1;
	}
	/* The record first, then the index: an entry never names a VM whose
	 * record does not hold its uid (uid_held checks both anyway). */
	rec = jv_object_set(rec, jv_string("uid"), jv_number((double)uid));
	rec = jv_object_set(rec, jv_string("gid"), jv_number((double)uid));
	if (fcm_vm_save(rec) < 0 || uid_index_set(uid, id) < 0) {
		snprintf(err, errlen, "unable to record the VM's uid: %s", strerror(errno));
		uid = -1;
	} else
		uid_next_set(uid + 1);	/* every uid walked past is held */
	fcm_unlock(lk);
	return uid;
}

void fcm_jail_uid_release(const char *id, long uid)
{
	char *p, held[FCM_ID_LEN + 2];
	ssize_t k;
	uid_t first, last;
	char err[256];

	if (uid <= 0)
		return;
	p = uid_entry(uid);
	k = readlink(p, held, sizeof held - 1);
	if (k > 0 && (size_t)k < sizeof held) {
		held[k] = '\0';
		if (!strcmp(held, id)) {
			if (fcm_jail_uid_range(&first, &last, err, sizeof err) == 0 && uid < uid_next(first))
				uid_next_set(uid);
			unlink(p);
		}
	}
	free(p);
}

char *fcm_jail_dir(const char *id, const char *firecracker)
{
	char *real = realpath(firecracker, NULL);
	const char *name;
	char *dir;

	name = real ? strrchr(real, '/') + 1 : (strrchr(firecracker, '/') ? strrchr(firecracker, '/') + 1 : firecracker);
	dir = fcm_path("jailer/%s/%s", name, id);
	free(real);
	return dir;
}

/* What fcm-fc links (or binds) into a jail's root. */
static const char *const jail_files[] = { "vmlinux", "initramfs.cpio.gz", "rootfs.ext4", "disk.img", NULL };

/* A VMM still running in this jail (its parent died before it): kill it.
 * The jailer wrote its pid to root/<exec name>.pid; it is ours only if its
 * root directory is this jail's root. */
static void kill_jailed(const char *dir)
{
	const char *name;
	char *root = fcm_asprintf("%s/root", dir), *exec, *pidf, *text;
	struct stat jr, pr;

	/* dir is <base>/<exec name>/<id> */
	exec = fcm_strdup(dir);
	*strrchr(exec, '/') = '\0';
	name = strrchr(exec, '/') + 1;
	pidf = fcm_asprintf("%s/%s.pid", root, name);
	text = fcm_read_file(pidf, 64, NULL);
	if (text && stat(root, &jr) == 0) {
		long pid = strtol(text, NULL, 10);
		char *proot = fcm_asprintf("/proc/%ld/root", pid);
		if (pid > 1 && stat(proot, &pr) == 0 && pr.st_dev == jr.st_dev && pr.st_ino == jr.st_ino) {
			kill((pid_t)pid, SIGKILL);
			for (int t = 0; t < 40 && kill((pid_t)pid, 0) == 0; t++) {
				struct timespec ts = { 0, 50 * 1000000L };
				nanosleep(&ts, NULL);
			}
		}
		free(proot);
	}
	free(text);
	free(pidf);
	free(exec);
	free(root);
}

static int release_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(dir, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "unable to read the jail %s: %s", dir, strerror(errno));
		return -1;
	}
	kill_jailed(dir);
	for (int i = 0; jail_files[i]; i++) {
		char *f = fcm_asprintf("%s/root/%s", dir, jail_files[i]);
		umount2(f, MNT_DETACH | UMOUNT_NOFOLLOW);	/* a bind mount, if one was needed */
		free(f);
	}
	if (fcm_rm_tree(dir) < 0) {
		snprintf(err, errlen, "unable to remove the jail %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* rmdir a cgroup; its last processes may take a moment to be gone. */
static int release_cgroup(const char *path, char *err, size_t errlen)
{
	for (int t = 0; t < 40; t++) {
		if (rmdir(path) == 0 || errno == ENOENT || errno == ENOTDIR)
			return 0;
		if (errno != EBUSY)
			break;
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	snprintf(err, errlen, "unable to remove the cgroup %s: %s", path, strerror(errno));
	return -1;
}

int fcm_jail_release(const char *id, char *err, size_t errlen)
{
	char *base = fcm_path("jailer");
	DIR *d = opendir(base);
	struct dirent *e;
	FILE *m;
	char line[4096];
	int rc = 0;

	if (d) {
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char *dir = fcm_asprintf("%s/%s/%s", base, e->d_name, id);
			if (release_dir(dir, err, errlen) < 0)
				rc = -1;
			free(dir);
		}
		closedir(d);
	}
	free(base);
	/* Its cgroup in every hierarchy mounted (v1 and v2). */
	if ((m = fopen("/proc/mounts", "re"))) {
		while (fgets(line, sizeof line, m)) {
			char src[512], dir[2048], type[64];
			if (sscanf(line, "%511s %2047s %63s", src, dir, type) != 3 ||
			    (strcmp(type, "cgroup") && strcmp(type, "cgroup2")))
				continue;
			char *cg = fcm_asprintf("%s/%s/%s", dir, FCM_CGROUP_PARENT, id);
			if (release_cgroup(cg, err, errlen) < 0)
				rc = -1;
			free(cg);
		}
		fclose(m);
	}
	return rc;
}

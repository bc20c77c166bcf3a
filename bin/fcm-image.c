/* fcm-image — the image store: the guest images VMs boot from (doc/fcm-image.md).
 *
 *   fcm-image add dir=DIR [version=V] [default=true]
 *   fcm-image ls
 *   fcm-image rm version=V
 *   fcm-image default version=V
 *
 * JSON lines as every fcm helper (doc/protocol.md).
 *
 * An image is $FCM_ROOT/images/<version>/{vmlinux,initramfs.cpio.gz,
 * rootfs.ext4,manifest.json}, read-only, versioned; images/default is a
 * symlink to the default version (lib/vm/image.h).  `make image` builds one
 * (rootfs/build) and adds it here; fcm-disk makes each VM's disk over one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/paths.h"
#include "core/stateformat.h"
#include "core/rmtree.h"
#include "core/sysprog.h"
#include "vm/image.h"
#include "vm/vm.h"

static const char usage[] =
    "fcm-image [add dir=DIR [version=V] [default=true] | ls | rm version=V | default version=V]";

/* A boolean field: JSON true/false, or "true"/"false", "1"/"0", "yes"/"no"
 * (from key=value words).  1, 0, or -1 when bad; 0 when absent. */
static int get_bool(jv req, const char *key)
{
	static const char *const words[] = { "false", "true", "0", "1", "no", "yes" };
	jv v = jv_object_get(jv_copy(req), jv_string(key));
	jv_kind k = jv_get_kind(v);
	int r = k == JV_KIND_TRUE ? 1 : k == JV_KIND_FALSE || k == JV_KIND_NULL || k == JV_KIND_INVALID ? 0 : -1;

	for (size_t i = 0; k == JV_KIND_STRING && i < sizeof words / sizeof words[0]; i++)
		if (!strcmp(jv_string_value(v), words[i]))
			r = (int)(i % 2);
	jv_free(v);
	return r;
}

/* Point images/default at v, atomically (symlink beside, rename over). */
static int set_default(const char *v)
{
	char *tmp = fcm_path("images/.default.tmp.%ld", (long)getpid());
	char *link = fcm_path("images/default");
	int r = -1;

	unlink(tmp);
	if (symlink(v, tmp) == 0 && rename(tmp, link) == 0)
		r = 0;
	if (r < 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
	}
	free(tmp);
	free(link);
	return r;
}

/* Is vmlinux an ELF file?  Firecracker loads the ELF kernel, not a bzImage. */
static int is_elf(const char *path)
{
	unsigned char m[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, m, sizeof m);
	close(fd);
	return n == 4 && m[0] == 0x7f && m[1] == 'E' && m[2] == 'L' && m[3] == 'F';
}

static jv op_add(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "dir", JV_KIND_STRING, 1 },
		{ "version", JV_KIND_STRING, 0 },
		{ "default", JV_KIND_INVALID, 0 },
		{ NULL, 0, 0 },
	};
	char err[512];

	if (fcm_fields_check(req, spec, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	const char *dir = fcm_get_str(req, "dir"), *want = fcm_get_str(req, "version");
	int mkdefault = get_bool(req, "default");
	char *v = NULL, *final = NULL, *tmp = NULL, *def = NULL;
	jv manifest = jv_invalid(), reply = jv_invalid();
	int lockfd = -1, was_default = 0;
	char kernel[256] = "unknown";
	double created = (double)time(NULL);
	struct fcm_image_boot boot;
	size_t nfiles = FCM_IMAGE_NFILES;

	if (mkdefault < 0)
		return fcm_fail(FCM_E_USAGE, "'default' must be true or false");
	if (!*dir || dir[0] != '/')
		return fcm_fail(FCM_E_USAGE, "'dir' must be an absolute path, not '%.200s'", dir);
	{
		char *mpath = fcm_asprintf("%s/manifest.json", dir);
		manifest = fcm_read_json(mpath);
		free(mpath);
		if (!jv_is_valid(manifest)) {
			jv_free(manifest);
			manifest = jv_object();
		} else if (jv_get_kind(manifest) != JV_KIND_OBJECT) {
			jv_free(manifest);
			return fcm_fail(FCM_E_USAGE, "unable to add image from %.200s: manifest.json is not a JSON object", dir);
		}
	}
	if (fcm_image_boot_parse(manifest, &boot, err, sizeof err) < 0) {
		reply = fcm_fail(FCM_E_USAGE, "unable to add image from %.200s: manifest.json: %s (doc/fcm-image.md)", dir, err);
		goto out;
	}
	nfiles = FCM_IMAGE_NFILES + (boot.initramfs ? 1 : 0);
	for (size_t i = 0; i < nfiles; i++) {
		const char *f = i < FCM_IMAGE_NFILES ? fcm_image_files[i] : FCM_IMAGE_INITRD;
		char *p = fcm_asprintf("%s/%s", dir, f);
		struct stat st;
		int r = stat(p, &st);
		if (r < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
			reply = fcm_fail(FCM_E_USAGE, "unable to add image from %.200s: %s: %s (an image dir holds vmlinux, rootfs.ext4 and, unless its manifest says \"boot\":\"root-device\", initramfs.cpio.gz)",
			    dir, f, r < 0 ? strerror(errno) : "not a non-empty regular file");
			free(p);
			goto out;
		}
		if (i == 0 && !is_elf(p)) {
			free(p);
			reply = fcm_fail(FCM_E_USAGE, "unable to add image from %.200s: vmlinux is not an ELF file (Firecracker loads the ELF vmlinux, not a bzImage; see doc/kernels.md)",
			    dir);
			goto out;
		}
		free(p);
	}
	if (!want)
		want = fcm_get_str(manifest, "version");
	if (!want) {
		reply = fcm_fail(FCM_E_USAGE, "unable to add image from %.200s: give version=V (no version in its manifest.json)", dir);
		goto out;
	}
	if (!fcm_image_version_ok(want)) {
		reply = fcm_fail(FCM_E_USAGE, "invalid image version '%.80s': 1-64 letters, digits, '.', '_' or '-', not 'default'", want);
		goto out;
	}
	v = fcm_strdup(want);
	if (fcm_get_str(manifest, "kernel"))
		snprintf(kernel, sizeof kernel, "%s", fcm_get_str(manifest, "kernel"));
	{
		long c;
		if (fcm_get_int(manifest, "created_at", 0, 1L << 40, &c, err, sizeof err) == 1)
			created = (double)c;
	}

	lockfd = fcm_lock_dir("images", 0755);
	if (lockfd < 0) {
		reply = fcm_fail(FCM_E_INTERNAL, "unable to lock %s/images: %s", fcm_root(), strerror(errno));
		goto out;
	}
	final = fcm_path("images/%s", v);
	{
		char why[PATH_MAX + 256];
		struct stat st;
		if (lstat(final, &st) == 0) {
			if (fcm_image_check(v, why, sizeof why) < 0) {
				reply = fcm_fail(FCM_E_INTERNAL, "unable to add image %s: %s exists but is incomplete: remove it with 'fcm-image rm version=%s'",
				    v, final, v);
				goto out;
			}
			goto registered;	/* already there: idempotent */
		}
	}
	tmp = fcm_path("images/.%s.tmp.%ld", v, (long)getpid());
	fcm_rm_tree(tmp);
	if (mkdir(tmp, 0755) < 0) {
		reply = fcm_fail(FCM_E_INTERNAL, "unable to create %s: %s", tmp, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < nfiles; i++) {
		const char *f = i < FCM_IMAGE_NFILES ? fcm_image_files[i] : FCM_IMAGE_INITRD;
		char *src = fcm_asprintf("%s/%s", dir, f);
		char *dst = fcm_asprintf("%s/%s", tmp, f), why[600];
		/* A hard link; across file systems, a copy that keeps the holes. */
		char *cp[] = { "cp", "--sparse=always", src, dst, NULL };
		if (link(src, dst) < 0 && fcm_sysprog(cp, why, sizeof why) < 0)
			reply = fcm_fail(FCM_E_INTERNAL, "unable to install %s into %s: %s", src, final, why);
		else if (chmod(dst, 0444) < 0 || fcm_fsync_path(dst) < 0)
			reply = fcm_fail(FCM_E_INTERNAL, "unable to install %s into %s: %s", src, final, strerror(errno));
		free(src);
		free(dst);
		if (jv_is_valid(reply))
			goto out;
	}
	{
		jv m = jv_object();
		m = jv_object_set(m, jv_string("version"), jv_string(v));
		m = jv_object_set(m, jv_string("kernel"), jv_string(kernel));
		m = jv_object_set(m, jv_string("created_at"), jv_number(created));
		m = fcm_image_boot_json(m, &boot);
		char *mpath = fcm_asprintf("%s/manifest.json", tmp);
		int r = fcm_write_json_atomic(mpath, fcm_state_stamp(m), 0644);
		free(mpath);
		if (r < 0) {
			reply = fcm_fail(FCM_E_INTERNAL, "unable to write the manifest of image %s: %s", v, strerror(errno));
			goto out;
		}
	}
	if (rename(tmp, final) < 0) {
		reply = fcm_fail(FCM_E_INTERNAL, "unable to move %s into place: %s", final, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
registered:
	def = fcm_image_default();
	if (mkdefault || !def) {
		if (set_default(v) < 0) {
			reply = fcm_fail(FCM_E_INTERNAL, "unable to point %s/images/default at %s: %s", fcm_root(), v, strerror(errno));
			goto out;
		}
		was_default = 1;
	} else
		was_default = !strcmp(def, v);
	{
		char *images = fcm_path("images");
		fcm_fsync_path(images);
		free(images);
	}
	reply = fcm_ok();
	reply = jv_object_set(reply, jv_string("version"), jv_string(v));
	reply = jv_object_set(reply, jv_string("path"), jv_string(final));
	reply = jv_object_set(reply, jv_string("kernel"), jv_string(kernel));
	reply = jv_object_set(reply, jv_string("default"), jv_bool(was_default));
out:
	if (tmp) {
		fcm_rm_tree(tmp);
		free(tmp);
	}
	if (lockfd >= 0)
		fcm_unlock(lockfd);
	jv_free(manifest);
	free(v);
	free(final);
	free(def);
	return reply;
}

static int is_version(const struct dirent *e)
{
	return fcm_image_version_ok(e->d_name);
}

/* VMs whose record names image v (or "default" while v is the default). */
static jv vms_using(const char *v, const char *def)
{
	jv list = fcm_vm_list(), users = jv_array();

	jv_array_foreach(list, i, rec) {
		const char *img = fcm_get_str(rec, "image");
		if (img && (!strcmp(img, v) || (def && !strcmp(def, v) && !strcmp(img, "default")))) {
			const char *name = fcm_get_str(rec, "name"), *id = fcm_get_str(rec, "id");
			users = jv_array_append(users, jv_string(name ? name : id ? id : "?"));
		}
		jv_free(rec);
	}
	jv_free(list);
	return users;
}

/* One image as ls lists it. */
static jv describe(const char *v, const char *def)
{
	char why[PATH_MAX + 256], *mpath = fcm_path("images/%s/manifest.json", v);
	jv img = jv_object(), m = fcm_read_json(mpath);
	double apparent = 0, allocated = 0;

	free(mpath);
	img = jv_object_set(img, jv_string("version"), jv_string(v));
	img = jv_object_set(img, jv_string("default"), jv_bool(def && !strcmp(def, v)));
	if (jv_get_kind(m) == JV_KIND_OBJECT) {
		struct fcm_image_boot b;
		if (fcm_image_boot_parse(m, &b, why, sizeof why) == 0)
			img = fcm_image_boot_json(img, &b);
		jv k = jv_object_get(jv_copy(m), jv_string("kernel"));
		jv c = jv_object_get(jv_copy(m), jv_string("created_at"));
		if (jv_get_kind(k) == JV_KIND_STRING)
			img = jv_object_set(img, jv_string("kernel"), k);
		else
			jv_free(k);
		if (jv_get_kind(c) == JV_KIND_NUMBER)
			img = jv_object_set(img, jv_string("created_at"), c);
		else
			jv_free(c);
	}
	jv_free(m);
	for (size_t f = 0; f <= FCM_IMAGE_NFILES; f++) {
		char *p = fcm_path("images/%s/%s", v, f < FCM_IMAGE_NFILES ? fcm_image_files[f] : FCM_IMAGE_INITRD);
		struct stat st;
		if (stat(p, &st) == 0) {
			apparent += (double)st.st_size;
			allocated += (double)st.st_blocks * 512.0;
		}
		free(p);
	}
	img = jv_object_set(img, jv_string("apparent"), jv_number(apparent));
	img = jv_object_set(img, jv_string("allocated"), jv_number(allocated));
	img = jv_object_set(img, jv_string("complete"), jv_bool(fcm_image_check(v, why, sizeof why) == 0));
	return jv_object_set(img, jv_string("vms"), vms_using(v, def));
}

static jv op_ls(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ NULL, 0, 0 },
	};
	char err[512];

	if (fcm_fields_check(req, spec, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	char *path = fcm_path("images"), *def = fcm_image_default();
	struct dirent **es = NULL;
	int n = scandir(path, &es, is_version, alphasort);	/* C locale: byte order */
	jv arr = jv_array();

	for (int i = 0; i < n; i++) {
		char *dir = fcm_path("images/%s", es[i]->d_name);
		struct stat st;
		if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			arr = jv_array_append(arr, describe(es[i]->d_name, def));
		free(dir);
		free(es[i]);
	}
	free(es);
	free(path);
	jv reply = fcm_ok();
	reply = jv_object_set(reply, jv_string("default"), def ? jv_string(def) : jv_null());
	reply = jv_object_set(reply, jv_string("images"), arr);
	free(def);
	return reply;
}

/* The fields of rm and default. */
static const struct fcm_field version_only[] = {
	{ "op", JV_KIND_STRING, 1 },
	{ "version", JV_KIND_STRING, 1 },
	{ NULL, 0, 0 },
};

static jv op_rm(jv req)
{
	char err[512];

	if (fcm_fields_check(req, version_only, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	const char *v = fcm_get_str(req, "version");
	jv reply = jv_invalid(), users;
	char *dir, *tmp, *def;
	int lockfd, was_default;
	struct stat st;

	if (!fcm_image_version_ok(v))
		return fcm_fail(FCM_E_USAGE, "invalid image version '%.80s'", v);
	lockfd = fcm_lock_dir("images", 0755);
	if (lockfd < 0)
		return fcm_fail(FCM_E_INTERNAL, "unable to lock %s/images: %s", fcm_root(), strerror(errno));
	dir = fcm_path("images/%s", v);
	tmp = fcm_path("images/.%s.rm.%ld", v, (long)getpid());
	def = fcm_image_default();
	was_default = def && !strcmp(def, v);
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		reply = fcm_fail(FCM_E_NOT_FOUND, "unknown image '%s': see 'fcm-image ls'", v);
		goto out;
	}
	users = vms_using(v, def);
	if (jv_array_length(jv_copy(users)) > 0) {
		jv s = jv_array_get(jv_copy(users), 0);
		int n = jv_array_length(jv_copy(users));
		reply = fcm_fail(FCM_E_CONFLICT, "unable to remove image %s: %d VM%s use%s it (%s%s): destroy them first",
		    v, n, n == 1 ? "" : "s", n == 1 ? "s" : "", jv_string_value(s), n > 1 ? ", ..." : "");
		jv_free(s);
		jv_free(users);
		goto out;
	}
	jv_free(users);
	if (was_default) {
		char *link = fcm_path("images/default");
		int r = unlink(link);
		free(link);
		if (r < 0 && errno != ENOENT) {
			reply = fcm_fail(FCM_E_INTERNAL, "unable to remove images/default: %s", strerror(errno));
			goto out;
		}
	}
	/* Rename first, so a half-removed image is never taken for a whole one. */
	if (rename(dir, tmp) < 0 || fcm_rm_tree(tmp) < 0) {
		reply = fcm_fail(FCM_E_INTERNAL, "unable to remove %s: %s", dir, strerror(errno));
		goto out;
	}
	reply = fcm_ok();
	reply = jv_object_set(reply, jv_string("version"), jv_string(v));
	reply = jv_object_set(reply, jv_string("was_default"), jv_bool(was_default));
out:
	fcm_unlock(lockfd);
	free(dir);
	free(tmp);
	free(def);
	return reply;
}

static jv op_default(jv req)
{
	char err[512];

	if (fcm_fields_check(req, version_only, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	const char *want = fcm_get_str(req, "version");
	jv reply = jv_invalid();
	int lockfd;
	char *v;

	if (!strcmp(want, "default"))
		return fcm_fail(FCM_E_USAGE, "give a version, not 'default'");
	lockfd = fcm_lock_dir("images", 0755);
	if (lockfd < 0)
		return fcm_fail(FCM_E_INTERNAL, "unable to lock %s/images: %s", fcm_root(), strerror(errno));
	v = fcm_image_resolve(want, &reply);
	if (v) {
		if (set_default(v) < 0)
			reply = fcm_fail(FCM_E_INTERNAL, "unable to point images/default at %s: %s", v, strerror(errno));
		else
			reply = jv_object_set(fcm_ok(), jv_string("default"), jv_string(v));
		free(v);
	}
	fcm_unlock(lockfd);
	return reply;
}

int main(int argc, char **argv)
{
	static const struct fcm_op ops[] = {
		{ "add", op_add },
		{ "ls", op_ls },
		{ "rm", op_rm },
		{ "default", op_default },
		{ NULL, NULL },
	};

	fcm_init(argv[0]);
	umask(022);
	return fcm_serve(argc, argv, ops, usage);
}

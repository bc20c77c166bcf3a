/* fcm-disk — guest images and the VMs' writable disks (doc/fcm-disk.md).
 *
 *   fcm-disk image-add dir=DIR [version=V] [default=true]
 *   fcm-disk image-ls
 *   fcm-disk image-rm version=V
 *   fcm-disk image-default version=V
 *   fcm-disk create id=ID [name=HOSTNAME] [size=2G] [image=V] [keys:='["ssh-ed25519 ..."]']
 *   fcm-disk usage id=ID
 *   fcm-disk delete id=ID
 *
 * JSON lines as every fcm helper (doc/protocol.md).
 *
 * An image is $FCM_ROOT/images/<version>/{vmlinux,initramfs.cpio.gz,
 * rootfs.ext4,manifest.json}; images/default is a symlink to the default
 * version.  A VM's disk is $FCM_ROOT/vms/<id>/disk.img: a sparse ext4 file
 * system made in constant time (truncate + mkfs.ext4 -d SEED with lazy inode
 * table and journal init) that holds the overlay upper and work directories,
 * pre-seeded with what the VM needs at first boot.  It never copies the base:
 * the base root filesystem is attached read-only and shared, and the guest's
 * initramfs makes the overlay of the two as /. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/atomic.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "core/rmtree.h"
#include "core/sysprog.h"
#include "vm/guestkey.h"
#include "vm/svc.h"
#include "vm/vm.h"

static const char usage[] =
    "fcm-disk [image-add dir=DIR [version=V] [default=true] | image-ls | image-rm version=V | "
    "image-default version=V | create id=ID [name=NAME] [size=2G] [image=V] [keys:=JSON] | "
    "usage id=ID | delete id=ID]";

#define SIZE_DEFAULT "2G"
#define SIZE_MIN (512ULL << 20)
#define SIZE_MAX_BYTES (1ULL << 40)
#define KEYS_MAX 64
#define KEY_MAX 8192
#define VERSION_MAX 64

static const char *const image_files[] = { "vmlinux", "initramfs.cpio.gz", "rootfs.ext4" };
#define NIMAGE_FILES (sizeof image_files / sizeof image_files[0])

/* --- small helpers ------------------------------------------------------- */

static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	const char *p = data;

	if (fd < 0)
		return -1;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fchmod(fd, mode) < 0 || close(fd) < 0)
		return -1;
	return 0;
}

static int mkdir_mode(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0)
		return -1;
	return chmod(path, mode);
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* A boolean field: JSON true/false, or the strings "true"/"false"/"1"/"0"
 * (from key=value words).  1, 0, or -1 when bad; dflt when absent. */
static int get_bool(jv req, const char *key, int dflt)
{
	jv v = jv_object_get(jv_copy(req), jv_string(key));
	int r = -1;

	switch (jv_get_kind(v)) {
	case JV_KIND_INVALID:
	case JV_KIND_NULL:
		r = dflt;
		break;
	case JV_KIND_TRUE:
		r = 1;
		break;
	case JV_KIND_FALSE:
		r = 0;
		break;
	case JV_KIND_STRING: {
		const char *s = jv_string_value(v);
		if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes"))
			r = 1;
		else if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no"))
			r = 0;
		break;
	}
	default:
		break;
	}
	jv_free(v);
	return r;
}

static jv check_fields(jv req, const struct fcm_field *spec)
{
	char err[512];

	if (fcm_fields_check(req, spec, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	return jv_null();
}

#define CHECK_FIELDS(req, spec) do { \
	jv bad_ = check_fields((req), (spec)); \
	if (jv_get_kind(bad_) != JV_KIND_NULL) \
		return bad_; \
} while (0)

/* --- images -------------------------------------------------------------- */

/* A version names a directory: 1-64 of [A-Za-z0-9._-], not starting with '.'
 * or '-', and not "default". */
static int version_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > VERSION_MAX || v[0] == '.' || v[0] == '-' || !strcmp(v, "default"))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* The default version (malloc'd), or NULL when there is none. */
static char *default_version(void)
{
	char *link = fcm_path("images/default");
	char buf[PATH_MAX];
	ssize_t n = readlink(link, buf, sizeof buf - 1);

	free(link);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	const char *base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	return version_ok(base) ? fcm_strdup(base) : NULL;
}

/* Is images/<v> a complete image?  0 yes; else -1 with the reason in why. */
static int image_check(const char *v, char *why, size_t whylen)
{
	for (size_t i = 0; i < NIMAGE_FILES; i++) {
		char *p = fcm_path("images/%s/%s", v, image_files[i]);
		struct stat st;
		int r = stat(p, &st);
		if (r < 0 || !S_ISREG(st.st_mode)) {
			snprintf(why, whylen, "image '%s' is incomplete: %s: %s", v, p,
			    r < 0 ? strerror(errno) : "not a regular file");
			free(p);
			return -1;
		}
		free(p);
	}
	return 0;
}

/* Resolve a requested image (NULL or "default" = the default) to a version
 * that is installed and complete. */
static char *image_resolve(const char *want, jv *fail)
{
	char why[PATH_MAX + 256];
	char *v;

	if (!want || !*want || !strcmp(want, "default")) {
		v = default_version();
		if (!v) {
			*fail = fcm_fail(FCM_E_USAGE,
			    "unable to find a base image: %s/images/default does not exist; build and install one with 'make image' (or 'fcm-disk image-add dir=DIR')",
			    fcm_root());
			return NULL;
		}
	} else {
		if (!version_ok(want)) {
			*fail = fcm_fail(FCM_E_USAGE, "invalid image version '%.80s': use letters, digits, '.', '_' and '-'",
			    want);
			return NULL;
		}
		char *dir = fcm_path("images/%s", want);
		struct stat st;
		int r = stat(dir, &st);
		free(dir);
		if (r < 0 || !S_ISDIR(st.st_mode)) {
			*fail = fcm_fail(FCM_E_USAGE, "unknown image '%s': see 'fcm-disk image-ls'", want);
			return NULL;
		}
		v = fcm_strdup(want);
	}
	if (image_check(v, why, sizeof why) < 0) {
		*fail = fcm_fail(FCM_E_INTERNAL, "unable to use the base image: %s (reinstall it with 'make image')", why);
		free(v);
		return NULL;
	}
	return v;
}

/* Copy src to dst (created, mode), keeping holes: blocks of zeros are
 * skipped and the file is sized at the end. */
static int copy_sparse(const char *src, const char *dst, mode_t mode)
{
	static char buf[1 << 20];
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, e;
	off_t off = 0;

	if (in < 0)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (out < 0)
		goto fail;
	for (;;) {
		ssize_t r = read(in, buf, sizeof buf);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		ssize_t z = 0;
		while (z < r && buf[z] == 0)
			z++;
		if (z == r) {
			off += r;
			continue;
		}
		for (ssize_t w = 0; w < r;) {
			ssize_t n = pwrite(out, buf + w, (size_t)(r - w), off + w);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				goto fail;
			}
			w += n;
		}
		off += r;
	}
	if (ftruncate(out, off) < 0 || fsync(out) < 0 || close(out) < 0) {
		out = -1;
		goto fail;
	}
	close(in);
	return 0;
fail:
	e = errno;
	close(in);
	if (out >= 0)
		close(out);
	unlink(dst);
	errno = e;
	return -1;
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

static jv op_image_add(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "dir", JV_KIND_STRING, 1 },
		{ "version", JV_KIND_STRING, 0 },
		{ "default", JV_KIND_INVALID, 0 },
		{ NULL, 0, 0 },
	};
	CHECK_FIELDS(req, spec);
	const char *dir = fcm_get_str(req, "dir"), *want = fcm_get_str(req, "version");
	int mkdefault = get_bool(req, "default", 0);
	char *v = NULL, *final = NULL, *tmp = NULL, *def = NULL;
	jv manifest = jv_invalid(), reply = jv_invalid();
	int lockfd = -1, was_default = 0;
	char kernel[256] = "unknown";
	double created = (double)time(NULL);

	if (mkdefault < 0)
		return fcm_fail(FCM_E_USAGE, "'default' must be true or false");
	if (!*dir || dir[0] != '/')
		return fcm_fail(FCM_E_USAGE, "'dir' must be an absolute path, not '%.200s'", dir);
	for (size_t i = 0; i < NIMAGE_FILES; i++) {
		char *p = fcm_asprintf("%s/%s", dir, image_files[i]);
		struct stat st;
		int r = stat(p, &st);
		if (r < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
			reply = fcm_fail(FCM_E_USAGE, "unable to add image from %.200s: %s: %s (an image dir holds vmlinux, initramfs.cpio.gz and rootfs.ext4)",
			    dir, image_files[i], r < 0 ? strerror(errno) : "not a non-empty regular file");
			free(p);
			return reply;
		}
		if (i == 0 && !is_elf(p)) {
			free(p);
			return fcm_fail(FCM_E_USAGE, "unable to add image from %.200s: vmlinux is not an ELF file (Firecracker loads the ELF vmlinux, not a bzImage; see doc/kernels.md)",
			    dir);
		}
		free(p);
	}
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
	if (!want)
		want = fcm_get_str(manifest, "version");
	if (!want) {
		reply = fcm_fail(FCM_E_USAGE, "unable to add image from %.200s: give version=V (no version in its manifest.json)", dir);
		goto out;
	}
	if (!version_ok(want)) {
		reply = fcm_fail(FCM_E_USAGE, "invalid image version '%.80s': 1-64 letters, digits, '.', '_' or '-', not 'default'", want);
		goto out;
	}
	v = fcm_strdup(want);
	if (fcm_get_str(manifest, "kernel"))
		snprintf(kernel, sizeof kernel, "%s", fcm_get_str(manifest, "kernel"));
	{
		long c;
		char err[128];
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
			if (image_check(v, why, sizeof why) < 0) {
				reply = fcm_fail(FCM_E_INTERNAL, "unable to add image %s: %s exists but is incomplete: remove it with 'fcm-disk image-rm version=%s'",
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
	for (size_t i = 0; i < NIMAGE_FILES; i++) {
		char *src = fcm_asprintf("%s/%s", dir, image_files[i]);
		char *dst = fcm_asprintf("%s/%s", tmp, image_files[i]);
		int r = link(src, dst);
		if (r < 0)
			r = copy_sparse(src, dst, 0444);
		if (r == 0)
			r = chmod(dst, 0444);
		if (r < 0) {
			reply = fcm_fail(FCM_E_INTERNAL,
			    "unable to install %s into %s: %s", src, final, strerror(errno));
			free(src);
			free(dst);
			goto out;
		}
		free(src);
		free(dst);
	}
	{
		jv m = jv_object();
		m = jv_object_set(m, jv_string("version"), jv_string(v));
		m = jv_object_set(m, jv_string("kernel"), jv_string(kernel));
		m = jv_object_set(m, jv_string("created_at"), jv_number(created));
		char *mpath = fcm_asprintf("%s/manifest.json", tmp);
		int r = fcm_write_json_atomic(mpath, m, 0644);
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
	def = default_version();
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
		fsync_path(images);
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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Installed versions, sorted (NULL-terminated, malloc'd). */
static char **image_versions(size_t *count)
{
	char *path = fcm_path("images");
	DIR *d = opendir(path);
	char **list = fcm_malloc(sizeof *list);
	size_t n = 0;
	struct dirent *e;

	free(path);
	list[0] = NULL;
	if (!d) {
		*count = 0;
		return list;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !version_ok(e->d_name))
			continue;
		char *p = fcm_path("images/%s", e->d_name);
		struct stat st;
		int isdir = lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
		free(p);
		if (!isdir)
			continue;
		char **nl = realloc(list, (n + 2) * sizeof *list);
		if (!nl)
			fcm_die_nomem();
		list = nl;
		list[n++] = fcm_strdup(e->d_name);
		list[n] = NULL;
	}
	closedir(d);
	qsort(list, n, sizeof *list, cmp_str);
	*count = n;
	return list;
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

static jv op_image_ls(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ NULL, 0, 0 },
	};
	CHECK_FIELDS(req, spec);
	size_t n;
	char **vs = image_versions(&n);
	char *def = default_version();
	jv arr = jv_array();

	for (size_t i = 0; i < n; i++) {
		char why[PATH_MAX + 256];
		jv img = jv_object();
		double apparent = 0, allocated = 0;
		img = jv_object_set(img, jv_string("version"), jv_string(vs[i]));
		img = jv_object_set(img, jv_string("default"), jv_bool(def && !strcmp(def, vs[i])));
		char *mpath = fcm_path("images/%s/manifest.json", vs[i]);
		jv m = fcm_read_json(mpath);
		free(mpath);
		if (jv_get_kind(m) == JV_KIND_OBJECT) {
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
		for (size_t f = 0; f < NIMAGE_FILES; f++) {
			char *p = fcm_path("images/%s/%s", vs[i], image_files[f]);
			struct stat st;
			if (stat(p, &st) == 0) {
				apparent += (double)st.st_size;
				allocated += (double)st.st_blocks * 512.0;
			}
			free(p);
		}
		img = jv_object_set(img, jv_string("apparent"), jv_number(apparent));
		img = jv_object_set(img, jv_string("allocated"), jv_number(allocated));
		img = jv_object_set(img, jv_string("complete"), jv_bool(image_check(vs[i], why, sizeof why) == 0));
		img = jv_object_set(img, jv_string("vms"), vms_using(vs[i], def));
		arr = jv_array_append(arr, img);
		free(vs[i]);
	}
	free(vs);
	jv reply = fcm_ok();
	reply = jv_object_set(reply, jv_string("default"), def ? jv_string(def) : jv_null());
	reply = jv_object_set(reply, jv_string("images"), arr);
	free(def);
	return reply;
}

static jv op_image_rm(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "version", JV_KIND_STRING, 1 },
		{ NULL, 0, 0 },
	};
	CHECK_FIELDS(req, spec);
	const char *v = fcm_get_str(req, "version");
	jv reply = jv_invalid(), users;
	char *dir, *tmp, *def;
	int lockfd, was_default;
	struct stat st;

	if (!version_ok(v))
		return fcm_fail(FCM_E_USAGE, "invalid image version '%.80s'", v);
	lockfd = fcm_lock_dir("images", 0755);
	if (lockfd < 0)
		return fcm_fail(FCM_E_INTERNAL, "unable to lock %s/images: %s", fcm_root(), strerror(errno));
	dir = fcm_path("images/%s", v);
	tmp = fcm_path("images/.%s.rm.%ld", v, (long)getpid());
	def = default_version();
	was_default = def && !strcmp(def, v);
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		reply = fcm_fail(FCM_E_USAGE, "unknown image '%s': see 'fcm-disk image-ls'", v);
		goto out;
	}
	users = vms_using(v, def);
	if (jv_array_length(jv_copy(users)) > 0) {
		jv s = jv_array_get(jv_copy(users), 0);
		int n = jv_array_length(jv_copy(users));
		reply = fcm_fail(FCM_E_USAGE, "unable to remove image %s: %d VM%s use%s it (%s%s): destroy them first",
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

static jv op_image_default(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "version", JV_KIND_STRING, 1 },
		{ NULL, 0, 0 },
	};
	CHECK_FIELDS(req, spec);
	const char *want = fcm_get_str(req, "version");
	jv reply = jv_invalid();
	int lockfd;
	char *v;

	if (!strcmp(want, "default"))
		return fcm_fail(FCM_E_USAGE, "give a version, not 'default'");
	lockfd = fcm_lock_dir("images", 0755);
	if (lockfd < 0)
		return fcm_fail(FCM_E_INTERNAL, "unable to lock %s/images: %s", fcm_root(), strerror(errno));
	v = image_resolve(want, &reply);
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

/* --- VM disks -------------------------------------------------------------- */

/* "2G", "512M", "10G", "1T", "4096K" or a byte count; 1024-based; optional
 * "i"/"iB"/"B" after the unit.  Bytes, or 0 when not a size. */
static unsigned long long parse_size(const char *s)
{
	unsigned long long n = 0, mul = 1;
	const char *p = s;

	if (*p < '1' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9') {
		if (n > (1ULL << 50))
			return 0;
		n = n * 10 + (unsigned long long)(*p++ - '0');
	}
	switch (*p) {
	case 'k': case 'K': mul = 1ULL << 10; p++; break;
	case 'm': case 'M': mul = 1ULL << 20; p++; break;
	case 'g': case 'G': mul = 1ULL << 30; p++; break;
	case 't': case 'T': mul = 1ULL << 40; p++; break;
	case '\0': break;
	default: return 0;
	}
	if (mul > 1) {
		if (*p == 'i' && p[1] == 'B')
			p += 2;
		else if (*p == 'B')
			p++;
	}
	if (*p || n > (1ULL << 62) / mul)
		return 0;
	return n * mul;
}

static int size_bad(const char *given, unsigned long long bytes, jv *fail)
{
	if (!bytes) {
		*fail = fcm_fail(FCM_E_USAGE,
		    "invalid disk size '%.40s': give a whole number with a unit, from 512M to 1T, e.g. 2G", given);
		return 1;
	}
	if (bytes < SIZE_MIN || bytes > SIZE_MAX_BYTES) {
		*fail = fcm_fail(FCM_E_USAGE, "disk size '%.40s' is out of range: from 512M to 1T", given);
		return 1;
	}
	return 0;
}

/* An ssh public key line: "<type> <base64> [comment]", one line, printable. */
static int key_ok(const char *k)
{
	static const char *const types[] = {
		"ssh-ed25519 ", "ssh-rsa ", "ecdsa-sha2-nistp256 ", "ecdsa-sha2-nistp384 ",
		"ecdsa-sha2-nistp521 ", "sk-ssh-ed25519@openssh.com ",
		"sk-ecdsa-sha2-nistp256@openssh.com ",
	};
	size_t n = strlen(k), t;
	const char *p = NULL;

	if (n == 0 || n > KEY_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f)
			return 0;
	for (t = 0; t < sizeof types / sizeof types[0]; t++)
		if (!strncmp(k, types[t], strlen(types[t]))) {
			p = k + strlen(types[t]);
			break;
		}
	if (!p)
		return 0;
	size_t b = 0;
	while ((p[b] >= 'A' && p[b] <= 'Z') || (p[b] >= 'a' && p[b] <= 'z') ||
	    (p[b] >= '0' && p[b] <= '9') || p[b] == '+' || p[b] == '/' || p[b] == '=')
		b++;
	return b >= 16 && (p[b] == '\0' || p[b] == ' ');
}

/* Append the requested keys to *ak.  "keys" is an array of strings, or one
 * string of key lines. */
static int collect_keys(jv req, char **ak, jv *fail)
{
	jv keys = jv_object_get(jv_copy(req), jv_string("keys"));
	jv list = jv_array();
	int r = 0;

	if (jv_get_kind(keys) == JV_KIND_STRING) {
		char *copy = fcm_strdup(jv_string_value(keys)), *save = NULL;
		for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			size_t l = strlen(line);
			if (l && line[l - 1] == '\r')
				line[l - 1] = '\0';
			if (*line)
				list = jv_array_append(list, jv_string(line));
		}
		free(copy);
	} else if (jv_get_kind(keys) == JV_KIND_ARRAY) {
		jv_array_foreach(keys, i, k) {
			if (jv_get_kind(k) != JV_KIND_STRING) {
				*fail = fcm_fail(FCM_E_USAGE, "'keys' must be an array of ssh public keys (strings)");
				jv_free(k);
				r = -1;
				goto out;
			}
			list = jv_array_append(list, k);
		}
	} else if (jv_is_valid(keys) && jv_get_kind(keys) != JV_KIND_NULL) {
		*fail = fcm_fail(FCM_E_USAGE, "'keys' must be an array of ssh public keys");
		r = -1;
		goto out;
	}
	if (jv_array_length(jv_copy(list)) > KEYS_MAX) {
		*fail = fcm_fail(FCM_E_USAGE, "too many ssh keys: at most %d", KEYS_MAX);
		r = -1;
		goto out;
	}
	jv_array_foreach(list, i, k) {
		const char *s = jv_string_value(k);
		if (!key_ok(s)) {
			*fail = fcm_fail(FCM_E_USAGE,
			    "key %d is not an ssh public key ('ssh-ed25519 AAAA... comment' on one line): '%.40s%s'",
			    i + 1, s, strlen(s) > 40 ? "..." : "");
			jv_free(k);
			r = -1;
			goto out;
		}
		char *n = fcm_asprintf("%s%s\n", *ak, s);
		free(*ak);
		*ak = n;
		jv_free(k);
	}
out:
	jv_free(keys);
	jv_free(list);
	return r;
}

/* Build the seed tree: upper/{etc/hostname, etc/ssh/ssh_host_ed25519_key*,
 * root/.ssh/authorized_keys, var/lib/fcm/random-seed}, work/.  Directory
 * modes match the base image's, since overlay takes a merged directory's
 * attributes from the upper one.  Returns 0 or -1 with why. */
static int make_seed(const char *seed, const char *hostname, const char *ak,
    char **hostpub, char *why, size_t whylen)
{
	static const struct { const char *path; mode_t mode; } dirs[] = {
		{ "upper", 0755 }, { "work", 0700 }, { "upper/etc", 0755 }, { "upper/etc/ssh", 0755 },
		{ "upper/root", 0700 }, { "upper/root/.ssh", 0700 }, { "upper/var", 0755 },
		{ "upper/var/lib", 0755 }, { "upper/var/lib/fcm", 0755 },
	};
	unsigned char rnd[512];
	char *p = NULL;
	int r = -1;

	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		free(p);
		p = fcm_asprintf("%s/%s", seed, dirs[i].path);
		if (mkdir_mode(p, dirs[i].mode) < 0)
			goto sys;
	}
	free(p);
	p = fcm_asprintf("%s/upper/etc/hostname", seed);
	{
		char *line = fcm_asprintf("%s\n", hostname);
		int w = write_file(p, line, strlen(line), 0644);
		free(line);
		if (w < 0)
			goto sys;
	}
	free(p);
	p = fcm_asprintf("%s/upper/root/.ssh/authorized_keys", seed);
	if (write_file(p, ak, strlen(ak), 0600) < 0)
		goto sys;
	free(p);
	p = fcm_asprintf("%s/upper/var/lib/fcm/random-seed", seed);
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd || write_file(p, rnd, sizeof rnd, 0600) < 0)
		goto sys;
	explicit_bzero(rnd, sizeof rnd);
	free(p);
	p = fcm_asprintf("%s/upper/etc/ssh/ssh_host_ed25519_key", seed);
	{
		char reason[600], *comment = fcm_asprintf("root@%s", hostname);
		int st = fcm_keygen(p, comment, reason, sizeof reason);
		free(comment);
		if (st < 0) {
			snprintf(why, whylen, "unable to generate the VM's ssh host key with ssh-keygen: %s", reason);
			goto out;
		}
		char *pubpath = fcm_asprintf("%s.pub", p);
		char *text = fcm_read_file(pubpath, KEY_MAX, NULL);
		free(pubpath);
		if (!text)
			goto sys;
		text[strcspn(text, "\n")] = '\0';
		*hostpub = text;
	}
	r = 0;
	goto out;
sys:
	snprintf(why, whylen, "unable to write %s: %s", p ? p : seed, strerror(errno));
out:
	free(p);
	return r;
}

/* A refusal of create, said as "unable to create the disk of VM <id>: ...". */
static jv create(jv req);

static jv create_fail(const char *id, jv reply)
{
	const char *msg = fcm_reply_error(reply);

	if (fcm_reply_ok(reply) || !strncmp(msg, "unable to", 9))
		return reply;
	jv m = id ? jv_string_fmt("unable to create the disk of VM %s: %s", id, msg)
	    : jv_string_fmt("unable to create a VM disk: %s", msg);
	return jv_object_set(reply, jv_string("error"), m);
}

static jv op_create(jv req)
{
	const char *id = fcm_get_str(req, "id");

	return create_fail(id && fcm_id_check(id) == 0 ? id : NULL, create(req));
}

static jv create(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "id", JV_KIND_STRING, 1 },
		{ "name", JV_KIND_STRING, 0 },
		{ "size", JV_KIND_INVALID, 0 },
		{ "image", JV_KIND_STRING, 0 },
		{ "keys", JV_KIND_INVALID, 0 },
		{ NULL, 0, 0 },
	};
	CHECK_FIELDS(req, spec);
	const char *id = fcm_get_str(req, "id"), *name = fcm_get_str(req, "name");
	const char *given = SIZE_DEFAULT;
	char sizebuf[64], why[PATH_MAX + 512], *v = NULL, *vmdir = NULL, *disk = NULL;
	char *tmpdisk = NULL, *seed = NULL, *priv = NULL, *ak = NULL, *hostpub = NULL;
	char *extra = NULL;
	unsigned long long bytes;
	jv reply = jv_invalid();
	int made_dir = 0, fd = -1;
	struct stat st;

	if (fcm_id_check(id) < 0)
		return fcm_fail(FCM_E_USAGE, "invalid VM id '%.40s': 8 characters of a-z and 0-9", id);
	if (!name)
		name = id;
	if (fcm_name_check(name, why, sizeof why) < 0)
		return fcm_fail(FCM_E_USAGE, "invalid name '%.80s': %s", name, why);
	{
		jv s = jv_object_get(jv_copy(req), jv_string("size"));
		if (jv_get_kind(s) == JV_KIND_STRING) {
			snprintf(sizebuf, sizeof sizebuf, "%s", jv_string_value(s));
			given = sizebuf;
			bytes = parse_size(jv_string_value(s));
		} else if (jv_get_kind(s) == JV_KIND_NUMBER) {
			double d = jv_number_value(s);
			snprintf(sizebuf, sizeof sizebuf, "%.0f", d);
			given = sizebuf;
			bytes = d >= 1 && d <= (double)SIZE_MAX_BYTES && d == (double)(unsigned long long)d
			    ? (unsigned long long)d : 0;
		} else if (!jv_is_valid(s) || jv_get_kind(s) == JV_KIND_NULL) {
			bytes = parse_size(SIZE_DEFAULT);
		} else {
			jv_free(s);
			return fcm_fail(FCM_E_USAGE, "'size' must be a string such as \"2G\"");
		}
		jv_free(s);
		if (size_bad(given, bytes, &reply))
			return reply;
		bytes = (bytes + 4095) & ~4095ULL;
	}
	extra = fcm_strdup("");
	if (collect_keys(req, &extra, &reply) < 0) {
		free(extra);
		return reply;
	}
	v = image_resolve(fcm_get_str(req, "image"), &reply);
	if (!v)
		goto out;
	vmdir = fcm_path("vms/%s", id);
	disk = fcm_path("vms/%s/disk.img", id);
	if (lstat(disk, &st) == 0) {
		reply = fcm_fail(FCM_E_USAGE, "unable to create the disk of VM %s: %s already exists (delete it first)",
		    id, disk);
		goto out;
	}
	if (!(ak = fcm_guestkey(why, sizeof why))) {
		reply = fcm_fail(FCM_E_INTERNAL, "%s", why);
		goto out;
	}
	{
		char *both = fcm_asprintf("%s\n%s", ak, extra);
		free(ak);
		ak = both;
	}

	if (lstat(vmdir, &st) < 0) {
		char *vms = fcm_path("vms");
		int r = fcm_mkdirs(vms, 0755);
		free(vms);
		if (r < 0 || mkdir(vmdir, 0755) < 0) {
			reply = fcm_fail(FCM_E_INTERNAL, "unable to create %s: %s", vmdir, strerror(errno));
			goto out;
		}
		made_dir = 1;
	}
	seed = fcm_path("vms/%s/.seed.XXXXXX", id);
	if (!mkdtemp(seed)) {
		reply = fcm_fail(FCM_E_INTERNAL, "unable to create a seed directory in %s: %s", vmdir, strerror(errno));
		free(seed);
		seed = NULL;
		goto out;
	}
	if (make_seed(seed, name, ak, &hostpub, why, sizeof why) < 0) {
		reply = fcm_fail(FCM_E_INTERNAL, "unable to create the disk of VM %s: %s", id, why);
		goto out;
	}
	tmpdisk = fcm_path("vms/%s/.disk.img.tmp.XXXXXX", id);
	fd = mkostemp(tmpdisk, O_CLOEXEC);
	if (fd < 0) {
		reply = fcm_fail(FCM_E_INTERNAL, "unable to create %s: %s", tmpdisk, strerror(errno));
		free(tmpdisk);
		tmpdisk = NULL;
		goto out;
	}
	if (fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)bytes) < 0) {
		reply = fcm_fail(FCM_E_INTERNAL, "unable to size %s to %llu bytes: %s", tmpdisk, bytes, strerror(errno));
		goto out;
	}
	{
		char reason[1100];
		char *argv[] = { "mkfs.ext4", "-q", "-F", "-T", "default", "-E", "lazy_itable_init=1,lazy_journal_init=1",
			"-L", "fcm-disk", "-d", seed, tmpdisk, NULL };
		if (fcm_sysprog(argv, reason, sizeof reason) < 0) {
			reply = fcm_fail(FCM_E_INTERNAL, "unable to make the file system of VM %s's disk: %s", id, reason);
			goto out;
		}
	}
	if (fsync(fd) < 0) {
		reply = fcm_fail(FCM_E_INTERNAL, "unable to write %s: %s", tmpdisk, strerror(errno));
		goto out;
	}
	/* Never over an existing disk, even one made meanwhile. */
	if (renameat2(AT_FDCWD, tmpdisk, AT_FDCWD, disk, RENAME_NOREPLACE) < 0) {
		int e = errno;
		reply = e == EEXIST
		    ? fcm_fail(FCM_E_USAGE, "unable to create the disk of VM %s: %s already exists (delete it first)", id, disk)
		    : fcm_fail(FCM_E_INTERNAL, "unable to move the disk into place as %s: %s", disk, strerror(e));
		goto out;
	}
	free(tmpdisk);
	tmpdisk = NULL;
	made_dir = 0;
	fsync_path(vmdir);
	{
		struct stat ds;
		double alloc = stat(disk, &ds) == 0 ? (double)ds.st_blocks * 512.0 : 0;
		reply = fcm_ok();
		reply = jv_object_set(reply, jv_string("id"), jv_string(id));
		reply = jv_object_set(reply, jv_string("disk"), jv_string(disk));
		reply = jv_object_set(reply, jv_string("size"), jv_number((double)bytes));
		reply = jv_object_set(reply, jv_string("allocated"), jv_number(alloc));
		reply = jv_object_set(reply, jv_string("image"), jv_string(v));
		char *k = fcm_path("images/%s/vmlinux", v), *i = fcm_path("images/%s/initramfs.cpio.gz", v);
		char *rf = fcm_path("images/%s/rootfs.ext4", v);
		reply = jv_object_set(reply, jv_string("kernel"), jv_string(k));
		reply = jv_object_set(reply, jv_string("initrd"), jv_string(i));
		reply = jv_object_set(reply, jv_string("rootfs"), jv_string(rf));
		priv = fcm_guestkey_path();
		reply = jv_object_set(reply, jv_string("ssh_key"), jv_string(priv));
		reply = jv_object_set(reply, jv_string("host_key"), jv_string(hostpub));
		free(k);
		free(i);
		free(rf);
	}
out:
	if (fd >= 0)
		close(fd);
	if (tmpdisk) {
		unlink(tmpdisk);
		free(tmpdisk);
	}
	if (seed) {
		fcm_rm_tree(seed);
		free(seed);
	}
	if (made_dir)
		rmdir(vmdir);
	free(v);
	free(vmdir);
	free(disk);
	free(priv);
	free(ak);
	free(extra);
	free(hostpub);
	return reply;
}

static jv op_usage(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "id", JV_KIND_STRING, 1 },
		{ NULL, 0, 0 },
	};
	CHECK_FIELDS(req, spec);
	const char *id = fcm_get_str(req, "id");
	struct stat st;

	if (fcm_id_check(id) < 0)
		return fcm_fail(FCM_E_USAGE, "invalid VM id '%.40s': 8 characters of a-z and 0-9", id);
	char *disk = fcm_path("vms/%s/disk.img", id);
	if (stat(disk, &st) < 0) {
		int e = errno;
		jv r = e == ENOENT
		    ? fcm_fail(FCM_E_USAGE, "VM %s has no disk (%s does not exist)", id, disk)
		    : fcm_fail(FCM_E_INTERNAL, "unable to stat %s: %s", disk, strerror(e));
		free(disk);
		return r;
	}
	jv reply = fcm_ok();
	reply = jv_object_set(reply, jv_string("id"), jv_string(id));
	reply = jv_object_set(reply, jv_string("disk"), jv_string(disk));
	reply = jv_object_set(reply, jv_string("apparent"), jv_number((double)st.st_size));
	reply = jv_object_set(reply, jv_string("allocated"), jv_number((double)st.st_blocks * 512.0));
	free(disk);
	return reply;
}

static jv op_delete(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "id", JV_KIND_STRING, 1 },
		{ NULL, 0, 0 },
	};
	CHECK_FIELDS(req, spec);
	const char *id = fcm_get_str(req, "id");
	int deleted = 0;

	if (fcm_id_check(id) < 0)
		return fcm_fail(FCM_E_USAGE, "invalid VM id '%.40s': 8 characters of a-z and 0-9", id);
	char *vmdir = fcm_path("vms/%s", id), *disk = fcm_path("vms/%s/disk.img", id);
	if (unlink(disk) == 0)
		deleted = 1;
	else if (errno != ENOENT) {
		jv r = fcm_fail(FCM_E_INTERNAL, "unable to delete %s: %s", disk, strerror(errno));
		free(vmdir);
		free(disk);
		return r;
	}
	/* Leftovers of an interrupted create. */
	DIR *d = opendir(vmdir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (strncmp(e->d_name, ".disk.img.tmp.", 14) && strncmp(e->d_name, ".seed.", 6))
				continue;
			char *p = fcm_asprintf("%s/%s", vmdir, e->d_name);
			fcm_rm_tree(p);
			free(p);
		}
		closedir(d);
	}
	free(vmdir);
	jv reply = fcm_ok();
	reply = jv_object_set(reply, jv_string("id"), jv_string(id));
	reply = jv_object_set(reply, jv_string("disk"), jv_string(disk));
	reply = jv_object_set(reply, jv_string("deleted"), jv_bool(deleted));
	free(disk);
	return reply;
}

int main(int argc, char **argv)
{
	static const struct fcm_op ops[] = {
		{ "create", op_create },
		{ "delete", op_delete },
		{ "usage", op_usage },
		{ "image-add", op_image_add },
		{ "image-ls", op_image_ls },
		{ "image-rm", op_image_rm },
		{ "image-default", op_image_default },
		{ NULL, NULL },
	};

	fcm_init(argv[0]);
	umask(022);
	return fcm_serve(argc, argv, ops, usage);
}

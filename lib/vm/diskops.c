/* diskops.c — the operations of fcm-disk (see diskops.h).
 *
 * fcm-disk — the VMs' writable disks (doc/fcm-disk.md).
 *
 *   fcm-disk create id=ID [name=HOSTNAME] [size=2G] [image=V] [keys:='["ssh-ed25519 ..."]']
 *   fcm-disk usage id=ID
 *   fcm-disk delete id=ID
 *
 * JSON lines as every fcm helper (doc/protocol.md).
 *
 * A VM's disk is $FCM_ROOT/vms/<id>/disk.img: a sparse ext4 file system made
 * in constant time (truncate + mkfs.ext4 -d SEED with lazy inode table and
 * journal init) that holds the overlay upper and work directories, pre-seeded
 * with what the VM needs at first boot.  It never copies the base: the base
 * root filesystem of its image (fcm-image) is attached read-only and shared,
 * and the guest makes the overlay of the two as / (doc/guest.md). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/size.h"
#include "core/jsonl.h"
#include "core/name.h"
#include "core/paths.h"
#include "vm/diskops.h"
#include "core/rmtree.h"
#include "core/sysprog.h"
#include "vm/guestkey.h"
#include "vm/image.h"

const char fcm_disk_usage[] =
    "fcm-disk [create id=ID [name=NAME] [size=2G] [image=V] [keys:=JSON] | usage id=ID | delete id=ID]";

#define SIZE_DEFAULT "2G"
#define SIZE_MIN (512ULL << 20)
#define SIZE_MAX_BYTES (1ULL << 40)
#define KEYS_MAX 64
#define KEY_MAX 8192

/* --- small helpers ------------------------------------------------------- */

static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode), e;

	if (fd < 0)
		return -1;
	if (allwrite(fd, data, len) != len || fchmod(fd, mode) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

static int mkdir_mode(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0)
		return -1;
	return chmod(path, mode);
}

/* --- VM disks -------------------------------------------------------------- */

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
			snprintf(why, whylen, "unable to generate the VM's ssh host key: %s", reason);
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

/* Where the seed is made: in memory (/dev/shm, when it is a tmpfs), else
 * in the VM's directory.  Removing a directory tree costs a few ms a
 * directory on a file system mounted with discard (each freed block is
 * trimmed at once): the eleven of a seed took 35 ms of a 60 ms create.
 * The seed holds the VM's host key: a directory of root's alone (mkdtemp:
 * 0700), removed at the end, and gone with the machine's memory at worst. */
static char *seed_template(const char *id)
{
	struct statfs fs;

	if (statfs("/dev/shm", &fs) == 0 && fs.f_type == TMPFS_MAGIC)
		return fcm_asprintf("/dev/shm/fcm-seed-%s.XXXXXX", id);
	return fcm_path("vms/%s/.seed.XXXXXX", id);
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
	char err[512];

	if (fcm_fields_check(req, spec, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
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
			bytes = fcm_size_parse(jv_string_value(s));
		} else if (jv_get_kind(s) == JV_KIND_NUMBER) {
			double d = jv_number_value(s);
			snprintf(sizebuf, sizeof sizebuf, "%.0f", d);
			given = sizebuf;
			bytes = d >= 1 && d <= (double)SIZE_MAX_BYTES && d == (double)(unsigned long long)d
			    ? (unsigned long long)d : 0;
		} else if (!jv_is_valid(s) || jv_get_kind(s) == JV_KIND_NULL) {
			bytes = fcm_size_parse(SIZE_DEFAULT);
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
	v = fcm_image_resolve(fcm_get_str(req, "image"), &reply);
	if (!v)
		goto out;
	vmdir = fcm_path("vms/%s", id);
	disk = fcm_path("vms/%s/disk.img", id);
	if (lstat(disk, &st) == 0) {
		reply = fcm_fail(FCM_E_CONFLICT, "unable to create the disk of VM %s: %s already exists (delete it first)",
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
		int r = fcm_mkdirs(vms, 0700);
		free(vms);
		if (r < 0 || mkdir(vmdir, 0700) < 0) {
			reply = fcm_fail(FCM_E_INTERNAL, "unable to create %s: %s", vmdir, strerror(errno));
			goto out;
		}
		made_dir = 1;
	}
	seed = seed_template(id);
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
		    ? fcm_fail(FCM_E_CONFLICT, "unable to create the disk of VM %s: %s already exists (delete it first)", id, disk)
		    : fcm_fail(FCM_E_INTERNAL, "unable to move the disk into place as %s: %s", disk, strerror(e));
		goto out;
	}
	free(tmpdisk);
	tmpdisk = NULL;
	made_dir = 0;
	fcm_fsync_path(vmdir);
	{
		struct stat ds;
		double alloc = stat(disk, &ds) == 0 ? (double)ds.st_blocks * 512.0 : 0;
		reply = fcm_ok();
		reply = jv_object_set(reply, jv_string("id"), jv_string(id));
		reply = jv_object_set(reply, jv_string("disk"), jv_string(disk));
		reply = jv_object_set(reply, jv_string("size"), jv_number((double)bytes));
		reply = jv_object_set(reply, jv_string("allocated"), jv_number(alloc));
		reply = jv_object_set(reply, jv_string("image"), jv_string(v));
		static const char *const as[FCM_IMAGE_NFILES] = { "kernel", "rootfs" };
		for (size_t f = 0; f < FCM_IMAGE_NFILES; f++)
			reply = jv_object_set(reply, jv_string(as[f]),
			    jv_string_fmt("%s/images/%s/%s", fcm_root(), v, fcm_image_files[f]));
		{
			char *initrd = fcm_path("images/%s/%s", v, FCM_IMAGE_INITRD);
			if (access(initrd, F_OK) == 0)
				reply = jv_object_set(reply, jv_string("initrd"), jv_string(initrd));
			free(initrd);
		}
		priv = fcm_guestkey_path();
		reply = jv_object_set(reply, jv_string("ssh_key"), jv_string(priv));
		reply = jv_object_set(reply, jv_string("host_key"), jv_string(hostpub));
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
	char err[512];

	if (fcm_fields_check(req, spec, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	const char *id = fcm_get_str(req, "id");
	struct stat st;

	if (fcm_id_check(id) < 0)
		return fcm_fail(FCM_E_USAGE, "invalid VM id '%.40s': 8 characters of a-z and 0-9", id);
	char *disk = fcm_path("vms/%s/disk.img", id);
	if (stat(disk, &st) < 0) {
		int e = errno;
		jv r = e == ENOENT
		    ? fcm_fail(FCM_E_NOT_FOUND, "VM %s has no disk (%s does not exist)", id, disk)
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
	char err[512];

	if (fcm_fields_check(req, spec, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
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
	/* And of its seed in /dev/shm (seed_template). */
	if ((d = opendir("/dev/shm"))) {
		struct dirent *e;
		char *prefix = fcm_asprintf("fcm-seed-%s.", id);
		while ((e = readdir(d)))
			if (!strncmp(e->d_name, prefix, strlen(prefix))) {
				char *p = fcm_asprintf("/dev/shm/%s", e->d_name);
				fcm_rm_tree(p);
				free(p);
			}
		free(prefix);
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

const struct fcm_op fcm_disk_ops[] = {
	{ "create", op_create },
	{ "delete", op_delete },
	{ "usage", op_usage },
	{ NULL, NULL },
};

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
 * in constant time (a sparse copy of an empty one made once by mkfs.ext4
 * with lazy inode table and journal init, lib/vm/diskfs.h) that holds the
 * overlay upper and work directories, pre-seeded with what the VM needs at
 * first boot.  It never copies the base: the base
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
#include <unistd.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/size.h"
#include "core/jsonl.h"
#include "core/name.h"
#include "core/paths.h"
#include "vm/diskfs.h"
#include "vm/diskops.h"
#include "core/rmtree.h"
#include "vm/guestkey.h"
#include "vm/image.h"

const char fcm_disk_usage[] =
    "fcm-disk [create id=ID [name=NAME] [size=2G] [image=V] [keys:=JSON] | usage id=ID | delete id=ID]";

#define SIZE_DEFAULT "2G"
#define SIZE_MIN (512ULL << 20)
#define SIZE_MAX_BYTES (1ULL << 40)
#define KEYS_MAX 64
#define KEY_MAX 8192

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

/* The files every disk is seeded with, in the directories of fcm_disk_dirs
 * (lib/vm/diskfs.c: upper/ and work/, whose modes match the base image's,
 * since overlay takes a merged directory's attributes from the upper one):
 * upper/etc/hostname, upper/root/.ssh/authorized_keys (ak),
 * upper/var/lib/fcm/random-seed and the VM's own ssh host key
 * upper/etc/ssh/ssh_host_ed25519_key{,.pub}, whose public half goes to
 * *hostpub (malloc'd, no newline).  Their texts are kept in s until
 * free_files.  0, or -1 with why. */
#define NFILES 5
struct seed {
	struct fcm_disk_file f[NFILES];
	char *hostname, *priv, *pub;
	unsigned char rnd[512];
};

static int make_files(struct seed *s, const char *hostname, const char *ak, char **hostpub,
    char *why, size_t whylen)
{
	char reason[600], *comment = fcm_asprintf("root@%s", hostname);
	int r;

	memset(s, 0, sizeof *s);
	r = fcm_keygen_text(comment, &s->priv, &s->pub, reason, sizeof reason);
	free(comment);
	if (r < 0) {
		snprintf(why, whylen, "unable to generate the VM's ssh host key: %s", reason);
		return -1;
	}
	if (getrandom(s->rnd, sizeof s->rnd, 0) != (ssize_t)sizeof s->rnd) {
		snprintf(why, whylen, "unable to get random bytes: %s", strerror(errno));
		return -1;
	}
	s->hostname = fcm_asprintf("%s\n", hostname);
	s->f[0] = (struct fcm_disk_file){ "upper/etc/hostname", s->hostname, strlen(s->hostname), 0644 };
	s->f[1] = (struct fcm_disk_file){ "upper/root/.ssh/authorized_keys", ak, strlen(ak), 0600 };
	s->f[2] = (struct fcm_disk_file){ "upper/var/lib/fcm/random-seed", s->rnd, sizeof s->rnd, 0600 };
	s->f[3] = (struct fcm_disk_file){ "upper/etc/ssh/ssh_host_ed25519_key", s->priv, strlen(s->priv), 0600 };
	s->f[4] = (struct fcm_disk_file){ "upper/etc/ssh/ssh_host_ed25519_key.pub", s->pub, strlen(s->pub), 0644 };
	*hostpub = fcm_strdup(s->pub);
	(*hostpub)[strcspn(*hostpub, "\n")] = '\0';
	return 0;
}

static void free_files(struct seed *s)
{
	explicit_bzero(s->rnd, sizeof s->rnd);
	if (s->priv)
		explicit_bzero(s->priv, strlen(s->priv));
	free(s->priv);
	free(s->pub);
	free(s->hostname);
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
	char *tmpdisk = NULL, *priv = NULL, *ak = NULL, *hostpub = NULL;
	struct seed files = { .priv = NULL };
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
	if (make_files(&files, name, ak, &hostpub, why, sizeof why) < 0) {
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
	if (fcm_diskfs_make(fd, tmpdisk, bytes, files.f, NFILES, why, sizeof why) < 0) {
		reply = fcm_fail(FCM_E_INTERNAL, "unable to make the file system of VM %s's disk: %s", id, why);
		goto out;
	}
	if (fcm_fsync_fd(fd) < 0) {
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
	free_files(&files);
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
	/* And of a seed in /dev/shm, where earlier fcm-disks made it. */
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

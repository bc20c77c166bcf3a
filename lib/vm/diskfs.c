/* diskfs.c — the file system of a new VM disk (diskfs.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <et/com_err.h>
#include <ext2fs/ext2fs.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/lock.h"
#include "core/paths.h"
#include "core/rmtree.h"
#include "core/sysprog.h"
#include "vm/diskfs.h"

const struct fcm_disk_dir fcm_disk_dirs[] = {
	{ "upper", 0755 }, { "work", 0700 }, { "upper/etc", 0755 }, { "upper/etc/ssh", 0755 },
	{ "upper/root", 0700 }, { "upper/root/.ssh", 0700 }, { "upper/var", 0755 },
	{ "upper/var/lib", 0755 }, { "upper/var/lib/fcm", 0755 }, { NULL, 0 },
};

/* $FCM_ROOT/cache/ext4-<bytes>-<libext2fs version>.img (malloc'd): the
 * library comes with the mkfs.ext4 that made it, and a new e2fsprogs makes
 * a new one. */
static char *template_path(unsigned long long bytes)
{
	const char *ver = "0";

	ext2fs_get_library_version(&ver, NULL);
	return fcm_path("cache/ext4-%llu-%s.img", bytes, ver);
}

/* Remove what builds killed part-way left in dir (cache/): their seed
 * directories and file systems, ".seed.*" and ".ext4.*".  The caller holds
 * the cache's lock, under which every build runs: none is in progress. */
static int sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, ".seed.", 6) && strncmp(e->d_name, ".ext4.", 6))
			continue;
		char *p = fcm_asprintf("%s/%s", dir, e->d_name);
		if (fcm_rm_tree(p) == 0)
			n++;
		free(p);
	}
	if (d)
		closedir(d);
	return n;
}

int fcm_diskfs_sweep(void)
{
	char *dir = fcm_path("cache");
	int lk, n = 0;

	if (access(dir, F_OK) == 0 && (lk = fcm_lock_dir("cache", 0700)) >= 0) {
		n = sweep(dir);
		fcm_unlock(lk);
	}
	free(dir);
	return n;
}

/* Make the empty file system of bytes at tpl: mkfs.ext4 -d of a directory
 * holding fcm_disk_dirs, beside it, then renamed into place.  Under the
 * cache's lock: one build at a time (a create that waited for another's
 * finds it made), and what a killed one left is swept first.  0, or -1
 * with why. */
static int make_template(const char *tpl, unsigned long long bytes, char *why, size_t whylen)
{
	char *dir = fcm_path("cache"), *seed = fcm_path("cache/.seed.XXXXXX");
	char *tmp = fcm_path("cache/.ext4.XXXXXX"), *p;
	char reason[1100];
	int fd = -1, r = -1, made_seed = 0, lk = -1;

	if ((lk = fcm_lock_dir("cache", 0700)) < 0) {
		snprintf(why, whylen, "unable to lock %s: %s", dir, strerror(errno));
		goto out;
	}
	sweep(dir);
	if (access(tpl, F_OK) == 0) {
		r = 0;
		goto out;
	}
	if (!mkdtemp(seed)) {
		snprintf(why, whylen, "unable to create a directory in %s: %s", dir, strerror(errno));
		goto out;
	}
	made_seed = 1;
	for (size_t i = 0; fcm_disk_dirs[i].path; i++) {
		p = fcm_asprintf("%s/%s", seed, fcm_disk_dirs[i].path);
		int bad = mkdir(p, 0700) < 0 || chmod(p, fcm_disk_dirs[i].mode) < 0;
		free(p);
		if (bad) {
			snprintf(why, whylen, "unable to create a directory in %s: %s", seed, strerror(errno));
			goto out;
		}
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, whylen, "unable to create %s: %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)bytes) < 0) {
		snprintf(why, whylen, "unable to size %s to %llu bytes: %s", tmp, bytes, strerror(errno));
		goto out;
	}
	{
		char *argv[] = { "mkfs.ext4", "-q", "-F", "-T", "default", "-E", "lazy_itable_init=1,lazy_journal_init=1",
			"-L", "fcm-disk", "-d", seed, tmp, NULL };
		if (fcm_sysprog(argv, reason, sizeof reason) < 0) {
			snprintf(why, whylen, "%s", reason);
			goto out;
		}
	}
	if (fsync(fd) < 0 || rename(tmp, tpl) < 0) {
		snprintf(why, whylen, "unable to write %s: %s", tpl, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	fcm_fsync_path(dir);
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	if (made_seed)
		fcm_rm_tree(seed);
	if (lk >= 0)
		fcm_unlock(lk);
	free(dir);
	free(seed);
	free(tmp);
	return r;
}

/* Copy len bytes at off from one file to the other, in the kernel when
 * they are on one file system, else through a buffer.  0, or -1 with errno. */
static int copy_range(int from, int to, off_t off, off_t len)
{
	off_t in = off, out = off, end = off + len;
	char buf[65536];

	while (in < end) {
		ssize_t n = copy_file_range(from, &in, to, &out, (size_t)(end - in), 0);
		if (n > 0)
			continue;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		if (errno != EXDEV && errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL)
			return -1;
		while (in < end) {
			size_t want = end - in < (off_t)sizeof buf ? (size_t)(end - in) : sizeof buf;
			ssize_t got = pread(from, buf, want, in);
			if (got <= 0) {
				if (got == 0)
					errno = EIO;
				return -1;
			}
			for (ssize_t w = 0, k; w < got; w += k)
				if ((k = pwrite(to, buf + w, (size_t)(got - w), in + w)) < 0)
					return -1;
			in += got;
		}
	}
	return 0;
}

/* Copy what is allocated in from into to at the same offsets, holes kept
 * (to is already of the full size).  0, or -1 with errno. */
static int copy_sparse(int from, int to)
{
	off_t data = 0, hole;

	for (;;) {
		data = lseek(from, data, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0 : -1;
		hole = lseek(from, data, SEEK_HOLE);
		if (hole < 0 || copy_range(from, to, data, hole - data) < 0)
			return -1;
		data = hole;
	}
}

/* A random UUID, version 4 (RFC 4122). */
static int new_uuid(unsigned char u[16])
{
	if (getrandom(u, 16, 0) != 16)
		return -1;
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	return 0;
}

/* Give the copy its own UUID and directory hash seed.  With metadata_csum
 * every checksum is seeded from the UUID — unless the file system keeps
 * its seed apart (metadata_csum_seed, Linux 4.4 and e2fsprogs 1.43 on): the
 * seed the template's checksums were made with is kept there, as
 * `tune2fs -O metadata_csum_seed -U random` does, and no checksum changes.
 * The template's directories are too small to be indexed: the hash seed
 * seeds nothing yet. */
static errcode_t new_identity(ext2_filsys fs)
{
	if (ext2fs_has_feature_metadata_csum(fs->super) && !ext2fs_has_feature_csum_seed(fs->super)) {
		fs->super->s_checksum_seed = fs->csum_seed;
		ext2fs_set_feature_csum_seed(fs->super);
	}
	if (new_uuid(fs->super->s_uuid) < 0 || new_uuid((unsigned char *)fs->super->s_hash_seed) < 0)
		return errno;
	ext2fs_init_csum_seed(fs);
	ext2fs_mark_super_dirty(fs);
	return 0;
}

/* --- an io manager over a descriptor -------------------------------------
 * libext2fs's own unix_io fsyncs every file it opens (to throw away the
 * write errors a block device may hold from before), which for a copy made
 * a moment ago waits until the whole copy is on the disk: 1.5 ms on a quiet
 * disk, 20 ms on a busy one, in the middle of every create.  This one reads
 * and writes the descriptor it is named after ("fd:<n>", which stays the
 * caller's) and nothing else: the copy goes out with the rest of the
 * create's files, in its batch of fsyncs (lib/core/atomic.h). */
static errcode_t fdio_open(const char *name, int flags, io_channel *chanp);

static errcode_t fdio_close(io_channel c)
{
	if (--c->refcount > 0)
		return 0;
	free(c->private_data);
	free(c->name);
	free(c);
	return 0;
}

static errcode_t fdio_set_blksize(io_channel c, int blksize)
{
	c->block_size = blksize;
	return 0;
}

/* count blocks from block, or -count bytes when count is negative (the
 * convention of io_channel_read_blk64). */
static errcode_t fdio_io(io_channel c, unsigned long long block, int count, void *data, int write)
{
	int fd = *(int *)c->private_data;
	size_t size = count < 0 ? (size_t)-count : (size_t)count * (size_t)c->block_size;
	off_t off = (off_t)(block * (unsigned long long)c->block_size);
	char *p = data;

	while (size > 0) {
		ssize_t n = write ? pwrite(fd, p, size, off) : pread(fd, p, size, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return write ? EXT2_ET_SHORT_WRITE : EXT2_ET_SHORT_READ;
		p += n;
		off += n;
		size -= (size_t)n;
	}
	return 0;
}

static errcode_t fdio_read_blk64(io_channel c, unsigned long long block, int count, void *data)
{
	return fdio_io(c, block, count, data, 0);
}

static errcode_t fdio_write_blk64(io_channel c, unsigned long long block, int count, const void *data)
{
	return fdio_io(c, block, count, (void *)data, 1);
}

static errcode_t fdio_read_blk(io_channel c, unsigned long block, int count, void *data)
{
	return fdio_io(c, block, count, data, 0);
}

static errcode_t fdio_write_blk(io_channel c, unsigned long block, int count, const void *data)
{
	return fdio_io(c, block, count, (void *)data, 1);
}

/* count bytes at offset (the superblock's changed bytes, say). */
static errcode_t fdio_write_byte(io_channel c, unsigned long offset, int count, const void *data)
{
	int bs = c->block_size;
	errcode_t err;

	c->block_size = 1;
	err = fdio_io(c, offset, count < 0 ? count : -count, (void *)data, 1);
	c->block_size = bs;
	return err;
}

/* Nothing is kept here to write out; the caller fsyncs. */
static errcode_t fdio_flush(io_channel c)
{
	(void)c;
	return 0;
}

static errcode_t fdio_set_option(io_channel c, const char *option, const char *arg)
{
	(void)c;
	(void)option;
	(void)arg;
	return EXT2_ET_INVALID_ARGUMENT;
}

static struct struct_io_manager fdio = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "fcm fd I/O manager",
	.open = fdio_open,
	.close = fdio_close,
	.set_blksize = fdio_set_blksize,
	.read_blk = fdio_read_blk,
	.write_blk = fdio_write_blk,
	.flush = fdio_flush,
	.write_byte = fdio_write_byte,
	.set_option = fdio_set_option,
	.read_blk64 = fdio_read_blk64,
	.write_blk64 = fdio_write_blk64,
};

static errcode_t fdio_open(const char *name, int flags, io_channel *chanp)
{
	io_channel c;
	int *fd;
	char *end;
	long n;

	(void)flags;
	if (strncmp(name, "fd:", 3) || (n = strtol(name + 3, &end, 10)) < 0 || *end || end == name + 3)
		return EXT2_ET_BAD_DEVICE_NAME;
	c = calloc(1, sizeof *c);
	fd = malloc(sizeof *fd);
	if (!c || !fd || !(c->name = strdup(name))) {
		free(c);
		free(fd);
		return ENOMEM;
	}
	*fd = (int)n;
	c->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	c->manager = &fdio;
	c->block_size = 1024;
	c->refcount = 1;
	c->private_data = fd;
	*chanp = c;
	return 0;
}

/* Write one file, owned by root, as mkfs.ext4 -d would. */
static errcode_t add_file(ext2_filsys fs, const struct fcm_disk_file *f, __u32 now)
{
	char *dirpath = fcm_strdup(f->path), *base = strrchr(dirpath, '/');
	struct ext2_inode inode;
	ext2_ino_t dir, ino;
	ext2_file_t file;
	unsigned int got;
	errcode_t err;

	if (!base) {
		free(dirpath);
		return EINVAL;
	}
	*base++ = '\0';
	err = ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, dirpath, &dir);
	if (!err)
		err = ext2fs_new_inode(fs, dir, LINUX_S_IFREG | f->mode, 0, &ino);
	if (!err) {
		err = ext2fs_link(fs, dir, base, ino, EXT2_FT_REG_FILE);
		if (err == EXT2_ET_DIR_NO_SPACE && !(err = ext2fs_expand_dir(fs, dir)))
			err = ext2fs_link(fs, dir, base, ino, EXT2_FT_REG_FILE);
	}
	if (err)
		goto out;
	ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
	memset(&inode, 0, sizeof inode);
	inode.i_mode = LINUX_S_IFREG | f->mode;
	inode.i_links_count = 1;
	inode.i_atime = inode.i_ctime = inode.i_mtime = now;
	err = ext2fs_inode_size_set(fs, &inode, f->len);
	if (!err && ext2fs_has_feature_extents(fs->super)) {
		ext2_extent_handle_t h;
		err = ext2fs_extent_open2(fs, ino, &inode, &h);	/* writes the empty tree's header */
		if (!err)
			ext2fs_extent_free(h);
	}
	if (!err)
		err = ext2fs_write_new_inode(fs, ino, &inode);
	if (!err)
		err = ext2fs_file_open(fs, ino, EXT2_FILE_WRITE, &file);
	if (!err) {
		err = ext2fs_file_write(file, f->data, (unsigned int)f->len, &got);
		if (!err && got != f->len)
			err = EXT2_ET_SHORT_READ;
		errcode_t e = ext2fs_file_close(file);
		if (!err)
			err = e;
	}
out:
	free(dirpath);
	return err;
}

int fcm_diskfs_make(int fd, const char *path, unsigned long long bytes,
    const struct fcm_disk_file *files, size_t nfiles, char *why, size_t whylen)
{
	char *tpl = template_path(bytes);
	ext2_filsys fs = NULL;
	errcode_t err;
	int from, r = -1;
	const char *step;

	from = open(tpl, O_RDONLY | O_CLOEXEC);
	if (from < 0 && errno == ENOENT) {
		if (make_template(tpl, bytes, why, whylen) < 0)
			goto out;
		from = open(tpl, O_RDONLY | O_CLOEXEC);
	}
	if (from < 0) {
		snprintf(why, whylen, "unable to read %s: %s", tpl, strerror(errno));
		goto out;
	}
	if (copy_sparse(from, fd) < 0) {
		snprintf(why, whylen, "unable to copy %s to %s: %s", tpl, path, strerror(errno));
		goto out;
	}
	step = "open";
	{
		char name[32];
		snprintf(name, sizeof name, "fd:%d", fd);
		err = ext2fs_open2(name, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, &fdio, &fs);
	}
	if (!err) {
		step = "read the bitmaps of";
		err = ext2fs_read_bitmaps(fs);
	}
	if (!err) {
		step = "give a new UUID to";
		err = new_identity(fs);
	}
	if (!err) {
		step = "write the files of";
		for (size_t i = 0; !err && i < nfiles; i++)
			err = add_file(fs, &files[i], (__u32)time(NULL));
	}
	if (!err) {
		/* Written, not synced: the caller fsyncs the disk once. */
		step = "write";
		err = ext2fs_close2(fs, EXT2_FLAG_FLUSH_NO_SYNC);
		if (!err)
			fs = NULL;	/* freed by ext2fs_close2 */
	}
	if (err) {
		/* The copy is as good as the cached file system it came from. */
		int from_tpl = !strcmp(step, "open") || !strcmp(step, "read the bitmaps of");
		snprintf(why, whylen, "unable to %s the file system %s: %s%s%s%s", step, path, error_message(err),
		    from_tpl ? " (a copy of " : "", from_tpl ? tpl : "",
		    from_tpl ? ": remove that file and fcm makes it anew)" : "");
		goto out;
	}
	r = 0;
out:
	if (fs)
		ext2fs_free(fs);
	if (from >= 0)
		close(from);
	free(tpl);
	return r;
}

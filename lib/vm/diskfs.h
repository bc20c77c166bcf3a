/* diskfs.h — the ext4 file system of a new VM disk, made without running
 * mkfs.ext4 at each create (doc/fcm-disk.md, doc/performance.md).
 *
 * An empty file system of each disk size, holding the seed's directories,
 * is made once with mkfs.ext4 (the options fcm-disk always used) and kept
 * as $FCM_ROOT/cache/ext4-<bytes>-<e2fsprogs version>.img.  A disk is a
 * sparse copy of it (only its allocated extents are copied, holes kept)
 * given its own UUID and directory hash seed (the checksums' seed kept in
 * the superblock, metadata_csum_seed, as tune2fs -O metadata_csum_seed -U
 * does), and the seed's files are written into it with libext2fs. */
#ifndef FCM_DISKFS_H
#define FCM_DISKFS_H

#include <stddef.h>
#include <sys/types.h>

/* The directories every disk holds (mode, path from the root), in the
 * order they are made, and the files written into each disk. */
struct fcm_disk_dir {
	const char *path;
	mode_t mode;
};
extern const struct fcm_disk_dir fcm_disk_dirs[];
struct fcm_disk_file {
	const char *path;	/* from the root: "upper/etc/hostname" */
	const void *data;
	size_t len;
	mode_t mode;		/* permission bits; owned by root */
};

/* Make the file system of bytes (a multiple of 4096) in fd, an empty file
 * open for writing at path, with the files given.  Makes the cached empty
 * file system first when there is none for this size.  0, or -1 with why
 * (the file's content is then undefined: the caller removes it). */
int fcm_diskfs_make(int fd, const char *path, unsigned long long bytes,
    const struct fcm_disk_file *files, size_t nfiles, char *why, size_t whylen);
/* Remove what template builds killed part-way left in $FCM_ROOT/cache
 * (fcm daemon's and fcm doctor's repair; every build sweeps first too).
 * The number of leftovers removed. */
int fcm_diskfs_sweep(void);

#endif

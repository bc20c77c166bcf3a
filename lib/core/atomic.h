/* atomic.h — state files are written whole or not at all: write a temporary
 * file beside the target, fsync it, rename it over, fsync the directory. */
#ifndef FCM_ATOMIC_H
#define FCM_ATOMIC_H

#include <stddef.h>
#include <sys/types.h>

#include <jv.h>

int fcm_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* The same without the fsyncs: a reader sees the old file or the new one,
 * never half of one, but a crash of the machine may lose the change.  Only
 * for files made anew from durable state (s6 service scripts, which fcm
 * daemon rewrites at every start; hints that are checked when read). */
int fcm_write_replace(const char *path, const void *data, size_t len, mode_t mode);
/* v (consumed) as one compact JSON line. */
int fcm_write_json_atomic(const char *path, jv v, mode_t mode);
/* The same as fcm_write_replace does it: no fsyncs. */
int fcm_write_json_replace(const char *path, jv v, mode_t mode);
/* fsync a file or a directory, by path: 0, or -1 with errno. */
int fcm_fsync_path(const char *path);
/* fsync(fd), which stays the caller's: 0, or -1 with errno. */
int fcm_fsync_fd(int fd);
/* Durability in a batch, for a command that makes many files at once (a
 * create): from fcm_sync_batch() on, the fsyncs of the functions above are
 * noted, not done (each by a descriptor of its own), until
 * fcm_sync_commit() does them all together: every write of the batch is
 * durable when it returns 0 (-1 with errno: at least one fsync failed).
 * Each write is still atomic on its own; which of them a crash of the
 * machine keeps before the commit is not known, so a batch must sit where
 * the state it makes is taken apart by repair when the batch is lost.
 * Together, one commit of the file system's journal serves the batch where
 * one fsync after another makes one commit each. */
void fcm_sync_batch(void);
int fcm_sync_commit(void);
/* Whole file, at most max bytes, NUL-terminated (malloc'd); NULL with errno
 * (EFBIG when larger than max). */
char *fcm_read_file(const char *path, size_t max, size_t *len);
/* A JSON file, read to its end; jv_invalid_with_msg (errno kept) when
 * missing or bad. */
jv fcm_read_json(const char *path);
/* The same for one of fcm's own regular files (records), rel opened
 * relative to the directory dfd: a short read is its end, which saves the
 * read that would return 0 (a pipe or a FIFO given here could be cut
 * short: files of the user's go through fcm_read_json).  Messages name
 * path (the same file, as the user knows it). */
jv fcm_read_json_at(int dfd, const char *rel, const char *path);

#endif

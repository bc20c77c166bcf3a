/* atomic.c — atomic writes (temp, fsync, rename, fsync dir), fsyncs in
 * batches, and bounded reads. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"

/* A batch of fsyncs (fcm_sync_batch): the files and directories noted,
 * each by an open descriptor (a file may be renamed or unlinked before the
 * batch ends). */
#define BATCH_MAX 64
static int batch_on, batch_n, batch_fd[BATCH_MAX];

void fcm_sync_batch(void)
{
	batch_on = 1;
}

/* fsync fd (consumed) now, or note it in the batch: 0, or -1 with errno.
 * A file noted has its writeback started at once, before the caller
 * renames it into place: its blocks are allocated in the journal's running
 * transaction, which then cannot commit without them (what ext4 does of
 * itself for a file renamed over another); and the commit of the batch
 * finds its data written. */
static int sync_or_note(int fd)
{
	int r, e;

	if (batch_on && batch_n < BATCH_MAX) {
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);	/* a directory: EINVAL, nothing to start */
		batch_fd[batch_n++] = fd;
		return 0;
	}
	r = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

int fcm_sync_commit(void)
{
	int r = 0, e = 0;

	/* The first fsync commits the journal's transaction, which holds
	 * every change noted; the others find it committed. */
	for (int i = 0; i < batch_n; i++) {
		if (fsync(batch_fd[i]) < 0 && !e) {
			e = errno;
			r = -1;
		}
		close(batch_fd[i]);
	}
	batch_n = 0;
	batch_on = 0;
	errno = e;
	return r;
}

int fcm_fsync_fd(int fd)
{
	int d;

	if (!batch_on)
		return fsync(fd);
	d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return d < 0 ? -1 : sync_or_note(d);
}

static int write_renamed(const char *path, const void *data, size_t len, mode_t mode, int sync)
{
	char *tmp = fcm_asprintf("%s.tmp.%ld", path, (long)getpid());
	char *dcopy = fcm_strdup(path);
	int fd, e;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		goto fail;
	if (fchmod(fd, mode) < 0 || allwrite(fd, data, len) != len || (sync && fcm_fsync_fd(fd) < 0)) {
		e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		goto fail;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		e = errno;
		unlink(tmp);
		errno = e;
		goto fail;
	}
	if (sync)
		fcm_fsync_path(dirname(dcopy));
	free(tmp);
	free(dcopy);
	return 0;
fail:
	e = errno;
	free(tmp);
	free(dcopy);
	errno = e;
	return -1;
}

int fcm_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	return write_renamed(path, data, len, mode, 1);
}

int fcm_write_replace(const char *path, const void *data, size_t len, mode_t mode)
{
	return write_renamed(path, data, len, mode, 0);
}

int fcm_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -1 : sync_or_note(fd);
}

static int write_json(const char *path, jv v, mode_t mode, int sync)
{
	jv s = jv_dump_string(v, 0);
	char *line = fcm_asprintf("%s\n", jv_string_value(s));
	int r = write_renamed(path, line, strlen(line), mode, sync);
	int e = errno;

	jv_free(s);
	free(line);
	errno = e;
	return r;
}

int fcm_write_json_atomic(const char *path, jv v, mode_t mode)
{
	return write_json(path, v, mode, 1);
}

int fcm_write_json_replace(const char *path, jv v, mode_t mode)
{
	return write_json(path, v, mode, 0);
}

/* fcm_read_file, path relative to the directory dfd; with regular, a read
 * that returns less than it asked for is taken for the end (so it is for a
 * regular file), which saves the read that would return 0. */
static char *read_at(int dfd, const char *path, size_t max, size_t *lenp, int regular)
{
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, len = 0;
	char *buf;
	ssize_t r;

	if (fd < 0)
		return NULL;
	buf = fcm_malloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap >= max) {
				free(buf);
				close(fd);
				errno = EFBIG;
				return NULL;
			}
			cap = cap * 2 > max ? max : cap * 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb)
				fcm_die_nomem();
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max) {
			free(buf);
			close(fd);
			errno = EFBIG;
			return NULL;
		}
		if (regular && len < cap)
			break;
	}
	close(fd);
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
}

char *fcm_read_file(const char *path, size_t max, size_t *lenp)
{
	return read_at(AT_FDCWD, path, max, lenp, 0);
}

static jv read_json_at(int dfd, const char *rel, const char *path, int regular)
{
	size_t len;
	char *text = read_at(dfd, rel, 1024 * 1024, &len, regular);
	jv v;

	if (!text)
		return jv_invalid_with_msg(jv_string_fmt("unable to read %s: %s", path, strerror(errno)));
	v = jv_parse_sized(text, (int)len);
	free(text);
	if (!jv_is_valid(v)) {
		jv_free(v);
		errno = EINVAL;
		return jv_invalid_with_msg(jv_string_fmt("%s is not valid JSON", path));
	}
	return v;
}

jv fcm_read_json(const char *path)
{
	return read_json_at(AT_FDCWD, path, path, 0);
}

jv fcm_read_json_at(int dfd, const char *rel, const char *path)
{
	return read_json_at(dfd, rel, path, 1);
}

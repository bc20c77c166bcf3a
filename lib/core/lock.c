/* lock.c — blocking advisory locks through skalibs. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <skalibs/djbunix.h>

#include "core/err.h"
#include "core/lock.h"
#include "core/paths.h"

int fcm_lock(const char *path, int exclusive)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (fd_lock(fd, exclusive, 0) < 1) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int fcm_lock_try(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600), r;

	if (fd < 0)
		return -1;
	r = fd_lock(fd, 1, 1);
	if (r < 1) {
		int e = r == 0 ? EWOULDBLOCK : errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

void fcm_unlock(int fd)
{
	if (fd < 0)
		return;
	fd_unlock(fd);
	close(fd);
}

int fcm_lock_dir(const char *rel, mode_t mode)
{
	char *dir = fcm_path("%s", rel);
	char *lock = fcm_path("%s/.lock", rel);
	int fd = -1;

	if (fcm_mkdirs(dir, mode) == 0)
		fd = fcm_lock(lock, 1);
	free(dir);
	free(lock);
	return fd;
}

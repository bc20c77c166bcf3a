/* rmtree.c — a depth-first walk that unlinks as it goes (nftw, FTW_PHYS). */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <unistd.h>

#include "core/rmtree.h"

static int first_errno;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT && !first_errno)
		first_errno = errno;
	return 0;
}

int fcm_rm_tree(const char *path)
{
	first_errno = 0;
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return -1;
	if (first_errno) {
		errno = first_errno;
		return -1;
	}
	return 0;
}

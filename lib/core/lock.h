/* lock.h — advisory locks on lock files (skalibs' fd_lock), so concurrent
 * commands never corrupt or collide on shared state. */
#ifndef FCM_LOCK_H
#define FCM_LOCK_H

#include <sys/types.h>

/* Open (creating) the lock file and take the lock, waiting for it.
 * Returns the fd to pass to fcm_unlock, or -1 with errno. */
int fcm_lock(const char *path, int exclusive);
/* The same, exclusive, without waiting: the fd, or -1 with errno
 * EWOULDBLOCK when another process holds it. */
int fcm_lock_try(const char *path);
void fcm_unlock(int fd);
/* The exclusive lock of a directory of the state root ("vms", "images",
 * "git", "ssh"): $FCM_ROOT/<rel>/.lock, making the directory with mode if
 * needed.  The fd, or -1 with errno. */
int fcm_lock_dir(const char *rel, mode_t mode);

#endif

/* rmtree.h — rm -rf of one of fcm's own directories, without a shell. */
#ifndef FCM_RMTREE_H
#define FCM_RMTREE_H

/* Remove path and everything below it, never following symlinks.  A path
 * that is already gone is success.  0, or -1 with errno of the first
 * failure (the walk goes on past it). */
int fcm_rm_tree(const char *path);

#endif

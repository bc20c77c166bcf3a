/* paths.h — where fcm keeps its state (doc/state.md).
 *
 * Everything lives under one root, $FCM_ROOT (default /var/lib/firecracker):
 * vms/<id>/, images/, git/<name>.git, net/, scan/, ... */
#ifndef FCM_PATHS_H
#define FCM_PATHS_H

#include <sys/types.h>

#define FCM_ROOT_DEFAULT "/var/lib/firecracker"

/* The state root: $FCM_ROOT or the default; dies with a clear message if
 * $FCM_ROOT is not an absolute path of sane characters. */
const char *fcm_root(void);
/* root + "/" + the formatted relative path (malloc'd). */
char *fcm_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Is p an absolute path of letters, digits and -_.+/ with no "." or ".."
 * component, at most 512 bytes?  Such a path may be written into a script. */
int fcm_path_sane(const char *p);
/* mkdir -p; 0 or -1 with errno. */
int fcm_mkdirs(const char *path, mode_t mode);
/* Directory of fcm's helper programs: $FCM_EXEC_PATH, else the directory of
 * the running program when fcm helpers stand beside it (a checkout), else the
 * installed libexec directory. */
const char *fcm_exec_dir(void);
/* Full path of the helper "fcm-<name>" (malloc'd). */
char *fcm_helper(const char *name);
/* The host `fcm login` saved in ~/.fcm-host (malloc'd), or NULL when there is
 * no such file or it holds no host (one line of printable characters). */
char *fcm_saved_host(void);

#endif

/* appenv.h — an app's config vars (fcm config, doc/fcm-config.md): on the
 * host in $FCM_ROOT/vms/<id>/env, root's alone (0600 in the VM's 0700
 * directory), as the guest reads them: "KEY=VALUE" records each ended by a
 * NUL byte, sorted by KEY.  The guest keeps a copy in /app/.fcm/env that
 * every process of the app gets as its environment (doc/guest.md).
 *
 * A name is a POSIX environment name ([A-Za-z_][A-Za-z0-9_]*, at most
 * FCM_ENV_NAME_MAX bytes), not PORT (fcm sets it); a value is UTF-8 text
 * without NUL bytes, at most FCM_ENV_VALUE_MAX bytes; all of them together
 * at most FCM_ENV_TOTAL_MAX bytes and FCM_ENV_COUNT_MAX vars.  Values never
 * go into a message, a log or a command line. */
#ifndef FCM_APPENV_H
#define FCM_APPENV_H

#include <stddef.h>

#include <jv.h>

#define FCM_ENV_NAME_MAX   128
#define FCM_ENV_VALUE_MAX  (32 * 1024)
#define FCM_ENV_TOTAL_MAX  (64 * 1024)
#define FCM_ENV_COUNT_MAX  256

/* 0 when name may be a config var, else -1 with why (names the name). */
int fcm_env_name_check(const char *name, char *why, size_t whylen);
/* 0 when v (borrowed) may be the value of name, else -1 with why (names the
 * name, never the value).  FCM_HEALTH_PATH (a path), FCM_HEALTH_TIMEOUT and
 * FCM_GRACE (seconds, 1 to 3600) are settings of the switch and checked as
 * such (doc/deploy.md). */
int fcm_env_value_check(const char *name, jv v, char *why, size_t whylen);

/* VM id's config vars: an object of strings (empty when there are none),
 * or invalid with errno when the file cannot be read. */
jv fcm_env_load(const char *id);
/* Replace VM id's config vars with env (consumed, checked): written
 * atomically, mode 0600.  0, or -1 with why. */
int fcm_env_save(const char *id, jv env, char *why, size_t whylen);
/* env (borrowed) as the file holds it: *len bytes (malloc'd). */
char *fcm_env_records(jv env, size_t *len);

/* vms/<id>/env (malloc'd). */
char *fcm_env_path(const char *id);

#endif

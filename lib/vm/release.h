/* release.h — an app's releases (fcm releases, fcm rollback; doc/deploy.md):
 * every successful deploy, config change and rollback is a release, v1, v2,
 * …, one JSON line each in vms/<id>/releases (oldest first, 0600):
 *   {"version":3,"kind":"deploy"|"config"|"rollback","at":T,"by":"alice",
 *    "description":"Deploy 3c51735647b4","commit":"3c5173…"|null,"build":7|null}
 * "build" is the guest's /app/releases/<build> the release runs (null: none
 * deployed yet).  The config vars each release ran with are kept beside, in
 * vms/<id>/releases.d/v<N>.env (0600: secrets), so that a rollback brings
 * back code and config together. */
#ifndef FCM_RELEASE_H
#define FCM_RELEASE_H

#include <stddef.h>

#include <jv.h>

/* VM id's releases, oldest first (an array; empty when none). */
jv fcm_releases(const char *id);
/* Its newest release, or null. */
jv fcm_release_latest(const char *id);
/* Release version of VM id, or invalid (not found). */
jv fcm_release_get(const char *id, long version);

/* Record a release of VM id: rel (consumed) gets the next version and the
 * time; the config vars as they are now are kept with it.  Under the VM's
 * releases lock.  Returns the version, or -1 with why. */
long fcm_release_add(const char *id, jv rel, char *why, size_t whylen);

/* The config vars release version of VM id ran with (KEY=VALUE records,
 * malloc'd, *len bytes), or NULL with errno. */
char *fcm_release_env(const char *id, long version, size_t *len);

#endif

/* app.h — the host's side of an app's processes in its VM (doc/deploy.md):
 * giving the guest its config vars, and the app's history of changes in
 * vms/<id>/deploy.log, each line stamped with the time. */
#ifndef FCM_APP_H
#define FCM_APP_H

#include <stddef.h>

#include <jv.h>

/* 0 when t may be a Procfile process type ([a-z0-9_-], 1 to 32), else -1
 * with why. */
int fcm_app_type_check(const char *t, char *why, size_t whylen);

/* FCM_DEPLOY_TIMEOUT: how long web may take to answer HTTP after a deploy,
 * a restart or a config change (seconds, 1 to 3600; default 60).  -1 with
 * why when it is set to anything else. */
long fcm_app_timeout(char *why, size_t whylen);

/* Give running VM rec (borrowed) its config vars (appenv.h) over ssh to the
 * guest's `app env`; with restart, its processes restart to see them, and
 * it waits until web answers (fcm_app_timeout).  Clears the pending mark.
 * 0; 1 when the guest has them and restarted, but web did not answer in
 * time (why says so); -1 when nothing changed, with why (the guest's
 * reason). */
int fcm_app_push_env(jv rec, int restart, char *why, size_t whylen);

/* Restart VM rec's processes (all, or those of type) and wait until web
 * answers when it was restarted.  0; 1 restarted, web not answering in time;
 * -1 failed; why says why. */
int fcm_app_restart(jv rec, const char *type, char *why, size_t whylen);

/* Mark (on) or unmark VM id's config as changed while it was not running
 * (vms/<id>/env.pending): fcm start gives it to the guest then.  0, or -1
 * with errno. */
int fcm_app_env_pending(const char *id, int on);
/* Is it marked? */
int fcm_app_env_is_pending(const char *id);

/* "2026-12-01T14:00:00.123456789Z" for now, into buf (at least 32 bytes). */
void fcm_app_stamp(char *buf, size_t len);

/* Append "<stamp> -----> <text>" to VM id's deploy.log (best effort). */
void fcm_app_event(const char *id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

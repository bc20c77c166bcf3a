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

/* FCM_DEPLOY_TIMEOUT: how long a new web may take to pass its health check
 * after a deploy, a restart, a rollback or a config change (seconds, 1 to
 * 3600; default 60; the app's FCM_HEALTH_TIMEOUT config var, when set, wins
 * in the guest).  -1 with why when it is set to anything else. */
long fcm_app_timeout(char *why, size_t whylen);

/* 1 when status, of the guest's `app` (restart, env --restart, rollback,
 * switch), says the new web never became healthy: 3 (no answer to the
 * health check in time) or 4 (it exited).  The old web serves on then,
 * with the old config. */
int fcm_app_unhealthy(int status);

/* Give running VM rec (borrowed) its config vars (appenv.h) over ssh to the
 * guest's `app env`; with restart, a new web with them must pass its health
 * check before it takes the traffic (doc/deploy.md), and the other
 * processes restart.  Clears the pending mark unless 1.  0; 1 when the new
 * web never became healthy (why says so): the guest put the old config
 * back, the old web serves on; -1 when nothing changed, with why (the
 * guest's reason). */
int fcm_app_push_env(jv rec, int restart, char *why, size_t whylen);

/* Restart VM rec's processes (all, or those of type); web by the
 * zero-downtime switch (a new web, healthy, then the old one stopped).
 * 0; 1 the new web never became healthy (the old one serves on); -1
 * failed; why says why. */
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

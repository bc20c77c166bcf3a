/* fcm rollback — run an earlier release again (doc/fcm-rollback.md): its
 * build, as its deploy left it (nothing is installed again), with its
 * config vars; a new release says so.  Default: the release before the
 * current one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/paths.h"
#include "vm/app.h"
#include "vm/appenv.h"
#include "vm/guestrun.h"
#include "vm/release.h"

/* "v3" or "3": the version, or -1. */
static long version_of(const char *s)
{
	char *end;
	long v;

	if (*s == 'v')
		s++;
	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return *end || errno || v < 1 ? -1 : v;
}

static jv check(jv req)
{
	const char *v = fcm_get_str(req, "version");

	if (v && version_of(v) < 0)
		fcm_die(FCM_E_USAGE, "'%.32s' is not a release: say e.g. v3 (see 'fcm releases')", v);
	return req;
}

static jv run(jv req, jv rec, const struct fcm_principal *who)
{
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name"), *vs = fcm_get_str(req, "version");
	jv latest = fcm_release_latest(id), target, build;
	long want, cur, b, wait, nv;
	char why[512], *words, *envp, *old, *data, *out = NULL;
	size_t len = 0, oldlen = 0;
	int st, lk;

	fcm_guest_need_running(rec);
	if (jv_get_kind(latest) != JV_KIND_OBJECT)
		fcm_die(FCM_E_NOT_FOUND, "VM '%s' has no releases yet: git push first", name);
	jv cv = jv_object_get(latest, jv_string("version"));
	cur = jv_get_kind(cv) == JV_KIND_NUMBER ? (long)jv_number_value(cv) : 0;
	jv_free(cv);
	want = vs ? version_of(vs) : cur - 1;
	if (want < 1)
		fcm_die(FCM_E_NOT_FOUND, "VM '%s' has no release before v%ld to roll back to", name, cur);
	target = fcm_release_get(id, want);
	if (!jv_is_valid(target))
		fcm_die(FCM_E_NOT_FOUND, "VM '%s' has no release v%ld (see 'fcm releases %s')", name, want, name);
	build = jv_object_get(jv_copy(target), jv_string("build"));
	if (jv_get_kind(build) != JV_KIND_NUMBER)
		fcm_die(FCM_E_CONFLICT, "release v%ld of VM '%s' ran no deployed code: roll back to a later one", want, name);
	b = (long)jv_number_value(build);
	jv_free(build);
	if ((wait = fcm_app_timeout(why, sizeof why)) < 0)
		fcm_die(FCM_E_USAGE, "%s", why);
	data = fcm_release_env(id, want, &len);
	if (!data)
		fcm_die_sys(FCM_E_INTERNAL, "unable to read the config vars of release v%ld", want);

	/* Under the config's lock (config set, deploys): the guest first, then
	 * the host's copy of the config. */
	char *lockp = fcm_path("vms/%s/.env.lock", id);
	if ((lk = fcm_lock(lockp, 1)) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to lock %s", lockp);
	free(lockp);
	words = fcm_asprintf(FCM_GUEST_APP " rollback %ld --wait %ld", b, wait);
	st = fcm_guest_call(rec, words, data, len, &out, 64 << 10);
	free(words);
	if (st != 0) {
		const char *r = st < 0 ? "ssh did not start" : fcm_guest_reason(out);
		if (fcm_app_unhealthy(st)) {
			fcm_app_event(id, "Rollback to v%ld (by %s) refused: %s", want, who->name, r);
			fcm_die(FCM_E_UNAVAILABLE, "VM '%s': v%ld never became healthy (%s); nothing was changed: the release before serves on",
			    name, want, r);
		}
		fcm_die(strstr(r, "no longer kept") ? FCM_E_CONFLICT : FCM_E_UNAVAILABLE,
		    "VM '%s': unable to roll back to v%ld: %s", name, want, r);
	}
	envp = fcm_env_path(id);
	old = fcm_read_file(envp, FCM_ENV_TOTAL_MAX + 4096, &oldlen);
	if (fcm_write_atomic(envp, data, len, 0600) < 0)
		fcm_warn_sys("unable to write %s", envp);
	explicit_bzero(data, len);
	free(data);
	if (old)
		explicit_bzero(old, oldlen);
	free(old);
	free(envp);
	fcm_unlock(lk);

	jv r = jv_object_set(jv_object(), jv_string("kind"), jv_string("rollback"));
	r = jv_object_set(r, jv_string("by"), jv_string(who->name));
	r = jv_object_set(r, jv_string("description"), jv_string_fmt("Rollback to v%ld", want));
	r = jv_object_set(r, jv_string("commit"), jv_object_get(jv_copy(target), jv_string("commit")));
	r = jv_object_set(r, jv_string("build"), jv_number((double)b));
	nv = fcm_release_add(id, r, why, sizeof why);
	fcm_app_event(id, "Rollback to v%ld (by %s)", want, who->name);
	jv reply = jv_object_set(fcm_ok(), jv_string("vm"), jv_string(name));
	reply = jv_object_set(reply, jv_string("rolled_back_to"), jv_number((double)want));
	if (nv > 0)
		reply = jv_object_set(reply, jv_string("release"), jv_number((double)nv));
	free(out);
	jv_free(target);
	return reply;
}

static void print(jv reply, jv req)
{
	jv to = jv_object_get(jv_copy(reply), jv_string("rolled_back_to")), nv = jv_object_get(jv_copy(reply), jv_string("release"));

	(void)req;
	printf("Rolled back %s to v%.0f", fcm_get_str(reply, "vm"), jv_number_value(to));
	if (jv_get_kind(nv) == JV_KIND_NUMBER)
		printf(" (now v%.0f)", jv_number_value(nv));
	printf("\n");
	jv_free(to);
	jv_free(nv);
}

static const struct fcm_cmd_route routes[] = {
	{ "POST", "/v1/vms/{vm}/rollback", 0 },
	{ NULL },
};

const struct fcm_cmd fcm_cmd_rollback = {
	.name = "rollback",
	.summary = "run an earlier release again: its build and config, no rebuild",
	.usage = "fcm rollback [VM] [vN] [--json]",
	.args = (const char *const[]){ "version?", NULL },
	.flags = FCM_CMD_VM,
	.routes = routes,
	.status = 200,
	.check = check,
	.run = run,
	.print = print,
};

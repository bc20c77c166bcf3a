/* fcm config — an app's config vars (doc/fcm-config.md): list, set, unset,
 * get.  Kept on the host (lib/vm/appenv.h) and copied into the running
 * guest, whose processes restart to see them (unless --no-restart); a VM
 * that is not running gets them when it starts, and every deploy carries
 * them.  Values never reach a message, a log or a command line. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/paths.h"
#include "vm/appenv.h"
#include "vm/lifecycle.h"
#include "vm/release.h"
#include "vm/app.h"
#include "vm/svc.h"
#include "vm/vmprint.h"

/* --- ls ------------------------------------------------------------------- */

static jv ls_run(jv req, jv rec, const struct fcm_principal *who)
{
	jv env = fcm_env_load(fcm_get_str(rec, "id")), out = jv_array();

	(void)req;
	(void)who;
	if (!jv_is_valid(env))
		fcm_die_invalid(FCM_E_INTERNAL, env);
	jv_object_foreach(env, k, v) {
		jv one = jv_object();
		one = jv_object_set(one, jv_string("name"), k);
		one = jv_object_set(one, jv_string("value"), v);
		out = jv_array_append(out, one);
	}
	jv_free(env);
	return out;
}

static void ls_print(jv reply, jv req)
{
	jv r = jv_object_get(jv_copy(req), jv_string("reveal"));
	int reveal = jv_get_kind(r) == JV_KIND_TRUE, w = 4;

	jv_free(r);
	if (!jv_array_length(jv_copy(reply))) {
		printf("No config vars: set one with 'fcm config set KEY=VALUE'\n");
		return;
	}
	jv_array_foreach(reply, i, one) {
		int n = (int)strlen(fcm_get_str(one, "name"));
		w = n > w ? n : w;
		jv_free(one);
	}
	printf("%-*s  %s\n", w, "NAME", "VALUE");
	jv_array_foreach(reply, i, one) {
		const char *v = fcm_get_str(one, "value");
		printf("%-*s  ", w, fcm_get_str(one, "name"));
		if (!reveal) {
			printf("%s\n", "******** (--reveal shows it)");
		} else {
			/* One row per var: a newline or a control byte in a value is shown escaped. */
			for (const unsigned char *p = (const unsigned char *)v; *p; p++)
				if (*p == '\n')
					fputs("\\n", stdout);
				else if (*p < 0x20 || *p == 0x7f)
					printf("\\x%02x", *p);
				else
					putchar(*p);
			putchar('\n');
		}
		jv_free(one);
	}
}

/* --- get ------------------------------------------------------------------- */

static jv get_run(jv req, jv rec, const struct fcm_principal *who)
{
	const char *key = fcm_get_str(req, "key");
	jv env = fcm_env_load(fcm_get_str(rec, "id")), v;
	char why[256];

	(void)who;
	if (!jv_is_valid(env))
		fcm_die_invalid(FCM_E_INTERNAL, env);
	if (fcm_env_name_check(key, why, sizeof why) < 0)
		fcm_die(FCM_E_USAGE, "%s", why);
	v = jv_object_get(env, jv_string(key));
	if (!jv_is_valid(v))
		fcm_die(FCM_E_NOT_FOUND, "VM '%s' has no config var %s (see 'fcm config %s')",
		    fcm_get_str(rec, "name"), key, fcm_get_str(rec, "name"));
	jv one = jv_object_set(jv_object(), jv_string("name"), jv_string(key));
	return jv_object_set(one, jv_string("value"), v);
}

static void get_print(jv reply, jv req)
{
	(void)req;
	printf("%s\n", fcm_get_str(reply, "value"));
}

/* --- set and unset ------------------------------------------------------------ */

/* Put the config file at path back as it was (old, or none): the change
 * did not happen. */
static void put_back(const char *path, const char *old, size_t oldlen)
{
	if (old ? fcm_write_atomic(path, old, oldlen, 0600) : unlink(path))
		fcm_warn_sys("unable to put %s back", path);
}

/* Apply the change to VM rec: save env (consumed) as the new config, then
 * give it to the guest when the VM runs.  Nothing changes on failure.
 * Returns the reply. */
static jv apply(jv rec, jv env, jv names, const char *verb, int restart, const struct fcm_principal *who)
{
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");
	char why[512], *path = fcm_env_path(id);
	size_t oldlen = 0;
	char *old = fcm_read_file(path, FCM_ENV_TOTAL_MAX + 4096, &oldlen);
	const char *state = fcm_vm_state(rec);
	int running = !strcmp(state, "running"), serving = 0;
	jv reply;

	if (!old && errno != ENOENT)
		fcm_die_sys(FCM_E_INTERNAL, "unable to read the config vars of VM '%s'", name);
	if (fcm_env_save(id, env, why, sizeof why) < 0)
		fcm_die(FCM_E_USAGE, "%s", why);
	/* Booting: it gets them as soon as it is ready (else they would wait
	 * for its next start, which may be never). */
	if (!strcmp(state, "starting")) {
		if (fcm_vm_wait_ready(id, fcm_boot_timeout(), why, sizeof why) == 0) {
			running = 1;
		} else {
			put_back(path, old, oldlen);
			fcm_die(FCM_E_UNAVAILABLE, "VM '%s' is starting and not ready yet (%s): nothing was changed; try again",
			    name, why);
		}
	}
	if (running) {
		serving = fcm_app_push_env(rec, restart, why, sizeof why);
		if (serving < 0) {
			put_back(path, old, oldlen);
			fcm_die(FCM_E_UNAVAILABLE, "VM '%s': unable to give it the config vars: %s; nothing was changed",
			    name, why);
		}
		if (serving > 0) {	/* the guest put the old config back too */
			put_back(path, old, oldlen);
			fcm_app_event(id, "Config: %s refused (by %s): %s", verb, who->name, why);
			fcm_die(FCM_E_UNAVAILABLE, "VM '%s': with the new config %s; nothing was changed: the old processes serve on with the old config",
			    name, why);
		}
	} else if (fcm_app_env_pending(id, 1) < 0) {
		fcm_die_sys(FCM_E_INTERNAL, "unable to mark the config of VM '%s' for its next start", name);
	}
	if (old)
		explicit_bzero(old, oldlen);
	free(old);
	free(path);

	jv list = jv_string("");
	jv_array_foreach(names, i, n) {
		list = jv_string_append_str(list, i ? ", " : "");
		list = jv_string_concat(list, n);
	}
	fcm_app_event(id, "Config: %s %s (by %s)%s", verb, jv_string_value(list), who->name,
	    running ? (restart ? ", processes restarted" : ", no restart") : ", for the next start");
	/* A release: the latest's build with this config (fcm rollback). */
	{
		jv last = fcm_release_latest(id);
		jv build = jv_get_kind(last) == JV_KIND_OBJECT ? jv_object_get(jv_copy(last), jv_string("build")) : jv_null();
		jv commit = jv_get_kind(last) == JV_KIND_OBJECT ? jv_object_get(jv_copy(last), jv_string("commit")) : jv_null();
		jv r = jv_object_set(jv_object(), jv_string("kind"), jv_string("config"));
		char rwhy[256];
		r = jv_object_set(r, jv_string("by"), jv_string(who->name));
		r = jv_object_set(r, jv_string("description"), jv_string_fmt("%s %s", !strcmp(verb, "set") ? "Set" : "Unset",
		    jv_string_value(list)));
		r = jv_object_set(r, jv_string("commit"), jv_is_valid(commit) ? commit : jv_null());
		r = jv_object_set(r, jv_string("build"), jv_is_valid(build) ? build : jv_null());
		jv_free(last);
		if (fcm_release_add(id, r, rwhy, sizeof rwhy) < 0)
			fcm_warn("VM '%s': the release was not recorded: %s", name, rwhy);
	}
	jv_free(list);
	reply = jv_object_set(jv_object(), jv_string("ok"), jv_true());
	reply = jv_object_set(reply, jv_string("vm"), jv_string(name));
	reply = jv_object_set(reply, jv_string(verb), names);
	reply = jv_object_set(reply, jv_string("applied"), running ? jv_true() : jv_false());
	reply = jv_object_set(reply, jv_string("restarted"), running && restart ? jv_true() : jv_false());
	return reply;
}

/* The lock of VM id's config (vms/<id>/.env.lock), taken. */
static int env_lock(const char *id)
{
	char *p = fcm_path("vms/%s/.env.lock", id);
	int fd = fcm_lock(p, 1);

	if (fd < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to lock %s", p);
	free(p);
	return fd;
}

static int no_restart(jv req)
{
	jv v = jv_object_get(jv_copy(req), jv_string("no_restart"));
	int r = jv_get_kind(v) == JV_KIND_TRUE;

	jv_free(v);
	return r;
}

/* Every pair checked before anything changes. */
static jv set_check(jv req)
{
	jv pairs = jv_object_get(jv_copy(req), jv_string("pairs"));
	char why[512];

	if (jv_get_kind(pairs) != JV_KIND_ARRAY || !jv_array_length(jv_copy(pairs)))
		fcm_die(FCM_E_USAGE, "say which KEY=VALUE to set; usage: fcm config set [VM] KEY=VALUE...");
	jv_array_foreach(pairs, i, p) {
		const char *s = jv_get_kind(p) == JV_KIND_STRING ? jv_string_value(p) : "";
		const char *eq = strchr(s, '=');
		if (!eq || eq == s)
			fcm_die(FCM_E_USAGE, "'%.*s' is not KEY=VALUE: say e.g. GREETING=hello",
			    eq ? 0 : (int)(strlen(s) > 64 ? 64 : strlen(s)), s);
		char *name = fcm_asprintf("%.*s", (int)(eq - s), s);
		jv v = jv_string(eq + 1);
		if (fcm_env_name_check(name, why, sizeof why) < 0 || fcm_env_value_check(name, v, why, sizeof why) < 0)
			fcm_die(FCM_E_USAGE, "%s", why);
		jv_free(v);
		free(name);
		jv_free(p);
	}
	jv_free(pairs);
	return req;
}

/* On the client: a KEY without =VALUE takes its value from stdin (not a
 * terminal), so that a secret stays out of shell history and of the
 * host's process list: printf %s "$T" | fcm config set API_TOKEN. */
static jv set_prepare(jv req)
{
	jv pairs = jv_object_get(jv_copy(req), jv_string("pairs")), out = jv_array();
	int from_stdin = 0;

	if (jv_get_kind(pairs) != JV_KIND_ARRAY) {
		jv_free(pairs);
		return req;
	}
	jv_array_foreach(pairs, i, p) {
		const char *s = jv_get_kind(p) == JV_KIND_STRING ? jv_string_value(p) : "";
		if (*s && !strchr(s, '=') && !isatty(STDIN_FILENO)) {
			char buf[FCM_ENV_VALUE_MAX + 2];
			size_t n = 0;
			ssize_t r;
			if (from_stdin++)
				fcm_die(FCM_E_USAGE, "only one KEY may take its value from stdin");
			while (n < sizeof buf && (r = read(STDIN_FILENO, buf + n, sizeof buf - n)) != 0) {
				if (r < 0)
					fcm_die_sys(FCM_E_USAGE, "unable to read the value of %.64s from stdin", s);
				n += (size_t)r;
			}
			if (n && buf[n - 1] == '\n')
				n--;	/* echo's newline is not part of it */
			jv kv = jv_string_fmt("%s=", s);
			kv = jv_string_append_buf(kv, buf, (int)n);
			explicit_bzero(buf, sizeof buf);
			out = jv_array_append(out, kv);
			jv_free(p);
		} else {
			out = jv_array_append(out, p);
		}
	}
	jv_free(pairs);
	return jv_object_set(req, jv_string("pairs"), out);
}

static jv set_run(jv req, jv rec, const struct fcm_principal *who)
{
	const char *id = fcm_get_str(rec, "id");
	jv pairs = jv_object_get(jv_copy(req), jv_string("pairs")), names = jv_array();
	int fd = env_lock(id);
	jv env = fcm_env_load(id);

	if (!jv_is_valid(env))
		fcm_die_invalid(FCM_E_INTERNAL, env);
	jv_array_foreach(pairs, i, p) {
		const char *s = jv_string_value(p), *eq = strchr(s, '=');
		jv k = jv_string_sized(s, (int)(eq - s));
		names = jv_array_append(names, jv_copy(k));
		env = jv_object_set(env, k, jv_string(eq + 1));
		jv_free(p);
	}
	jv_free(pairs);
	jv reply = apply(rec, env, names, "set", !no_restart(req), who);
	fcm_unlock(fd);
	return reply;
}

static jv unset_run(jv req, jv rec, const struct fcm_principal *who)
{
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");
	jv keys = jv_object_get(jv_copy(req), jv_string("keys")), names = jv_array();
	int fd = env_lock(id);
	jv env = fcm_env_load(id);
	char why[256];

	if (!jv_is_valid(env))
		fcm_die_invalid(FCM_E_INTERNAL, env);
	jv_array_foreach(keys, i, k) {
		const char *s = jv_get_kind(k) == JV_KIND_STRING ? jv_string_value(k) : "";
		if (fcm_env_name_check(s, why, sizeof why) < 0)
			fcm_die(FCM_E_USAGE, "%s", why);
		if (!jv_object_has(jv_copy(env), jv_copy(k)))
			fcm_die(FCM_E_NOT_FOUND, "VM '%s' has no config var %s (see 'fcm config %s'); nothing was changed",
			    name, s, name);
		names = jv_array_append(names, jv_copy(k));
		env = jv_object_delete(env, k);
	}
	jv_free(keys);
	jv reply = apply(rec, env, names, "unset", !no_restart(req), who);
	fcm_unlock(fd);
	return reply;
}

static void change_print(jv reply, jv req)
{
	jv set = jv_object_get(jv_copy(reply), jv_string("set"));
	const char *verb = jv_is_valid(set) ? "Set" : "Unset";
	jv names = jv_is_valid(set) ? set : jv_object_get(jv_copy(reply), jv_string("unset"));
	jv a = jv_object_get(jv_copy(reply), jv_string("applied"));
	jv r = jv_object_get(jv_copy(reply), jv_string("restarted"));

	(void)req;
	printf("%s ", verb);
	jv_array_foreach(names, i, n) {
		printf("%s%s", i ? ", " : "", jv_string_value(n));
		jv_free(n);
	}
	if (jv_get_kind(a) != JV_KIND_TRUE)
		printf(" on %s: it takes effect when the VM starts\n", fcm_get_str(reply, "vm"));
	else if (jv_get_kind(r) == JV_KIND_TRUE)
		printf(" on %s: its processes restarted\n", fcm_get_str(reply, "vm"));
	else
		printf(" on %s: new processes see it (nothing was restarted: 'fcm restart' does)\n",
		    fcm_get_str(reply, "vm"));
	jv_free(names);
	jv_free(a);
	jv_free(r);
}

/* --- the command ----------------------------------------------------------------- */

extern const struct fcm_cmd fcm_cmd_config;

static const struct fcm_opt ls_opts[] = {
	{ "reveal", 0, FCM_OPT_FLAG, NULL, NULL, 0, 0, FCM_OPT_CLIENT },
	{ NULL },
};

static const struct fcm_opt change_opts[] = {
	{ "no-restart", 0, FCM_OPT_FLAG, "no_restart", NULL, 0, 0, 0 },
	{ NULL },
};

static const struct fcm_cmd config_ls = {
	.name = "ls",
	.usage = "fcm config [ls] [VM] [--reveal] [--json]",
	.opts = ls_opts,
	.flags = FCM_CMD_VM | FCM_CMD_NOWRITE,
	.routes = (const struct fcm_cmd_route[]){ { "GET", "/v1/vms/{vm}/config", 0 }, { NULL } },
	.status = 200,
	.run = ls_run,
	.print = ls_print,
	.parent = &fcm_cmd_config,
};

static const struct fcm_cmd config_get = {
	.name = "get",
	.usage = "fcm config get [VM] KEY [--json]",
	.args = (const char *const[]){ "key", NULL },
	.flags = FCM_CMD_VM | FCM_CMD_NOWRITE,
	.routes = (const struct fcm_cmd_route[]){ { "GET", "/v1/vms/{vm}/config/value", 0 }, { NULL } },
	.status = 200,
	.run = get_run,
	.print = get_print,
	.parent = &fcm_cmd_config,
};

static const struct fcm_cmd config_set = {
	.name = "set",
	.usage = "fcm config set [VM] KEY=VALUE... | KEY <VALUE [--no-restart] [--json]",
	.opts = change_opts,
	.args = (const char *const[]){ "pairs+", NULL },
	.flags = FCM_CMD_VM,
	.routes = (const struct fcm_cmd_route[]){ { "POST", "/v1/vms/{vm}/config", 0 }, { NULL } },
	.status = 200,
	.check = set_check,
	.prepare = set_prepare,
	.run = set_run,
	.print = change_print,
	.parent = &fcm_cmd_config,
};

static const struct fcm_cmd config_unset = {
	.name = "unset",
	.usage = "fcm config unset [VM] KEY... [--no-restart] [--json]",
	.opts = change_opts,
	.args = (const char *const[]){ "keys+", NULL },
	.flags = FCM_CMD_VM,
	.routes = (const struct fcm_cmd_route[]){ { "DELETE", "/v1/vms/{vm}/config", 0 }, { NULL } },
	.status = 200,
	.run = unset_run,
	.print = change_print,
	.parent = &fcm_cmd_config,
};

const struct fcm_cmd fcm_cmd_config = {
	.name = "config",
	.summary = "an app's config vars: list, set, unset, get",
	.usage = "fcm config [VM] [--reveal] | fcm config set [VM] KEY=VALUE... [--no-restart] | "
	    "fcm config unset [VM] KEY... [--no-restart] | fcm config get [VM] KEY",
	.subs = (const struct fcm_cmd *const[]){ &config_ls, &config_get, &config_set, &config_unset, NULL },
	.dflt = &config_ls,
	.parent = NULL,
};

/* fcm-remote — add a VM's git remote to the current git repository.
 *
 *   fcm remote [VM] [--name REMOTE] [--json]
 *
 * VM is a name or id, or the one in .fcm; REMOTE defaults to "origin".  The
 * URL is the VM's "git" field (root@<host>:<name>.git, from fcm-repo).  An
 * existing remote of that name with the same URL is fine; with another URL it
 * is refused, naming the way out. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "vm/dotfcm.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/run.h"

static const char usage[] = "fcm remote [VM] [--name REMOTE] [--json]";

static int remote_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '-' || s[0] == '.' || strstr(s, ".."))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

/* Run git quietly, collecting its stdout (first line, trimmed). */
static int git_out(char *const argv[], char **out)
{
	int st = fcm_run_capture(argv, NULL, 0, out, 4096);

	if (*out)
		(*out)[strcspn(*out, "\n")] = '\0';
	return st;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *remote = "origin", *name, *git;
	char *url = NULL, *o = NULL;
	int json = 0, c, st, added;
	jv rec;

	fcm_init("fcm-remote");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "n:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			remote = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			fcm_die(FCM_E_USAGE, "unknown option '%.64s'; usage: %s", argv[optind - 1], usage);
		}
	}
	if (argc - optind > 1)
		fcm_die(FCM_E_USAGE, "unexpected argument '%.64s'; usage: %s", argv[optind + 1], usage);
	if (!isatty(1))
		json = 1;
	fcm_err_json(json);
	if (!remote_name_ok(remote))
		fcm_die(FCM_E_USAGE, "'%.64s' is not a good remote name: use letters, digits, '-', '_' and '.'",
		    remote);

	rec = fcm_vm_from_arg(optind < argc ? argv[optind] : NULL);
	if (!jv_is_valid(rec)) {
		jv msg = jv_invalid_get_msg(rec);
		char why[512];
		snprintf(why, sizeof why, "%s", jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "no such VM");
		jv_free(msg);
		fcm_die(FCM_E_USAGE, "%s", why);
	}
	name = fcm_get_str(rec, "name");
	git = fcm_get_str(rec, "git");
	if (!name)
		fcm_die(FCM_E_INTERNAL, "the VM record has no name");
	if (git)
		url = fcm_strdup(git);
	else {
		/* An older record: ask fcm-repo. */
		jv req = jv_object_set(jv_object_set(jv_object(), jv_string("op"), jv_string("show")),
		    jv_string("name"), jv_string(name));
		jv r = fcm_call("repo", req);
		if (!fcm_reply_ok(r) || !fcm_get_str(r, "git"))
			fcm_die(FCM_E_INTERNAL, "VM '%s' has no git remote: %s", name, fcm_reply_error(r));
		url = fcm_strdup(fcm_get_str(r, "git"));
		jv_free(r);
	}

	{
		char *a[] = { "git", "rev-parse", "--git-dir", NULL };
		st = git_out(a, &o);
		free(o);
		o = NULL;
		if (st < 0)
			fcm_die_sys(FCM_E_INTERNAL, "unable to run git");
		if (st != 0)
			fcm_die(FCM_E_USAGE, "not in a git repository: run 'git init' (or cd into your app) first");
	}
	{
		/* Quiet when absent, unlike `git remote get-url`. */
		char *key = fcm_asprintf("remote.%s.url", remote);
		char *a[] = { "git", "config", "--get", key, NULL };
		st = git_out(a, &o);
		free(key);
	}
	if (st == 0 && o) {
		if (strcmp(o, url))
			fcm_die(FCM_E_USAGE, "remote '%s' already points to %s: choose another with --name, or run 'git remote set-url %s %s'",
			    remote, o, remote, url);
		added = 0;
	} else {
		char *a[] = { "git", "remote", "add", (char *)remote, url, NULL };
		char *junk = NULL;
		st = git_out(a, &junk);
		free(junk);
		if (st != 0)
			fcm_die(FCM_E_INTERNAL, "git remote add %s %s failed (exit %d)", remote, url, st);
		added = 1;
	}
	free(o);

	if (json) {
		jv r = fcm_ok();
		r = jv_object_set(r, jv_string("name"), jv_string(name));
		r = jv_object_set(r, jv_string("remote"), jv_string(remote));
		r = jv_object_set(r, jv_string("git"), jv_string(url));
		r = jv_object_set(r, jv_string("added"), jv_bool(added));
		if (fcm_jsonl_write(stdout, r) < 0)
			fcm_die_sys(FCM_E_INTERNAL, "unable to write to stdout");
	} else {
		if (added)
			printf("Added remote '%s': %s\n", remote, url);
		else
			printf("Remote '%s' is already %s\n", remote, url);
		printf("Deploy with: git push %s main\n", remote);
	}
	free(url);
	jv_free(rec);
	return 0;
}

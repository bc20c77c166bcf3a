/* fcm-git-shell — the forced command of every key in fcm's authorized_keys.
 *
 *   fcm-git-shell [--root ROOT] KEY-ID
 *
 * sshd runs it (restrict,command="…", written by `fcm keys`) with the command
 * the client asked for in SSH_ORIGINAL_COMMAND.  Only git push and fetch to an
 * fcm app's repo are allowed:
 *
 *   git-receive-pack 'NAME.git'      git-upload-pack 'NAME.git'
 *   git receive-pack 'NAME.git'      git upload-pack 'NAME.git'
 *
 * quoted or not, with an optional leading '/' (ssh://host/NAME.git) and an
 * optional ".git".  NAME must be a VM name whose repo exists in
 * $ROOT/git/NAME.git, and the key's owner must own the VM (or be admin).
 * Then it execs `git receive-pack|upload-pack $ROOT/git/NAME.git` (argv, no
 * shell).  Anything else — a shell, another command, other paths — is refused
 * with one line on stderr and exit 100, before anything is written. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/users.h"
#include "core/err.h"
#include "core/atomic.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "vm/svc.h"
#include "vm/vm.h"

static const char usage[] = "fcm-git-shell [--root ROOT] KEY-ID  (run by sshd with SSH_ORIGINAL_COMMAND)";

#define CMD_MAX 512

static int key_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n != 12)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

/* The owner of key id, from $ROOT/ssh/keys.json (malloc'd), or NULL. */
static char *key_owner(const char *id)
{
	char *path = fcm_path("ssh/keys.json");
	jv keys = fcm_read_json(path);
	char *owner = NULL;

	free(path);
	if (!jv_is_valid(keys) || jv_get_kind(keys) != JV_KIND_ARRAY) {
		jv_free(keys);
		return NULL;
	}
	jv_array_foreach(keys, i, rec) {
		const char *kid = fcm_get_str(rec, "id"), *o = fcm_get_str(rec, "owner");
		if (!owner && kid && o && !strcmp(kid, id))
			owner = fcm_strdup(o);
		jv_free(rec);
	}
	jv_free(keys);
	return owner;
}

static _Noreturn void refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void refuse(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fcm_vmsg("fatal", fmt, ap);
	va_end(ap);
	exit(FCM_EXIT_USAGE);
}

/* Split SSH_ORIGINAL_COMMAND into the git service and the app name. */
static void parse(const char *cmd, const char **service, char *name, size_t namelen)
{
	static const struct {
		const char *prefix, *service;
	} allowed[] = {
		{ "git-receive-pack ", "receive-pack" },
		{ "git-upload-pack ", "upload-pack" },
		{ "git receive-pack ", "receive-pack" },
		{ "git upload-pack ", "upload-pack" },
	};
	const char *arg = NULL;
	char path[CMD_MAX + 1], why[256];
	size_t n;

	*service = NULL;
	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
		size_t pl = strlen(allowed[i].prefix);
		if (!strncmp(cmd, allowed[i].prefix, pl)) {
			*service = allowed[i].service;
			arg = cmd + pl;
			break;
		}
	}
	if (!*service)
		refuse("this key only allows git push and fetch to fcm apps (git push root@<host>:<app>.git): no shell or other commands");
	n = strlen(arg);
	if (n >= 2 && arg[0] == '\'' && arg[n - 1] == '\'') {
		arg++;
		n -= 2;
	}
	if (n == 0 || n > CMD_MAX || memchr(arg, '\'', n))
		refuse("give the repository as <app>.git (git push root@<host>:<app>.git)");
	memcpy(path, arg, n);
	path[n] = '\0';
	arg = path;
	if (arg[0] == '/')
		arg++;
	n = strlen(arg);
	if (n > 4 && !strcmp(arg + n - 4, ".git"))
		n -= 4;
	if (n == 0 || n >= namelen)
		refuse("'%.128s' is not an fcm app: give the repository as <app>.git", path);
	memcpy(name, arg, n);
	name[n] = '\0';
	if (fcm_name_check(name, why, sizeof why) < 0)
		refuse("'%.128s' is not an fcm app repository (<app>.git, an app being a VM name): %s",
		    path, why);
}

int main(int argc, char **argv)
{
	const char *id, *cmd, *service, *vm_owner;
	char name[FCM_NAME_MAX + 1];
	char *owner, *repo, *meta;
	struct stat st;
	jv rec;

	fcm_init("fcm-git-shell");
	if (argc == 4 && !strcmp(argv[1], "--root")) {
		if (setenv("FCM_ROOT", argv[2], 1) < 0)
			fcm_die_sys(FCM_E_INTERNAL, "unable to set FCM_ROOT");
		argv += 2;
		argc -= 2;
	}
	if (argc != 2)
		fcm_die(FCM_E_USAGE, "usage: %s", usage);
	id = argv[1];
	(void)fcm_root();	/* checks FCM_ROOT */
	if (!key_id_ok(id))
		refuse("'%.32s' is not a key id: this authorized_keys entry was not written by 'fcm keys'", id);

	cmd = getenv("SSH_ORIGINAL_COMMAND");
	if (!cmd || !*cmd)
		refuse("no shell here: this key only allows git push and fetch to fcm apps (git push root@<host>:<app>.git)");
	if (strlen(cmd) > CMD_MAX)
		refuse("command too long: this key only allows git push and fetch to fcm apps");
	parse(cmd, &service, name, sizeof name);

	owner = key_owner(id);
	if (!owner)
		refuse("key %s is not known to fcm (removed?): add it with 'fcm keys add'", id);
	if (strcmp(owner, "admin") && !fcm_users_admitted(owner))
		refuse("key %s belongs to %s, who may no longer use this host: an admin lets them back with 'fcm users allow'",
		    id, owner);

	repo = fcm_path("git/%s.git", name);
	meta = fcm_asprintf("%s/fcm.json", repo);
	if (lstat(repo, &st) < 0 || !S_ISDIR(st.st_mode) || access(meta, F_OK) < 0)
		refuse("no app '%s' here: create it with 'fcm create --name %s' (see 'fcm ls')", name, name);
	rec = fcm_vm_find(name);
	if (!jv_is_valid(rec))
		refuse("no app '%s' here: its VM is gone (see 'fcm ls')", name);
	vm_owner = fcm_get_str(rec, "owner");
	if (strcmp(owner, "admin") && (!vm_owner || strcmp(vm_owner, owner))) {
		jv_free(rec);
		free(repo);
		free(meta);
		refuse("app '%s' is not yours: key %s belongs to %s", name, id, owner);
	}

	/* For fcm-deploy's log: who pushed. */
	setenv("FCM_PUSH_KEY", id, 1);
	setenv("FCM_PUSH_OWNER", owner, 1);
	{
		/* Every object of a push is checked (receive.fsckObjects), a
		 * push is at most FCM_PUSH_MAX (receive.maxInputSize), and what
		 * it writes is root's alone (core.sharedRepository=0600). */
		const char *max = getenv("FCM_PUSH_MAX");
		char *lim;
		if (!max || !*max)
			max = "1g";
		size_t nd = strspn(max, "0123456789");
		if (nd == 0 || nd > 12 || (max[nd] && (!strchr("kmgKMG", max[nd]) || max[nd + 1])))
			refuse("FCM_PUSH_MAX must be a size such as 512m or 2g, not '%.16s': ask the host's admin", max);
		lim = fcm_asprintf("receive.maxInputSize=%s", max);
		char *gargv[] = { "git", "-c", "receive.fsckObjects=true", "-c", lim,
			"-c", "core.sharedRepository=0600", (char *)service, repo, NULL };
		execvp("git", gargv);
	}
	fcm_die_sys(FCM_E_INTERNAL, "unable to run git %s", service);
}

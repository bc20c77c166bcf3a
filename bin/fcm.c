/* fcm — the front end.  `fcm <cmd> args...` runs a user command defined in
 * cmd/ (create, ls, ...) here, as git runs its builtins; run as `fcm-<cmd>`
 * (a link to this program) it does the same.  Any other command is a
 * program `fcm-<cmd>`, looked up as git does (git.c): the exec path first
 * (FCM_EXEC_PATH, or the directory fcm runs from, or the installed libexec
 * directory), then the plugins directory, then $PATH.  Programs get the fcm
 * environment: FCM_ROOT, FCM_HOST, FCM_EXEC_PATH, FCM_PLUGINS, FCM_VERSION. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/err.h"
#include "core/atomic.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/paths.h"
#include "core/stateformat.h"
#include "vm/svc.h"
#include "core/utf8.h"
#include "core/run.h"
#include "net/netlink.h"
#include "net/netops.h"
#include "vm/diskops.h"
#include "vm/repoops.h"
#include "vm/vm.h"


static const char usage[] = "fcm [--version] [help [cmd]] <command> [args...]";

/* One line on each program shipped with fcm beside the commands of cmd/
 * (which describe themselves); `fcm help` shows those that are installed. */
static const struct {
	const char *name, *what;
	int plumbing;
} builtins[] = {
	{ "console", "a shell in the VM that survives disconnects", 0 },
	{ "keys", "the ssh keys allowed to git push, and the host's key into its guests", 0 },
	{ "daemon", "run the supervision tree and the HTTP API", 0 },
	{ "login", "log in to an fcm host", 0 },
	{ "logout", "log out", 0 },
	{ "whoami", "show who you are logged in as", 0 },
	{ "name", "a fresh VM name, or check one", 1 },
	{ "net", "bridge, taps, addresses, nftables", 1 },
	{ "image", "the guest images: kernel, initramfs, base root filesystem", 1 },
	{ "disk", "a VM's writable disk over its image", 1 },
	{ "fc", "the Firecracker driver", 1 },
	{ "proxy", "HTTPS routes in Caddy", 1 },
	{ "tty", "hold a terminal session on a socket", 1 },
	{ "api", "the HTTP API server", 1 },
	{ "auth", "users, tokens and OIDC logins", 1 },
	{ "repo", "a VM's bare git repository", 1 },
	{ "deploy", "deploy a pushed commit into its VM (git hook)", 1 },
	{ "git-shell", "the forced command of git push keys", 1 },
};
#define NBUILTINS (sizeof builtins / sizeof builtins[0])

static int is_cmd_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '-')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

static int executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static const char *plugins_dir(void)
{
	static char *dir;
	const char *e = getenv("FCM_PLUGINS");
	struct stat st;

	if (dir)
		return dir;
	if (e && *e)
		return dir = fcm_strdup(e);
	/* A checkout keeps plugins/ beside bin/; an install keeps it in libexec. */
	dir = fcm_asprintf("%s/../plugins", fcm_exec_dir());
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(dir);
		dir = fcm_asprintf("%s/plugins", fcm_exec_dir());
	}
	return dir;
}

/* Where fcm-<cmd> is: exec dir, plugins dir, then PATH.  NULL if nowhere. */
static char *find_cmd(const char *cmd, int *is_builtin)
{
	char *p = fcm_asprintf("%s/fcm-%s", fcm_exec_dir(), cmd);
	const char *path = getenv("PATH");

	*is_builtin = 1;
	if (executable(p))
		return p;
	free(p);
	*is_builtin = 0;
	p = fcm_asprintf("%s/fcm-%s", plugins_dir(), cmd);
	if (executable(p))
		return p;
	free(p);
	if (!path)
		return NULL;
	char *copy = fcm_strdup(path), *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (!*d)
			continue;
		p = fcm_asprintf("%s/fcm-%s", d, cmd);
		if (executable(p)) {
			free(copy);
			return p;
		}
		free(p);
	}
	free(copy);
	return NULL;
}

static _Noreturn void run(const char *cmd, int argc, char **argv);

static void set_env(void)
{
	const char *host = getenv("FCM_HOST");

	setenv("FCM_ROOT", fcm_root(), 1);
	/* FCM_HOST only when there is one: its presence makes commands remote. */
	if (host && !*host)
		unsetenv("FCM_HOST");
	setenv("FCM_EXEC_PATH", fcm_exec_dir(), 1);
	setenv("FCM_PLUGINS", plugins_dir(), 1);
	setenv("FCM_VERSION", FCM_VERSION, 1);
}

/* --- the list of commands ------------------------------------------------ */

struct cmd {
	char *name, *what, *path;
	int plumbing, plugin;
};
static struct cmd *cmds;
static size_t ncmds, capcmds;

static struct cmd *cmd_lookup(const char *name)
{
	for (size_t i = 0; i < ncmds; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

/* A plugin describes itself with a line "# fcm-description: ..." near its top. */
static char *plugin_description(const char *path)
{
	char *text = fcm_read_file(path, 1 << 20, NULL);
	char *d, *end;

	if (!text && errno == EFBIG) {
		return fcm_strdup("(plugin)");
	}
	if (!text)
		return fcm_strdup("(plugin)");
	d = strstr(text, "fcm-description:");
	if (!d || d - text > 4096) {
		free(text);
		return fcm_strdup("(plugin)");
	}
	d += strlen("fcm-description:");
	while (*d == ' ' || *d == '\t')
		d++;
	end = strchr(d, '\n');
	if (end)
		*end = '\0';
	if (strlen(d) > 100)
		d[100] = '\0';
	if (!fcm_utf8_valid(d, strlen(d)) || !*d)
		d = "(plugin)";
	d = fcm_strdup(d);
	free(text);
	return d;
}

static void scan_dir(const char *dir, int builtin_dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		const char *name = e->d_name + 4;
		char *path;

		if (strncmp(e->d_name, "fcm-", 4) || !is_cmd_name(name) || cmd_lookup(name))
			continue;
		path = fcm_asprintf("%s/%s", dir, e->d_name);
		if (!executable(path)) {
			free(path);
			continue;
		}
		if (ncmds == capcmds) {
			capcmds = capcmds ? capcmds * 2 : 32;
			cmds = realloc(cmds, capcmds * sizeof *cmds);
			if (!cmds)
				fcm_die_nomem();
		}
		struct cmd *c = &cmds[ncmds++];
		c->name = fcm_strdup(name);
		c->path = path;
		c->plugin = !builtin_dir;
		c->plumbing = 0;
		c->what = NULL;
		const struct fcm_cmd *def = fcm_cmd_find(name);
		if (def)
			c->what = fcm_strdup(def->summary);
		if (builtin_dir && !def)
			for (size_t i = 0; i < NBUILTINS; i++)
				if (!strcmp(builtins[i].name, name)) {
					c->what = fcm_strdup(builtins[i].what);
					c->plumbing = builtins[i].plumbing;
				}
		if (!c->what)
			c->what = plugin_description(path);
	}
	closedir(d);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct cmd *)a)->name, ((const struct cmd *)b)->name);
}

static void load_cmds(void)
{
	const char *path = getenv("PATH");

	scan_dir(fcm_exec_dir(), 1);
	scan_dir(plugins_dir(), 0);
	if (path) {
		char *copy = fcm_strdup(path), *save = NULL;
		for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
			if (*d && strcmp(d, fcm_exec_dir()))
				scan_dir(d, 0);
		free(copy);
	}
	if (ncmds)
		qsort(cmds, ncmds, sizeof *cmds, by_name);
}

static void print_group(const char *title, int plumbing, int plugin)
{
	int any = 0;

	for (size_t i = 0; i < ncmds; i++) {
		struct cmd *c = &cmds[i];
		if (c->plugin != plugin || (!plugin && c->plumbing != plumbing))
			continue;
		if (!any)
			printf("\n%s\n", title);
		any = 1;
		printf("   %-10s %s\n", c->name, c->what);
	}
}

static int help(void)
{
	load_cmds();
	printf("usage: %s\n", usage);
	print_group("Commands:", 0, 0);
	print_group("Plumbing (JSON lines in and out):", 1, 0);
	print_group("Plugins:", 0, 1);
	printf("\n'fcm help <command>' shows its manual, 'fcm <command> --help' its usage.\n");
	return 0;
}

/* --- completion: what may come next, for the shells' scripts ------------- */

/* `fcm help --complete [WORD...]` (hidden; completion/fcm.bash and _fcm use
 * it) prints what may follow `fcm WORD...`, one per line, from the same
 * tables as everything else: with no word the commands (built-ins, plugins
 * on PATH); after a command of subcommands those; after a command its
 * options ("--cpus\tvalue" when one takes a value), "--json", "--help" and
 * "@vm" when VM names may come (the script gets them from `fcm ls --json`). */
static int complete(int argc, char **argv)
{
	const struct fcm_cmd *c;

	if (argc == 0) {
		load_cmds();
		for (size_t i = 0; i < ncmds; i++)
			printf("%s\n", cmds[i].name);
		return 0;
	}
	c = fcm_cmd_find(argv[0]);
	if (!c) {
		printf("--help\n");
		if (!strcmp(argv[0], "console"))
			printf("@vm\n");
		return 0;
	}
	if (c->subs) {
		const struct fcm_cmd *sub = NULL;
		for (const struct fcm_cmd *const *x = c->subs; argc > 1 && *x; x++)
			if (!strcmp((*x)->name, argv[1]))
				sub = *x;
		if (!sub) {
			for (const struct fcm_cmd *const *x = c->subs; *x; x++)
				printf("%s\n", (*x)->name);
			printf("--help\n");
			return 0;
		}
		c = sub;
	}
	for (const struct fcm_opt *o = c->opts; o && o->name; o++)
		if (o->where != FCM_OPT_WORD)
			printf("--%s%s\n", o->name, o->type == FCM_OPT_FLAG ? "" : "\tvalue");
	printf("--json\n--help\n");
	int vm = (c->flags & FCM_CMD_VM) != 0;
	for (const char *const *a = c->args; a && *a; a++)
		vm |= !strcmp(*a, "vms*") || !strcmp(*a, "vm");
	if (vm)
		printf("@vm\n");
	return 0;
}

/* --- suggestions, as git's help.c: Damerau-Levenshtein distance ---------- */

static int distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int d[66][66];

	if (la > 64 || lb > 64)
		return 99;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			int cost = a[i - 1] != b[j - 1];
			int best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

static _Noreturn void unknown(const char *cmd)
{
	int best = 99;
	size_t n = 0;

	fprintf(stderr, "fcm: '%s' is not an fcm command. See 'fcm help'.\n", cmd);
	if (is_cmd_name(cmd)) {
		load_cmds();
		for (size_t i = 0; i < ncmds; i++) {
			int dd = distance(cmd, cmds[i].name);
			if (dd < best)
				best = dd;
		}
		if (best <= 2) {
			for (size_t i = 0; i < ncmds; i++)
				n += distance(cmd, cmds[i].name) == best;
			fprintf(stderr, "\nThe most similar command%s\n", n > 1 ? "s are" : " is");
			for (size_t i = 0; i < ncmds; i++)
				if (distance(cmd, cmds[i].name) == best)
					fprintf(stderr, "\t%s\n", cmds[i].name);
		}
	}
	exit(FCM_EXIT_USAGE);
}

/* --- fcm help COMMAND: its man page ---------------------------------------- */

/* The man page of fcm-<cmd>: built beside bin/ in a checkout (man/, made
 * from doc/ by scripts/mkman), else installed in FCM_MANDIR, compressed or
 * not.  NULL when there is none. */
static char *man_page(const char *cmd)
{
	static const char *const suffix[] = { "", ".gz" };
	char *p;

	for (size_t i = 0; i < 2; i++) {
		p = fcm_asprintf("%s/../man/man1/fcm-%s.1%s", fcm_exec_dir(), cmd, suffix[i]);
		if (access(p, R_OK) == 0)
			return p;
		free(p);
		p = fcm_asprintf("%s/man1/fcm-%s.1%s", FCM_MANDIR, cmd, suffix[i]);
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* `fcm help cmd`: the command's man page through man(1), the same text as
 * `man fcm-cmd`; without a page (a plugin) or without man, its usage. */
static _Noreturn void help_cmd(const char *cmd)
{
	char *page = is_cmd_name(cmd) ? man_page(cmd) : NULL;

	if (page) {
		char *margv[] = { "man", "-l", page, NULL };
		execvp("man", margv);
		free(page);
	}
	char *hargv[] = { (char *)cmd, "--help", NULL };
	run(cmd, 2, hargv);
}

/* The host `fcm login` saved in ~/.fcm-host counts as FCM_HOST when the
 * user set none. */
static void saved_host(void)
{
	const char *host = getenv("FCM_HOST");
	char *saved;

	if (host && *host)
		return;
	saved = fcm_saved_host();
	if (saved)
		setenv("FCM_HOST", saved, 1);
	free(saved);
}

static _Noreturn void run(const char *cmd, int argc, char **argv)
{
	int builtin;
	char *path;

	if (!is_cmd_name(cmd) || !fcm_utf8_valid(cmd, strlen(cmd)))
		unknown(is_cmd_name(cmd) ? cmd : "?");
	saved_host();
	if (fcm_cmd_find(cmd))
		exit(fcm_cmd_main(fcm_cmd_find(cmd), argc, argv));
	path = find_cmd(cmd, &builtin);
	if (!path)
		unknown(cmd);
	set_env();
	argv[0] = path;
	(void)argc;
	execv(path, argv);
	fcm_die_sys(FCM_E_INTERNAL, "unable to run %s", path);
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	/* fcm-net's, fcm-disk's and fcm-repo's operations run in this
	 * process (lib/core/run.h). */
	fcm_call_here("net", fcm_net_ops, fcm_nl_close);
	fcm_call_here("disk", fcm_disk_ops, NULL);
	fcm_call_here("repo", fcm_repo_ops, NULL);
	/* Run as fcm-<cmd> (a link to fcm): that command. */
	if (!strncmp(self, "fcm-", 4) && fcm_cmd_find(self + 4))
		return fcm_cmd_main(fcm_cmd_find(self + 4), argc, argv);
	fcm_init("fcm");
	if (argc < 2)
		return help(), FCM_EXIT_USAGE;
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("fcm version %s (state format %d)\n", FCM_VERSION, FCM_STATE_FORMAT);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return help();
	if (!strcmp(argv[1], "help")) {
		if (argc == 2)
			return help();
		if (!strcmp(argv[2], "--complete"))
			return complete(argc - 3, argv + 3);
		if (argc > 3)
			fcm_die_usage("fcm help [command]");
		help_cmd(argv[2]);
	}
	if (argv[1][0] == '-') {
		fprintf(stderr, "fcm: unknown option '%s'\nusage: %s\n", argv[1], usage);
		return FCM_EXIT_USAGE;
	}
	run(argv[1], argc - 1, argv + 1);
}

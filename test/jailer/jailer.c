/* jailer — the test double of Firecracker's `jailer` (v1.7), see
 * doc/testing-firecracker.md.
 *
 * It does what the real jailer does, in the same order, with the same
 * command line, checks and messages (src/jailer/src/{main,env,cgroup,
 * chroot,resource_limits}.rs of Firecracker 1.7):
 *
 *   close every fd above 2, clear the environment, parse the arguments,
 *   validate the id, the exec file, the chroot base, uid, gid, the cgroup
 *   arguments and resource limits; create <chroot_base>/<exec_file_name>/
 *   <id>/root, copy the exec file into it, join --netns, set the rlimits,
 *   write and join the cgroups, unshare a mount namespace and pivot_root
 *   into the jail, make /, /dev, /dev/net, /run (0700, owned by uid:gid),
 *   mknod /dev/net/tun, /dev/kvm, /dev/urandom there, daemonize if asked,
 *   clone into a new PID namespace if asked (the parent writes the child's
 *   pid to /<exec_file_name>.pid and exits 0), drop to uid:gid and exec
 *   /<exec_file_name> --id ID --start-time-us N --start-time-cpu-us N
 *   --parent-cpu-time-us N [arguments after --].
 *
 * One difference, and only inside the jail's private mount namespace: the
 * Firecracker double is a dynamically linked program that boots its guest
 * under QEMU, and neither its libraries nor QEMU exist in a real jail.  So
 * before pivot_root the double binds the host's /usr read-only into the
 * jail (and recreates the merged-/usr links bin, lib, lib64, sbin), and
 * makes /tmp there (the double's QMP socket), and just before the exec it
 * mounts a procfs at /proc (of the VMM's PID namespace with --new-pid-ns).
 * The mounts exist only in the jailed process's namespace; on the host the
 * jail directory then holds the empty mount points usr/ and proc/, those
 * links and tmp/ beside what the real jailer makes.  Everything the caller sees — paths, flags, refusals, messages,
 * ownership, cgroups, the pid file, the process tree — is the real jailer's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>

#define JAILER_VERSION "1.7.0"

extern char **environ;

/* ---- errors, as the Rust program prints them --------------------------- */

/* main() returning Err: Display on stderr, then Rust's "Error: {:?}", exit 1. */
static _Noreturn void arg_error(const char *display, const char *debug)
{
	fprintf(stderr, "Failed to parse arguments: %s\n", display);
	fprintf(stderr, "Error: ArgumentParsing(%s)\n", debug);
	exit(1);
}

/* panic!("Jailer error: {}"), with panic = "abort" as Firecracker builds. */
static _Noreturn __attribute__((format(printf, 1, 2))) void jail_panic(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "thread 'main' panicked at src/jailer/src/main.rs:343:6:\nJailer error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n");
	fflush(stderr);
	signal(SIGABRT, SIG_DFL);
	abort();
}

/* io::Error's Display: "No such file or directory (os error 2)". */
static const char *ioerr(int e)
{
	static char buf[4][160];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s (os error %d)", strerror(e), e);
	return buf[k];
}

/* ---- the command line (utils::arg_parser) ------------------------------ */

struct arg {
	const char *name;
	int takes_value, multiple, required;
	const char *dflt;
	int given;
	const char *value;
	const char **values;
	int nvalues;
};

static struct arg args[] = {
	/* in the parser's BTreeMap order: requirements are checked in it */
	{ "cgroup", 1, 1, 0, NULL, 0, NULL, NULL, 0 },
	{ "cgroup-version", 1, 0, 0, "1", 0, NULL, NULL, 0 },
	{ "chroot-base-dir", 1, 0, 0, "/srv/jailer", 0, NULL, NULL, 0 },
	{ "daemonize", 0, 0, 0, NULL, 0, NULL, NULL, 0 },
	{ "exec-file", 1, 0, 1, NULL, 0, NULL, NULL, 0 },
	{ "gid", 1, 0, 1, NULL, 0, NULL, NULL, 0 },
	{ "id", 1, 0, 1, NULL, 0, NULL, NULL, 0 },
	{ "netns", 1, 0, 0, NULL, 0, NULL, NULL, 0 },
	{ "new-pid-ns", 0, 0, 0, NULL, 0, NULL, NULL, 0 },
	{ "parent-cgroup", 1, 0, 0, NULL, 0, NULL, NULL, 0 },
	{ "resource-limit", 1, 1, 0, NULL, 0, NULL, NULL, 0 },
	{ "uid", 1, 0, 1, NULL, 0, NULL, NULL, 0 },
	{ "version", 0, 0, 0, NULL, 0, NULL, NULL, 0 },
	{ NULL, 0, 0, 0, NULL, 0, NULL, NULL, 0 },
};

static struct arg *arg_find(const char *name)
{
	for (struct arg *a = args; a->name; a++)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

static const char *value_of(const char *name)
{
	struct arg *a = arg_find(name);

	return a->given ? a->value : a->dflt;
}

static void print_help(void)
{
	printf("Jailer v%s\n\n", JAILER_VERSION);
	printf("required arguments:\n"
	    "  --exec-file <exec-file>\tFile path to exec into.\n"
	    "  --gid <gid>\tThe group identifier the jailer switches to after exec.\n"
	    "  --id <id>\tJail ID.\n"
	    "  --uid <uid>\tThe user identifier the jailer switches to after exec.\n\n"
	    "optional arguments:\n"
	    "  --cgroup <cgroup>\tCgroup and value to be set by the jailer. It must follow this format: <cgroup_file>=<value> (e.g cpu.shares=10). This argument can be used multiple times to add multiple cgroups.\n"
	    "  --cgroup-version <cgroup-version>\tSelect the cgroup version used by the jailer. [default: \"1\"]\n"
	    "  --chroot-base-dir <chroot-base-dir>\tThe base folder where chroot jails are located. [default: \"/srv/jailer\"]\n"
	    "  --daemonize\tDaemonize the jailer before exec, by invoking setsid(), and redirecting the standard I/O file descriptors to /dev/null.\n"
	    "  --netns <netns>\tPath to the network namespace this microVM should join.\n"
	    "  --new-pid-ns\tExec into a new PID namespace.\n"
	    "  --parent-cgroup <parent-cgroup>\tParent cgroup in which the cgroup of this microvm will be placed.\n"
	    "  --resource-limit <resource-limit>\tResource limit values to be set by the jailer. It must follow this format: <resource>=<value> (e.g no-file=1024). This argument can be used multiple times to add multiple resource limits. Current available resource values are:\n"
	    "\t\tfsize: The maximum size in bytes for files created by the process.\n"
	    "\t\tno-file: Specifies a value one greater than the maximum file descriptor number that can be opened by this process.\n"
	    "  --version\tPrint the binary version number.\n\n");
	printf("Any arguments after the -- separator will be supplied to the jailed binary.\n\n");
}

/* Returns the index of the first extra argument (after "--"), or argc. */
static int parse(int argc, char **argv, int *help, int *version)
{
	int end = argc, i;
	char d[300], q[300];

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			end = i;
			break;
		}
	for (i = 1; i < end; i++) {
		if (!strcmp(argv[i], "--help")) {
			*help = 1;
			return end;
		}
	}
	for (i = 1; i < end; i++) {
		if (!strcmp(argv[i], "--version")) {
			*version = 1;
			return end;
		}
	}
	for (i = 1; i < end; i++) {
		const char *s = argv[i];
		struct arg *a;

		if (strncmp(s, "--", 2)) {
			snprintf(d, sizeof d, "Found argument '%.200s' which wasn't expected, or isn't valid in this context.", s);
			snprintf(q, sizeof q, "UnexpectedArgument(\"%.200s\")", s);
			arg_error(d, q);
		}
		a = arg_find(s + 2);
		if (!a) {
			snprintf(d, sizeof d, "Found argument '%.200s' which wasn't expected, or isn't valid in this context.", s + 2);
			snprintf(q, sizeof q, "UnexpectedArgument(\"%.200s\")", s + 2);
			arg_error(d, q);
		}
		if (a->given && !a->multiple) {
			snprintf(d, sizeof d, "The argument '%s' was provided more than once.", a->name);
			snprintf(q, sizeof q, "DuplicateArgument(\"%s\")", a->name);
			arg_error(d, q);
		}
		if (a->takes_value) {
			if (i + 1 >= end || !strncmp(argv[i + 1], "--", 2)) {
				snprintf(d, sizeof d, "The argument '%s' requires a value, but none was supplied.", a->name);
				snprintf(q, sizeof q, "MissingValue(\"%s\")", a->name);
				arg_error(d, q);
			}
			i++;
			if (a->multiple) {
				a->values = realloc(a->values, (size_t)(a->nvalues + 1) * sizeof *a->values);
				if (!a->values)
					abort();
				a->values[a->nvalues++] = argv[i];
			} else
				a->value = argv[i];
		}
		a->given = 1;
	}
	for (struct arg *a = args; a->name; a++)
		if (a->required && !a->given) {
			snprintf(d, sizeof d, "Argument '%s' required, but not found.", a->name);
			snprintf(q, sizeof q, "MissingArgument(\"%s\")", a->name);
			arg_error(d, q);
		}
	return end;
}

/* ---- checks (utils::validators, Env::new) ----------------------------- */

static void validate_id(const char *id)
{
	size_t n = strlen(id);

	if (n < 1 || n > 64)
		jail_panic("Invalid instance ID: Invalid len (%zu);  the length must be between 1 and 64", n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];
		if (!(c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			jail_panic("Invalid instance ID: Invalid char (%c) at position %zu", c, i);
	}
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == ' ' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out, const char **why)
{
	char *end;
	unsigned long long v;

	*why = "invalid digit found in string";
	if (!*s) {
		*why = "cannot parse integer from empty string";
		return -1;
	}
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno) {
		*why = "number too large to fit in target type";
		return -1;
	}
	*out = v;
	return 0;
}

/* Would Rust's Path::components() yield a RootDir, a leading CurDir or a
 * ParentDir?  (An inner "." is not a component there.) */
static int bad_components(const char *p)
{
	char *copy, *save = NULL;
	int bad = 0, first = 1;

	if (*p == '/')
		return 1;
	copy = strdup(p);
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save), first = 0)
		if ((first && !strcmp(c, ".")) || !strcmp(c, ".."))
			bad = 1;
	free(copy);
	return bad;
}

/* ---- cgroups (cgroup.rs) ---------------------------------------------- */

struct mnt {
	char dir[PATH_MAX];
	char opts[512];
};

static struct mnt mounts[64];
static int nmounts;
static char unified[PATH_MAX];

static void cgroup_builder(int ver)
{
	FILE *f;
	char line[4096];

	if (ver != 1 && ver != 2)
		jail_panic("%d is an invalid cgroup version specifier", ver);
	nmounts = 0;
	unified[0] = 0;
	f = fopen("/proc/mounts", "r");
	if (!f)
		jail_panic("Failed to open file /proc/mounts: %s", ioerr(errno));
	while (fgets(line, sizeof line, f)) {
		char src[512], dir[PATH_MAX], type[64], opts[512];
		if (sscanf(line, "%511s %4095s %63s %511s", src, dir, type, opts) != 4)
			continue;
		if (ver == 2 && !strcmp(type, "cgroup2")) {
			snprintf(unified, sizeof unified, "%s", dir);
			break;
		}
		if (ver == 1 && !strcmp(type, "cgroup") && nmounts < 64) {
			snprintf(mounts[nmounts].dir, sizeof mounts[nmounts].dir, "%s", dir);
			snprintf(mounts[nmounts].opts, sizeof mounts[nmounts].opts, "%s", opts);
			nmounts++;
		}
	}
	fclose(f);
	if (!unified[0] && !nmounts)
		jail_panic("Hierarchy not found: No hierarchy found for this cgroup version.");
}

struct cg {
	char file[256];
	char value[256];
	char location[PATH_MAX];
	int depth;
	int ver;
};

static struct cg cgs[64];
static int ncgs;

static int controller_available(const char *controller, const char *mount)
{
	char path[PATH_MAX + 32], line[4096];
	FILE *f;
	int ok = 0;

	snprintf(path, sizeof path, "%s/cgroup.controllers", mount);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (!ok && fgets(line, sizeof line, f)) {
		char *save = NULL;
		line[strcspn(line, "\n")] = 0;
		for (char *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save))
			if (!strcmp(w, controller))
				ok = 1;
	}
	fclose(f);
	return ok;
}

static void new_cgroup(int ver, const char *file, const char *value, const char *id, const char *parent)
{
	char controller[256];
	const char *dot = strchr(file, '.');
	struct cg *c;

	if (!dot)
		jail_panic("Cgroup invalid file: %s", file);
	snprintf(controller, sizeof controller, "%.*s", (int)(dot - file), file);
	if (ncgs >= 64)
		jail_panic("Invalid format for cgroups: %s", file);
	c = &cgs[ncgs];
	memset(c, 0, sizeof *c);
	c->ver = ver;
	snprintf(c->file, sizeof c->file, "%s", file);
	snprintf(c->value, sizeof c->value, "%s", value);
	if (ver == 1) {
		const char *dir = NULL;
		for (int i = 0; i < nmounts && !dir; i++) {
			char opts[512], *save = NULL;
			snprintf(opts, sizeof opts, "%s", mounts[i].opts);
			for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
				if (!strcmp(o, controller))
					dir = mounts[i].dir;
		}
		if (!dir)
			jail_panic("Controller %s is unavailable", controller);
		snprintf(c->location, sizeof c->location, "%s/%s/%s", dir, parent, id);
		char *copy = strdup(parent), *save = NULL;
		for (char *p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save))
			c->depth++;
		free(copy);
	} else {
		if (!unified[0])
			jail_panic("Hierarchy not found: unified");
		if (!controller_available(controller, unified))
			jail_panic("Controller %s is unavailable", controller);
		snprintf(c->location, sizeof c->location, "%s/%s/%s", unified, parent, id);
	}
	ncgs++;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static char *read_line(const char *path)
{
	FILE *f = fopen(path, "r");
	static char line[4096];

	if (!f)
		jail_panic("Failed to read file %s into a string: %s", path, ioerr(errno));
	size_t n = fread(line, 1, sizeof line - 1, f);
	line[n] = 0;
	fclose(f);
	if (n && line[n - 1] == '\n')
		line[n - 1] = 0;
	return line;
}

static void write_line(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char buf[4200];
	int n = snprintf(buf, sizeof buf, "%s\n", value);

	if (fd < 0 || write(fd, buf, (size_t)n) != n) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		jail_panic("called `Result::unwrap()` on an `Err` value: Write(\"%s\", %s)", path, ioerr(e));
	}
	close(fd);
}

/* v1: the new cgroup inherits the parent's value of the file first
 * (inherit_from_parent: looked up at most `depth` levels up). */
static void inherit(const char *location, const char *file, int depth)
{
	char parent[PATH_MAX], pfile[PATH_MAX + 300], dst[PATH_MAX + 300];
	char *line;

	snprintf(parent, sizeof parent, "%s", location);
	*strrchr(parent, '/') = 0;
	snprintf(pfile, sizeof pfile, "%s/%s", parent, file);
	line = read_line(pfile);
	if (!*line && depth > 0) {
		inherit(parent, file, depth - 1);
		line = read_line(pfile);
	}
	if (!*line)
		jail_panic("Failed to inherit cgroups configurations from file %s in path %s", file, location);
	snprintf(dst, sizeof dst, "%s/%s", location, file);
	char copy[4096];
	snprintf(copy, sizeof copy, "%s", line);
	write_line(dst, copy);
}

static void subtree_control(const char *path, const char *controller)
{
	char f[PATH_MAX + 64], v[300], parent[PATH_MAX];
	struct stat st;

	snprintf(f, sizeof f, "%s/cgroup.subtree_control", path);
	if (stat(f, &st) < 0)
		return;
	snprintf(parent, sizeof parent, "%s", path);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = 0;
		subtree_control(parent, controller);
	}
	snprintf(v, sizeof v, "+%s", controller);
	write_line(f, v);
}

static void cgroup_write(struct cg *c)
{
	char path[PATH_MAX + 300];

	if (mkdir_p(c->location, 0755) < 0)
		jail_panic("called `Result::unwrap()` on an `Err` value: CreateDir(\"%s\", %s)", c->location, ioerr(errno));
	if (c->ver == 1)
		inherit(c->location, c->file, c->depth);
	else {
		char controller[256], parent[PATH_MAX];
		snprintf(controller, sizeof controller, "%.*s", (int)(strchr(c->file, '.') - c->file), c->file);
		snprintf(parent, sizeof parent, "%s", c->location);
		*strrchr(parent, '/') = 0;
		subtree_control(parent, controller);
	}
	snprintf(path, sizeof path, "%s/%s", c->location, c->file);
	write_line(path, c->value);
}

static void cgroup_attach(struct cg *c)
{
	char path[PATH_MAX + 32], pid[32];

	snprintf(path, sizeof path, "%s/%s", c->location, c->ver == 1 ? "tasks" : "cgroup.procs");
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	write_line(path, pid);
}

/* ---- the jail ----------------------------------------------------------- */

static uint64_t now_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1;
	struct stat st;
	char buf[65536];
	ssize_t n;

	if (in < 0 || fstat(in, &st) < 0)
		goto fail;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
	if (out < 0)
		goto fail;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			goto fail;
	if (n < 0 || fchmod(out, st.st_mode & 07777) < 0)
		goto fail;
	close(in);
	close(out);
	return;
fail:
	jail_panic("Failed to copy %s to %s: %s", from, to, ioerr(errno));
}

/* The double's only addition (see the top of this file): a read-only view of
 * the host's /usr, and /tmp, inside the jail's private mount namespace. */
static void double_runtime(const char *root)
{
	static const char *const links[] = { "bin", "lib", "lib64", "sbin", NULL };
	char p[PATH_MAX + 16], host[32], target[PATH_MAX];

	snprintf(p, sizeof p, "%s/usr", root);
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		jail_panic("fcm test double: unable to make %s: %s", p, ioerr(errno));
	if (mount("/usr", p, NULL, MS_BIND | MS_REC, NULL) < 0 ||
	    mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, NULL) < 0)
		jail_panic("fcm test double: unable to bind /usr into the jail: %s", ioerr(errno));
	for (int i = 0; links[i]; i++) {
		snprintf(host, sizeof host, "/%s", links[i]);
		ssize_t n = readlink(host, target, sizeof target - 1);
		if (n <= 0)
			continue;	/* not a merged-/usr link here */
		target[n] = 0;
		snprintf(p, sizeof p, "%s/%s", root, links[i]);
		if (symlink(target, p) < 0 && errno != EEXIST)
			jail_panic("fcm test double: unable to link %s: %s", p, ioerr(errno));
	}
	snprintf(p, sizeof p, "%s/tmp", root);
	if ((mkdir(p, 01777) < 0 && errno != EEXIST) || chmod(p, 01777) < 0)
		jail_panic("fcm test double: unable to make %s: %s", p, ioerr(errno));
}

/* The double's other addition: a procfs at /proc in the jail (of the VMM's
 * PID namespace with --new-pid-ns), for the double's runtime (a sanitized
 * build reads /proc/self/maps); made in the VMM's process, still root. */
static void double_proc(void)
{
	if ((mkdir("/proc", 0555) < 0 && errno != EEXIST) ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		jail_panic("fcm test double: unable to mount /proc in the jail: %s", ioerr(errno));
}

static void do_chroot(const char *root)
{
	if (unshare(CLONE_NEWNS) < 0)
		jail_panic("Failed to unshare into new mount namespace: %s", ioerr(errno));
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		jail_panic("Failed to change the propagation type to slave: %s", ioerr(errno));
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
		jail_panic("Failed to bind mount the jail root directory: %s", ioerr(errno));
	double_runtime(root);
	if (chdir(root) < 0)
		jail_panic("Failed to change current directory: %s", ioerr(errno));
	if (mkdir("old_root", S_IRUSR | S_IWUSR) < 0)
		jail_panic("Failed to create the jail root directory before pivoting root: %s", ioerr(errno));
	if (syscall(SYS_pivot_root, ".", "old_root") < 0)
		jail_panic("Failed to pivot root: %s", ioerr(errno));
	if (chdir("/") < 0)
		jail_panic("Failed to chdir into chroot directory: %s", ioerr(errno));
	if (umount2("old_root", MNT_DETACH) < 0)
		jail_panic("Failed to unmount the old jail root: %s", ioerr(errno));
	if (rmdir("old_root") < 0)
		jail_panic("Failed to remove old jail root directory: %s", ioerr(errno));
}

static uint32_t uid, gid;

static void jailed_folder(const char *f)
{
	if (mkdir_p(f, 0755) < 0)
		jail_panic("Failed to create directory %s: %s", f, ioerr(errno));
	if (chmod(f, 0700) < 0)
		jail_panic("Failed to change permissions on \"%s\": %s", f, ioerr(errno));
	if (chown(f, uid, gid) < 0)
		jail_panic("Failed to change owner for \"%s\": %s", f, ioerr(errno));
}

static int mknod_own(const char *path, unsigned maj, unsigned min)
{
	if (mknod(path, S_IFCHR | S_IRUSR | S_IWUSR, makedev(maj, min)) < 0) {
		int e = errno;
		errno = e;
		return -1;
	}
	if (chown(path, uid, gid) < 0)
		jail_panic("Failed to change owner for \"%s\": %s", path, ioerr(errno));
	return 0;
}

static int uffd_minor(void)
{
	FILE *f = fopen("/proc/misc", "r");
	char name[128];
	int minor, r = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%d %127s", &minor, name) == 2)
		if (!strcmp(name, "userfaultfd"))
			r = minor;
	fclose(f);
	return r;
}

int main(int argc, char **argv)
{
	uint64_t start_us = now_us(CLOCK_MONOTONIC), start_cpu_us = now_us(CLOCK_PROCESS_CPUTIME_ID);
	int help = 0, version = 0, extra, i;
	char exec_path[PATH_MAX], chroot_dir[PATH_MAX + 200], exec_in_jail[PATH_MAX + 300];
	const char *exec_name, *id, *parent;
	char base[PATH_MAX];
	struct stat st;

	/* sanitize_process: close every fd but 0, 1, 2; clear the environment */
	if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
		for (int fd = 3; fd < 65536; fd++)
			close(fd);
	clearenv();

	extra = parse(argc, argv, &help, &version);
	if (help) {
		print_help();
		return 0;
	}
	if (version) {
		printf("Jailer v%s\n\n", JAILER_VERSION);
		return 0;
	}

	/* Env::new */
	id = value_of("id");
	validate_id(id);
	const char *exec_file = value_of("exec-file");
	if (!realpath(exec_file, exec_path))
		jail_panic("Failed to canonicalize path %s: %s", exec_file, ioerr(errno));
	if (stat(exec_path, &st) < 0 || !S_ISREG(st.st_mode))
		jail_panic("%s is not a file", exec_path);
	exec_name = strrchr(exec_path, '/') + 1;
	if (!strstr(exec_name, "firecracker"))
		jail_panic("Invalid filename. The filename of `--exec-file` option must contain \"firecracker\": %s", exec_name);
	const char *chroot_base = value_of("chroot-base-dir");
	if (!realpath(chroot_base, base))
		jail_panic("Failed to canonicalize path %s: %s", chroot_base, ioerr(errno));
	if (stat(base, &st) < 0 || !S_ISDIR(st.st_mode))
		jail_panic("%s is not a directory", base);
	snprintf(chroot_dir, sizeof chroot_dir, "%s/%s/%s/root", strcmp(base, "/") ? base : "", exec_name, id);
	if (parse_u32(value_of("uid"), &uid) < 0)
		jail_panic("Invalid uid: %s", value_of("uid"));
	if (parse_u32(value_of("gid"), &gid) < 0)
		jail_panic("Invalid gid: %s", value_of("gid"));
	const char *netns = value_of("netns");
	int daemonize = arg_find("daemonize")->given, new_pid_ns = arg_find("new-pid-ns")->given;
	parent = value_of("parent-cgroup") ? value_of("parent-cgroup") : exec_name;
	if (bad_components(parent))
		jail_panic("Parent cgroup path is invalid. Path should not be absolute or contain '..' or '.'");
	const char *ver_s = value_of("cgroup-version");
	uint32_t ver32;
	if (parse_u32(ver_s, &ver32) < 0 || ver32 > 255)
		jail_panic("%s is an invalid cgroup version specifier", ver_s);
	int ver = (int)ver32;
	struct arg *cga = arg_find("cgroup");
	if (!cga->nvalues && ver == 2) {
		cgroup_builder(2);
		if (!unified[0])
			jail_panic("Hierarchy not found: cgroupsv2 hierarchy missing");
		char procs[PATH_MAX * 2], pid[32];
		snprintf(procs, sizeof procs, "%s/%s", unified, parent);
		if (stat(procs, &st) == 0) {
			strcat(procs, "/cgroup.procs");
			snprintf(pid, sizeof pid, "%ld", (long)getpid());
			int fd = open(procs, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, pid, strlen(pid)) < 0)
				jail_panic("Failed to write to cgroups file: %s", ioerr(errno));
			close(fd);
		}
	}
	if (cga->nvalues) {
		cgroup_builder(ver);
		for (i = 0; i < cga->nvalues; i++) {
			const char *cg = cga->values[i], *eq = strchr(cg, '=');
			char file[256];
			if (!eq || strchr(eq + 1, '=') || !eq[1])
				jail_panic("Invalid format for cgroups: %s", cg);
			snprintf(file, sizeof file, "%.*s", (int)(eq - cg), cg);
			if (bad_components(file))
				jail_panic("Cgroup invalid file: %s", cg);
			new_cgroup(ver, file, eq + 1, id, parent);
		}
	}
	uint64_t fsize = 0, nofile = 2048;
	int has_fsize = 0;
	struct arg *rla = arg_find("resource-limit");
	for (i = 0; i < rla->nvalues; i++) {
		const char *r = rla->values[i], *eq = strchr(r, '='), *why;
		uint64_t v;
		if (!eq)
			jail_panic("Invalid format for resources limits: %s", r);
		if (parse_u64(eq + 1, &v, &why) < 0)
			jail_panic("Invalid limit value for resource: %s: %s", eq + 1, why);
		if (!strncmp(r, "fsize", (size_t)(eq - r)) && eq - r == 5) {
			fsize = v;
			has_fsize = 1;
		} else if (!strncmp(r, "no-file", (size_t)(eq - r)) && eq - r == 7)
			nofile = v;
		else
			jail_panic("Invalid resource argument: %.*s", (int)(eq - r), r);
	}
	int uffd = uffd_minor();

	/* main: create the chroot dir */
	if (mkdir_p(chroot_dir, 0755) < 0)
		jail_panic("Failed to create directory %s: %s", chroot_dir, ioerr(errno));

	/* Env::run */
	snprintf(exec_in_jail, sizeof exec_in_jail, "%s/%s", chroot_dir, exec_name);
	copy_file(exec_path, exec_in_jail);
	if (netns) {
		int fd = open(netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			jail_panic("Failed to open file %s: %s", netns, ioerr(errno));
		if (setns(fd, CLONE_NEWNET) < 0)
			jail_panic("Failed to join network namespace: netns: %s", ioerr(errno));
		close(fd);
	}
	if (has_fsize) {
		struct rlimit rl = { fsize, fsize };
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			jail_panic("Failed to set limit for resource: size of file");
	}
	{
		struct rlimit rl = { nofile, nofile };
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			jail_panic("Failed to set limit for resource: number of file descriptors");
	}
	for (i = 0; i < ncgs; i++)
		cgroup_write(&cgs[i]);
	for (i = 0; i < ncgs; i++)
		cgroup_attach(&cgs[i]);
	int devnull = -1;
	if (daemonize && (devnull = open("/dev/null", O_RDONLY)) < 0)
		jail_panic("Failed to open /dev/null: %s", ioerr(errno));
	do_chroot(chroot_dir);
	jailed_folder("/");
	jailed_folder("/dev");
	jailed_folder("/dev/net");
	jailed_folder("/run");
	if (mknod_own("/dev/net/tun", 10, 200) < 0)
		jail_panic("Failed to create /dev/net/tun via mknod inside the jail: %s", ioerr(errno));
	if (mknod_own("/dev/kvm", 10, 232) < 0)
		jail_panic("Failed to create /dev/kvm via mknod inside the jail: %s", ioerr(errno));
	if (mknod_own("/dev/urandom", 1, 9) < 0) {
		printf("Warning! Could not create /dev/urandom device inside jailer: Failed to create /dev/urandom via mknod inside the jail: %s.\n", ioerr(errno));
		printf("MMDS version 2 will not be available to use.\n");
	}
	if (uffd >= 0 && mknod_own("/dev/userfaultfd", 10, (unsigned)uffd) < 0)
		jail_panic("Failed to create /dev/userfaultfd via mknod inside the jail: %s", ioerr(errno));
	if (devnull >= 0) {
		pid_t p = fork();
		if (p < 0)
			jail_panic("Failed to daemonize: %s", ioerr(errno));
		if (p) {
			fflush(NULL);	/* exit(0) of the Rust program */
			_exit(0);
		}
		if (setsid() < 0)
			jail_panic("Failed to daemonize: setsid: %s", ioerr(errno));
		p = fork();
		if (p < 0)
			jail_panic("Failed to daemonize: %s", ioerr(errno));
		if (p) {
			fflush(NULL);	/* exit(0) of the Rust program */
			_exit(0);
		}
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
	}
	uint64_t cpu_us = now_us(CLOCK_PROCESS_CPUTIME_ID) - start_cpu_us;

	/* the exec: /<exec_name> --id ID --start-time-us ... [extra] */
	char jexec[PATH_MAX], pidfile[PATH_MAX + 8], s_start[32], s_cpu[32], s_parent[32];
	snprintf(jexec, sizeof jexec, "/%s", exec_name);
	snprintf(pidfile, sizeof pidfile, "%s.pid", jexec);
	snprintf(s_start, sizeof s_start, "%llu", (unsigned long long)start_us);
	snprintf(s_cpu, sizeof s_cpu, "%d", 0);
	snprintf(s_parent, sizeof s_parent, "%llu", (unsigned long long)cpu_us);
	int nextra = argc - extra - (extra < argc ? 1 : 0);
	char **xargv = calloc((size_t)nextra + 10, sizeof *xargv);
	int k = 0;
	xargv[k++] = jexec;
	xargv[k++] = "--id";
	xargv[k++] = (char *)id;
	xargv[k++] = "--start-time-us";
	xargv[k++] = s_start;
	xargv[k++] = "--start-time-cpu-us";
	xargv[k++] = s_cpu;
	xargv[k++] = "--parent-cpu-time-us";
	xargv[k++] = s_parent;
	for (i = extra + 1; i < argc; i++)
		xargv[k++] = argv[i];
	xargv[k] = NULL;

	pid_t child = 0;
	if (new_pid_ns) {
		child = (pid_t)syscall(SYS_clone, CLONE_NEWPID, NULL, NULL, NULL, 0);
		if (child < 0)
			jail_panic("Failed cloning into a new child process: %s", ioerr(errno));
	} else
		child = getpid();
	if (child > 0 || !new_pid_ns) {
		int fd = open(pidfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		char pid[32];
		int n = snprintf(pid, sizeof pid, "%ld", (long)child);
		if (fd < 0)
			jail_panic("Failed to open file %s: %s", pidfile, ioerr(errno));
		if (write(fd, pid, (size_t)n) != n)
			jail_panic("Failed to write to %s: %s", pidfile, ioerr(errno));
		close(fd);
		if (new_pid_ns) {
			/* libc::exit(0) in the Rust program: stdio flushed, nothing else to do */
			fflush(NULL);
			_exit(0);
		}
	}
	double_proc();
	/* Command::uid/gid: setgroups(0) as root, setgid, setuid, exec */
	if (getuid() == 0 && setgroups(0, NULL) < 0)
		jail_panic("Failed to exec into Firecracker: %s", ioerr(errno));
	if (setgid(gid) < 0 || setuid(uid) < 0)
		jail_panic("Failed to exec into Firecracker: %s", ioerr(errno));
	execv(jexec, xargv);
	jail_panic("Failed to exec into Firecracker: %s", ioerr(errno));
}

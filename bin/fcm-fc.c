/* fcm-fc — the Firecracker driver.
 *
 *   fcm-fc run ID            (a VM's s6 run script) render the Firecracker
 *                            configuration and run Firecracker in the foreground
 *   fcm-fc finish ID CODE SIG  (a VM's s6 finish script) count crashes, back off,
 *                            give up after repeated fast crashes
 *   fcm-fc OP key=value...   JSON-lines operations: render, state, pause,
 *                            resume, ctrl-alt-del (doc/fcm-fc.md)
 *
 * Why `run` is not a pure chain-load into Firecracker: s6 stops a service
 * with a signal, and Firecracker stops a guest gracefully only through its
 * API (SendCtrlAltDel).  So fcm-fc stays as a thin parent: it turns SIGTERM
 * into SendCtrlAltDel, waits (bounded), then kills; it also tells s6 when the
 * guest is ready (its sshd answers), through s6's notification-fd.
 *
 * The VM's serial console is held by fcm-tty when installed: Firecracker's
 * stdin/stdout are a pty served on vms/<id>/console.sock (`fcm console
 * --serial`), and copied to the service's log. */
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/atomic.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/name.h"
#include "core/paths.h"
#include "core/rmtree.h"
#include "core/run.h"
#include "core/lock.h"
#include "vm/guestkey.h"
#include "vm/jail.h"
#include "vm/snapshot.h"
#include "vm/svc.h"
#include "vm/image.h"
#include "vm/vm.h"
#include "vm/vmm.h"

static const char usage[] =
    "fcm-fc run ID | fcm-fc finish ID CODE SIGNAL | fcm-fc OP id=ID (ops: render, state, pause, resume, ctrl-alt-del, release)";

#define CRASH_WINDOW 60		/* seconds */
#define CRASH_LIMIT 5		/* crashes within the window before giving up */

static jv load_vm(const char *id)
{
	jv rec;

	if (fcm_id_check(id) < 0)
		fcm_die(FCM_E_USAGE, "'%.64s' is not a VM id (8 characters of a-z and 0-9)", id);
	rec = fcm_vm_load(id);
	if (!jv_is_valid(rec)) {
		jv msg = jv_invalid_get_msg(rec);
		fcm_die(FCM_E_USAGE, "no VM with id %s: %s", id,
		    jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "no record");
	}
	return rec;
}

static long get_long(jv rec, const char *key, long dflt)
{
	jv v = jv_object_get(jv_copy(rec), jv_string(key));
	long r = jv_get_kind(v) == JV_KIND_NUMBER ? (long)jv_number_value(v) : dflt;

	jv_free(v);
	return r;
}

static const char *need_str(jv rec, const char *key)
{
	const char *s = fcm_get_str(rec, key);

	if (!s || !*s)
		fcm_die(FCM_E_USAGE, "the VM record has no '%s': recreate the VM", key);
	return s;
}

/* --- the Firecracker configuration (only fields documented in the v1.7
 * API: boot-source, drives, machine-config, network-interfaces) --------- */

/* The files a VM's Firecracker opens: on the host, and as its config names
 * them (the same, or their names inside the jail's root).  An image that
 * boots without an initramfs has none: files[F_INITRD] is NULL. */
enum { F_KERNEL, F_INITRD, F_ROOTFS, F_DISK, F_N };
static const char *const jail_name[F_N] = { "/vmlinux", "/initramfs.cpio.gz", "/rootfs.ext4", "/disk.img" };

/* The VM's files, and in *b how its image boots; -1 with err when the
 * image's manifest cannot be read. */
static int host_files(jv rec, char *files[F_N], struct fcm_image_boot *b, char *err, size_t errlen)
{
	const char *id = need_str(rec, "id"), *image = need_str(rec, "image");

	memset(files, 0, F_N * sizeof *files);
	if (fcm_image_boot(image, b, err, errlen) < 0)
		return -1;
	files[F_KERNEL] = fcm_path("images/%s/vmlinux", image);
	files[F_INITRD] = b->initramfs ? fcm_path("images/%s/%s", image, FCM_IMAGE_INITRD) : NULL;
	files[F_ROOTFS] = fcm_path("images/%s/rootfs.ext4", image);
	files[F_DISK] = fcm_path("vms/%s/disk.img", id);
	return 0;
}

static void free_files(char *files[F_N])
{
	for (int i = 0; i < F_N; i++)
		free(files[i]);
}

/* Firecracker's RateLimiter: token buckets refilled every second. */
static jv rate_limiter(long bytes_per_s, long ops_per_s)
{
	jv rl = jv_object();

	if (bytes_per_s > 0)
		rl = jv_object_set(rl, jv_string("bandwidth"), jv_object_set(jv_object_set(jv_object(),
		    jv_string("size"), jv_number((double)bytes_per_s)),
		    jv_string("refill_time"), jv_number(1000)));
	if (ops_per_s > 0)
		rl = jv_object_set(rl, jv_string("ops"), jv_object_set(jv_object_set(jv_object(),
		    jv_string("size"), jv_number((double)ops_per_s)),
		    jv_string("refill_time"), jv_number(1000)));
	return rl;
}

static jv render(jv rec, int jailed, char *err, size_t errlen)
{
	const char *name = need_str(rec, "name");
	const char *ip = need_str(rec, "ip");
	const char *gw = need_str(rec, "gateway"), *mask = need_str(rec, "netmask");
	const char *mac = need_str(rec, "mac"), *tap = need_str(rec, "tap");
	char *files[F_N], *args = NULL;
	const char *path[F_N] = { NULL };
	struct fcm_image_boot b;
	long disk_rate = get_long(rec, "disk_rate", FCM_DEFAULT_DISK_RATE);
	long disk_iops = get_long(rec, "disk_iops", FCM_DEFAULT_DISK_IOPS);
	long net_rate = get_long(rec, "net_rate", FCM_DEFAULT_NET_RATE);
	long net_pps = get_long(rec, "net_pps", FCM_DEFAULT_NET_PPS);
	jv cfg = jv_invalid();

	if (host_files(rec, files, &b, err, errlen) < 0)
		goto out;
	for (int i = 0; i < F_N; i++) {
		if (!files[i])
			continue;
		path[i] = jailed ? jail_name[i] : files[i];
		if (access(files[i], R_OK) < 0) {
			snprintf(err, errlen, "unable to use %s: %s%s", files[i], strerror(errno),
			    i < F_DISK ? " (is the image installed? see 'make image')" : "");
			goto out;
		}
	}
	args = fcm_asprintf("console=ttyS0 reboot=k panic=1%s%s ip=%s::%s:%s:%s:eth0:off",
	    *b.args ? " " : "", b.args, ip, gw, mask, name);
	jv src = jv_object_set(jv_object(), jv_string("kernel_image_path"), jv_string(path[F_KERNEL]));
	if (path[F_INITRD])
		src = jv_object_set(src, jv_string("initrd_path"), jv_string(path[F_INITRD]));
	src = jv_object_set(src, jv_string("boot_args"), jv_string(args));
	cfg = jv_object_set(jv_object(), jv_string("boot-source"), src);
	/* The base image first (vda, read-only and shared), then the VM's own
	 * disk: the guest makes an overlay of the two as / (doc/guest.md).  An
	 * image without an initramfs has the base as Firecracker's root device
	 * (Firecracker then appends "root=/dev/vda ro"). */
	jv base = jv_object();
	base = jv_object_set(base, jv_string("drive_id"), jv_string("base"));
	base = jv_object_set(base, jv_string("path_on_host"), jv_string(path[F_ROOTFS]));
	base = jv_object_set(base, jv_string("is_root_device"), jv_bool(!b.initramfs));
	base = jv_object_set(base, jv_string("is_read_only"), jv_true());
	base = jv_object_set(base, jv_string("rate_limiter"), rate_limiter(disk_rate * 1048576L, disk_iops));
	jv own = jv_object();
	own = jv_object_set(own, jv_string("drive_id"), jv_string("disk"));
	own = jv_object_set(own, jv_string("path_on_host"), jv_string(path[F_DISK]));
	own = jv_object_set(own, jv_string("is_root_device"), jv_false());
	own = jv_object_set(own, jv_string("is_read_only"), jv_false());
	own = jv_object_set(own, jv_string("rate_limiter"), rate_limiter(disk_rate * 1048576L, disk_iops));
	cfg = jv_object_set(cfg, jv_string("drives"), JV_ARRAY(base, own));
	cfg = jv_object_set(cfg, jv_string("machine-config"),
	    jv_object_set(jv_object_set(jv_object_set(jv_object(),
	    jv_string("vcpu_count"), jv_number((double)get_long(rec, "cpus", 1))),
	    jv_string("mem_size_mib"), jv_number((double)get_long(rec, "memory", 1024))),
	    jv_string("smt"), jv_false()));
	jv nic = jv_object();
	nic = jv_object_set(nic, jv_string("iface_id"), jv_string("eth0"));
	nic = jv_object_set(nic, jv_string("guest_mac"), jv_string(mac));
	nic = jv_object_set(nic, jv_string("host_dev_name"), jv_string(tap));
	nic = jv_object_set(nic, jv_string("rx_rate_limiter"), rate_limiter(net_rate * 125000L, net_pps));
	nic = jv_object_set(nic, jv_string("tx_rate_limiter"), rate_limiter(net_rate * 125000L, net_pps));
	cfg = jv_object_set(cfg, jv_string("network-interfaces"), JV_ARRAY(nic));
out:
	free_files(files);
	free(args);
	return cfg;
}

/* vms/<id>/firecracker.json (the config as Firecracker reads it). */
static char *render_file(jv rec, int jailed, char *err, size_t errlen)
{
	jv cfg = render(rec, jailed, err, errlen);
	char *path;

	if (!jv_is_valid(cfg))
		return NULL;
	path = fcm_path("vms/%s/firecracker.json", fcm_get_str(rec, "id"));
	if (fcm_write_json_atomic(path, cfg, 0600) < 0) {
		snprintf(err, errlen, "unable to write %s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	return path;
}

/* --- the API socket, over libcurl ----------------------------------------- */

struct buf {
	char data[8192];
	size_t len;
};

static size_t collect(char *p, size_t sz, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t take = sz * n;

	if (take > sizeof b->data - 1 - b->len)
		take = sizeof b->data - 1 - b->len;
	memcpy(b->data + b->len, p, take);
	b->len += take;
	b->data[b->len] = '\0';
	return sz * n;
}

/* One API call, given timeout_ms; returns the HTTP status (0 on transport
 * failure, message in err) and the body in out.  libcurl is loaded by the
 * first call (lib/core/curl.c), not at the start: fcm-fc run is one process
 * per VM for the VM's whole life, and most never call its API (Firecracker
 * is configured by file), so they never map libcurl and the thirty
 * libraries it pulls in (doc/performance.md). */
static long api_timeout(const char *id, const char *method, const char *path, const char *body,
    struct buf *out, char *err, size_t errlen, long timeout_ms)
{
	char *sock = fcm_path("vms/%s/firecracker.socket", id);
	char *url = fcm_asprintf("http://localhost%s", path);
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	long status = 0;
	CURLcode rc;

	out->len = 0;
	out->data[0] = '\0';
	if (!c)
		fcm_die_nomem();
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json");
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(err, errlen, "unable to reach Firecracker's API at %s: %s (is the VM running?)",
		    sock, curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(url);
	free(sock);
	return status;
}

/* One API call that should take no time (5 s at most): as api_timeout. */
static long api(const char *id, const char *method, const char *path, const char *body,
    struct buf *out, char *err, size_t errlen)
{
	return api_timeout(id, method, path, body, out, err, errlen, 5000L);
}

/* Saving or loading a snapshot writes or reads the guest's memory: minutes
 * at most ($FCM_SNAPSHOT_TIMEOUT seconds, default 300). */
static long snapshot_timeout_ms(void)
{
	const char *e = getenv("FCM_SNAPSHOT_TIMEOUT");
	long s = e && *e ? strtol(e, NULL, 10) : 0;

	return (s > 0 ? s : 300) * 1000L;
}

/* A failed call's reason: Firecracker's fault_message when there is one. */
static const char *fault(struct buf *b)
{
	static char msg[512];
	jv v = jv_parse(b->data);
	const char *m = jv_is_valid(v) ? fcm_get_str(v, "fault_message") : NULL;

	snprintf(msg, sizeof msg, "%.400s", m ? m : (b->len ? b->data : "no reason given"));
	jv_free(v);
	return msg;
}

static int send_ctrl_alt_del(const char *id, char *err, size_t errlen)
{
	struct buf b;
	long st = api(id, "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}", &b, err, errlen);

	if (st == 0)
		return -1;
	if (st != 204) {
		snprintf(err, errlen, "Firecracker refused SendCtrlAltDel (HTTP %ld): %s", st, fault(&b));
		return -1;
	}
	return 0;
}

/* The VMM's pid, from its API socket: SO_PEERCRED names the process that
 * listens on it (Firecracker itself, in our PID namespace even when it runs
 * in one of its own), and a VMM that hangs still has its socket accept.
 * 0 when there is no socket (yet) or nothing listens. */
static pid_t vmm_pid(const char *id)
{
	char *path = fcm_path("vms/%s/firecracker.socket", id);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cr = { 0 };
	socklen_t len = sizeof cr;
	pid_t pid = 0;
	int fd;

	if (strlen(path) < sizeof sa.sun_path) {
		memcpy(sa.sun_path, path, strlen(path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
			    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.pid > 1)
				pid = cr.pid;
			close(fd);
		}
	}
	free(path);
	return pid;
}

/* Is the VM being destroyed (its record says so: fcm destroy marks it
 * before it stops the service)?  Then its VMM is killed, not shut down. */
static int destroying(const char *id)
{
	jv rec = fcm_vm_load(id);
	const char *state = jv_is_valid(rec) ? fcm_get_str(rec, "state") : NULL;
	int r = state && !strcmp(state, "destroying");

	jv_free(rec);
	return r;
}

/* TERM, INT, HUP, CHLD, USR1 and USR2 blocked and readable from the returned
 * signalfd (the set in *set): the one way fcm-fc's long-running modes hear
 * them. */
static int signals_fd(sigset_t *set)
{
	int fd;

	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGUSR1);	/* s6-svc -1: wake an idle-suspended VM */
	sigaddset(set, SIGUSR2);	/* s6-svc -2: the record's idle setting changed */
	sigprocmask(SIG_BLOCK, set, NULL);
	fd = signalfd(-1, set, SFD_CLOEXEC);
	if (fd < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to make a signalfd");
	return fd;
}

/* --- run -------------------------------------------------------------------- */

static char *find_firecracker(void)
{
	char why[512];
	char *fc = fcm_vmm_path(why, sizeof why);

	if (!fc)
		fcm_die(FCM_E_INTERNAL, "%s", why);
	return fc;
}

/* Set a field of VM id's record, consuming value (under the table lock:
 * others write it too). */
static void record_set(const char *id, const char *key, jv value)
{
	int lk = fcm_vm_table_lock();
	jv rec = fcm_vm_load(id);

	if (jv_is_valid(rec)) {
		if (fcm_vm_save(jv_object_set(rec, jv_string(key), value)) < 0)
			fcm_warn_sys("unable to write the VM record");
	} else {
		jv_free(rec);
		jv_free(value);
	}
	if (lk >= 0)
		fcm_unlock(lk);
}

/* The record's "confined": was the VMM jailed when it last started? */
static void record_confined(const char *id, int confined)
{
	record_set(id, "confined", jv_bool(confined));
}

/* The VMM's cgroup limits, as jailer arguments (v1 when the host has the
 * cpu and memory controllers there, else v2 when its unified hierarchy
 * offers them, else none).  CPU: its vCPUs' worth of each 100 ms period;
 * memory: its memory plus the VMM's own ($FCM_VMM_OVERHEAD_MIB, 128). */
static int cgroup_args(char **av, int n, jv rec)
{
	FILE *m = fopen("/proc/mounts", "re");
	char line[4096], unified[2048] = "";
	int v1cpu = 0, v1mem = 0;
	long cpus = get_long(rec, "cpus", 1), mem = get_long(rec, "memory", 1024), over = 128;
	const char *e = getenv("FCM_VMM_OVERHEAD_MIB");

	if (e && *e && strtol(e, NULL, 10) >= 0)
		over = strtol(e, NULL, 10);
	while (m && fgets(line, sizeof line, m)) {
		char src[512], dir[2048], type[64], opts[1024];
		if (sscanf(line, "%511s %2047s %63s %1023s", src, dir, type, opts) != 4)
			continue;
		if (!strcmp(type, "cgroup2") && !unified[0])
			snprintf(unified, sizeof unified, "%s", dir);
		if (strcmp(type, "cgroup"))
			continue;
		char *save = NULL;
		for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			v1cpu |= !strcmp(o, "cpu");
			v1mem |= !strcmp(o, "memory");
		}
	}
	if (m)
		fclose(m);
	long long bytes = (long long)(mem + over) * 1048576LL;
	if (v1cpu && v1mem) {
		av[n++] = fcm_strdup("--cgroup");
		av[n++] = fcm_strdup("cpu.cfs_period_us=100000");
		av[n++] = fcm_strdup("--cgroup");
		av[n++] = fcm_asprintf("cpu.cfs_quota_us=%ld", cpus * 100000);
		av[n++] = fcm_strdup("--cgroup");
		av[n++] = fcm_asprintf("memory.limit_in_bytes=%lld", bytes);
		return n;
	}
	if (unified[0]) {
		char *ctl = fcm_asprintf("%s/cgroup.controllers", unified);
		char *text = fcm_read_file(ctl, 4096, NULL);
		int ok = text && strstr(text, "cpu") && strstr(text, "memory");
		free(ctl);
		free(text);
		if (ok) {
			av[n++] = fcm_strdup("--cgroup-version");
			av[n++] = fcm_strdup("2");
			av[n++] = fcm_strdup("--cgroup");
			av[n++] = fcm_asprintf("cpu.max=%ld 100000", cpus * 100000);
			av[n++] = fcm_strdup("--cgroup");
			av[n++] = fcm_asprintf("memory.max=%lld", bytes);
			return n;
		}
	}
	fcm_warn("this host has no cgroup with the cpu and memory controllers: the VMM runs without CPU and memory limits");
	return n;
}

/* Put a file into the jail: a hard link (same filesystem), else a bind
 * mount, read-only unless rw — never a copy. */
static void jail_link(const char *from, const char *to, int rw)
{
	if (link(from, to) == 0)
		return;
	if (errno != EXDEV)
		fcm_die_sys(FCM_E_INTERNAL, "unable to link %s into the jail as %s", from, to);
	int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to make %s", to);
	close(fd);
	if (mount(from, to, NULL, MS_BIND, NULL) < 0 ||
	    (!rw && mount(NULL, to, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0))
		fcm_die_sys(FCM_E_INTERNAL, "unable to bind %s into the jail as %s", from, to);
}

static const char *const snap_files[] = { "vmstate", "memory" };

/* Link VM id's snapshot into its jail root as /snapshot/<file>, readable by
 * its uid alone (the files are used once, then removed). */
static void jail_snapshot_in(const char *id, const char *root, long uid)
{
	char *jdir = fcm_asprintf("%s/snapshot", root);

	if (mkdir(jdir, 0700) < 0 || chown(jdir, (uid_t)uid, (gid_t)uid) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to make %s", jdir);
	for (size_t i = 0; i < 2; i++) {
		char *from = fcm_snapshot_path(id, snap_files[i]);
		char *to = fcm_asprintf("%s/%s", jdir, snap_files[i]);
		if (chown(from, (uid_t)uid, (gid_t)uid) < 0 || chmod(from, 0400) < 0)
			fcm_die_sys(FCM_E_INTERNAL, "unable to give %s to uid %ld", from, uid);
		jail_link(from, to, 0);
		free(from);
		free(to);
	}
	free(jdir);
}

/* Make VM id's jail for the jailer: a clean <jail>/root holding the kernel,
 * initramfs and base image (root's, read-only to the VM), the VM's disk
 * (its uid's, 0600) and the config; the tap given to its uid.  Returns the
 * jailer's argv (malloc'd) and sets *pidfile, where the VMM's pid will be.
 * With restore, the VM's snapshot is linked in as /snapshot/{vmstate,memory}
 * (given to its uid, read-only) and Firecracker gets no --config-file: it
 * will load the snapshot instead (snapshot_load). */
static char **jail_prepare(jv rec, const char *jailer, const char *fc, char **pidfile, int restore)
{
	const char *id = fcm_get_str(rec, "id");
	char err[512], *files[F_N], *jail = fcm_jail_dir(id, fc), *root, *sock, *link_to, *cfgpath;
	char **av = fcm_malloc(64 * sizeof *av);
	long uid;
	int n = 0;
	struct stat st;

	if (fcm_jail_release(id, err, sizeof err) < 0)
		fcm_die(FCM_E_INTERNAL, "%s", err);
	if ((uid = fcm_jail_uid_claim(id, err, sizeof err)) < 0)
		fcm_die(FCM_E_INTERNAL, "%s", err);
	jv_free(rec);
	rec = load_vm(id);
	root = fcm_asprintf("%s/root", jail);
	if (fcm_mkdirs(root, 0755) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to make the jail %s", root);
	{
		struct fcm_image_boot b;
		if (host_files(rec, files, &b, err, sizeof err) < 0)
			fcm_die(FCM_E_INTERNAL, "%s", err);
	}
	for (int i = 0; i < F_N; i++) {
		if (!files[i])
			continue;
		char *to = fcm_asprintf("%s%s", root, jail_name[i]);
		jail_link(files[i], to, i == F_DISK);
		free(to);
	}
	/* The disk is the VM's alone; what it shares stays root's, read-only. */
	if (chown(files[F_DISK], (uid_t)uid, (gid_t)uid) < 0 || chmod(files[F_DISK], 0600) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to give %s to uid %ld", files[F_DISK], uid);
	if (stat(files[F_DISK], &st) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to read %s", files[F_DISK]);
	jv cfg = render(rec, 1, err, sizeof err);
	if (!jv_is_valid(cfg))
		fcm_die(FCM_E_INTERNAL, "%s", err);
	cfgpath = fcm_asprintf("%s/firecracker.json", root);
	if (fcm_write_json_atomic(cfgpath, jv_copy(cfg), 0600) < 0 ||
	    chown(cfgpath, (uid_t)uid, (gid_t)uid) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write %s", cfgpath);
	free(cfgpath);
	cfgpath = fcm_path("vms/%s/firecracker.json", id);
	if (fcm_write_json_atomic(cfgpath, cfg, 0600) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write %s", cfgpath);
	free(cfgpath);
	/* The API socket lives in the jail; vms/<id>/firecracker.socket points there. */
	sock = fcm_path("vms/%s/firecracker.socket", id);
	link_to = fcm_asprintf("%s/run/firecracker.socket", root);
	if ((unlink(sock) < 0 && errno != ENOENT) || symlink(link_to, sock) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to link %s to %s", sock, link_to);
	free(link_to);
	free(sock);
	/* Only its uid may attach to its tap. */
	jv treq = jv_object_set(jv_object_set(jv_object_set(jv_object_set(jv_object(),
	    jv_string("op"), jv_string("tap-add")), jv_string("id"), jv_string(id)),
	    jv_string("uid"), jv_number((double)uid)), jv_string("gid"), jv_number((double)uid));
	jv treply = fcm_call("net", treq);
	if (!fcm_reply_ok(treply))
		fcm_die(FCM_E_INTERNAL, "unable to give the tap to uid %ld: %s", uid, fcm_reply_error(treply));
	jv_free(treply);

	char *base = fcm_path("jailer");
	av[n++] = fcm_strdup(jailer);
	av[n++] = fcm_strdup("--id");
	av[n++] = fcm_strdup(id);
	av[n++] = fcm_strdup("--exec-file");
	av[n++] = fcm_strdup(fc);
	av[n++] = fcm_strdup("--uid");
	av[n++] = fcm_asprintf("%ld", uid);
	av[n++] = fcm_strdup("--gid");
	av[n++] = fcm_asprintf("%ld", uid);
	av[n++] = fcm_strdup("--chroot-base-dir");
	av[n++] = base;
	av[n++] = fcm_strdup("--new-pid-ns");
	av[n++] = fcm_strdup("--parent-cgroup");
	av[n++] = fcm_strdup(FCM_CGROUP_PARENT);
	n = cgroup_args(av, n, rec);
	/* No file bigger than its disk; Firecracker's own fd bound. */
	av[n++] = fcm_strdup("--resource-limit");
	av[n++] = fcm_asprintf("fsize=%lld", (long long)st.st_size);
	av[n++] = fcm_strdup("--resource-limit");
	av[n++] = fcm_strdup("no-file=2048");
	av[n++] = fcm_strdup("--");
	av[n++] = fcm_strdup("--api-sock");
	av[n++] = fcm_strdup("/run/firecracker.socket");
	if (restore)
		jail_snapshot_in(id, root, uid);
	else {
		av[n++] = fcm_strdup("--config-file");
		av[n++] = fcm_strdup("/firecracker.json");
	}
	av[n] = NULL;
	{
		char *real = realpath(fc, NULL);
		const char *name = real ? strrchr(real, '/') + 1 : "firecracker";
		*pidfile = fcm_asprintf("%s/%s.pid", root, name);
		free(real);
	}
	fcm_info("jail %s: uid and gid %ld", root, uid);
	free_files(files);
	free(root);
	free(jail);
	jv_free(rec);
	return av;
}

/* --- vmm: the jailed VMM's parent --------------------------------------------
 * With --new-pid-ns the jailer forks Firecracker into a new PID namespace
 * and exits; Firecracker would be nobody's child.  `fcm-fc vmm PIDFILE --
 * JAILER...` (what fcm-tty runs) is a child subreaper: Firecracker becomes
 * its child when the jailer exits, it waits for it and exits as it did, so
 * that fcm-tty, fcm-fc run and s6 see the VMM's life as if they ran it.
 * SIGTERM and SIGINT are passed on (Firecracker, init of its namespace,
 * ignores them unless it handles them: SIGKILL follows after 3 s); SIGHUP
 * (the console's holder is gone) kills it. */
static _Noreturn void cmd_vmm(const char *pidfile, char **argv)
{
	sigset_t set;
	int sfd;
	pid_t jailer, vmm = 0, gone[64];
	int gone_st[64], ngone = 0, jailer_done = 0;
	int64_t kill_at = 0;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to become a child subreaper");
	sfd = signals_fd(&set);
	struct fcm_child c = { .argv = argv };
	if (fcm_child_start(&c) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to run %s", argv[0]);
	jailer = c.pid;
	for (;;) {
		struct pollfd p = { sfd, POLLIN, 0 };
		int st;
		pid_t w;

		if (kill_at && fcm_now_ms() >= kill_at) {
			kill(vmm > 0 ? vmm : jailer, SIGKILL);
			kill_at = 0;
		}
		if (poll(&p, 1, 200) > 0) {
			struct signalfd_siginfo si;
			/* (USR1 and USR2 are s6's letters for fcm-fc run, not the VMM's.) */
			if (read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo != SIGCHLD &&
			    si.ssi_signo != SIGUSR1 && si.ssi_signo != SIGUSR2) {
				pid_t to = vmm > 0 ? vmm : jailer;
				if (si.ssi_signo == SIGHUP)
					kill(to, SIGKILL);
				else {
					kill(to, (int)si.ssi_signo);
					if (!kill_at)
						kill_at = fcm_now_ms() + 3000;
				}
			}
		}
		while ((w = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
			if (w == jailer) {
				jailer_done = 1;
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
					fcm_warn("the jailer failed (%s %d)", WIFEXITED(st) ? "exit" : "signal",
					    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
					exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
				}
				char *text = fcm_read_file(pidfile, 64, NULL);
				vmm = text ? (pid_t)strtol(text, NULL, 10) : 0;
				free(text);
				if (vmm <= 0)
					fcm_die(FCM_E_INTERNAL, "the jailer wrote no pid to %s", pidfile);
			} else if (ngone < 64) {
				gone[ngone] = w;
				gone_st[ngone++] = st;
			}
		}
		if (jailer_done && vmm > 0) {
			for (int i = 0; i < ngone; i++)
				if (gone[i] == vmm)
					exit(WIFEXITED(gone_st[i]) ? WEXITSTATUS(gone_st[i]) : 128 + WTERMSIG(gone_st[i]));
			ngone = 0;
			if (kill(vmm, 0) < 0 && errno == ESRCH)
				exit(111);	/* gone, and not our child: nothing to wait for */
		}
	}
}

/* Does the guest's sshd accept connections on ip:22?  (Only the handshake:
 * an emulated guest may take many seconds to send its banner.)  A signal
 * on sfd ends the wait: not ready yet, and the caller handles the signal.
 * (A destroy during a boot waited for the probe: 125 ms of a 250 ms one.) */
static int guest_ready(const char *ip, int sfd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(22) };
	struct pollfd p[2];
	int fd, ok = 0, soerr = 0;
	socklen_t len = sizeof soerr;

	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		ok = 1;
	else if (errno == EINPROGRESS) {
		/* At most 300 ms, but a signal (a stop, a destroy) ends the
		 * wait: the loop handles it at once, not after the probe. */
		p[0] = (struct pollfd){ .fd = fd, .events = POLLOUT };
		p[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		ok = poll(p, 2, 300) > 0 && (p[0].revents & POLLOUT) &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0;
	}
	close(fd);
	return ok;
}

/* --- snapshots (doc/snapshots.md) ------------------------------------------ */

/* The snapshot's files as Firecracker sees them: in its jail, or on the host. */
static char *snap_fc_path(const char *id, int jailed, const char *name)
{
	return jailed ? fcm_asprintf("/snapshot/%s", name) : fcm_snapshot_path(id, name);
}

/* Have the new VMM (started without a configuration) load VM id's snapshot
 * and resume it.  0, or -1 with err: the VMM is then unusable (Firecracker
 * exits after a failed load). */
static int snapshot_load(const char *id, int jailed, char *err, size_t errlen)
{
	struct buf b;
	long st = 0;

	/* Its API socket appears a moment after it starts. */
	for (int i = 0; i < 200 && st == 0; i++) {
		st = api(id, "GET", "/", NULL, &b, err, errlen);
		if (st == 0)
			usleep(50000);
	}
	if (st == 0)
		return -1;
	char *sp = snap_fc_path(id, jailed, "vmstate"), *mp = snap_fc_path(id, jailed, "memory");
	jv body = jv_object_set(jv_object_set(jv_object_set(jv_object(),
	    jv_string("snapshot_path"), jv_string(sp)),
	    jv_string("mem_backend"), jv_object_set(jv_object_set(jv_object(),
	        jv_string("backend_type"), jv_string("File")), jv_string("backend_path"), jv_string(mp))),
	    jv_string("resume_vm"), jv_true());
	jv text = jv_dump_string(body, 0);
	st = api_timeout(id, "PUT", "/snapshot/load", jv_string_value(text), &b, err, errlen,
	    snapshot_timeout_ms());
	jv_free(text);
	free(sp);
	free(mp);
	if (st == 0)
		return -1;
	if (st != 204) {
		snprintf(err, errlen, "Firecracker refused it (HTTP %ld): %s", st, fault(&b));
		return -1;
	}
	return 0;
}

/* Setting the resumed guest's clock to the host's (it stood still while the
 * VM was suspended), over ssh with the host's key into its guests and the
 * guest's own host key pinned (guestkey.h).  The guest says when it is
 * ready to read, then the host sends the time: the error is one trip from
 * host to guest, not the whole ssh handshake.  It runs beside the VM, from
 * run's loop, so that the VM answers as soon as it is loaded: an emulated
 * guest takes seconds over an ssh handshake. */
struct clockset {
	struct fcm_child c;
	int active, sent;
	int64_t deadline;
	size_t len;
	char line[256];
	char *key, *target, *pin[FCM_GUEST_SSH_NOPTS + 1];
};

static void clock_finish(struct clockset *cs, const char *why)
{
	close(cs->c.fd_in);
	close(cs->c.fd_out);
	if (why)
		kill(cs->c.pid, SIGKILL);
	int st = fcm_child_finish(&cs->c);
	if (why)
		fcm_warn("the guest's clock was not corrected: %s (ssh exited %d)", why, st);
	else
		fcm_info("guest clock set to the host's");
	fcm_guest_ssh_opts_free(cs->pin);
	free(cs->target);
	free(cs->key);
	cs->active = 0;
}

static void clock_start(struct clockset *cs, const char *id, const char *ip)
{
	char *argv[40] = {
		"ssh", "-T", "-F", "/dev/null", "-i", NULL,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20",
		"-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
	};
	size_t n = 0;

	memset(cs, 0, sizeof *cs);
	cs->key = fcm_guestkey_path();
	cs->target = fcm_asprintf("root@%s", ip);
	argv[5] = cs->key;
	while (argv[n])
		n++;
	fcm_guest_ssh_opts(id, cs->pin);
	for (size_t i = 0; cs->pin[i]; i++)
		argv[n++] = cs->pin[i];
	argv[n++] = cs->target;
	argv[n++] = "echo ready; read t && date -u -s \"@$t\" >/dev/null && echo set";
	argv[n] = NULL;
	cs->c = (struct fcm_child){ .argv = argv, .in = FCM_CHILD_PIPE, .out = FCM_CHILD_PIPE,
	    .err = FCM_CHILD_NULL };
	if (fcm_child_start(&cs->c) < 0) {
		fcm_warn("the guest's clock was not corrected: unable to run ssh: %s", strerror(errno));
		fcm_guest_ssh_opts_free(cs->pin);
		free(cs->target);
		free(cs->key);
		return;
	}
	cs->active = 1;
	cs->deadline = fcm_now_ms() + 60000;
}

/* ssh said something (cs->c.fd_out is readable). */
static void clock_step(struct clockset *cs)
{
	ssize_t r = read(cs->c.fd_out, cs->line + cs->len, sizeof cs->line - 1 - cs->len);

	if (r <= 0) {
		clock_finish(cs, cs->sent ? "the guest did not set it" : "ssh into the guest did not answer");
		return;
	}
	cs->len += (size_t)r;
	cs->line[cs->len] = '\0';
	if (!cs->sent && strstr(cs->line, "ready\n")) {
		struct timespec ts;
		char t[64];
		clock_gettime(CLOCK_REALTIME, &ts);
		int tl = snprintf(t, sizeof t, "%lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
		if (write(cs->c.fd_in, t, (size_t)tl) != tl) {
			clock_finish(cs, "unable to send the time");
			return;
		}
		cs->sent = 1;
	}
	if (cs->sent && strstr(cs->line, "set\n")) {
		clock_finish(cs, NULL);
		return;
	}
	if (cs->len >= sizeof cs->line - 1)
		cs->len = 0;
}

/* --- scale to zero (doc/snapshots.md) ------------------------------------- */

static jv op_snapshot(jv req);

/* The record's idle_suspend (seconds; 0: off), read afresh: at the start,
 * and when fcm idle, having changed it, sends SIGUSR2 (s6-svc -2). */
static long idle_setting(const char *id)
{
	jv rec = fcm_vm_load(id);
	long s = jv_is_valid(rec) ? get_long(rec, "idle_suspend", 0) : 0;

	jv_free(rec);
	return s;
}

/* Packets the host has sent to the VM (its tap's tx), or -1. */
static long long tap_tx_packets(const char *tap)
{
	char *p = fcm_asprintf("/sys/class/net/%s/statistics/tx_packets", tap);
	char *t = fcm_read_file(p, 64, NULL);
	long long n = t ? strtoll(t, NULL, 10) : -1;

	free(t);
	free(p);
	return n;
}

/* While the VM is suspended, hold its tap and wait for a frame meant for
 * it: IPv4 to its MAC, or an ARP request for its address (someone wants to
 * talk to it: Caddy with a request, ssh).  That frame is lost; TCP sends
 * its SYN again, by when the VM is back.  Returns what woke it; exits 0 on
 * SIGTERM (fcm stop, destroy: the snapshot is theirs to drop). */
static const char *wait_for_wake(jv rec, int sfd)
{
	const char *tap = need_str(rec, "tap"), *mac = need_str(rec, "mac"), *ip = need_str(rec, "ip");
	unsigned char m[6], a[4], f[2048];
	struct ifreq ifr = { 0 };
	int fd;

	if (sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6 ||
	    inet_pton(AF_INET, ip, a) != 1)
		fcm_die(FCM_E_INTERNAL, "the record's mac '%s' or ip '%s' is malformed", mac, ip);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", tap);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to attach to %s to wait for the VM's next packet", tap);
	for (;;) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { sfd, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si) {
				if (si.ssi_signo == SIGUSR1) {
					close(fd);
					return "fcm resume";
				}
				if (si.ssi_signo != SIGCHLD && si.ssi_signo != SIGUSR2) {
					fcm_info("stopping while suspended");
					exit(0);
				}
			}
		}
		if (!(p[0].revents & POLLIN))
			continue;
		ssize_t n = read(fd, f, sizeof f);
		if (n < 14)
			continue;
		int ipv4 = f[12] == 0x08 && f[13] == 0x00 && !memcmp(f, m, 6);
		int arp = n >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 1 && !memcmp(f + 38, a, 4);
		if (ipv4 || arp) {
			close(fd);
			return ipv4 ? "a packet to it" : "an ARP request for it";
		}
	}
}

/* Idle for `idle` seconds: snapshot the VM, stop its VMM, wait for a packet
 * to it, then run again (which loads the snapshot).  Returns only when the
 * snapshot failed (the VM runs on). */
static void idle_suspend(const char *id, pid_t child, int sfd, long idle)
{
	jv reply = op_snapshot(jv_object_set(jv_object_set(jv_object(), jv_string("op"),
	    jv_string("snapshot")), jv_string("id"), jv_string(id)));

	if (!fcm_reply_ok(reply)) {
		fcm_warn("idle for %ld s, but not suspended: %s", idle, fcm_reply_error(reply));
		jv_free(reply);
		return;
	}
	jv_free(reply);
	kill(-child, SIGKILL);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	record_set(id, "state", jv_string("suspended"));
	fcm_info("idle for %ld s: suspended (snapshot %lld MiB); the next packet to it wakes it", idle,
	    fcm_snapshot_bytes(id) / 1048576);
	jv rec = load_vm(id);
	const char *why = wait_for_wake(rec, sfd);
	fcm_info("woken by %s: resuming", why);
	jv_free(rec);
	record_set(id, "state", jv_string("running"));	/* so that run does not wait again */
	char *self = fcm_helper("fc");
	char *again[] = { self, "run", (char *)id, NULL };
	execv(self, again);
	fcm_die_sys(FCM_E_INTERNAL, "unable to run %s", self);
}

static _Noreturn void cmd_run(const char *id)
{
	jv rec = load_vm(id);
	char err[512];
	char *cfg, *sock, *console, *fc, *tty, *jailer, *self, *pidfile = NULL, **vmm_argv = NULL;
	const char *ip = fcm_get_str(rec, "ip");
	int notify = -1, sfd, stopping = 0, killed = 0, now_kill = 0;
	int64_t deadline = 0, next_probe = 0, next_cad = 0, next_idle = 0, last_active = fcm_now_ms();
	int64_t started = last_active;
	long long last_tx = -1;
	int api_failed = 0, restore;
	long idle;
	struct clockset clock = { .active = 0 };
	long stop_timeout = 30;
	const char *e = getenv("FCM_STOP_TIMEOUT");
	sigset_t set;
	pid_t child;

	/* s6 hands us the readiness pipe as fd 3 (notification-fd): taken
	 * before any descriptor is made, which would be 3 where there is none
	 * (run again after a wake-up, its readiness long reported). */
	if (fcntl(3, F_GETFD) >= 0) {
		notify = 3;
		fcntl(notify, F_SETFD, FD_CLOEXEC);
	}
	/* Then the signals: s6's letters (fcm idle's 2, fcm resume's 1) may
	 * come at any moment, and unheld they would end this process. */
	sfd = signals_fd(&set);
	fcm_set_instance(id);
	if (e && *e)
		stop_timeout = strtol(e, NULL, 10) > 0 ? strtol(e, NULL, 10) : 30;
	fc = find_firecracker();
	jailer = fcm_vmm_jailer(fc);
	sock = fcm_path("vms/%s/firecracker.socket", id);
	console = fcm_path("vms/%s/console.sock", id);
	if (unlink(sock) < 0 && errno != ENOENT)
		fcm_die_sys(FCM_E_INTERNAL, "unable to remove stale %s", sock);
	/* A suspended VM resumes from its snapshot (used once: removed once
	 * loaded; should it not load, the same disk boots cold). */
	restore = fcm_snapshot_exists(id);
	if (jailer) {
		vmm_argv = jail_prepare(jv_copy(rec), jailer, fc, &pidfile, restore);
		cfg = NULL;
	} else {
		fcm_warn("no jailer (FCM_JAILER, or jailer on PATH or beside %s): the VMM runs as root, unconfined", fc);
		cfg = render_file(rec, 0, err, sizeof err);
		if (!cfg)
			fcm_die(FCM_E_INTERNAL, "%s", err);
	}
	record_confined(id, jailer != NULL);

	/* Suspended when idle, and run again (daemon restart, host reboot):
	 * wait, as before, for a packet to it. */
	if (restore && fcm_get_str(rec, "state") && !strcmp(fcm_get_str(rec, "state"), "suspended") &&
	    idle_setting(id) > 0) {
		fcm_info("suspended when idle: the next packet to it wakes it");
		fcm_info("woken by %s: resuming", wait_for_wake(rec, sfd));
		record_set(id, "state", jv_string("running"));
	}

	/* Firecracker under fcm-tty (its serial console), or alone without
	 * one; in a process group of its own, so that a kill reaches both. */
	tty = fcm_helper("tty");
	self = fcm_helper("fc");
	char *argv[] = { tty, "serve", console, "--log", "--", fc, "--api-sock", sock, "--config-file", cfg, NULL };
	char *jargv[] = { tty, "serve", console, "--log", "--", self, "vmm", pidfile, "--", NULL };
	char **run_argv = argv;
	if (restore)
		argv[8] = NULL;	/* no --config-file: the snapshot holds the VM */
	if (jailer) {
		/* tty serve ... -- fcm-fc vmm PIDFILE -- jailer ... */
		int n = 0;
		while (vmm_argv[n])
			n++;
		run_argv = fcm_malloc(((size_t)n + 10) * sizeof *run_argv);
		memcpy(run_argv, jargv, 9 * sizeof *run_argv);
		memcpy(run_argv + 9, vmm_argv, ((size_t)n + 1) * sizeof *run_argv);
	}
	struct fcm_child vmm = { .argv = access(tty, X_OK) == 0 ? run_argv : run_argv + 5, .flags = FCM_CHILD_SETPGID };
	if (fcm_child_start(&vmm) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to run %s", vmm.argv[0]);
	child = vmm.pid;
	fcm_info("started %s%s (pid %ld), %ld vCPU, %ld MiB", fc, jailer ? " through the jailer" : ", unconfined",
	    (long)child, get_long(rec, "cpus", 1), get_long(rec, "memory", 1024));
	if (restore) {
		long t0 = fcm_now_ms();
		if (snapshot_load(id, jailer != NULL, err, sizeof err) < 0) {
			/* Firecracker gives up after a failed load: boot the same
			 * disk from scratch, by running again without the snapshot. */
			fcm_warn("the snapshot did not load (%s): removed; cold boot of the same disk", err);
			record_set(id, "resumed", jv_object_set(jv_object_set(jv_object(),
			    jv_string("from"), jv_string("cold boot")), jv_string("reason"),
			    jv_string(err)));
			if (fcm_snapshot_remove(id) < 0)
				fcm_die_sys(FCM_E_INTERNAL, "unable to remove the snapshot of VM %s", id);
			record_set(id, "state", jv_string("running"));
			kill(-child, SIGKILL);
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
			if (notify >= 0)
				fcntl(notify, F_SETFD, 0);
			char *again[] = { self, "run", (char *)id, NULL };
			execv(self, again);
			fcm_die_sys(FCM_E_INTERNAL, "unable to run %s", self);
		}
		long ms = fcm_now_ms() - t0;
		if (fcm_snapshot_remove(id) < 0)
			fcm_warn_sys("unable to remove the loaded snapshot of VM %s", id);
		if (jailer) {
			char *jail = fcm_jail_dir(id, fc);
			for (size_t i = 0; i < 2; i++) {
				char *f = fcm_asprintf("%s/root/snapshot/%s", jail, snap_files[i]);
				unlink(f);
				free(f);
			}
			free(jail);
		}
		fcm_info("resumed from the snapshot in %ld ms", ms);
		record_set(id, "resumed", jv_object_set(jv_object_set(jv_object(),
		    jv_string("from"), jv_string("snapshot")), jv_string("ms"), jv_number((double)ms)));
		record_set(id, "state", jv_string("running"));
		if (ip)
			clock_start(&clock, id, ip);
	}

	idle = idle_setting(id);
	/* The loop sleeps until the next thing due, or a signal: a VM that is
	 * ready and not set to sleep when idle wakes its fcm-fc for nothing
	 * (hundreds of VMs on a host: doc/performance.md). */
	for (;;) {
		struct pollfd p[2] = { { sfd, POLLIN, 0 }, { clock.active ? clock.c.fd_out : -1, POLLIN, 0 } };
		int64_t t = fcm_now_ms(), next = INT64_MAX;
		int timeout;

		if (clock.active && t >= clock.deadline)
			clock_finish(&clock, "no answer within 60 s");

		/* A Ctrl-Alt-Del can be lost (a guest still booting has no handler
		 * yet): repeat it every 5 s until the deadline. */
		if (stopping && !killed && !api_failed && t >= next_cad && t < deadline) {
			if (send_ctrl_alt_del(id, err, sizeof err) == 0)
				fcm_info("guest still up: Ctrl-Alt-Del again");
			next_cad = fcm_now_ms() + 5000;
		}
		if (stopping && t >= deadline && !killed) {
			pid_t pid = vmm_pid(id);
			if (now_kill)
				fcm_warn("Firecracker is still there: killing all of it");
			else
				fcm_warn("guest did not shut down within %ld s: killing Firecracker", stop_timeout);
			if (pid > 0)
				kill(pid, SIGKILL);
			kill(-child, SIGKILL);
			kill(child, SIGKILL);
			killed = 1;
		}
		/* Scale to zero: no packet to the VM for its idle_suspend. */
		if (!stopping && t >= next_idle) {
			long long tx = idle > 0 ? tap_tx_packets(fcm_get_str(rec, "tap") ? fcm_get_str(rec, "tap") : "") : -2;
			if (tx != last_tx || idle <= 0) {
				last_tx = tx;
				last_active = t;
			}
			if (idle > 0 && t - last_active >= idle * 1000) {
				idle_suspend(id, child, sfd, idle);
				last_active = fcm_now_ms();
			}
			next_idle = t + 2000;
		}
		if (notify >= 0 && !stopping && ip && t >= next_probe) {
			if (guest_ready(ip, sfd)) {
				if (write(notify, "\n", 1) < 0)
					fcm_warn_sys("unable to notify readiness");
				close(notify);
				notify = -1;
				fcm_info("guest is ready (sshd listens on %s:22)", ip);
			}
			/* Every half second; a guest that has not answered for
			 * a minute (a slow emulator, a broken image) every 2 s. */
			next_probe = fcm_now_ms() + (fcm_now_ms() - started < 60000 ? 500 : 2000);
		}
		if (clock.active && clock.deadline < next)
			next = clock.deadline;
		if (stopping && !killed) {
			if (deadline < next)
				next = deadline;
			if (!api_failed && next_cad < next)
				next = next_cad;
		}
		if (!stopping && idle > 0 && next_idle < next)
			next = next_idle;
		if (notify >= 0 && !stopping && ip && next_probe < next)
			next = next_probe;
		t = fcm_now_ms();
		timeout = next == INT64_MAX ? -1 : next <= t ? 0 : next - t > 60000 ? 60000 : (int)(next - t);
		if (poll(p, 2, timeout) <= 0)
			continue;
		if (clock.active && (p[1].revents & (POLLIN | POLLHUP)))
			clock_step(&clock);
		if (!(p[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof si) != sizeof si)
			continue;
		if (si.ssi_signo == SIGUSR1)
			continue;	/* a wake-up for a VM that is awake */
		if (si.ssi_signo == SIGUSR2) {	/* fcm idle changed the setting */
			long now = idle_setting(id);
			if (now != idle) {
				idle = now;
				next_idle = 0;	/* measured from now on */
			}
			continue;
		}
		if (si.ssi_signo == SIGCHLD) {
			int st;
			pid_t w = waitpid(child, &st, WNOHANG);
			if (w == child) {
				if (WIFEXITED(st)) {
					fcm_info("Firecracker exited with status %d", WEXITSTATUS(st));
					exit(stopping ? 0 : WEXITSTATUS(st));
				}
				fcm_info("Firecracker killed by signal %d", WTERMSIG(st));
				exit(stopping ? 0 : 128 + WTERMSIG(st));
			}
			continue;
		}
		/* Suspended (fcm suspend): the guest is paused and saved, its
		 * VMM only has to go. */
		if (!stopping && fcm_snapshot_exists(id)) {
			stopping = killed = 1;
			fcm_info("suspended: stopping the paused VMM");
			kill(-child, SIGKILL);
			kill(child, SIGKILL);
			continue;
		}
		/* SIGTERM (s6-svc -d), SIGINT, SIGHUP: shut the guest down; when
		 * the VM is being destroyed, kill its VMM at once (its disk is
		 * about to go): SIGKILL to Firecracker, found by its API socket,
		 * SIGTERM to the rest of the chain, and SIGKILL to all of it
		 * after FCM_KILL_TIMEOUT_MS (1000) should it not be gone. */
		if (!stopping && destroying(id)) {
			pid_t pid = vmm_pid(id);
			long grace = 1000;
			const char *k = getenv("FCM_KILL_TIMEOUT_MS");

			if (k && strtol(k, NULL, 10) > 0)
				grace = strtol(k, NULL, 10);
			stopping = now_kill = 1;
			api_failed = 1;	/* no Ctrl-Alt-Del */
			fcm_info("destroying: killing Firecracker%s", pid ? "" : " (no API socket: by its parent)");
			if (pid > 0)
				kill(pid, SIGKILL);
			kill(child, SIGTERM);
			deadline = fcm_now_ms() + grace;
		} else if (!stopping) {
			stopping = 1;
			deadline = fcm_now_ms() + stop_timeout * 1000;
			fcm_info("stopping: sending Ctrl-Alt-Del to the guest");
			next_cad = fcm_now_ms() + 5000;
			if (send_ctrl_alt_del(id, err, sizeof err) < 0) {
				fcm_warn("%s: terminating Firecracker", err);
				kill(child, SIGTERM);
				api_failed = 1;
				deadline = fcm_now_ms() + 5000;
			}
		}
	}
}

/* --- finish ----------------------------------------------------------------- */

static _Noreturn void cmd_finish(const char *id, const char *code, const char *sig)
{
	char *svc = fcm_vm_svcdir(id);
	char *crashes = fcm_path("vms/%s/crashes", id);
	char *sock = fcm_path("vms/%s/firecracker.socket", id);
	struct fcm_svc_status st;
	time_t now = time(NULL);
	long recent = 0;

	fcm_set_instance(id);
	if (fcm_id_check(id) < 0)
		fcm_die(FCM_E_USAGE, "'%.64s' is not a VM id", id);
	unlink(sock);
	/* The jail, its cgroups (the uid stays the VM's until it is destroyed). */
	char err[512];
	if (fcm_jail_release(id, err, sizeof err) < 0)
		fcm_warn("%s", err);
	/* Console sessions end with the VM. */
	char *console = fcm_helper("console");
	if (access(console, X_OK) == 0) {
		char *argv[] = { console, "--cleanup", (char *)id, NULL };
		fcm_run(argv);
	}
	free(console);
	if (fcm_svc_status(svc, &st) < 0 || !st.want_up) {
		unlink(crashes);	/* a wanted stop: the slate is clean */
		exit(0);
	}
	/* An unwanted death: remember it; give up after repeated fast crashes. */
	char *text = fcm_read_file(crashes, 65536, NULL);
	char *out = fcm_asprintf("%s", "");
	if (text) {
		char *save = NULL;
		for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			long t = strtol(l, NULL, 10);
			if (now - t < CRASH_WINDOW) {
				char *o = fcm_asprintf("%s%ld\n", out, t);
				free(out);
				out = o;
				recent++;
			}
		}
		free(text);
	}
	char *o = fcm_asprintf("%s%ld\n", out, (long)now);
	free(out);
	fcm_write_atomic(crashes, o, strlen(o), 0644);
	free(o);
	recent++;
	fcm_warn("VMM died (exit %s, signal %s): crash %ld in the last %d s", code ? code : "?",
	    sig ? sig : "?", recent, CRASH_WINDOW);
	if (recent >= CRASH_LIMIT) {
		jv rec = fcm_vm_load(id);
		fcm_warn("giving up after %ld crashes in %d s: the VM is marked failed; 'fcm logs' says why, 'fcm start' tries again",
		    recent, CRASH_WINDOW);
		if (jv_is_valid(rec))
			fcm_vm_save(jv_object_set(rec, jv_string("state"), jv_string("failed")));
		else
			jv_free(rec);
		char *down = fcm_asprintf("%s/down", svc);
		fcm_write_atomic(down, "", 0, 0644);
		free(down);
		fcm_svc_send(svc, "d");
		exit(0);
	}
	/* Back off: 0, 1, 2, 4 s (s6 adds its own second). */
	sleep(recent <= 1 ? 0 : 1u << (recent - 2 > 2 ? 2 : recent - 2));
	exit(0);
}

/* --- JSON operations --------------------------------------------------------- */

static const struct fcm_field id_only[] = {
	{ "op", JV_KIND_STRING, 1 },
	{ "id", JV_KIND_STRING, 1 },
	{ NULL, 0, 0 },
};

static jv req_vm(jv req, jv *rec)
{
	char err[256];
	const char *id;

	if (fcm_fields_check(req, id_only, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	id = fcm_get_str(req, "id");
	if (fcm_id_check(id) < 0)
		return fcm_fail(FCM_E_USAGE, "'%.64s' is not a VM id (8 characters of a-z and 0-9)", id);
	*rec = fcm_vm_load(id);
	if (!jv_is_valid(*rec)) {
		jv_free(*rec);
		return fcm_fail(FCM_E_USAGE, "no VM with id %s", id);
	}
	return jv_null();
}

static jv op_render(jv req)
{
	jv rec, r = req_vm(req, &rec);
	char err[512];
	char *path;

	if (jv_get_kind(r) != JV_KIND_NULL)
		return r;
	char why[512];
	char *fc = fcm_vmm_path(why, sizeof why), *jailer = fc ? fcm_vmm_jailer(fc) : NULL;
	path = render_file(rec, jailer != NULL, err, sizeof err);
	free(fc);
	free(jailer);
	jv_free(rec);
	if (!path)
		return fcm_fail(FCM_E_INTERNAL, "%s", err);
	r = jv_object_set(fcm_ok(), jv_string("config"), jv_string(path));
	free(path);
	return r;
}

static jv op_state(jv req)
{
	jv rec, r = req_vm(req, &rec);
	char err[512];
	struct buf b;
	long st;

	if (jv_get_kind(r) != JV_KIND_NULL)
		return r;
	st = api(fcm_get_str(rec, "id"), "GET", "/", NULL, &b, err, sizeof err);
	jv_free(rec);
	if (st == 0)
		return fcm_fail(FCM_E_INTERNAL, "%s", err);
	jv info = jv_parse(b.data);
	if (st != 200 || !jv_is_valid(info)) {
		jv_free(info);
		return fcm_fail(FCM_E_INTERNAL, "Firecracker answered HTTP %ld: %s", st, fault(&b));
	}
	return jv_object_set(fcm_ok(), jv_string("instance"), info);
}

static jv vm_patch(jv req, const char *state)
{
	jv rec, r = req_vm(req, &rec);
	char err[512], body[64];
	struct buf b;
	long st;

	if (jv_get_kind(r) != JV_KIND_NULL)
		return r;
	snprintf(body, sizeof body, "{\"state\":\"%s\"}", state);
	st = api(fcm_get_str(rec, "id"), "PATCH", "/vm", body, &b, err, sizeof err);
	jv_free(rec);
	if (st == 0)
		return fcm_fail(FCM_E_INTERNAL, "%s", err);
	if (st != 204)
		return fcm_fail(FCM_E_INTERNAL, "Firecracker refused to set the VM %s (HTTP %ld): %s",
		    state, st, fault(&b));
	return jv_object_set(fcm_ok(), jv_string("state"), jv_string(state));
}

static jv op_pause(jv req) { return vm_patch(req, "Paused"); }
static jv op_resume(jv req) { return vm_patch(req, "Resumed"); }

static jv op_cad(jv req)
{
	jv rec, r = req_vm(req, &rec);
	char err[512];
	int rc;

	if (jv_get_kind(r) != JV_KIND_NULL)
		return r;
	rc = send_ctrl_alt_del(fcm_get_str(rec, "id"), err, sizeof err);
	jv_free(rec);
	return rc < 0 ? fcm_fail(FCM_E_INTERNAL, "%s", err) : fcm_ok();
}

/* snapshot id=ID: pause the VM and have Firecracker write a full snapshot
 * (state and memory) into vms/<id>/snapshot/ -- through its jail when the
 * VMM is confined, then moved out, root's -- and info.json last.  The VMM
 * stays paused: the caller stops it (fcm suspend), and `run` resumes from
 * the snapshot next time.  On failure the VM is resumed and nothing stays. */
static jv op_snapshot(jv req)
{
	jv rec, r = req_vm(req, &rec);
	char err[512], why[512];
	struct buf b;
	long st;

	if (jv_get_kind(r) != JV_KIND_NULL)
		return r;
	const char *id = fcm_get_str(rec, "id");
	jv conf = jv_object_get(jv_copy(rec), jv_string("confined"));
	int jailed = jv_get_kind(conf) == JV_KIND_TRUE;
	jv_free(conf);
	char *dir = fcm_snapshot_path(id, NULL), *jdir = NULL;
	long long t0 = fcm_now_ms();

	if (fcm_snapshot_remove(id) < 0 || mkdir(dir, 0700) < 0) {
		r = fcm_fail(FCM_E_INTERNAL, "unable to make %s: %s", dir, strerror(errno));
		goto out;
	}
	if (jailed) {
		char *fc = fcm_vmm_path(why, sizeof why);
		long uid = get_long(rec, "uid", -1);
		if (!fc || uid < 0) {
			r = fcm_fail(FCM_E_INTERNAL, "VM %s is confined but %s", id, fc ? "has no uid" : why);
			free(fc);
			goto out;
		}
		char *jail = fcm_jail_dir(id, fc);
		jdir = fcm_asprintf("%s/root/snapshot", jail);
		free(jail);
		free(fc);
		fcm_rm_tree(jdir);
		if (mkdir(jdir, 0700) < 0 || chown(jdir, (uid_t)uid, (gid_t)uid) < 0) {
			r = fcm_fail(FCM_E_INTERNAL, "unable to make %s: %s", jdir, strerror(errno));
			goto out;
		}
	} else {
		/* Firecracker opens them with O_TRUNC: made first, 0600, they stay so. */
		for (size_t i = 0; i < 2; i++) {
			char *f = fcm_snapshot_path(id, snap_files[i]);
			int fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fd < 0) {
				r = fcm_fail(FCM_E_INTERNAL, "unable to make %s: %s", f, strerror(errno));
				free(f);
				goto out;
			}
			close(fd);
			free(f);
		}
	}
	st = api(id, "PATCH", "/vm", "{\"state\":\"Paused\"}", &b, err, sizeof err);
	if (st != 204) {
		r = st ? fcm_fail(FCM_E_INTERNAL, "Firecracker refused to pause the VM (HTTP %ld): %s", st, fault(&b))
		       : fcm_fail(FCM_E_UNAVAILABLE, "%s", err);
		goto out;
	}
	char *sp = snap_fc_path(id, jailed, "vmstate"), *mp = snap_fc_path(id, jailed, "memory");
	jv body = jv_object_set(jv_object_set(jv_object_set(jv_object(),
	    jv_string("snapshot_type"), jv_string("Full")),
	    jv_string("snapshot_path"), jv_string(sp)), jv_string("mem_file_path"), jv_string(mp));
	jv text = jv_dump_string(body, 0);
	st = api_timeout(id, "PUT", "/snapshot/create", jv_string_value(text), &b, err, sizeof err,
	    snapshot_timeout_ms());
	jv_free(text);
	free(sp);
	free(mp);
	if (st != 204) {
		r = st ? fcm_fail(FCM_E_INTERNAL, "Firecracker could not snapshot the VM (HTTP %ld): %s", st, fault(&b))
		       : fcm_fail(FCM_E_INTERNAL, "%s", err);
		struct buf b2;
		if (api(id, "PATCH", "/vm", "{\"state\":\"Resumed\"}", &b2, err, sizeof err) != 204)
			fcm_warn("unable to resume the VM after the failed snapshot");
		goto out;
	}
	if (jailed) {
		for (size_t i = 0; i < 2; i++) {
			char *from = fcm_asprintf("%s/%s", jdir, snap_files[i]);
			char *to = fcm_snapshot_path(id, snap_files[i]);
			int bad = rename(from, to) < 0 || chown(to, 0, 0) < 0 || chmod(to, 0600) < 0;
			if (bad)
				r = fcm_fail(FCM_E_INTERNAL, "unable to move %s out of the jail: %s", from, strerror(errno));
			free(from);
			free(to);
			if (bad)
				goto out;
		}
	}
	jv info = jv_object_set(jv_object_set(jv_object(),
	    jv_string("created_at"), jv_number((double)time(NULL))),
	    jv_string("ms"), jv_number((double)(fcm_now_ms() - t0)));
	if (api(id, "GET", "/version", NULL, &b, err, sizeof err) == 200) {
		jv v = jv_parse(b.data);
		const char *fv = jv_is_valid(v) ? fcm_get_str(v, "firecracker_version") : NULL;
		if (fv)
			info = jv_object_set(info, jv_string("firecracker"), jv_string(fv));
		jv_free(v);
	}
	char *ipath = fcm_snapshot_path(id, "info.json");
	int wr = fcm_write_json_atomic(ipath, jv_copy(info), 0600);
	free(ipath);
	if (wr < 0) {
		jv_free(info);
		r = fcm_fail(FCM_E_INTERNAL, "unable to write the snapshot's info.json: %s", strerror(errno));
		goto out;
	}
	r = jv_object_set(jv_object_set(fcm_ok(), jv_string("snapshot"), info),
	    jv_string("bytes"), jv_number((double)fcm_snapshot_bytes(id)));
out:
	if (jdir) {
		fcm_rm_tree(jdir);
		free(jdir);
	}
	if (!fcm_reply_ok(r))
		fcm_snapshot_remove(id);
	free(dir);
	jv_free(rec);
	return r;
}

/* Take the VM's jail and cgroups apart (destroy, and after a crash). */
static jv op_release(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "id", JV_KIND_STRING, 1 },
		{ NULL, 0, 0 },
	};
	char err[512];
	const char *id;

	if (fcm_fields_check(req, spec, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	id = fcm_get_str(req, "id");
	if (fcm_id_check(id) < 0)
		return fcm_fail(FCM_E_USAGE, "'%.64s' is not a VM id (8 characters of a-z and 0-9)", id);
	if (fcm_jail_release(id, err, sizeof err) < 0)
		return fcm_fail(FCM_E_INTERNAL, "%s", err);
	return fcm_ok();
}

static const struct fcm_op ops[] = {
	{ "release", op_release },
	{ "render", op_render },
	{ "state", op_state },
	{ "pause", op_pause },
	{ "resume", op_resume },
	{ "ctrl-alt-del", op_cad },
	{ "snapshot", op_snapshot },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	fcm_init(argv[0]);
	if (argc >= 2 && !strcmp(argv[1], "run")) {
		if (argc != 3)
			fcm_die_usage("fcm-fc run ID");
		cmd_run(argv[2]);
	}
	if (argc >= 2 && !strcmp(argv[1], "vmm")) {
		if (argc < 5 || strcmp(argv[3], "--"))
			fcm_die_usage("fcm-fc vmm PIDFILE -- JAILER [ARG...]");
		cmd_vmm(argv[2], argv + 4);
	}
	if (argc >= 2 && !strcmp(argv[1], "finish")) {
		/* s6-supervise passes the exit code, the signal, then (s6 2.11)
		 * the service's name and process group: only the first two matter. */
		if (argc < 3 || argc > 7)
			fcm_die_usage("fcm-fc finish ID [CODE [SIGNAL [NAME [PGID]]]]");
		cmd_finish(argv[2], argc > 3 ? argv[3] : NULL, argc > 4 ? argv[4] : NULL);
	}
	return fcm_serve(argc, argv, ops, usage);
}

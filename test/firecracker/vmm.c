/* vmm.c — the engine: boots the configured microVM under QEMU's microvm
 * machine and drives it over QMP (pause, resume, Ctrl-Alt-Del). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/run.h"
#include "fc.h"

#define DEFAULT_CMDLINE \
	"reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux " \
	"i8042.dumbkbd swiotlb=noforce"

struct argv {
	char **v;
	int n, cap;
};

static void av_add(struct argv *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->v = realloc(a->v, (size_t)a->cap * sizeof *a->v);
		if (!a->v)
			abort();
	}
	a->v[a->n++] = strdup(s);
	a->v[a->n] = NULL;
}

static void av_free(struct argv *a)
{
	for (int k = 0; k < a->n; k++)
		free(a->v[k]);
	free(a->v);
}

/* QEMU option values: a comma is written twice. */
static char *qesc(const char *s)
{
	size_t n = strlen(s), k = 0;
	char *r = malloc(2 * n + 1);
	for (size_t i = 0; i < n; i++) {
		r[k++] = s[i];
		if (s[i] == ',')
			r[k++] = ',';
	}
	r[k] = 0;
	return r;
}

/* QEMU ids must start with a letter; Firecracker's may start with a digit or '_'. */
static void qid(char *out, size_t len, const char *id)
{
	if ((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z'))
		snprintf(out, len, "%s", id);
	else
		snprintf(out, len, "fc_%s", id);
}

static const char *gstr(jv o, const char *k)
{
	jv v = jv_object_get(jv_copy(o), jv_string(k));
	const char *r = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;
	jv_free(v);
	return r;
}

static int gbool(jv o, const char *k)
{
	jv v = jv_object_get(jv_copy(o), jv_string(k));
	int r = jv_get_kind(v) == JV_KIND_TRUE;
	jv_free(v);
	return r;
}

/* A drive's rate_limiter as Firecracker enforces it, in QEMU's terms: each
 * token bucket (size per refill_time ms) becomes a steady rate
 * (throttling.bps-total, throttling.iops-total; see
 * doc/testing-firecracker.md). */
static void drive_throttle(char *buf, size_t len, jv d)
{
	static const char *const bucket[] = { "bandwidth", "ops" };
	static const char *const opt[] = { "bps-total", "iops-total" };
	jv rl = jv_object_get(jv_copy(d), jv_string("rate_limiter"));

	for (int i = 0; i < 2 && jv_get_kind(rl) == JV_KIND_OBJECT; i++) {
		jv b = jv_object_get(jv_copy(rl), jv_string(bucket[i]));
		if (jv_get_kind(b) == JV_KIND_OBJECT) {
			jv sz = jv_object_get(jv_copy(b), jv_string("size"));
			jv rt = jv_object_get(jv_copy(b), jv_string("refill_time"));
			double size = jv_get_kind(sz) == JV_KIND_NUMBER ? jv_number_value(sz) : 0;
			double ms = jv_get_kind(rt) == JV_KIND_NUMBER ? jv_number_value(rt) : 0;
			size_t l = strlen(buf);
			if (size > 0 && ms > 0)
				snprintf(buf + l, len - l, ",throttling.%s=%.0f", opt[i], size * 1000.0 / ms);
			jv_free(sz);
			jv_free(rt);
		}
		jv_free(b);
	}
	jv_free(rl);
}

static int build_argv(struct argv *a, char *err, size_t errlen)
{
	char buf[8192], id[300];
	const char *qemu = getenv("FCM_TEST_QEMU");
	const char *kvm = getenv("FCM_TEST_KVM");
	av_add(a, qemu && *qemu ? qemu : "qemu-system-x86_64");
	/* Device discovery as the emulated release offers it (version.c): from
	 * 1.8.0 the devices are in ACPI; before, only on the kernel command
	 * line.  Without ACPI, QEMU's microvm appends a virtio_mmio.device=
	 * entry per device itself (its auto-kernel-cmdline), in the order the
	 * devices are given (root drive, other drives, network), as Firecracker
	 * does -- at QEMU's addresses (512 bytes each from 0xfeb00000) where
	 * Firecracker's are 4K from 0xd0000000 (doc/testing-firecracker.md). */
	av_add(a, "-M");
	av_add(a, fc_has_acpi() ? "microvm,acpi=on" : "microvm,acpi=off,auto-kernel-cmdline=on");
	if (kvm && !strcmp(kvm, "1")) {
		av_add(a, "-accel");
		av_add(a, "kvm");
	}
	av_add(a, "-accel");
	av_add(a, "tcg,tb-size=32");
	/* Guest time follows executed instructions: on a loaded host a
	 * software-emulated guest otherwise livelocks on timer interrupts
	 * (seen here: boot stuck at TSC calibration with load > cores).
	 * QEMU refuses -icount with KVM, so not when KVM is asked for. */
	if (!(kvm && !strcmp(kvm, "1"))) {
		av_add(a, "-icount");
		av_add(a, "shift=auto");
	}
	av_add(a, "-cpu");
	av_add(a, "max");
	jv m = jv_object_get(jv_copy(VM.machine), jv_string("vcpu_count"));
	snprintf(buf, sizeof buf, "%.0f", jv_number_value(m));
	jv_free(m);
	av_add(a, "-smp");
	av_add(a, buf);
	m = jv_object_get(jv_copy(VM.machine), jv_string("mem_size_mib"));
	snprintf(buf, sizeof buf, "%.0fM", jv_number_value(m));
	jv_free(m);
	av_add(a, "-m");
	av_add(a, buf);
	av_add(a, "-nodefaults");
	av_add(a, "-no-user-config");
	av_add(a, "-display");
	av_add(a, "none");
	av_add(a, "-no-reboot");
	av_add(a, "-kernel");
	av_add(a, gstr(VM.boot_source, "kernel_image_path"));
	const char *initrd = gstr(VM.boot_source, "initrd_path");
	if (initrd) {
		av_add(a, "-initrd");
		av_add(a, initrd);
	}
	/* The kernel command line: boot_args (or Firecracker's default), then what
	 * Firecracker appends for a root block device. */
	const char *args = gstr(VM.boot_source, "boot_args");
	snprintf(buf, sizeof buf, "%s", args ? args : DEFAULT_CMDLINE);
	int nd = jv_array_length(jv_copy(VM.drives));
	if (nd > 0) {
		jv d = jv_array_get(jv_copy(VM.drives), 0);
		if (gbool(d, "is_root_device")) {
			const char *pu = gstr(d, "partuuid");
			size_t l = strlen(buf);
			if (pu)
				snprintf(buf + l, sizeof buf - l, "%sroot=PARTUUID=%s %s", l ? " " : "", pu,
				         gbool(d, "is_read_only") ? "ro" : "rw");
			else
				snprintf(buf + l, sizeof buf - l, "%sroot=/dev/vda %s", l ? " " : "",
				         gbool(d, "is_read_only") ? "ro" : "rw");
		}
		jv_free(d);
	}
	av_add(a, "-append");
	av_add(a, buf);
	for (int k = 0; k < nd; k++) {
		jv d = jv_array_get(jv_copy(VM.drives), k);
		if (gstr(d, "socket")) {
			snprintf(err, errlen, "vhost-user-block drives are not supported by the fcm test "
			         "double of Firecracker");
			jv_free(d);
			return -1;
		}
		qid(id, sizeof id, gstr(d, "drive_id"));
		char *file = qesc(gstr(d, "path_on_host"));
		snprintf(buf, sizeof buf, "id=%s,file=%s,format=raw,if=none%s", id, file,
		         gbool(d, "is_read_only") ? ",readonly=on" : "");
		free(file);
		drive_throttle(buf, sizeof buf, d);
		av_add(a, "-drive");
		av_add(a, buf);
		snprintf(buf, sizeof buf, "virtio-blk-device,drive=%s", id);
		av_add(a, "-device");
		av_add(a, buf);
		jv_free(d);
	}
	int nn = jv_array_length(jv_copy(VM.nets));
	for (int k = 0; k < nn; k++) {
		jv n = jv_array_get(jv_copy(VM.nets), k);
		qid(id, sizeof id, gstr(n, "iface_id"));
		char *ifn = qesc(gstr(n, "host_dev_name"));
		snprintf(buf, sizeof buf, "tap,id=%s,ifname=%s,script=no,downscript=no", id, ifn);
		free(ifn);
		av_add(a, "-netdev");
		av_add(a, buf);
		const char *mac = gstr(n, "guest_mac");
		if (mac)
			snprintf(buf, sizeof buf, "virtio-net-device,netdev=%s,mac=%s", id, mac);
		else
			snprintf(buf, sizeof buf, "virtio-net-device,netdev=%s", id);
		av_add(a, "-device");
		av_add(a, buf);
		jv_free(n);
	}
	if (jv_get_kind(VM.entropy) == JV_KIND_OBJECT) {
		av_add(a, "-object");
		av_add(a, "rng-random,id=fc_rng,filename=/dev/urandom");
		av_add(a, "-device");
		av_add(a, "virtio-rng-device,rng=fc_rng");
	}
	/* The serial console is our stdin/stdout, raw as with Firecracker: with
	 * signal=off a ^C typed on a terminal there reaches the guest instead of
	 * killing QEMU. */
	av_add(a, "-chardev");
	av_add(a, "stdio,id=fc_serial,signal=off");
	av_add(a, "-serial");
	av_add(a, "chardev:fc_serial");
	snprintf(buf, sizeof buf, "unix:%s/qmp.sock,server=on,wait=off", VM.rundir);
	av_add(a, "-qmp");
	av_add(a, buf);
	av_add(a, "-device");
	av_add(a, "i8042");
	/* A restore: QEMU waits for its state (migrate-incoming, vmm_restore). */
	if (VM.incoming) {
		av_add(a, "-incoming");
		av_add(a, "defer");
	}
	return 0;
}

/* ---- QMP ---- */

static char qbuf[65536];
static size_t qlen;

/* Reads one line (without '\n') from QMP within timeout_ms; 1 ok, 0 EOF/timeout, -1 error. */
static int qmp_line(char *out, size_t outlen, int timeout_ms)
{
	for (;;) {
		char *nl = memchr(qbuf, '\n', qlen);
		if (nl) {
			size_t l = (size_t)(nl - qbuf);
			size_t c = l < outlen - 1 ? l : outlen - 1;
			memcpy(out, qbuf, c);
			out[c] = 0;
			memmove(qbuf, nl + 1, qlen - l - 1);
			qlen -= l + 1;
			return 1;
		}
		if (qlen == sizeof qbuf)
			qlen = 0;  /* overlong line: drop it */
		struct pollfd p = {VM.qmp_fd, POLLIN, 0};
		int r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		ssize_t n = read(VM.qmp_fd, qbuf + qlen, sizeof qbuf - qlen);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return 0;
		qlen += (size_t)n;
	}
}

static void qmp_close(void)
{
	if (VM.qmp_fd >= 0)
		close(VM.qmp_fd);
	VM.qmp_fd = -1;
	qlen = 0;
}

/* Sends a command (with fd passed alongside when fd >= 0, SCM_RIGHTS) and
 * waits for its answer, skipping events on the way: its "return" value, or
 * an invalid jv with err set. */
static jv qmp_call(const char *json, int fd, char *err, size_t errlen)
{
	if (VM.qmp_fd < 0) {
		snprintf(err, errlen, "the QEMU monitor (QMP) is not connected");
		return jv_invalid();
	}
	size_t len = strlen(json);
	char *line = malloc(len + 2);
	if (!line)
		abort();
	memcpy(line, json, len);
	line[len] = '\n';
	struct iovec iov = { line, len + 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		memset(&u, 0, sizeof u);
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof u.buf;
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	}
	ssize_t w = sendmsg(VM.qmp_fd, &mh, MSG_NOSIGNAL);
	free(line);
	if (w != (ssize_t)(len + 1)) {
		snprintf(err, errlen, "QMP write: %s", strerror(errno));
		qmp_close();
		return jv_invalid();
	}
	char ans[8192];
	for (;;) {
		if (qmp_line(ans, sizeof ans, 10000) <= 0) {
			snprintf(err, errlen, "no answer from the QEMU monitor (QMP)");
			return jv_invalid();
		}
		jv v = jv_parse(ans);
		if (jv_get_kind(v) != JV_KIND_OBJECT) {
			jv_free(v);
			continue;
		}
		if (jv_object_has(jv_copy(v), jv_string("return")))
			return jv_object_get(v, jv_string("return"));
		if (jv_object_has(jv_copy(v), jv_string("error"))) {
			jv e = jv_object_get(jv_object_get(v, jv_string("error")), jv_string("desc"));
			snprintf(err, errlen, "QMP: %s",
			         jv_get_kind(e) == JV_KIND_STRING ? jv_string_value(e) : "error");
			jv_free(e);
			return jv_invalid();
		}
		jv_free(v);  /* an event */
	}
}

/* Sends a command and waits for its return; events on the way are skipped. */
static int qmp_exec(const char *json, char *err, size_t errlen)
{
	jv r = qmp_call(json, -1, err, errlen);
	int ok = jv_is_valid(r);
	jv_free(r);
	return ok ? 0 : -1;
}

static int qmp_connect(char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/qmp.sock", VM.rundir);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		snprintf(err, errlen, "connect %s: %s", sa.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	VM.qmp_fd = fd;
	qlen = 0;
	char line[8192];
	if (qmp_line(line, sizeof line, 10000) <= 0 || !strstr(line, "\"QMP\"")) {
		snprintf(err, errlen, "no QMP greeting");
		qmp_close();
		return -1;
	}
	if (qmp_exec("{\"execute\":\"qmp_capabilities\"}", err, errlen) < 0) {
		qmp_close();
		return -1;
	}
	return 0;
}

int vmm_qmp(const char *cmd, char *err, size_t errlen)
{
	char json[256];
	if (VM.qmp_fd < 0 && qmp_connect(err, errlen) < 0)
		return -1;
	snprintf(json, sizeof json, "{\"execute\":\"%s\"}", cmd);
	return qmp_exec(json, err, errlen);
}

int vmm_send_keys_ctrl_alt_del(char *err, size_t errlen)
{
	if (VM.qmp_fd < 0 && qmp_connect(err, errlen) < 0)
		return -1;
	return qmp_exec("{\"execute\":\"send-key\",\"arguments\":{\"keys\":["
	                "{\"type\":\"qcode\",\"data\":\"ctrl\"},"
	                "{\"type\":\"qcode\",\"data\":\"alt\"},"
	                "{\"type\":\"qcode\",\"data\":\"delete\"}]}}", err, errlen);
}

void vmm_drain_qmp(void)
{
	/* asynchronous events (SHUTDOWN, STOP, RESUME...) are of no use here:
	 * read them into the line buffer and drop whole lines only, so that a
	 * later command's answer is read from a line boundary */
	if (qlen == sizeof qbuf)
		qlen = 0;
	ssize_t n = read(VM.qmp_fd, qbuf + qlen, sizeof qbuf - qlen);
	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
		qmp_close();
		return;
	}
	if (n > 0)
		qlen += (size_t)n;
	char *nl;
	while ((nl = memchr(qbuf, '\n', qlen))) {
		size_t l = (size_t)(nl - qbuf) + 1;
		memmove(qbuf, qbuf + l, qlen - l);
		qlen -= l;
	}
}

/* ---- process ---- */

static int reap(int *status)
{
	pid_t r = waitpid(VM.qemu_pid, status, WNOHANG);
	return r == VM.qemu_pid;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int vmm_start(char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(VM.rundir, sizeof VM.rundir, "%s/fc-double.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (strlen(VM.rundir) > 90 || !mkdtemp(VM.rundir)) {
		snprintf(VM.rundir, sizeof VM.rundir, "/tmp/fc-double.XXXXXX");
		if (!mkdtemp(VM.rundir)) {
			snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
			VM.rundir[0] = 0;
			return -1;
		}
	}
	struct argv a = {0};
	if (build_argv(&a, err, errlen) < 0) {
		av_free(&a);
		vmm_cleanup();
		return -1;
	}
	{
		char line[16384];
		size_t o = 0;
		for (int k = 0; k < a.n && o < sizeof line - 2; k++)
			o += (size_t)snprintf(line + o, sizeof line - o, "%s%s", k ? " " : "", a.v[k]);
		LOG_INFO("fcm test double: starting %s", line);
	}
	/* QEMU dies with us (PR_SET_PDEATHSIG): a killed double leaves no VM. */
	struct fcm_child c = { .argv = a.v, .pdeathsig = SIGKILL };
	if (fcm_child_start(&c) < 0) {
		snprintf(err, errlen, "unable to run %s: %s", a.v[0], strerror(errno));
		av_free(&a);
		vmm_cleanup();
		return -1;
	}
	VM.qemu_pid = c.pid;
	av_free(&a);
	/* Wait for QEMU to be up (its QMP socket answers), or to fail. */
	char qerr[256] = "";
	for (int t = 0; t < 1000; t++) {
		int st;
		if (reap(&st)) {
			VM.qemu_pid = 0;
			if (WIFEXITED(st))
				snprintf(err, errlen, "QEMU exited with status %d during start", WEXITSTATUS(st));
			else
				snprintf(err, errlen, "QEMU was killed by signal %d during start", WTERMSIG(st));
			vmm_cleanup();
			return -1;
		}
		char sock[300];
		struct stat sb;
		snprintf(sock, sizeof sock, "%s/qmp.sock", VM.rundir);
		if (stat(sock, &sb) == 0 && qmp_connect(qerr, sizeof qerr) == 0)
			break;
		sleep_ms(10);
	}
	if (VM.qmp_fd < 0)
		LOG_WARN("fcm test double: QEMU's monitor did not answer: %s", qerr);
	VM.state = VM_RUNNING;
	return 0;
}

void vmm_kill(void)
{
	if (VM.qemu_pid <= 0)
		return;
	int st;
	kill(VM.qemu_pid, SIGTERM);
	for (int t = 0; t < 300; t++) {
		if (reap(&st)) {
			VM.qemu_pid = 0;
			return;
		}
		sleep_ms(10);
	}
	kill(VM.qemu_pid, SIGKILL);
	waitpid(VM.qemu_pid, &st, 0);
	VM.qemu_pid = 0;
}

void vmm_cleanup(void)
{
	qmp_close();
	if (VM.rundir[0]) {
		char sock[300];
		snprintf(sock, sizeof sock, "%s/qmp.sock", VM.rundir);
		unlink(sock);
		rmdir(VM.rundir);
		VM.rundir[0] = 0;
	}
}

int vmm_metrics_flush(char *err, size_t errlen)
{
	if (VM.metrics_fd < 0)
		return 0;  /* Firecracker: nothing to write to, not an error */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char line[256];
	int n = snprintf(line, sizeof line, "{\"utc_timestamp_ms\":%lld}\n",
	                 (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	if (write(VM.metrics_fd, line, (size_t)n) != n) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- snapshots: QEMU's migration to and from a file ---- */

/* Polls query-migrate until the migration ends: 0 when completed, else -1
 * with err (QEMU's error-desc when it gives one). */
static int migrate_wait(int timeout_s, char *err, size_t errlen)
{
	for (int t = 0; t < timeout_s * 50; t++) {
		jv r = qmp_call("{\"execute\":\"query-migrate\"}", -1, err, errlen);
		if (!jv_is_valid(r))
			return -1;
		const char *st = gstr(r, "status");
		if (st && !strcmp(st, "completed")) {
			jv_free(r);
			return 0;
		}
		if (st && (!strcmp(st, "failed") || !strcmp(st, "cancelled"))) {
			const char *d = gstr(r, "error-desc");
			snprintf(err, errlen, "QEMU's migration %s: %s", st, d ? d : "no reason given");
			jv_free(r);
			return -1;
		}
		jv_free(r);
		sleep_ms(20);
	}
	snprintf(err, errlen, "QEMU's migration did not end within %d s", timeout_s);
	return -1;
}

/* Hands fd to QEMU under the name "fcsnap" (QMP getfd). */
static int pass_fd(int fd, char *err, size_t errlen)
{
	if (VM.qmp_fd < 0 && qmp_connect(err, errlen) < 0)
		return -1;
	jv r = qmp_call("{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"fcsnap\"}}", fd, err, errlen);
	int ok = jv_is_valid(r);
	jv_free(r);
	return ok ? 0 : -1;
}

int vmm_snapshot_save(int memfd, char *err, size_t errlen)
{
	if (pass_fd(memfd, err, errlen) < 0)
		return -1;
	if (qmp_exec("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"fd:fcsnap\"}}", err, errlen) < 0)
		return -1;
	return migrate_wait(600, err, errlen);
}

int vmm_restore(int memfd, int resume, char *err, size_t errlen)
{
	VM.incoming = 1;
	int r = vmm_start(err, errlen);
	VM.incoming = 0;
	if (r < 0)
		return -1;
	VM.state = VM_PAUSED;
	if (pass_fd(memfd, err, errlen) < 0 ||
	    qmp_exec("{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"fd:fcsnap\"}}",
	             err, errlen) < 0 ||
	    migrate_wait(600, err, errlen) < 0)
		return -1;
	if (resume) {
		if (qmp_exec("{\"execute\":\"cont\"}", err, errlen) < 0)
			return -1;
		VM.state = VM_RUNNING;
	}
	return 0;
}

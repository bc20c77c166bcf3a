/* api.c — Firecracker 1.7's API: routing, validation and the VM's resources. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "fc.h"

struct vm VM;

static const char *const NOT_POST_BOOT =
	"The requested operation is not supported after starting the microVM.";
static const char *const NOT_PRE_BOOT =
	"The requested operation is not supported before starting the microVM.";

void vm_init(const char *id)
{
	memset(&VM, 0, sizeof VM);
	snprintf(VM.id, sizeof VM.id, "%s", id);
	VM.state = VM_NOT_STARTED;
	VM.boot_source = jv_null();
	VM.drives = jv_array();
	VM.nets = jv_array();
	VM.machine = jv_object();
	VM.machine = jv_object_set(VM.machine, jv_string("vcpu_count"), jv_number(1));
	VM.machine = jv_object_set(VM.machine, jv_string("mem_size_mib"), jv_number(128));
	VM.machine = jv_object_set(VM.machine, jv_string("smt"), jv_false());
	VM.machine = jv_object_set(VM.machine, jv_string("track_dirty_pages"), jv_false());
	VM.machine = jv_object_set(VM.machine, jv_string("huge_pages"), jv_string("None"));
	VM.logger = jv_null();
	VM.metrics = jv_null();
	VM.balloon = jv_null();
	VM.vsock = jv_null();
	VM.entropy = jv_null();
	VM.mmds_config = jv_null();
	VM.cpu_config = jv_null();
	VM.mmds = jv_null();
	VM.metrics_fd = -1;
	VM.qmp_fd = -1;
	VM.qemu_pid = 0;
}

void vm_free(void)
{
	jv_free(VM.boot_source);
	jv_free(VM.drives);
	jv_free(VM.nets);
	jv_free(VM.machine);
	jv_free(VM.logger);
	jv_free(VM.metrics);
	jv_free(VM.balloon);
	jv_free(VM.vsock);
	jv_free(VM.entropy);
	jv_free(VM.mmds_config);
	jv_free(VM.cpu_config);
	jv_free(VM.mmds);
	if (VM.metrics_fd >= 0)
		close(VM.metrics_fd);
	VM.metrics_fd = -1;
}

/* ---- helpers ---- */

static char *xvasprintf(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	return s;
}

/* {"fault_message": "..."} */
char *fault(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	jv o = jv_object_set(jv_object(), jv_string("fault_message"), jv_string(msg));
	free(msg);
	jv s = jv_dump_string(o, 0);
	char *r = strdup(jv_string_value(s));
	jv_free(s);
	return r;
}

static struct reply bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct reply bad(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	struct reply r = {400, fault("%s", msg)};
	free(msg);
	return r;
}

static struct reply ok204(void)
{
	struct reply r = {204, NULL};
	return r;
}

/* 200 with a JSON body; consumes v. */
static struct reply ok200(jv v)
{
	jv s = jv_dump_string(v, 0);
	struct reply r = {200, strdup(jv_string_value(s))};
	jv_free(s);
	return r;
}

static const char *jstr(jv o, const char *k)
{
	jv v = jv_object_get(jv_copy(o), jv_string(k));
	const char *r = NULL;
	if (jv_get_kind(v) == JV_KIND_STRING)
		r = jv_string_value(v);  /* owned by o, which outlives the caller's use */
	jv_free(v);
	return r;
}

static int jbool(jv o, const char *k, int dflt)
{
	jv v = jv_object_get(jv_copy(o), jv_string(k));
	int r = dflt;
	if (jv_get_kind(v) == JV_KIND_TRUE)
		r = 1;
	else if (jv_get_kind(v) == JV_KIND_FALSE)
		r = 0;
	jv_free(v);
	return r;
}

static double jnum(jv o, const char *k, double dflt)
{
	jv v = jv_object_get(jv_copy(o), jv_string(k));
	double r = dflt;
	if (jv_get_kind(v) == JV_KIND_NUMBER)
		r = jv_number_value(v);
	jv_free(v);
	return r;
}

static int jhas(jv o, const char *k)
{
	return jv_object_has(jv_copy(o), jv_string(k));
}

/* A field of o, or null, for serialization. */
static jv jget(jv o, const char *k)
{
	if (jv_get_kind(o) != JV_KIND_OBJECT || !jhas(o, k))
		return jv_null();
	return jv_object_get(jv_copy(o), jv_string(k));
}

static const char *errno_text(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s (os error %d)", strerror(e), e);
	return buf;
}

/* Firecracker's checked_id */
static const char *checked_id(const char *id)
{
	if (!id || !*id)
		return "The ID cannot be empty.";
	for (const char *p = id; *p; p++)
		if (!(*p == '_' || isalnum((unsigned char)*p)))
			return "API Resource IDs can only contain alphanumeric characters and underscores.";
	return NULL;
}

static struct reply deser_error(const char *msg)
{
	return bad("An error occurred when deserializing the json body of a request: %s.", msg);
}

static int parse_body(const struct schema *s, const char *body, size_t len, jv *out,
                      struct reply *r)
{
	char err[1024];
	if (fc_deserialize(s, body, len, out, err, sizeof err) < 0) {
		*r = deser_error(err);
		return -1;
	}
	return 0;
}

static int find_by(jv arr, const char *key, const char *val)
{
	int n = jv_array_length(jv_copy(arr));
	for (int k = 0; k < n; k++) {
		jv e = jv_array_get(jv_copy(arr), k);
		const char *s = jstr(e, key);
		int eq = s && val && !strcmp(s, val);
		jv_free(e);
		if (eq)
			return k;
	}
	return -1;
}

/* ---- resources (shared by the API and --config-file) ---- */

static char *update_machine(jv upd);

static char *set_boot_source(jv cfg)
{
	char eb[128];
	const char *kernel = jstr(cfg, "kernel_image_path");
	int fd = open(kernel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fault("Boot source error: The kernel file cannot be opened: %s",
		             errno_text(errno, eb, sizeof eb));
	close(fd);
	const char *initrd = jstr(cfg, "initrd_path");
	if (initrd) {
		fd = open(initrd, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return fault("Boot source error: The initrd file cannot be opened due to invalid "
			             "path or invalid permissions. %s", errno_text(errno, eb, sizeof eb));
		close(fd);
		const char *hp = jstr(VM.machine, "huge_pages");
		if (hp && !strcmp(hp, "2M"))
			return fault("Boot source error: Firecracker's huge pages support is incompatible "
			             "with initrds.");
	}
	const char *args = jstr(cfg, "boot_args");
	if (args && strlen(args) >= 2048)
		return fault("Boot source error: The kernel command line is invalid: Command line "
		             "string is too long.");
	VM.boot_path = 1;
	jv_free(VM.boot_source);
	VM.boot_source = jv_copy(cfg);
	return NULL;
}

static char *insert_drive(jv cfg)
{
	char eb[128];
	const char *id = jstr(cfg, "drive_id");
	int root = jbool(cfg, "is_root_device", 0);
	VM.boot_path = 1;
	int pos = find_by(VM.drives, "drive_id", id);
	int has_root = 0;
	if (jv_array_length(jv_copy(VM.drives)) > 0) {
		jv first = jv_array_get(jv_copy(VM.drives), 0);
		has_root = jbool(first, "is_root_device", 0);
		jv_free(first);
	}
	if (root && has_root && pos != 0)
		return fault("Drive config error: A root block device already exists!");
	if (jhas(cfg, "socket")) {
		if (jhas(cfg, "path_on_host") || jhas(cfg, "is_read_only") || jhas(cfg, "io_engine") ||
		    jhas(cfg, "rate_limiter"))
			return fault("Drive config error: Unable to create the vhost-user-block device: "
			             "Vhost-user-block config error: Invalid configuration");
	} else {
		if (!jhas(cfg, "path_on_host") || !jhas(cfg, "is_read_only"))
			return fault("Drive config error: Unable to create the virtio block device: "
			             "Virtio block config error: Invalid configuration");
		const char *path = jstr(cfg, "path_on_host");
		int ro = jbool(cfg, "is_read_only", 0);
		int fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0)
			return fault("Drive config error: Unable to create the virtio block device: Virtio "
			             "backend error: Error manipulating the backing file: %s %s",
			             errno_text(errno, eb, sizeof eb), path);
		close(fd);
	}
	if (pos < 0) {
		if (root) {
			jv a = jv_array_append(jv_array(), jv_copy(cfg));
			VM.drives = jv_array_concat(a, VM.drives);
		} else {
			VM.drives = jv_array_append(VM.drives, jv_copy(cfg));
		}
	} else {
		VM.drives = jv_array_set(VM.drives, pos, jv_copy(cfg));
		if (pos != 0 && root) {  /* Firecracker swaps the root device to the front */
			jv a = jv_array_get(jv_copy(VM.drives), 0);
			jv b = jv_array_get(jv_copy(VM.drives), pos);
			VM.drives = jv_array_set(VM.drives, 0, b);
			VM.drives = jv_array_set(VM.drives, pos, a);
		}
	}
	return NULL;
}

static char *check_tap(const char *name)
{
	char eb[128];
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fault("Network config error: Could not create the network device: Open tap "
		             "device failed: Error while opening /dev/net/tun: %s",
		             errno_text(errno, eb, sizeof eb));
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	if (strlen(name) >= IFNAMSIZ) {
		close(fd);
		return fault("Network config error: Could not create the network device: Open tap "
		             "device failed: Invalid interface name");
	}
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		close(fd);
		return fault("Network config error: Could not create the network device: Open tap "
		             "device failed: Error while creating ifreq structure: %s. Invalid TUN/TAP "
		             "Backend provided by %s. Check our documentation on setting up the network "
		             "devices.", errno_text(e, eb, sizeof eb), name);
	}
	close(fd);
	return NULL;
}

static char *insert_net(jv cfg)
{
	const char *id = jstr(cfg, "iface_id");
	const char *dev = jstr(cfg, "host_dev_name");
	const char *mac = jstr(cfg, "guest_mac");
	VM.boot_path = 1;
	int pos = find_by(VM.nets, "iface_id", id);
	int n = jv_array_length(jv_copy(VM.nets));
	for (int k = 0; k < n; k++) {
		if (k == pos)
			continue;
		jv e = jv_array_get(jv_copy(VM.nets), k);
		const char *m = jstr(e, "guest_mac");
		const char *h = jstr(e, "host_dev_name");
		char *err = NULL;
		if (mac && m && !strcasecmp(m, mac))
			err = fault("Network config error: The MAC address is already in use: %s", mac);
		else if (h && !strcmp(h, dev))
			err = fault("Network config error: The host device name is already in use: %s", dev);
		jv_free(e);
		if (err)
			return err;
	}
	if (!getenv("FCM_TEST_NO_TAP_CHECK")) {
		char *err = check_tap(dev);
		if (err)
			return err;
	}
	if (pos < 0)
		VM.nets = jv_array_append(VM.nets, jv_copy(cfg));
	else
		VM.nets = jv_array_set(VM.nets, pos, jv_copy(cfg));
	return NULL;
}

/* PUT /machine-config (and the config file) give a whole MachineConfig:
 * optional fields not given take their defaults, as the yaml says. */
static jv machine_put_defaults(jv m)
{
	if (!jhas(m, "smt"))
		m = jv_object_set(m, jv_string("smt"), jv_false());
	if (!jhas(m, "cpu_template"))
		m = jv_object_set(m, jv_string("cpu_template"), jv_string("None"));
	if (!jhas(m, "track_dirty_pages"))
		m = jv_object_set(m, jv_string("track_dirty_pages"), jv_false());
	if (!jhas(m, "huge_pages"))
		m = jv_object_set(m, jv_string("huge_pages"), jv_string("None"));
	return m;
}

static char *put_machine(jv m)
{
	jv full = machine_put_defaults(jv_copy(m));
	char *r = update_machine(full);
	jv_free(full);
	return r;
}

/* VmConfig::update */
static char *update_machine(jv upd)
{
	VM.boot_path = 1;
	double vcpu = jnum(upd, "vcpu_count", jnum(VM.machine, "vcpu_count", 1));
	int smt = jbool(upd, "smt", jbool(VM.machine, "smt", 0));
	if (vcpu == 0 || vcpu > 32 || (smt && vcpu > 1 && ((long)vcpu) % 2 == 1))
		return fault("Machine config error: The number of vCPUs must be greater than 0, less "
		             "than 32 and must be 1 or an even number if SMT is enabled.");
	double mem = jnum(upd, "mem_size_mib", jnum(VM.machine, "mem_size_mib", 128));
	const char *hp = jstr(upd, "huge_pages");
	if (!hp)
		hp = jstr(VM.machine, "huge_pages");
	if (mem == 0 || (!strcmp(hp, "2M") && ((long long)mem) % 2))
		return fault("Machine config error: The memory size (MiB) is either 0, or not a "
		             "multiple of the configured page size.");
	if (jv_get_kind(VM.balloon) == JV_KIND_OBJECT && jnum(VM.balloon, "amount_mib", 0) > mem)
		return fault("Machine config error: The memory size (MiB) is smaller than the "
		             "previously set balloon device target size.");
	if (!strcmp(hp, "2M") && jv_get_kind(VM.balloon) == JV_KIND_OBJECT)
		return fault("Machine config error: Firecracker's huge pages support is incompatible "
		             "with memory ballooning.");
	if (!strcmp(hp, "2M") && jv_get_kind(VM.boot_source) == JV_KIND_OBJECT &&
	    jhas(VM.boot_source, "initrd_path"))
		return fault("Machine config error: Firecracker's huge pages support is incompatible "
		             "with initrds.");
	jv m = jv_object();
	m = jv_object_set(m, jv_string("vcpu_count"), jv_number(vcpu));
	m = jv_object_set(m, jv_string("mem_size_mib"), jv_number(mem));
	m = jv_object_set(m, jv_string("smt"), jv_bool(smt));
	const char *tpl = jstr(upd, "cpu_template");
	if (!tpl)
		tpl = jstr(VM.machine, "cpu_template");
	else if (!strcmp(tpl, "None"))
		tpl = NULL;
	if (tpl)
		m = jv_object_set(m, jv_string("cpu_template"), jv_string(tpl));
	m = jv_object_set(m, jv_string("track_dirty_pages"),
	                  jv_bool(jbool(upd, "track_dirty_pages", jbool(VM.machine, "track_dirty_pages", 0))));
	m = jv_object_set(m, jv_string("huge_pages"), jv_string(hp));
	jv_free(VM.machine);
	VM.machine = m;
	return NULL;
}

static char *set_logger(jv cfg)
{
	char eb[128];
	const char *path = jstr(cfg, "log_path");
	const char *lvl = jstr(cfg, "level");
	char err[256];
	int level = lvl ? fc_level_parse(lvl) : -1;
	if (fc_log_configure(path, level, jhas(cfg, "show_level") ? jbool(cfg, "show_level", 0) : -1,
	                     jhas(cfg, "show_log_origin") ? jbool(cfg, "show_log_origin", 0) : -1,
	                     err, sizeof err) < 0)
		return fault("Logger error: Failed to open target file: %s", err);
	(void)eb;
	jv_free(VM.logger);
	VM.logger = jv_copy(cfg);
	return NULL;
}

static char *set_metrics(jv cfg)
{
	char eb[128];
	if (VM.metrics_fd >= 0)
		return fault("Metrics error: Reinitialization of metrics not allowed.");
	const char *path = jstr(cfg, "metrics_path");
	int fd = open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fault("Metrics error: Cannot initialize the metrics system due to bad user input: "
		             "%s", errno_text(errno, eb, sizeof eb));
	VM.metrics_fd = fd;
	jv_free(VM.metrics);
	VM.metrics = jv_copy(cfg);
	return NULL;
}

char *api_metrics_init(jv cfg)
{
	return set_metrics(cfg);
}

static char *set_balloon(jv cfg)
{
	VM.boot_path = 1;
	if (jnum(cfg, "amount_mib", 0) > jnum(VM.machine, "mem_size_mib", 128))
		return fault("Balloon config error: Amount of pages requested cannot be greater than "
		             "the total amount of pages");
	const char *hp = jstr(VM.machine, "huge_pages");
	if (hp && !strcmp(hp, "2M"))
		return fault("Balloon config error: Firecracker's huge pages support is incompatible "
		             "with memory ballooning.");
	jv b = jv_object();
	b = jv_object_set(b, jv_string("amount_mib"), jget(cfg, "amount_mib"));
	b = jv_object_set(b, jv_string("deflate_on_oom"), jget(cfg, "deflate_on_oom"));
	b = jv_object_set(b, jv_string("stats_polling_interval_s"),
	                  jv_number(jnum(cfg, "stats_polling_interval_s", 0)));
	jv_free(VM.balloon);
	VM.balloon = b;
	return NULL;
}

static char *set_simple(jv *slot, jv cfg)
{
	VM.boot_path = 1;
	jv_free(*slot);
	*slot = jv_copy(cfg);
	return NULL;
}

static char *set_mmds_config(jv cfg)
{
	VM.boot_path = 1;
	jv ifs = jv_object_get(jv_copy(cfg), jv_string("network_interfaces"));
	int n = jv_array_length(jv_copy(ifs));
	char *err = NULL;
	if (n == 0)
		err = fault("MMMDS config error: The list of network interface IDs that allow "
		            "forwarding MMDS requests is empty.");
	for (int k = 0; k < n && !err; k++) {
		jv id = jv_array_get(jv_copy(ifs), k);
		if (find_by(VM.nets, "iface_id", jv_string_value(id)) < 0)
			err = fault("MMMDS config error: The list of network interface IDs provided "
			            "contains at least one ID that does not correspond to any existing "
			            "network interface.");
		jv_free(id);
	}
	jv_free(ifs);
	if (err)
		return err;
	const char *ip = jstr(cfg, "ipv4_address");
	if (ip) {
		struct in_addr a;
		inet_pton(AF_INET, ip, &a);
		uint32_t h = ntohl(a.s_addr);
		if ((h >> 16) != 0xa9fe)
			return fault("MMMDS config error: The MMDS IPv4 address is not link local.");
	}
	jv c = jv_object();
	c = jv_object_set(c, jv_string("version"),
	                  jhas(cfg, "version") ? jget(cfg, "version") : jv_string("V1"));
	c = jv_object_set(c, jv_string("network_interfaces"), jget(cfg, "network_interfaces"));
	c = jv_object_set(c, jv_string("ipv4_address"),
	                  ip ? jv_string(ip) : jv_string("169.254.169.254"));
	jv_free(VM.mmds_config);
	VM.mmds_config = c;
	return NULL;
}

/* ---- serialization (GET /vm/config etc.) ---- */

static jv rate_limiter_out(jv rl)
{
	if (jv_get_kind(rl) != JV_KIND_OBJECT) {
		jv_free(rl);
		return jv_null();
	}
	return rl;
}

static jv drive_out(jv d)
{
	jv o = jv_object();
	o = jv_object_set(o, jv_string("drive_id"), jget(d, "drive_id"));
	o = jv_object_set(o, jv_string("partuuid"), jget(d, "partuuid"));
	o = jv_object_set(o, jv_string("is_root_device"), jget(d, "is_root_device"));
	o = jv_object_set(o, jv_string("cache_type"),
	                  jhas(d, "cache_type") ? jget(d, "cache_type") : jv_string("Unsafe"));
	o = jv_object_set(o, jv_string("is_read_only"), jget(d, "is_read_only"));
	o = jv_object_set(o, jv_string("path_on_host"), jget(d, "path_on_host"));
	o = jv_object_set(o, jv_string("rate_limiter"), rate_limiter_out(jget(d, "rate_limiter")));
	o = jv_object_set(o, jv_string("io_engine"),
	                  jhas(d, "socket") ? jv_null()
	                  : jhas(d, "io_engine") ? jget(d, "io_engine") : jv_string("Sync"));
	o = jv_object_set(o, jv_string("socket"), jget(d, "socket"));
	jv_free(d);
	return o;
}

static jv net_out(jv n)
{
	jv o = jv_object();
	o = jv_object_set(o, jv_string("iface_id"), jget(n, "iface_id"));
	o = jv_object_set(o, jv_string("host_dev_name"), jget(n, "host_dev_name"));
	o = jv_object_set(o, jv_string("guest_mac"), jget(n, "guest_mac"));
	o = jv_object_set(o, jv_string("rx_rate_limiter"), rate_limiter_out(jget(n, "rx_rate_limiter")));
	o = jv_object_set(o, jv_string("tx_rate_limiter"), rate_limiter_out(jget(n, "tx_rate_limiter")));
	jv_free(n);
	return o;
}

static jv full_config(void)
{
	jv o = jv_object();
	o = jv_object_set(o, jv_string("balloon"), jv_copy(VM.balloon));
	jv drives = jv_array();
	int n = jv_array_length(jv_copy(VM.drives));
	for (int k = 0; k < n; k++)
		drives = jv_array_append(drives, drive_out(jv_array_get(jv_copy(VM.drives), k)));
	o = jv_object_set(o, jv_string("drives"), drives);
	jv bs = jv_object();
	bs = jv_object_set(bs, jv_string("kernel_image_path"),
	                   jv_get_kind(VM.boot_source) == JV_KIND_OBJECT
	                           ? jget(VM.boot_source, "kernel_image_path") : jv_string(""));
	bs = jv_object_set(bs, jv_string("initrd_path"), jget(VM.boot_source, "initrd_path"));
	bs = jv_object_set(bs, jv_string("boot_args"), jget(VM.boot_source, "boot_args"));
	o = jv_object_set(o, jv_string("boot-source"), bs);
	o = jv_object_set(o, jv_string("cpu-config"), jv_null());
	o = jv_object_set(o, jv_string("logger"), jv_null());
	o = jv_object_set(o, jv_string("machine-config"), jv_copy(VM.machine));
	o = jv_object_set(o, jv_string("metrics"), jv_null());
	o = jv_object_set(o, jv_string("mmds-config"), jv_copy(VM.mmds_config));
	jv nets = jv_array();
	n = jv_array_length(jv_copy(VM.nets));
	for (int k = 0; k < n; k++)
		nets = jv_array_append(nets, net_out(jv_array_get(jv_copy(VM.nets), k)));
	o = jv_object_set(o, jv_string("network-interfaces"), nets);
	jv vs = jv_null();
	if (jv_get_kind(VM.vsock) == JV_KIND_OBJECT) {
		vs = jv_object();
		vs = jv_object_set(vs, jv_string("guest_cid"), jget(VM.vsock, "guest_cid"));
		vs = jv_object_set(vs, jv_string("uds_path"), jget(VM.vsock, "uds_path"));
	}
	o = jv_object_set(o, jv_string("vsock"), vs);
	jv en = jv_null();
	if (jv_get_kind(VM.entropy) == JV_KIND_OBJECT) {
		en = jv_object();
		en = jv_object_set(en, jv_string("rate_limiter"),
		                   rate_limiter_out(jget(VM.entropy, "rate_limiter")));
	}
	o = jv_object_set(o, jv_string("entropy"), en);
	return o;
}

/* RFC 7396 JSON merge patch, as Firecracker's MMDS PATCH. */
static jv merge_patch(jv target, jv patch)
{
	if (jv_get_kind(patch) != JV_KIND_OBJECT) {
		jv_free(target);
		return patch;
	}
	if (jv_get_kind(target) != JV_KIND_OBJECT) {
		jv_free(target);
		target = jv_object();
	}
	jv_object_foreach(patch, k, v) {
		if (jv_get_kind(v) == JV_KIND_NULL) {
			target = jv_object_delete(target, k);
			jv_free(v);
		} else {
			jv cur = jv_object_get(jv_copy(target), jv_copy(k));
			if (!jv_is_valid(cur)) {
				jv_free(cur);
				cur = jv_null();
			}
			target = jv_object_set(target, k, merge_patch(cur, v));
		}
	}
	jv_free(patch);
	return target;
}

/* ---- actions ---- */

static struct reply instance_start(void)
{
	char err[512];
	if (VM.state != VM_NOT_STARTED)
		return bad("%s", NOT_POST_BOOT);
	if (jv_get_kind(VM.boot_source) != JV_KIND_OBJECT)
		return bad("Start microvm error: Cannot start microvm without kernel configuration.");
	if (vmm_start(err, sizeof err) < 0)
		return bad("Start microvm error: %s", err);
	return ok204();
}

static struct reply put_actions(jv body)
{
	char err[512];
	const char *t = jstr(body, "action_type");
	if (!strcmp(t, "InstanceStart"))
		return instance_start();
	if (VM.state == VM_NOT_STARTED)
		return bad("%s", NOT_PRE_BOOT);
	if (!strcmp(t, "SendCtrlAltDel")) {
		if (vmm_send_keys_ctrl_alt_del(err, sizeof err) < 0)
			return bad("Internal VMM error: %s", err);
		return ok204();
	}
	/* FlushMetrics */
	if (vmm_metrics_flush(err, sizeof err) < 0)
		return bad("Internal VMM error: Error writing metrics: %s", err);
	return ok204();
}

static struct reply patch_vm(jv body)
{
	char err[512];
	if (VM.state == VM_NOT_STARTED)
		return bad("%s", NOT_PRE_BOOT);
	const char *s = jstr(body, "state");
	if (!strcmp(s, "Paused")) {
		if (vmm_qmp("stop", err, sizeof err) < 0)
			return bad("Internal VMM error: Vcpu error: %s", err);
		VM.state = VM_PAUSED;
		LOG_INFO("'pause vm' VMM action took 0 us.");
	} else {
		if (vmm_qmp("cont", err, sizeof err) < 0)
			return bad("Internal VMM error: Vcpu error: %s", err);
		VM.state = VM_RUNNING;
		LOG_INFO("'resume vm' VMM action took 0 us.");
	}
	return ok204();
}

static struct reply from_err(char *f)
{
	if (!f)
		return ok204();
	struct reply r = {400, f};
	return r;
}

/* ---- snapshots ----
 * Firecracker writes the VM's state (vCPUs, devices, configuration) to
 * snapshot_path and its guest memory to mem_file_path.  The double writes to
 * snapshot_path a header and the VM's configuration (what Firecracker's state
 * file restores: machine config, boot source, drives, interfaces), and to
 * mem_file_path QEMU's own saved state -- its migration stream, which holds
 * the memory and the device state together (doc/testing-firecracker.md). */

#define SNAP_MAGIC "fcm-test-double-vmstate"

static struct reply snapshot_create(jv b)
{
	char err[512], eb[128];
	const char *type = jstr(b, "snapshot_type");
	if (type && !strcmp(type, "Diff")) {
		if (!jbool(VM.machine, "track_dirty_pages", 0))
			return bad("The requested operation is not supported: Diff snapshots are not "
			           "allowed on uVMs with dirty page tracking disabled.");
		return bad("The requested operation is not supported: diff snapshots are not "
		           "supported by the fcm test double of Firecracker");
	}
	/* Vmm::save_state asks the vCPUs, which refuse while running. */
	if (VM.state != VM_PAUSED)
		return bad("Create snapshot error: Cannot save the microVM state: Operation not "
		           "allowed: save/restore unavailable while running");
	jv st = jv_object();
	st = jv_object_set(st, jv_string("machine"), jv_copy(VM.machine));
	st = jv_object_set(st, jv_string("boot_source"), jv_copy(VM.boot_source));
	st = jv_object_set(st, jv_string("drives"), jv_copy(VM.drives));
	st = jv_object_set(st, jv_string("nets"), jv_copy(VM.nets));
	st = jv_object_set(st, jv_string("entropy"), jv_copy(VM.entropy));
	jv text = jv_dump_string(st, 0);
	FILE *f = fopen(jstr(b, "snapshot_path"), "w");
	if (!f) {
		jv_free(text);
		return bad("Create snapshot error: Cannot perform open on the snapshot backing file: %s",
		           errno_text(errno, eb, sizeof eb));
	}
	fprintf(f, "%s %s\n%s\n", SNAP_MAGIC, fc_snapshot_version(), jv_string_value(text));
	jv_free(text);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		int e = errno;
		fclose(f);
		return bad("Create snapshot error: Cannot perform sync_all on the snapshot backing file: %s",
		           errno_text(e, eb, sizeof eb));
	}
	fclose(f);
	int fd = open(jstr(b, "mem_file_path"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		return bad("Create snapshot error: Cannot perform open on the memory backing file: %s",
		           errno_text(errno, eb, sizeof eb));
	int rc = vmm_snapshot_save(fd, err, sizeof err);
	if (rc == 0 && fsync(fd) != 0) {
		snprintf(err, sizeof err, "%s", errno_text(errno, eb, sizeof eb));
		rc = -1;
	}
	close(fd);
	if (rc < 0)
		return bad("Create snapshot error: Cannot write memory file: %s", err);
	LOG_INFO("'create full snapshot' VMM action took 0 us.");
	return ok204();
}

/* Reads the state file written by snapshot_create: the configuration, or an
 * invalid jv with the reason in why. */
static jv snapshot_state(const char *path, char *why, size_t whylen)
{
	char eb[128];
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(why, whylen, "Failed to get snapshot state from file: Failed to open snapshot "
		         "file: %s", errno_text(errno, eb, sizeof eb));
		return jv_invalid();
	}
	char head[128];
	char *rest = NULL;
	size_t cap = 0;
	ssize_t n = -1;
	if (fgets(head, sizeof head, f))
		n = getline(&rest, &cap, f);
	fclose(f);
	char ver[32] = "";
	if (n < 0 || sscanf(head, SNAP_MAGIC " %31s", ver) != 1) {
		free(rest);
		snprintf(why, whylen, "Failed to get snapshot state from file: Failed to load snapshot "
		         "state from file: Snapshot file is smaller than CRC length.");
		return jv_invalid();
	}
	/* load_with_version_check: same major, minor not newer */
	int smaj = 0, smin = 0, maj = 0, min = 0;
	sscanf(ver, "%d.%d", &smaj, &smin);
	sscanf(fc_snapshot_version(), "%d.%d", &maj, &min);
	if (smaj != maj || smin > min) {
		free(rest);
		snprintf(why, whylen, "Failed to get snapshot state from file: Failed to load snapshot "
		         "state from file: Invalid data version: %s", ver);
		return jv_invalid();
	}
	jv st = jv_parse(rest);
	free(rest);
	if (jv_get_kind(st) != JV_KIND_OBJECT) {
		jv_free(st);
		snprintf(why, whylen, "Failed to get snapshot state from file: Failed to load snapshot "
		         "state from file: CRC64 validation failed");
		return jv_invalid();
	}
	return st;
}

static struct reply snapshot_load(jv b)
{
	char err[512], why[768], eb[128];
	const char *mem = jstr(b, "mem_file_path");
	jv backend = jget(b, "mem_backend");
	if (!mem && jv_get_kind(backend) == JV_KIND_OBJECT) {
		if (strcmp(jstr(backend, "backend_type"), "File")) {
			jv_free(backend);
			VM.fatal = 1;
			return bad("Load snapshot error: Failed to restore from snapshot: Failed to load "
			           "guest memory: Error creating guest memory from uffd: Failed to connect "
			           "to UDS Unix stream: userfaultfd memory backends are not supported by "
			           "the fcm test double of Firecracker");
		}
		mem = jstr(backend, "backend_path");
	}
	LOG_WARN("[DevPreview] Virtual machine snapshots is in development preview.");
	jv st = snapshot_state(jstr(b, "snapshot_path"), why, sizeof why);
	if (!jv_is_valid(st)) {
		jv_free(backend);
		VM.fatal = 1;
		return bad("Load snapshot error: Failed to restore from snapshot: %s", why);
	}
	jv_free(VM.machine);
	VM.machine = jv_object_get(jv_copy(st), jv_string("machine"));
	VM.machine = jv_object_set(VM.machine, jv_string("track_dirty_pages"),
	                           jbool(b, "enable_diff_snapshots", 0) ? jv_true() : jv_false());
	jv_free(VM.boot_source);
	VM.boot_source = jv_object_get(jv_copy(st), jv_string("boot_source"));
	jv_free(VM.drives);
	VM.drives = jv_object_get(jv_copy(st), jv_string("drives"));
	jv_free(VM.nets);
	VM.nets = jv_object_get(jv_copy(st), jv_string("nets"));
	jv_free(VM.entropy);
	VM.entropy = jv_object_get(st, jv_string("entropy"));
	int fd = open(mem, O_RDONLY | O_CLOEXEC);
	jv_free(backend);
	if (fd < 0) {
		VM.fatal = 1;
		return bad("Load snapshot error: Failed to restore from snapshot: Failed to load guest "
		           "memory: Error creating guest memory from file: Failed to load guest memory: %s",
		           errno_text(errno, eb, sizeof eb));
	}
	int rc = vmm_restore(fd, jbool(b, "resume_vm", 0), err, sizeof err);
	close(fd);
	if (rc < 0) {
		VM.fatal = 1;
		return bad("Load snapshot error: Failed to restore from snapshot: Failed to build "
		           "microVM from snapshot: %s", err);
	}
	LOG_WARN("[DevPreview] Virtual machine snapshots is in development preview - 'load snapshot' "
	         "VMM action took 0 us.");
	return ok204();
}

/* ---- routing ---- */

static char **split_path(const char *url, int *count)
{
	char *copy = strdup(url);
	char **tok = calloc(64, sizeof *tok);
	int n = 0;
	char *p = copy;
	while (*p == '/')
		p++;
	/* split_terminator('/') after trimming leading '/' */
	if (*p) {
		char *start = p;
		for (;; p++) {
			if (*p == '/' || *p == 0) {
				int end = *p == 0;
				*p = 0;
				if (n < 63)
					tok[n++] = strdup(start);
				if (end || p[1] == 0)
					break;
				start = p + 1;
			}
		}
	}
	free(copy);
	*count = n;
	return tok;
}

static void free_tokens(char **tok, int n)
{
	for (int k = 0; k < n; k++)
		free(tok[k]);
	free(tok);
}

static const char *state_name(void)
{
	return VM.state == VM_NOT_STARTED ? "Not started" : VM.state == VM_PAUSED ? "Paused" : "Running";
}

static struct reply route(const char *method, char **tok, int ntok, const char *body, size_t len,
                          int has_body)
{
	const char *path = ntok ? tok[0] : "";
	const char *sub = ntok > 1 ? tok[1] : NULL;
	int get = !strcmp(method, "GET"), put = !strcmp(method, "PUT"),
	    patch = !strcmp(method, "PATCH");
	int pre = VM.state == VM_NOT_STARTED;
	jv b = jv_invalid();
	struct reply r;

	if (get && !has_body) {
		if (!*path) {
			jv o = jv_object();
			o = jv_object_set(o, jv_string("id"), jv_string(VM.id));
			o = jv_object_set(o, jv_string("state"), jv_string(state_name()));
			o = jv_object_set(o, jv_string("vmm_version"), jv_string(fc_version()));
			o = jv_object_set(o, jv_string("app_name"), jv_string("Firecracker"));
			return ok200(o);
		}
		if (!strcmp(path, "version"))
			return ok200(jv_object_set(jv_object(), jv_string("firecracker_version"),
			                           jv_string(fc_version())));
		if (!strcmp(path, "machine-config"))
			return ok200(jv_copy(VM.machine));
		if (!strcmp(path, "vm") && sub && !strcmp(sub, "config"))
			return ok200(full_config());
		if (!strcmp(path, "mmds")) {
			if (sub && !strcmp(sub, "config"))
				goto invalid;
			if (jv_get_kind(VM.mmds) == JV_KIND_NULL)
				return ok200(jv_object());
			return ok200(jv_copy(VM.mmds));
		}
		if (!strcmp(path, "balloon")) {
			if (sub && strcmp(sub, "statistics"))
				return bad("Unrecognized GET request path `%s`.", sub);
			if (sub) {
				if (pre)
					return bad("%s", NOT_PRE_BOOT);
				if (jv_get_kind(VM.balloon) != JV_KIND_OBJECT)
					return bad("Balloon config error: No balloon device found.");
				if (jnum(VM.balloon, "stats_polling_interval_s", 0) == 0)
					return bad("Balloon config error: Statistics for the balloon device are "
					           "not enabled");
				double mib = jnum(VM.balloon, "amount_mib", 0);
				jv o = jv_object();
				o = jv_object_set(o, jv_string("target_pages"), jv_number(mib * 256));
				o = jv_object_set(o, jv_string("actual_pages"), jv_number(0));
				o = jv_object_set(o, jv_string("target_mib"), jv_number(mib));
				o = jv_object_set(o, jv_string("actual_mib"), jv_number(0));
				return ok200(o);
			}
			if (jv_get_kind(VM.balloon) != JV_KIND_OBJECT)
				return bad("Balloon config error: No balloon device found.");
			return ok200(jv_copy(VM.balloon));
		}
		if (!strcmp(path, "cpu-config"))
			goto invalid;
		goto invalid;
	}
	if (get && has_body)
		return bad("GET request cannot have a body.");
	if ((put || patch) && !has_body)
		return bad("Empty %s request.", method);

	if (put && !strcmp(path, "actions")) {
		if (parse_body(&S_ACTION, body, len, &b, &r) < 0)
			return r;
		r = put_actions(b);
		goto out;
	}
	if (put && !strcmp(path, "boot-source")) {
		if (parse_body(&S_BOOT_SOURCE, body, len, &b, &r) < 0)
			return r;
		r = pre ? from_err(set_boot_source(b)) : bad("%s", NOT_POST_BOOT);
		goto out;
	}
	if ((put || patch) && !strcmp(path, "drives")) {
		const char *e = checked_id(sub);
		if (e)
			return bad("%s", e);
		if (parse_body(put ? &S_DRIVE : &S_PARTIAL_DRIVE, body, len, &b, &r) < 0)
			return r;
		if (strcmp(sub, jstr(b, "drive_id"))) {
			r = bad("The id from the path does not match the id from the body!");
			goto out;
		}
		if (put) {
			r = pre ? from_err(insert_drive(b)) : bad("%s", NOT_POST_BOOT);
		} else if (pre) {
			r = bad("%s", NOT_PRE_BOOT);
		} else {
			int pos = find_by(VM.drives, "drive_id", sub);
			if (pos < 0) {
				r = bad("Drive config error: Unable to patch the block device: Device manager "
				        "error: Invalid device ID. Please verify the request arguments.");
			} else {
				jv d = jv_array_get(jv_copy(VM.drives), pos);
				if (jhas(b, "path_on_host"))
					d = jv_object_set(d, jv_string("path_on_host"), jget(b, "path_on_host"));
				if (jhas(b, "rate_limiter"))
					d = jv_object_set(d, jv_string("rate_limiter"), jget(b, "rate_limiter"));
				VM.drives = jv_array_set(VM.drives, pos, d);
				r = ok204();
			}
		}
		goto out;
	}
	if ((put || patch) && !strcmp(path, "network-interfaces")) {
		const char *e = checked_id(sub);
		if (e)
			return bad("%s", e);
		if (parse_body(put ? &S_NET : &S_PARTIAL_NET, body, len, &b, &r) < 0)
			return r;
		if (strcmp(sub, jstr(b, "iface_id"))) {
			r = bad("The id from the path does not match the id from the body!");
			goto out;
		}
		if (put)
			r = pre ? from_err(insert_net(b)) : bad("%s", NOT_POST_BOOT);
		else if (pre)
			r = bad("%s", NOT_PRE_BOOT);
		else if (find_by(VM.nets, "iface_id", sub) < 0)
			r = bad("Network config error: Could not update the network device: Device manager "
			        "error: Invalid device ID.");
		else
			r = ok204();
		goto out;
	}
	if ((put || patch) && !strcmp(path, "machine-config")) {
		if (parse_body(put ? &S_MACHINE_CONFIG : &S_MACHINE_CONFIG_UPDATE, body, len, &b, &r) < 0)
			return r;
		if (patch && jv_object_length(jv_copy(b)) == 0) {
			r = bad("Empty PATCH request.");
			goto out;
		}
		r = pre ? from_err(put ? put_machine(b) : update_machine(b)) : bad("%s", NOT_POST_BOOT);
		goto out;
	}
	if (patch && !strcmp(path, "vm")) {
		if (parse_body(&S_VM, body, len, &b, &r) < 0)
			return r;
		r = patch_vm(b);
		goto out;
	}
	if (put && !strcmp(path, "logger")) {
		if (parse_body(&S_LOGGER, body, len, &b, &r) < 0)
			return r;
		r = pre ? from_err(set_logger(b)) : bad("%s", NOT_POST_BOOT);
		goto out;
	}
	if (put && !strcmp(path, "metrics")) {
		if (parse_body(&S_METRICS, body, len, &b, &r) < 0)
			return r;
		r = pre ? from_err(set_metrics(b)) : bad("%s", NOT_POST_BOOT);
		goto out;
	}
	if ((put || patch) && !strcmp(path, "mmds")) {
		if (put && sub && !strcmp(sub, "config")) {
			if (parse_body(&S_MMDS_CONFIG, body, len, &b, &r) < 0)
				return r;
			r = pre ? from_err(set_mmds_config(b)) : bad("%s", NOT_POST_BOOT);
			goto out;
		}
		if (sub)
			return bad("Invalid MMDS request path: %s.", sub);
		if (parse_body(&S_ANY, body, len, &b, &r) < 0)
			return r;
		if (put) {
			jv_free(VM.mmds);
			VM.mmds = jv_copy(b);
			r = ok204();
		} else if (jv_get_kind(VM.mmds) == JV_KIND_NULL) {
			r = bad("MMDS error: The MMDS data store is not initialized.");
		} else {
			VM.mmds = merge_patch(VM.mmds, jv_copy(b));
			r = ok204();
		}
		goto out;
	}
	if ((put || patch) && !strcmp(path, "balloon")) {
		if (put) {
			if (parse_body(&S_BALLOON, body, len, &b, &r) < 0)
				return r;
			r = pre ? from_err(set_balloon(b)) : bad("%s", NOT_POST_BOOT);
			goto out;
		}
		if (sub && strcmp(sub, "statistics"))
			return bad("Unrecognized PATCH request path `%s`.", sub);
		if (parse_body(sub ? &S_BALLOON_STATS_UPDATE : &S_BALLOON_UPDATE, body, len, &b, &r) < 0)
			return r;
		if (pre)
			r = bad("%s", NOT_PRE_BOOT);
		else if (jv_get_kind(VM.balloon) != JV_KIND_OBJECT)
			r = bad("Balloon config error: No balloon device found.");
		else if (sub && jnum(VM.balloon, "stats_polling_interval_s", 0) == 0)
			r = bad("Balloon config error: Statistics for the balloon device are not enabled");
		else if (sub && jnum(b, "stats_polling_interval_s", 0) == 0)
			r = bad("Balloon config error: Cannot enable/disable the statistics after boot.");
		else if (!sub && jnum(b, "amount_mib", 0) > jnum(VM.machine, "mem_size_mib", 0))
			r = bad("Balloon config error: Amount of pages requested cannot be greater than "
			        "the total amount of pages");
		else {
			const char *k = sub ? "stats_polling_interval_s" : "amount_mib";
			VM.balloon = jv_object_set(VM.balloon, jv_string(k), jget(b, k));
			r = ok204();
		}
		goto out;
	}
	if (put && !strcmp(path, "vsock")) {
		if (parse_body(&S_VSOCK, body, len, &b, &r) < 0)
			return r;
		if (!pre)
			r = bad("%s", NOT_POST_BOOT);
		else if (jnum(b, "guest_cid", 0) < 3)
			r = bad("Vsock config error: Cannot create backend for vsock device: Invalid guest "
			        "CID %.0f", jnum(b, "guest_cid", 0));
		else
			r = from_err(set_simple(&VM.vsock, b));
		goto out;
	}
	if (put && !strcmp(path, "entropy")) {
		if (parse_body(&S_ENTROPY, body, len, &b, &r) < 0)
			return r;
		r = pre ? from_err(set_simple(&VM.entropy, b)) : bad("%s", NOT_POST_BOOT);
		goto out;
	}
	if (put && !strcmp(path, "cpu-config")) {
		if (parse_body(&S_CPU_CONFIG, body, len, &b, &r) < 0)
			return r;
		if (pre) {
			jv_free(VM.cpu_config);
			VM.cpu_config = jv_copy(b);
			r = ok204();
		} else {
			r = bad("%s", NOT_POST_BOOT);
		}
		goto out;
	}
	if (put && !strcmp(path, "snapshot")) {
		if (sub && !strcmp(sub, "create")) {
			if (parse_body(&S_SNAPSHOT_CREATE, body, len, &b, &r) < 0)
				return r;
			r = pre ? bad("%s", NOT_PRE_BOOT) : snapshot_create(b);
			goto out;
		}
		if (sub && !strcmp(sub, "load")) {
			if (parse_body(&S_SNAPSHOT_LOAD, body, len, &b, &r) < 0)
				return r;
			int f = jhas(b, "mem_file_path"), m = jhas(b, "mem_backend");
			if (!f && !m)
				r = deser_error("missing field: either `mem_backend` or `mem_file_path` is required");
			else if (f && m)
				r = deser_error("too many fields: either `mem_backend` or `mem_file_path` "
				                "exclusively is required.");
			else if (!pre)
				r = bad("%s", NOT_POST_BOOT);
			else if (VM.boot_path)
				r = bad("Load snapshot error: Loading a microVM snapshot not allowed after "
				        "configuring boot-specific resources.");
			else
				r = snapshot_load(b);
			goto out;
		}
		return bad("Invalid request method and/or path: PUT /snapshot.");
	}
invalid:
	return bad("Invalid request method and/or path: %s %s.", method, path);
out:
	jv_free(b);
	return r;
}

struct reply api_handle(const char *method, const char *url, const char *body, size_t len,
                        int has_body)
{
	if (has_body && len > 0) {
		/* Firecracker logs the body except for /mmds */
		if (!strncmp(url, "/mmds", 5) && (url[5] == 0 || url[5] == '/'))
			LOG_INFO("The API server received a %c%s request on \"%s\".", method[0],
			         method + 1, url);
		else
			LOG_INFO("The API server received a %c%s request on \"%s\" with body \"%.*s\".",
			         method[0], method + 1, url, (int)len, body);
	} else {
		LOG_INFO("The API server received a %c%s request on \"%s\".", method[0], method + 1, url);
	}
	int ntok;
	char **tok = split_path(url, &ntok);
	struct reply r = route(method, tok, ntok, body, len, has_body);
	free_tokens(tok, ntok);
	if (r.status == 204)
		LOG_INFO("The request was executed successfully. Status code: 204 No Content.");
	else if (r.status == 200)
		LOG_INFO("The request was executed successfully. Status code: 200 OK.");
	else {
		jv o = jv_parse(r.body ? r.body : "{}");
		jv m = jv_get_kind(o) == JV_KIND_OBJECT ? jv_object_get(jv_copy(o), jv_string("fault_message"))
		                                         : jv_invalid();
		LOG_ERROR("Received Error. Status code: 400 Bad Request. Message: %s",
		          jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : (r.body ? r.body : ""));
		jv_free(m);
		jv_free(o);
	}
	return r;
}

/* ---- --config-file ---- */

int config_apply(const char *buf, size_t len, char *err, size_t errlen)
{
	jv c;
	char e[1024];
	if (fc_deserialize(&S_VMM_CONFIG, buf, len, &c, e, sizeof e) < 0) {
		snprintf(err, errlen, "Invalid JSON: %s", e);
		return -1;
	}
	char *f = NULL;
	jv v;
#define SECTION(key, fn) \
	v = jv_object_get(jv_copy(c), jv_string(key)); \
	if (!f && jv_get_kind(v) == JV_KIND_OBJECT) \
		f = fn(v); \
	jv_free(v)
	SECTION("logger", set_logger);
	SECTION("metrics", set_metrics);
	SECTION("machine-config", put_machine);
	SECTION("boot-source", set_boot_source);
	v = jv_object_get(jv_copy(c), jv_string("drives"));
	for (int k = 0; !f && k < jv_array_length(jv_copy(v)); k++) {
		jv d = jv_array_get(jv_copy(v), k);
		f = insert_drive(d);
		jv_free(d);
	}
	jv_free(v);
	v = jv_object_get(jv_copy(c), jv_string("network-interfaces"));
	if (jv_get_kind(v) == JV_KIND_ARRAY)
		for (int k = 0; !f && k < jv_array_length(jv_copy(v)); k++) {
			jv d = jv_array_get(jv_copy(v), k);
			f = insert_net(d);
			jv_free(d);
		}
	jv_free(v);
	SECTION("balloon", set_balloon);
	v = jv_object_get(jv_copy(c), jv_string("vsock"));
	if (!f && jv_get_kind(v) == JV_KIND_OBJECT)
		f = set_simple(&VM.vsock, v);
	jv_free(v);
	v = jv_object_get(jv_copy(c), jv_string("entropy"));
	if (!f && jv_get_kind(v) == JV_KIND_OBJECT)
		f = set_simple(&VM.entropy, v);
	jv_free(v);
	SECTION("mmds-config", set_mmds_config);
#undef SECTION
	jv_free(c);
	if (f) {
		/* f is {"fault_message": "..."}: report the message alone */
		jv o = jv_parse(f);
		jv m = jv_object_get(o, jv_string("fault_message"));
		snprintf(err, errlen, "%s", jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : f);
		jv_free(m);
		free(f);
		return -1;
	}
	return 0;
}

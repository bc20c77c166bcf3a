/* netops.c — the operations of fcm-net (see netops.h): the VMs' network:
 * bridge, taps, addresses, NAT and isolation.
 *
 * Operations (doc/fcm-net.md): setup, alloc, free, tap-add, tap-del,
 * teardown, status, ls.  Links and addresses go through libnl-3, taps
 * through /dev/net/tun, nftables through libnftnl; nothing shells out.
 *
 * State under $FCM_ROOT/net/: config.json (subnet, bridge, gateway, allowed
 * ports), leases/<ip> (a file holding the VM id, made exclusively), .lock,
 * and the leases' index, kept exact under the lock so that no operation on
 * one VM reads every lease: ids/<id> (a symbolic link to ../leases/<ip>),
 * ids/.next (every address of the pool below it is leased) and
 * ids/.complete (the index holds every lease; setup makes it anew). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/atomic.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "net/net4.h"
#include "net/neigh.h"
#include "net/netlink.h"
#include "net/nft.h"
#include "net/netops.h"

const char fcm_net_usage[] =
    "fcm-net [setup|alloc|free|tap-add|tap-del|teardown|status|ls [key=value ...]]";

#define DEFAULT_SUBNET "172.16.0.0/24"
#define DEFAULT_BRIDGE "fcm0"
#define TAP_PREFIX "tap_"
#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"

struct conf {
	struct fcm_subnet sn;
	char subnet[32];
	char bridge[FCM_IFNAMSIZ];
	uint16_t tcp[FCM_NFT_PORTS_MAX], udp[FCM_NFT_PORTS_MAX];
	size_t ntcp, nudp;
	uint32_t nets[FCM_NFT_PORTS_MAX], masks[FCM_NFT_PORTS_MAX];	/* allow_nets */
	size_t nnets;
};

struct lease {
	uint32_t ip;
	char id[FCM_ID_LEN + 1];
};

/* --- checks --------------------------------------------------------------- */

static int bridge_check(const char *s, char *why, size_t len)
{
	size_t n = strlen(s);

	if (n == 0 || n >= FCM_IFNAMSIZ) {
		snprintf(why, len, "bridge name '%.32s' must be 1 to %d characters (IFNAMSIZ)", s,
		    FCM_IFNAMSIZ - 1);
		return -1;
	}
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')) {
			snprintf(why, len, "bridge name '%.32s' may hold only a-z, 0-9, '-' and '_'", s);
			return -1;
		}
	if (!strncmp(s, TAP_PREFIX, strlen(TAP_PREFIX))) {
		snprintf(why, len, "bridge name '%.32s' must not start with '%s' (fcm's taps do)", s,
		    TAP_PREFIX);
		return -1;
	}
	return 0;
}

static int ports_parse(jv arr, const char *key, uint16_t *out, size_t *n, char *why, size_t len)
{
	*n = 0;
	if (jv_array_length(jv_copy(arr)) > FCM_NFT_PORTS_MAX) {
		snprintf(why, len, "%s lists more than %d ports", key, FCM_NFT_PORTS_MAX);
		return -1;
	}
	jv_array_foreach(arr, i, v) {	/* borrows arr */
		double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;
		jv_free(v);
		if (d < 1 || d > 65535 || d != (double)(long)d) {
			snprintf(why, len, "%s must list port numbers from 1 to 65535 (item %d is not one)",
			    key, i);
			return -1;
		}
		out[(*n)++] = (uint16_t)d;
	}
	return 0;
}

/* allow_nets: ["10.1.0.0/16", "192.168.5.7", ...] */
static int nets_parse(jv arr, struct conf *c, char *why, size_t len)
{
	c->nnets = 0;
	if (jv_array_length(jv_copy(arr)) > FCM_NFT_PORTS_MAX) {
		snprintf(why, len, "allow_nets lists more than %d networks", FCM_NFT_PORTS_MAX);
		return -1;
	}
	jv_array_foreach(arr, i, v) {	/* borrows arr */
		char inner[200];
		if (jv_get_kind(v) != JV_KIND_STRING) {
			jv_free(v);
			snprintf(why, len, "allow_nets must list IPv4 networks as strings (item %d is not one)", i);
			return -1;
		}
		if (fcm_cidr4_parse(jv_string_value(v), &c->nets[c->nnets], &c->masks[c->nnets],
		    inner, sizeof inner) < 0) {
			jv_free(v);
			snprintf(why, len, "allow_nets: %s", inner);
			return -1;
		}
		jv_free(v);
		c->nnets++;
	}
	return 0;
}

static jv nets_jv(const struct conf *c)
{
	char ip[FCM_NET4_STRLEN];
	jv a = jv_array();

	for (size_t i = 0; i < c->nnets; i++) {
		unsigned prefix = 0;
		for (uint32_t m = c->masks[i]; m; m <<= 1)
			prefix++;
		fcm_ip4_format(c->nets[i], ip);
		a = jv_array_append(a, jv_string_fmt("%s/%u", ip, prefix));
	}
	return a;
}

static jv ports_jv(const uint16_t *p, size_t n)
{
	jv a = jv_array();

	for (size_t i = 0; i < n; i++)
		a = jv_array_append(a, jv_number(p[i]));
	return a;
}

/* The request's fields, or a failed reply in *fail. */
static int fields(jv req, const struct fcm_field *spec, jv *fail)
{
	char why[256];

	if (fcm_fields_check(req, spec, why, sizeof why) < 0) {
		*fail = fcm_fail(FCM_E_USAGE, "%s", why);
		return -1;
	}
	return 0;
}

static const char *id_get(jv req, jv *fail)
{
	const char *id = fcm_get_str(req, "id");

	if (!id || fcm_id_check(id) < 0) {
		*fail = fcm_fail(FCM_E_USAGE,
		    "id '%.32s' is not a VM id: give 8 characters of a-z and 0-9 (the tap is tap_<id>, at most 15 characters)",
		    id ? id : "");
		return NULL;
	}
	return id;
}

/* --- state ---------------------------------------------------------------- */

static char *net_path(const char *rel)
{
	return rel ? fcm_path("net/%s", rel) : fcm_path("net");
}

static jv conf_jv(const struct conf *c)
{
	char gw[FCM_NET4_STRLEN], mask[FCM_NET4_STRLEN], first[FCM_NET4_STRLEN], last[FCM_NET4_STRLEN];
	jv o = jv_object();

	fcm_ip4_format(c->sn.gateway, gw);
	fcm_ip4_format(c->sn.mask, mask);
	fcm_ip4_format(c->sn.first, first);
	fcm_ip4_format(c->sn.last, last);
	o = jv_object_set(o, jv_string("subnet"), jv_string(c->subnet));
	o = jv_object_set(o, jv_string("bridge"), jv_string(c->bridge));
	o = jv_object_set(o, jv_string("gateway"), jv_string(gw));
	o = jv_object_set(o, jv_string("prefix"), jv_number(c->sn.prefix));
	o = jv_object_set(o, jv_string("netmask"), jv_string(mask));
	o = jv_object_set(o, jv_string("pool"), jv_object_set(jv_object_set(jv_object_set(jv_object(),
	    jv_string("first"), jv_string(first)), jv_string("last"), jv_string(last)),
	    jv_string("size"), jv_number(fcm_subnet_pool_size(&c->sn))));
	o = jv_object_set(o, jv_string("allow_tcp"), ports_jv(c->tcp, c->ntcp));
	o = jv_object_set(o, jv_string("allow_udp"), ports_jv(c->udp, c->nudp));
	o = jv_object_set(o, jv_string("allow_nets"), nets_jv(c));
	return o;
}

/* Fill c from the request's fields over base (defaults or the saved config).
 * 0, or -1 with why. */
static int conf_build(struct conf *c, jv obj, char *why, size_t len)
{
	const char *s;
	jv a;

	if ((s = fcm_get_str(obj, "subnet")))
		snprintf(c->subnet, sizeof c->subnet, "%.31s", s);
	if ((s = fcm_get_str(obj, "bridge"))) {
		if (bridge_check(s, why, len) < 0)
			return -1;
		snprintf(c->bridge, sizeof c->bridge, "%s", s);
	}
	if ((s = fcm_get_str(obj, "subnet")) && strlen(s) >= sizeof c->subnet) {
		snprintf(why, len, "subnet '%.40s...' is not an IPv4 network such as 172.16.0.0/24", s);
		return -1;
	}
	if (fcm_subnet_parse(c->subnet, &c->sn, why, len) < 0)
		return -1;
	a = jv_object_get(jv_copy(obj), jv_string("allow_tcp"));
	if (jv_get_kind(a) == JV_KIND_ARRAY && ports_parse(a, "allow_tcp", c->tcp, &c->ntcp, why, len) < 0) {
		jv_free(a);
		return -1;
	}
	jv_free(a);
	a = jv_object_get(jv_copy(obj), jv_string("allow_udp"));
	if (jv_get_kind(a) == JV_KIND_ARRAY && ports_parse(a, "allow_udp", c->udp, &c->nudp, why, len) < 0) {
		jv_free(a);
		return -1;
	}
	jv_free(a);
	a = jv_object_get(jv_copy(obj), jv_string("allow_nets"));
	if (jv_get_kind(a) == JV_KIND_ARRAY && nets_parse(a, c, why, len) < 0) {
		jv_free(a);
		return -1;
	}
	jv_free(a);
	return 0;
}

static void conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->subnet, sizeof c->subnet, "%s", DEFAULT_SUBNET);
	snprintf(c->bridge, sizeof c->bridge, "%s", DEFAULT_BRIDGE);
	fcm_subnet_parse(c->subnet, &c->sn, NULL, 0);
}

/* 1 loaded, 0 none, -1 unreadable (message in why). */
static int conf_load(struct conf *c, char *why, size_t len)
{
	char *path = net_path("config.json");
	jv v;

	conf_defaults(c);
	v = fcm_read_json(path);
	if (!jv_is_valid(v)) {
		int e = errno;
		jv_free(v);
		if (e == ENOENT) {
			free(path);
			return 0;
		}
		snprintf(why, len, "unable to read %s: %s", path, e ? strerror(e) : "not valid JSON");
		free(path);
		return -1;
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT || !fcm_get_str(v, "subnet") || !fcm_get_str(v, "bridge") ||
	    conf_build(c, v, why, len) < 0) {
		char inner[256];
		snprintf(inner, sizeof inner, "%s", jv_get_kind(v) == JV_KIND_OBJECT ? why : "not an object");
		snprintf(why, len, "unable to use %s: %s", path, inner);
		jv_free(v);
		free(path);
		return -1;
	}
	jv_free(v);
	free(path);
	return 1;
}

/* The saved config, or a failed reply: not set up is the caller's mistake. */
static int conf_need(struct conf *c, jv *fail)
{
	char why[512];
	int r = conf_load(c, why, sizeof why);

	if (r < 0)
		*fail = fcm_fail(FCM_E_INTERNAL, "%s", why);
	else if (r == 0)
		*fail = fcm_fail(FCM_E_USAGE, "the network is not set up: run 'fcm-net setup' first");
	return r > 0 ? 0 : -1;
}

/* Take the network lock, making net/ and net/leases/ as needed. */
static int net_lock(jv *fail)
{
	char *dir = net_path("leases"), *lock = net_path(".lock");
	int fd = -1;

	if (fcm_mkdirs(dir, 0755) < 0)
		*fail = fcm_fail(FCM_E_INTERNAL, "unable to create %s: %s", dir, strerror(errno));
	else if ((fd = fcm_lock(lock, 1)) < 0)
		*fail = fcm_fail(FCM_E_INTERNAL, "unable to lock %s: %s", lock, strerror(errno));
	free(dir);
	free(lock);
	return fd;
}

static int lease_cmp(const void *a, const void *b)
{
	const struct lease *x = a, *y = b;

	return x->ip < y->ip ? -1 : x->ip > y->ip;
}

/* Every lease, sorted by address.  -1 with why when the directory cannot be
 * read; a missing directory is no lease. */
static int leases_read(struct lease **out, size_t *n, char *why, size_t len)
{
	char *dir = net_path("leases");
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 64;

	*n = 0;
	*out = fcm_malloc(cap * sizeof **out);
	if (!d) {
		int e = errno;
		if (e == ENOENT) {
			free(dir);
			return 0;
		}
		snprintf(why, len, "unable to read %s: %s", dir, strerror(e));
		free(dir);
		return -1;
	}
	while ((errno = 0, de = readdir(d))) {
		struct lease l;
		char *path, *s;
		size_t sl;

		if (de->d_name[0] == '.' || fcm_ip4_parse(de->d_name, &l.ip) < 0)
			continue;
		path = fcm_asprintf("%s/%s", dir, de->d_name);
		s = fcm_read_file(path, 64, &sl);
		free(path);
		if (!s)
			continue;	/* freed meanwhile */
		while (sl && (s[sl - 1] == '\n' || s[sl - 1] == ' '))
			s[--sl] = '\0';
		snprintf(l.id, sizeof l.id, "%s", fcm_id_check(s) == 0 ? s : "");
		free(s);
		if (*n == cap) {
			cap *= 2;
			*out = realloc(*out, cap * sizeof **out);
			if (!*out)
				fcm_die_nomem();
		}
		(*out)[(*n)++] = l;
	}
	closedir(d);
	free(dir);
	qsort(*out, *n, sizeof **out, lease_cmp);
	return 0;
}

static jv lease_jv(const struct conf *c, const struct lease *l)
{
	char ip[FCM_NET4_STRLEN], gw[FCM_NET4_STRLEN], mask[FCM_NET4_STRLEN], mac[18];
	char tap[FCM_IFNAMSIZ];
	jv o = jv_object();

	fcm_ip4_format(l->ip, ip);
	fcm_ip4_format(c->sn.gateway, gw);
	fcm_ip4_format(c->sn.mask, mask);
	fcm_mac_from_ip4(l->ip, mac);
	snprintf(tap, sizeof tap, TAP_PREFIX "%s", l->id);
	o = jv_object_set(o, jv_string("id"), jv_string(l->id));
	o = jv_object_set(o, jv_string("ip"), jv_string(ip));
	o = jv_object_set(o, jv_string("prefix"), jv_number(c->sn.prefix));
	o = jv_object_set(o, jv_string("netmask"), jv_string(mask));
	o = jv_object_set(o, jv_string("gateway"), jv_string(gw));
	o = jv_object_set(o, jv_string("mac"), jv_string(mac));
	o = jv_object_set(o, jv_string("tap"), jv_string(tap));
	o = jv_object_set(o, jv_string("bridge"), jv_string(c->bridge));
	return o;
}

static jv merge(jv into, jv from)
{
	jv_object_foreach(from, k, v)
		into = jv_object_set(into, k, v);
	jv_free(from);
	return into;
}

/* --- the leases' index ------------------------------------------------------ */

static char *ids_path(const char *rel)
{
	return fcm_path("net/ids/%s", rel);
}

/* ids/.next: the lowest address that may be free; 0 when unknown. */
static uint32_t next_read(void)
{
	char *path = ids_path(".next"), *s = fcm_read_file(path, 64, NULL);
	uint32_t ip = 0;

	free(path);
	if (s) {
		s[strcspn(s, "\n")] = '\0';
		if (fcm_ip4_parse(s, &ip) < 0)
			ip = 0;
		free(s);
	}
	return ip;
}

static int next_write(uint32_t ip)
{
	char ips[FCM_NET4_STRLEN], *path = ids_path(".next"), *line;
	int r;

	fcm_ip4_format(ip, ips);
	line = fcm_asprintf("%s\n", ips);
	r = fcm_write_replace(path, line, strlen(line), 0644);	/* a hint, and setup makes it anew */
	free(line);
	free(path);
	return r;
}

/* ids/<id> -> ../leases/<ip> */
static int index_set(const char *id, uint32_t ip)
{
	char ips[FCM_NET4_STRLEN], *path = ids_path(id), *target;
	int r;

	fcm_ip4_format(ip, ips);
	target = fcm_asprintf("../leases/%s", ips);
	if (unlink(path) < 0 && errno != ENOENT)
		r = -1;
	else
		r = symlink(target, path);
	free(target);
	free(path);
	return r;
}

/* Make the index anew from the leases (under the lock): ids/<id> of each,
 * .next past the lowest run of leased addresses, then .complete.  0, or -1
 * with why. */
static int index_rebuild(const struct conf *c, char *why, size_t len)
{
	char *dir = net_path("ids"), *done = ids_path(".complete");
	struct lease *ls;
	struct dirent *de;
	uint32_t next;
	size_t n;
	DIR *d;
	int r = -1;

	unlink(done);
	if (fcm_mkdirs(dir, 0755) < 0 || !(d = opendir(dir))) {
		snprintf(why, len, "unable to create %s: %s", dir, strerror(errno));
		goto out;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' || !strcmp(de->d_name, ".next")) {
			char *p = fcm_asprintf("%s/%s", dir, de->d_name);
			unlink(p);
			free(p);
		}
	closedir(d);
	if (leases_read(&ls, &n, why, len) < 0)
		goto out;
	next = c->sn.first;
	for (size_t i = 0; i < n; i++) {
		if (ls[i].ip == next)
			next++;
		if (ls[i].id[0] && index_set(ls[i].id, ls[i].ip) < 0) {
			snprintf(why, len, "unable to index lease %s in %s: %s", ls[i].id, dir, strerror(errno));
			free(ls);
			goto out;
		}
	}
	free(ls);
	if (next_write(next) < 0 || fcm_write_atomic(done, "", 0, 0644) < 0) {
		snprintf(why, len, "unable to write %s: %s", done, strerror(errno));
		goto out;
	}
	r = 0;
out:
	free(dir);
	free(done);
	return r;
}

/* The index, made from the leases first if it is not complete (under the
 * lock).  0, or -1 with why. */
static int index_need(const struct conf *c, char *why, size_t len)
{
	char *done = ids_path(".complete");
	int ok = access(done, F_OK) == 0;

	free(done);
	return ok ? 0 : index_rebuild(c, why, len);
}

/* The lease of id, through the index (under the lock, index_need first):
 * 1 found (in *out), 0 none.  An entry whose lease does not hold id (a crash
 * between the two writes) is none. */
static int lease_find(const char *id, struct lease *out)
{
	char *path = ids_path(id), target[64], *lease, *s;
	ssize_t k = readlink(path, target, sizeof target - 1);
	const char *ip;
	size_t sl;
	int found = 0;

	free(path);
	if (k <= 0)
		return 0;
	target[k] = '\0';
	ip = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (fcm_ip4_parse(ip, &out->ip) < 0)
		return 0;
	lease = fcm_path("net/leases/%s", ip);
	s = fcm_read_file(lease, 64, &sl);
	free(lease);
	if (s) {
		s[strcspn(s, "\n ")] = '\0';
		if (!strcmp(s, id)) {
			snprintf(out->id, sizeof out->id, "%s", id);
			found = 1;
		}
		free(s);
	}
	return found;
}

/* --- the guard: each tap speaks only as its VM (doc/fcm-net.md) ---------- */

static void guest_of(const struct lease *l, struct fcm_nft_guest *g)
{
	snprintf(g->tap, sizeof g->tap, TAP_PREFIX "%s", l->id);
	fcm_mac_bytes_from_ip4(l->ip, g->mac);
	g->ip = l->ip;
}

/* Load the anti-spoofing guard of every lease (setup).  0, or -1 with why. */
static int guard_load(char *why, size_t len)
{
	struct fcm_nft_guest *g;
	struct lease *ls;
	size_t n, k = 0;
	int r;

	if (leases_read(&ls, &n, why, len) < 0)
		return -1;
	g = fcm_malloc((n ? n : 1) * sizeof *g);
	for (size_t i = 0; i < n; i++)
		if (ls[i].id[0])
			guest_of(&ls[i], &g[k++]);
	r = fcm_nft_guard(g, k);
	if (r < 0)
		snprintf(why, len, "%s", fcm_net_error());
	free(g);
	free(ls);
	return r;
}

/* One lease into the guard (add) or out of it.  0, or -1 with why. */
static int guard_one(const struct lease *l, int add, char *why, size_t len)
{
	struct fcm_nft_guest g;

	guest_of(l, &g);
	if ((add ? fcm_nft_guard_add(&g) : fcm_nft_guard_del(&g)) < 0) {
		snprintf(why, len, "%s", fcm_net_error());
		return -1;
	}
	return 0;
}

/* Permanent neighbour entries on the bridge for every lease. */
static int neigh_all(const struct conf *c, char *why, size_t len)
{
	struct lease *ls;
	uint8_t mac[6];
	size_t n;

	if (leases_read(&ls, &n, why, len) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		fcm_mac_bytes_from_ip4(ls[i].ip, mac);
		if (fcm_neigh_set(c->bridge, ls[i].ip, mac) < 0) {
			snprintf(why, len, "%s", fcm_net_error());
			free(ls);
			return -1;
		}
	}
	free(ls);
	return 0;
}

/* Create leases/<ip> holding id: written to a temporary file, then linked
 * into place, which fails if the address is taken. */
static int lease_create(uint32_t ip, const char *id)
{
	char ips[FCM_NET4_STRLEN];
	char *tmp = net_path("leases/.tmp"), *path, *line = fcm_asprintf("%s\n", id);
	char *tmpn = fcm_asprintf("%s.%ld", tmp, (long)getpid());
	int r, e;

	fcm_ip4_format(ip, ips);
	path = fcm_path("net/leases/%s", ips);
	r = fcm_write_atomic(tmpn, line, strlen(line), 0644);
	if (r == 0) {
		r = link(tmpn, path);
		e = errno;
		unlink(tmpn);
		errno = e;
	}
	e = errno;
	free(tmp);
	free(tmpn);
	free(path);
	free(line);
	errno = e;
	return r;
}

/* --- operations ---------------------------------------------------------- */

static jv op_setup(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "subnet", JV_KIND_STRING, 0 },
		{ "bridge", JV_KIND_STRING, 0 },
		{ "allow_tcp", JV_KIND_ARRAY, 0 },
		{ "allow_udp", JV_KIND_ARRAY, 0 },
		{ "allow_nets", JV_KIND_ARRAY, 0 },
		{ NULL, 0, 0 },
	};
	struct conf old, c;
	char why[512], gw[FCM_NET4_STRLEN];
	struct lease *ls;
	size_t nl;
	jv fail, reply;
	int had, fd, br;

	if (fields(req, spec, &fail) < 0)
		return fail;
	had = conf_load(&old, why, sizeof why);
	if (had < 0)
		return fcm_fail(FCM_E_INTERNAL, "%s", why);
	c = old;
	if (conf_build(&c, req, why, sizeof why) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", why);
	if (had && (strcmp(c.subnet, old.subnet) || strcmp(c.bridge, old.bridge))) {
		/* Moving the network under live VMs would strand them. */
		if (leases_read(&ls, &nl, why, sizeof why) < 0)
			return fcm_fail(FCM_E_INTERNAL, "%s", why);
		free(ls);
		if (nl)
			return fcm_fail(FCM_E_USAGE,
			    "the network is %s on %s with %zu lease%s: free them before changing the subnet or bridge",
			    old.subnet, old.bridge, nl, nl == 1 ? "" : "s");
		br = fcm_link_get(old.bridge, NULL, NULL, NULL);
		if (br < 0)
			return fcm_fail(FCM_E_INTERNAL, "%s", fcm_net_error());
		if (br > 0)
			return fcm_fail(FCM_E_USAGE,
			    "the network is set up as %s on %s: run 'fcm-net teardown' before changing the subnet or bridge",
			    old.subnet, old.bridge);
	}

	if ((fd = net_lock(&fail)) < 0)
		return fail;
	fcm_ip4_format(c.sn.gateway, gw);
	struct fcm_nft_conf nc = {
		.bridge = c.bridge, .tap_prefix = TAP_PREFIX, .net = c.sn.net, .mask = c.sn.mask, .gateway = c.sn.gateway,
		.tcp = c.tcp, .ntcp = c.ntcp, .udp = c.udp, .nudp = c.nudp,
		.nets = c.nets, .masks = c.masks, .nnets = c.nnets,
	};
	uint8_t brmac[6];
	fcm_mac_bytes_from_ip4(c.sn.gateway, brmac);	/* 06:00 and the gateway's address */
	if ((br = fcm_bridge_ensure(c.bridge, brmac)) < 0 ||
	    fcm_addr4_ensure(br, c.bridge, c.sn.gateway, c.sn.prefix) < 0 ||
	    fcm_link_up(c.bridge, 0) < 0 ||
	    fcm_sysctl_write(IP_FORWARD, "1\n") < 0 ||
	    fcm_nft_apply(&nc) < 0) {
		fcm_unlock(fd);
		return fcm_fail(FCM_E_INTERNAL, "%s", fcm_net_error());
	}
	if (index_rebuild(&c, why, sizeof why) < 0 || guard_load(why, sizeof why) < 0 ||
	    neigh_all(&c, why, sizeof why) < 0) {
		fcm_unlock(fd);
		return fcm_fail(FCM_E_INTERNAL, "%s", why);
	}
	reply = conf_jv(&c);
	char *path = net_path("config.json");
	if (fcm_write_json_atomic(path, jv_copy(reply), 0644) < 0) {
		int e = errno;
		jv_free(reply);
		fcm_unlock(fd);
		reply = fcm_fail(FCM_E_INTERNAL, "unable to write %s: %s", path, strerror(e));
		free(path);
		return reply;
	}
	free(path);
	fcm_unlock(fd);
	return merge(fcm_ok(), reply);
}

static jv op_alloc(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "id", JV_KIND_STRING, 1 },
		{ NULL, 0, 0 },
	};
	struct conf c;
	struct lease l;
	char why[512], first[FCM_NET4_STRLEN], ips[FCM_NET4_STRLEN];
	const char *id;
	uint32_t ip;
	jv fail;
	int fd;

	if (fields(req, spec, &fail) < 0 || !(id = id_get(req, &fail)) || conf_need(&c, &fail) < 0)
		return fail;
	if ((fd = net_lock(&fail)) < 0)
		return fail;
	if (index_need(&c, why, sizeof why) < 0) {
		fcm_unlock(fd);
		return fcm_fail(FCM_E_INTERNAL, "%s", why);
	}
	if (lease_find(id, &l))
		goto done;	/* the same id gets the same lease */
	/* The lowest free address: every one below ids/.next is leased, so
	 * the search starts there (a free lowers it). */
	ip = next_read();
	if (ip < c.sn.first)
		ip = c.sn.first;
	for (;; ip++) {
		struct stat st;
		char *path;
		int taken;
		if (ip > c.sn.last || ip < c.sn.first) {
			fcm_unlock(fd);
			fcm_ip4_format(c.sn.first, first);
			return fcm_fail(FCM_E_UNAVAILABLE,
			    "subnet %s is full (%u addresses from .%s): free one or set a larger subnet",
			    c.subnet, fcm_subnet_pool_size(&c.sn), strrchr(first, '.') + 1);
		}
		fcm_ip4_format(ip, ips);
		path = fcm_path("net/leases/%s", ips);
		taken = lstat(path, &st) == 0;
		free(path);
		if (taken)
			continue;
		/* The index first: a lease is never without its entry (an
		 * entry without its lease is no lease, lease_find). */
		if (index_set(id, ip) < 0) {
			int e = errno;
			fcm_unlock(fd);
			return fcm_fail(FCM_E_INTERNAL, "unable to index lease %s for %s: %s", ips, id, strerror(e));
		}
		if (lease_create(ip, id) == 0)
			break;
		if (errno != EEXIST) {
			int e = errno;
			fcm_unlock(fd);
			return fcm_fail(FCM_E_INTERNAL, "unable to create lease %s for %s: %s", ips, id, strerror(e));
		}
	}
	l.ip = ip;
	snprintf(l.id, sizeof l.id, "%s", id);
	if (next_write(ip + 1) < 0) {	/* only a hint: .next may stay lower */
		fcm_ip4_format(ip + 1, ips);
		fcm_warn_sys("unable to write the next free address (%s)", ips);
	}
done:
	fcm_unlock(fd);
	return merge(fcm_ok(), lease_jv(&c, &l));
}

static jv op_free(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "id", JV_KIND_STRING, 1 },
		{ NULL, 0, 0 },
	};
	char why[512], ips[FCM_NET4_STRLEN];
	const char *id;
	struct conf c;
	struct lease l;
	struct stat st;
	char *dir;
	jv fail, freed = jv_null();
	int fd, had;

	if (fields(req, spec, &fail) < 0 || !(id = id_get(req, &fail)))
		return fail;
	dir = net_path("leases");
	if (stat(dir, &st) < 0) {
		free(dir);
		return jv_object_set(jv_object_set(fcm_ok(), jv_string("id"), jv_string(id)),
		    jv_string("freed"), jv_null());
	}
	free(dir);
	if ((had = conf_load(&c, why, sizeof why)) < 0)
		return fcm_fail(FCM_E_INTERNAL, "%s", why);
	if ((fd = net_lock(&fail)) < 0)
		return fail;
	if (index_need(&c, why, sizeof why) < 0) {
		fcm_unlock(fd);
		return fcm_fail(FCM_E_INTERNAL, "%s", why);
	}
	if (lease_find(id, &l)) {
		char *path, *entry;
		int tables;
		fcm_ip4_format(l.ip, ips);
		/* Its guard element goes with the address: whoever gets the
		 * address next gets a new one.  (When there is a guard.) */
		if (had > 0 && (tables = fcm_nft_table_exists("bridge")) != 0 &&
		    (tables < 0 || guard_one(&l, 0, why, sizeof why) < 0)) {
			fcm_unlock(fd);
			return fcm_fail(FCM_E_INTERNAL, "%s", tables < 0 ? fcm_net_error() : why);
		}
		/* .next first: lower than the truth is only slower. */
		if (next_read() > l.ip && next_write(l.ip) < 0)
			fcm_warn_sys("unable to write the next free address (%s)", ips);
		path = fcm_path("net/leases/%s", ips);
		if (unlink(path) < 0 && errno != ENOENT) {
			int e = errno;
			jv r = fcm_fail(FCM_E_INTERNAL, "unable to remove lease %s: %s", path, strerror(e));
			free(path);
			fcm_unlock(fd);
			return r;
		}
		free(path);
		entry = ids_path(id);
		unlink(entry);
		free(entry);
		freed = jv_string(ips);
	}
	fcm_unlock(fd);
	return jv_object_set(jv_object_set(fcm_ok(), jv_string("id"), jv_string(id)),
	    jv_string("freed"), freed);
}

static jv op_tap_add(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "id", JV_KIND_STRING, 1 },
		{ "uid", JV_KIND_NUMBER, 0 },
		{ "gid", JV_KIND_NUMBER, 0 },
		{ NULL, 0, 0 },
	};
	char tap[FCM_IFNAMSIZ], why[512];
	struct conf c;
	struct lease l;
	uint8_t mac[6];
	const char *id;
	jv fail, juid, jgid;
	int br, idx, fd, found, created = 0;
	long uid = -1, gid = -1;

	if (fields(req, spec, &fail) < 0 || !(id = id_get(req, &fail)) || conf_need(&c, &fail) < 0)
		return fail;
	/* A confined VM's tap belongs to its uid and gid (doc/security.md). */
	juid = jv_object_get(jv_copy(req), jv_string("uid"));
	jgid = jv_object_get(jv_copy(req), jv_string("gid"));
	if (jv_get_kind(juid) == JV_KIND_NUMBER)	/* a whole number, else refused below */
		uid = jv_number_value(juid) == (double)(long)jv_number_value(juid) ? (long)jv_number_value(juid) : 0;
	if (jv_get_kind(jgid) == JV_KIND_NUMBER)
		gid = jv_number_value(jgid) == (double)(long)jv_number_value(jgid) ? (long)jv_number_value(jgid) : 0;
	jv_free(juid);
	jv_free(jgid);
	if ((uid != -1 && (uid < 1 || uid > 0xfffffffeL)) || (gid != -1 && (gid < 1 || gid > 0xfffffffeL)) ||
	    (uid == -1) != (gid == -1))
		return fcm_fail(FCM_E_USAGE, "uid and gid go together, each a number from 1 to 4294967294");
	snprintf(tap, sizeof tap, TAP_PREFIX "%s", id);
	if ((br = fcm_link_get(c.bridge, NULL, NULL, NULL)) < 0)
		return fcm_fail(FCM_E_INTERNAL, "%s", fcm_net_error());
	if (br == 0)
		return fcm_fail(FCM_E_INTERNAL, "unable to attach %s: bridge %s is missing: run 'fcm-net setup'",
		    tap, c.bridge);
	if ((idx = fcm_link_get(tap, NULL, NULL, NULL)) < 0)
		return fcm_fail(FCM_E_INTERNAL, "%s", fcm_net_error());
	if (idx == 0) {
		if (fcm_tap_create(tap) < 0)
			return fcm_fail(FCM_E_INTERNAL, "%s", fcm_net_error());
		created = 1;
	}
	if ((uid != -1 && fcm_tap_owner(tap, uid, gid) < 0) ||
	    fcm_link_up(tap, br) < 0 || fcm_brport_isolate(tap) < 0) {
		jv r = fcm_fail(FCM_E_INTERNAL, "%s", fcm_net_error());
		if (created)
			fcm_link_delete(tap);	/* no half tap */
		return r;
	}
	/* The guard and the neighbour entry follow the lease (alloc comes
	 * first); a tap with no lease may send nothing. */
	if ((fd = net_lock(&fail)) < 0)
		return fail;
	found = index_need(&c, why, sizeof why) < 0 ? -1 : lease_find(id, &l);
	if (found > 0 && guard_one(&l, 1, why, sizeof why) < 0)
		found = -1;
	if (found > 0) {
		fcm_mac_bytes_from_ip4(l.ip, mac);
		if (fcm_neigh_set(c.bridge, l.ip, mac) < 0) {
			snprintf(why, sizeof why, "%s", fcm_net_error());
			found = -1;
		}
	}
	fcm_unlock(fd);
	if (found < 0) {
		if (created)
			fcm_link_delete(tap);	/* no half tap */
		return fcm_fail(FCM_E_INTERNAL, "%s", why);
	}
	jv r = jv_object_set(jv_object_set(jv_object_set(fcm_ok(), jv_string("tap"), jv_string(tap)),
	    jv_string("bridge"), jv_string(c.bridge)), jv_string("created"), jv_bool(created));
	if (uid != -1)
		r = jv_object_set(jv_object_set(r, jv_string("uid"), jv_number((double)uid)),
		    jv_string("gid"), jv_number((double)gid));
	return r;
}

static jv op_tap_del(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ "id", JV_KIND_STRING, 1 },
		{ NULL, 0, 0 },
	};
	char tap[FCM_IFNAMSIZ], why[512];
	struct conf c;
	struct lease l;
	const char *id;
	jv fail;
	int r, fd, found, tables;

	if (fields(req, spec, &fail) < 0 || !(id = id_get(req, &fail)))
		return fail;
	snprintf(tap, sizeof tap, TAP_PREFIX "%s", id);
	if ((r = fcm_link_delete(tap)) < 0)
		return fcm_fail(FCM_E_INTERNAL, "%s", fcm_net_error());
	/* Its guard rules and neighbour entry go with it (when there is a
	 * network left to take them from: tap-del stays idempotent). */
	if (conf_load(&c, why, sizeof why) > 0 && (tables = fcm_nft_table_exists("bridge")) >= 0) {
		if ((fd = net_lock(&fail)) < 0)
			return fail;
		found = index_need(&c, why, sizeof why) < 0 ? -1 : lease_find(id, &l);
		if (found > 0 && tables && guard_one(&l, 0, why, sizeof why) < 0)
			found = -1;
		if (found > 0 && fcm_neigh_del(c.bridge, l.ip) < 0) {
			snprintf(why, sizeof why, "%s", fcm_net_error());
			found = -1;
		}
		fcm_unlock(fd);
		if (found < 0)
			return fcm_fail(FCM_E_INTERNAL, "%s", why);
	}
	return jv_object_set(jv_object_set(fcm_ok(), jv_string("tap"), jv_string(tap)),
	    jv_string("deleted"), jv_bool(r > 0));
}

/* Is this link one of fcm's taps? tap_<id>, a tun device or a port of the bridge. */
static int is_fcm_tap(jv link, int bridge)
{
	const char *name = fcm_get_str(link, "name"), *kind = fcm_get_str(link, "kind");
	jv m = jv_object_get(jv_copy(link), jv_string("master"));
	int master = (int)jv_number_value(m);

	jv_free(m);
	return name && !strncmp(name, TAP_PREFIX, strlen(TAP_PREFIX)) &&
	    fcm_id_check(name + strlen(TAP_PREFIX)) == 0 &&
	    ((kind && !strcmp(kind, "tun")) || (bridge > 0 && master == bridge));
}

static jv op_teardown(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ NULL, 0, 0 },
	};
	char why[512], kind[FCM_IFNAMSIZ];
	struct conf c;
	jv fail, links, taps;
	int br, bridge_deleted = 0;

	if (fields(req, spec, &fail) < 0)
		return fail;
	if (conf_load(&c, why, sizeof why) < 0)
		return fcm_fail(FCM_E_INTERNAL, "%s", why);
	if ((br = fcm_link_get(c.bridge, kind, NULL, NULL)) < 0)
		return fcm_fail(FCM_E_INTERNAL, "%s", fcm_net_error());
	taps = jv_array();
	links = fcm_links();
	if (!jv_is_valid(links)) {
		jv_free(links);
		jv_free(taps);
		return fcm_fail(FCM_E_INTERNAL, "%s", fcm_net_error());
	}
	jv_array_foreach(links, i, l) {
		if (is_fcm_tap(l, br)) {
			const char *name = fcm_get_str(l, "name");
			if (fcm_link_delete(name) < 0) {
				jv_free(l);
				jv_free(links);
				jv_free(taps);
				return fcm_fail(FCM_E_INTERNAL, "%s", fcm_net_error());
			}
			taps = jv_array_append(taps, jv_string(name));
		}
		jv_free(l);
	}
	jv_free(links);
	if (br > 0 && !strcmp(kind, "bridge")) {
		if (fcm_link_delete(c.bridge) < 0) {
			jv_free(taps);
			return fcm_fail(FCM_E_INTERNAL, "%s", fcm_net_error());
		}
		bridge_deleted = 1;
	}
	if (fcm_nft_delete() < 0) {
		jv_free(taps);
		return fcm_fail(FCM_E_INTERNAL, "%s", fcm_net_error());
	}
	return jv_object_set(jv_object_set(jv_object_set(fcm_ok(),
	    jv_string("bridge"), jv_string(c.bridge)), jv_string("bridge_deleted"), jv_bool(bridge_deleted)),
	    jv_string("taps_deleted"), taps);
}

static jv op_status(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ NULL, 0, 0 },
	};
	char why[512], kind[FCM_IFNAMSIZ] = "";
	struct conf c;
	struct lease *ls;
	size_t n;
	int had, br, up = 0, inet, bridge;
	char *fwd;
	jv fail, r, b, addrs, links, taps;

	if (fields(req, spec, &fail) < 0)
		return fail;
	if ((had = conf_load(&c, why, sizeof why)) < 0)
		return fcm_fail(FCM_E_INTERNAL, "%s", why);
	if (leases_read(&ls, &n, why, sizeof why) < 0)
		return fcm_fail(FCM_E_INTERNAL, "%s", why);
	free(ls);
	if ((br = fcm_link_get(c.bridge, kind, &up, NULL)) < 0 ||
	    (inet = fcm_nft_table_exists("inet")) < 0 || (bridge = fcm_nft_table_exists("bridge")) < 0)
		return fcm_fail(FCM_E_INTERNAL, "%s", fcm_net_error());
	links = fcm_links();
	if (!jv_is_valid(links)) {
		jv_free(links);
		return fcm_fail(FCM_E_INTERNAL, "%s", fcm_net_error());
	}
	taps = jv_array();
	jv_array_foreach(links, i, l) {
		if (is_fcm_tap(l, br)) {
			jv m = jv_object_get(jv_copy(l), jv_string("master"));
			int attached = br > 0 && (int)jv_number_value(m) == br;
			jv_free(m);
			taps = jv_array_append(taps, jv_object_set(jv_object_set(jv_object_set(jv_object(),
			    jv_string("name"), jv_object_get(jv_copy(l), jv_string("name"))),
			    jv_string("up"), jv_object_get(jv_copy(l), jv_string("up"))),
			    jv_string("attached"), jv_bool(attached)));
		}
		jv_free(l);
	}
	jv_free(links);
	b = jv_object_set(jv_object(), jv_string("name"), jv_string(c.bridge));
	b = jv_object_set(b, jv_string("exists"), jv_bool(br > 0 && !strcmp(kind, "bridge")));
	b = jv_object_set(b, jv_string("up"), jv_bool(br > 0 && up));
	addrs = br > 0 ? fcm_addrs4(br) : jv_array();
	if (!jv_is_valid(addrs)) {
		jv_free(addrs);
		jv_free(b);
		jv_free(taps);
		return fcm_fail(FCM_E_INTERNAL, "%s", fcm_net_error());
	}
	b = jv_object_set(b, jv_string("addrs"), addrs);
	fwd = fcm_read_file(IP_FORWARD, 16, NULL);
	r = fcm_ok();
	r = jv_object_set(r, jv_string("configured"), jv_bool(had));
	r = jv_object_set(r, jv_string("config"), had ? conf_jv(&c) : jv_null());
	r = jv_object_set(r, jv_string("bridge"), b);
	r = jv_object_set(r, jv_string("tables"), jv_object_set(jv_object_set(jv_object(),
	    jv_string("inet"), jv_bool(inet)), jv_string("bridge"), jv_bool(bridge)));
	r = jv_object_set(r, jv_string("ip_forward"), jv_bool(fwd && fwd[0] == '1'));
	r = jv_object_set(r, jv_string("leases"), jv_number((double)n));
	r = jv_object_set(r, jv_string("taps"), taps);
	free(fwd);
	return r;
}

static jv op_ls(jv req)
{
	static const struct fcm_field spec[] = {
		{ "op", JV_KIND_STRING, 1 },
		{ NULL, 0, 0 },
	};
	char why[512];
	struct conf c;
	struct lease *ls;
	size_t n;
	jv fail, arr = jv_array();

	if (fields(req, spec, &fail) < 0)
		return fail;
	if (conf_load(&c, why, sizeof why) < 0 || leases_read(&ls, &n, why, sizeof why) < 0)
		return fcm_fail(FCM_E_INTERNAL, "%s", why);
	for (size_t i = 0; i < n; i++)
		arr = jv_array_append(arr, lease_jv(&c, &ls[i]));
	free(ls);
	return jv_object_set(fcm_ok(), jv_string("leases"), arr);
}

const struct fcm_op fcm_net_ops[] = {
	{ "setup", op_setup },
	{ "alloc", op_alloc },
	{ "free", op_free },
	{ "tap-add", op_tap_add },
	{ "tap-del", op_tap_del },
	{ "teardown", op_teardown },
	{ "status", op_status },
	{ "ls", op_ls },
	{ NULL, NULL },
};

/* netlink.c — links, addresses and taps for fcm-net (see netlink.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>

#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>

#include "net/netlink.h"

static struct nl_sock *sk;
static char errbuf[512];

const char *fcm_net_error(void)
{
	return errbuf;
}

#define fail fcm_net_fail

int fcm_net_fail(const char *reason, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof errbuf, fmt, ap);
	va_end(ap);
	n = strlen(errbuf);
	snprintf(errbuf + n, sizeof errbuf - n, ": %s", reason);
	return -1;
}

/* libnl's messages for the common errors, as strerror would say them. */
static const char *nlerr(int err)
{
	switch (err < 0 ? -err : err) {
	case NLE_PERM: return strerror(EPERM);
	case NLE_NOACCESS: return strerror(EACCES);
	case NLE_EXIST: return strerror(EEXIST);
	case NLE_NODEV: return strerror(ENODEV);
	case NLE_NOMEM: return strerror(ENOMEM);
	case NLE_BUSY: return strerror(EBUSY);
	case NLE_INVAL: return strerror(EINVAL);
	case NLE_RANGE: return strerror(ERANGE);
	case NLE_OPNOTSUPP: return strerror(EOPNOTSUPP);
	case NLE_AF_NOSUPPORT: return strerror(EAFNOSUPPORT);
	case NLE_OBJ_NOTFOUND: return "no such object";
	default: return nl_geterror(err);
	}
}

int fcm_nl_open(void)
{
	int err;

	if (sk)
		return 0;
	sk = nl_socket_alloc();
	if (!sk)
		return fail(strerror(ENOMEM), "unable to open a netlink socket");
	if ((err = nl_connect(sk, NETLINK_ROUTE)) < 0) {
		nl_socket_free(sk);
		sk = NULL;
		return fail(nlerr(err), "unable to connect to rtnetlink");
	}
	return 0;
}

struct nl_sock *fcm_nl_sock(void)
{
	return sk;
}

const char *fcm_nl_strerror(int err)
{
	return nlerr(err);
}

void fcm_nl_close(void)
{
	if (sk)
		nl_socket_free(sk);
	sk = NULL;
}

int fcm_link_get(const char *name, char kind[FCM_IFNAMSIZ], int *up, int *master)
{
	struct rtnl_link *link = NULL;
	const char *type;
	int err, idx;

	if (fcm_nl_open() < 0)
		return -1;
	err = rtnl_link_get_kernel(sk, 0, name, &link);
	if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND)
		return 0;
	if (err < 0)
		return fail(nlerr(err), "unable to look up link %s", name);
	idx = rtnl_link_get_ifindex(link);
	type = rtnl_link_get_type(link);
	if (kind)
		snprintf(kind, FCM_IFNAMSIZ, "%s", type ? type : "");
	if (up)
		*up = !!(rtnl_link_get_flags(link) & IFF_UP);
	if (master)
		*master = rtnl_link_get_master(link);
	rtnl_link_put(link);
	return idx;
}

/* Set link name's MAC to mac, or to the one it has when mac is NULL: either
 * way the kernel then keeps it (addr_assign_type "set").  0, or -1. */
static int link_pin_addr(const char *name, const uint8_t *mac)
{
	struct rtnl_link *orig = NULL, *change = NULL;
	struct nl_addr *a = NULL;
	int err;

	err = rtnl_link_get_kernel(sk, 0, name, &orig);
	if (err < 0)
		return fail(nlerr(err), "unable to look up link %s", name);
	if (mac)
		a = nl_addr_build(AF_LLC, mac, 6);
	else if (rtnl_link_get_addr(orig))
		a = nl_addr_clone(rtnl_link_get_addr(orig));
	change = rtnl_link_alloc();
	if (!a || !change) {
		nl_addr_put(a);
		rtnl_link_put(change);
		rtnl_link_put(orig);
		return fail(strerror(ENOMEM), "unable to set the address of %s", name);
	}
	rtnl_link_set_addr(change, a);
	err = rtnl_link_change(sk, orig, change, 0);
	nl_addr_put(a);
	rtnl_link_put(change);
	rtnl_link_put(orig);
	if (err < 0)
		return fail(nlerr(err), "unable to set the address of %s", name);
	return 0;
}

int fcm_bridge_ensure(const char *name, const uint8_t mac[6])
{
	char kind[FCM_IFNAMSIZ];
	struct rtnl_link *link;
	struct nl_addr *a;
	int idx, err;

	idx = fcm_link_get(name, kind, NULL, NULL);
	if (idx < 0)
		return -1;
	if (idx > 0) {
		if (strcmp(kind, "bridge"))
			return fail("it is not a bridge", "unable to use link %s as the bridge (kind '%s')",
			    name, kind);
		/* One made before the address was pinned (or by someone
		 * else): the address it has now, pinned. */
		struct rtnl_link *now = NULL;
		int same = 0;
		if (rtnl_link_get_kernel(sk, 0, name, &now) >= 0) {
			struct nl_addr *cur = rtnl_link_get_addr(now);
			same = cur && nl_addr_get_len(cur) == 6 && !memcmp(nl_addr_get_binary_addr(cur), mac, 6);
			rtnl_link_put(now);
		}
		if (!same && link_pin_addr(name, NULL) < 0)
			return -1;
		return idx;
	}
	link = rtnl_link_bridge_alloc();
	a = nl_addr_build(AF_LLC, mac, 6);
	if (!link || !a) {
		nl_addr_put(a);
		rtnl_link_put(link);
		return fail(strerror(ENOMEM), "unable to create bridge %s", name);
	}
	rtnl_link_set_name(link, name);
	rtnl_link_set_addr(link, a);
	err = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
	nl_addr_put(a);
	rtnl_link_put(link);
	if (err < 0 && err != -NLE_EXIST)
		return fail(nlerr(err), "unable to create bridge %s", name);
	idx = fcm_link_get(name, kind, NULL, NULL);
	if (idx == 0)
		return fail("it vanished", "unable to create bridge %s", name);
	return idx;
}

int fcm_link_up(const char *name, int master)
{
	struct rtnl_link *orig = NULL, *change;
	int err;

	if (fcm_nl_open() < 0)
		return -1;
	err = rtnl_link_get_kernel(sk, 0, name, &orig);
	if (err < 0)
		return fail(nlerr(err), "unable to bring up link %s", name);
	if ((rtnl_link_get_flags(orig) & IFF_UP) &&
	    (master <= 0 || rtnl_link_get_master(orig) == master)) {
		rtnl_link_put(orig);
		return 0;
	}
	change = rtnl_link_alloc();
	if (!change) {
		rtnl_link_put(orig);
		return fail(strerror(ENOMEM), "unable to bring up link %s", name);
	}
	if (master > 0 && rtnl_link_get_master(orig) != master)
		rtnl_link_set_master(change, master);
	rtnl_link_set_flags(change, IFF_UP);
	err = rtnl_link_change(sk, orig, change, 0);
	rtnl_link_put(change);
	rtnl_link_put(orig);
	if (err < 0)
		return master > 0 ? fail(nlerr(err), "unable to attach link %s to the bridge", name)
		    : fail(nlerr(err), "unable to bring up link %s", name);
	return 0;
}

int fcm_brport_isolate(const char *name)
{
	struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE };
	struct nl_msg *msg;
	struct nlattr *nest;
	int idx, err;

	idx = fcm_link_get(name, NULL, NULL, NULL);
	if (idx <= 0)
		return idx < 0 ? -1 : fail(strerror(ENODEV), "unable to isolate bridge port %s", name);
	ifi.ifi_index = idx;
	msg = nlmsg_alloc_simple(RTM_SETLINK, 0);
	if (!msg)
		return fail(strerror(ENOMEM), "unable to isolate bridge port %s", name);
	if (nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
	    !(nest = nla_nest_start(msg, IFLA_PROTINFO | NLA_F_NESTED)) ||
	    nla_put_u8(msg, IFLA_BRPORT_ISOLATED, 1) < 0) {
		nlmsg_free(msg);
		return fail(strerror(ENOMEM), "unable to isolate bridge port %s", name);
	}
	nla_nest_end(msg, nest);
	err = nl_send_sync(sk, msg);	/* frees msg */
	if (err < 0)
		return fail(nlerr(err), "unable to isolate bridge port %s", name);
	return 0;
}

int fcm_link_delete(const char *name)
{
	struct rtnl_link *link;
	int idx, err;

	idx = fcm_link_get(name, NULL, NULL, NULL);
	if (idx <= 0)
		return idx;
	link = rtnl_link_alloc();
	if (!link)
		return fail(strerror(ENOMEM), "unable to delete link %s", name);
	rtnl_link_set_ifindex(link, idx);
	rtnl_link_set_name(link, name);
	err = rtnl_link_delete(sk, link);
	rtnl_link_put(link);
	if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND)
		return 0;
	if (err < 0)
		return fail(nlerr(err), "unable to delete link %s", name);
	return 1;
}

int fcm_tap_create(const char *name)
{
	struct ifreq ifr;
	int fd, e;

	if (strlen(name) >= IFNAMSIZ)
		return fail(strerror(ENAMETOOLONG), "unable to create tap %s", name);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail(strerror(errno), "unable to create tap %s: unable to open /dev/net/tun", name);
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
		e = errno;
		close(fd);
		return fail(strerror(e), "unable to create tap %s", name);
	}
	close(fd);
	return 0;
}

int fcm_tap_owner(const char *name, long uid, long gid)
{
	struct ifreq ifr;
	int fd, e;

	if (strlen(name) >= IFNAMSIZ)
		return fail(strerror(ENAMETOOLONG), "unable to give tap %s to uid %ld", name, uid);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail(strerror(errno), "unable to give tap %s to uid %ld: unable to open /dev/net/tun", name, uid);
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETOWNER, uid) < 0 ||
	    ioctl(fd, TUNSETGROUP, gid) < 0) {
		e = errno;
		close(fd);
		return fail(strerror(e), "unable to give tap %s to uid %ld", name, uid);
	}
	close(fd);
	return 0;
}

jv fcm_links(void)
{
	struct nl_cache *cache;
	struct nl_object *o;
	jv out = jv_array();
	int err;

	if (fcm_nl_open() < 0)
		return jv_invalid_with_msg(jv_string(errbuf));
	if ((err = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache)) < 0) {
		fail(nlerr(err), "unable to list links");
		jv_free(out);
		return jv_invalid_with_msg(jv_string(errbuf));
	}
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const char *type = rtnl_link_get_type(l);
		jv e = jv_object();

		e = jv_object_set(e, jv_string("name"), jv_string(rtnl_link_get_name(l)));
		e = jv_object_set(e, jv_string("index"), jv_number(rtnl_link_get_ifindex(l)));
		e = jv_object_set(e, jv_string("kind"), jv_string(type ? type : ""));
		e = jv_object_set(e, jv_string("master"), jv_number(rtnl_link_get_master(l)));
		e = jv_object_set(e, jv_string("up"), jv_bool(rtnl_link_get_flags(l) & IFF_UP));
		out = jv_array_append(out, e);
	}
	nl_cache_free(cache);
	return out;
}

jv fcm_addrs4(int ifindex)
{
	struct nl_cache *cache;
	struct nl_object *o;
	jv out = jv_array();
	int err;

	if (fcm_nl_open() < 0)
		return jv_invalid_with_msg(jv_string(errbuf));
	if ((err = rtnl_addr_alloc_cache(sk, &cache)) < 0) {
		fail(nlerr(err), "unable to list addresses");
		jv_free(out);
		return jv_invalid_with_msg(jv_string(errbuf));
	}
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(a);
		char buf[64], ip[INET_ADDRSTRLEN];

		if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_family(a) != AF_INET ||
		    !local || nl_addr_get_len(local) != 4)
			continue;
		if (!inet_ntop(AF_INET, nl_addr_get_binary_addr(local), ip, sizeof ip))
			continue;
		snprintf(buf, sizeof buf, "%s/%d", ip, rtnl_addr_get_prefixlen(a));
		out = jv_array_append(out, jv_string(buf));
	}
	nl_cache_free(cache);
	return out;
}

static struct rtnl_addr *addr4_new(int ifindex, uint32_t ip, unsigned prefix, int brd)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local, *bcast;
	uint32_t be = htonl(ip), bbe = htonl(ip | ~(0xffffffffu << (32 - prefix)));

	if (!a)
		return NULL;
	local = nl_addr_build(AF_INET, &be, 4);
	if (!local) {
		rtnl_addr_put(a);
		return NULL;
	}
	nl_addr_set_prefixlen(local, (int)prefix);
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_family(a, AF_INET);
	rtnl_addr_set_local(a, local);
	rtnl_addr_set_prefixlen(a, (int)prefix);
	nl_addr_put(local);
	if (brd && (bcast = nl_addr_build(AF_INET, &bbe, 4))) {
		rtnl_addr_set_broadcast(a, bcast);
		nl_addr_put(bcast);
	}
	return a;
}

int fcm_addr4_ensure(int ifindex, const char *ifname, uint32_t ip, unsigned prefix)
{
	struct rtnl_addr *a;
	char s[INET_ADDRSTRLEN];
	uint32_t be = htonl(ip);
	int err;

	inet_ntop(AF_INET, &be, s, sizeof s);
	if (fcm_nl_open() < 0)
		return -1;
	if (!(a = addr4_new(ifindex, ip, prefix, 1)))
		return fail(strerror(ENOMEM), "unable to add address %s/%u to %s", s, prefix, ifname);
	err = rtnl_addr_add(sk, a, 0);
	rtnl_addr_put(a);
	if (err < 0 && err != -NLE_EXIST)
		return fail(nlerr(err), "unable to add address %s/%u to %s", s, prefix, ifname);
	return 0;
}

int fcm_sysctl_write(const char *path, const char *value)
{
	size_t n = strlen(value);
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return fail(strerror(errno), "unable to open %s", path);
	if (write(fd, value, n) != (ssize_t)n) {
		int e = errno;
		close(fd);
		return fail(strerror(e), "unable to write %s", path);
	}
	if (close(fd) < 0)
		return fail(strerror(errno), "unable to write %s", path);
	return 0;
}

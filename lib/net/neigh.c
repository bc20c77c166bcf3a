/* neigh.c — static neighbour entries for the VMs (neigh.h). */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/neighbour.h>

#include <netlink/netlink.h>
#include <netlink/route/neighbour.h>

#include "net/neigh.h"
#include "net/netlink.h"

/* A neighbour object for ip on dev (mac when given); NULL with the error set. */
static struct rtnl_neigh *neigh_new(const char *dev, uint32_t ip, const uint8_t *mac, const char *what)
{
	char s[INET_ADDRSTRLEN];
	uint32_t be = htonl(ip);
	struct rtnl_neigh *n;
	struct nl_addr *a;
	int idx;

	inet_ntop(AF_INET, &be, s, sizeof s);
	if (fcm_nl_open() < 0)
		return NULL;
	if ((idx = fcm_link_get(dev, NULL, NULL, NULL)) <= 0) {
		if (idx == 0)
			fcm_net_fail(strerror(ENODEV), "unable to %s the neighbour entry of %s on %s", what, s, dev);
		return NULL;
	}
	if (!(n = rtnl_neigh_alloc()) || !(a = nl_addr_build(AF_INET, &be, 4))) {
		if (n)
			rtnl_neigh_put(n);
		fcm_net_fail(strerror(ENOMEM), "unable to %s the neighbour entry of %s on %s", what, s, dev);
		return NULL;
	}
	rtnl_neigh_set_ifindex(n, idx);
	rtnl_neigh_set_family(n, AF_INET);
	rtnl_neigh_set_dst(n, a);
	nl_addr_put(a);
	if (mac) {
		struct nl_addr *ll = nl_addr_build(AF_LLC, mac, 6);
		if (!ll) {
			rtnl_neigh_put(n);
			fcm_net_fail(strerror(ENOMEM), "unable to %s the neighbour entry of %s on %s", what, s, dev);
			return NULL;
		}
		rtnl_neigh_set_lladdr(n, ll);
		nl_addr_put(ll);
		rtnl_neigh_set_state(n, NUD_PERMANENT);
	}
	return n;
}

int fcm_neigh_set(const char *dev, uint32_t ip, const uint8_t mac[6])
{
	struct rtnl_neigh *n = neigh_new(dev, ip, mac, "set");
	char s[INET_ADDRSTRLEN];
	uint32_t be = htonl(ip);
	int err;

	if (!n)
		return -1;
	err = rtnl_neigh_add(fcm_nl_sock(), n, NLM_F_CREATE | NLM_F_REPLACE);
	rtnl_neigh_put(n);
	if (err < 0) {
		inet_ntop(AF_INET, &be, s, sizeof s);
		return fcm_net_fail(fcm_nl_strerror(err), "unable to set the neighbour entry of %s on %s", s, dev);
	}
	return 0;
}

int fcm_neigh_del(const char *dev, uint32_t ip)
{
	struct rtnl_neigh *n;
	char s[INET_ADDRSTRLEN];
	uint32_t be = htonl(ip);
	int err, idx;

	if (fcm_nl_open() < 0 || (idx = fcm_link_get(dev, NULL, NULL, NULL)) < 0)
		return -1;
	if (idx == 0)
		return 0;	/* no bridge, no entry */
	if (!(n = neigh_new(dev, ip, NULL, "delete")))
		return -1;
	err = rtnl_neigh_delete(fcm_nl_sock(), n, 0);
	rtnl_neigh_put(n);
	if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NOADDR || err == -NLE_NODEV)
		return 0;
	if (err < 0) {
		inet_ntop(AF_INET, &be, s, sizeof s);
		return fcm_net_fail(fcm_nl_strerror(err), "unable to delete the neighbour entry of %s on %s", s, dev);
	}
	return 1;
}

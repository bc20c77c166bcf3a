/* netlink.h — links and addresses through libnl-3 (rtnetlink), and taps
 * through /dev/net/tun, for fcm-net.  Never shells out to ip or brctl.
 *
 * Every function returns 0 (or a count/index) on success and -1 on failure,
 * with a sentence naming the object in fcm_net_error():
 *   "unable to create bridge fcm0: Operation not permitted". */
#ifndef FCM_NETLINK_H
#define FCM_NETLINK_H

#include <stdint.h>

#include <jv.h>

#define FCM_IFNAMSIZ 16		/* IFNAMSIZ, NUL included */

const char *fcm_net_error(void);
/* Set it to "<formatted>: <reason>" and return -1 (for lib/net/nft.c too). */
int fcm_net_fail(const char *reason, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Connect to rtnetlink (once; later calls reuse the socket). */
int fcm_nl_open(void);
void fcm_nl_close(void);
/* The socket fcm_nl_open connected (NULL before), and libnl's error codes
 * as strerror says them: for the other files of lib/net (neigh.c). */
struct nl_sock;
struct nl_sock *fcm_nl_sock(void);
const char *fcm_nl_strerror(int err);

/* A link's index, its kind ("bridge", "tun", "veth", "" when none) and
 * whether it is up.  Returns the index, 0 when there is no such link. */
int fcm_link_get(const char *name, char kind[FCM_IFNAMSIZ], int *up, int *master);
/* Create a bridge unless a link of that name exists; an existing link that
 * is not a bridge is an error.  Its MAC is pinned (set explicitly): mac for
 * a new bridge, the one it has for an existing one that has another.  A
 * bridge whose address the kernel chose takes the lowest of its ports', so
 * a tap joining or leaving would change the gateway's MAC under every guest
 * and flush every neighbour entry on it (the VMs' permanent ones too).
 * Returns the bridge's index. */
int fcm_bridge_ensure(const char *name, const uint8_t mac[6]);
/* Set IFF_UP on a link, and its master when master > 0. */
int fcm_link_up(const char *name, int master);
/* Isolate a bridge port (IFLA_BRPORT_ISOLATED): isolated ports cannot
 * exchange frames with each other, only with the bridge. */
int fcm_brport_isolate(const char *name);
/* Delete a link; no such link is success (returns 0; 1 when deleted). */
int fcm_link_delete(const char *name);
/* Create a persistent tap (TUNSETIFF IFF_TAP|IFF_NO_PI, TUNSETPERSIST). */
int fcm_tap_create(const char *name);
/* Give tap `name` to uid and gid (TUNSETOWNER, TUNSETGROUP): then only a
 * process of that uid or gid (or root) may attach to it.  The tap must
 * exist and not be attached.  0, or -1 with the message in fcm_net_error(). */
int fcm_tap_owner(const char *name, long uid, long gid);

/* Every link: [{"name","index","kind","master","up"}]. */
jv fcm_links(void);
/* The IPv4 addresses of a link: ["a.b.c.d/len", ...]. */
jv fcm_addrs4(int ifindex);
/* Add an IPv4 address (with its broadcast address); present is success. */
int fcm_addr4_ensure(int ifindex, const char *ifname, uint32_t ip, unsigned prefix);

/* Write a value into a /proc/sys file (per network namespace for net.*). */
int fcm_sysctl_write(const char *path, const char *value);

#endif

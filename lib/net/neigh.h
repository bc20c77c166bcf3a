/* neigh.h — the host's static neighbour (ARP) entries for its VMs, through
 * libnl-3: the host sends a VM's traffic to the MAC of its lease, whatever
 * any guest answers to ARP.  Errors as in netlink.h (fcm_net_error()). */
#ifndef FCM_NEIGH_H
#define FCM_NEIGH_H

#include <stdint.h>

/* Make ip (host byte order) → mac a permanent entry on the bridge `dev`,
 * replacing whatever entry there was.  0, or -1. */
int fcm_neigh_set(const char *dev, uint32_t ip, const uint8_t mac[6]);
/* Delete the entry of ip on dev; none is success (0; 1 when deleted). */
int fcm_neigh_del(const char *dev, uint32_t ip);

#endif

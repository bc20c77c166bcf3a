/* nft.h — fcm's nftables tables, through libnftnl and libmnl (never nft(8)).
 *
 *   table inet fcm
 *     chain postrouting  nat, masquerade the subnet leaving by a non-bridge link
 *     chain forward      no VM-to-VM through the gateway; VMs out; only replies in
 *     chain input        VMs reach the gateway: replies, ICMP echo, allowed ports
 *   table bridge fcm
 *     chain forward      no frame bridged from or to a tap (VM-to-VM)
 *     chain prerouting   anti-spoofing: a tap emits only its VM's MAC, ARP
 *                        for its VM's address and IPv4 from it (the guard):
 *                        three fixed rules that look frames up in
 *     set guard          one element "tap . MAC . address" per lease, so a
 *                        VM's arrival or departure is one element, not a
 *                        reload of every VM's rules
 *
 * Both tables are replaced in one netlink batch (a transaction): a re-run
 * leaves exactly the same ruleset, and a failure leaves the old one.
 * Errors are in fcm_net_error() (netlink.h). */
#ifndef FCM_NFT_H
#define FCM_NFT_H

#include <stddef.h>
#include <stdint.h>

#define FCM_NFT_TABLE "fcm"
#define FCM_NFT_PORTS_MAX 64

struct fcm_nft_conf {
	const char *bridge;
	const char *tap_prefix;		/* "tap_": every link so named is a VM's */
	uint32_t net, mask, gateway;	/* host byte order */
	const uint16_t *tcp;		/* ports VMs may reach on the gateway */
	size_t ntcp;
	const uint16_t *udp;
	size_t nudp;
	const uint32_t *nets;		/* destinations VMs may reach though */
	const uint32_t *masks;		/* in a private or special range */
	size_t nnets;
};

/* One VM's port, for the guard: its tap, MAC and address (the lease). */
struct fcm_nft_guest {
	char tap[16];
	uint8_t mac[6];
	uint32_t ip;			/* host byte order */
};

/* The destinations no VM reaches unless allowed (fcm_nft_conf.nets):
 * private, shared, link-local, loopback, multicast and reserved ranges. */
extern const uint32_t fcm_nft_blocked[][2];	/* {net, mask}, ends with {0, 0} */

/* Load both tables (the guard's set empty: fill it with fcm_nft_guard). */
int fcm_nft_apply(const struct fcm_nft_conf *c);
/* Replace the elements of the guard's set, in one transaction, by the n VMs
 * in g.  A frame from tap T is accepted only with T's MAC as its source,
 * carrying IPv4 from T's address or Ethernet/IPv4 ARP whose sender is T's
 * MAC and address; every other frame from a tap_prefix link is dropped (a
 * tap with no element, IPv6, VLAN tags, any other protocol).  The tables
 * must be loaded.  0, or -1 with fcm_net_error(). */
int fcm_nft_guard(const struct fcm_nft_guest *g, size_t n);
/* Add one VM to the guard; adding it twice is success.  0, or -1 with
 * fcm_net_error(). */
int fcm_nft_guard_add(const struct fcm_nft_guest *g);
/* Take one VM out of the guard; taking out one not there is success.
 * 0, or -1 with fcm_net_error(). */
int fcm_nft_guard_del(const struct fcm_nft_guest *g);
/* Delete both tables; absent tables are success. */
int fcm_nft_delete(void);
/* Is table fcm of that family ("inet" or "bridge") there? 1, 0, or -1. */
int fcm_nft_table_exists(const char *family);

#endif

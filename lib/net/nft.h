/* nft.h — fcm's nftables tables, through libnftnl and libmnl (never nft(8)).
 *
 *   table inet fcm
 *     chain postrouting  nat, masquerade the subnet leaving by a non-bridge link
 *     chain forward      no VM-to-VM through the gateway; VMs out; only replies in
 *     chain input        VMs reach the gateway: replies, ICMP echo, allowed ports
 *   table bridge fcm
 *     chain forward      no frame bridged from or to a tap (VM-to-VM)
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
};

int fcm_nft_apply(const struct fcm_nft_conf *c);
/* Delete both tables; absent tables are success. */
int fcm_nft_delete(void);
/* Is table fcm of that family ("inet" or "bridge") there? 1, 0, or -1. */
int fcm_nft_table_exists(const char *family);

#endif

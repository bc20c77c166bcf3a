/* net4.h — IPv4 subnets for fcm-net: parsing "a.b.c.d/len", the gateway,
 * the address pool (from .50 up), and the MAC derived from an address.
 * Pure functions: no system calls, so they are easy to test and reuse. */
#ifndef FCM_NET4_H
#define FCM_NET4_H

#include <stddef.h>
#include <stdint.h>

/* Host byte order throughout. */
struct fcm_subnet {
	uint32_t net;		/* network address */
	unsigned prefix;	/* 8..30 */
	uint32_t mask;
	uint32_t gateway;	/* net + 1 */
	uint32_t first;		/* first pool address: last byte .50 */
	uint32_t last;		/* last pool address: broadcast - 1 */
};

#define FCM_NET4_STRLEN 16	/* "255.255.255.255" + NUL */

/* Parse a dotted quad (exactly four decimal bytes, no leading zeros beyond
 * "0").  0 or -1. */
int fcm_ip4_parse(const char *s, uint32_t *out);
void fcm_ip4_format(uint32_t ip, char out[FCM_NET4_STRLEN]);

/* Parse and check "a.b.c.d/len".  The pool starts at the first address of the
 * subnet whose last byte is 50 (network + 50 for a /24 or larger; for
 * 172.16.0.48/28 it is .50 too) and ends before the broadcast address.
 * 0, or -1 with the reason in why (a sentence fragment naming s). */
int fcm_subnet_parse(const char *s, struct fcm_subnet *sn, char *why, size_t whylen);
/* Parse "a.b.c.d/len" with len 0..32 (a bare address is /32), a network
 * address (no host bits).  0, or -1 with why naming s. */
int fcm_cidr4_parse(const char *s, uint32_t *net, uint32_t *mask, char *why, size_t whylen);
/* Number of addresses in the pool. */
uint32_t fcm_subnet_pool_size(const struct fcm_subnet *sn);

/* The VM's MAC: 06:00 (locally administered, unicast) and the four bytes of
 * its address, "06:00:ac:10:00:32" for 172.16.0.50. */
void fcm_mac_from_ip4(uint32_t ip, char out[18]);
/* The same MAC as six bytes. */
void fcm_mac_bytes_from_ip4(uint32_t ip, uint8_t out[6]);

#endif

/* net4.c — IPv4 subnets, pools and derived MACs (see net4.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net4.h"

int fcm_ip4_parse(const char *s, uint32_t *out)
{
	uint32_t ip = 0;

	for (int i = 0; i < 4; i++) {
		unsigned v = 0;
		int n = 0;

		if (i && *s++ != '.')
			return -1;
		if (*s == '0' && s[1] >= '0' && s[1] <= '9')
			return -1;	/* no leading zeros: 010 is ambiguous */
		while (*s >= '0' && *s <= '9' && n < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			n++;
		}
		if (n == 0 || n > 3 || v > 255)
			return -1;
		ip = ip << 8 | v;
	}
	if (*s)
		return -1;
	*out = ip;
	return 0;
}

void fcm_ip4_format(uint32_t ip, char out[FCM_NET4_STRLEN])
{
	snprintf(out, FCM_NET4_STRLEN, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255,
	    ip >> 8 & 255, ip & 255);
}

int fcm_subnet_parse(const char *s, struct fcm_subnet *sn, char *why, size_t whylen)
{
	char addr[FCM_NET4_STRLEN], netstr[FCM_NET4_STRLEN];
	const char *slash = strchr(s, '/');
	size_t alen;
	unsigned long prefix;
	char *end;
	uint32_t ip, mask, off;

	if (!slash) {
		snprintf(why, whylen, "subnet '%.40s' is not an IPv4 network such as 172.16.0.0/24", s);
		return -1;
	}
	alen = (size_t)(slash - s);
	if (alen >= sizeof addr) {
		snprintf(why, whylen, "subnet '%.40s' is not an IPv4 network such as 172.16.0.0/24: bad address",
		    s);
		return -1;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (fcm_ip4_parse(addr, &ip) < 0) {
		snprintf(why, whylen, "subnet '%.40s' is not an IPv4 network such as 172.16.0.0/24: bad address",
		    s);
		return -1;
	}
	if (!(slash[1] >= '0' && slash[1] <= '9') || (prefix = strtoul(slash + 1, &end, 10), *end) ||
	    (slash[1] == '0' && slash[2])) {
		snprintf(why, whylen, "subnet '%.40s' has a bad prefix length: give /8 to /30", s);
		return -1;
	}
	if (prefix < 8 || prefix > 30) {
		snprintf(why, whylen, "subnet '%.40s' has prefix length /%lu: give /8 to /30", s, prefix);
		return -1;
	}
	mask = 0xffffffffu << (32 - prefix);
	if (ip & ~mask) {
		fcm_ip4_format(ip & mask, netstr);
		snprintf(why, whylen, "subnet '%.40s' is not a network address: did you mean %s/%lu?",
		    s, netstr, prefix);
		return -1;
	}
	/* The pool starts at the first address whose last byte is 50. */
	off = (50u - (ip & 255u)) & 255u;
	if (off < 2 || off >= ~mask) {
		snprintf(why, whylen, "subnet '%.40s' has no room for VMs from .50 up (the pool starts at the "
		    "address ending in .50 and ends before the broadcast address): use e.g. 172.16.0.0/24",
		    s);
		return -1;
	}
	sn->net = ip;
	sn->prefix = (unsigned)prefix;
	sn->mask = mask;
	sn->gateway = ip + 1;
	sn->first = ip + off;
	sn->last = (ip | ~mask) - 1;
	return 0;
}

int fcm_cidr4_parse(const char *s, uint32_t *net, uint32_t *mask, char *why, size_t whylen)
{
	char addr[FCM_NET4_STRLEN], netstr[FCM_NET4_STRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix = 32;
	char *end;
	uint32_t ip, m;

	if (alen >= sizeof addr || (memcpy(addr, s, alen), addr[alen] = '\0', fcm_ip4_parse(addr, &ip) < 0)) {
		snprintf(why, whylen, "'%.40s' is not an IPv4 network such as 10.1.0.0/16", s);
		return -1;
	}
	if (slash && (!(slash[1] >= '0' && slash[1] <= '9') || (prefix = strtoul(slash + 1, &end, 10), *end) ||
	    (slash[1] == '0' && slash[2]) || prefix > 32)) {
		snprintf(why, whylen, "'%.40s' has a bad prefix length: give /0 to /32", s);
		return -1;
	}
	m = prefix ? 0xffffffffu << (32 - prefix) : 0;
	if (ip & ~m) {
		fcm_ip4_format(ip & m, netstr);
		snprintf(why, whylen, "'%.40s' is not a network address: did you mean %s/%lu?", s, netstr, prefix);
		return -1;
	}
	*net = ip;
	*mask = m;
	return 0;
}

uint32_t fcm_subnet_pool_size(const struct fcm_subnet *sn)
{
	return sn->last - sn->first + 1;
}

void fcm_mac_bytes_from_ip4(uint32_t ip, uint8_t out[6])
{
	out[0] = 0x06;
	out[1] = 0x00;
	out[2] = (uint8_t)(ip >> 24);
	out[3] = (uint8_t)(ip >> 16);
	out[4] = (uint8_t)(ip >> 8);
	out[5] = (uint8_t)ip;
}

void fcm_mac_from_ip4(uint32_t ip, char out[18])
{
	uint8_t m[6];

	fcm_mac_bytes_from_ip4(ip, m);
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

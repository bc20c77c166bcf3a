/* nft.c — fcm's nftables ruleset through libnftnl + libmnl (see nft.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter_bridge.h>
#include <linux/netfilter_ipv4.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "core/err.h"
#include "net/netlink.h"
#include "net/nft.h"

/* Conntrack state bits as nft_ct sees them: 1 << (ctinfo + 1). */
#define CT_ESTABLISHED (1u << 1)
#define CT_RELATED     (1u << 2)

/* --- building rules ------------------------------------------------------- */

static struct nftnl_expr *expr(const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (!e)
		fcm_die_nomem();
	return e;
}

static void meta_to(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = expr("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	nftnl_rule_add_expr(r, e);
}

static void meta(struct nftnl_rule *r, uint32_t key)
{
	meta_to(r, key, NFT_REG_1);
}

static void cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	nftnl_rule_add_expr(r, e);
}

static void payload_to(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = expr("payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	nftnl_rule_add_expr(r, e);
}

static void payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
	payload_to(r, base, off, len, NFT_REG_1);
}

static void bitwise(struct nftnl_rule *r, const void *mask, uint32_t len)
{
	struct nftnl_expr *e = expr("bitwise");
	static const uint8_t zero[16];

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	nftnl_rule_add_expr(r, e);
}

static void verdict(struct nftnl_rule *r, int v)
{
	struct nftnl_expr *e = expr("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)v);
	nftnl_rule_add_expr(r, e);
}

/* meta iifname/oifname/ibrname ==/!= name (exact: padded to IFNAMSIZ). */
static void ifname(struct nftnl_rule *r, uint32_t key, uint32_t op, const char *name)
{
	char buf[FCM_IFNAMSIZ] = { 0 };

	memcpy(buf, name, strnlen(name, FCM_IFNAMSIZ - 1));
	meta(r, key);
	cmp(r, op, buf, sizeof buf);
}

/* meta iifname/oifname "prefix*" */
static void ifprefix(struct nftnl_rule *r, uint32_t key, const char *prefix)
{
	meta(r, key);
	cmp(r, NFT_CMP_EQ, prefix, (uint32_t)strnlen(prefix, FCM_IFNAMSIZ - 1));
}

static void u8_eq(struct nftnl_rule *r, uint8_t v)
{
	cmp(r, NFT_CMP_EQ, &v, 1);
}

static void ipv4(struct nftnl_rule *r)
{
	meta(r, NFT_META_NFPROTO);
	u8_eq(r, NFPROTO_IPV4);
}

/* ip saddr (off 12) or daddr (off 16) within net/mask. */
static void ip_in(struct nftnl_rule *r, uint32_t off, uint32_t net, uint32_t mask)
{
	uint32_t m = htonl(mask), n = htonl(net);

	payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, 4);
	if (mask != 0xffffffffu)
		bitwise(r, &m, 4);
	cmp(r, NFT_CMP_EQ, &n, 4);
}

static void l4proto(struct nftnl_rule *r, uint8_t proto)
{
	meta(r, NFT_META_L4PROTO);
	u8_eq(r, proto);
}

static void ct_state(struct nftnl_rule *r, uint32_t bits)
{
	struct nftnl_expr *e = expr("ct");
	uint32_t zero = 0;

	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
	bitwise(r, &bits, 4);
	cmp(r, NFT_CMP_NEQ, &zero, 4);
}

/* --- the batch -------------------------------------------------------------- */

#define BATCH_MSGS 512

struct batch {
	struct mnl_nlmsg_batch *b;
	char *buf;
	uint32_t seq, seq0;
	int overflow;
	char what[BATCH_MSGS][48];	/* each message, for error messages */
};

static void batch_say(struct batch *bt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void batch_say(struct batch *bt, const char *fmt, ...)
{
	uint32_t i = bt->seq - bt->seq0;
	va_list ap;

	if (i >= BATCH_MSGS)
		return;
	va_start(ap, fmt);
	vsnprintf(bt->what[i], sizeof bt->what[i], fmt, ap);
	va_end(ap);
}

static void batch_start(struct batch *bt, size_t size)
{

	bt->buf = fcm_malloc(size);
	bt->b = mnl_nlmsg_batch_start(bt->buf, size);
	memset(bt->what, 0, sizeof bt->what);
	bt->seq = bt->seq0 = (uint32_t)time(NULL);
	bt->overflow = 0;
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);
}

static void batch_next(struct batch *bt)
{
	if (!mnl_nlmsg_batch_next(bt->b))
		bt->overflow = 1;
}

static void batch_table(struct batch *bt, uint16_t type, uint16_t family)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		fcm_die_nomem();
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, FCM_NFT_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	batch_say(bt, "%s table %s fcm", type == NFT_MSG_NEWTABLE ? "add" : "delete",
	    family == NFPROTO_BRIDGE ? "bridge" : "inet");
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, family,
	    (type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0) | NLM_F_ACK, bt->seq++);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	batch_next(bt);
}

static void batch_chain(struct batch *bt, uint16_t family, const char *name,
    const char *type, uint32_t hook, int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c)
		fcm_die_nomem();
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, FCM_NFT_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, family);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	batch_say(bt, "add chain %s fcm %s", family == NFPROTO_BRIDGE ? "bridge" : "inet", name);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), NFT_MSG_NEWCHAIN, family,
	    NLM_F_CREATE | NLM_F_ACK, bt->seq++);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	batch_next(bt);
}

static struct nftnl_rule *rule(uint16_t family, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		fcm_die_nomem();
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, FCM_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
	return r;
}

static void batch_rule(struct batch *bt, struct nftnl_rule *r)
{
	struct nlmsghdr *nlh;
	uint32_t fam = nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY);
	uint32_t i = bt->seq - bt->seq0;

	batch_say(bt, "add rule %s fcm %s #%u", fam == NFPROTO_BRIDGE ? "bridge" : "inet",
	    nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), i);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), NFT_MSG_NEWRULE,
	    (uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY),
	    NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, bt->seq++);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	batch_next(bt);
}

/* Send the batch, read every answer; the first error wins. */
static int batch_send(struct batch *bt, const char *what)
{
	struct mnl_socket *nl;
	char rbuf[MNL_SOCKET_BUFFER_SIZE];
	char failed[64] = "";
	uint32_t portid;
	int ret, err = 0;

	if (bt->overflow) {
		free(bt->buf);
		mnl_nlmsg_batch_stop(bt->b);
		return fcm_net_fail(strerror(E2BIG), "unable to %s", what);
	}
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	{
		/* Every message is acknowledged, and the acks are queued while the
		 * kernel runs the batch: room for all of them (a guard of hundreds
		 * of VMs overflowed the default buffer: ENOBUFS).  An skb of an
		 * ack takes about 1 KiB of the buffer. */
		int fd = mnl_socket_get_fd(nl);
		int want = (int)((bt->seq - bt->seq0 + 16) * 1024);
		/* And the batch is one message: the send buffer must hold it
		 * (else EMSGSIZE). */
		int snd = (int)mnl_nlmsg_batch_size(bt->b) + 64 * 1024;
		if (want > 256 * 1024 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
		if (snd > 192 * 1024 && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
	}
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(bt->b), mnl_nlmsg_batch_size(bt->b)) < 0) {
		err = errno;
		goto out;
	}
	/* The kernel handles the batch within sendmsg: every answer is queued. */
	for (;;) {
		ret = (int)recv(mnl_socket_get_fd(nl), rbuf, sizeof rbuf, MSG_DONTWAIT);
		if (ret < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && !err)
				err = errno;
			break;
		}
		if (ret == 0)
			break;
		for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; mnl_nlmsg_ok(h, ret);
		    h = mnl_nlmsg_next(h, &ret)) {
			struct nlmsgerr *ne;
			if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_pid != portid)
				continue;
			ne = mnl_nlmsg_get_payload(h);
			if (ne->error && !err) {
				uint32_t i = h->nlmsg_seq - bt->seq0;
				err = -ne->error;
				if (i < BATCH_MSGS && bt->what[i][0])
					snprintf(failed, sizeof failed, " (%s)", bt->what[i]);
			}
		}
	}
out:
	if (nl)
		mnl_socket_close(nl);
	mnl_nlmsg_batch_stop(bt->b);
	free(bt->buf);
	if (err)
		return fcm_net_fail(strerror(err), "unable to %s%s", what, failed);
	return 0;
}

/* Make sure the table exists, then delete it: no error when it was absent. */
static void batch_drop(struct batch *bt, uint16_t family)
{
	batch_table(bt, NFT_MSG_NEWTABLE, family);
	batch_table(bt, NFT_MSG_DELTABLE, family);
}

static void batch_guard_set(struct batch *bt);
static void batch_guard_chain(struct batch *bt, const char *tap_prefix);

int fcm_nft_apply(const struct fcm_nft_conf *c)
{
	const char *br = c->bridge;
	struct nftnl_rule *r;
	struct batch bt;
	size_t i;

	batch_start(&bt, 256 * 1024);
	batch_drop(&bt, NFPROTO_INET);
	batch_drop(&bt, NFPROTO_BRIDGE);

	/* table inet fcm */
	batch_table(&bt, NFT_MSG_NEWTABLE, NFPROTO_INET);
	batch_chain(&bt, NFPROTO_INET, "postrouting", "nat", NF_INET_POST_ROUTING, NF_IP_PRI_NAT_SRC);
	batch_chain(&bt, NFPROTO_INET, "forward", "filter", NF_INET_FORWARD, NF_IP_PRI_FILTER);
	batch_chain(&bt, NFPROTO_INET, "input", "filter", NF_INET_LOCAL_IN, NF_IP_PRI_FILTER);

	/* ip saddr SUBNET oifname != BRIDGE masquerade */
	r = rule(NFPROTO_INET, "postrouting");
	ipv4(r);
	ip_in(r, 12, c->net, c->mask);
	ifname(r, NFT_META_OIFNAME, NFT_CMP_NEQ, br);
	nftnl_rule_add_expr(r, expr("masq"));
	batch_rule(&bt, r);

	/* iifname BRIDGE oifname BRIDGE drop: no VM-to-VM through the gateway */
	r = rule(NFPROTO_INET, "forward");
	ifname(r, NFT_META_IIFNAME, NFT_CMP_EQ, br);
	ifname(r, NFT_META_OIFNAME, NFT_CMP_EQ, br);
	verdict(r, NF_DROP);
	batch_rule(&bt, r);
	/* iifname BRIDGE ip daddr NET accept: what the operator allows beyond ... */
	for (i = 0; i < c->nnets; i++) {
		r = rule(NFPROTO_INET, "forward");
		ifname(r, NFT_META_IIFNAME, NFT_CMP_EQ, br);
		ipv4(r);
		ip_in(r, 12, c->net, c->mask);
		ip_in(r, 16, c->nets[i], c->masks[i]);
		verdict(r, NF_ACCEPT);
		batch_rule(&bt, r);
	}
	/* ... iifname BRIDGE ip daddr BLOCKED drop: no private, link-local
	 * (cloud metadata), loopback, multicast or reserved destination */
	for (i = 0; fcm_nft_blocked[i][1]; i++) {
		r = rule(NFPROTO_INET, "forward");
		ifname(r, NFT_META_IIFNAME, NFT_CMP_EQ, br);
		ipv4(r);
		ip_in(r, 16, fcm_nft_blocked[i][0], fcm_nft_blocked[i][1]);
		verdict(r, NF_DROP);
		batch_rule(&bt, r);
	}
	/* iifname BRIDGE ip saddr SUBNET accept: VMs go out */
	r = rule(NFPROTO_INET, "forward");
	ifname(r, NFT_META_IIFNAME, NFT_CMP_EQ, br);
	ipv4(r);
	ip_in(r, 12, c->net, c->mask);
	verdict(r, NF_ACCEPT);
	batch_rule(&bt, r);
	/* iifname BRIDGE drop: spoofed sources, IPv6 */
	r = rule(NFPROTO_INET, "forward");
	ifname(r, NFT_META_IIFNAME, NFT_CMP_EQ, br);
	verdict(r, NF_DROP);
	batch_rule(&bt, r);
	/* oifname BRIDGE ct state established,related accept: replies come back */
	r = rule(NFPROTO_INET, "forward");
	ifname(r, NFT_META_OIFNAME, NFT_CMP_EQ, br);
	ct_state(r, CT_ESTABLISHED | CT_RELATED);
	verdict(r, NF_ACCEPT);
	batch_rule(&bt, r);
	/* oifname BRIDGE drop: nothing new from outside into the VMs */
	r = rule(NFPROTO_INET, "forward");
	ifname(r, NFT_META_OIFNAME, NFT_CMP_EQ, br);
	verdict(r, NF_DROP);
	batch_rule(&bt, r);

	/* iifname BRIDGE ct state established,related accept: answers to the host */
	r = rule(NFPROTO_INET, "input");
	ifname(r, NFT_META_IIFNAME, NFT_CMP_EQ, br);
	ct_state(r, CT_ESTABLISHED | CT_RELATED);
	verdict(r, NF_ACCEPT);
	batch_rule(&bt, r);
	/* iifname BRIDGE ip daddr GATEWAY icmp type echo-request accept */
	r = rule(NFPROTO_INET, "input");
	ifname(r, NFT_META_IIFNAME, NFT_CMP_EQ, br);
	ipv4(r);
	ip_in(r, 16, c->gateway, 0xffffffffu);
	l4proto(r, IPPROTO_ICMP);
	payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
	u8_eq(r, 8);
	verdict(r, NF_ACCEPT);
	batch_rule(&bt, r);
	/* iifname BRIDGE ip daddr GATEWAY tcp|udp dport PORT accept */
	for (i = 0; i < c->ntcp + c->nudp; i++) {
		int tcp = i < c->ntcp;
		uint16_t port = htons(tcp ? c->tcp[i] : c->udp[i - c->ntcp]);

		r = rule(NFPROTO_INET, "input");
		ifname(r, NFT_META_IIFNAME, NFT_CMP_EQ, br);
		ipv4(r);
		ip_in(r, 16, c->gateway, 0xffffffffu);
		l4proto(r, tcp ? IPPROTO_TCP : IPPROTO_UDP);
		payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
		cmp(r, NFT_CMP_EQ, &port, 2);
		verdict(r, NF_ACCEPT);
		batch_rule(&bt, r);
	}
	/* iifname BRIDGE drop: no other host service */
	r = rule(NFPROTO_INET, "input");
	ifname(r, NFT_META_IIFNAME, NFT_CMP_EQ, br);
	verdict(r, NF_DROP);
	batch_rule(&bt, r);

	/* table bridge fcm: no frame is bridged from or to an fcm tap, so VMs
	 * reach only the bridge itself (the gateway), never each other.  (meta
	 * ibrname would say "any port of our bridge", but needs
	 * CONFIG_NFT_BRIDGE_META, which not every kernel has; the taps' names
	 * are fcm's own.) */
	batch_table(&bt, NFT_MSG_NEWTABLE, NFPROTO_BRIDGE);
	batch_chain(&bt, NFPROTO_BRIDGE, "forward", "filter", NF_BR_FORWARD, NF_BR_PRI_FILTER_BRIDGED);
	r = rule(NFPROTO_BRIDGE, "forward");
	ifprefix(r, NFT_META_IIFNAME, c->tap_prefix);
	verdict(r, NF_DROP);
	batch_rule(&bt, r);
	r = rule(NFPROTO_BRIDGE, "forward");
	ifprefix(r, NFT_META_OIFNAME, c->tap_prefix);
	verdict(r, NF_DROP);
	batch_rule(&bt, r);

	/* The guard: its set, empty until fcm_nft_guard fills it (until then
	 * every frame from a tap is dropped), and the rules that look it up. */
	batch_guard_set(&bt);
	batch_guard_chain(&bt, c->tap_prefix);

	return batch_send(&bt, "load nftables tables inet fcm and bridge fcm");
}

/* --- the guard: no VM poses as another ------------------------------------- */

const uint32_t fcm_nft_blocked[][2] = {
	{ 0x00000000u, 0xff000000u },	/* 0.0.0.0/8 "this network" */
	{ 0x0a000000u, 0xff000000u },	/* 10.0.0.0/8 private */
	{ 0x64400000u, 0xffc00000u },	/* 100.64.0.0/10 shared (CGNAT) */
	{ 0x7f000000u, 0xff000000u },	/* 127.0.0.0/8 loopback */
	{ 0xa9fe0000u, 0xffff0000u },	/* 169.254.0.0/16 link-local, metadata */
	{ 0xac100000u, 0xfff00000u },	/* 172.16.0.0/12 private */
	{ 0xc0000000u, 0xffffff00u },	/* 192.0.0.0/24 IETF protocol assignments */
	{ 0xc0a80000u, 0xffff0000u },	/* 192.168.0.0/16 private */
	{ 0xc6120000u, 0xfffe0000u },	/* 198.18.0.0/15 benchmarking */
	{ 0xe0000000u, 0xf0000000u },	/* 224.0.0.0/4 multicast */
	{ 0xf0000000u, 0xf0000000u },	/* 240.0.0.0/4 reserved, broadcast */
	{ 0, 0 },
};

/* payload LL/NETWORK at off == data */
static void payload_eq(struct nftnl_rule *r, uint32_t base, uint32_t off, const void *data, uint32_t len)
{
	payload(r, base, off, len);
	cmp(r, NFT_CMP_EQ, data, len);
}

/* The guard's set: one element "tap . MAC . address" per lease.  Its key is
 * the concatenation of an interface name (16 bytes), an Ethernet address
 * (6, padded to 8) and an IPv4 address (4), in 32-bit registers 0-3, 4-5
 * and 6, as nft(8) lays out "type ifname . ether_addr . ipv4_addr". */
#define GUARD_SET "guard"
#define GUARD_SET_ID 1
#define GUARD_KEY_LEN 28
#define GUARD_KEY_TYPE ((41u << 12) | (9u << 6) | 7u)	/* nft's ids: ifname, ether_addr, ipv4_addr */

static struct nftnl_set *guard_set(void)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		fcm_die_nomem();
	nftnl_set_set_str(s, NFTNL_SET_TABLE, FCM_NFT_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, GUARD_SET);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_BRIDGE);
	nftnl_set_set_u32(s, NFTNL_SET_ID, GUARD_SET_ID);
	return s;
}

static void batch_guard_set(struct batch *bt)
{
	struct nftnl_set *s = guard_set();
	struct nlmsghdr *nlh;

	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, GUARD_KEY_LEN);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, GUARD_KEY_TYPE);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, 0);
	batch_say(bt, "add set bridge fcm " GUARD_SET);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), NFT_MSG_NEWSET, NFPROTO_BRIDGE,
	    NLM_F_CREATE | NLM_F_ACK, bt->seq++);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	batch_next(bt);
}

/* iifname . <MAC at mac_base+mac_off> . <IPv4 at network+ip_off> @guard:
 * the three into 32-bit registers 0-3, 4-5 and 6, then the lookup. */
static void guard_lookup(struct nftnl_rule *r, uint32_t mac_base, uint32_t mac_off, uint32_t ip_off)
{
	struct nftnl_expr *e = expr("lookup");

	meta_to(r, NFT_META_IIFNAME, NFT_REG32_00);
	payload_to(r, mac_base, mac_off, 6, NFT_REG32_04);
	payload_to(r, NFT_PAYLOAD_NETWORK_HEADER, ip_off, 4, NFT_REG32_06);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG32_00);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, GUARD_SET);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, GUARD_SET_ID);
	nftnl_rule_add_expr(r, e);
}

/* The guard's chain: its rules never change; the set holds the leases. */
static void batch_guard_chain(struct batch *bt, const char *tap_prefix)
{
	static const uint8_t ip_type[2] = { 0x08, 0x00 }, arp_type[2] = { 0x08, 0x06 };
	/* ARP for Ethernet (htype 1) and IPv4 (ptype 0x0800), lengths 6 and 4 */
	static const uint8_t arp_eth_ip4[6] = { 0x00, 0x01, 0x08, 0x00, 0x06, 0x04 };
	struct nftnl_rule *r;

	batch_chain(bt, NFPROTO_BRIDGE, "prerouting", "filter", NF_BR_PRE_ROUTING, NF_BR_PRI_FILTER_BRIDGED);
	/* ether type ip iifname . ether saddr . ip saddr @guard accept */
	r = rule(NFPROTO_BRIDGE, "prerouting");
	payload_eq(r, NFT_PAYLOAD_LL_HEADER, 12, ip_type, 2);
	guard_lookup(r, NFT_PAYLOAD_LL_HEADER, 6, 12);
	verdict(r, NF_ACCEPT);
	batch_rule(bt, r);
	/* ether type arp arp htype 1 ptype ip hlen 6 plen 4
	 * iifname . ether saddr . arp saddr ip @guard
	 * iifname . arp saddr ether . arp saddr ip @guard accept
	 * (a tap has one element: both hold only with its MAC as the frame's
	 * and the ARP sender's, and its address as the sender's) */
	r = rule(NFPROTO_BRIDGE, "prerouting");
	payload_eq(r, NFT_PAYLOAD_LL_HEADER, 12, arp_type, 2);
	payload_eq(r, NFT_PAYLOAD_NETWORK_HEADER, 0, arp_eth_ip4, 6);
	guard_lookup(r, NFT_PAYLOAD_LL_HEADER, 6, 14);
	guard_lookup(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 14);
	verdict(r, NF_ACCEPT);
	batch_rule(bt, r);
	/* iifname "tap_*" drop: anything else a tap emits */
	r = rule(NFPROTO_BRIDGE, "prerouting");
	ifprefix(r, NFT_META_IIFNAME, tap_prefix);
	verdict(r, NF_DROP);
	batch_rule(bt, r);
}

/* g's element of the guard's set (its key), added to s. */
static void guard_elem(struct nftnl_set *s, const struct fcm_nft_guest *g)
{
	uint8_t key[GUARD_KEY_LEN] = { 0 };
	uint32_t ip = htonl(g->ip);
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	if (!e)
		fcm_die_nomem();
	memcpy(key, g->tap, strnlen(g->tap, FCM_IFNAMSIZ - 1));
	memcpy(key + 16, g->mac, 6);
	memcpy(key + 24, &ip, 4);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, sizeof key);
	nftnl_set_elem_add(s, e);
}

/* One element message (NEWSETELEM or DELSETELEM) of the n VMs in g; with
 * n == 0 a DELSETELEM flushes the set. */
static void batch_guard_elems(struct batch *bt, uint16_t type, const struct fcm_nft_guest *g, size_t n)
{
	struct nftnl_set *s = guard_set();
	struct nlmsghdr *nlh;

	for (size_t i = 0; i < n; i++)
		guard_elem(s, &g[i]);
	batch_say(bt, "%s element bridge fcm " GUARD_SET,
	    type == NFT_MSG_NEWSETELEM ? "add" : n ? "delete" : "flush");
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, NFPROTO_BRIDGE,
	    (type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0) | NLM_F_ACK, bt->seq++);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	batch_next(bt);
}

int fcm_nft_guard(const struct fcm_nft_guest *g, size_t n)
{
	struct batch bt;

	/* The set flushed, then at most 256 elements a message: one
	 * transaction, so no VM is ever outside the guard meanwhile. */
	batch_start(&bt, 64 * 1024 + n * 128);
	batch_guard_elems(&bt, NFT_MSG_DELSETELEM, NULL, 0);
	for (size_t i = 0; i < n; i += 256)
		batch_guard_elems(&bt, NFT_MSG_NEWSETELEM, g + i, n - i < 256 ? n - i : 256);
	return batch_send(&bt, "load the anti-spoofing guard (nftables set bridge fcm " GUARD_SET ")");
}

int fcm_nft_guard_add(const struct fcm_nft_guest *g)
{
	struct batch bt;

	batch_start(&bt, 16 * 1024);
	batch_guard_elems(&bt, NFT_MSG_NEWSETELEM, g, 1);
	return batch_send(&bt, "add the VM to the anti-spoofing guard (nftables set bridge fcm " GUARD_SET ")");
}

/* Is g's element in the guard?  1, 0, or -1 (a query: no transaction). */
static int guard_has(const struct fcm_nft_guest *g)
{
	struct nftnl_set *s = guard_set();
	uint32_t portid, seq = (uint32_t)time(NULL);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = NULL;
	struct nlmsghdr *nlh;
	int ret, r = -1;

	guard_elem(s, g);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_BRIDGE, NLM_F_ACK, seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	do {
		ret = (int)mnl_socket_recvfrom(nl, buf, sizeof buf);
		if (ret <= 0)
			goto out;
		ret = mnl_cb_run(buf, (size_t)ret, seq, portid, NULL, NULL);
	} while (ret > 0);
	r = ret < 0 ? (errno == ENOENT ? 0 : -1) : 1;
out:
	if (r < 0)
		fcm_net_fail(strerror(errno), "unable to look up the VM in the anti-spoofing guard (nftables set bridge fcm " GUARD_SET ")");
	if (nl)
		mnl_socket_close(nl);
	return r;
}

int fcm_nft_guard_del(const struct fcm_nft_guest *g)
{
	struct batch bt;
	int has = guard_has(g);

	/* A transaction only when there is something to take out: a commit
	 * costs about 10 ms, a query a fraction of one (destroy asks twice:
	 * tap-del, then free). */
	if (has <= 0)
		return has;
	batch_start(&bt, 16 * 1024);
	batch_guard_elems(&bt, NFT_MSG_DELSETELEM, g, 1);
	return batch_send(&bt, "take the VM out of the anti-spoofing guard (nftables set bridge fcm " GUARD_SET ")");
}

int fcm_nft_delete(void)
{
	struct batch bt;

	batch_start(&bt, 256 * 1024);
	batch_drop(&bt, NFPROTO_INET);
	batch_drop(&bt, NFPROTO_BRIDGE);
	return batch_send(&bt, "delete nftables tables inet fcm and bridge fcm");
}

int fcm_nft_table_exists(const char *family)
{
	uint16_t fam = !strcmp(family, "bridge") ? NFPROTO_BRIDGE : NFPROTO_INET;
	struct nftnl_table *t = nftnl_table_alloc();
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t portid, seq = (uint32_t)time(NULL);
	int ret, e;

	if (!t)
		fcm_die_nomem();
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, FCM_NFT_TABLE);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, fam, NLM_F_ACK, seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto fail;
	do {
		ret = (int)mnl_socket_recvfrom(nl, buf, sizeof buf);
		if (ret <= 0)
			goto fail;
		ret = mnl_cb_run(buf, (size_t)ret, seq, portid, NULL, NULL);
	} while (ret > 0);
	if (ret < 0) {
		if (errno == ENOENT) {
			mnl_socket_close(nl);
			return 0;
		}
		goto fail;
	}
	mnl_socket_close(nl);
	return 1;
fail:
	e = errno;
	if (nl)
		mnl_socket_close(nl);
	return fcm_net_fail(strerror(e), "unable to look up nftables table %s fcm", family);
}

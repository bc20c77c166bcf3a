/* fcm-net — the VMs' network: bridge, taps, addresses, NAT and isolation.
 *
 *   fcm-net [OP [key=value ...]]      one request from the words, or
 *   fcm-net < requests                one JSON request per line
 *
 * The operations are lib/net/netops.c (doc/fcm-net.md). */
#include "core/err.h"
#include "core/jsonl.h"
#include "net/netlink.h"
#include "net/netops.h"

int main(int argc, char **argv)
{
	int code;

	fcm_init(argv[0]);
	code = fcm_serve(argc, argv, fcm_net_ops, fcm_net_usage);
	fcm_nl_close();
	return code;
}

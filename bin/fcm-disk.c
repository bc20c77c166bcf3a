/* fcm-disk — the VMs' writable disks.
 *
 *   fcm-disk [OP [key=value ...]]      one request from the words, or
 *   fcm-disk < requests                one JSON request per line
 *
 * The operations are lib/vm/diskops.c (doc/fcm-disk.md). */
#include <sys/stat.h>

#include "core/err.h"
#include "core/jsonl.h"
#include "vm/diskops.h"

int main(int argc, char **argv)
{
	fcm_init(argv[0]);
	umask(022);
	return fcm_serve(argc, argv, fcm_disk_ops, fcm_disk_usage);
}

/* fcm-repo — the bare git repository of each VM, for git push deploys.
 *
 *   fcm-repo [OP [key=value ...]]      one request from the words, or
 *   fcm-repo < requests                one JSON request per line
 *
 * The operations are lib/vm/repoops.c (doc/fcm-repo.md). */
#include <sys/stat.h>

#include "core/err.h"
#include "core/jsonl.h"
#include "vm/repoops.h"

int main(int argc, char **argv)
{
	fcm_init(argv[0]);
	umask(022);
	return fcm_serve(argc, argv, fcm_repo_ops, fcm_repo_usage);
}

/* porcelain.c — options, VM lookup and the answer of start/stop/destroy. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/dotfcm.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "vm/porcelain.h"
#include "vm/vmprint.h"

jv fcm_vmcmd_parse(int argc, char **argv, const char *usage, unsigned opts,
    struct fcm_vmcmd *cmd)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-wait", no_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	jv rec;

	cmd->json = 0;
	cmd->wait = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			cmd->json = 1;
			break;
		case 'W':
			if (opts & FCM_OPT_NOWAIT) {
				cmd->wait = 0;
				break;
			}
			/* fall through */
		default:
			fcm_die(FCM_E_USAGE, "unknown option '%.64s'; usage: %s", argv[optind - 1], usage);
		case 'h':
			printf("usage: %s\n", usage);
			exit(0);
		}
	}
	if (cmd->json)
		fcm_err_json(1);
	if (argc - optind > 1)
		fcm_die(FCM_E_USAGE, "one VM at a time; usage: %s", usage);
	rec = fcm_vm_from_arg(optind < argc ? argv[optind] : NULL);
	if (!jv_is_valid(rec)) {
		fcm_die_invalid(FCM_E_USAGE, rec);
	}
	return rec;
}

void fcm_vmcmd_done(const struct fcm_vmcmd *cmd, const char *id, const char *name,
    const char *state)
{
	if (fcm_human_output(cmd->json)) {
		printf("VM %s: %s\n", name, state);
		return;
	}
	jv out = jv_object();
	out = jv_object_set(out, jv_string("ok"), jv_true());
	out = jv_object_set(out, jv_string("id"), jv_string(id));
	out = jv_object_set(out, jv_string("name"), jv_string(name));
	out = jv_object_set(out, jv_string("state"), jv_string(state));
	if (fcm_jsonl_write(stdout, out) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write to stdout");
}

/* fcm-ls — list VMs: a table on a terminal, one JSON record per line
 * otherwise.  Works with no daemon running: records are files, states come
 * from s6's status files. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "vm/svc.h"
#include "vm/vm.h"
#include "vm/vmprint.h"

static const char usage[] = "fcm ls [--json] [--owner USER] [VM...]";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "owner", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *owner = NULL;
	int json = 0, c;
	jv list, out = jv_array();

	fcm_init("fcm-ls");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'o': owner = optarg; break;
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			fcm_die(FCM_E_USAGE, "unknown option '%.64s'; usage: %s", argv[optind - 1], usage);
		}
	}
	if (json)
		fcm_err_json(1);
	if (optind < argc) {
		list = jv_array();
		for (int i = optind; i < argc; i++) {
			jv rec = fcm_vm_find(argv[i]);
			if (!jv_is_valid(rec)) {
				fcm_die_invalid(FCM_E_USAGE, rec);
			}
			list = jv_array_append(list, rec);
		}
	} else
		list = fcm_vm_list();
	jv_array_foreach(list, i, rec) {
		const char *o = fcm_get_str(rec, "owner");
		if (owner && (!o || strcmp(o, owner))) {
			jv_free(rec);
			continue;
		}
		rec = jv_object_set(rec, jv_string("state"), jv_string(fcm_vm_state(rec)));
		out = jv_array_append(out, rec);
	}
	jv_free(list);
	if (fcm_human_output(json))
		fcm_print_vm_table(stdout, out);
	else
		jv_array_foreach(out, i, rec)
			if (fcm_jsonl_write(stdout, rec) < 0)
				fcm_die_sys(FCM_E_INTERNAL, "unable to write to stdout");
	jv_free(out);
	return 0;
}

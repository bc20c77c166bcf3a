/* fcm-destroy — remove a VM and everything it has: service, VMM, tap,
 * address, disk, git repo, HTTPS route, record.  Safe to run again on a VM
 * whose removal was interrupted. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcm.h"

static const char usage[] = "fcm destroy [VM] [--json]";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, c;

	fcm_init("fcm-destroy");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			fcm_die(FCM_EXIT_USAGE, "unknown option '%.64s'; usage: %s", argv[optind - 1], usage);
		}
	}
	if (json)
		fcm_err_json(1);
	if (argc - optind > 1)
		fcm_die(FCM_EXIT_USAGE, "one VM at a time; usage: %s", usage);
	jv rec = fcm_vm_from_arg(optind < argc ? argv[optind] : NULL);
	if (!jv_is_valid(rec)) {
		jv msg = jv_invalid_get_msg(rec);
		fcm_die(FCM_EXIT_USAGE, "%s", jv_string_value(msg));
	}
	char *id = fcm_strdup(fcm_get_str(rec, "id"));
	char *name = fcm_strdup(fcm_get_str(rec, "name"));

	/* Mark it first, so that a crash part-way leaves a record saying so. */
	fcm_vm_save(jv_object_set(rec, jv_string("state"), jv_string("destroying")));
	int lk = fcm_vm_table_lock();
	int r = fcm_vm_teardown(id, name);
	fcm_unlock(lk);
	if (r < 0)
		fcm_die(FCM_EXIT_TEMP, "VM '%s' was only partly removed (see the warnings above): run 'fcm destroy %s' again",
		    name, id);
	jv out = jv_object();
	out = jv_object_set(out, jv_string("ok"), jv_true());
	out = jv_object_set(out, jv_string("id"), jv_string(id));
	out = jv_object_set(out, jv_string("name"), jv_string(name));
	out = jv_object_set(out, jv_string("state"), jv_string("destroyed"));
	if (fcm_human_output(json)) {
		printf("VM %s destroyed\n", name);
		jv_free(out);
	} else if (fcm_jsonl_write(stdout, out) < 0)
		fcm_die_sys(FCM_EXIT_TEMP, "unable to write to stdout");
	free(id);
	free(name);
	return 0;
}

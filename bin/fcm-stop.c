/* fcm-stop — stop a VM gracefully: s6 sends SIGTERM to its fcm-fc, which
 * asks Firecracker for Ctrl-Alt-Del; the guest shuts down and the VMM exits.
 * The `down` file keeps it stopped across daemon restarts. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcm.h"

static const char usage[] = "fcm stop [VM] [--json]";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, c;

	fcm_init("fcm-stop");
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
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");
	char *svc = fcm_vm_svcdir(id);
	char *down = fcm_asprintf("%s/down", svc);

	if (fcm_write_atomic(down, "", 0, 0644) < 0)
		fcm_die_sys(FCM_EXIT_TEMP, "unable to write %s", down);
	rec = jv_object_set(rec, jv_string("state"), jv_string("stopped"));
	if (fcm_vm_save(jv_copy(rec)) < 0)
		fcm_die_sys(FCM_EXIT_TEMP, "unable to write the record of VM '%s'", name);
	struct fcm_svc_status st;
	if (fcm_svc_status(svc, &st) == 0 && st.supervised) {
		if (fcm_svc_ctl(svc, "-d") != 0)
			fcm_die(FCM_EXIT_TEMP, "unable to tell s6 to stop VM '%s'", name);
		/* fcm-fc waits FCM_STOP_TIMEOUT (30 s) for the guest, s6 60 s. */
		if (fcm_vm_wait_down(id, 90) < 0)
			fcm_die(FCM_EXIT_TEMP, "VM '%s' did not stop within 90 s", name);
	}
	jv out = jv_object();
	out = jv_object_set(out, jv_string("ok"), jv_true());
	out = jv_object_set(out, jv_string("id"), jv_string(id));
	out = jv_object_set(out, jv_string("name"), jv_string(name));
	out = jv_object_set(out, jv_string("state"), jv_string(fcm_vm_state(rec)));
	if (fcm_human_output(json)) {
		printf("VM %s: %s\n", name, fcm_vm_state(rec));
		jv_free(out);
	} else if (fcm_jsonl_write(stdout, out) < 0)
		fcm_die_sys(FCM_EXIT_TEMP, "unable to write to stdout");
	jv_free(rec);
	free(svc);
	free(down);
	return 0;
}

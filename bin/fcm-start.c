/* fcm-start — start a stopped VM (the same as `s6-svc -u` on its service,
 * and it stays up across daemon restarts), then wait until it is ready. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcm.h"

static const char usage[] = "fcm start [VM] [--no-wait] [--json]";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "no-wait", no_argument, NULL, 'W' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, wait = 1, c;
	char err[1024];

	fcm_init("fcm-start");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'W': wait = 0; break;
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
	const char *state = fcm_vm_state(rec);
	if (!strcmp(state, "creating") || !strcmp(state, "destroying"))
		fcm_die(FCM_EXIT_USAGE, "VM '%s' is %s: wait for that to finish", name, state);
	fcm_need_daemon();

	char *svc = fcm_vm_svcdir(id);
	char *down = fcm_asprintf("%s/down", svc);
	char *crashes = fcm_path("vms/%s/crashes", id);
	if (fcm_svc_make(id, 0) < 0)	/* (re)write its scripts, as fcm daemon does */
		fcm_die_sys(FCM_EXIT_TEMP, "unable to write the service directory of VM '%s'", name);
	if (unlink(down) < 0 && errno != ENOENT)
		fcm_die_sys(FCM_EXIT_TEMP, "unable to remove %s", down);
	unlink(crashes);
	rec = jv_object_set(rec, jv_string("state"), jv_string("running"));
	if (fcm_vm_save(jv_copy(rec)) < 0)
		fcm_die_sys(FCM_EXIT_TEMP, "unable to write the record of VM '%s'", name);
	if (fcm_vm_link(id, err, sizeof err) < 0)
		fcm_die(FCM_EXIT_TEMP, "%s", err);
	/* The supervisor may need a moment after linking. */
	for (int i = 0; i < 50 && fcm_svc_ctl(svc, "-u") != 0; i++)
		usleep(100000);
	if (wait && fcm_vm_wait_ready(id, fcm_boot_timeout(), err, sizeof err) < 0)
		fcm_die(FCM_EXIT_TEMP, "VM '%s': %s", name, err);
	jv out = jv_object();
	out = jv_object_set(out, jv_string("ok"), jv_true());
	out = jv_object_set(out, jv_string("id"), jv_string(id));
	out = jv_object_set(out, jv_string("name"), jv_string(name));
	out = jv_object_set(out, jv_string("state"), jv_string(fcm_vm_state(rec)));
	if (fcm_human_output(json))
		printf("VM %s: %s\n", name, fcm_vm_state(rec));
	else if (fcm_jsonl_write(stdout, out) < 0)
		fcm_die_sys(FCM_EXIT_TEMP, "unable to write to stdout");
	else
		out = jv_null();
	jv_free(out);
	jv_free(rec);
	free(svc);
	free(down);
	free(crashes);
	return 0;
}

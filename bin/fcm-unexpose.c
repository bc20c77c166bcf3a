/* fcm-unexpose — stop serving a VM over HTTPS (doc/fcm-expose.md).
 *
 *   fcm unexpose [--json] [VM]
 *
 * VM is a name or an id; left out, the one named in .fcm.  The record's
 * "expose" and "url" become null and Caddy drops the VM's route (fcm-proxy
 * sync); if Caddy cannot take the change, the record is left as it was.
 * On a terminal: one line of prose; otherwise (or with --json) the updated
 * record as one JSON line. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vm/dotfcm.h"
#include "core/err.h"
#include "vm/expose.h"
#include "core/jsonl.h"

static const char usage[] = "fcm unexpose [--json] [VM]";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *vm = NULL;
	int c, json = 0, code = 0, was;
	jv rec, e;

	fcm_init(argv[0]);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			fcm_err_json(1);
			break;
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			fcm_die(FCM_E_USAGE, "unknown option '%.64s'; usage: %s", argv[optind - 1], usage);
		}
	}
	if (argc - optind > 1)
		fcm_die(FCM_E_USAGE, "too many arguments; usage: %s", usage);
	if (argc - optind == 1)
		vm = argv[optind];
	rec = fcm_vm_from_arg(vm);
	if (!jv_is_valid(rec))
		fcm_die_invalid(FCM_E_USAGE, rec);
	e = jv_object_get(jv_copy(rec), jv_string("expose"));
	was = jv_get_kind(e) == JV_KIND_OBJECT;
	jv_free(e);
	jv new = fcm_expose_change(rec, 0, &code);
	jv_free(rec);
	if (!jv_is_valid(new))
		fcm_die_invalid(code, new);
	if (json || !isatty(STDOUT_FILENO)) {
		jv out = jv_object_merge(jv_object_set(jv_object(), jv_string("ok"), jv_true()), new);
		if (fcm_jsonl_write(stdout, out) < 0)
			fcm_die_sys(FCM_E_INTERNAL, "unable to write to stdout");
		return 0;
	}
	printf(was ? "%s: no longer exposed\n" : "%s: was not exposed\n", fcm_get_str(new, "name"));
	jv_free(new);
	return 0;
}

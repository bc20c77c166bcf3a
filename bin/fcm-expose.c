/* fcm-expose — serve a VM's port over HTTPS (doc/fcm-expose.md).
 *
 *   fcm expose [--json] [VM] PORT
 *
 * VM is a name or an id; left out, the one named in .fcm.  The record gets
 * "expose": {"port":PORT,"domain":"<name>.<domain>"} and "url", and Caddy
 * is given the new routes (fcm-proxy sync); if Caddy cannot take them, the
 * record is left as it was.  On a terminal: one line of prose; otherwise
 * (or with --json) the updated record as one JSON line. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vm/dotfcm.h"
#include "core/err.h"
#include "vm/expose.h"
#include "core/jsonl.h"

static const char usage[] = "fcm expose [--json] [VM] PORT";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *vm = NULL, *portarg;
	char err[256];
	int c, json = 0, code = 0;
	long port;
	jv rec;

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
	if (argc - optind == 2) {
		vm = argv[optind];
		portarg = argv[optind + 1];
	} else if (argc - optind == 1) {
		portarg = argv[optind];
	} else {
		fcm_die(FCM_E_USAGE, "%s; usage: %s",
		    argc == optind ? "say which port to expose" : "too many arguments", usage);
	}
	if (fcm_port_parse(portarg, &port, err, sizeof err) < 0)
		fcm_die(FCM_E_USAGE, "%s", err);
	rec = fcm_vm_from_arg(vm);
	if (!jv_is_valid(rec))
		fcm_die_invalid(FCM_E_USAGE, rec);
	jv new = fcm_expose_change(rec, port, &code);
	jv_free(rec);
	if (!jv_is_valid(new))
		fcm_die_invalid(code, new);
	if (json || !isatty(STDOUT_FILENO)) {
		jv out = jv_object_merge(jv_object_set(jv_object(), jv_string("ok"), jv_true()), new);
		if (fcm_jsonl_write(stdout, out) < 0)
			fcm_die_sys(FCM_E_INTERNAL, "unable to write to stdout");
		return 0;
	}
	const char *name = fcm_get_str(new, "name"), *url = fcm_get_str(new, "url");
	const char *state = fcm_get_str(new, "state");
	printf("%s: port %ld exposed at %s\n", name, port, url ? url : "?");
	if (state && strcmp(state, "running"))
		printf("  (the VM is %s: its URL answers 502 until 'fcm start %s')\n", state, name);
	jv_free(new);
	return 0;
}

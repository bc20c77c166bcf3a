/* fcm-whoami — who the fcm host takes you for (doc/fcm-whoami.md).
 *
 *   fcm whoami [--host HOST] [--json]
 *
 * Asks the host (GET /v1/auth/me) with $FCM_TOKEN or ~/.fcm-token and prints
 * email, name, user (the owner name your VMs carry), admin, host, and what
 * your VMs take against your quota; one
 * JSON object with --json or when stdout is not a terminal. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/jsonl.h"
#include "http/client.h"

static const char usage[] = "fcm whoami [--host HOST] [--json]";

/* A number or size as text, null as "no limit" (consumed; malloc'd). */
static char *shown_value(jv v)
{
	char *r;

	if (jv_get_kind(v) == JV_KIND_STRING)
		r = fcm_strdup(jv_string_value(v));
	else if (jv_get_kind(v) == JV_KIND_NUMBER)
		r = fcm_asprintf("%.0f", jv_number_value(v));
	else
		r = fcm_strdup("no limit");
	jv_free(v);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = NULL, *shown, *s;
	int json = !isatty(1), c, from;
	long status;
	jv v, a;

	fcm_init("fcm-whoami");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "H:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': host = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			fcm_die(FCM_E_USAGE, "unknown option '%.64s'; usage: %s", argv[optind - 1], usage);
		}
	}
	if (optind != argc)
		fcm_die(FCM_E_USAGE, "unexpected argument '%.64s'; usage: %s", argv[optind], usage);
	fcm_client_set_host(host);
	fcm_client_setup(0);
	shown = fcm_client_host();
	/* The host's admin token (root on the host) is no login. */
	from = fcm_client_token_from();
	if (from != FCM_CLIENT_TOKEN_ENV && from != FCM_CLIENT_TOKEN_HOME)
		fcm_die(FCM_E_USAGE, "not logged in to %s: run 'fcm login'", shown);
	status = fcm_client_request("GET", "/v1/auth/me", NULL, -1, &v);
	if (status == 401)
		fcm_die(FCM_E_UNAUTHORIZED, "not logged in to %s: the token is unknown, expired or revoked: run 'fcm login'", shown);
	if (status != 200 || jv_get_kind(v) != JV_KIND_OBJECT)
		fcm_die_reply(v);
	v = jv_object_set(v, jv_string("host"), jv_string(shown));
	if (json) {
		if (fcm_jsonl_write(stdout, v) < 0)
			fcm_die_sys(FCM_E_INTERNAL, "unable to write");
	} else {
		a = jv_object_get(jv_copy(v), jv_string("admin"));
		printf("email:  %s\n", (s = fcm_get_str(v, "email")) ? s : "-");
		printf("name:   %s\n", (s = fcm_get_str(v, "full_name")) ? s : "-");
		printf("user:   %s\n", (s = fcm_get_str(v, "name")) ? s : "-");
		printf("admin:  %s\n", jv_get_kind(a) == JV_KIND_TRUE ? "yes" : "no");
		printf("host:   %s\n", shown);
		/* usage against quota, one resource a line */
		jv use = jv_object_get(jv_copy(v), jv_string("usage")), q = jv_object_get(jv_copy(v), jv_string("quota"));
		static const char *const keys[] = { "vms", "cpus", "memory", "disk" };
		static const char *const labels[] = { "VMs:   ", "vCPUs: ", "memory:", "disk:  " };
		for (int i = 0; i < 4 && jv_get_kind(use) == JV_KIND_OBJECT; i++) {
			jv u1 = jv_object_get(jv_copy(use), jv_string(keys[i]));
			jv q1 = jv_get_kind(q) == JV_KIND_OBJECT ? jv_object_get(jv_copy(q), jv_string(keys[i])) : jv_null();
			char *us = shown_value(u1), *qs = shown_value(q1);
			printf("%s %s of %s%s\n", labels[i], us, qs, i == 2 ? " (MiB)" : "");
			free(us);
			free(qs);
		}
		jv_free(use);
		jv_free(q);
		jv_free(a);
		jv_free(v);
	}
	return 0;
}

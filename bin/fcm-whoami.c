/* fcm-whoami — who the fcm host takes you for (doc/fcm-whoami.md).
 *
 *   fcm whoami [--host HOST] [--json]
 *
 * Asks the host (GET /v1/auth/me) with $FCM_TOKEN or ~/.fcm-token and prints
 * email, name, user (the owner name your VMs carry), admin and host; one
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
		jv_free(a);
		jv_free(v);
	}
	return 0;
}

/* fcm-logout — revoke this machine's fcm token on the host and forget it
 * (doc/fcm-logout.md).
 *
 *   fcm logout [--host HOST] [--json]
 *
 * The token ($FCM_TOKEN or ~/.fcm-token) is revoked on the host first; only
 * then is ~/.fcm-token removed, so a host that cannot be reached leaves it in
 * place (run again later).  A token the host no longer knows (expired,
 * revoked) is simply removed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/jsonl.h"
#include "http/client.h"

static const char usage[] = "fcm logout [--host HOST] [--json]";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = NULL, *shown;
	char *path;
	int json = 0, c, from_file;
	long status;
	jv v;

	fcm_init("fcm-logout");
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
	if (json)
		fcm_err_json(1);
	fcm_client_set_host(host);
	fcm_client_setup(0);
	shown = fcm_client_host();
	/* The host's admin token (root on the host) is no login to end. */
	from_file = fcm_client_token_from() == FCM_CLIENT_TOKEN_HOME;
	if (!from_file && fcm_client_token_from() != FCM_CLIENT_TOKEN_ENV)
		fcm_die(FCM_E_USAGE, "not logged in: there is no ~/.fcm-token (and FCM_TOKEN is not set)");
	status = fcm_client_request("POST", "/v1/auth/logout", NULL, -1, &v);
	if (!status)
		fcm_die(FCM_E_UNAVAILABLE, "%s; the token is kept: run 'fcm logout' again when the host answers",
		    fcm_reply_error(v));
	if (status != 200 && status != 401)
		fcm_die_reply(v);
	if (from_file) {
		path = fcm_client_token_path();
		if (unlink(path) < 0 && errno != ENOENT)
			fcm_die_sys(FCM_E_INTERNAL, "unable to remove %s", path);
		free(path);
	}
	if (json)
		fcm_jsonl_write(stdout, jv_object_set(jv_object_set(fcm_ok(), jv_string("host"), jv_string(shown)),
		    jv_string("revoked"), jv_bool(status == 200)));
	else if (status == 200)
		printf("Logged out of %s: the token is revoked%s.\n", shown, from_file ? " and ~/.fcm-token removed" : "");
	else
		printf("The token was no longer valid on %s (expired or revoked)%s.\n", shown,
		    from_file ? ": removed ~/.fcm-token" : "");
	if (!from_file && !json)
		printf("FCM_TOKEN is set in your environment: unset it too.\n");
	jv_free(v);
	return 0;
}

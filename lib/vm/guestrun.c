/* guestrun.c — fcm's own programs in a VM, over ssh (guestrun.h). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "core/run.h"
#include "vm/guestkey.h"
#include "vm/guestrun.h"
#include "vm/svc.h"

char **fcm_guest_argv(jv rec, int tty, const char *cmd)
{
	static const char *const head[] = {
		"ssh", "-F", "/dev/null", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20",
		"-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=6", NULL,
	};
	char *pin[FCM_GUEST_SSH_NOPTS + 1];
	char **argv = fcm_malloc(40 * sizeof *argv);
	size_t n = 0;

	for (size_t i = 0; head[i]; i++)
		argv[n++] = fcm_strdup(head[i]);
	argv[n++] = fcm_strdup(tty ? "-tt" : "-T");
	argv[n++] = fcm_strdup("-i");
	argv[n++] = fcm_guestkey_path();
	fcm_guest_ssh_opts(fcm_get_str(rec, "id"), pin);
	for (size_t i = 0; pin[i]; i++)
		argv[n++] = pin[i];	/* taken over */
	argv[n++] = fcm_asprintf("root@%s", fcm_get_str(rec, "ip"));
	argv[n++] = fcm_strdup(cmd);
	argv[n] = NULL;
	return argv;
}

void fcm_guest_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

void fcm_guest_need_running(jv rec)
{
	const char *name = fcm_get_str(rec, "name"), *id = fcm_get_str(rec, "id");
	const char *state = fcm_vm_state(rec);
	char *why;

	if (strcmp(state, "running"))
		fcm_die(FCM_E_CONFLICT, "VM '%s' is not running: start it with 'fcm start %s'", name, name);
	if (!fcm_get_str(rec, "ip"))
		fcm_die(FCM_E_INTERNAL, "VM '%s' has no address in its record", name);
	if ((why = fcm_hostkey_unrecorded(name, id)))
		fcm_die(FCM_E_CONFLICT, "%s", why);
}

int fcm_guest_call(jv rec, const char *cmd, const char *in, size_t inlen, char **out, size_t max)
{
	char **argv = fcm_guest_argv(rec, 0, cmd);
	int st = fcm_run_capture_all(argv, in, inlen, out, max);

	fcm_guest_argv_free(argv);
	return st;
}

const char *fcm_guest_reason(char *out)
{
	size_t n = strlen(out);
	char *line;

	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	line = strrchr(out, '\n');
	line = line ? line + 1 : out;
	if (!strncmp(line, "app: ", 5))
		line += 5;
	return *line ? line : "the guest gave no reason";
}

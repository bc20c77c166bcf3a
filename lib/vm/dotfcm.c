/* dotfcm.c — the VM named on the command line, or the one in .fcm. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/atomic.h"
#include "vm/dotfcm.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "vm/vm.h"

static char *find_dotfcm(void)
{
	char dir[PATH_MAX];

	if (!getcwd(dir, sizeof dir))
		return NULL;
	for (;;) {
		char *p = fcm_asprintf("%s/.fcm", strcmp(dir, "/") ? dir : "");
		if (access(p, R_OK) == 0)
			return p;
		free(p);
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = '\0';
	}
	return NULL;
}

jv fcm_dotfcm_vm(void)
{
	char *path = find_dotfcm();
	const char *name;
	jv dot, r;

	if (!path)
		return jv_invalid_with_msg(jv_string(
		    "no VM given and no .fcm file here: name a VM (see 'fcm ls')"));
	dot = fcm_read_json(path);
	name = jv_is_valid(dot) && jv_get_kind(dot) == JV_KIND_OBJECT ? fcm_get_str(dot, "name") : NULL;
	r = name ? jv_string(name) : jv_invalid_with_msg(jv_string_fmt("%s names no VM: name one (see 'fcm ls')", path));
	jv_free(dot);
	free(path);
	return r;
}

jv fcm_vm_from_arg(const char *arg)
{
	jv name;

	if (arg)
		return fcm_vm_find(arg);
	name = fcm_dotfcm_vm();
	if (!jv_is_valid(name))
		return name;
	jv rec = fcm_vm_find(jv_string_value(name));
	jv_free(name);
	return rec;
}

int fcm_dotfcm_write(jv rec)
{
	jv dot = jv_object();
	const char *keys[] = { "name", "id", "url", "git", NULL };

	for (int i = 0; keys[i]; i++) {
		jv v = jv_object_get(jv_copy(rec), jv_string(keys[i]));
		if (jv_get_kind(v) == JV_KIND_STRING)
			dot = jv_object_set(dot, jv_string(keys[i]), v);
		else
			jv_free(v);
	}
	const char *host = getenv("FCM_HOST");
	if (host && *host)
		dot = jv_object_set(dot, jv_string("host"), jv_string(host));
	return fcm_write_json_atomic(".fcm", dot, 0644);
}

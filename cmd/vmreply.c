/* vmreply.c — the answer of start, stop and destroy (vmreply.h). */
#include <stdio.h>

#include "vmreply.h"
#include "core/jsonl.h"

jv fcm_vm_reply(jv rec, const char *state)
{
	jv out = jv_object_set(jv_object(), jv_string("ok"), jv_true());

	out = jv_object_set(out, jv_string("id"), jv_string(fcm_get_str(rec, "id")));
	out = jv_object_set(out, jv_string("name"), jv_string(fcm_get_str(rec, "name")));
	return jv_object_set(out, jv_string("state"), jv_string(state));
}

void fcm_vm_reply_print(jv reply, jv req)
{
	(void)req;
	printf("VM %s: %s\n", fcm_get_str(reply, "name"), fcm_get_str(reply, "state"));
}

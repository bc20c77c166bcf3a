/* vmmake.c — what fcm create and fcm import share (vmmake.h). */
#include "vmmake.h"

jv fcm_vm_op(const char *op, const char *id)
{
	return jv_object_set(jv_object_set(jv_object(), jv_string("op"), jv_string(op)),
	    jv_string("id"), jv_string(id));
}

jv fcm_vm_merge(jv rec, jv reply, const char *const *keys)
{
	for (int i = 0; keys[i]; i++) {
		jv v = jv_object_get(jv_copy(reply), jv_string(keys[i]));
		if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL)
			rec = jv_object_set(rec, jv_string(keys[i]), v);
		else
			jv_free(v);
	}
	return rec;
}

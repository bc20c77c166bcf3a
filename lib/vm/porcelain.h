/* porcelain.h — what fcm start, stop and destroy share: their options
 * ([VM] [--json] [--no-wait] [--help]), finding the VM, and their answer. */
#ifndef FCM_PORCELAIN_H
#define FCM_PORCELAIN_H

#include <jv.h>

#define FCM_OPT_NOWAIT 1	/* accept --no-wait */

struct fcm_vmcmd {
	int json;	/* --json */
	int wait;	/* not --no-wait */
};

/* Parse the options, then find the VM (named, or from .fcm); dies with one
 * clear line on bad options or an unknown VM.  Returns its record. */
jv fcm_vmcmd_parse(int argc, char **argv, const char *usage, unsigned opts,
    struct fcm_vmcmd *cmd);
/* "VM <name>: <state>" on a terminal, else {"ok":true,"id","name","state"}. */
void fcm_vmcmd_done(const struct fcm_vmcmd *cmd, const char *id, const char *name,
    const char *state);

#endif

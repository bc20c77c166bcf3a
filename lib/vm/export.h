/* export.h — the archive of one VM (fcm export, fcm import; doc/export.md). */
#ifndef FCM_EXPORT_H
#define FCM_EXPORT_H

#define FCM_EXPORT_ARCHIVE  "fcm-export"	/* fcm-export.json's "archive" */
#define FCM_EXPORT_VERSION  1		/* the archive's layout */
#define FCM_EXPORT_MANIFEST "fcm-export.json"

/* tar --exclude patterns of what in a VM's directory is not durable: made
 * again at each start, or by the daemon (NULL-terminated). */
extern const char *const fcm_export_runtime[];
/* ... and of what is secret, left out unless --include-secrets. */
extern const char *const fcm_export_secret[];

#endif

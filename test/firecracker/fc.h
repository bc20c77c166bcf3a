/* fc.h — the test double of the `firecracker` binary (see doc/testing-firecracker.md). */
#ifndef FC_DOUBLE_H
#define FC_DOUBLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jv.h>

#define FC_DEFAULT_SOCK "/run/firecracker.socket"
#define FC_DEFAULT_ID "anonymous-instance"
#define FC_MAX_PAYLOAD 51200

/* The emulated release (version.c): "1.7.0" or "1.8.0", from
 * FCM_TEST_FC_VERSION (default the newest); exits on an unknown one. */
const char *fc_version(void);
/* Does that release describe the devices in ACPI (1.8.0 and later)? */
int fc_has_acpi(void);

/* Firecracker's exit codes (vmm::FcExitCode). */
#define FC_EXIT_OK 0
#define FC_EXIT_GENERIC 1
#define FC_EXIT_BAD_CONFIGURATION 152
#define FC_EXIT_ARG_PARSING 153

/* ---- schema-directed JSON deserializer (serde/serde_json work-alike) ---- */

enum sk {
	SK_STRING, SK_PATH, SK_BOOL, SK_U8, SK_U16, SK_U32, SK_U64, SK_USIZE,
	SK_ENUM, SK_STRUCT, SK_SEQ, SK_ANY, SK_MAC, SK_IPV4, SK_LEVEL
};

struct schema;

struct field {
	const char *name;
	const struct schema *type;
	int required;  /* 1: missing field is an error; 0: Option<T> or #[serde(default)] */
};

struct schema {
	enum sk kind;
	const char *name;                 /* struct name, for "expected struct X" */
	const struct field *fields;       /* SK_STRUCT, terminated by name == NULL */
	const char *const *variants;      /* SK_ENUM, NULL-terminated */
	const struct schema *items;       /* SK_SEQ */
};

/* Deserializes buf[0..len) as `s`, exactly as serde_json::from_slice would
 * accept or refuse it. On success returns 0 and sets *out (an object for
 * structs; absent optional fields stay absent). On failure returns -1 and
 * writes serde_json's message ("missing field `x` at line 1 column 2") into err. */
int fc_deserialize(const struct schema *s, const char *buf, size_t len, jv *out,
                   char *err, size_t errlen);

/* Schemas of Firecracker's request bodies. */
extern const struct schema S_BOOT_SOURCE, S_DRIVE, S_PARTIAL_DRIVE, S_MACHINE_CONFIG,
	S_MACHINE_CONFIG_UPDATE, S_NET, S_PARTIAL_NET, S_ACTION, S_VM, S_LOGGER, S_METRICS,
	S_BALLOON, S_BALLOON_UPDATE, S_BALLOON_STATS_UPDATE, S_VSOCK, S_ENTROPY,
	S_MMDS_CONFIG, S_SNAPSHOT_CREATE, S_SNAPSHOT_LOAD, S_CPU_CONFIG, S_ANY,
	S_VMM_CONFIG;

/* ---- logging (Firecracker's log line format) ---- */
enum { LVL_OFF, LVL_ERROR, LVL_WARN, LVL_INFO, LVL_DEBUG, LVL_TRACE };
void fc_log_init(const char *id);
int fc_log_configure(const char *path, int level, int show_level, int show_origin,
                     char *err, size_t errlen);
void fc_log(int level, const char *thread, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define LOG_INFO(...) fc_log(LVL_INFO, "fc_api", __VA_ARGS__)
#define LOG_WARN(...) fc_log(LVL_WARN, "fc_api", __VA_ARGS__)
#define LOG_ERROR(...) fc_log(LVL_ERROR, "fc_api", __VA_ARGS__)
int fc_level_parse(const char *s);

/* ---- the VM and its resources ---- */
enum vmstate { VM_NOT_STARTED, VM_RUNNING, VM_PAUSED };

struct vm {
	char id[65];
	enum vmstate state;
	int boot_path;          /* a boot-specific resource was configured */
	jv boot_source;         /* object or null */
	jv drives;              /* array, root device first (Firecracker's order) */
	jv machine;             /* object, always set */
	jv nets;                /* array */
	jv logger, metrics, balloon, vsock, entropy, mmds_config, cpu_config; /* object or null */
	jv mmds;                /* null until first PUT */
	int metrics_fd;
	int boot_timer;
	/* QEMU */
	pid_t qemu_pid;
	int qmp_fd;
	char rundir[96];       /* short: it holds the QMP unix socket */
	int exit_code;          /* set when QEMU ended */
	int incoming;           /* vmm_start: QEMU waits for a saved state */
	int fatal;              /* a failed snapshot load: exit once answered */
};

extern struct vm VM;

void vm_init(const char *id);
void vm_free(void);

/* An API call outcome: status 204/200/400..., body (JSON text) or NULL. */
struct reply {
	int status;
	char *body;             /* malloc'd */
};

/* Routes one request as Firecracker's API server does. */
struct reply api_handle(const char *method, const char *url, const char *body, size_t len,
                        int has_body);
char *fault(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Applies a --config-file document; 0 on success, else err is set. */
char *api_metrics_init(jv cfg);   /* --metrics-path; NULL or a fault body */
int config_apply(const char *buf, size_t len, char *err, size_t errlen);

/* ---- the engine: QEMU ---- */
int vmm_start(char *err, size_t errlen);
int vmm_qmp(const char *cmd, char *err, size_t errlen);   /* executes {"execute":cmd} */
int vmm_send_keys_ctrl_alt_del(char *err, size_t errlen);
void vmm_kill(void);
void vmm_cleanup(void);
void vmm_drain_qmp(void);
int vmm_metrics_flush(char *err, size_t errlen);
/* Saves the paused VM's whole state (devices and memory: QEMU's migration
 * stream) into memfd, open for writing.  0, or -1 with err. */
int vmm_snapshot_save(int memfd, char *err, size_t errlen);
/* Starts QEMU from the configuration in VM, loads the state saved by
 * vmm_snapshot_save from memfd, then resumes it when resume is set (else
 * it stays paused).  0, or -1 with err. */
int vmm_restore(int memfd, int resume, char *err, size_t errlen);
/* The snapshot data format version of the emulated release ("1.0.0" for
 * 1.7, "2.0.0" for 1.8), as Firecracker's --snapshot-version prints it
 * after a "v". */
const char *fc_snapshot_version(void);

#endif

/* fcm logs — a VM's logs: its serial console and VMM (the s6-log of its
 * service), or with --deploy the log of its deploys; -f follows. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "vm/vm.h"

/* Print the last n lines of text. */
static void tail_lines(const char *text, size_t len, long n)
{
	size_t start = len;
	long seen = 0;

	if (len && text[len - 1] == '\n')
		start--;
	while (start > 0) {
		if (text[start - 1] == '\n' && ++seen == n)
			break;
		start--;
	}
	fwrite(text + start, 1, len - start, stdout);
}

/* Follow: read what is appended; reopen when s6-log rotates the file. */
static void follow(const char *path, const char *id, const char *name, off_t pos)
{
	char *vmdir = fcm_vm_dir(id);
	ino_t ino = 0;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && fstat(fd, &st) == 0)
		ino = st.st_ino;
	for (;;) {
		char buf[8192];
		ssize_t r;
		if (fd >= 0) {
			while ((r = pread(fd, buf, sizeof buf, pos)) > 0) {
				if (fwrite(buf, 1, (size_t)r, stdout) != (size_t)r || fflush(stdout) != 0)
					exit(0);	/* reader went away */
				pos += r;
			}
		}
		usleep(200000);
		if (stat(path, &st) == 0 && st.st_ino != ino) {
			if (fd >= 0)
				close(fd);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			ino = st.st_ino;
			pos = 0;
		} else if (stat(path, &st) < 0 && access(vmdir, F_OK) < 0) {
			fprintf(stderr, "fcm-logs: VM '%s' was destroyed\n", name);
			exit(0);
		}
	}
}

static jv run(jv req, jv rec, const struct fcm_principal *who)
{
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");
	jv f = jv_object_get(jv_copy(req), jv_string("follow")), d = jv_object_get(jv_copy(req), jv_string("deploy"));
	jv n = jv_object_get(jv_copy(req), jv_string("lines"));
	int fol = jv_get_kind(f) == JV_KIND_TRUE, deploy = jv_get_kind(d) == JV_KIND_TRUE;
	long lines = jv_get_kind(n) == JV_KIND_NUMBER ? (long)jv_number_value(n) : 100;
	char *path = deploy ? fcm_path("vms/%s/deploy.log", id) : fcm_path("vms/%s/log/current", id);
	size_t len = 0;
	char *text = fcm_read_file(path, 64 << 20, &len);

	(void)who;
	jv_free(f);
	jv_free(d);
	jv_free(n);
	if (!text && errno != ENOENT)
		fcm_die_sys(FCM_E_INTERNAL, "unable to read %s", path);
	if (!text && !fol)
		fcm_die(FCM_E_NOT_FOUND, "VM '%s' has no %s log yet", name, deploy ? "deploy" : "console");
	if (text)
		tail_lines(text, len, lines);
	free(text);
	fflush(stdout);
	if (fol)
		follow(path, id, name, (off_t)len);
	free(path);
	return jv_null();
}

static const struct fcm_opt opts[] = {
	{ "follow", 'f', FCM_OPT_FLAG, NULL, NULL, 0, 0, 0 },
	{ "lines", 'n', FCM_OPT_NUMBER, NULL, NULL, 0, 1000000, 0 },
	{ "deploy", 0, FCM_OPT_FLAG, NULL, NULL, 0, 0, 0 },
	{ NULL },
};

static const struct fcm_cmd_route routes[] = {
	{ "GET", "/v1/vms/{vm}/logs", 0 },
	{ NULL },
};

const struct fcm_cmd fcm_cmd_logs = {
	.name = "logs",
	.summary = "show a VM's console, VMM and deploy logs",
	.usage = "fcm logs [VM] [-f] [-n LINES] [--deploy]",
	.opts = opts,
	.flags = FCM_CMD_VM | FCM_CMD_TEXT | FCM_CMD_NOWRITE,
	.routes = routes,
	.status = 200,
	.run = run,
};

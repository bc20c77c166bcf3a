/* fcm-logs — a VM's logs: its serial console and VMM (the s6-log of its
 * service), or with --deploy the log of its deploys; -f follows. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/atomic.h"
#include "vm/dotfcm.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "vm/vm.h"

static const char usage[] = "fcm logs [VM] [-f] [-n LINES] [--deploy]";

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

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "lines", required_argument, NULL, 'n' },
		{ "deploy", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int follow = 0, deploy = 0, c;
	long lines = 100;
	char *end;

	fcm_init("fcm-logs");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "fn:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': follow = 1; break;
		case 'n':
			lines = strtol(optarg, &end, 10);
			if (!*optarg || *end || lines < 0 || lines > 1000000)
				fcm_die(FCM_E_USAGE, "-n takes a number of lines from 0 to 1000000, not '%.32s'", optarg);
			break;
		case 'D': deploy = 1; break;
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			fcm_die(FCM_E_USAGE, "unknown option '%.64s'; usage: %s", argv[optind - 1], usage);
		}
	}
	if (argc - optind > 1)
		fcm_die(FCM_E_USAGE, "one VM at a time; usage: %s", usage);
	jv rec = fcm_vm_from_arg(optind < argc ? argv[optind] : NULL);
	if (!jv_is_valid(rec)) {
		fcm_die_invalid(FCM_E_USAGE, rec);
	}
	const char *id = fcm_get_str(rec, "id");
	char *path = deploy ? fcm_path("vms/%s/deploy.log", id) : fcm_path("vms/%s/log/current", id);
	size_t len = 0;
	char *text = fcm_read_file(path, 64 << 20, &len);

	if (!text && errno != ENOENT)
		fcm_die_sys(FCM_E_INTERNAL, "unable to read %s", path);
	if (!text && !follow)
		fcm_die(FCM_E_USAGE, "VM '%s' has no %s log yet", fcm_get_str(rec, "name"),
		    deploy ? "deploy" : "console");
	if (text)
		tail_lines(text, len, lines);
	free(text);
	fflush(stdout);
	if (!follow)
		return 0;

	/* Follow: read what is appended; reopen when s6-log rotates the file. */
	char *vmdir = fcm_vm_dir(id);
	off_t pos = (off_t)len;
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
					return 0;	/* reader went away */
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
			fprintf(stderr, "fcm-logs: VM '%s' was destroyed\n", fcm_get_str(rec, "name"));
			return 0;
		}
	}
}

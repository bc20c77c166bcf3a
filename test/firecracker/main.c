/* main.c — `firecracker` test double: command line, API socket, poll loop.
 * See doc/testing-firecracker.md. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <microhttpd.h>

#include "fc.h"

/* ---- command line, as Firecracker's utils::arg_parser ---- */

struct arg {
	const char *name;
	int takes_value;
	const char *help;
	const char *value;   /* user value (or "1" for flags) */
};

static struct arg ARGS[] = {
	{"api-sock", 1, "Path to unix domain socket used by the API.", NULL},
	{"boot-timer", 0, "Whether or not to load boot timer device for logging elapsed time since "
	                  "InstanceStart command.", NULL},
	{"config-file", 1, "Path to a file that contains the microVM configuration in JSON format.", NULL},
	{"describe-snapshot", 1, "Print the data format version of the provided snapshot state file.", NULL},
	{"http-api-max-payload-size", 1, "Http API request payload max size, in bytes.", NULL},
	{"id", 1, "MicroVM unique identifier.", NULL},
	{"level", 1, "Set the logger level.", NULL},
	{"log-path", 1, "Path to a fifo or a file used for configuring the logger on startup.", NULL},
	{"metadata", 1, "Path to a file that contains metadata in JSON format to add to the mmds.", NULL},
	{"metrics-path", 1, "Path to a fifo or a file used for configuring the metrics on startup.", NULL},
	{"mmds-size-limit", 1, "Mmds data store limit, in bytes.", NULL},
	{"module", 1, "Set the logger module filter.", NULL},
	{"no-api", 0, "Optional parameter which allows starting and using a microVM without an active "
	              "API socket.", NULL},
	{"no-seccomp", 0, "Optional parameter which allows starting and using a microVM without seccomp "
	                  "filtering. Not recommended.", NULL},
	{"parent-cpu-time-us", 1, "Parent process CPU time (wall clock, microseconds). This parameter is "
	                          "optional.", NULL},
	{"seccomp-filter", 1, "Optional parameter which allows specifying the path to a custom seccomp "
	                      "filter. For advanced users.", NULL},
	{"show-level", 0, "Whether or not to output the level in the logs.", NULL},
	{"show-log-origin", 0, "Whether or not to include the file path and line number of the log's "
	                       "origin.", NULL},
	{"snapshot-version", 0, "Print the supported data format version.", NULL},
	{"start-time-cpu-us", 1, "Process start CPU time (wall clock, microseconds). This parameter is "
	                         "optional.", NULL},
	{"start-time-us", 1, "Process start time (wall clock, microseconds). This parameter is optional.", NULL},
	{"version", 0, "Print the binary version number.", NULL},
	{NULL, 0, NULL, NULL},
};

static struct arg *arg_find(const char *name)
{
	for (struct arg *a = ARGS; a->name; a++)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

static const char *argv_value(const char *name)
{
	struct arg *a = arg_find(name);
	return a ? a->value : NULL;
}

/* MainError::ParseArguments: logged, printed in Debug form, exit 153. */
static void __attribute__((noreturn)) arg_error(const char *debug, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fc_log(LVL_ERROR, "main", "Arguments parsing error: %s \n\nFor more information try --help.", msg);
	fprintf(stderr, "Error: ParseArguments(%s)\n", debug);
	fc_log(LVL_ERROR, "main", "Firecracker exiting with error. exit_code=%d", FC_EXIT_ARG_PARSING);
	exit(FC_EXIT_ARG_PARSING);
}

static void parse_args(int argc, char **argv)
{
	char dbg[600];
	int end = argc;
	for (int k = 1; k < argc; k++)
		if (!strcmp(argv[k], "--")) {
			end = k;  /* everything after `--` is ignored */
			break;
		}
	for (int k = 1; k < end; k++)
		if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "--version")) {
			if (!strcmp(argv[k], "--help")) {
				printf("Firecracker v%s\n\n", fc_version());
				for (struct arg *a = ARGS; a->name; a++) {
					if (a->takes_value)
						printf("--%s <%s>: %s\n", a->name, a->name, a->help);
					else
						printf("--%s: %s\n", a->name, a->help);
				}
				printf("--help: Show the help message.\n\n");
			} else {
				printf("Firecracker v%s\n\n", fc_version());
			}
			fflush(stdout);
			exit(ferror(stdout) ? 1 : 0);
		}
	for (int k = 1; k < end; k++) {
		const char *s = argv[k];
		if (strncmp(s, "--", 2)) {
			snprintf(dbg, sizeof dbg, "UnexpectedArgument(\"%s\")", s);
			arg_error(dbg, "Found argument '%s' which wasn't expected, or isn't valid in this "
			          "context.", s);
		}
		struct arg *a = arg_find(s + 2);
		if (!a) {
			snprintf(dbg, sizeof dbg, "UnexpectedArgument(\"%s\")", s + 2);
			arg_error(dbg, "Found argument '%s' which wasn't expected, or isn't valid in this "
			          "context.", s + 2);
		}
		if (a->value) {
			snprintf(dbg, sizeof dbg, "DuplicateArgument(\"%s\")", a->name);
			arg_error(dbg, "The argument '%s' was provided more than once.", a->name);
		}
		if (a->takes_value) {
			if (k + 1 >= end || !strncmp(argv[k + 1], "--", 2)) {
				snprintf(dbg, sizeof dbg, "MissingValue(\"%s\")", a->name);
				arg_error(dbg, "The argument '%s' requires a value, but none was supplied.", a->name);
			}
			a->value = argv[++k];
		} else {
			a->value = "1";
		}
	}
	if (argv_value("no-api") && !argv_value("config-file"))
		arg_error("MissingArgument(\"config-file\")",
		          "Argument 'config-file' required, but not found.");
	if (argv_value("no-seccomp") && argv_value("seccomp-filter"))
		arg_error("ForbiddenArgument(\"no-seccomp\", \"seccomp-filter\")",
		          "Argument 'no-seccomp' cannot be used together with argument 'seccomp-filter'.");
}

/* A Rust panic (Firecracker is built with panic = "abort"). */
static void __attribute__((noreturn)) panic_abort(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fc_log(LVL_ERROR, "main", "Firecracker panicked at '%s'", msg);
	fprintf(stderr, "thread 'main' panicked at '%s'\n", msg);
	struct rlimit no_core = {0, 0};
	setrlimit(RLIMIT_CORE, &no_core);
	signal(SIGABRT, SIG_DFL);
	abort();
}

static void __attribute__((noreturn)) fail(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fc_log(LVL_ERROR, "main", "%s", msg);
	fprintf(stderr, "Error: %s\n", msg);
	fc_log(LVL_ERROR, "main", "Firecracker exiting with error. exit_code=%d", code);
	exit(code);
}

static int valid_instance_id(const char *id)
{
	size_t n = strlen(id);
	if (n < 1 || n > 64)
		return 0;
	for (size_t k = 0; k < n; k++) {
		char c = id[k];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	size_t r;
	while ((r = fread(b + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			if (cap > (64u << 20))
				break;
			cap *= 2;
			b = realloc(b, cap);
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(b);
		return NULL;
	}
	*len = n;
	return b;
}

/* ---- signals: self-pipe ---- */

static int sigpipe_fd[2] = {-1, -1};

static void on_signal(int sig)
{
	int e = errno;
	unsigned char c = (unsigned char)sig;
	ssize_t w = write(sigpipe_fd[1], &c, 1);
	(void)w;
	errno = e;
}

static void setup_signals(void)
{
	if (pipe2(sigpipe_fd, O_CLOEXEC | O_NONBLOCK) < 0)
		fail(FC_EXIT_GENERIC, "Failed to register signal handlers: %s", strerror(errno));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Our parent may have blocked SIGCHLD (a signalfd user): we need it to
	 * see QEMU end. SIGTERM and friends keep the mask we were given, as
	 * Firecracker does. */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_UNBLOCK, &chld, NULL);
}

/* ---- HTTP (libmicrohttpd on our own unix socket) ---- */

static size_t payload_limit = FC_MAX_PAYLOAD;

struct conn {
	char *body;
	size_t len, cap;
	int too_big;
};

static enum MHD_Result queue_json(struct MHD_Connection *c, int status, const char *body, int close)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(body ? strlen(body) : 0, (void *)(body ? body : ""),
		                                MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Server", "Firecracker API");
	if (body)
		MHD_add_response_header(r, "Content-Type", "application/json");
	if (close)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct conn *cn = *con_cls;
	if (!cn) {
		cn = calloc(1, sizeof *cn);
		if (!cn)
			return MHD_NO;
		*con_cls = cn;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!cn->too_big) {
			if (cn->len + *upload_size > payload_limit) {
				cn->too_big = 1;
			} else {
				if (cn->len + *upload_size + 1 > cn->cap) {
					size_t cap = cn->cap ? cn->cap : 1024;
					while (cap < cn->len + *upload_size + 1)
						cap *= 2;
					char *nb = realloc(cn->body, cap);
					if (!nb)
						return MHD_NO;
					cn->body = nb;
					cn->cap = cap;
				}
				memcpy(cn->body + cn->len, upload, *upload_size);
				cn->len += *upload_size;
				cn->body[cn->len] = 0;
			}
		}
		*upload_size = 0;  /* a body too big is read to its end, then refused */
		return MHD_YES;
	}
	if (strcmp(method, "GET") && strcmp(method, "PUT") && strcmp(method, "PATCH"))
		return queue_json(c, 400, "{ \"error\": \"Unsupported HTTP method.\\nAll previous "
		                  "unanswered requests will be dropped.\" }", 1);
	if (cn->too_big) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		char *f = fault("Request payload with size %s is larger than the limit of %zu allowed by "
		                "server.\nAll previous unanswered requests will be dropped.",
		                cl ? cl : "?", payload_limit);
		enum MHD_Result ret = queue_json(c, 400, f, 1);
		free(f);
		return ret;
	}
	struct reply r = api_handle(method, url, cn->body ? cn->body : "", cn->len, cn->len > 0);
	enum MHD_Result ret = queue_json(c, r.status, r.body, 0);
	free(r.body);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct conn *cn = *con_cls;
	if (cn) {
		free(cn->body);
		free(cn);
	}
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	fc_log(LVL_DEBUG, "fc_api", "http: %s", msg);
}

static int bind_api(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		panic_abort("Failed to open the API socket: IO Error: path too long: %s", path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		panic_abort("Failed to open the API socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		if (e == EADDRINUSE)
			fail(FC_EXIT_GENERIC, "Failed to open the API socket at: %s. Check that it is not "
			     "already used.", path);
		panic_abort("Failed to communicate with the API socket: IO Error: %s (os error %d)",
		            strerror(e), e);
	}
	if (listen(fd, 64) < 0)
		panic_abort("Failed to communicate with the API socket: %s", strerror(errno));
	return fd;
}

/* ---- the loop ---- */

static int terminating_signal;

static int child_exited(int *code)
{
	if (VM.qemu_pid <= 0)
		return 0;
	int st;
	pid_t r = waitpid(VM.qemu_pid, &st, WNOHANG);
	if (r != VM.qemu_pid)
		return 0;
	VM.qemu_pid = 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		*code = FC_EXIT_OK;
	} else {
		if (WIFEXITED(st))
			LOG_ERROR("fcm test double: QEMU exited with status %d", WEXITSTATUS(st));
		else
			LOG_ERROR("fcm test double: QEMU was killed by signal %d", WTERMSIG(st));
		*code = FC_EXIT_GENERIC;
	}
	return 1;
}

static int run(struct MHD_Daemon *d)
{
	for (;;) {
		struct pollfd p[3];
		int n = 0, ie = -1, iq = -1;
		p[n].fd = sigpipe_fd[0];
		p[n++].events = POLLIN;
		if (d) {
			const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
			ie = n;
			p[n].fd = info->epoll_fd;
			p[n++].events = POLLIN;
		}
		if (VM.qmp_fd >= 0) {
			iq = n;
			p[n].fd = VM.qmp_fd;
			p[n++].events = POLLIN;
		}
		int timeout = -1;
		if (d) {
			MHD_UNSIGNED_LONG_LONG to;
			if (MHD_get_timeout(d, &to) == MHD_YES)
				timeout = to > 60000 ? 60000 : (int)to;
		}
		int r = poll(p, (nfds_t)n, timeout);
		if (r < 0 && errno != EINTR)
			return FC_EXIT_GENERIC;
		if (r > 0 && (p[0].revents & POLLIN)) {
			unsigned char sigs[64];
			ssize_t k = read(sigpipe_fd[0], sigs, sizeof sigs);
			for (ssize_t q = 0; q < k; q++)
				if (sigs[q] == SIGTERM || sigs[q] == SIGINT || sigs[q] == SIGHUP)
					terminating_signal = sigs[q];
		}
		if (terminating_signal)
			return -1;
		int code;
		if (child_exited(&code)) {
			LOG_INFO("Vmm is stopping.");
			return code;
		}
		if (d && (r == 0 || (ie >= 0 && p[ie].revents)))
			MHD_run(d);
		if (VM.fatal && d) {
			/* A failed snapshot load leaves Firecracker unusable: it
			 * answers, then exits (build_microvm_from_requests' fatal_error). */
			for (int k = 0; k < 20; k++) {
				MHD_run(d);
				struct timespec ts = {0, 10 * 1000000L};
				nanosleep(&ts, NULL);
			}
			return FC_EXIT_GENERIC;
		}
		if (iq >= 0 && p[iq].revents && VM.qmp_fd >= 0)
			vmm_drain_qmp();
		if (child_exited(&code)) {
			LOG_INFO("Vmm is stopping.");
			return code;
		}
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	if (argv_value("snapshot-version")) {
		printf("v%s\n", fc_snapshot_version());
		return 0;
	}
	if (argv_value("describe-snapshot"))
		fail(FC_EXIT_GENERIC, "When printing Snapshot Data format: Invalid data format version "
		     "of snapshot file: the fcm test double of Firecracker does not read snapshots");
	const char *id = argv_value("id") ? argv_value("id") : FC_DEFAULT_ID;
	if (!valid_instance_id(id))
		panic_abort("Invalid instance ID: %s", id);
	fc_log_init(id);
	int level = -1;
	if (argv_value("level")) {
		level = fc_level_parse(argv_value("level"));
		if (level < 0)
			fail(FC_EXIT_BAD_CONFIGURATION, "Invalid value for logger level: %s.Possible values: "
			     "[Error, Warning, Info, Debug]", argv_value("level"));
	}
	{
		char err[256];
		if (fc_log_configure(argv_value("log-path"), level, argv_value("show-level") ? 1 : -1,
		                     argv_value("show-log-origin") ? 1 : -1, err, sizeof err) < 0)
			fail(FC_EXIT_GENERIC, "Could not initialize logger: %s", err);
	}
	fc_log(LVL_INFO, "main", "Running Firecracker v%s", fc_version());
	setup_signals();
	vm_init(id);
	VM.boot_timer = argv_value("boot-timer") != NULL;
	if (argv_value("http-api-max-payload-size")) {
		char *e;
		unsigned long long v = strtoull(argv_value("http-api-max-payload-size"), &e, 10);
		if (*e || !*argv_value("http-api-max-payload-size"))
			panic_abort("'http-api-max-payload-size' parameter expected to be of 'usize' type.");
		payload_limit = (size_t)v;
	}
	if (argv_value("metrics-path")) {
		jv m = jv_object_set(jv_object(), jv_string("metrics_path"),
		                     jv_string(argv_value("metrics-path")));
		char *f = api_metrics_init(m);
		jv_free(m);
		if (f) {
			free(f);
			fail(FC_EXIT_GENERIC, "Could not initialize metrics: %s", argv_value("metrics-path"));
		}
	}
	char *config = NULL;
	size_t config_len = 0;
	if (argv_value("config-file")) {
		config = read_file(argv_value("config-file"), &config_len);
		if (!config)
			panic_abort("Unable to open or read from the configuration file: %s (os error %d)",
			            strerror(errno), errno);
	}
	if (argv_value("metadata")) {
		size_t ml;
		char *md = read_file(argv_value("metadata"), &ml);
		if (!md)
			panic_abort("Unable to open or read from the mmds content file: %s (os error %d)",
			            strerror(errno), errno);
		char err[512];
		jv v;
		if (fc_deserialize(&S_ANY, md, ml, &v, err, sizeof err) < 0)
			panic_abort("MMDS error: metadata provided not valid json: %s", err);
		jv_free(VM.mmds);
		VM.mmds = v;
		free(md);
		LOG_INFO("Successfully added metadata to mmds from file");
	}

	struct MHD_Daemon *d = NULL;
	int api_fd = -1;
	if (!argv_value("no-api")) {
		const char *sock = argv_value("api-sock") ? argv_value("api-sock") : FC_DEFAULT_SOCK;
		api_fd = bind_api(sock);
		d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, NULL,
		                     MHD_OPTION_LISTEN_SOCKET, api_fd,
		                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		                     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
		                     MHD_OPTION_END);
		if (!d)
			panic_abort("Failed to open the API socket: could not start the HTTP server");
	}

	int code;
	if (config) {
		char err[1024];
		if (config_apply(config, config_len, err, sizeof err) < 0) {
			free(config);
			fc_log(LVL_ERROR, "main", "Configuration for VMM from one single json failed: %s", err);
			fprintf(stderr, "Error: %s(BuildMicroVMFromJson(ParseFromJson(\"%s\")))\n",
			        d ? "RunWithApi" : "RunWithoutApiError", err);
			code = FC_EXIT_BAD_CONFIGURATION;
			goto out;
		}
		free(config);
		if (jv_get_kind(VM.boot_source) != JV_KIND_OBJECT ||
		    vmm_start(err, sizeof err) < 0) {
			fc_log(LVL_ERROR, "main", "Building VMM configured from cmdline json failed: %s", err);
			fprintf(stderr, "Error: %s(BuildMicroVMFromJson(StartMicroVM(\"%s\")))\n",
			        d ? "RunWithApi" : "RunWithoutApiError", err);
			code = FC_EXIT_BAD_CONFIGURATION;
			goto out;
		}
		fc_log(LVL_INFO, "main", "Successfully started microvm that was configured from one "
		       "single json");
	}
	code = run(d);
out:
	vmm_kill();
	vmm_cleanup();
	if (d)
		MHD_stop_daemon(d);
	if (api_fd >= 0)
		close(api_fd);
	vm_free();
	if (code < 0) {
		/* Firecracker does not handle SIGTERM/SIGINT: it dies of them. */
		int sig = terminating_signal;
		signal(sig, SIG_DFL);
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, sig);
		sigprocmask(SIG_UNBLOCK, &s, NULL);
		raise(sig);
		return 128 + sig;
	}
	if (code == 0)
		fc_log(LVL_INFO, "main", "Firecracker exiting successfully. exit_code=0");
	else
		fc_log(LVL_ERROR, "main", "Firecracker exiting with error. exit_code=%d", code);
	return code;
}

/* fcm-name — a fresh VM name, or check a given one.
 *
 *   fcm-name [-n COUNT]     COUNT fresh <adjective>-<noun> names (default 1),
 *                           distinct from each other and from every VM's name
 *   fcm-name --check NAME   is NAME a valid DNS label not used by any VM?
 *
 * One JSON object per line: {"ok":true,"name":"cosmic-nova"}.  Names come
 * from 100 adjectives x 100 nouns (space, tech and nature words) = 10,000. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/err.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/name.h"
#include "vm/vm.h"

static const char usage[] = "fcm-name [-n COUNT] | fcm-name --check NAME";

static const char *const adjectives[] = {
	/* the original list */
	"cosmic", "quantum", "stellar", "solar", "lunar", "orbital", "nebula",
	"cyber", "digital", "neural", "binary", "atomic", "photon", "plasma",
	"misty", "crystal", "amber", "coral", "forest", "arctic", "alpine",
	/* space */
	"astral", "galactic", "celestial", "radiant", "starry", "polar", "zenith",
	"eclipsed", "gravity", "ionic", "magnetic", "meteoric", "orbiting",
	"rocket", "sidereal", "spectral", "sunlit", "twilight", "umbral", "vast",
	/* tech */
	"analog", "async", "boolean", "cached", "compiled", "crypto", "elastic",
	"fractal", "hashed", "hyper", "kinetic", "linear", "logical", "micro",
	"modular", "nano", "optic", "parallel", "pixel", "quick", "robotic",
	"scalar", "sonic", "static", "turbo", "vector", "virtual", "wired",
	/* nature */
	"autumn", "breezy", "cedar", "dusky", "emerald", "frosty", "golden",
	"granite", "hazel", "ivory", "jade", "lively", "maple", "mossy",
	"oaken", "pebble", "quiet", "rainy", "rustic", "sandy", "silver",
	"snowy", "spring", "stormy", "summer", "sunny", "tidal", "velvet",
	"verdant", "willow", "windy",
};

static const char *const nouns[] = {
	/* the original list */
	"nova", "comet", "pulsar", "quasar", "aurora", "eclipse", "meteor",
	"circuit", "matrix", "nexus", "vertex", "tensor", "vector", "cipher",
	"river", "canyon", "glacier", "meadow", "reef", "grove", "peak",
	/* space */
	"asteroid", "cluster", "cosmos", "crater", "galaxy", "horizon", "lander",
	"magnetar", "moon", "nebula", "orbit", "planet", "probe", "rocket",
	"satellite", "star", "sun", "supernova", "titan", "zenith", "void",
	/* tech */
	"array", "beacon", "buffer", "byte", "cache", "compiler", "kernel",
	"daemon", "engine", "fiber", "gateway", "hash", "lattice", "lambda",
	"module", "node", "packet", "pixel", "protocol", "qubit", "router",
	"socket", "signal", "stack", "switch", "thread", "token", "widget",
	/* nature */
	"bay", "brook", "cedar", "cliff", "cove", "delta", "dune", "falls",
	"fern", "fjord", "harbor", "island", "lagoon", "lake", "marsh",
	"mesa", "oasis", "pine", "prairie", "ridge", "spring", "summit",
	"tundra", "valley", "willow", "wood", "bridge", "core", "relay",
	"shard", "spark",
};

#define NADJ (sizeof adjectives / sizeof adjectives[0])
#define NNOUN (sizeof nouns / sizeof nouns[0])

/* The names handed out by this run (-n), sorted, for bsearch. */
static char **taken;
static size_t ntaken;

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void take(const char *name);

/* Without a complete name index (lib/vm/vm.h), every name in use is read
 * once into taken; with one, nothing is read: it answers each name. */
static int indexed;

static void load_taken(void)
{
	jv list;

	indexed = fcm_vm_names_complete();
	if (indexed)
		return;
	list = fcm_vm_list();
	jv_array_foreach(list, i, rec) {
		const char *name = fcm_get_str(rec, "name");
		if (name)
			take(name);
		jv_free(rec);
		(void)i;
	}
	jv_free(list);
}

/* Taken by a VM, or handed out here. */
static int is_taken(const char *name)
{
	return (ntaken && bsearch(&name, taken, ntaken, sizeof *taken, cmpstr) != NULL) ||
	    (indexed && fcm_vm_name_taken(name));
}

/* Mark a name as taken (keeps the array sorted). */
static void take(const char *name)
{
	size_t i = 0;

	taken = realloc(taken, (ntaken + 1) * sizeof *taken);
	if (!taken)
		fcm_die_nomem();
	while (i < ntaken && strcmp(taken[i], name) < 0)
		i++;
	memmove(taken + i + 1, taken + i, (ntaken - i) * sizeof *taken);
	taken[i] = fcm_strdup(name);
	ntaken++;
}

static unsigned long gcd(unsigned long a, unsigned long b)
{
	while (b) {
		unsigned long t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* Walk every combination once, from a random start with a random stride
 * coprime with the total: random-looking, and it ends when all are taken. */
static int fresh(char *out, size_t outlen)
{
	const unsigned long total = NADJ * NNOUN;
	unsigned long r[2], start, step;

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		fcm_die_sys(FCM_E_INTERNAL, "unable to get random bytes");
	start = r[0] % total;
	step = 1 + r[1] % (total - 1);
	while (gcd(step, total) != 1)
		step++;
	for (unsigned long k = 0, i = start; k < total; k++, i = (i + step) % total) {
		const char *adj = adjectives[i / NNOUN], *noun = nouns[i % NNOUN];
		if (!strcmp(adj, noun))
			continue;
		snprintf(out, outlen, "%s-%s", adj, noun);
		if (!is_taken(out))
			return 0;
	}
	return -1;
}

static void reply_name(const char *name)
{
	jv r = jv_object_set(fcm_ok(), jv_string("name"), jv_string(name));

	if (fcm_jsonl_write(stdout, r) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write to stdout");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "check", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *check = NULL;
	long count = 1;
	char *end;
	int c;

	fcm_init(argv[0]);
	fcm_err_json(1);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			check = optarg;
			break;
		case 'n':
			count = strtol(optarg, &end, 10);
			if (!*optarg || *end || count < 1 || count > 100000)
				fcm_die(FCM_E_USAGE, "-n takes a whole number from 1 to 100000, not '%.32s'",
				    optarg);
			break;
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			fcm_die(FCM_E_USAGE, "unknown option '%.64s'; usage: %s",
			    argv[optind - 1], usage);
		}
	}
	if (optind != argc)
		fcm_die(FCM_E_USAGE, "unexpected argument '%.64s'; usage: %s", argv[optind], usage);

	load_taken();
	if (check) {
		char why[256];
		if (fcm_name_check(check, why, sizeof why) < 0)
			fcm_die(FCM_E_USAGE, "%s", why);
		if (is_taken(check))
			fcm_die(FCM_E_USAGE, "name '%s' is already used by a VM: choose another, or leave it out for a fresh one",
			    check);
		reply_name(check);
		return 0;
	}
	for (long i = 0; i < count; i++) {
		char name[FCM_NAME_MAX + 1];
		if (fresh(name, sizeof name) < 0)
			fcm_die(FCM_E_INTERNAL, "every one of the %zu names is taken: give one with --name",
			    NADJ * NNOUN);
		take(name);
		reply_name(name);
	}
	return 0;
}

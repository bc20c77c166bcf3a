/* vmname.c — fresh VM names (vmname.h). */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "core/err.h"
#include "vm/vmname.h"

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

size_t fcm_vm_names_total(void)
{
	return NADJ * NNOUN;
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

int fcm_vm_name_fresh(char *out, size_t outlen, int (*taken)(const char *name, void *arg), void *arg)
{
	/* Every combination once: random-looking, and it ends when all are
	 * taken (a stride coprime with the total visits each). */
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
		if (!taken(out, arg))
			return 0;
	}
	return -1;
}

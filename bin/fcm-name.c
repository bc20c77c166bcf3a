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

#include "core/err.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/name.h"
#include "vm/vm.h"
#include "vm/vmname.h"

static const char usage[] = "fcm-name [-n COUNT] | fcm-name --check NAME";


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

/* For fcm_vm_name_fresh. */
static int taken_here(const char *name, void *arg)
{
	(void)arg;
	return is_taken(name);
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
		if (fcm_vm_name_fresh(name, sizeof name, taken_here, NULL) < 0)
			fcm_die(FCM_E_INTERNAL, "every one of the %zu names is taken: give one with --name",
			    fcm_vm_names_total());
		take(name);
		reply_name(name);
	}
	return 0;
}

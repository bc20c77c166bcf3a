/* vmprint.c — tables and summaries for people. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/jsonl.h"
#include "vm/vmprint.h"

int fcm_human_output(int json_flag)
{
	return !json_flag && isatty(STDOUT_FILENO);
}

void fcm_format_age(long long since, char *out, size_t outlen)
{
	long long d = (long long)time(NULL) - since;

	if (since <= 0 || d < 0)
		snprintf(out, outlen, "-");
	else if (d < 60)
		snprintf(out, outlen, "%llds", d);
	else if (d < 3600)
		snprintf(out, outlen, "%lldm", d / 60);
	else if (d < 86400)
		snprintf(out, outlen, "%lldh", d / 3600);
	else
		snprintf(out, outlen, "%lldd", d / 86400);
}

static const char *str_or_dash(jv rec, const char *key)
{
	const char *s = fcm_get_str(rec, key);

	return s && *s ? s : "-";
}

static long long num(jv rec, const char *key)
{
	jv v = jv_object_get(jv_copy(rec), jv_string(key));
	long long r = jv_get_kind(v) == JV_KIND_NUMBER ? (long long)jv_number_value(v) : 0;

	jv_free(v);
	return r;
}

#define NCOLS 9

void fcm_print_vm_table(FILE *f, jv records)
{
	static const char *head[NCOLS] = { "NAME", "STATE", "IP", "URL", "CPUS", "MEM", "DISK", "GIT", "AGE" };
	int n = jv_array_length(jv_copy(records));
	size_t w[NCOLS];
	char (*cells)[NCOLS][160] = NULL;

	for (int c = 0; c < NCOLS; c++)
		w[c] = strlen(head[c]);
	if (n > 0) {
		cells = calloc((size_t)n, sizeof *cells);
		if (!cells)
			return;
	}
	for (int i = 0; i < n; i++) {
		jv rec = jv_array_get(jv_copy(records), i);
		snprintf(cells[i][0], 160, "%s", str_or_dash(rec, "name"));
		snprintf(cells[i][1], 160, "%s", str_or_dash(rec, "state"));
		snprintf(cells[i][2], 160, "%s", str_or_dash(rec, "ip"));
		snprintf(cells[i][3], 160, "%s", str_or_dash(rec, "url"));
		snprintf(cells[i][4], 160, "%lld", num(rec, "cpus"));
		snprintf(cells[i][5], 160, "%lldM", num(rec, "memory"));
		if (num(rec, "snapshot_bytes") > 0)	/* suspended: its snapshot too */
			snprintf(cells[i][6], 160, "%s+%lldM", str_or_dash(rec, "disk"),
			    (num(rec, "snapshot_bytes") + 1048575) / 1048576);
		else
			snprintf(cells[i][6], 160, "%s", str_or_dash(rec, "disk"));
		snprintf(cells[i][7], 160, "%s", str_or_dash(rec, "git"));
		fcm_format_age(num(rec, "created_at"), cells[i][8], 160);
		for (int c = 0; c < NCOLS; c++)
			if (strlen(cells[i][c]) > w[c])
				w[c] = strlen(cells[i][c]);
		jv_free(rec);
	}
	for (int c = 0; c < NCOLS - 1; c++)
		fprintf(f, "%-*s  ", (int)w[c], head[c]);
	fprintf(f, "%s\n", head[NCOLS - 1]);
	for (int i = 0; i < n; i++) {
		for (int c = 0; c < NCOLS - 1; c++)
			fprintf(f, "%-*s  ", (int)w[c], cells[i][c]);
		fprintf(f, "%s\n", cells[i][NCOLS - 1]);
	}
	free(cells);
}

void fcm_print_created(FILE *f, jv rec)
{
	fprintf(f, "VM created: %s\n", str_or_dash(rec, "name"));
	if (fcm_get_str(rec, "url"))
		fprintf(f, "  URL: %s\n", fcm_get_str(rec, "url"));
	if (fcm_get_str(rec, "git"))
		fprintf(f, "  Git: %s\n", fcm_get_str(rec, "git"));
	fprintf(f, "  IP:  %s\n", str_or_dash(rec, "ip"));
}

/* json.c — a schema-directed JSON deserializer that accepts and refuses
 * exactly what Firecracker's serde/serde_json structs (deny_unknown_fields)
 * do, with serde_json's error messages and positions, producing jv values. */
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fc.h"

struct de {
	const unsigned char *b;
	size_t n, i;
	int failed, positioned;
	size_t pos_index;
	char msg[768];
	int depth;
};

/* ---- errors ---- */

static void verr(struct de *d, const char *fmt, va_list ap)
{
	if (d->failed)
		return;
	d->failed = 1;
	vsnprintf(d->msg, sizeof d->msg, fmt, ap);
}

/* An error without a position yet (serde's custom errors). */
static void err_nopos(struct de *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void err_nopos(struct de *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(d, fmt, ap);
	va_end(ap);
}

/* An error at the current index (serde_json's `error`). */
static void err_here(struct de *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void err_here(struct de *d, const char *fmt, ...)
{
	va_list ap;
	if (d->failed)
		return;
	va_start(ap, fmt);
	verr(d, fmt, ap);
	va_end(ap);
	d->positioned = 1;
	d->pos_index = d->i;
}

/* An error at the peeked byte (serde_json's `peek_error`). */
static void err_peek(struct de *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void err_peek(struct de *d, const char *fmt, ...)
{
	va_list ap;
	if (d->failed)
		return;
	va_start(ap, fmt);
	verr(d, fmt, ap);
	va_end(ap);
	d->positioned = 1;
	d->pos_index = d->i + 1 < d->n ? d->i + 1 : d->n;
}

static void fix_position(struct de *d)
{
	if (d->failed && !d->positioned) {
		d->positioned = 1;
		d->pos_index = d->i;
	}
}

/* ---- lexing ---- */

static int peek_ws(struct de *d)
{
	while (d->i < d->n) {
		unsigned char c = d->b[d->i];
		if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
			d->i++;
		else
			return c;
	}
	return -1;
}

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_put(struct sbuf *s, const char *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 64;
		while (cap < s->len + n + 1)
			cap *= 2;
		char *np = realloc(s->p, cap);
		if (!np)
			abort();
		s->p = np;
		s->cap = cap;
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = 0;
}

static void sb_utf8(struct sbuf *s, unsigned cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sb_put(s, u, n);
}

static int hex4(struct de *d, unsigned *out)
{
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		if (d->i >= d->n) {
			err_here(d, "EOF while parsing a string");
			return -1;
		}
		int c = d->b[d->i++];
		int h;
		if (c >= '0' && c <= '9')
			h = c - '0';
		else if (c >= 'a' && c <= 'f')
			h = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			h = c - 'A' + 10;
		else {
			err_here(d, "invalid escape");
			return -1;
		}
		v = v * 16 + (unsigned)h;
	}
	*out = v;
	return 0;
}

/* Parses a string body; the opening quote is already consumed. */
static int parse_str(struct de *d, struct sbuf *s)
{
	s->len = 0;
	sb_put(s, "", 0);
	for (;;) {
		size_t start = d->i;
		while (d->i < d->n && d->b[d->i] != '"' && d->b[d->i] != '\\' && d->b[d->i] >= 0x20)
			d->i++;
		sb_put(s, (const char *)d->b + start, d->i - start);
		if (d->i >= d->n) {
			err_here(d, "EOF while parsing a string");
			return -1;
		}
		unsigned char c = d->b[d->i++];
		if (c == '"')
			return 0;
		if (c != '\\') {
			err_here(d, "control character (\\u0000-\\u001F) found while parsing a string");
			return -1;
		}
		if (d->i >= d->n) {
			err_here(d, "EOF while parsing a string");
			return -1;
		}
		c = d->b[d->i++];
		switch (c) {
		case '"': sb_put(s, "\"", 1); break;
		case '\\': sb_put(s, "\\", 1); break;
		case '/': sb_put(s, "/", 1); break;
		case 'b': sb_put(s, "\b", 1); break;
		case 'f': sb_put(s, "\f", 1); break;
		case 'n': sb_put(s, "\n", 1); break;
		case 'r': sb_put(s, "\r", 1); break;
		case 't': sb_put(s, "\t", 1); break;
		case 'u': {
			unsigned cp;
			if (hex4(d, &cp) < 0)
				return -1;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				err_here(d, "lone leading surrogate in hex escape");
				return -1;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				unsigned lo;
				if (d->i + 1 >= d->n || d->b[d->i] != '\\' || d->b[d->i + 1] != 'u') {
					if (d->i >= d->n)
						err_here(d, "EOF while parsing a string");
					else
						err_here(d, "unexpected end of hex escape");
					return -1;
				}
				d->i += 2;
				if (hex4(d, &lo) < 0)
					return -1;
				if (lo < 0xdc00 || lo > 0xdfff) {
					err_here(d, "lone leading surrogate in hex escape");
					return -1;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			sb_utf8(s, cp);
			break;
		}
		default:
			err_here(d, "invalid escape");
			return -1;
		}
	}
}

static int parse_ident(struct de *d, const char *rest)
{
	for (; *rest; rest++) {
		if (d->i >= d->n) {
			err_here(d, "EOF while parsing a value");
			return -1;
		}
		if (d->b[d->i++] != (unsigned char)*rest) {
			err_here(d, "expected ident");
			return -1;
		}
	}
	return 0;
}

/* A parsed number, as serde_json's ParserNumber. */
struct num {
	enum { N_U64, N_I64, N_F64 } k;
	uint64_t u;
	int64_t s;
	double f;
};

/* Parses a number starting at the current index (the '-' not yet consumed). */
static int parse_number(struct de *d, struct num *out)
{
	size_t start = d->i;
	int neg = 0;
	if (d->b[d->i] == '-') {
		neg = 1;
		d->i++;
	}
	if (d->i >= d->n) {
		err_here(d, "EOF while parsing a value");
		return -1;
	}
	unsigned char c = d->b[d->i];
	if (!isdigit(c)) {
		d->i++;
		err_here(d, "invalid number");
		return -1;
	}
	int isfloat = 0, overflow = 0;
	uint64_t v = 0;
	if (c == '0') {
		d->i++;
		if (d->i < d->n && isdigit(d->b[d->i])) {
			err_peek(d, "invalid number");
			return -1;
		}
	} else {
		while (d->i < d->n && isdigit(d->b[d->i])) {
			unsigned dg = d->b[d->i] - '0';
			if (v > (UINT64_MAX - dg) / 10)
				overflow = 1;
			else
				v = v * 10 + dg;
			d->i++;
		}
	}
	if (d->i < d->n && d->b[d->i] == '.') {
		isfloat = 1;
		d->i++;
		if (d->i >= d->n) {
			err_here(d, "EOF while parsing a value");
			return -1;
		}
		if (!isdigit(d->b[d->i])) {
			d->i++;
			err_here(d, "invalid number");
			return -1;
		}
		while (d->i < d->n && isdigit(d->b[d->i]))
			d->i++;
	}
	if (d->i < d->n && (d->b[d->i] == 'e' || d->b[d->i] == 'E')) {
		isfloat = 1;
		d->i++;
		if (d->i < d->n && (d->b[d->i] == '+' || d->b[d->i] == '-'))
			d->i++;
		if (d->i >= d->n) {
			err_here(d, "EOF while parsing a value");
			return -1;
		}
		if (!isdigit(d->b[d->i])) {
			d->i++;
			err_here(d, "invalid number");
			return -1;
		}
		while (d->i < d->n && isdigit(d->b[d->i]))
			d->i++;
	}
	if (isfloat || overflow || (neg && v > (uint64_t)INT64_MAX + 1)) {
		char tmp[512];
		size_t len = d->i - start;
		if (len >= sizeof tmp)
			len = sizeof tmp - 1;
		memcpy(tmp, d->b + start, len);
		tmp[len] = 0;
		out->k = N_F64;
		out->f = strtod(tmp, NULL);
		if (isinf(out->f)) {
			err_here(d, "number out of range");
			return -1;
		}
		return 0;
	}
	if (neg) {
		if (v == 0) {
			out->k = N_F64;  /* serde_json: -0 is a float */
			out->f = -0.0;
		} else {
			out->k = N_I64;
			out->s = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
		}
	} else {
		out->k = N_U64;
		out->u = v;
	}
	return 0;
}

static void fmt_float(double f, char *buf, size_t len)
{
	snprintf(buf, len, "%.17g", f);
	/* shortest representation that round-trips, as Rust prints floats */
	for (int p = 1; p <= 17; p++) {
		char t[64];
		snprintf(t, sizeof t, "%.*g", p, f);
		if (strtod(t, NULL) == f) {
			snprintf(buf, len, "%s", t);
			break;
		}
	}
	if (strchr(buf, 'e')) {
		/* Rust does not use exponents for f64 Display: expand */
		snprintf(buf, len, "%.1f", f);
	}
	if (!strchr(buf, '.') && !strchr(buf, 'n') && !strchr(buf, 'i')) {
		size_t l = strlen(buf);
		if (l + 3 < len)
			strcat(buf, ".0");
	}
}

/* Rust's Debug of a str, as serde prints Unexpected::Str. */
static void fmt_debug_str(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	if (outlen < 8) {
		if (outlen)
			out[0] = 0;
		return;
	}
	out[o++] = '"';
	for (size_t k = 0; k < n && o + 12 < outlen; k++) {
		unsigned char c = (unsigned char)s[k];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c == '\r') {
			out[o++] = '\\';
			out[o++] = 'r';
		} else if (c == '\t') {
			out[o++] = '\\';
			out[o++] = 't';
		} else if (c == 0) {
			out[o++] = '\\';
			out[o++] = '0';
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, outlen - o, "\\u{%x}", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	out[o] = 0;
}

/* serde_json's peek_invalid_type: consumes a scalar and reports
 * "invalid type: <what>, expected <exp>". */
static void invalid_type(struct de *d, const char *exp)
{
	int c = peek_ws(d);
	char what[600];
	if (c < 0) {
		err_peek(d, "EOF while parsing a value");
		return;
	}
	switch (c) {
	case 'n':
		d->i++;
		if (parse_ident(d, "ull") < 0)
			return;
		snprintf(what, sizeof what, "null");
		break;
	case 't':
		d->i++;
		if (parse_ident(d, "rue") < 0)
			return;
		snprintf(what, sizeof what, "boolean `true`");
		break;
	case 'f':
		d->i++;
		if (parse_ident(d, "alse") < 0)
			return;
		snprintf(what, sizeof what, "boolean `false`");
		break;
	case '"': {
		struct sbuf s = {0};
		d->i++;
		if (parse_str(d, &s) < 0) {
			free(s.p);
			return;
		}
		char dbg[512];
		fmt_debug_str(s.p, s.len, dbg, sizeof dbg);
		snprintf(what, sizeof what, "string %s", dbg);
		free(s.p);
		break;
	}
	case '[':
		snprintf(what, sizeof what, "sequence");
		break;
	case '{':
		snprintf(what, sizeof what, "map");
		break;
	default:
		if (c == '-' || isdigit(c)) {
			struct num nm;
			if (parse_number(d, &nm) < 0)
				return;
			if (nm.k == N_U64)
				snprintf(what, sizeof what, "integer `%llu`", (unsigned long long)nm.u);
			else if (nm.k == N_I64)
				snprintf(what, sizeof what, "integer `%lld`", (long long)nm.s);
			else {
				char fb[64];
				fmt_float(nm.f, fb, sizeof fb);
				snprintf(what, sizeof what, "floating point `%s`", fb);
			}
		} else {
			err_peek(d, "expected value");
			return;
		}
	}
	err_here(d, "invalid type: %s, expected %s", what, exp);
}

/* ---- values ---- */

static jv de_value(struct de *d, const struct schema *s);

static jv de_any(struct de *d)
{
	int c = peek_ws(d);
	if (c < 0) {
		err_peek(d, "EOF while parsing a value");
		return jv_invalid();
	}
	if (++d->depth > 128) {
		err_here(d, "recursion limit exceeded");
		return jv_invalid();
	}
	jv r = jv_invalid();
	switch (c) {
	case 'n':
		d->i++;
		if (parse_ident(d, "ull") == 0)
			r = jv_null();
		break;
	case 't':
		d->i++;
		if (parse_ident(d, "rue") == 0)
			r = jv_true();
		break;
	case 'f':
		d->i++;
		if (parse_ident(d, "alse") == 0)
			r = jv_false();
		break;
	case '"': {
		struct sbuf s = {0};
		d->i++;
		if (parse_str(d, &s) == 0)
			r = jv_string_sized(s.p, (int)s.len);
		free(s.p);
		break;
	}
	case '[': {
		d->i++;
		r = jv_array();
		int first = 1;
		for (;;) {
			int p = peek_ws(d);
			if (p == ']')
				break;
			if (p == ',' && !first) {
				d->i++;
				p = peek_ws(d);
			} else if (p < 0) {
				err_peek(d, "EOF while parsing a list");
				break;
			} else if (!first) {
				err_peek(d, "expected `,` or `]`");
				break;
			}
			first = 0;
			if (p == ']') {
				err_peek(d, "trailing comma");
				break;
			}
			if (p < 0) {
				err_peek(d, "EOF while parsing a value");
				break;
			}
			jv e = de_any(d);
			if (d->failed) {
				jv_free(e);
				break;
			}
			r = jv_array_append(r, e);
		}
		if (!d->failed)
			d->i++;  /* ']' */
		break;
	}
	case '{': {
		d->i++;
		r = jv_object();
		int first = 1;
		for (;;) {
			int p = peek_ws(d);
			if (p == '}')
				break;
			if (p == ',' && !first) {
				d->i++;
				p = peek_ws(d);
			} else if (p < 0) {
				err_peek(d, "EOF while parsing an object");
				break;
			} else if (!first) {
				err_peek(d, "expected `,` or `}`");
				break;
			}
			first = 0;
			if (p == '}') {
				err_peek(d, "trailing comma");
				break;
			}
			if (p < 0) {
				err_peek(d, "EOF while parsing a value");
				break;
			}
			if (p != '"') {
				err_peek(d, "key must be a string");
				break;
			}
			d->i++;
			struct sbuf k = {0};
			if (parse_str(d, &k) < 0) {
				free(k.p);
				break;
			}
			p = peek_ws(d);
			if (p != ':') {
				if (p < 0)
					err_peek(d, "EOF while parsing an object");
				else
					err_peek(d, "expected `:`");
				free(k.p);
				break;
			}
			d->i++;
			jv v = de_any(d);
			if (d->failed) {
				jv_free(v);
				free(k.p);
				break;
			}
			r = jv_object_set(r, jv_string_sized(k.p, (int)k.len), v);
			free(k.p);
		}
		if (!d->failed)
			d->i++;  /* '}' */
		break;
	}
	default:
		if (c == '-' || isdigit(c)) {
			struct num nm;
			if (parse_number(d, &nm) == 0)
				r = jv_number(nm.k == N_U64 ? (double)nm.u : nm.k == N_I64 ? (double)nm.s : nm.f);
		} else {
			err_peek(d, "expected value");
		}
	}
	d->depth--;
	if (d->failed) {
		jv_free(r);
		return jv_invalid();
	}
	return r;
}

static void one_of(char *buf, size_t len, const char *const *names, const char *none)
{
	size_t cnt = 0;
	while (names && names[cnt])
		cnt++;
	size_t o = 0;
	buf[0] = 0;
	if (cnt == 0) {
		snprintf(buf, len, "%s", none);
		return;
	}
	if (cnt == 1) {
		snprintf(buf, len, "expected `%s`", names[0]);
		return;
	}
	if (cnt == 2) {
		snprintf(buf, len, "expected `%s` or `%s`", names[0], names[1]);
		return;
	}
	o += (size_t)snprintf(buf + o, len - o, "expected one of ");
	for (size_t k = 0; k < cnt && o < len; k++)
		o += (size_t)snprintf(buf + o, len - o, "%s`%s`", k ? ", " : "", names[k]);
}

static jv de_string(struct de *d, const char *exp)
{
	int c = peek_ws(d);
	if (c < 0) {
		err_peek(d, "EOF while parsing a value");
		return jv_invalid();
	}
	if (c != '"') {
		invalid_type(d, exp);
		return jv_invalid();
	}
	d->i++;
	struct sbuf s = {0};
	if (parse_str(d, &s) < 0) {
		free(s.p);
		return jv_invalid();
	}
	jv r = jv_string_sized(s.p, (int)s.len);
	free(s.p);
	return r;
}

static jv de_uint(struct de *d, const char *tname, uint64_t max)
{
	int c = peek_ws(d);
	if (c < 0) {
		err_peek(d, "EOF while parsing a value");
		return jv_invalid();
	}
	if (c != '-' && !isdigit(c)) {
		invalid_type(d, tname);
		return jv_invalid();
	}
	struct num nm;
	if (parse_number(d, &nm) < 0)
		return jv_invalid();
	if (nm.k == N_F64) {
		char fb[64];
		fmt_float(nm.f, fb, sizeof fb);
		err_here(d, "invalid type: floating point `%s`, expected %s", fb, tname);
		return jv_invalid();
	}
	if (nm.k == N_I64) {
		err_here(d, "invalid value: integer `%lld`, expected %s", (long long)nm.s, tname);
		return jv_invalid();
	}
	if (nm.u > max) {
		err_here(d, "invalid value: integer `%llu`, expected %s", (unsigned long long)nm.u, tname);
		return jv_invalid();
	}
	return jv_number((double)nm.u);
}

static const char *const level_names[] = {"Off", "Error", "Warn", "Info", "Debug", "Trace", NULL};

int fc_level_parse(const char *s)
{
	if (!strcasecmp(s, "warning"))
		return LVL_WARN;
	for (int k = 0; level_names[k]; k++)
		if (!strcasecmp(s, level_names[k]))
			return k;
	return -1;
}

static int valid_mac(const char *s)
{
	if (strlen(s) != 17)
		return 0;
	for (int k = 0; k < 17; k++) {
		if (k % 3 == 2) {
			if (s[k] != ':')
				return 0;
		} else if (!isxdigit((unsigned char)s[k])) {
			return 0;
		}
	}
	return 1;
}

static jv de_struct(struct de *d, const struct schema *s);
static jv de_seq(struct de *d, const struct schema *items);

static jv de_value(struct de *d, const struct schema *s)
{
	switch (s->kind) {
	case SK_STRING:
		return de_string(d, "a string");
	case SK_PATH:
		return de_string(d, "path string");
	case SK_BOOL: {
		int c = peek_ws(d);
		if (c < 0) {
			err_peek(d, "EOF while parsing a value");
			return jv_invalid();
		}
		if (c == 't') {
			d->i++;
			return parse_ident(d, "rue") == 0 ? jv_true() : jv_invalid();
		}
		if (c == 'f') {
			d->i++;
			return parse_ident(d, "alse") == 0 ? jv_false() : jv_invalid();
		}
		invalid_type(d, "a boolean");
		return jv_invalid();
	}
	case SK_U8:
		return de_uint(d, "u8", UINT8_MAX);
	case SK_U16:
		return de_uint(d, "u16", UINT16_MAX);
	case SK_U32:
		return de_uint(d, "u32", UINT32_MAX);
	case SK_U64:
		return de_uint(d, "u64", UINT64_MAX);
	case SK_USIZE:
		return de_uint(d, "usize", UINT64_MAX);
	case SK_ENUM: {
		int c = peek_ws(d);
		if (c < 0) {
			err_peek(d, "EOF while parsing a value");
			return jv_invalid();
		}
		if (c != '"') {
			err_peek(d, "expected value");
			return jv_invalid();
		}
		jv v = de_string(d, "variant identifier");
		if (!jv_is_valid(v))
			return v;
		for (int k = 0; s->variants[k]; k++)
			if (!strcmp(jv_string_value(v), s->variants[k]))
				return v;
		char exp[512];
		one_of(exp, sizeof exp, s->variants, "there are no variants");
		err_nopos(d, "unknown variant `%s`, %s", jv_string_value(v), exp);
		jv_free(v);
		return jv_invalid();
	}
	case SK_LEVEL: {
		jv v = de_string(d, "a string");
		if (!jv_is_valid(v))
			return v;
		int l = fc_level_parse(jv_string_value(v));
		if (l < 0) {
			err_nopos(d, "Failed to parse string to level filter: %s", jv_string_value(v));
			jv_free(v);
			return jv_invalid();
		}
		return v;
	}
	case SK_MAC: {
		jv v = de_string(d, "a string");
		if (!jv_is_valid(v))
			return v;
		if (!valid_mac(jv_string_value(v))) {
			err_nopos(d, "The provided MAC address is not valid: %s", jv_string_value(v));
			jv_free(v);
			return jv_invalid();
		}
		return v;
	}
	case SK_IPV4: {
		jv v = de_string(d, "IPv4 address");
		if (!jv_is_valid(v))
			return v;
		struct in_addr a;
		if (inet_pton(AF_INET, jv_string_value(v), &a) != 1) {
			err_nopos(d, "invalid IPv4 address syntax");
			jv_free(v);
			return jv_invalid();
		}
		return v;
	}
	case SK_STRUCT:
		return de_struct(d, s);
	case SK_SEQ:
		return de_seq(d, s->items);
	case SK_ANY:
		return de_any(d);
	}
	return jv_invalid();
}

static jv de_seq(struct de *d, const struct schema *items)
{
	int c = peek_ws(d);
	if (c < 0) {
		err_peek(d, "EOF while parsing a value");
		return jv_invalid();
	}
	if (c != '[') {
		invalid_type(d, "a sequence");
		fix_position(d);
		return jv_invalid();
	}
	d->i++;
	jv r = jv_array();
	int first = 1;
	for (;;) {
		int p = peek_ws(d);
		if (p == ']')
			break;
		if (p == ',' && !first) {
			d->i++;
			p = peek_ws(d);
		} else if (p < 0) {
			err_peek(d, "EOF while parsing a list");
			break;
		} else if (!first) {
			err_peek(d, "expected `,` or `]`");
			break;
		}
		first = 0;
		if (p == ']') {
			err_peek(d, "trailing comma");
			break;
		}
		if (p < 0) {
			err_peek(d, "EOF while parsing a value");
			break;
		}
		jv e = de_value(d, items);
		if (d->failed) {
			jv_free(e);
			break;
		}
		r = jv_array_append(r, e);
	}
	/* end_seq */
	if (peek_ws(d) == ']')
		d->i++;
	fix_position(d);
	if (d->failed) {
		jv_free(r);
		return jv_invalid();
	}
	return r;
}

static jv de_struct(struct de *d, const struct schema *s)
{
	char exp[160];
	int c = peek_ws(d);
	if (c < 0) {
		err_peek(d, "EOF while parsing a value");
		return jv_invalid();
	}
	if (c != '{') {
		snprintf(exp, sizeof exp, "struct %s", s->name);
		invalid_type(d, exp);
		fix_position(d);
		return jv_invalid();
	}
	if (++d->depth > 128) {
		err_here(d, "recursion limit exceeded");
		return jv_invalid();
	}
	d->i++;
	size_t nf = 0;
	while (s->fields[nf].name)
		nf++;
	char seen[64] = {0};
	jv r = jv_object();
	int first = 1;
	for (;;) {
		int p = peek_ws(d);
		if (p == '}')
			break;
		if (p == ',' && !first) {
			d->i++;
			p = peek_ws(d);
			if (p < 0) {
				err_peek(d, "EOF while parsing a value");
				break;
			}
		} else if (p < 0) {
			err_peek(d, "EOF while parsing an object");
			break;
		} else if (!first) {
			err_peek(d, "expected `,` or `}`");
			break;
		}
		first = 0;
		if (p == '}') {
			err_peek(d, "trailing comma");
			break;
		}
		if (p != '"') {
			err_peek(d, "key must be a string");
			break;
		}
		d->i++;
		struct sbuf k = {0};
		if (parse_str(d, &k) < 0) {
			free(k.p);
			break;
		}
		size_t f;
		for (f = 0; f < nf; f++)
			if (strlen(s->fields[f].name) == k.len && !memcmp(s->fields[f].name, k.p, k.len))
				break;
		if (f == nf) {
			const char *names[64];
			for (size_t q = 0; q < nf && q < 63; q++)
				names[q] = s->fields[q].name;
			names[nf < 63 ? nf : 63] = NULL;
			char list[600];
			one_of(list, sizeof list, names, "there are no fields");
			char dbg[300];
			snprintf(dbg, sizeof dbg, "%.*s", (int)(k.len < 256 ? k.len : 256), k.p);
			err_nopos(d, "unknown field `%s`, %s", dbg, list);
			free(k.p);
			break;
		}
		free(k.p);
		if (seen[f]) {
			err_nopos(d, "duplicate field `%s`", s->fields[f].name);
			break;
		}
		seen[f] = 1;
		p = peek_ws(d);
		if (p != ':') {
			if (p < 0)
				err_peek(d, "EOF while parsing an object");
			else
				err_peek(d, "expected `:`");
			break;
		}
		d->i++;
		const struct field *fd = &s->fields[f];
		jv v;
		if (fd->required == 0 && peek_ws(d) == 'n') {
			/* Option<T>: null is None */
			d->i++;
			if (parse_ident(d, "ull") < 0)
				break;
			continue;
		}
		v = de_value(d, fd->type);
		if (d->failed) {
			jv_free(v);
			break;
		}
		r = jv_object_set(r, jv_string(fd->name), v);
	}
	if (!d->failed) {
		for (size_t f = 0; f < nf; f++) {
			if (s->fields[f].required == 1 && !seen[f]) {
				err_nopos(d, "missing field `%s`", s->fields[f].name);
				break;
			}
		}
	}
	/* end_map */
	if (peek_ws(d) == '}')
		d->i++;
	fix_position(d);
	d->depth--;
	if (d->failed) {
		jv_free(r);
		return jv_invalid();
	}
	return r;
}

int fc_deserialize(const struct schema *s, const char *buf, size_t len, jv *out, char *err,
                   size_t errlen)
{
	struct de d = {.b = (const unsigned char *)buf, .n = len};
	jv v = de_value(&d, s);
	if (!d.failed) {
		if (peek_ws(&d) >= 0)
			err_peek(&d, "trailing characters");
	}
	if (d.failed) {
		jv_free(v);
		fix_position(&d);
		size_t line = 1, col = 0;
		for (size_t k = 0; k < d.pos_index && k < len; k++) {
			if (buf[k] == '\n') {
				line++;
				col = 0;
			} else {
				col++;
			}
		}
		snprintf(err, errlen, "%s at line %zu column %zu", d.msg, line, col);
		return -1;
	}
	*out = v;
	return 0;
}

/* ---- Firecracker 1.7's request types ---- */

#define STRUCT(var, nm, ...) \
	static const struct field var##_f[] = {__VA_ARGS__, {NULL, NULL, 0}}; \
	const struct schema var = {SK_STRUCT, nm, var##_f, NULL, NULL}
#define REQ 1
#define OPT 0
#define DEF 2

static const struct schema T_STRING = {SK_STRING, NULL, NULL, NULL, NULL};
static const struct schema T_PATH = {SK_PATH, NULL, NULL, NULL, NULL};
static const struct schema T_BOOL = {SK_BOOL, NULL, NULL, NULL, NULL};
static const struct schema T_U8 = {SK_U8, NULL, NULL, NULL, NULL};
static const struct schema T_U16 = {SK_U16, NULL, NULL, NULL, NULL};
static const struct schema T_U32 = {SK_U32, NULL, NULL, NULL, NULL};
static const struct schema T_U64 = {SK_U64, NULL, NULL, NULL, NULL};
static const struct schema T_USIZE = {SK_USIZE, NULL, NULL, NULL, NULL};
static const struct schema T_MAC = {SK_MAC, NULL, NULL, NULL, NULL};
static const struct schema T_IPV4 = {SK_IPV4, NULL, NULL, NULL, NULL};
static const struct schema T_LEVEL = {SK_LEVEL, NULL, NULL, NULL, NULL};
const struct schema S_ANY = {SK_ANY, NULL, NULL, NULL, NULL};
static const struct schema T_STRINGS = {SK_SEQ, NULL, NULL, NULL, &T_STRING};
static const struct schema T_ANYS = {SK_SEQ, NULL, NULL, NULL, &S_ANY};

#define ENUM(var, ...) \
	static const char *const var##_v[] = {__VA_ARGS__, NULL}; \
	static const struct schema var = {SK_ENUM, NULL, NULL, var##_v, NULL}

ENUM(T_CACHE, "Unsafe", "Writeback");
ENUM(T_ENGINE, "Sync", "Async");
ENUM(T_CPU_TEMPLATE, "C3", "T2", "T2S", "None", "T2CL", "T2A");
ENUM(T_HUGE_PAGES, "None", "2M");
ENUM(T_ACTION_TYPE, "FlushMetrics", "InstanceStart", "SendCtrlAltDel");
ENUM(T_VM_STATE, "Paused", "Resumed");
ENUM(T_MMDS_VERSION, "V1", "V2");
ENUM(T_SNAPSHOT_TYPE, "Diff", "Full");
ENUM(T_MEM_BACKEND_TYPE, "File", "Uffd");

STRUCT(T_TOKEN_BUCKET, "TokenBucketConfig",
       {"size", &T_U64, REQ}, {"one_time_burst", &T_U64, OPT}, {"refill_time", &T_U64, REQ});
STRUCT(T_RATE_LIMITER, "RateLimiterConfig",
       {"bandwidth", &T_TOKEN_BUCKET, OPT}, {"ops", &T_TOKEN_BUCKET, OPT});

STRUCT(S_BOOT_SOURCE, "BootSourceConfig",
       {"kernel_image_path", &T_STRING, REQ}, {"initrd_path", &T_STRING, OPT},
       {"boot_args", &T_STRING, OPT});
STRUCT(S_DRIVE, "BlockDeviceConfig",
       {"drive_id", &T_STRING, REQ}, {"partuuid", &T_STRING, OPT},
       {"is_root_device", &T_BOOL, REQ}, {"cache_type", &T_CACHE, DEF},
       {"is_read_only", &T_BOOL, OPT}, {"path_on_host", &T_STRING, OPT},
       {"rate_limiter", &T_RATE_LIMITER, OPT}, {"io_engine", &T_ENGINE, OPT},
       {"socket", &T_STRING, OPT});
STRUCT(S_PARTIAL_DRIVE, "BlockDeviceUpdateConfig",
       {"drive_id", &T_STRING, REQ}, {"path_on_host", &T_STRING, OPT},
       {"rate_limiter", &T_RATE_LIMITER, OPT});
STRUCT(S_MACHINE_CONFIG, "MachineConfig",
       {"vcpu_count", &T_U8, REQ}, {"mem_size_mib", &T_USIZE, REQ}, {"smt", &T_BOOL, DEF},
       {"cpu_template", &T_CPU_TEMPLATE, OPT}, {"track_dirty_pages", &T_BOOL, DEF},
       {"huge_pages", &T_HUGE_PAGES, DEF});
STRUCT(S_MACHINE_CONFIG_UPDATE, "MachineConfigUpdate",
       {"vcpu_count", &T_U8, OPT}, {"mem_size_mib", &T_USIZE, OPT}, {"smt", &T_BOOL, OPT},
       {"cpu_template", &T_CPU_TEMPLATE, OPT}, {"track_dirty_pages", &T_BOOL, OPT},
       {"huge_pages", &T_HUGE_PAGES, OPT});
STRUCT(S_NET, "NetworkInterfaceConfig",
       {"iface_id", &T_STRING, REQ}, {"host_dev_name", &T_STRING, REQ},
       {"guest_mac", &T_MAC, OPT}, {"rx_rate_limiter", &T_RATE_LIMITER, OPT},
       {"tx_rate_limiter", &T_RATE_LIMITER, OPT});
STRUCT(S_PARTIAL_NET, "NetworkInterfaceUpdateConfig",
       {"iface_id", &T_STRING, REQ}, {"rx_rate_limiter", &T_RATE_LIMITER, OPT},
       {"tx_rate_limiter", &T_RATE_LIMITER, OPT});
STRUCT(S_ACTION, "ActionBody", {"action_type", &T_ACTION_TYPE, REQ});
STRUCT(S_VM, "Vm", {"state", &T_VM_STATE, REQ});
STRUCT(S_LOGGER, "LoggerConfig",
       {"log_path", &T_PATH, OPT}, {"level", &T_LEVEL, OPT}, {"show_level", &T_BOOL, OPT},
       {"show_log_origin", &T_BOOL, OPT}, {"module", &T_STRING, OPT});
STRUCT(S_METRICS, "MetricsConfig", {"metrics_path", &T_PATH, REQ});
STRUCT(S_BALLOON, "BalloonDeviceConfig",
       {"amount_mib", &T_U32, REQ}, {"deflate_on_oom", &T_BOOL, REQ},
       {"stats_polling_interval_s", &T_U16, DEF});
STRUCT(S_BALLOON_UPDATE, "BalloonUpdateConfig", {"amount_mib", &T_U32, REQ});
STRUCT(S_BALLOON_STATS_UPDATE, "BalloonUpdateStatsConfig",
       {"stats_polling_interval_s", &T_U16, REQ});
STRUCT(S_VSOCK, "VsockDeviceConfig",
       {"vsock_id", &T_STRING, OPT}, {"guest_cid", &T_U32, REQ}, {"uds_path", &T_STRING, REQ});
STRUCT(S_ENTROPY, "EntropyDeviceConfig", {"rate_limiter", &T_RATE_LIMITER, OPT});
STRUCT(S_MMDS_CONFIG, "MmdsConfig",
       {"version", &T_MMDS_VERSION, DEF}, {"network_interfaces", &T_STRINGS, REQ},
       {"ipv4_address", &T_IPV4, OPT});
STRUCT(S_SNAPSHOT_CREATE, "CreateSnapshotParams",
       {"snapshot_type", &T_SNAPSHOT_TYPE, DEF}, {"snapshot_path", &T_PATH, REQ},
       {"mem_file_path", &T_PATH, REQ});
STRUCT(T_MEM_BACKEND, "MemBackendConfig",
       {"backend_path", &T_PATH, REQ}, {"backend_type", &T_MEM_BACKEND_TYPE, REQ});
STRUCT(S_SNAPSHOT_LOAD, "LoadSnapshotConfig",
       {"snapshot_path", &T_PATH, REQ}, {"mem_file_path", &T_PATH, OPT},
       {"mem_backend", &T_MEM_BACKEND, OPT}, {"enable_diff_snapshots", &T_BOOL, DEF},
       {"resume_vm", &T_BOOL, DEF});
STRUCT(S_CPU_CONFIG, "CustomCpuTemplate",
       {"cpuid_modifiers", &T_ANYS, DEF}, {"msr_modifiers", &T_ANYS, DEF});

static const struct schema T_DRIVES = {SK_SEQ, NULL, NULL, NULL, &S_DRIVE};
static const struct schema T_NETS = {SK_SEQ, NULL, NULL, NULL, &S_NET};
STRUCT(S_VMM_CONFIG, "VmmConfig",
       {"balloon", &S_BALLOON, OPT}, {"drives", &T_DRIVES, REQ},
       {"boot-source", &S_BOOT_SOURCE, REQ}, {"cpu-config", &T_PATH, OPT},
       {"logger", &S_LOGGER, OPT}, {"machine-config", &S_MACHINE_CONFIG, OPT},
       {"metrics", &S_METRICS, OPT}, {"mmds-config", &S_MMDS_CONFIG, OPT},
       {"network-interfaces", &T_NETS, DEF}, {"vsock", &S_VSOCK, OPT},
       {"entropy", &S_ENTROPY, OPT});

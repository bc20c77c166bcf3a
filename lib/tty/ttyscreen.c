/* ttyscreen.c — a session's screen state over libvterm (see ttyscreen.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vterm.h>

#include "tty/ttyscreen.h"

#define SB_LINES_MAX 20000

struct line {
	char *p;
	size_t n;
};

struct fcm_tty_screen {
	VTerm *vt;
	VTermScreen *screen;
	VTermState *state;
	int rows, cols;
	int altscreen, cursor_visible;
	/* scrollback: a ring of rendered lines, oldest at head */
	struct line *sb;
	size_t sb_head, sb_count, sb_cap, sb_bytes, sb_budget;
	int oom;
};

/* --- rendering cells ------------------------------------------------------ */

static int put(struct fcm_tty_buf *o, const void *p, size_t n)
{
	return fcm_tty_buf_put(o, p, n);
}

static int puts_(struct fcm_tty_buf *o, const char *s)
{
	return put(o, s, strlen(s));
}

static size_t utf8(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c >= 0xd800 && c < 0xe000)
		c = 0xfffd;
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	if (c > 0x10ffff)
		return utf8(0xfffd, out);
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

static size_t color_sgr(char *p, size_t cap, const VTermColor *c, int fg)
{
	if (fg ? VTERM_COLOR_IS_DEFAULT_FG(c) : VTERM_COLOR_IS_DEFAULT_BG(c))
		return 0;
	if (VTERM_COLOR_IS_INDEXED(c)) {
		unsigned i = c->indexed.idx;
		if (i < 8)
			return (size_t)snprintf(p, cap, ";%u", (fg ? 30 : 40) + i);
		if (i < 16)
			return (size_t)snprintf(p, cap, ";%u", (fg ? 90 : 100) + i - 8);
		return (size_t)snprintf(p, cap, ";%u;5;%u", fg ? 38 : 48, i);
	}
	return (size_t)snprintf(p, cap, ";%u;2;%u;%u;%u", fg ? 38 : 48,
	    c->rgb.red, c->rgb.green, c->rgb.blue);
}

/* The SGR sequence that sets exactly this cell's pen, from a reset. */
static void cell_sgr(const VTermScreenCell *c, char *p, size_t cap)
{
	size_t n = (size_t)snprintf(p, cap, "\033[0");

	if (c->attrs.bold)
		n += (size_t)snprintf(p + n, cap - n, ";1");
	if (c->attrs.italic)
		n += (size_t)snprintf(p + n, cap - n, ";3");
	if (c->attrs.underline)
		n += (size_t)snprintf(p + n, cap - n, ";4");
	if (c->attrs.blink)
		n += (size_t)snprintf(p + n, cap - n, ";5");
	if (c->attrs.reverse)
		n += (size_t)snprintf(p + n, cap - n, ";7");
	if (c->attrs.strike)
		n += (size_t)snprintf(p + n, cap - n, ";9");
	n += color_sgr(p + n, cap - n, &c->fg, 1);
	n += color_sgr(p + n, cap - n, &c->bg, 0);
	snprintf(p + n, cap - n, "m");
}

static int cell_blank(const VTermScreenCell *c)
{
	return (c->chars[0] == 0 || c->chars[0] == ' ') && !c->attrs.reverse &&
	    VTERM_COLOR_IS_DEFAULT_BG(&c->bg) && !c->attrs.underline && !c->attrs.strike;
}

/* Render cells[0..n) (trailing blanks trimmed) into o, starting from and
 * ending with the default pen. */
static int render_cells(struct fcm_tty_buf *o, const VTermScreenCell *cells, int n)
{
	char sgr[128], last[128] = "\033[0m", ch[4 * VTERM_MAX_CHARS_PER_CELL];
	int end = n;

	while (end > 0 && (cell_blank(&cells[end - 1]) || cells[end - 1].chars[0] == (uint32_t)-1))
		end--;
	for (int i = 0; i < end; i++) {
		const VTermScreenCell *c = &cells[i];
		size_t k = 0;
		if (c->chars[0] == (uint32_t)-1)	/* right half of a wide char */
			continue;
		cell_sgr(c, sgr, sizeof sgr);
		if (strcmp(sgr, last)) {
			if (puts_(o, sgr) < 0)
				return -1;
			memcpy(last, sgr, sizeof last);
		}
		if (!c->chars[0])
			ch[k++] = ' ';
		for (int j = 0; j < VTERM_MAX_CHARS_PER_CELL && c->chars[j]; j++)
			k += utf8(c->chars[j], ch + k);
		if (put(o, ch, k) < 0)
			return -1;
	}
	if (strcmp(last, "\033[0m"))
		return puts_(o, "\033[0m");
	return 0;
}

/* --- scrollback ----------------------------------------------------------- */

static void sb_drop_oldest(struct fcm_tty_screen *s)
{
	struct line *l = &s->sb[s->sb_head];

	s->sb_bytes -= l->n;
	free(l->p);
	l->p = NULL;
	s->sb_head = (s->sb_head + 1) % s->sb_cap;
	s->sb_count--;
}

static int sb_pushline(int cols, const VTermScreenCell *cells, void *user)
{
	struct fcm_tty_screen *s = user;
	struct fcm_tty_buf b = { 0 };
	struct line *l;

	if (!s->sb_budget || !s->sb_cap)
		return 1;
	if (render_cells(&b, cells, cols) < 0) {
		fcm_tty_buf_free(&b);
		s->oom = 1;
		return 1;
	}
	while (s->sb_count && (s->sb_count == s->sb_cap || s->sb_bytes + b.len > s->sb_budget))
		sb_drop_oldest(s);
	l = &s->sb[(s->sb_head + s->sb_count) % s->sb_cap];
	if (b.len) {
		l->p = malloc(b.len);
		if (!l->p) {
			fcm_tty_buf_free(&b);
			s->oom = 1;
			return 1;
		}
		memcpy(l->p, b.p + b.off, b.len);
	} else {
		l->p = NULL;
	}
	l->n = b.len;
	s->sb_bytes += b.len;
	s->sb_count++;
	fcm_tty_buf_free(&b);
	return 1;
}

static int settermprop(VTermProp prop, VTermValue *val, void *user)
{
	struct fcm_tty_screen *s = user;

	if (prop == VTERM_PROP_ALTSCREEN)
		s->altscreen = val->boolean;
	else if (prop == VTERM_PROP_CURSORVISIBLE)
		s->cursor_visible = val->boolean;
	return 1;
}

static const VTermScreenCallbacks callbacks = {
	.settermprop = settermprop,
	.sb_pushline = sb_pushline,
};

/* Replies to the program's queries (cursor position, device attributes) are
 * left to the attached client's own terminal, which sees the same bytes. */
static void discard_output(const char *s, size_t len, void *user)
{
	(void)s;
	(void)len;
	(void)user;
}

struct fcm_tty_screen *fcm_tty_screen_new(int rows, int cols, size_t scrollback_bytes)
{
	struct fcm_tty_screen *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->rows = rows;
	s->cols = cols;
	s->cursor_visible = 1;
	s->sb_budget = scrollback_bytes;
	s->sb_cap = scrollback_bytes ? SB_LINES_MAX : 0;
	if (s->sb_cap && !(s->sb = calloc(s->sb_cap, sizeof *s->sb))) {
		free(s);
		return NULL;
	}
	s->vt = vterm_new(rows, cols);
	if (!s->vt) {
		free(s->sb);
		free(s);
		return NULL;
	}
	vterm_set_utf8(s->vt, 1);
	vterm_output_set_callback(s->vt, discard_output, NULL);
	s->screen = vterm_obtain_screen(s->vt);
	s->state = vterm_obtain_state(s->vt);
	vterm_screen_enable_altscreen(s->screen, 1);
	vterm_screen_set_callbacks(s->screen, &callbacks, s);
	vterm_screen_reset(s->screen, 1);
	return s;
}

void fcm_tty_screen_feed(struct fcm_tty_screen *s, const void *data, size_t n)
{
	vterm_input_write(s->vt, data, n);
}

void fcm_tty_screen_resize(struct fcm_tty_screen *s, int rows, int cols)
{
	if (rows == s->rows && cols == s->cols)
		return;
	s->rows = rows;
	s->cols = cols;
	vterm_set_size(s->vt, rows, cols);
}

int fcm_tty_screen_altscreen(const struct fcm_tty_screen *s)
{
	return s->altscreen;
}

static int pen_sgr(struct fcm_tty_screen *s, struct fcm_tty_buf *o)
{
	VTermScreenCell c;
	VTermValue v;
	char sgr[128];

	memset(&c, 0, sizeof c);
	if (vterm_state_get_penattr(s->state, VTERM_ATTR_BOLD, &v))
		c.attrs.bold = !!v.boolean;
	if (vterm_state_get_penattr(s->state, VTERM_ATTR_UNDERLINE, &v))
		c.attrs.underline = v.number & 3;
	if (vterm_state_get_penattr(s->state, VTERM_ATTR_ITALIC, &v))
		c.attrs.italic = !!v.boolean;
	if (vterm_state_get_penattr(s->state, VTERM_ATTR_BLINK, &v))
		c.attrs.blink = !!v.boolean;
	if (vterm_state_get_penattr(s->state, VTERM_ATTR_REVERSE, &v))
		c.attrs.reverse = !!v.boolean;
	if (vterm_state_get_penattr(s->state, VTERM_ATTR_STRIKE, &v))
		c.attrs.strike = !!v.boolean;
	if (vterm_state_get_penattr(s->state, VTERM_ATTR_FOREGROUND, &v))
		c.fg = v.color;
	else
		c.fg.type = VTERM_COLOR_DEFAULT_FG;
	if (vterm_state_get_penattr(s->state, VTERM_ATTR_BACKGROUND, &v))
		c.bg = v.color;
	else
		c.bg.type = VTERM_COLOR_DEFAULT_BG;
	cell_sgr(&c, sgr, sizeof sgr);
	return puts_(o, sgr);
}

int fcm_tty_screen_render(struct fcm_tty_screen *s, struct fcm_tty_buf *o)
{
	VTermScreenCell *cells;
	VTermPos pos;
	char seq[64];
	int r = 0;

	cells = calloc((size_t)s->cols, sizeof *cells);
	if (!cells)
		return -1;
	/* Leave whatever modes the client's terminal was in; reset the pen
	 * and the scroll region. */
	r |= puts_(o, "\033[0m\0337\033[r\0338");
	if (s->altscreen)
		r |= puts_(o, "\033[?1049l");
	for (size_t i = 0; i < s->sb_count; i++) {
		const struct line *l = &s->sb[(s->sb_head + i) % s->sb_cap];
		r |= put(o, l->p, l->n);
		r |= puts_(o, "\r\n");
	}
	/* Push the scrollback lines and whatever was on the terminal into its
	 * history: after this the cursor is on the last line of a blank
	 * screen, whatever row it started on. */
	for (int i = 0; i < s->rows; i++)
		r |= puts_(o, "\r\n");
	if (s->altscreen)
		r |= puts_(o, "\033[?1049h");
	r |= puts_(o, "\033[H\033[2J");
	for (int row = 0; row < s->rows; row++) {
		pos.row = row;
		for (pos.col = 0; pos.col < s->cols; pos.col++)
			if (!vterm_screen_get_cell(s->screen, pos, &cells[pos.col]))
				memset(&cells[pos.col], 0, sizeof cells[pos.col]);
		snprintf(seq, sizeof seq, "\033[%d;1H", row + 1);
		r |= puts_(o, seq);
		r |= render_cells(o, cells, s->cols);
	}
	vterm_state_get_cursorpos(s->state, &pos);
	snprintf(seq, sizeof seq, "\033[%d;%dH%s", pos.row + 1, pos.col + 1,
	    s->cursor_visible ? "\033[?25h" : "\033[?25l");
	r |= puts_(o, seq);
	r |= pen_sgr(s, o);
	free(cells);
	return r ? -1 : 0;
}

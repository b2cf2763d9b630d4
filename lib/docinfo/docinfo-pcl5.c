/* pl_docinfo: PCL 5 pages, from a tokenizer of escape sequences and a
 * model of what ends a page, as HP's PCL 5 Technical Reference describes
 * it and GhostPDL's interpreter (pcl/pcl/pcparse.c, pcpage.c, pcursor.c,
 * pcjob.c) does it.
 *
 * Syntax: ESC and one character 0x30..0x7e is a two-character command;
 * ESC, a parameterized character 0x21..0x2f, an optional group character
 * 0x60..0x7e, then value fields ([+-]digits[.digits]), each ended by a
 * command character: 0x40..0x5e ends the sequence, 0x60..0x7e combines
 * the next command of the same group. Some commands carry that many
 * bytes of binary data (raster rows, fonts, patterns, transparent
 * text...): those bytes are skipped exactly. A character that fits
 * nowhere ends the sequence and is read as text.
 *
 * Pages: a form feed always ejects one (a blank one too). A reset (ESC E),
 * a UEL, a page size, paper source, duplex, side, media type or flush
 * command, an orientation change, and the end of the stream eject the page
 * when it is marked: text, raster, a filled rectangle. What may or may
 * not mark (spaces, bytes a symbol set may not print, an empty raster row
 * that repeats a seed row) makes that page unknown, and so the count.
 *
 * Line feeds (LF, a CR mapped to CR-LF, ESC =, a relative row move) eject
 * a page when they pass the bottom of the text area, which depends on the
 * line spacing, the margins and the paper: they are followed while the
 * cursor stays a line clear of the smallest text area the page can have,
 * and anything closer, or after the cursor was placed where we do not
 * follow, is unknown. Assumed: the printer's factory form length and
 * line termination (6 lines an inch, CR only a carriage return, unless
 * the job sets them, or PJL's FORMLINES or LINETERMINATION leaves them
 * unknown) and paper no smaller than Letter or A4 unless the job says
 * which.
 *
 * Unknown as well: HP-GL/2 (ESC %#B), macros (definitions, calls,
 * overlays), display functions, end-of-line wrap with text, text parsing
 * of more than one byte a character, negative or absurd data lengths. */
#include "docinfo-private.h"

#include <string.h>

enum { P_TEXT, P_ESC, P_CLASS, P_VALUE, P_DATA };
enum { MARK_NO, MARK_MAYBE, MARK_YES };

#define INCH 7200 /* centipoints */
#define VMI_DEFAULT (INCH / 6)
#define MARGIN_DEFAULT (INCH / 2) /* the top margin, and the bottom one */
#define DATA_MAX (1u << 24)	  /* bytes of data one command may carry */
#define VALUE_MAX 1000000000000ull
#define TEXT_DEFAULT (-1) /* the text length follows the page and margin */
#define TEXT_UNKNOWN (-2)

/* Paper sizes of ESC &l#A, centipoints (rounded down). */
static const struct { uint16_t id; int32_t w, h; } papers[] = {
	{ 1, 52200, 75600 },  /* Executive */ { 2, 61200, 79200 },   /* Letter */
	{ 3, 61200, 100800 }, /* Legal */     { 6, 79200, 122400 },  /* Ledger */
	{ 25, 41952, 59527 }, /* A5 */	      { 26, 59527, 84189 },  /* A4 */
	{ 27, 84189, 119055 },/* A3 */	      { 45, 51590, 72850 },  /* JIS B5 */
	{ 46, 72850, 103181 },/* JIS B4 */    { 71, 28346, 41952 },  /* Hagaki */
	{ 72, 41952, 56692 }, /* Oufuku */    { 80, 27900, 54000 },  /* Monarch */
	{ 81, 29700, 68400 }, /* Com 10 */    { 90, 31181, 62362 },  /* DL */
	{ 91, 45921, 64913 }, /* C5 */	      { 100, 49889, 70866 }, /* B5 */
};

/* ---- the page geometry ---------------------------------------------------- */

/* The logical page's length: the paper's side that runs down the page;
 * with paper or orientation unknown, the shortest it can be. -1: none
 * we can tell. */
static int64_t page_length(const pl_docinfo_pcl5_t *s)
{
	int64_t w = 59527, h = 79200; /* Letter or A4: the shorter of each */

	if (s->psize < 0)
		return -1;
	if (s->psize == 0 && (s->env & PL_PJL_PAPER))
		return -1; /* PJL chose a paper we do not assume */
	for (size_t i = 0; s->psize > 0 && i < sizeof(papers) / sizeof(papers[0]); i++)
		if (papers[i].id == s->psize) {
			w = papers[i].w;
			h = papers[i].h;
		}
	if (s->orient < 0)
		return w < h ? w : h;
	return s->orient % 2 ? w : h;
}

/* The bottom of the text area, from the top margin; -1 when unknown.
 * s->text: a length the job set, TEXT_DEFAULT, or TEXT_UNKNOWN. */
static int64_t text_length(const pl_docinfo_pcl5_t *s)
{
	int64_t len = page_length(s);

	if (s->text >= 0)
		return s->text;
	if (s->text == TEXT_UNKNOWN || len < 0 || s->top < 0)
		return -1;
	return len - s->top - MARGIN_DEFAULT;
}

static void home(pl_docinfo_pcl5_t *s)
{
	s->y_known = s->vmi >= 0;
	s->y = s->vmi >= 0 ? s->vmi * 3 / 4 : 0; /* 3/4 of a line below the top */
	s->at_home = 1;
}

/* What a reset restores: the user defaults (PJL's, or the factory's). */
static void defaults(pl_docinfo_pcl5_t *s)
{
	s->vmi = s->env & PL_PJL_FORMLINES ? -1 : VMI_DEFAULT;
	s->top = MARGIN_DEFAULT;
	s->text = TEXT_DEFAULT;
	s->orient = -1; /* PJL's ORIENTATION, or the panel's */
	s->psize = 0;	/* PJL's PAPER, or the panel's */
	/* PJL's line termination, not known: a CR may feed a line too. */
	s->lt = s->env & PL_PJL_LINETERM ? 1 : 0;
	s->wrap = 0;
	s->rect_w = s->rect_h = 0;
	home(s);
}

void pl_docinfo_pcl5_init(pl_docinfo_pcl5_t *s, int env)
{
	memset(s, 0, sizeof(*s));
	s->env = env;
	defaults(s);
}

/* ---- pages -------------------------------------------------------------- */

static void count_page(pl_docinfo_pcl5_t *s)
{
	if (s->pages < UINT32_MAX)
		s->pages++;
	s->mark = MARK_NO;
	home(s);
}

/* The commands that print the page if it is marked, then start afresh. */
static void eject_if_marked(pl_docinfo_pcl5_t *s)
{
	if (s->mark == MARK_MAYBE)
		s->bad = 1;
	if (s->mark == MARK_YES)
		count_page(s);
	s->mark = MARK_NO;
	home(s);
}

static void mark(pl_docinfo_pcl5_t *s, int how)
{
	if (how > s->mark)
		s->mark = how;
	s->at_home = 0;
}

/* Text: with end-of-line wrap on, it could wrap onto a new line, and a
 * new line onto a new page. */
static void text_mark(pl_docinfo_pcl5_t *s, int how)
{
	mark(s, how);
	if (s->wrap)
		s->bad = 1;
}

/* A line feed or relative row move, in thousandths of the line spacing:
 * a page ends if the cursor passes the text area's bottom; we follow it
 * only while it stays a line clear of it. */
static void advance(pl_docinfo_pcl5_t *s, uint64_t milli)
{
	int64_t text = text_length(s);

	s->at_home = 0;
	if (!s->y_known || s->vmi < 0 || text < 0 || milli > 1000000000) {
		s->bad = 1;
		return;
	}
	s->y += (int64_t)(milli * (uint64_t)s->vmi / 1000);
	if (s->y + s->vmi > text)
		s->bad = 1;
}

static void lost_cursor(pl_docinfo_pcl5_t *s)
{
	s->y_known = 0;
	s->at_home = 0;
}

/* ---- commands --------------------------------------------------------------- */

static uint64_t value_int(const pl_docinfo_pcl5_t *s)
{
	return s->ival;
}

/* The value in thousandths, magnitude only; clamped. */
static uint64_t value_milli(const pl_docinfo_pcl5_t *s)
{
	uint64_t v = s->ival > VALUE_MAX ? VALUE_MAX : s->ival;
	return v * 1000 + s->frac;
}

/* A new line spacing. At home the cursor moves to the new first line's
 * place; elsewhere it stays. Where we cannot be sure it was not at home,
 * it is taken to be the lower of the two. */
static void set_vmi(pl_docinfo_pcl5_t *s, int64_t vmi)
{
	s->vmi = vmi;
	if (s->at_home)
		home(s);
	else if (s->y_known && vmi * 3 / 4 > s->y)
		s->y = vmi * 3 / 4;
}

/* Top margin, in lines: the text length goes back to its default; the
 * cursor moves to the new home if nothing moved it yet, else stays where
 * it is on the page (further below the margin when it moved up). */
static void set_top(pl_docinfo_pcl5_t *s, uint64_t lines)
{
	int64_t top, len = page_length(s);

	if (s->vmi == 0 || lines > 32767)
		return; /* ignored */
	if (s->vmi < 0 || s->top < 0 || len < 0) {
		s->top = -1;
		return;
	}
	top = (int64_t)lines * s->vmi;
	if (top > len) {
		s->top = -1; /* ignored on this paper, not on a larger one */
		return;
	}
	if (s->y_known && top < s->top)
		s->y += s->top - top;
	s->top = top;
	s->text = TEXT_DEFAULT;
}

/* Text length, in lines (0: the default); ignored when it does not fit. */
static void set_text(pl_docinfo_pcl5_t *s, uint64_t lines)
{
	int64_t len = page_length(s), text;

	if (lines > 32767)
		return;
	if (lines == 0) {
		s->text = TEXT_DEFAULT;
		return;
	}
	text = s->vmi < 0 ? -1 : (int64_t)lines * s->vmi;
	if (text < 0 || s->top < 0 || len < 0 || s->top + text > len)
		s->text = TEXT_UNKNOWN; /* fits a larger paper, perhaps */
	else
		s->text = text;
}

/* Orientation: ignored when it is the current one, which after a reset
 * is PJL's or the panel's, unknown to us; else a new logical page, the
 * line spacing and margins back to their defaults. */
static void set_orientation(pl_docinfo_pcl5_t *s, uint64_t v)
{
	int64_t vmi = s->env & PL_PJL_FORMLINES ? -1 : VMI_DEFAULT;

	if (v > 3 || (s->orient >= 0 && (uint64_t)s->orient == v))
		return;
	if (s->orient < 0) {
		/* Perhaps ignored: what it would reset must already be so. */
		if (s->mark != MARK_NO)
			s->bad = 1;
		if (s->vmi != vmi || s->top != MARGIN_DEFAULT || s->text != TEXT_DEFAULT)
			s->bad = 1;
	}
	eject_if_marked(s);
	s->orient = (int)v;
	s->vmi = vmi;
	s->top = MARGIN_DEFAULT;
	s->text = TEXT_DEFAULT;
	home(s);
}

/* ESC & l: page setup and line spacing. */
static void cmd_l(pl_docinfo_pcl5_t *s, uint8_t cmd)
{
	uint64_t v = value_int(s);

	switch (cmd) {
	case 'A': /* page size: an id we do not know changes nothing */
		eject_if_marked(s);
		for (size_t i = 0; i < sizeof(papers) / sizeof(papers[0]); i++)
			if (papers[i].id == v) {
				s->psize = papers[i].id;
				s->top = MARGIN_DEFAULT;
				s->text = TEXT_DEFAULT;
				/* GhostPDL keeps the line spacing, a printer may
				 * take its default again: unknown unless both agree. */
				if (s->vmi != (s->env & PL_PJL_FORMLINES ? -1 : VMI_DEFAULT))
					s->vmi = -1;
			}
		if (v == 101)
			s->psize = -1; /* custom: the size is the driver's */
		home(s);
		return;
	case 'O': /* orientation */
		set_orientation(s, v);
		return;
	case 'H': /* paper source */
	case 'S': /* simplex, duplex */
		eject_if_marked(s);
		return;
	case 'M': /* media type */
		if (v <= 4)
			eject_if_marked(s);
		return;
	case 'C': /* vertical motion index, 1/48 inch */
		if (v <= 32767)
			set_vmi(s, (int64_t)((value_milli(s) * INCH / 48 + 500) / 1000));
		return;
	case 'D': /* lines per inch; 0 is 12 */
		if (v <= 32767 && 48 % (v ? v : 12) == 0)
			set_vmi(s, INCH / (int64_t)(v ? v : 12));
		return;
	case 'E': set_top(s, v); return;
	case 'F': set_text(s, v); return;
	case 'L': /* perforation skip: a change resets the margins */
		if (v <= 1 && (s->top != MARGIN_DEFAULT || s->text != TEXT_DEFAULT))
			s->text = TEXT_UNKNOWN;
		return;
	case 'P': /* page length, lines: not followed */
		s->psize = -1;
		return;
	default: return;
	}
}

/* A command with data: how many bytes to skip, or bad. */
static int data_len(pl_docinfo_pcl5_t *s, uint64_t max, uint64_t *n)
{
	if (s->neg || s->ival > max) {
		s->bad = 1;
		return 0;
	}
	*n = s->ival;
	return 1;
}

/* Commands that carry data, by parameterized, group, command character. */
static int carries_data(uint8_t cls, uint8_t grp, uint8_t cmd)
{
	static const char *const data_cmds[] = {
		"*bW", "*bV", "*gW", "*vW", "*iW", "*mW", "*lW", "*oW", "*cW",
		")sW", "(sW", "(fW", "&nW", "&pX", "&bW", "&aW",
	};
	for (size_t i = 0; i < sizeof(data_cmds) / sizeof(data_cmds[0]); i++)
		if ((uint8_t)data_cmds[i][0] == cls && (uint8_t)data_cmds[i][1] == grp &&
		    (uint8_t)data_cmds[i][2] == cmd)
			return 1;
	return 0;
}

/* What the data means for the page, before it is skipped. */
static void data_cmd(pl_docinfo_pcl5_t *s, uint64_t n)
{
	uint8_t cls = s->cls, grp = s->grp;

	if (cls == '*' && grp == 'b') { /* a raster row, or one of its planes */
		mark(s, n > 0 ? MARK_YES : MARK_MAYBE);
		lost_cursor(s);
	} else if (cls == '&' && grp == 'p') { /* transparent print data */
		if (n > 0)
			text_mark(s, MARK_MAYBE);
	} else if (cls == '&' && (grp == 'a' || grp == 'n')) {
		/* A logical page set up anew (the page erased, not printed), or
		 * an alphanumeric id whose media select ejects: only on a
		 * blank page do we know what happened. */
		if (s->mark != MARK_NO)
			s->bad = 1;
		if (grp == 'a')
			s->psize = -1;
	}
}

/* ESC & commands other than page setup. */
static void cmd_amp(pl_docinfo_pcl5_t *s, uint8_t grp, uint8_t cmd)
{
	uint64_t v = value_int(s);

	if (grp == 'a' && cmd == 'G') { /* duplex page side */
		eject_if_marked(s);
	} else if (grp == 'a' && cmd == 'R') { /* rows: relative ones can eject */
		if (s->sign && !s->neg)
			advance(s, value_milli(s));
		else
			lost_cursor(s);
	} else if (grp == 'a' && cmd == 'V') {
		lost_cursor(s);
	} else if (grp == 'r' && cmd == 'F') { /* flush pages */
		if (v == 1)
			eject_if_marked(s);
	} else if (grp == 'f' && cmd == 'X') { /* macros */
		if (v == 0 || v == 2 || v == 3 || v == 4)
			s->bad = 1;
	} else if (grp == 'f' && cmd == 'S') { /* push, pop the cursor */
		if (v == 1)
			lost_cursor(s);
	} else if (grp == 'f' && (cmd == 'I' || cmd == 'J')) { /* custom paper */
		s->psize = -1;
	} else if (grp == 'k' && cmd == 'G') { /* line termination */
		if (v <= 3)
			s->lt = (int)v;
	} else if (grp == 's' && cmd == 'C') { /* end-of-line wrap: 0 on */
		if (v <= 1)
			s->wrap = v == 0;
	} else if (grp == 't' && cmd == 'P') { /* text parsing: one byte a char */
		if (v > 1)
			s->bad = 1;
	}
}

/* A reset: the page is printed if marked, then everything is default. */
static void reset(pl_docinfo_pcl5_t *s)
{
	eject_if_marked(s);
	defaults(s);
}

static void command(pl_docinfo_pcl5_t *s, uint8_t cmd)
{
	/* (cls, grp, cmd) below: the command's parameterized, group and
	 * command characters. */
	uint8_t cls = s->cls, grp = s->grp;

	if (cls == '%' && grp == 0) {
		if (cmd == 'X' && s->neg && s->ival == 12345) { /* UEL */
			reset(s);
			s->done = 1;
		} else if (cmd == 'B' || cmd == 'X') {
			s->bad = 1; /* HP-GL/2, or an exit we do not know */
		}
	} else if (cls == '&' && grp == 'l') {
		cmd_l(s, cmd);
	} else if (cls == '&') {
		cmd_amp(s, grp, cmd);
	} else if (cls == '*' && grp == 'p' && cmd == 'Y') {
		lost_cursor(s);
	} else if (cls == '*' && grp == 'b' && cmd == 'Y') { /* raster y offset */
		lost_cursor(s);
	} else if (cls == '*' && grp == 'r' && (cmd == 'C' || cmd == 'B')) {
		lost_cursor(s); /* the end of raster moves the cursor */
	} else if (cls == '*' && grp == 'c' && (cmd == 'A' || cmd == 'H')) {
		s->rect_w = s->ival >= 10; /* width: dots, decipoints */
	} else if (cls == '*' && grp == 'c' && (cmd == 'B' || cmd == 'V')) {
		s->rect_h = s->ival >= 10;
	} else if (cls == '*' && grp == 'c' && cmd == 'P') {
		/* A filled rectangle marks the page, unless it has no size (as
		 * after a reset) or rounds to none of a pixel: only a size of a
		 * few pixels is sure, and a fill the printer knows (0..5). */
		mark(s, s->rect_w && s->rect_h && s->ival <= 5 ? MARK_YES : MARK_MAYBE);
	}
}

/* ---- the tokenizer ------------------------------------------------------- */

static void value_reset(pl_docinfo_pcl5_t *s)
{
	s->neg = s->sign = s->point = s->present = s->garbage = 0;
	s->ival = 0;
	s->frac = 0;
}

/* A command character: run it, then its data, then on (combined) or out. */
static void terminate(pl_docinfo_pcl5_t *s, uint8_t c)
{
	int combined = c >= 0x60;
	uint8_t cmd = combined ? (uint8_t)(c - 32) : c;
	uint64_t n = 0;

	s->state = combined ? P_VALUE : P_TEXT;
	/* Most commands move the cursor, or may: those that home it say so. */
	if (!(s->cls == '&' && s->grp == 'l' && (cmd == 'C' || cmd == 'D')))
		s->at_home = 0;
	if (carries_data(s->cls, s->grp, cmd)) {
		uint64_t max = s->cls == '(' && s->grp == 'f' ? 32767 : DATA_MAX;
		if (!data_len(s, max, &n))
			return;
		data_cmd(s, n);
		if (n > 0) {
			s->skip = n;
			s->after_data = s->state;
			s->state = P_DATA;
		}
	} else {
		command(s, cmd);
	}
	value_reset(s);
}

/* A byte of a value field; 0 when it ended the sequence and is to be
 * read again as text. Lenient as the printers are: spaces are skipped,
 * and other bytes of 0x20..0x3f after a number are ignored. */
static int value_byte(pl_docinfo_pcl5_t *s, uint8_t c)
{
	if (s->garbage && c >= ' ' && c <= '?')
		return 1;
	s->garbage = 0;
	if (c >= '0' && c <= '9') {
		s->present = 1;
		if (s->point) {
			if (s->point < 4)
				s->frac += (uint32_t)(c - '0') * (s->point == 1 ? 100 : s->point == 2 ? 10 : 1);
			s->point++;
		} else if (s->ival <= VALUE_MAX) {
			s->ival = s->ival * 10 + (uint64_t)(c - '0');
		}
	} else if (c == '-' || c == '+') {
		s->present = s->sign = 1;
		s->neg = c == '-';
	} else if (c == '.') {
		s->present = 1;
		if (!s->point)
			s->point = 1;
	} else if (c >= ' ' && c <= '?') {
		if (s->present)
			s->garbage = c != ' ';
	} else if (c >= '@' && c <= '~' && c != 0x5f) {
		terminate(s, c);
	} else {
		s->state = P_TEXT; /* out of place: the sequence is dropped */
		value_reset(s);
		return 0;
	}
	return 1;
}

static void text_byte(pl_docinfo_pcl5_t *s, uint8_t c)
{
	switch (c) {
	case 0x1b: s->state = P_ESC; return;
	case '\f': count_page(s); return; /* always, even a blank page */
	case '\n': advance(s, 1000); return;
	case '\r':
		if (s->lt & 1)
			advance(s, 1000);
		else
			s->at_home = 0;
		return;
	case 0: return;
	case '\b': case '\t': case 0x0e: case 0x0f: s->at_home = 0; return;
	default:
		text_mark(s, c > ' ' && c < 0x7f ? MARK_YES : MARK_MAYBE);
		return;
	}
}

/* After ESC: a two-character command, or the start of a sequence. */
static int esc_byte(pl_docinfo_pcl5_t *s, uint8_t c)
{
	if (c == 0x1b)
		return 1; /* the first ESC was nothing */
	if (c >= '!' && c <= '/') {
		s->cls = c;
		s->state = P_CLASS;
		return 1;
	}
	s->state = P_TEXT;
	switch (c) {
	case 'E': reset(s); return 1;
	case '=': advance(s, 500); return 1; /* half a line */
	case '9': case 'Z': return 1; /* clear margins; no display functions */
	case 'Y': case 'A': /* display functions; a page listing the fonts */
		s->bad = 1;
		return 1;
	default: return 0; /* not a command: the ESC is dropped, c is text */
	}
}

/* One byte; 0 when it is to be read again in the new state. */
static int step(pl_docinfo_pcl5_t *s, uint8_t c)
{
	switch (s->state) {
	case P_ESC: return esc_byte(s, c);
	case P_CLASS:
		s->state = P_VALUE;
		value_reset(s);
		if (c >= '`' && c <= '~') {
			s->grp = c;
			return 1;
		}
		s->grp = 0;
		return 0;
	case P_VALUE: return value_byte(s, c);
	default: text_byte(s, c); return 1;
	}
}

size_t pl_docinfo_pcl5_feed(pl_docinfo_pcl5_t *s, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && !s->done && !s->bad) {
		if (s->state == P_DATA) {
			uint64_t take = s->skip < n - i ? s->skip : n - i;
			i += (size_t)take;
			if ((s->skip -= take) == 0)
				s->state = s->after_data;
			continue;
		}
		if (s->state == P_TEXT && p[i] > ' ' && p[i] < 0x7f) {
			/* A run of text: one mark is enough. */
			text_mark(s, MARK_YES);
			while (i < n && p[i] > ' ' && p[i] < 0x7f)
				i++;
			continue;
		}
		i += (size_t)step(s, p[i]);
	}
	return s->bad ? n : i;
}

int64_t pl_docinfo_pcl5_end(pl_docinfo_pcl5_t *s)
{
	/* The end of the job prints a marked page, as a reset does. */
	if (!s->done && !s->bad) {
		if (s->state != P_TEXT)
			s->bad = 1; /* cut inside a sequence or its data */
		else
			eject_if_marked(s);
	}
	return s->bad ? -1 : (int64_t)s->pages;
}

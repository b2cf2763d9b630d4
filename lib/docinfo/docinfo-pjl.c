/* pl_docinfo: what a PCL document (PL_DOC_PCL) holds, section by section.
 * PJL (HP's Printer Job Language) wraps a job in UELs (ESC %-12345X) and
 * "@PJL" lines; "@PJL ENTER LANGUAGE=X" hands the bytes after its line
 * feed to language X until the next UEL. Without ENTER LANGUAGE a
 * printer switches by the first bytes, and so do we, only where they say
 * it without doubt: ESC is PCL 5, ") HP-PCL XL" or "( HP-PCL XL" is PCL
 * XL, "%!" PostScript, "%PDF-" PDF.
 *
 * Each section is counted by its language's scanner: PCL 5
 * (docinfo-pcl5.c) and PCL XL (docinfo-pclxl.c) read their own UEL,
 * PostScript and PDF (the scanners of plain files, started afresh) are
 * fed up to it. The pages are the sum over the sections; a section we
 * cannot count (another language, PostScript without DSC pages, anything
 * else where a section should start) makes the whole count unknown.
 *
 * PJL's FORMLINES (the line spacing), LINETERMINATION and PAPER set PCL
 * 5's defaults for the rest of the job: they are noted for its scanner. */
#include "docinfo-private.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { J_IDLE, J_LINE, J_SNIFF, J_LANG };
enum { LANG_PCL5 = 1, LANG_XL, LANG_PS, LANG_PDF };

static const char uel[] = "\x1b%-12345X";

void pl_docinfo_pcl_init(pl_docinfo_pcl_t *s)
{
	memset(s, 0, sizeof(*s));
}

static void start_section(pl_docinfo_pcl_t *s, int lang)
{
	s->lang = lang;
	s->state = J_LANG;
	s->uel = 0;
	switch (lang) {
	case LANG_PCL5: pl_docinfo_pcl5_init(&s->u.p5, s->env); break;
	case LANG_XL: pl_docinfo_pclxl_init(&s->u.xl); break;
	case LANG_PS: memset(&s->u.ps, 0, sizeof(s->u.ps)); break;
	case LANG_PDF: pl_docinfo_pdf_init(&s->u.pdf); break;
	default: s->bad = 1; break;
	}
}

/* The section's pages into the sum, or the sum is unknown. */
static void end_section(pl_docinfo_pcl_t *s)
{
	pl_docinfo_result_t r;
	int64_t pages = -1;

	memset(&r, 0, sizeof(r));
	switch (s->lang) {
	case LANG_PCL5: pages = pl_docinfo_pcl5_end(&s->u.p5); break;
	case LANG_XL: pages = pl_docinfo_pclxl_end(&s->u.xl); break;
	case LANG_PS:
		pl_docinfo_ps_result(&s->u.ps, &r);
		pages = r.pages ? (int64_t)r.pages : -1;
		break;
	case LANG_PDF:
		pl_docinfo_pdf_result(&s->u.pdf, &r);
		pages = r.pages ? (int64_t)r.pages : -1;
		break;
	default: break;
	}
	if (pages < 0 || pages > PL_DOCINFO_PAGES_MAX)
		s->bad = 1;
	else
		s->pages += (uint32_t)pages;
	if (s->pages > PL_DOCINFO_PAGES_MAX)
		s->bad = 1;
	s->state = J_IDLE;
	s->lang = 0;
	s->uel = 0;
}

/* ---- PJL lines ------------------------------------------------------------- */

/* The next word of a PJL line (letters, digits, '=' alone), uppercased
 * into w; returns where it ended. */
static const char *word(const char *p, char *w, size_t wsz)
{
	size_t n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '=') {
		snprintf(w, wsz, "=");
		return p + 1;
	}
	while (*p && *p != ' ' && *p != '\t' && *p != '=') {
		if (n + 1 < wsz)
			w[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		p++;
	}
	w[n] = '\0';
	return p;
}

static int lang_of(const char *name)
{
	static const struct { const char *name; int lang; } langs[] = {
		{ "PCL", LANG_PCL5 }, { "PCLXL", LANG_XL },
		{ "POSTSCRIPT", LANG_PS }, { "PDF", LANG_PDF },
	};
	for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
		if (strcmp(name, langs[i].name) == 0)
			return langs[i].lang;
	return -1; /* a language we do not count */
}

/* SET or DEFAULT of a variable that changes PCL 5's pages (plain, or
 * for PCL alone: "LPARM:PCL FORMLINES"). */
static void pjl_set(pl_docinfo_pcl_t *s, const char *p)
{
	char var[24], eq[4], val[24];

	p = word(p, var, sizeof(var));
	if (strncmp(var, "LPARM:", 6) == 0)
		p = word(p, var, sizeof(var));
	p = word(p, eq, sizeof(eq));
	word(p, val, sizeof(val));
	if (strcmp(var, "FORMLINES") == 0)
		s->env |= PL_PJL_FORMLINES;
	else if (strcmp(var, "LINETERMINATION") == 0)
		s->env |= PL_PJL_LINETERM;
	else if (strcmp(var, "PAPER") == 0 && strcmp(val, "LETTER") && strcmp(val, "A4") &&
		 strcmp(val, "LEGAL") && strcmp(val, "A3") && strcmp(val, "LEDGER") &&
		 strcmp(val, "11X17"))
		s->env |= PL_PJL_PAPER;
	/* Kept to the end of the document: a DEFAULT outlives its job, and
	 * an unknown setting only makes more pages unknown. */
}

static void pjl_line(pl_docinfo_pcl_t *s)
{
	char w[24], lang[24];
	const char *p = s->line;

	if (strncasecmp(p, "@PJL", 4) != 0 || (p[4] && p[4] != ' ' && p[4] != '\t' &&
						p[4] != '\r')) {
		s->bad = 1; /* not PJL where PJL must be */
		return;
	}
	p = word(p + 4, w, sizeof(w));
	if (strcmp(w, "SET") == 0 || strcmp(w, "DEFAULT") == 0) {
		pjl_set(s, p);
	} else if (strcmp(w, "ENTER") == 0) {
		p = word(p, w, sizeof(w));
		if (strcmp(w, "LANGUAGE") != 0) {
			s->bad = 1;
			return;
		}
		p = word(p, w, sizeof(w));
		word(p, lang, sizeof(lang));
		start_section(s, strcmp(w, "=") == 0 ? lang_of(lang) : -1);
	}
}

/* A PJL line, to its line feed; only its start is kept. */
static size_t line_bytes(pl_docinfo_pcl_t *s, const uint8_t *p, size_t n)
{
	const uint8_t *lf = memchr(p, '\n', n);
	size_t take = lf ? (size_t)(lf - p) : n;

	for (size_t i = 0; i < take && s->len < sizeof(s->line) - 1; i++)
		s->line[s->len++] = p[i] == '\r' ? ' ' : (char)p[i];
	if (!lf)
		return n;
	s->line[s->len] = '\0';
	s->state = J_IDLE;
	pjl_line(s);
	return take + 1;
}

/* ---- between sections ---------------------------------------------------- */

/* '%' starts PostScript or PDF: the bytes so far decide, then go to the
 * section's scanner. */
static void sniff_byte(pl_docinfo_pcl_t *s, uint8_t c)
{
	s->line[s->len++] = (char)c;
	if (s->len == 2 && c == '!') {
		start_section(s, LANG_PS);
	} else if (s->len == 5 && memcmp(s->line, "%PDF-", 5) == 0) {
		start_section(s, LANG_PDF);
	} else if (memcmp(s->line, "%PDF-", s->len) != 0) {
		s->bad = 1;
		return;
	} else {
		return;
	}
	if (s->lang == LANG_PS)
		pl_docinfo_ps_feed(&s->u.ps, (const uint8_t *)s->line, s->len);
	else
		pl_docinfo_pdf_feed(&s->u.pdf, (const uint8_t *)s->line, s->len);
}

/* A byte between sections; 0 when the section it starts is to read it. */
static size_t idle_byte(pl_docinfo_pcl_t *s, uint8_t c)
{
	switch (c) {
	case ' ': case '\t': case '\r': case '\n': return 1;
	case '@': s->state = J_LINE; s->len = 0; s->line[s->len++] = '@'; return 1;
	case '%': s->state = J_SNIFF; s->len = 0; sniff_byte(s, c); return 1;
	/* ESC, and the binding of PCL XL's header: the section reads them. */
	case 0x1b: start_section(s, LANG_PCL5); return 0;
	case '(': case ')': start_section(s, LANG_XL); return 0;
	default: s->bad = 1; return 1; /* a language we cannot name */
	}
}

/* ---- sections ------------------------------------------------------------ */

static void sub_feed(pl_docinfo_pcl_t *s, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	if (s->lang == LANG_PS)
		pl_docinfo_ps_feed(&s->u.ps, p, n);
	else
		pl_docinfo_pdf_feed(&s->u.pdf, p, n);
}

/* PostScript and PDF end at a UEL, which they do not know: each ESC is
 * checked, and the bytes before it (or a false start) are theirs. */
static size_t uel_bytes(pl_docinfo_pcl_t *s, const uint8_t *p, size_t n)
{
	if (s->uel > 0) {
		if (p[0] == (uint8_t)uel[s->uel]) {
			if (++s->uel == sizeof(uel) - 1)
				end_section(s);
			return 1;
		}
		sub_feed(s, (const uint8_t *)uel, s->uel);
		s->uel = 0;
		if (p[0] == 0x1b) {
			s->uel = 1;
			return 1;
		}
	}
	const uint8_t *esc = memchr(p, 0x1b, n);
	size_t upto = esc ? (size_t)(esc - p) : n;
	sub_feed(s, p, upto);
	if (!esc)
		return n;
	s->uel = 1;
	return upto + 1;
}

static size_t lang_bytes(pl_docinfo_pcl_t *s, const uint8_t *p, size_t n)
{
	size_t used;

	if (s->lang == LANG_PS || s->lang == LANG_PDF)
		return uel_bytes(s, p, n);
	if (s->lang == LANG_PCL5) {
		used = pl_docinfo_pcl5_feed(&s->u.p5, p, n);
		if (s->u.p5.done || s->u.p5.bad)
			end_section(s);
	} else {
		used = pl_docinfo_pclxl_feed(&s->u.xl, p, n);
		if (s->u.xl.done || s->u.xl.bad)
			end_section(s);
	}
	return used;
}

void pl_docinfo_pcl_feed(pl_docinfo_pcl_t *s, const uint8_t *p, size_t n)
{
	while (n > 0 && !s->bad) {
		size_t used = 1;
		switch (s->state) {
		case J_IDLE: used = idle_byte(s, p[0]); break;
		case J_LINE: used = line_bytes(s, p, n); break;
		case J_SNIFF: sniff_byte(s, p[0]); break;
		default: used = lang_bytes(s, p, n); break;
		}
		p += used;
		n -= used;
	}
}

void pl_docinfo_pcl_result(pl_docinfo_pcl_t *s, pl_docinfo_result_t *out)
{
	if (!s->bad && s->state == J_LANG) {
		if (s->uel > 0) /* a UEL cut short belongs to the section */
			sub_feed(s, (const uint8_t *)uel, s->uel);
		end_section(s);
	}
	if (!s->bad && s->state == J_SNIFF)
		s->bad = 1; /* a section that never said what it is */
	out->pages = s->bad ? PL_PAGES_UNKNOWN : s->pages;
}

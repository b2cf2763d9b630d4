/* What a printer's SNMP values mean (decode.h). Every value is checked
 * for type and range before it is used: printers in the wild send
 * integers as strings, 2-octet or 3-octet error states, levels above
 * their capacity, rows with holes and text in Latin-1. */
#include "decode.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MIB2 1, 3, 6, 1, 2, 1
const uint32_t sd_oid_sysdescr[] = { MIB2, 1, 1, 0 };
const uint32_t sd_oid_uptime[] = { MIB2, 1, 3, 0 };
const uint32_t sd_oid_devstatus[] = { MIB2, 25, 3, 2, 1, 5, 1 };
const uint32_t sd_oid_prtstatus[] = { MIB2, 25, 3, 5, 1, 1, 1 };
const uint32_t sd_oid_errstate[] = { MIB2, 25, 3, 5, 1, 2, 1 };
const uint32_t sd_oid_pages[] = { MIB2, 43, 10, 2, 1, 4, 1, 1 };
const uint32_t sd_oid_serial[] = { MIB2, 43, 5, 1, 1, 17, 1 };
#define LEN(a) (sizeof(a) / sizeof((a)[0]))
const size_t sd_oid_sysdescr_len = LEN(sd_oid_sysdescr), sd_oid_uptime_len = LEN(sd_oid_uptime),
	     sd_oid_devstatus_len = LEN(sd_oid_devstatus),
	     sd_oid_prtstatus_len = LEN(sd_oid_prtstatus),
	     sd_oid_errstate_len = LEN(sd_oid_errstate), sd_oid_pages_len = LEN(sd_oid_pages),
	     sd_oid_serial_len = LEN(sd_oid_serial);

/* prtMarkerSuppliesEntry 1.3.6.1.2.1.43.11.1.1.C, prtAlertEntry
 * 1.3.6.1.2.1.43.18.1.1.C; rows below them are .hrDeviceIndex.index. */
enum { COL_CLASS, COL_TYPE, COL_DESC, COL_UNIT, COL_MAX, COL_LEVEL, COL_ASEV, COL_ACODE, COL_ADESC };
const uint32_t sd_columns[SD_NCOLUMNS][12] = {
	{ MIB2, 43, 11, 1, 1, 4 }, { MIB2, 43, 11, 1, 1, 5 }, { MIB2, 43, 11, 1, 1, 6 },
	{ MIB2, 43, 11, 1, 1, 7 }, { MIB2, 43, 11, 1, 1, 8 }, { MIB2, 43, 11, 1, 1, 9 },
	{ MIB2, 43, 18, 1, 1, 2 }, { MIB2, 43, 18, 1, 1, 7 }, { MIB2, 43, 18, 1, 1, 8 },
};
const size_t sd_column_len[SD_NCOLUMNS] = { 11, 11, 11, 11, 11, 11, 11, 11, 11 };

static const char *const err_names[SD_ERR_BITS] = {
	"lowPaper", "noPaper", "lowToner", "noToner", "doorOpen", "jammed", "offline",
	"serviceRequested", "inputTrayMissing", "outputTrayMissing", "markerSupplyMissing",
	"outputNearFull", "outputFull", "inputTrayEmpty", "overduePreventMaint",
};

void sd_init(sd_state_t *s)
{
	memset(s, 0, sizeof(*s));
	s->uptime_ticks = -1;
	s->pages = -1;
}

static int oid_is(const sd_vb_t *vb, const uint32_t *oid, size_t len)
{
	return vb->oidlen == len && memcmp(vb->oid, oid, len * sizeof(*oid)) == 0;
}

int sd_in_column(size_t i, const uint32_t *oid, size_t oidlen)
{
	size_t n = sd_column_len[i];
	return i < SD_NCOLUMNS && oidlen > n && memcmp(oid, sd_columns[i], n * sizeof(*oid)) == 0;
}

/* ---- text ---- */

/* Length of the valid UTF-8 sequence at p (shortest form, no surrogates,
 * at most U+10FFFF), or 0. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	uint32_t c;
	size_t k;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4, c = p[0] & 0x07;
	else
		return 0;
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((k == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (k == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return k;
}

static int valid_utf8(const uint8_t *p, size_t n)
{
	for (size_t i = 0, k; i < n; i += k)
		if ((k = utf8_len(p + i, n - i)) == 0)
			return 0;
	return 1;
}

void sd_text(const uint8_t *in, size_t len, char *out, size_t size)
{
	size_t o = 0;
	if (size == 0)
		return;
	while (len > 0 && (in[len - 1] == 0 || in[len - 1] == ' ' || in[len - 1] == '\n' ||
			   in[len - 1] == '\r' || in[len - 1] == '\t'))
		len--;
	int utf8 = valid_utf8(in, len);
	for (size_t i = 0; i < len;) {
		uint8_t b = in[i];
		size_t k = utf8 ? utf8_len(in + i, len - i) : 1;
		uint8_t tmp[2];
		const uint8_t *src = in + i;
		size_t w = k;
		if (b < 0x20 || b == 0x7f) {
			tmp[0] = '?';
			src = tmp;
			w = 1;
		} else if (!utf8 && b >= 0x80) { /* ISO 8859-1 -> UTF-8 */
			if (b < 0xa0) {
				tmp[0] = '?';
				w = 1;
			} else {
				tmp[0] = (uint8_t)(0xc0 | (b >> 6));
				tmp[1] = (uint8_t)(0x80 | (b & 0x3f));
				w = 2;
			}
			src = tmp;
		}
		if (o + w >= size)
			break;
		memcpy(out + o, src, w);
		o += w;
		i += k;
	}
	out[o] = '\0';
}

/* ---- numbers ---- */

/* An integer from an integer-like value, or from a string of decimal
 * digits (some printers send levels as text). 0, or -1. */
static int num_of(const sd_vb_t *vb, int64_t *out)
{
	if (vb->type == SD_T_INT || vb->type == SD_T_GAUGE || vb->type == SD_T_COUNTER ||
	    vb->type == SD_T_TICKS) {
		*out = vb->num;
		return 0;
	}
	if (vb->type != SD_T_STR || vb->len == 0 || vb->len > 18)
		return -1;
	int64_t v = 0;
	size_t i = 0;
	int neg = vb->str[0] == '-';
	for (i = neg; i < vb->len; i++) {
		if (vb->str[i] < '0' || vb->str[i] > '9')
			return -1;
		v = v * 10 + (vb->str[i] - '0');
	}
	if (i == (size_t)neg)
		return -1;
	*out = neg ? -v : v;
	return 0;
}

static int num_in(const sd_vb_t *vb, int64_t lo, int64_t hi, int64_t *out)
{
	return num_of(vb, out) == 0 && *out >= lo && *out <= hi ? 0 : -1;
}

/* ---- the scalars ---- */

static int err_state(sd_state_t *s, const sd_vb_t *vb)
{
	uint32_t bits;
	if (vb->type == SD_T_STR && vb->len >= 1) {
		/* 1 or 2 octets per RFC 3805; octets past the second name no
		 * bit we know and are ignored. */
		bits = (uint32_t)vb->str[0] << 8 | (vb->len >= 2 ? vb->str[1] : 0);
	} else if (vb->type == SD_T_INT && vb->num >= 0 && vb->num <= 0xffff) {
		/* an integer where an octet string belongs: read as the octets */
		bits = vb->num > 0xff ? (uint32_t)vb->num : (uint32_t)vb->num << 8;
	} else {
		return -1;
	}
	/* bit 0 is the first octet's most significant bit */
	s->err_bits = 0;
	for (unsigned b = 0; b < SD_ERR_BITS; b++)
		if (bits & (0x8000u >> b))
			s->err_bits |= 1u << b;
	s->err_valid = 1;
	return 1;
}

static int scalar(sd_state_t *s, const sd_vb_t *vb)
{
	int64_t v;
	if (oid_is(vb, sd_oid_sysdescr, sd_oid_sysdescr_len)) {
		if (vb->type != SD_T_STR)
			return -1;
		sd_text(vb->str, vb->len, s->sysdescr, sizeof(s->sysdescr));
	} else if (oid_is(vb, sd_oid_uptime, sd_oid_uptime_len)) {
		if (num_in(vb, 0, UINT32_MAX, &v) < 0)
			return -1;
		s->uptime_ticks = v;
	} else if (oid_is(vb, sd_oid_devstatus, sd_oid_devstatus_len)) {
		if (num_in(vb, 1, 5, &v) < 0)
			return -1;
		s->dev_status = (int)v;
	} else if (oid_is(vb, sd_oid_prtstatus, sd_oid_prtstatus_len)) {
		if (num_in(vb, 1, 5, &v) < 0)
			return -1;
		s->prt_status = (int)v;
	} else if (oid_is(vb, sd_oid_errstate, sd_oid_errstate_len)) {
		return err_state(s, vb);
	} else if (oid_is(vb, sd_oid_pages, sd_oid_pages_len)) {
		if (num_in(vb, 0, INT64_MAX / 2, &v) < 0)
			return -1;
		s->pages = v;
	} else if (oid_is(vb, sd_oid_serial, sd_oid_serial_len)) {
		if (vb->type != SD_T_STR)
			return -1;
		sd_text(vb->str, vb->len, s->serial, sizeof(s->serial));
	} else {
		return 0;
	}
	return 1;
}

/* ---- the tables ---- */

static sd_supply_t *supply_row(sd_state_t *s, uint32_t idx)
{
	for (size_t i = 0; i < s->nsup; i++)
		if (s->sup[i].index == idx)
			return &s->sup[i];
	if (s->nsup == SD_MAX_SUPPLIES)
		return NULL;
	sd_supply_t *r = &s->sup[s->nsup++];
	memset(r, 0, sizeof(*r));
	r->index = idx;
	r->max = r->level = SD_NONE;
	r->pct = -1;
	return r;
}

static sd_alert_t *alert_row(sd_state_t *s, uint32_t idx)
{
	for (size_t i = 0; i < s->nalert; i++)
		if (s->alert[i].index == idx)
			return &s->alert[i];
	if (s->nalert == SD_MAX_ALERTS)
		return NULL;
	sd_alert_t *r = &s->alert[s->nalert++];
	memset(r, 0, sizeof(*r));
	r->index = idx;
	return r;
}

static int supply_col(sd_state_t *s, int col, uint32_t idx, const sd_vb_t *vb)
{
	int64_t v;
	if (col == COL_DESC && vb->type != SD_T_STR)
		return -1;
	if (col != COL_DESC && num_in(vb, -3, INT32_MAX, &v) < 0)
		return -1;
	sd_supply_t *r = supply_row(s, idx);
	if (!r)
		return -1;
	switch (col) {
	case COL_CLASS: r->cls = (int)v; break;
	case COL_TYPE: r->type = (int)v; break;
	case COL_DESC: sd_text(vb->str, vb->len, r->desc, sizeof(r->desc)); break;
	case COL_UNIT: r->unit = (int)v; break;
	case COL_MAX: r->max = (long)v; break;
	default: r->level = (long)v; break;
	}
	return 1;
}

static int alert_col(sd_state_t *s, int col, uint32_t idx, const sd_vb_t *vb)
{
	int64_t v = 0;
	if (col == COL_ADESC ? vb->type != SD_T_STR : num_in(vb, 0, INT32_MAX, &v) < 0)
		return -1;
	sd_alert_t *r = alert_row(s, idx);
	if (!r)
		return -1;
	if (col == COL_ASEV)
		r->severity = (int)v;
	else if (col == COL_ACODE)
		r->code = (int)v;
	else
		sd_text(vb->str, vb->len, r->desc, sizeof(r->desc));
	return 1;
}

static int table(sd_state_t *s, const sd_vb_t *vb)
{
	for (size_t c = 0; c < SD_NCOLUMNS; c++) {
		if (!sd_in_column(c, vb->oid, vb->oidlen))
			continue;
		/* .hrDeviceIndex.index, nothing more */
		if (vb->oidlen != sd_column_len[c] + 2)
			return -1;
		if (vb->type == SD_T_NOSUCH || vb->type == SD_T_NULL)
			return -1;
		uint32_t idx = vb->oid[vb->oidlen - 1];
		return c <= COL_LEVEL ? supply_col(s, (int)c, idx, vb)
				      : alert_col(s, (int)c, idx, vb);
	}
	return 0;
}

int sd_feed(sd_state_t *s, const sd_vb_t *vb)
{
	if (!vb->oid || vb->oidlen == 0 || vb->oidlen > SD_OID_MAX ||
	    (vb->type == SD_T_STR && !vb->str && vb->len))
		return 0;
	int rc;
	if (vb->type == SD_T_NOSUCH || vb->type == SD_T_NULL)
		rc = 0; /* an answer that says "not here": nothing to take */
	else if ((rc = scalar(s, vb)) == 0)
		rc = table(s, vb);
	if (rc < 0)
		s->dropped++;
	return rc;
}

/* ---- after the last binding ---- */

static int supply_pct(const sd_supply_t *r)
{
	long pct;
	if (r->level < 0)
		return -1; /* -1 other, -2 unknown, -3 some remaining, or none */
	if (r->unit == 19) /* percent: the level is the percentage */
		pct = r->level;
	else if (r->max > 0)
		pct = (long)((long long)r->level * 100 / r->max);
	else
		return -1; /* no capacity (-1, -2, 0): no percentage */
	if (pct > 100)
		pct = 100; /* a level above the capacity: full, not more */
	/* a receptacle (waste toner) fills upward: what matters is room left */
	return r->cls == 4 ? (int)(100 - pct) : (int)pct;
}

void sd_finish(sd_state_t *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->nsup; i++) {
		sd_supply_t *r = &s->sup[i];
		if (!r->desc[0] && r->level == SD_NONE && r->max == SD_NONE)
			continue; /* a row of nothing we can show */
		r->pct = supply_pct(r);
		s->sup[k++] = *r;
	}
	s->nsup = k;
}

const char *sd_state_word(const sd_state_t *s)
{
	if (s->err_valid && (s->err_bits & (SD_ERR_NO_PAPER | SD_ERR_NO_TONER | SD_ERR_DOOR_OPEN |
					    SD_ERR_JAMMED | SD_ERR_SERVICE | SD_ERR_OUTPUT_FULL |
					    SD_ERR_MARKER_MISSING | SD_ERR_INPUT_MISSING |
					    SD_ERR_OUTPUT_MISSING)))
		return "error";
	if ((s->err_valid && (s->err_bits & SD_ERR_OFFLINE)) || s->dev_status == 5)
		return "offline";
	if (s->prt_status == 4)
		return "printing";
	if (s->prt_status == 5)
		return "warmup";
	if (s->dev_status == 3 || (s->err_valid && s->err_bits))
		return "warning";
	if (s->prt_status == 3 || s->dev_status == 2)
		return "idle";
	return "unknown";
}

void sd_err_names(uint32_t bits, char *buf, size_t size)
{
	size_t o = 0;
	if (size == 0)
		return;
	buf[0] = '\0';
	for (unsigned b = 0; b < SD_ERR_BITS; b++) {
		if (!(bits & (1u << b)))
			continue;
		int n = snprintf(buf + o, size - o, "%s%s", o ? "," : "", err_names[b]);
		if (n < 0 || (size_t)n >= size - o)
			break;
		o += (size_t)n;
	}
}

static const char *class_word(int c)
{
	return c == 3 ? "consumed" : c == 4 ? "receptacle" : "other";
}

static const char *severity_word(int v)
{
	return v == 3 ? "critical" : v == 4 ? "warning" : v == 5 ? "warning-event" : "other";
}

static const char *dev_word(int v)
{
	static const char *const w[] = { "", "unknown", "running", "warning", "testing", "down" };
	return v >= 1 && v <= 5 ? w[v] : "";
}

static const char *prt_word(int v)
{
	static const char *const w[] = { "", "other", "unknown", "idle", "printing", "warmup" };
	return v >= 1 && v <= 5 ? w[v] : "";
}

static json_t *num_or_null(int ok, json_int_t v)
{
	return ok ? json_integer(v) : json_null();
}

static json_t *supply_json(const sd_supply_t *r)
{
	const char *lt = r->level == SD_LEVEL_SOME ? "some remaining"
			 : r->level == SD_LEVEL_UNKNOWN ? "unknown"
			 : r->level == SD_LEVEL_OTHER ? "other" : "";
	json_t *j = json_pack("{s:i,s:s,s:s,s:i,s:i}", "index", (int)r->index, "description",
			      r->desc, "class", class_word(r->cls), "type", r->type, "unit",
			      r->unit);
	json_object_set_new(j, "max", num_or_null(r->max != SD_NONE, r->max));
	json_object_set_new(j, "level", num_or_null(r->level != SD_NONE, r->level));
	if (lt[0])
		json_object_set_new(j, "level_text", json_string(lt));
	json_object_set_new(j, "percent", num_or_null(r->pct >= 0, r->pct));
	return j;
}

json_t *sd_json(const sd_state_t *s)
{
	char errs[512];
	json_t *j = json_object(), *sup = json_array(), *al = json_array(), *el = json_array();
	sd_err_names(s->err_valid ? s->err_bits : 0, errs, sizeof(errs));
	for (char *p = errs, *e; *p; p = e + (*e != '\0')) {
		e = p + strcspn(p, ",");
		json_array_append_new(el, json_stringn(p, (size_t)(e - p)));
	}
	json_object_set_new(j, "state", json_string(sd_state_word(s)));
	json_object_set_new(j, "sysdescr", json_string(s->sysdescr));
	json_object_set_new(j, "uptime_s",
			    num_or_null(s->uptime_ticks >= 0, s->uptime_ticks / 100));
	json_object_set_new(j, "device_status", json_string(dev_word(s->dev_status)));
	json_object_set_new(j, "printer_status", json_string(prt_word(s->prt_status)));
	json_object_set_new(j, "error_bits", num_or_null(s->err_valid, s->err_bits));
	json_object_set_new(j, "errors", el);
	json_object_set_new(j, "pages", num_or_null(s->pages >= 0, s->pages));
	json_object_set_new(j, "serial", json_string(s->serial));
	for (size_t i = 0; i < s->nsup; i++)
		json_array_append_new(sup, supply_json(&s->sup[i]));
	for (size_t i = 0; i < s->nalert; i++)
		json_array_append_new(al, json_pack("{s:s,s:i,s:s}", "severity",
						    severity_word(s->alert[i].severity), "code",
						    s->alert[i].code, "description",
						    s->alert[i].desc));
	json_object_set_new(j, "supplies", sup);
	json_object_set_new(j, "printer_alerts", al);
	return j;
}

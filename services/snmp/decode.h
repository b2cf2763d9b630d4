/* snmp_decode: what a printer's SNMP answers mean (PrinterLogicServiceSNMP).
 *
 * Pure: no net-snmp, no I/O. The poller turns each variable binding into
 * an sd_vb_t and feeds it here; every value is untrusted (printers get
 * types, rows, units and charsets wrong in the wild), so each one is
 * checked for its type and range, never trusted, and an odd one is
 * dropped or marked unknown. Fuzzed by tests/fuzz/fuzz_snmp_decode.c.
 *
 * The OIDs (numeric: Debian ships no IETF MIB files, and we load none):
 *   sysDescr.0, sysUpTime.0 (SNMPv2-MIB); hrDeviceStatus.1,
 *   hrPrinterStatus.1, hrPrinterDetectedErrorState.1 (HOST-RESOURCES-MIB);
 *   prtGeneralSerialNumber.1, prtMarkerLifeCount.1.1, prtMarkerSupplies
 *   columns and prtAlertTable columns (Printer-MIB, RFC 3805). */
#ifndef SNMP_DECODE_H
#define SNMP_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define SD_MAX_SUPPLIES 32
#define SD_MAX_ALERTS 32
#define SD_TEXT_MAX 128
#define SD_OID_MAX 32

/* The value types we tell apart (the poller maps ASN.1 tags onto them). */
enum {
	SD_T_INT = 1,	 /* INTEGER */
	SD_T_STR,	 /* OCTET STRING */
	SD_T_OID,	 /* OBJECT IDENTIFIER */
	SD_T_TICKS,	 /* TimeTicks */
	SD_T_COUNTER,	 /* Counter32, Counter64 */
	SD_T_GAUGE,	 /* Gauge32 / Unsigned32 */
	SD_T_NULL,	 /* NULL */
	SD_T_NOSUCH,	 /* noSuchObject, noSuchInstance, endOfMibView */
	SD_T_OTHER,	 /* anything else (IpAddress, Opaque, ...) */
};

typedef struct {
	const uint32_t *oid;
	size_t oidlen;
	int type;
	int64_t num;	    /* INT, TICKS, COUNTER, GAUGE */
	const uint8_t *str; /* STR: bytes (not NUL-terminated) */
	size_t len;
} sd_vb_t;

/* hrPrinterDetectedErrorState bits, first octet's top bit first. */
enum {
	SD_ERR_LOW_PAPER = 1u << 0,
	SD_ERR_NO_PAPER = 1u << 1,
	SD_ERR_LOW_TONER = 1u << 2,
	SD_ERR_NO_TONER = 1u << 3,
	SD_ERR_DOOR_OPEN = 1u << 4,
	SD_ERR_JAMMED = 1u << 5,
	SD_ERR_OFFLINE = 1u << 6,
	SD_ERR_SERVICE = 1u << 7,
	SD_ERR_INPUT_MISSING = 1u << 8,
	SD_ERR_OUTPUT_MISSING = 1u << 9,
	SD_ERR_MARKER_MISSING = 1u << 10,
	SD_ERR_OUTPUT_NEAR_FULL = 1u << 11,
	SD_ERR_OUTPUT_FULL = 1u << 12,
	SD_ERR_INPUT_EMPTY = 1u << 13,
	SD_ERR_OVERDUE_PM = 1u << 14,
	SD_ERR_BITS = 15,
};

/* Supply levels' special values (RFC 3805 prtMarkerSuppliesLevel). */
#define SD_LEVEL_OTHER (-1)
#define SD_LEVEL_UNKNOWN (-2)
#define SD_LEVEL_SOME (-3)
#define SD_NONE (-100) /* not (validly) reported */

typedef struct {
	uint32_t index;		 /* prtMarkerSuppliesIndex */
	char desc[SD_TEXT_MAX];	 /* UTF-8, printable */
	int cls;		 /* 3 consumed, 4 receptacle (fills up), else other */
	int type;		 /* prtMarkerSuppliesType (toner 3, wasteToner 4, ...) */
	int unit;		 /* prtMarkerSuppliesSupplyUnit (19 = percent) */
	long max;		 /* capacity, or -1/-2, or SD_NONE */
	long level;		 /* level, -1/-2/-3, or SD_NONE */
	int pct;		 /* 0..100 remaining (receptacles: room left); -1 unknown */
} sd_supply_t;

typedef struct {
	uint32_t index;
	int severity; /* 1 other, 3 critical, 4 warning, 5 warningBinaryChangeEvent */
	int code;     /* prtAlertCode */
	char desc[SD_TEXT_MAX];
} sd_alert_t;

typedef struct {
	char sysdescr[SD_TEXT_MAX * 2];
	int64_t uptime_ticks;	 /* -1: not reported */
	int dev_status;		 /* hrDeviceStatus 1..5, or 0 */
	int prt_status;		 /* hrPrinterStatus 1..5, or 0 */
	int err_valid;
	uint32_t err_bits;	 /* SD_ERR_* */
	int64_t pages;		 /* prtMarkerLifeCount, -1: not reported */
	char serial[SD_TEXT_MAX];
	sd_supply_t sup[SD_MAX_SUPPLIES];
	size_t nsup;
	sd_alert_t alert[SD_MAX_ALERTS];
	size_t nalert;
	unsigned dropped; /* values refused (wrong type, out of range, no room) */
} sd_state_t;

void sd_init(sd_state_t *s);
/* Take one binding. Returns 1 used, 0 not ours (an OID we did not ask
 * about), -1 ours but refused (counted in s->dropped). */
int sd_feed(sd_state_t *s, const sd_vb_t *vb);
/* After the last binding: percentages, and supplies without any usable
 * field removed. */
void sd_finish(sd_state_t *s);

/* The printer's state in one word: "printing", "idle", "warmup",
 * "offline", "down", "error" (an error bit that stops printing),
 * "warning" (one that does not), or "unknown". */
const char *sd_state_word(const sd_state_t *s);
/* Names of the set error bits, comma-separated ("noPaper,jammed"). */
void sd_err_names(uint32_t bits, char *buf, size_t size);
/* Printable UTF-8 from untrusted bytes: valid UTF-8 is kept (control
 * characters become '?'), anything else is read as ISO 8859-1; trailing
 * NULs and blanks go. Always NUL-terminated; cut at a character
 * boundary. */
void sd_text(const uint8_t *in, size_t len, char *out, size_t size);

/* The whole state as JSON (the status store's and plsc's shape). */
json_t *sd_json(const sd_state_t *s);

/* The OIDs the poller asks for. */
extern const uint32_t sd_oid_sysdescr[], sd_oid_uptime[], sd_oid_devstatus[],
	sd_oid_prtstatus[], sd_oid_errstate[], sd_oid_pages[], sd_oid_serial[];
extern const size_t sd_oid_sysdescr_len, sd_oid_uptime_len, sd_oid_devstatus_len,
	sd_oid_prtstatus_len, sd_oid_errstate_len, sd_oid_pages_len, sd_oid_serial_len;
/* Table columns walked with GETBULK/GETNEXT: supplies 4,5,6,7,8,9, alerts
 * 2,7,8. sd_columns[i] is a prefix of sd_column_len[i] sub-ids. */
#define SD_NCOLUMNS 9
extern const uint32_t sd_columns[SD_NCOLUMNS][12];
extern const size_t sd_column_len[SD_NCOLUMNS];
/* 1 when oid lies under column i (a walk goes on), else 0. */
int sd_in_column(size_t i, const uint32_t *oid, size_t oidlen);

#endif

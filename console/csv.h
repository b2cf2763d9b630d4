/* console/csv.c: CSV text for the console's exports (GET
 * /api/v1/users.csv, /api/v1/history.csv). RFC 4180: cells separated by
 * commas, rows ended by CRLF; a cell holding a comma, a quote, CR or LF
 * (or starting or ending with a space) is quoted, its quotes doubled.
 * Formula-injection guard (OWASP "CSV injection"): a cell starting with
 * = + - @, TAB or CR gets a leading ' so that a spreadsheet shows it as
 * text instead of running it. Nothing here stores or sends anything. */
#ifndef CS_CSV_H
#define CS_CSV_H

#include <jansson.h>
#include <stddef.h>

typedef struct {
	char *p; /* NUL-terminated; NULL until the first byte */
	size_t len, cap;
	int oom;     /* an allocation failed: the text is incomplete */
	int in_row;  /* a cell was written on the current row */
} cs_csv_t;

/* One cell (NULL is an empty cell). */
void cs_csv_cell(cs_csv_t *c, const char *s);
void cs_csv_cell_n(cs_csv_t *c, const char *s, size_t n);
/* A JSON value as a cell: a string as it is, a number in decimal, true or
 * false, null or NULL empty, an array's strings joined by spaces, any
 * other value as compact JSON. */
void cs_csv_json(cs_csv_t *c, const json_t *v);
/* End the current row (CRLF). */
void cs_csv_row_end(cs_csv_t *c);
/* Take the text (the caller frees it); NULL when an allocation failed.
 * c is empty again afterwards. */
char *cs_csv_take(cs_csv_t *c, size_t *len);
void cs_csv_free(cs_csv_t *c);

#endif

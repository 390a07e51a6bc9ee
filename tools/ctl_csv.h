/* ctl_csv.h -- RFC 4180 CSV: a record reader over a buffer that reports
   syntax errors by line number, and a writer that quotes where needed. */
#ifndef CTL_CSV_H_INCLUDED
#define CTL_CSV_H_INCLUDED

#include "dt.h"
#include "dt_err.h"

typedef struct _ctl_csv_t ctl_csv_t;

/* Read records from data (not copied; must outlive the reader). A UTF-8
   byte order mark at the start is skipped. */
ctl_csv_t *ctl_csv_new (const char *data, size_t size);
void ctl_csv_destroy (ctl_csv_t **self_p);

/* Read the next record. Returns 1 (record read; *line is the line it starts
   on, counting from 1), 0 at the end, or -1 with err (BAD_ARGS) naming the
   line of a syntax error. Lines that are entirely empty are skipped. Accepts
   LF and CRLF line ends; quoted fields may hold commas, quotes ("") and line
   breaks. */
int ctl_csv_next (ctl_csv_t *self, size_t *line, dt_err_t *err);

/* Bytes of data read so far. */
size_t ctl_csv_offset (ctl_csv_t *self);

/* The fields of the record last read; valid until the next call. */
size_t ctl_csv_count (ctl_csv_t *self);
const char *ctl_csv_field (ctl_csv_t *self, size_t index);

/* Write one record, quoting fields that hold a comma, quote, line break or
   leading/trailing blank; ends it with "\n". */
void ctl_csv_write (FILE *out, const char **fields, size_t count);

void ctl_csv_test (bool verbose);

#endif

/* ctl_import.h -- member CSV files: the rows of import.members read from a
   file with the header id,name,referrer,group (or hall / branch for group),
   and export.members rows written back as the same CSV. */
#ifndef CTL_IMPORT_H_INCLUDED
#define CTL_IMPORT_H_INCLUDED

#include "args.h"

/* Read a whole file ("-" = stdin) into *data (caller frees). 0 or -1 with err. */
int ctl_import_read (const char *path, char **data, size_t *size, dt_err_t *err);

/* Add "rows": [ { line, id, name, referrer, group } ] to args from CSV text.
   Every syntax error (quoting, field count, header) fails with err naming the
   line, and then nothing is added. *count receives the number of rows. */
int ctl_import_rows (const char *data, size_t size, args_t *args, size_t *count,
                     dt_err_t *err);

/* The rows of a CSV file read part by part, each of at most part_rows rows
   and about CTL_IMPORT_PART_BYTES (a request holds one part; PROTOCOL.md
   6.6: import.members in parts), checked as ctl_import_rows checks them: a
   file of millions of rows is never held packed whole. The reader reads the
   header at once (NULL with err when it is wrong); data must outlive it. */
#define CTL_IMPORT_PART_BYTES (3 * 1024 * 1024)
typedef struct {
    msgpack_sbuffer rows;       /* the packed row maps */
    size_t count;
    size_t first_line;          /* the file line of its first row */
} ctl_import_part_t;
void ctl_import_part_init (ctl_import_part_t *part);
void ctl_import_part_destroy (ctl_import_part_t *part);

typedef struct _ctl_import_reader_t ctl_import_reader_t;
ctl_import_reader_t *ctl_import_reader_new (const char *data, size_t size, size_t part_rows,
                                            dt_err_t *err);
void ctl_import_reader_destroy (ctl_import_reader_t **self_p);
/* The next part into *part (what it held is replaced): 1, 0 when the file
   has no more rows (part is empty), or -1 with err naming the line. */
int ctl_import_next (ctl_import_reader_t *self, ctl_import_part_t *part, dt_err_t *err);
/* How far into the file the reader is (0..100). */
int ctl_import_read_percent (ctl_import_reader_t *self);
/* Add "rows": the part's rows, to args. */
void ctl_import_part_put (const ctl_import_part_t *part, args_t *args);

/* Write rows (an array of row maps) as CSV with the header. */
void ctl_import_export (FILE *out, const msgpack_object *rows);
/* The same, the header only if header (a page after the first has none). */
void ctl_import_export_rows (FILE *out, const msgpack_object *rows, bool header);

void ctl_import_test (bool verbose);

#endif

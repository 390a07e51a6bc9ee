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

/* The rows of a CSV file in parts of at most part_rows rows and about
   CTL_IMPORT_PART_BYTES each (a request holds one part; PROTOCOL.md 6.6:
   import.members in parts), checked as ctl_import_rows checks them: *parts
   (destroy with ctl_import_parts_destroy) holds *nparts parts. 0 or -1. */
#define CTL_IMPORT_PART_BYTES (3 * 1024 * 1024)
typedef struct {
    msgpack_sbuffer rows;       /* the packed row maps */
    size_t count;
    size_t first_line;          /* the file line of its first row */
} ctl_import_part_t;
int ctl_import_parts (const char *data, size_t size, size_t part_rows,
                      ctl_import_part_t **parts, size_t *nparts, size_t *count,
                      dt_err_t *err);
void ctl_import_parts_destroy (ctl_import_part_t **parts, size_t nparts);
/* Add "rows": the part's rows, to args. */
void ctl_import_part_put (const ctl_import_part_t *part, args_t *args);

/* Write rows (an array of row maps) as CSV with the header. */
void ctl_import_export (FILE *out, const msgpack_object *rows);
/* The same, the header only if header (a page after the first has none). */
void ctl_import_export_rows (FILE *out, const msgpack_object *rows, bool header);

void ctl_import_test (bool verbose);

#endif

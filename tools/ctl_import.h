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

/* Write rows (an array of row maps) as CSV with the header. */
void ctl_import_export (FILE *out, const msgpack_object *rows);
/* The same, the header only if header (a page after the first has none). */
void ctl_import_export_rows (FILE *out, const msgpack_object *rows, bool header);

void ctl_import_test (bool verbose);

#endif

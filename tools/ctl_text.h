/* ctl_text.h -- display widths of UTF-8 text (CJK counts two columns, no
   locale needed) and aligned tables for the CLI's human output. Decoding is
   dt_utf8_decode's (proto/base/dt.h). */
#ifndef CTL_TEXT_H_INCLUDED
#define CTL_TEXT_H_INCLUDED

#include "dt.h"

/* Columns a code point takes on a terminal: 0 (control, combining), 1, or 2
   (East Asian Wide / Fullwidth, emoji). */
int ctl_text_cp_width (uint32_t cp);

/* Columns a UTF-8 string takes; an invalid byte counts as one column. */
size_t ctl_text_width (const char *s);

/* Print s padded with spaces to width columns (right-aligned if right). */
void ctl_text_pad (FILE *out, const char *s, size_t width, bool right);

/* A table of text cells printed with aligned columns, two spaces apart,
   without trailing blanks. Rows may have fewer cells than others. */
typedef struct _ctl_table_t ctl_table_t;

ctl_table_t *ctl_table_new (void);
void ctl_table_destroy (ctl_table_t **self_p);
/* Right-align a column (numbers). */
void ctl_table_right (ctl_table_t *self, size_t column);
/* Add a cell to the current row (printf-style). */
void ctl_table_add (ctl_table_t *self, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* End the current row. */
void ctl_table_row (ctl_table_t *self);
/* Add a whole row of cells, NULL-terminated, and end it. */
void ctl_table_cells (ctl_table_t *self, const char *first, ...);
/* Print every row; rows without cells print as empty lines. */
void ctl_table_print (ctl_table_t *self, FILE *out);
size_t ctl_table_rows (ctl_table_t *self);

void ctl_text_test (bool verbose);

#endif

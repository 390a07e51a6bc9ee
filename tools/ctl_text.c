/* ctl_text.c -- terminal widths of UTF-8 text and aligned tables. */
#include "ctl_text.h"

typedef struct {
    uint32_t first, last;
} s_range_t;

//  Combining marks and invisible format characters (the common blocks)
static const s_range_t s_zero [] = {
    { 0x0300, 0x036F }, { 0x0483, 0x0489 }, { 0x0591, 0x05BD }, { 0x0610, 0x061A },
    { 0x064B, 0x065F }, { 0x1160, 0x11FF }, { 0x1AB0, 0x1AFF }, { 0x1DC0, 0x1DFF },
    { 0x200B, 0x200F }, { 0x202A, 0x202E }, { 0x2060, 0x2064 }, { 0x20D0, 0x20FF },
    { 0xFE00, 0xFE0F }, { 0xFE20, 0xFE2F }, { 0xFEFF, 0xFEFF }, { 0xE0100, 0xE01EF }
};

//  East Asian Wide and Fullwidth, after Markus Kuhn's wcwidth, plus emoji
static const s_range_t s_wide [] = {
    { 0x1100, 0x115F }, { 0x2329, 0x232A }, { 0x2E80, 0x303E }, { 0x3040, 0xA4CF },
    { 0xAC00, 0xD7A3 }, { 0xF900, 0xFAFF }, { 0xFE10, 0xFE19 }, { 0xFE30, 0xFE6F },
    { 0xFF00, 0xFF60 }, { 0xFFE0, 0xFFE6 }, { 0x1F300, 0x1F64F }, { 0x1F900, 0x1F9FF },
    { 0x20000, 0x2FFFD }, { 0x30000, 0x3FFFD }
};

static bool
s_in (uint32_t cp, const s_range_t *ranges, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (cp >= ranges [i].first && cp <= ranges [i].last)
            return true;
    return false;
}

int
ctl_text_cp_width (uint32_t cp)
{
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
        return 0;
    if (cp < 0x300)
        return 1;
    if (s_in (cp, s_zero, sizeof (s_zero) / sizeof (s_zero [0])))
        return 0;
    return s_in (cp, s_wide, sizeof (s_wide) / sizeof (s_wide [0]))? 2: 1;
}

size_t
ctl_text_width (const char *s)
{
    size_t width = 0, left = strlen (s);
    while (left) {
        uint32_t cp;
        size_t len = dt_utf8_decode (s, left, &cp);
        width += len? ctl_text_cp_width (cp): 1;
        len = len? len: 1;
        s += len;
        left -= len;
    }
    return width;
}

void
ctl_text_pad (FILE *out, const char *s, size_t width, bool right)
{
    size_t have = ctl_text_width (s);
    size_t fill = have < width? width - have: 0;
    fprintf (out, "%*s%s%*s", right? (int) fill: 0, "", s, right? 0: (int) fill, "");
}

//  Tables

typedef struct {
    char **cells;
    size_t count;
} s_row_t;

struct _ctl_table_t {
    s_row_t *rows;
    size_t nrows, maxrows;
    bool right [32];            /* beyond 32 columns everything is left-aligned */
    bool open;                  /* the last row is still taking cells */
};

ctl_table_t *
ctl_table_new (void)
{
    ctl_table_t *self = calloc (1, sizeof (ctl_table_t));
    assert (self);
    return self;
}

void
ctl_table_destroy (ctl_table_t **self_p)
{
    assert (self_p);
    ctl_table_t *self = *self_p;
    if (self) {
        for (size_t r = 0; r < self->nrows; r++) {
            for (size_t c = 0; c < self->rows [r].count; c++)
                free (self->rows [r].cells [c]);
            free (self->rows [r].cells);
        }
        free (self->rows);
        free (self);
        *self_p = NULL;
    }
}

void
ctl_table_right (ctl_table_t *self, size_t column)
{
    if (column < sizeof (self->right))
        self->right [column] = true;
}

static s_row_t *
s_current (ctl_table_t *self)
{
    if (!self->open) {
        if (self->nrows == self->maxrows) {
            self->maxrows = self->maxrows? self->maxrows * 2: 16;
            self->rows = realloc (self->rows, self->maxrows * sizeof (s_row_t));
            assert (self->rows);
        }
        self->rows [self->nrows++] = (s_row_t) { NULL, 0 };
        self->open = true;
    }
    return &self->rows [self->nrows - 1];
}

static void
s_take (ctl_table_t *self, char *cell)
{
    s_row_t *row = s_current (self);
    row->cells = realloc (row->cells, (row->count + 1) * sizeof (char *));
    assert (row->cells);
    row->cells [row->count++] = cell;
}

void
ctl_table_add (ctl_table_t *self, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    char *cell;
    int rc = vasprintf (&cell, fmt, args);
    assert (rc >= 0);
    va_end (args);
    s_take (self, cell);
}

void
ctl_table_row (ctl_table_t *self)
{
    s_current (self);
    self->open = false;
}

void
ctl_table_cells (ctl_table_t *self, const char *first, ...)
{
    va_list args;
    va_start (args, first);
    for (const char *cell = first; cell; cell = va_arg (args, const char *)) {
        char *copy = strdup (cell);
        assert (copy);
        s_take (self, copy);
    }
    va_end (args);
    ctl_table_row (self);
}

size_t
ctl_table_rows (ctl_table_t *self)
{
    return self->nrows;
}

void
ctl_table_print (ctl_table_t *self, FILE *out)
{
    size_t ncols = 0;
    for (size_t r = 0; r < self->nrows; r++)
        ncols = self->rows [r].count > ncols? self->rows [r].count: ncols;
    size_t *widths = calloc (ncols + 1, sizeof (size_t));
    assert (widths);
    for (size_t r = 0; r < self->nrows; r++)
        for (size_t c = 0; c < self->rows [r].count; c++) {
            size_t width = ctl_text_width (self->rows [r].cells [c]);
            widths [c] = width > widths [c]? width: widths [c];
        }
    for (size_t r = 0; r < self->nrows; r++) {
        const s_row_t *row = &self->rows [r];
        //  Trailing empty cells would only print trailing blanks
        size_t last = row->count;
        while (last && !*row->cells [last - 1])
            last--;
        for (size_t c = 0; c < last; c++) {
            bool right = c < sizeof (self->right) && self->right [c];
            if (c)
                fputs ("  ", out);
            ctl_text_pad (out, row->cells [c], c + 1 < last || right? widths [c]: 0, right);
        }
        fputc ('\n', out);
    }
    free (widths);
}

//  Self-test

static char *
s_printed (ctl_table_t *table)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert (out);
    ctl_table_print (table, out);
    fclose (out);
    return text;
}

void
ctl_text_test (bool verbose)
{
    (void) verbose;
    //  Widths: ASCII 1, CJK and fullwidth 2, combining 0, bad bytes 1
    assert (ctl_text_width ("") == 0);
    assert (ctl_text_width ("h-cd-01") == 7);
    assert (ctl_text_width ("青羊堂口") == 8);
    assert (ctl_text_width ("成都分舵 (b-chengdu)") == 20);
    assert (ctl_text_width ("ＡＢ") == 4);
    assert (ctl_text_width ("한국") == 4);
    assert (ctl_text_width ("e\xcc\x81") == 1);             /* e + combining acute */
    assert (ctl_text_width ("\xff\xfe" "a") == 3);
    assert (ctl_text_width ("\xe4\xbd") == 2);              /* truncated sequence */
    assert (ctl_text_width ("🍶") == 2);
    assert (ctl_text_width ("é") == 1);
    //  Bytes that are not UTF-8 (dt_utf8_decode says which) take a column each
    assert (ctl_text_width ("\xc0\xaf") == 2 && ctl_text_width ("\xed\xa0\x80") == 3);

    //  Padding counts columns, not bytes
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    ctl_text_pad (out, "青羊", 6, false);
    fputc ('|', out);
    ctl_text_pad (out, "28", 4, true);
    fputc ('|', out);
    ctl_text_pad (out, "toolong", 3, false);
    fclose (out);
    assert (streq (text, "青羊  |  28|toolong"));
    free (text);

    //  A table lines up mixed ASCII and Chinese cells, no trailing blanks
    ctl_table_t *table = ctl_table_new ();
    ctl_table_right (table, 2);
    ctl_table_cells (table, "成都分舵 (b-chengdu)", "leader o-1", "12/200", NULL);
    ctl_table_cells (table, "  青羊堂口 (h-cd-01)", "leader m-7", "28/30", NULL);
    ctl_table_add (table, "b-%d", 2);
    ctl_table_add (table, "%s", "");
    ctl_table_row (table);
    ctl_table_row (table);
    assert (ctl_table_rows (table) == 4);
    text = s_printed (table);
    assert (streq (text,
        "成都分舵 (b-chengdu)  leader o-1  12/200\n"
        "  青羊堂口 (h-cd-01)  leader m-7   28/30\n"
        "b-2\n"
        "\n"));
    free (text);
    ctl_table_destroy (&table);
    assert (table == NULL);
}

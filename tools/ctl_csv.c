/* ctl_csv.c -- RFC 4180 CSV reading (with line numbers) and writing. */
#include "ctl_csv.h"

struct _ctl_csv_t {
    const char *data;
    size_t size;
    size_t pos;
    size_t line;                /* line of data [pos] */
    char *text;                 /* the record's fields, each NUL-terminated */
    size_t text_len, text_max;
    size_t *starts;             /* offset of each field in text */
    const char **fields;        /* pointers into text, built when complete */
    size_t count, max;
};

ctl_csv_t *
ctl_csv_new (const char *data, size_t size)
{
    ctl_csv_t *self = calloc (1, sizeof (ctl_csv_t));
    assert (self);
    self->data = data;
    self->size = size;
    self->line = 1;
    if (size >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
        self->pos = 3;
    return self;
}

size_t
ctl_csv_offset (ctl_csv_t *self)
{
    return self->pos;
}

void
ctl_csv_destroy (ctl_csv_t **self_p)
{
    assert (self_p);
    ctl_csv_t *self = *self_p;
    if (self) {
        free (self->text);
        free (self->starts);
        free (self->fields);
        free (self);
        *self_p = NULL;
    }
}

static void
s_put (ctl_csv_t *self, char c)
{
    if (self->text_len == self->text_max) {
        self->text_max = self->text_max? self->text_max * 2: 256;
        self->text = realloc (self->text, self->text_max);
        assert (self->text);
    }
    self->text [self->text_len++] = c;
}

static void
s_field_begin (ctl_csv_t *self)
{
    if (self->count == self->max) {
        self->max = self->max? self->max * 2: 8;
        self->starts = realloc (self->starts, self->max * sizeof (size_t));
        self->fields = realloc (self->fields, self->max * sizeof (char *));
        assert (self->starts && self->fields);
    }
    self->starts [self->count++] = self->text_len;
}

/* Length of the line end at pos (LF or CRLF), 0 if none. */
static size_t
s_eol (ctl_csv_t *self, size_t pos)
{
    if (pos < self->size && self->data [pos] == '\n')
        return 1;
    if (pos + 1 < self->size && self->data [pos] == '\r' && self->data [pos + 1] == '\n')
        return 2;
    return 0;
}

/* A quoted field; pos is on the opening quote. */
static int
s_quoted (ctl_csv_t *self, dt_err_t *err)
{
    size_t first_line = self->line;
    self->pos++;
    while (true) {
        if (self->pos == self->size)
            return dt_err_set (err, "BAD_ARGS", "line %zu: unterminated quoted field",
                               first_line);
        char c = self->data [self->pos++];
        if (c == '"') {
            if (self->pos < self->size && self->data [self->pos] == '"')
                self->pos++;
            else
                break;
        }
        else
        if (c == 0)
            return dt_err_set (err, "BAD_ARGS", "line %zu: NUL byte in field", self->line);
        else
        if (c == '\n')
            self->line++;
        s_put (self, c);
    }
    if (self->pos < self->size && self->data [self->pos] != ',' && !s_eol (self, self->pos))
        return dt_err_set (err, "BAD_ARGS", "line %zu: unexpected text after a closing quote",
                           self->line);
    return 0;
}

/* An unquoted field, up to a comma, a line end or the end. */
static int
s_plain (ctl_csv_t *self, dt_err_t *err)
{
    while (self->pos < self->size && self->data [self->pos] != ','
           && !s_eol (self, self->pos)) {
        char c = self->data [self->pos++];
        if (c == '"')
            return dt_err_set (err, "BAD_ARGS", "line %zu: quote inside an unquoted field "
                               "(quote the whole field and double the quote)", self->line);
        if (c == 0)
            return dt_err_set (err, "BAD_ARGS", "line %zu: NUL byte in field", self->line);
        s_put (self, c);
    }
    return 0;
}

int
ctl_csv_next (ctl_csv_t *self, size_t *line, dt_err_t *err)
{
    for (size_t eol; (eol = s_eol (self, self->pos)); self->pos += eol)
        self->line++;
    if (self->pos >= self->size)
        return 0;
    *line = self->line;
    self->count = self->text_len = 0;
    while (true) {
        s_field_begin (self);
        int rc = self->data [self->pos] == '"'? s_quoted (self, err): s_plain (self, err);
        if (rc)
            return -1;
        s_put (self, 0);
        if (self->pos < self->size && self->data [self->pos] == ',') {
            self->pos++;
            continue;
        }
        size_t eol = s_eol (self, self->pos);
        self->pos += eol;
        self->line += eol? 1: 0;
        break;
    }
    for (size_t i = 0; i < self->count; i++)
        self->fields [i] = self->text + self->starts [i];
    return 1;
}

size_t
ctl_csv_count (ctl_csv_t *self)
{
    return self->count;
}

const char *
ctl_csv_field (ctl_csv_t *self, size_t index)
{
    return index < self->count? self->fields [index]: NULL;
}

void
ctl_csv_write (FILE *out, const char **fields, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const char *field = fields [i]? fields [i]: "";
        size_t len = strlen (field);
        bool quote = strpbrk (field, ",\"\r\n") != NULL
                  || (len && (field [0] == ' ' || field [len - 1] == ' '));
        if (i)
            fputc (',', out);
        if (!quote) {
            fputs (field, out);
            continue;
        }
        fputc ('"', out);
        for (const char *p = field; *p; p++) {
            if (*p == '"')
                fputc ('"', out);
            fputc (*p, out);
        }
        fputc ('"', out);
    }
    fputc ('\n', out);
}

//  Self-test

/* Parse text and render each record as "LINE:f1|f2|..;" or the error. */
static char *
s_parse (const char *text, size_t size)
{
    char *result = NULL;
    size_t result_size = 0;
    FILE *out = open_memstream (&result, &result_size);
    assert (out);
    dt_err_t err;
    dt_err_init (&err);
    ctl_csv_t *csv = ctl_csv_new (text, size);
    size_t line;
    int rc;
    while ((rc = ctl_csv_next (csv, &line, &err)) == 1) {
        fprintf (out, "%zu:", line);
        for (size_t i = 0; i < ctl_csv_count (csv); i++)
            fprintf (out, "%s%s", i? "|": "", ctl_csv_field (csv, i));
        fputc (';', out);
    }
    if (rc == -1)
        fprintf (out, "ERROR %s", err.message);
    ctl_csv_destroy (&csv);
    dt_err_reset (&err);
    fclose (out);
    return result;
}

static void
s_expect (const char *text, const char *expected)
{
    char *got = s_parse (text, strlen (text));
    if (!streq (got, expected)) {
        fprintf (stderr, "\ncsv %s: expected [%s], got [%s]\n", text, expected, got);
        assert (false);
    }
    free (got);
}

void
ctl_csv_test (bool verbose)
{
    (void) verbose;
    //  Plain, empty fields, no final line end, blank lines skipped
    s_expect ("id,name\nm-1,张三\n", "1:id|name;2:m-1|张三;");
    s_expect ("a,,c\n\n,\nx", "1:a||c;3:|;4:x;");
    s_expect ("", "");
    s_expect ("\n\n", "");
    //  CRLF, and a byte order mark before the header
    s_expect ("\xEF\xBB\xBFid,name\r\nm-1,x\r\n", "1:id|name;2:m-1|x;");
    //  Quotes: embedded commas, doubled quotes, line breaks (line numbers follow)
    s_expect ("\"a,b\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\nlast,1\n",
              "1:a,b|say \"hi\";2:two\nlines|z;4:last|1;");
    s_expect ("\"\",\"\"\r\n", "1:|;");
    s_expect ("\"x\r\ny\",1\r\nnext,2", "1:x\r\ny|1;3:next|2;");
    //  Syntax errors name the line
    s_expect ("id,name\nm-1,\"open\nm-2,x\n", "1:id|name;ERROR line 2: unterminated quoted field");
    s_expect ("a\nb\n\"q\"x,1\n", "1:a;2:b;ERROR line 3: unexpected text after a closing quote");
    s_expect ("a\n\nb\"c\n", "1:a;ERROR line 3: quote inside an unquoted field "
              "(quote the whole field and double the quote)");
    char *got = s_parse ("a\nb\0c\n", 6);
    assert (streq (got, "1:a;ERROR line 2: NUL byte in field"));
    free (got);

    //  Writer: quoting only where needed, and a round trip through the reader
    const char *fields [] = { "m-1", "张,三", "say \"hi\"", "two\nlines", " pad", "", "plain" };
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    ctl_csv_write (out, fields, 7);
    ctl_csv_write (out, fields, 1);
    fclose (out);
    assert (streq (text, "m-1,\"张,三\",\"say \"\"hi\"\"\",\"two\nlines\",\" pad\",,plain\n"
                         "m-1\n"));
    dt_err_t err;
    dt_err_init (&err);
    ctl_csv_t *csv = ctl_csv_new (text, size);
    size_t line;
    assert (ctl_csv_next (csv, &line, &err) == 1 && line == 1);
    assert (ctl_csv_count (csv) == 7);
    for (size_t i = 0; i < 7; i++)
        assert (streq (ctl_csv_field (csv, i), fields [i]));
    assert (ctl_csv_field (csv, 7) == NULL);
    assert (ctl_csv_next (csv, &line, &err) == 1 && line == 3);
    assert (ctl_csv_count (csv) == 1 && streq (ctl_csv_field (csv, 0), "m-1"));
    assert (ctl_csv_next (csv, &line, &err) == 0);
    ctl_csv_destroy (&csv);
    free (text);
    dt_err_reset (&err);
}

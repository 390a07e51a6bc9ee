/* dt_err.c -- errors with stable codes, messages and per-line details, each
   message kept as its template and parameters too. */
#include "dt_err.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

void
dt_err_init (dt_err_t *self)
{
    memset (self, 0, sizeof (*self));
}

void
dt_err_reset (dt_err_t *self)
{
    free (self->details);
    dt_err_init (self);
}

//  Conversions: one parser for the recorder, the template and a translation

/* One printf conversion: "%[n$][flags][width][.precision][length]conv". */
typedef struct {
    int argno;                  /* n of "%n$"; 0 when absent */
    int stars;                  /* '*' width and precision: an int argument each */
    int star_argno [2];         /* m of "*m$" for each; 0 when absent */
    char length [3];            /* "", "hh", "h", "l", "ll", "z", "j", "t", "L" */
    int precision;              /* ".n"; -1 when absent or '*' */
    char conv;                  /* one of diouxXcsfFeEgGp, or '%' */
    size_t size;                /* bytes from the '%' */
} s_spec_t;

/* A decimal then '$' at *p: its value (1..99), moving *p past it; else 0. */
static int
s_dollar (const char **p)
{
    const char *q = *p;
    int value = 0;
    while (isdigit ((unsigned char) *q) && value < 100)
        value = value * 10 + (*q++ - '0');
    if (*q != '$' || value < 1 || value > 99)
        return 0;
    *p = q + 1;
    return value;
}

/* The conversion at p (*p is '%'); false when it is not a known one. */
static bool
s_spec (const char *p, s_spec_t *spec)
{
    memset (spec, 0, sizeof (*spec));
    spec->precision = -1;
    const char *q = p + 1;
    if (*q == '%') {
        spec->conv = '%';
        spec->size = 2;
        return true;
    }
    spec->argno = s_dollar (&q);
    while (*q && strchr ("-+ #0'", *q))
        q++;
    for (int part = 0; part < 2; part++) {
        if (part == 1) {
            if (*q != '.')
                break;
            q++;
        }
        if (*q == '*') {
            q++;
            spec->star_argno [spec->stars++] = s_dollar (&q);
        }
        else {
            if (part == 1)
                spec->precision = 0;
            for (; isdigit ((unsigned char) *q); q++)
                if (part == 1 && spec->precision < 1000)
                    spec->precision = spec->precision * 10 + (*q - '0');
        }
    }
    static const char *lengths [] = { "hh", "h", "ll", "l", "z", "j", "t", "L", NULL };
    for (const char **length = lengths; *length; length++)
        if (strncmp (q, *length, strlen (*length)) == 0) {
            strcpy (spec->length, *length);
            q += strlen (*length);
            break;
        }
    if (!*q || !strchr ("diouxXcsfFeEgGp", *q))
        return false;
    spec->conv = *q++;
    spec->size = q - p;
    return true;
}

//  The recorder

/* Print one argument of args as the conversion spec (text at p) does. The
   va_list travels by pointer so that the caller's walk goes on after it.
   Returns the length, or -1 for a conversion the recorder does not take
   (then the arguments after it cannot be found). */
#define S_PRINT(type) do { \
    type value_ = va_arg (*args, type); \
    len = spec->stars == 0? snprintf (out, size, directive, value_) \
        : spec->stars == 1? snprintf (out, size, directive, star [0], value_) \
        : snprintf (out, size, directive, star [0], star [1], value_); \
} while (0)

static int
s_print_arg (const char *p, const s_spec_t *spec, va_list *args, char *out, size_t size)
{
    char directive [32];
    if (spec->argno || spec->size >= sizeof (directive))
        return -1;              /* the messages' formats number nothing */
    memcpy (directive, p, spec->size);
    directive [spec->size] = 0;
    int star [2] = { 0, 0 };
    for (int i = 0; i < spec->stars; i++)
        star [i] = va_arg (*args, int);
    const char *l = spec->length;
    int len = -1;
    if (strchr ("di", spec->conv)) {
        if (!*l || streq (l, "h") || streq (l, "hh"))   S_PRINT (int);
        else if (streq (l, "l"))                        S_PRINT (long);
        else if (streq (l, "ll"))                       S_PRINT (long long);
        else if (streq (l, "z"))                        S_PRINT (ssize_t);
        else if (streq (l, "j"))                        S_PRINT (intmax_t);
        else if (streq (l, "t"))                        S_PRINT (ptrdiff_t);
    }
    else
    if (strchr ("ouxX", spec->conv)) {
        if (!*l || streq (l, "h") || streq (l, "hh"))   S_PRINT (unsigned);
        else if (streq (l, "l"))                        S_PRINT (unsigned long);
        else if (streq (l, "ll"))                       S_PRINT (unsigned long long);
        else if (streq (l, "z"))                        S_PRINT (size_t);
        else if (streq (l, "j"))                        S_PRINT (uintmax_t);
        else if (streq (l, "t"))                        S_PRINT (ptrdiff_t);
    }
    else
    if (spec->conv == 'c' && !*l)
        S_PRINT (int);
    else
    if (spec->conv == 's' && !*l)
        S_PRINT (const char *);
    else
    if (strchr ("fFeEgG", spec->conv) && (!*l || streq (l, "l")))
        S_PRINT (double);
    else
    if (spec->conv == 'p' && !*l)
        S_PRINT (void *);
    return len;
}

/* Keep fmt and each conversion's text in tpl, and check that they give
   message back; else leave tpl empty (the message alone is sent). */
static void
s_record (dt_err_tpl_t *tpl, const char *message, const char *fmt, va_list args)
{
    memset (tpl, 0, sizeof (*tpl));
    //  A message passed on whole ("%s") has no template to translate
    if (strlen (fmt) >= sizeof (tpl->text) || streq (fmt, "%s"))
        return;
    char param [DT_ERR_MSG_MAX];
    va_list walk;               /* by pointer to s_print_arg, as va_list may be an array */
    va_copy (walk, args);
    for (const char *p = strchr (fmt, '%'); p; p = strchr (p, '%')) {
        s_spec_t spec;
        if (!s_spec (p, &spec))
            goto unkept;
        if (spec.conv != '%') {
            int len = s_print_arg (p, &spec, &walk, param, sizeof (param));
            if (len < 0 || (size_t) len >= sizeof (param))
                goto unkept;
            dt_utf8_sanitize (param);
            if (dt_err_param_add (tpl, param, strlen (param)))
                goto unkept;
        }
        p += spec.size;
    }
    va_end (walk);
    strcpy (tpl->text, fmt);
    dt_utf8_sanitize (tpl->text);
    char again [DT_ERR_MSG_MAX];
    if (dt_err_render (tpl->text, tpl, again, sizeof (again)) == 0 && streq (again, message))
        return;
    memset (tpl, 0, sizeof (*tpl));
    return;
unkept:
    va_end (walk);
    memset (tpl, 0, sizeof (*tpl));
}

int
dt_err_set (dt_err_t *self, const char *code, const char *fmt, ...)
{
    snprintf (self->code, sizeof (self->code), "%s", code);
    va_list args;
    va_start (args, fmt);
    vsnprintf (self->message, sizeof (self->message), fmt, args);
    va_end (args);
    dt_utf8_sanitize (self->message);
    va_start (args, fmt);
    s_record (&self->tpl, self->message, fmt, args);
    va_end (args);
    return -1;
}

/* The next detail slot, or NULL (counted as dropped) beyond the limit. */
static dt_err_detail_t *
s_detail_new (dt_err_t *self, uint32_t line)
{
    if (self->ndetails >= DT_ERR_DETAILS_MAX) {
        self->details_dropped++;
        return NULL;
    }
    dt_err_detail_t *grown = realloc (self->details,
                                      (self->ndetails + 1) * sizeof (dt_err_detail_t));
    assert (grown);
    self->details = grown;
    dt_err_detail_t *detail = &self->details [self->ndetails++];
    detail->line = line;
    return detail;
}

void
dt_err_detail (dt_err_t *self, uint32_t line, const char *fmt, ...)
{
    dt_err_detail_t *detail = s_detail_new (self, line);
    if (!detail)
        return;
    va_list args;
    va_start (args, fmt);
    vsnprintf (detail->message, sizeof (detail->message), fmt, args);
    va_end (args);
    dt_utf8_sanitize (detail->message);
    va_start (args, fmt);
    s_record (&detail->tpl, detail->message, fmt, args);
    va_end (args);
}

void
dt_err_detail_from (dt_err_t *self, uint32_t line, const dt_err_t *from)
{
    dt_err_detail_t *detail = s_detail_new (self, line);
    if (detail) {
        memcpy (detail->message, from->message, sizeof (detail->message));
        detail->tpl = from->tpl;
    }
}

bool
dt_err_is_set (const dt_err_t *self)
{
    return self->code [0] != 0;
}

void
dt_err_copy (dt_err_t *self, const dt_err_t *from)
{
    if (self == from)
        return;
    dt_err_reset (self);
    *self = *from;
    self->details = NULL;
    if (from->ndetails) {
        self->details = malloc (from->ndetails * sizeof (dt_err_detail_t));
        assert (self->details);
        memcpy (self->details, from->details, from->ndetails * sizeof (dt_err_detail_t));
    }
}

//  Templates

const char *
dt_err_param (const dt_err_tpl_t *tpl, size_t index)
{
    assert (index < tpl->nparams);
    const char *param = tpl->params;
    while (index--)
        param += strlen (param) + 1;
    return param;
}

int
dt_err_param_add (dt_err_tpl_t *tpl, const char *param, size_t len)
{
    size_t used = 0;
    for (size_t i = 0; i < tpl->nparams; i++)
        used += strlen (tpl->params + used) + 1;
    //  The params' text adds up to at most a message's (PROTOCOL.md 5.2.1)
    if (tpl->nparams >= DT_ERR_PARAMS_MAX || memchr (param, 0, len)
    ||  used - tpl->nparams + len > DT_ERR_MSG_MAX - 1)
        return -1;
    memcpy (tpl->params + used, param, len);
    tpl->params [used + len] = 0;
    tpl->nparams++;
    return 0;
}

/* Number the template's printf arguments: map [arg] is the index of the
   conversion (the param) argument arg + 1 is, or -1 for a '*' one.
   Returns how many, or -1 when the template numbers its own (never made
   by the recorder) or has not one conversion per param. */
static int
s_template_args (const dt_err_tpl_t *tpl, int map [3 * DT_ERR_PARAMS_MAX])
{
    int nargs = 0;
    size_t nconv = 0;
    for (const char *p = strchr (tpl->text, '%'); p; p = strchr (p, '%')) {
        s_spec_t spec;
        if (!s_spec (p, &spec) || spec.argno || nconv >= DT_ERR_PARAMS_MAX)
            return -1;
        p += spec.size;
        if (spec.conv == '%')
            continue;
        for (int i = 0; i < spec.stars; i++)
            map [nargs++] = -1;
        map [nargs++] = (int) nconv++;
    }
    return nconv == tpl->nparams? nargs: -1;
}

int
dt_err_render (const char *format, const dt_err_tpl_t *tpl, char *out, size_t size)
{
    int map [3 * DT_ERR_PARAMS_MAX];
    int nargs = s_template_args (tpl, map);
    if (nargs < 0 || size == 0)
        return -1;
    size_t at = 0, next = 0;
    for (const char *p = format; *p; ) {
        const char *piece = p;
        size_t len = 1;
        s_spec_t spec;
        if (*p != '%')
            p++;
        else
        if (!s_spec (p, &spec))
            return -1;
        else {
            p += spec.size;
            if (spec.conv != '%') {
                //  "%n$" names the template's n-th argument; else the next one
                size_t index = spec.argno? (spec.argno <= nargs? map [spec.argno - 1]: -1)
                                         : (int) next++;
                if (index >= tpl->nparams)
                    return -1;
                piece = dt_err_param (tpl, index);
                len = strlen (piece);
                //  "%.0s" lets a translation leave out a word it does not need
                if (spec.conv == 's' && spec.precision >= 0 && (size_t) spec.precision < len)
                    len = spec.precision;
            }
        }
        if (at + len >= size)
            return -1;
        memcpy (out + at, piece, len);
        at += len;
    }
    out [at] = 0;
    return 0;
}

bool
dt_err_retryable (const char *code)
{
    //  The one list: a new transient code goes here and nowhere else
    static const char *retryable [] = { "BUSY", "UNAVAILABLE", "INTERNAL", NULL };
    for (const char **name = retryable; code && *name; name++)
        if (streq (*name, code))
            return true;
    return false;
}

//  Self-test

/* The params of a template, joined with '|'. */
static const char *
s_test_params (const dt_err_tpl_t *tpl)
{
    static char joined [DT_ERR_MSG_MAX + DT_ERR_PARAMS_MAX];
    joined [0] = 0;
    for (size_t i = 0; i < tpl->nparams; i++) {
        if (i)
            strcat (joined, "|");
        strcat (joined, dt_err_param (tpl, i));
    }
    return joined;
}

void
dt_err_test (bool verbose)
{
    if (verbose)
        printf (" * dt_err: ");
    dt_err_t err;
    dt_err_init (&err);
    assert (!dt_err_is_set (&err));
    assert (dt_err_set (&err, "FULL", "hall %s is full: %d/%d seats", "h-1", 30, 30) == -1);
    assert (streq (err.code, "FULL"));
    assert (streq (err.message, "hall h-1 is full: 30/30 seats"));
    assert (streq (err.tpl.text, "hall %s is full: %d/%d seats"));
    assert (err.tpl.nparams == 3 && streq (s_test_params (&err.tpl), "h-1|30|30"));

    //  Every conversion the messages of the tree use (and a few more), each
    //  param the conversion's own text, so that the template gives the
    //  message back
    dt_err_set (&err, "X", "%s %.*s %d %i %u %ld %lu %lld %llu %zu %zd %x %c %03o %02x 100%%",
                "a", 2, "bcd", -1, 2, 3u, -4L, 5UL, -6LL, 7ULL, (size_t) 8, (ssize_t) -9,
                255u, 'z', 0600u, 0x0au);
    assert (streq (err.message, "a bc -1 2 3 -4 5 -6 7 8 -9 ff z 600 0a 100%"));
    assert (err.tpl.nparams == 15);
    assert (streq (s_test_params (&err.tpl), "a|bc|-1|2|3|-4|5|-6|7|8|-9|ff|z|600|0a"));
    char out [DT_ERR_MSG_MAX];
    assert (dt_err_render (err.tpl.text, &err.tpl, out, sizeof (out)) == 0
         && streq (out, err.message));
    dt_err_detail (&err, 1, "%" PRId64 " %" PRIu64 " %" PRIx64 " %" PRIu32 " %.20s %5s "
                   "%-3d| %.1f %g", (int64_t) -10, (uint64_t) 11, (uint64_t) 0xff,
                   (uint32_t) 12, "0123456789012345678901234", "ab", 7, 1.25, 0.5);
    const dt_err_detail_t *detail = &err.details [0];
    assert (streq (detail->message, "-10 11 ff 12 01234567890123456789    ab 7  | 1.2 0.5"));
    assert (streq (s_test_params (&detail->tpl), "-10|11|ff|12|01234567890123456789|   ab|"
                   "7  |1.2|0.5"));
    assert (dt_err_render (detail->tpl.text, &detail->tpl, out, sizeof (out)) == 0
         && streq (out, detail->message));
    dt_err_reset (&err);
    //  Not kept: a conversion the recorder does not take, too many params, a
    //  truncated message; the message itself stays right
    dt_err_set (&err, "X", "%s %Lf %s", "a", (long double) 1, "b");
    assert (streq (err.message, "a 1.000000 b") && !*err.tpl.text && err.tpl.nparams == 0);
    dt_err_set (&err, "X", "%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d", 1, 2, 3, 4, 5, 6, 7, 8, 9,
                0, 1, 2, 3, 4, 5, 6, 7);
    assert (streq (err.message, "12345678901234567") && !*err.tpl.text);
    char longer [DT_ERR_MSG_MAX + 10];
    memset (longer, 'x', sizeof (longer) - 1);
    longer [sizeof (longer) - 1] = 0;
    dt_err_set (&err, "X", "name %s", longer);
    assert (strlen (err.message) == DT_ERR_MSG_MAX - 1 && !*err.tpl.text);
    //  A decoder's params: at most 16, of at most 319 bytes in all
    dt_err_tpl_t tpl;
    memset (&tpl, 0, sizeof (tpl));
    assert (dt_err_param_add (&tpl, longer, DT_ERR_MSG_MAX - 1) == 0);
    assert (dt_err_param_add (&tpl, "", 0) == 0 && dt_err_param_add (&tpl, "x", 1) == -1);
    memset (&tpl, 0, sizeof (tpl));
    for (int i = 0; i < DT_ERR_PARAMS_MAX; i++)
        assert (dt_err_param_add (&tpl, "ab", 2) == 0);
    assert (dt_err_param_add (&tpl, "", 0) == -1 && tpl.nparams == DT_ERR_PARAMS_MAX);
    memset (&tpl, 0, sizeof (tpl));
    assert (dt_err_param_add (&tpl, "a\0b", 3) == -1 && tpl.nparams == 0);
    //  A message passed on whole has no template of its own
    dt_err_set (&err, "FULL", "%s", "hall h-1 is full");
    assert (streq (err.message, "hall h-1 is full") && !*err.tpl.text);
    //  Invalid UTF-8 in a param is sanitized as in the message
    dt_err_set (&err, "X", "name %s!", "a\xff" "b");
    assert (streq (err.message, "name a?b!") && streq (dt_err_param (&err.tpl, 0), "a?b"));

    //  A translation may reorder with %n$ (n counting the template's
    //  arguments, '*' ones included) and use any conversion letter
    dt_err_set (&err, "FULL", "%s would put %llu seats in %s (cap %u): %llu over",
                "move", 31ULL, "h-1", 30u, 1ULL);
    assert (dt_err_render ("%3$s 容量 %4$u：%1$s 将放入 %2$llu 个座位，超出 %5$llu",
                           &err.tpl, out, sizeof (out)) == 0);
    assert (streq (out, "h-1 容量 30：move 将放入 31 个座位，超出 1"));
    dt_err_set (&err, "X", "unknown %.*s in %s", 3, "tablex", "log");
    assert (err.tpl.nparams == 2 && streq (s_test_params (&err.tpl), "tab|log"));
    assert (dt_err_render ("%3$s 中有未知的 %2$.*1$s", &err.tpl, out, sizeof (out)) == 0
         && streq (out, "log 中有未知的 tab"));
    assert (dt_err_render ("%s 与 %.*s：100%%", &err.tpl, out, sizeof (out)) == 0
         && streq (out, "tab 与 log：100%"));
    assert (dt_err_render ("%.0s只有 %s", &err.tpl, out, sizeof (out)) == 0
         && streq (out, "只有 log"));
    //  A translation that does not fit the params is refused
    assert (dt_err_render ("%1$s %4$s", &err.tpl, out, sizeof (out)) == -1);
    assert (dt_err_render ("%1$s", &err.tpl, out, sizeof (out)) == -1);     /* a star */
    assert (dt_err_render ("%2$s", &err.tpl, out, sizeof (out)) == 0 && streq (out, "tab"));
    assert (dt_err_render ("%s %s %s", &err.tpl, out, sizeof (out)) == -1);
    assert (dt_err_render ("%1$s %w", &err.tpl, out, sizeof (out)) == -1);
    assert (dt_err_render ("%s %s", &err.tpl, out, 7) == -1);
    assert (dt_err_render ("%s %s", &err.tpl, out, 8) == 0 && streq (out, "tab log"));

    for (int line = 0; line < DT_ERR_DETAILS_MAX + 5; line++)
        dt_err_detail (&err, line, "bad row %d", line);
    assert (err.ndetails == DT_ERR_DETAILS_MAX);
    assert (err.details_dropped == 5);
    assert (streq (err.details [2].message, "bad row 2"));
    assert (streq (err.details [2].tpl.text, "bad row %d")
         && streq (dt_err_param (&err.details [2].tpl, 0), "2"));
    dt_err_t copy;
    dt_err_init (&copy);
    dt_err_copy (&copy, &err);
    assert (streq (copy.code, "X") && copy.ndetails == DT_ERR_DETAILS_MAX
         && copy.details != err.details && streq (copy.details [9].message, "bad row 9"));
    dt_err_reset (&err);
    dt_err_set (&copy, "FULL", "hall %s is full", "h-2");
    dt_err_detail_from (&err, 4, &copy);
    assert (err.ndetails == 1 && err.details [0].line == 4
         && streq (err.details [0].message, "hall h-2 is full")
         && streq (err.details [0].tpl.text, "hall %s is full"));
    dt_err_reset (&copy);
    dt_err_reset (&err);
    assert (!dt_err_is_set (&err) && err.details == NULL);
    //  Transient codes are retried, every decision is final
    assert (dt_err_retryable ("INTERNAL") && dt_err_retryable ("BUSY")
         && dt_err_retryable ("UNAVAILABLE"));
    assert (!dt_err_retryable ("FULL") && !dt_err_retryable ("DENIED")
         && !dt_err_retryable ("MALFORMED") && !dt_err_retryable ("")
         && !dt_err_retryable (NULL));
    if (verbose)
        printf ("OK\n");
}

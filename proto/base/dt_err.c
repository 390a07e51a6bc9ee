/* dt_err.c -- errors with stable codes, messages and per-line details. */
#include "dt_err.h"
#include <stdarg.h>

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

int
dt_err_set (dt_err_t *self, const char *code, const char *fmt, ...)
{
    snprintf (self->code, sizeof (self->code), "%s", code);
    va_list args;
    va_start (args, fmt);
    vsnprintf (self->message, sizeof (self->message), fmt, args);
    va_end (args);
    dt_utf8_sanitize (self->message);
    return -1;
}

void
dt_err_detail (dt_err_t *self, uint32_t line, const char *fmt, ...)
{
    if (self->ndetails >= DT_ERR_DETAILS_MAX) {
        self->details_dropped++;
        return;
    }
    dt_err_detail_t *grown = realloc (self->details,
                                      (self->ndetails + 1) * sizeof (dt_err_detail_t));
    assert (grown);
    self->details = grown;
    dt_err_detail_t *detail = &self->details [self->ndetails++];
    detail->line = line;
    va_list args;
    va_start (args, fmt);
    vsnprintf (detail->message, sizeof (detail->message), fmt, args);
    va_end (args);
    dt_utf8_sanitize (detail->message);
}

bool
dt_err_is_set (const dt_err_t *self)
{
    return self->code [0] != 0;
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
    for (int line = 0; line < DT_ERR_DETAILS_MAX + 5; line++)
        dt_err_detail (&err, line, "bad row %d", line);
    assert (err.ndetails == DT_ERR_DETAILS_MAX);
    assert (err.details_dropped == 5);
    assert (streq (err.details [2].message, "bad row 2"));
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

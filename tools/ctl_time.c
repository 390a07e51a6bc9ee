/* ctl_time.c -- ISO date and millisecond parsing, UTC formatting, through dt_time. */
#include "ctl_time.h"

int
ctl_time_parse (const char *text, int64_t *ms)
{
    return dt_time_parse ("UTC", text, ms);
}

const char *
ctl_time_format (int64_t ms, char *out, size_t size)
{
    dt_time_local_t tm;
    dt_time_local ("UTC", ms, &tm);
    snprintf (out, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.year, tm.month, tm.day,
              tm.hour, tm.minute, tm.second);
    return out;
}

void
ctl_time_test (bool verbose)
{
    (void) verbose;
    int64_t ms;
    assert (ctl_time_parse ("1970-01-01", &ms) == 0 && ms == 0);
    assert (ctl_time_parse ("2026-11-23", &ms) == 0 && ms == 1795392000000LL);
    assert (ctl_time_parse ("2026-11-23T10:00", &ms) == 0 && ms == 1795428000000LL);
    assert (ctl_time_parse ("2026-11-23 10:00:30", &ms) == 0 && ms == 1795428030000LL);
    assert (ctl_time_parse ("2026-11-23T10:00:30Z", &ms) == 0 && ms == 1795428030000LL);
    assert (ctl_time_parse ("2026-11-23T18:00+08:00", &ms) == 0 && ms == 1795428000000LL);
    assert (ctl_time_parse ("2026-11-23T05:30-04:30", &ms) == 0 && ms == 1795428000000LL);
    assert (ctl_time_parse ("2024-02-29", &ms) == 0 && ms == 1709164800000LL);
    assert (ctl_time_parse ("1795428000000", &ms) == 0 && ms == 1795428000000LL);
    assert (ctl_time_parse ("0", &ms) == 0 && ms == 0);
    //  Refused: impossible dates and times, junk, negative or huge numbers
    const char *bad [] = { "", "2026-13-01", "2026-02-29", "2025-04-31", "2026-11-00",
        "2026-11-23T24:00", "2026-11-23T10:60", "2026-11-23T10", "2026-11-23T10:00:61",
        "2026-11-23X", "2026-11-23T10:00+8", "26-11-23", "-5", "12a", "yesterday",
        "1234567890123456", "2026-11-23T10:00:30ZZ", NULL };
    for (const char **text = bad; *text; text++)
        if (ctl_time_parse (*text, &ms) == 0) {
            fprintf (stderr, "\ntime: %s parsed as %" PRId64 "\n", *text, ms);
            assert (false);
        }
    char out [32];
    assert (streq (ctl_time_format (1795428030123LL, out, sizeof (out)), "2026-11-23T10:00:30Z"));
    assert (streq (ctl_time_format (0, out, sizeof (out)), "1970-01-01T00:00:00Z"));
    assert (streq (ctl_time_format (-1, out, sizeof (out)), "1969-12-31T23:59:59Z"));
    //  UTC whatever zone was judged in last
    dt_time_format ("Asia/Shanghai", 0, out, sizeof (out));
    assert (streq (ctl_time_format (0, out, sizeof (out)), "1970-01-01T00:00:00Z"));
    assert (ctl_time_parse ("2026-11-23", &ms) == 0 && ms == 1795392000000LL);
    //  Round trip through the parser
    assert (ctl_time_parse (ctl_time_format (1709164800000LL, out, sizeof (out)), &ms) == 0
            && ms == 1709164800000LL);
}

/* ctl_time.c -- ISO date and millisecond parsing, UTC formatting. */
#include "ctl_time.h"

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
   (Howard Hinnant's days_from_civil: no timegm, no TZ). */
static int64_t
s_days (int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0? y: y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2? -3: 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int
s_month_days (int y, int m)
{
    static const int days [12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap? 29: days [m - 1];
}

/* Read exactly width digits at *p into *value. */
static bool
s_digits (const char **p, int width, int *value)
{
    *value = 0;
    for (int i = 0; i < width; i++, (*p)++) {
        if (!isdigit ((unsigned char) **p))
            return false;
        *value = *value * 10 + (**p - '0');
    }
    return true;
}

/* Milliseconds since the epoch: digits only, at most 15 of them. */
static int
s_millis (const char *text, int64_t *ms)
{
    size_t len = strspn (text, "0123456789");
    if (len == 0 || len > 15 || text [len])
        return -1;
    *ms = strtoll (text, NULL, 10);
    return 0;
}

/* The zone suffix: "", "Z", or +HH:MM / -HH:MM; offset in minutes. */
static int
s_zone (const char *p, int *minutes)
{
    int hh, mm;
    *minutes = 0;
    if (*p == 0 || streq (p, "Z"))
        return 0;
    if ((*p != '+' && *p != '-') || strlen (p) != 6 || p [3] != ':')
        return -1;
    int sign = *p++ == '-'? -1: 1;
    if (!s_digits (&p, 2, &hh) || *p++ != ':' || !s_digits (&p, 2, &mm) || hh > 23 || mm > 59)
        return -1;
    *minutes = sign * (hh * 60 + mm);
    return 0;
}

int
ctl_time_parse (const char *text, int64_t *ms)
{
    if (!strchr (text, '-'))
        return s_millis (text, ms);
    const char *p = text;
    int y, mo, d, h = 0, mi = 0, s = 0, zone;
    if (!s_digits (&p, 4, &y) || *p++ != '-' || !s_digits (&p, 2, &mo) || *p++ != '-'
    ||  !s_digits (&p, 2, &d))
        return s_millis (text, ms);
    if (*p == 'T' || *p == ' ') {
        p++;
        if (!s_digits (&p, 2, &h) || *p++ != ':' || !s_digits (&p, 2, &mi))
            return -1;
        if (*p == ':' && (p++, !s_digits (&p, 2, &s)))
            return -1;
    }
    if (s_zone (p, &zone) || mo < 1 || mo > 12 || d < 1 || d > s_month_days (y, mo)
    ||  h > 23 || mi > 59 || s > 59)
        return -1;
    int64_t seconds = s_days (y, mo, d) * 86400 + h * 3600 + mi * 60 + s - zone * 60;
    *ms = seconds * 1000;
    return 0;
}

const char *
ctl_time_format (int64_t ms, char *out, size_t size)
{
    time_t seconds = (time_t) (ms >= 0? ms / 1000: (ms - 999) / 1000);
    struct tm tm;
    if (!gmtime_r (&seconds, &tm) || !strftime (out, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf (out, size, "%" PRId64, ms);
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
    //  Round trip through the parser
    assert (ctl_time_parse (ctl_time_format (1709164800000LL, out, sizeof (out)), &ms) == 0
            && ms == 1709164800000LL);
}

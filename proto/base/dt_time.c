/* dt_time.c -- local time, calendar periods and time zones through glibc and tzdata. */
#include "dt_time.h"
#include <fcntl.h>
#include <unistd.h>

#define S_DAY       86400
#define S_WINDOW    (18 * 3600)     /* beyond any UTC offset the tz database has */

//  Civil calendar arithmetic (proleptic Gregorian, no time zone)

static int64_t
s_floor_div (int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days from 1970-01-01 to y-m-d (Howard Hinnant's days_from_civil). */
static int64_t
s_days (int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = s_floor_div (y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2? -3: 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The date of a day number (civil_from_days). */
static void
s_civil (int64_t days, int *year, int *month, int *day)
{
    days += 719468;
    int64_t era = s_floor_div (days, 146097);
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *day = (int) (doy - (153 * mp + 2) / 5 + 1);
    *month = (int) (mp < 10? mp + 3: mp - 9);
    *year = (int) (yoe + era * 400 + (*month <= 2));
}

/* ISO weekday of a day number: 1 = Monday; 1970-01-01 was a Thursday. */
static int
s_weekday (int64_t days)
{
    return (int) ((s_floor_div (days, 1) % 7 + 7 + 3) % 7) + 1;
}

static int
s_month_days (int y, int m)
{
    static const int days [12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap? 29: days [m - 1];
}

//  The zone in force: TZ is switched only when the zone judged in changes

static char s_zone [DT_TIME_ZONE_MAX + 1];
static bool s_zone_set;             /* s_zone holds the zone last asked for */
static bool s_zone_utc;             /* ... and it is judged as UTC */

bool
dt_time_zone_valid (const char *zone)
{
    if (!zone)
        return false;
    size_t len = strlen (zone);
    if (len == 0 || len > DT_TIME_ZONE_MAX || !isalpha ((unsigned char) zone [0])
    ||  strspn (zone, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789/_+-") != len)
        return false;
    //  No way out of the database; no file that follows the machine's own
    //  zone; no clock that counts leap seconds (time_t does not)
    if (strstr (zone, "..") || streq (zone, "localtime") || streq (zone, "posixrules")
    ||  strncmp (zone, "right/", 6) == 0)
        return false;
    //  Where glibc looks for TZ=":zone"
    const char *dir = getenv ("TZDIR");
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    char path [PATH_MAX];
    if (snprintf (path, sizeof (path), "%s/%s", dir, zone) >= (int) sizeof (path))
        return false;
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return false;
    char magic [4];
    bool valid = read (fd, magic, 4) == 4 && memcmp (magic, "TZif", 4) == 0;
    close (fd);
    return valid;
}

/* Make zone the one localtime_r judges in; false if it is judged as UTC
   (NULL, "UTC", or unknown), by arithmetic alone. */
static bool
s_zone_use (const char *zone)
{
    if (!zone || streq (zone, "UTC"))
        return false;
    if (s_zone_set && streq (zone, s_zone))
        return !s_zone_utc;
    s_zone_set = false;
    s_zone_utc = !dt_time_zone_valid (zone);
    if (!s_zone_utc) {
        char tz [DT_TIME_ZONE_MAX + 2];
        snprintf (tz, sizeof (tz), ":%s", zone);
        if (setenv ("TZ", tz, 1))
            return false;           //  Not cached: try again next time
        tzset ();
    }
    snprintf (s_zone, sizeof (s_zone), "%s", zone);
    s_zone_set = true;
    return !s_zone_utc;
}

/* Seconds east of UTC in force at t in the zone in use. */
static int32_t
s_offset (bool local, int64_t t)
{
    if (!local)
        return 0;
    time_t when = (time_t) t;
    struct tm tm;
    if (!localtime_r (&when, &tm))
        return 0;                   //  Beyond the years glibc can hold
    return (int32_t) tm.tm_gmtoff;
}

//  Wall clock to instants. A wall time W is local seconds since 1970-01-01
//  00:00 local. The offsets in force within S_WINDOW of W, as pieces of time
//  each with one offset, are all an answer can depend on.

typedef struct {
    int64_t from;                   /* first instant of the piece */
    int32_t offset;
} s_piece_t;

typedef struct {
    s_piece_t piece [3];
    int count;
} s_pieces_t;

/* The first instant in (lo, hi] whose offset is not `offset` (there is one). */
static int64_t
s_transition (bool local, int64_t lo, int64_t hi, int32_t offset)
{
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (s_offset (local, mid) == offset)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

/* The pieces around W: the offsets at W - S_WINDOW, W and W + S_WINDOW, and
   where they differ the transition between (tz rules never change twice in
   18 hours, so one transition per half is all there can be). */
static void
s_pieces (bool local, int64_t wall, s_pieces_t *pieces)
{
    int64_t at [3] = { wall - S_WINDOW, wall, wall + S_WINDOW };
    pieces->piece [0].from = INT64_MIN;
    pieces->piece [0].offset = s_offset (local, at [0]);
    pieces->count = 1;
    for (int i = 1; i < 3; i++) {
        int32_t before = pieces->piece [pieces->count - 1].offset;
        int32_t offset = s_offset (local, at [i]);
        if (offset != before) {
            s_piece_t *piece = &pieces->piece [pieces->count++];
            piece->from = s_transition (local, at [i - 1], at [i], before);
            piece->offset = offset;
        }
    }
}

static int64_t
s_piece_end (const s_pieces_t *pieces, int i)
{
    return i + 1 < pieces->count? pieces->piece [i + 1].from: INT64_MAX;
}

/* The first instant whose wall time is W or later. */
static int64_t
s_first_at_or_after (bool local, int64_t wall)
{
    s_pieces_t pieces;
    s_pieces (local, wall, &pieces);
    for (int i = 0; i < pieces.count; i++) {
        int64_t start = wall - pieces.piece [i].offset;
        if (start < pieces.piece [i].from)
            start = pieces.piece [i].from;
        if (start < s_piece_end (&pieces, i))
            return start;
    }
    return wall - pieces.piece [pieces.count - 1].offset;
}

/* The instant of wall time W: its first occurrence, or in a gap the reading
   with the offset before the gap. */
static int64_t
s_wall_instant (bool local, int64_t wall)
{
    s_pieces_t pieces;
    s_pieces (local, wall, &pieces);
    for (int i = 0; i < pieces.count; i++) {
        int64_t t = wall - pieces.piece [i].offset;
        if (t >= pieces.piece [i].from && t < s_piece_end (&pieces, i))
            return t;
    }
    for (int i = 0; i + 1 < pieces.count; i++) {
        int64_t end = s_piece_end (&pieces, i);
        if (wall - pieces.piece [i].offset >= end && wall - pieces.piece [i + 1].offset < end)
            return wall - pieces.piece [i].offset;
    }
    return wall - pieces.piece [0].offset;
}

//  Local readings

/* Wall seconds of the instant t (seconds). */
static int64_t
s_wall (bool local, int64_t t, int32_t *offset)
{
    *offset = s_offset (local, t);
    return t + *offset;
}

void
dt_time_local (const char *zone, int64_t at, dt_time_local_t *out)
{
    bool local = s_zone_use (zone);
    int32_t offset;
    int64_t wall = s_wall (local, s_floor_div (at, 1000), &offset);
    int64_t days = s_floor_div (wall, S_DAY);
    int64_t secs = wall - days * S_DAY;
    s_civil (days, &out->year, &out->month, &out->day);
    out->hour = (int) (secs / 3600);
    out->minute = (int) (secs / 60 % 60);
    out->second = (int) (secs % 60);
    out->weekday = s_weekday (days);
    out->offset = offset;
}

static const char *
s_format (const char *zone, int64_t at, bool seconds, char *out, size_t size)
{
    dt_time_local_t tm;
    dt_time_local (zone, at, &tm);
    int32_t offset = tm.offset < 0? -tm.offset: tm.offset;
    char secs [8] = "";
    if (seconds)
        snprintf (secs, sizeof (secs), ":%02d", tm.second);
    snprintf (out, size, "%04d-%02d-%02d %02d:%02d%s %c%02d:%02d", tm.year, tm.month,
              tm.day, tm.hour, tm.minute, secs, tm.offset < 0? '-': '+',
              (int) (offset / 3600), (int) (offset / 60 % 60));
    return out;
}

const char *
dt_time_format (const char *zone, int64_t at, char *out, size_t size)
{
    return s_format (zone, at, false, out, size);
}

const char *
dt_time_format_s (const char *zone, int64_t at, char *out, size_t size)
{
    return s_format (zone, at, true, out, size);
}

//  Parsing

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
s_millis (const char *text, int64_t *at)
{
    size_t len = strspn (text, "0123456789");
    if (len == 0 || len > 15 || text [len])
        return -1;
    *at = strtoll (text, NULL, 10);
    return 0;
}

/* The offset suffix: "" (none), "Z", or +HH:MM / -HH:MM, in minutes. */
static int
s_suffix (const char *p, bool *explicit, int *minutes)
{
    int hh, mm;
    *minutes = 0;
    *explicit = *p != 0;
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
dt_time_parse (const char *zone, const char *text, int64_t *at)
{
    if (!text)
        return -1;
    if (!strchr (text, '-'))
        return s_millis (text, at);
    const char *p = text;
    int y, mo, d, h = 0, mi = 0, s = 0, minutes;
    bool timed = false, explicit;
    if (!s_digits (&p, 4, &y) || *p++ != '-' || !s_digits (&p, 2, &mo) || *p++ != '-'
    ||  !s_digits (&p, 2, &d))
        return -1;
    if (*p == 'T' || (*p == ' ' && isdigit ((unsigned char) p [1]))) {
        p++;
        timed = true;
        if (!s_digits (&p, 2, &h) || *p++ != ':' || !s_digits (&p, 2, &mi))
            return -1;
        if (*p == ':' && (p++, !s_digits (&p, 2, &s)))
            return -1;
        if (*p == ' ' && (p [1] == 'Z' || p [1] == '+' || p [1] == '-'))
            p++;
    }
    if (s_suffix (p, &explicit, &minutes) || mo < 1 || mo > 12 || d < 1
    ||  d > s_month_days (y, mo) || h > 23 || mi > 59 || s > 59)
        return -1;
    int64_t wall = s_days (y, mo, d) * S_DAY + h * 3600 + mi * 60 + s;
    int64_t seconds;
    if (explicit)
        seconds = wall - minutes * 60;
    else {
        bool local = s_zone_use (zone);
        seconds = timed? s_wall_instant (local, wall): s_first_at_or_after (local, wall);
    }
    *at = seconds * 1000;
    return 0;
}

//  Calendar periods

int
dt_period_parse (const char *name, dt_period_t *period)
{
    static const dt_period_t periods [] = { DT_PERIOD_DAY, DT_PERIOD_WEEK, DT_PERIOD_MONTH };
    for (size_t i = 0; name && i < sizeof (periods) / sizeof (periods [0]); i++)
        if (streq (name, dt_period_name (periods [i]))) {
            *period = periods [i];
            return 0;
        }
    return -1;
}

const char *
dt_period_name (dt_period_t period)
{
    return period == DT_PERIOD_DAY? "day": period == DT_PERIOD_WEEK? "week":
           period == DT_PERIOD_MONTH? "month": "?";
}

/* The first date (day number) of the period with the date `days`. */
static int64_t
s_period_first (dt_period_t period, int64_t days)
{
    if (period == DT_PERIOD_WEEK)
        return days - (s_weekday (days) - 1);
    if (period == DT_PERIOD_MONTH) {
        int y, m, d;
        s_civil (days, &y, &m, &d);
        return days - (d - 1);
    }
    return days;
}

/* The first date of the period after the one starting on `first`. */
static int64_t
s_period_next (dt_period_t period, int64_t first)
{
    if (period == DT_PERIOD_WEEK)
        return first + 7;
    if (period == DT_PERIOD_MONTH) {
        int y, m, d;
        s_civil (first, &y, &m, &d);
        return m == 12? s_days (y + 1, 1, 1): s_days (y, m + 1, 1);
    }
    return first + 1;
}

/* The period containing at (ms): its first date and its bounds in seconds.
   The period is found from the local date of at, then moved on while at is
   past its end: where clocks go back across midnight, an instant can read
   as the day before yet follow the next day's start. */
static void
s_period (const char *zone, dt_period_t period, int64_t at, int64_t *first, int64_t *start,
          int64_t *end)
{
    bool local = s_zone_use (zone);
    int64_t t = s_floor_div (at, 1000);
    int32_t offset;
    *first = s_period_first (period, s_floor_div (s_wall (local, t, &offset), S_DAY));
    for (int tries = 0; tries < 4; tries++) {
        *start = s_first_at_or_after (local, *first * S_DAY);
        int64_t next = s_period_next (period, *first);
        *end = s_first_at_or_after (local, next * S_DAY);
        if (t < *end)
            break;
        *first = next;
    }
}

int64_t
dt_period_start (const char *zone, dt_period_t period, int64_t at)
{
    int64_t first, start, end;
    s_period (zone, period, at, &first, &start, &end);
    return start * 1000;
}

int64_t
dt_period_end (const char *zone, dt_period_t period, int64_t at)
{
    int64_t first, start, end;
    s_period (zone, period, at, &first, &start, &end);
    return end * 1000;
}

void
dt_period_label (const char *zone, dt_period_t period, int64_t at, char *out, size_t size)
{
    int64_t first, start, end;
    s_period (zone, period, at, &first, &start, &end);
    int y, m, d;
    if (period == DT_PERIOD_WEEK) {
        //  The ISO week-numbering year is the year of the week's Thursday
        int64_t thursday = first + 3;
        s_civil (thursday, &y, &m, &d);
        int64_t week = (thursday - s_days (y, 1, 1)) / 7 + 1;
        snprintf (out, size, "%04d-W%02d", y, (int) week);
        return;
    }
    s_civil (first, &y, &m, &d);
    if (period == DT_PERIOD_MONTH)
        snprintf (out, size, "%04d-%02d", y, m);
    else
        snprintf (out, size, "%04d-%02d-%02d", y, m, d);
}

//  Self-test

#define S_H (3600 * 1000LL)

/* Parse text in zone, expecting the instant `expected`. */
static void
s_test_parse (const char *zone, const char *text, int64_t expected)
{
    int64_t at = -1;
    int rc = dt_time_parse (zone, text, &at);
    if (rc || at != expected)
        fprintf (stderr, "\ndt_time_parse (%s, %s): rc %d, %" PRId64 ", expected %" PRId64
                 "\n", zone, text, rc, at, expected);
    assert (rc == 0 && at == expected);
}

/* The period of kind `period` containing at is [start, end) and labelled
   label; so is every instant of it checked here: its first and last
   millisecond. The periods before and after meet it. */
static void
s_test_period (const char *zone, dt_period_t period, int64_t at, int64_t start, int64_t end,
               const char *label)
{
    char text [16];
    int64_t instants [] = { at, start, end - 1 };
    for (size_t i = 0; i < 3; i++) {
        int64_t s = dt_period_start (zone, period, instants [i]);
        int64_t e = dt_period_end (zone, period, instants [i]);
        dt_period_label (zone, period, instants [i], text, sizeof (text));
        if (s != start || e != end || !streq (text, label))
            fprintf (stderr, "\n%s %s at %" PRId64 ": [%" PRId64 ", %" PRId64 ") %s, expected "
                     "[%" PRId64 ", %" PRId64 ") %s\n", zone, dt_period_name (period),
                     instants [i], s, e, text, start, end, label);
        assert (s == start && e == end && streq (text, label));
    }
    assert (dt_period_end (zone, period, start - 1) == start);
    assert (dt_period_start (zone, period, end) == end);
}

static void
s_test_format (const char *zone, int64_t at, const char *minutes, const char *seconds)
{
    char out [40];
    if (!streq (dt_time_format (zone, at, out, sizeof (out)), minutes))
        fprintf (stderr, "\ndt_time_format (%s, %" PRId64 ") = %s, expected %s\n", zone, at,
                 out, minutes);
    assert (streq (out, minutes));
    assert (streq (dt_time_format_s (zone, at, out, sizeof (out)), seconds));
    //  What is printed parses back to the instant (to the second)
    int64_t back;
    assert (dt_time_parse (zone, out, &back) == 0 && back == at - at % 1000);
    assert (dt_time_parse ("UTC", out, &back) == 0 && back == at - at % 1000);
}

static void
s_test_zones (void)
{
    assert (dt_time_zone_valid ("Asia/Shanghai"));
    assert (dt_time_zone_valid ("America/New_York"));
    assert (dt_time_zone_valid ("Etc/GMT-8"));
    assert (dt_time_zone_valid ("UTC"));
    const char *bad [] = { "Mars/Olympus", "../etc/passwd", "Asia/../Asia/Shanghai",
        "/usr/share/zoneinfo/Asia/Shanghai", "", "Asia", "Asia/", "zone.tab", "tzdata.zi",
        "localtime", "posixrules", "right/Asia/Shanghai", "Asia/Shang hai", "asia/shanghai",
        "Zone/That/Is/Far/Too/Long/For/Any/Time/Zone/Database/To/Hold/Really", NULL };
    for (const char **zone = bad; *zone; zone++) {
        if (dt_time_zone_valid (*zone))
            fprintf (stderr, "\ndt_time_zone_valid (%s) is true\n", *zone);
        assert (!dt_time_zone_valid (*zone));
    }
    assert (!dt_time_zone_valid (NULL));
    //  $TZDIR is where the database is: an empty directory holds no zone
    char dir [] = "/tmp/duotang-tzdir-XXXXXX";
    assert (mkdtemp (dir));
    char *saved = getenv ("TZDIR")? strdup (getenv ("TZDIR")): NULL;
    setenv ("TZDIR", dir, 1);
    assert (!dt_time_zone_valid ("Asia/Shanghai"));
    if (saved)
        setenv ("TZDIR", saved, 1);
    else
        unsetenv ("TZDIR");
    free (saved);
    rmdir (dir);
    assert (dt_time_zone_valid ("Asia/Shanghai"));
    //  An unknown zone is judged as UTC
    char out [40];
    assert (streq (dt_time_format ("Mars/Olympus", 0, out, sizeof (out)),
                   "1970-01-01 00:00 +00:00"));

    dt_period_t period;
    assert (dt_period_parse ("day", &period) == 0 && period == DT_PERIOD_DAY);
    assert (dt_period_parse ("week", &period) == 0 && period == DT_PERIOD_WEEK);
    assert (dt_period_parse ("month", &period) == 0 && period == DT_PERIOD_MONTH);
    assert (dt_period_parse ("year", &period) == -1 && dt_period_parse ("Day", &period) == -1);
    assert (dt_period_parse (NULL, &period) == -1);
    assert (streq (dt_period_name (DT_PERIOD_WEEK), "week"));
}

static void
s_test_shanghai (void)
{
    const char *sh = "Asia/Shanghai";
    //  A promo at 23:59 and one at 00:01 fall on different days
    int64_t late = 1796140740000LL, early = 1796140860000LL;
    s_test_parse (sh, "2026-12-01 23:59", late);
    s_test_parse (sh, "2026-12-02 00:01", early);
    s_test_parse ("UTC", "2026-12-01T23:59+08:00", late);
    s_test_period (sh, DT_PERIOD_DAY, late, 1796054400000LL, 1796140800000LL, "2026-12-01");
    s_test_period (sh, DT_PERIOD_DAY, early, 1796140800000LL, 1796227200000LL, "2026-12-02");
    //  ... in UTC both are 2026-12-01
    char label [16];
    dt_period_label ("UTC", DT_PERIOD_DAY, early, label, sizeof (label));
    assert (streq (label, "2026-12-01"));
    //  Same week (2026-W49: Monday 2026-11-30), same month
    s_test_period (sh, DT_PERIOD_WEEK, late, 1795968000000LL, 1796572800000LL, "2026-W49");
    s_test_period (sh, DT_PERIOD_WEEK, early, 1795968000000LL, 1796572800000LL, "2026-W49");
    s_test_period (sh, DT_PERIOD_MONTH, late, 1796054400000LL, 1798732800000LL, "2026-12");

    //  ISO week over the year end: 2026-12-28 (Mon) .. 2027-01-03 (Sun) is
    //  2026-W53 (2026 starts on a Thursday, so it has 53 weeks); 2027-01-04
    //  starts 2027-W01
    int64_t w53 = 1798387200000LL, w01 = 1798992000000LL, hours = 24 * S_H;
    const char *days [] = { "2026-12-28", "2026-12-31", "2027-01-01", "2027-01-03", NULL };
    for (const char **day = days; *day; day++) {
        int64_t at;
        assert (dt_time_parse (sh, *day, &at) == 0);
        s_test_period (sh, DT_PERIOD_WEEK, at + 12 * S_H, w53, w01, "2026-W53");
    }
    s_test_period (sh, DT_PERIOD_WEEK, w01, w01, w01 + 7 * hours, "2027-W01");
    //  ... while the months and days split at the year end
    s_test_period (sh, DT_PERIOD_MONTH, 1798732800000LL - 1, 1798732800000LL - 31 * hours,
                   1798732800000LL, "2026-12");
    s_test_period (sh, DT_PERIOD_MONTH, 1798732800000LL, 1798732800000LL,
                   1798732800000LL + 31 * hours, "2027-01");
    s_test_period (sh, DT_PERIOD_DAY, 1798732800000LL - 1, 1798732800000LL - hours,
                   1798732800000LL, "2026-12-31");
    //  Week 1 can start in December: 2025-12-29 is 2026-W01; 2021-01-03 is 2020-W53
    int64_t at;
    assert (dt_time_parse (sh, "2025-12-31 10:00", &at) == 0);
    dt_period_label (sh, DT_PERIOD_WEEK, at, label, sizeof (label));
    assert (streq (label, "2026-W01"));
    assert (dt_time_parse (sh, "2021-01-03 10:00", &at) == 0);
    dt_period_label (sh, DT_PERIOD_WEEK, at, label, sizeof (label));
    assert (streq (label, "2020-W53"));
    assert (dt_time_parse (sh, "2027-12-31 10:00", &at) == 0);
    dt_period_label (sh, DT_PERIOD_WEEK, at, label, sizeof (label));
    assert (streq (label, "2027-W52"));

    //  29 February 2028: a day of its own, and February has 29 days
    int64_t feb29 = 1835366400000LL, mar1 = 1835452800000LL, feb1 = 1832947200000LL;
    s_test_parse (sh, "2028-02-29", feb29);
    s_test_period (sh, DT_PERIOD_DAY, feb29 + 20 * S_H, feb29, mar1, "2028-02-29");
    s_test_period (sh, DT_PERIOD_DAY, mar1, mar1, mar1 + hours, "2028-03-01");
    s_test_period (sh, DT_PERIOD_MONTH, feb29, feb1, mar1, "2028-02");
    assert (mar1 - feb1 == 29 * hours);
    s_test_period (sh, DT_PERIOD_WEEK, feb29, feb29 - hours, feb29 + 6 * hours, "2028-W09");
    assert (dt_time_parse (sh, "2027-02-29", &at) == -1);
    assert (dt_time_parse (sh, "2100-02-29", &at) == -1);
    s_test_parse ("UTC", "2000-02-29", 951782400000LL);
}

static void
s_test_dst (void)
{
    const char *ny = "America/New_York";
    int64_t hours = S_H;
    //  2026-03-08: clocks go from 02:00 EST to 03:00 EDT, a 23-hour day
    int64_t mar8 = 1772946000000LL, mar9 = 1773028800000LL;
    s_test_period (ny, DT_PERIOD_DAY, mar8 + 12 * hours, mar8, mar9, "2026-03-08");
    assert (mar9 - mar8 == 23 * hours);
    s_test_period (ny, DT_PERIOD_WEEK, mar8, 1772427600000LL, mar9, "2026-W10");
    assert (mar9 - 1772427600000LL == 167 * hours);
    s_test_format (ny, mar8 + 2 * hours - 1, "2026-03-08 01:59 -05:00",
                   "2026-03-08 01:59:59 -05:00");
    s_test_format (ny, mar8 + 2 * hours, "2026-03-08 03:00 -04:00", "2026-03-08 03:00:00 -04:00");
    //  02:30 does not exist that day: read with EST, it is 03:30 EDT
    s_test_parse (ny, "2026-03-08 02:30", 1772955000000LL);
    //  2026-11-01: 02:00 EDT back to 01:00 EST, a 25-hour day
    int64_t nov1 = 1793505600000LL, nov2 = 1793595600000LL;
    s_test_period (ny, DT_PERIOD_DAY, nov1 + 12 * hours, nov1, nov2, "2026-11-01");
    assert (nov2 - nov1 == 25 * hours);
    s_test_period (ny, DT_PERIOD_WEEK, nov1, 1792987200000LL, nov2, "2026-W44");
    assert (nov2 - 1792987200000LL == 169 * hours);
    //  01:30 happens twice: the first (EDT) unless the offset says otherwise
    s_test_parse (ny, "2026-11-01 01:30", 1793511000000LL);
    s_test_parse (ny, "2026-11-01 01:30-05:00", 1793514600000LL);
    s_test_format (ny, 1793511000000LL, "2026-11-01 01:30 -04:00", "2026-11-01 01:30:00 -04:00");
    s_test_format (ny, 1793514600000LL, "2026-11-01 01:30 -05:00", "2026-11-01 01:30:00 -05:00");
    //  The months around them keep their lengths in hours less or more one
    s_test_period (ny, DT_PERIOD_MONTH, mar8, 1772341200000LL, 1775016000000LL, "2026-03");
    assert (1775016000000LL - 1772341200000LL == (31 * 24 - 1) * hours);

    //  Europe/Berlin: 2026-03-29 is 23 hours, 2026-10-25 25 hours
    const char *berlin = "Europe/Berlin";
    s_test_period (berlin, DT_PERIOD_DAY, 1774738800000LL + 5 * hours, 1774738800000LL,
                   1774821600000LL, "2026-03-29");
    assert (1774821600000LL - 1774738800000LL == 23 * hours);
    s_test_period (berlin, DT_PERIOD_DAY, 1792879200000LL + 5 * hours, 1792879200000LL,
                   1792969200000LL, "2026-10-25");
    assert (1792969200000LL - 1792879200000LL == 25 * hours);
    s_test_format (berlin, 1792879200000LL, "2026-10-25 00:00 +02:00",
                   "2026-10-25 00:00:00 +02:00");

    //  America/Santiago 2026-09-06: 23:59:59 -04 is followed by 01:00 -03, so
    //  the day starts at 01:00 (04:00 UTC), and is 23 hours
    const char *scl = "America/Santiago";
    int64_t sep5 = 1788580800000LL, sep6 = 1788667200000LL, sep7 = 1788750000000LL;
    s_test_period (scl, DT_PERIOD_DAY, sep5 + 10 * hours, sep5, sep6, "2026-09-05");
    s_test_period (scl, DT_PERIOD_DAY, sep6, sep6, sep7, "2026-09-06");
    assert (sep6 - sep5 == 24 * hours && sep7 - sep6 == 23 * hours);
    s_test_parse (scl, "2026-09-06", sep6);
    s_test_format (scl, sep6, "2026-09-06 01:00 -03:00", "2026-09-06 01:00:00 -03:00");
    //  ... and 2026-04-04 goes from 23:59:59 -03 back to 23:00 -04: 25 hours
    s_test_period (scl, DT_PERIOD_DAY, 1775271600000LL, 1775271600000LL, 1775361600000LL,
                   "2026-04-04");
    assert (1775361600000LL - 1775271600000LL == 25 * hours);
    //  America/Havana 2026-03-08: 00:00 does not exist (01:00 CDT at 05:00
    //  UTC); 2026-11-01: midnight twice, the day starts at the first
    const char *hav = "America/Havana";
    s_test_period (hav, DT_PERIOD_DAY, 1772946000000LL + hours, 1772946000000LL,
                   1773028800000LL, "2026-03-08");
    s_test_period (hav, DT_PERIOD_DAY, 1793505600000LL + hours, 1793505600000LL,
                   1793595600000LL, "2026-11-01");
    s_test_period (hav, DT_PERIOD_MONTH, 1772946000000LL, 1772341200000LL,
                   1775016000000LL, "2026-03");
    //  Pacific/Apia skipped 2011-12-30 altogether: the 29th ends where the
    //  31st starts, and that date reads as the 31st's start
    const char *apia = "Pacific/Apia";
    s_test_period (apia, DT_PERIOD_DAY, 1325152800000LL + hours, 1325152800000LL,
                   1325239200000LL, "2011-12-29");
    s_test_period (apia, DT_PERIOD_DAY, 1325239200000LL, 1325239200000LL, 1325325600000LL,
                   "2011-12-31");
    s_test_parse (apia, "2011-12-30", 1325239200000LL);
}

static void
s_test_parse_format (void)
{
    //  Every form, in and out of a zone
    const char *sh = "Asia/Shanghai";
    int64_t at;
    s_test_parse ("UTC", "2026-12-01T12:18Z", 1796127480000LL);
    s_test_parse (sh, "2026-12-01 20:18", 1796127480000LL);
    s_test_parse (sh, "2026-12-01T20:18:30", 1796127510000LL);
    s_test_parse (sh, "2026-12-01 20:18 +08:00", 1796127480000LL);
    s_test_parse (sh, "2026-12-01 20:18:30Z", 1796156310000LL);
    s_test_parse (sh, "2026-12-01T07:18-05:00", 1796127480000LL);
    s_test_parse (sh, "2026-12-01", 1796054400000LL);
    s_test_parse (sh, "2026-12-01+00:00", 1796083200000LL);
    s_test_parse (sh, "1796127480000", 1796127480000LL);
    s_test_parse (sh, "0", 0);
    s_test_parse ("Asia/Kolkata", "2026-12-01 20:18", 1796136480000LL);
    s_test_format (sh, 1796127510123LL, "2026-12-01 20:18 +08:00", "2026-12-01 20:18:30 +08:00");
    s_test_format ("Asia/Kolkata", 1796136480000LL, "2026-12-01 20:18 +05:30",
                   "2026-12-01 20:18:00 +05:30");
    s_test_format ("UTC", 0, "1970-01-01 00:00 +00:00", "1970-01-01 00:00:00 +00:00");
    s_test_format (NULL, 1796127480000LL, "2026-12-01 12:18 +00:00",
                   "2026-12-01 12:18:00 +00:00");
    s_test_format ("America/New_York", -1000, "1969-12-31 18:59 -05:00",
                   "1969-12-31 18:59:59 -05:00");
    dt_time_local_t tm;
    dt_time_local (sh, 1796127510000LL, &tm);
    assert (tm.year == 2026 && tm.month == 12 && tm.day == 1 && tm.hour == 20);
    assert (tm.minute == 18 && tm.second == 30 && tm.weekday == 2 && tm.offset == 8 * 3600);

    //  Refused: impossible dates and times, junk, negative or huge numbers
    const char *bad [] = { "", "2026-13-01", "2026-02-29", "2025-04-31", "2026-11-00",
        "2026-11-23T24:00", "2026-11-23T10:60", "2026-11-23T10", "2026-11-23T10:00:61",
        "2026-11-23X", "2026-11-23T10:00+8", "26-11-23", "-5", "12a", "yesterday",
        "1234567890123456", "2026-11-23T10:00:30ZZ", "2026-11-23 ", "2026-11-23 Z",
        "2026-11-23T10:00  +08:00", "2026-11-23T10:00 ", "2026-11-23T10:00+24:00",
        "2026-11-23T10:00+08:60", "2026-11-23t10:00", NULL };
    for (const char **text = bad; *text; text++) {
        int64_t ms;
        if (dt_time_parse (sh, *text, &ms) == 0) {
            fprintf (stderr, "\ndt_time_parse: %s parsed as %" PRId64 "\n", *text, ms);
            assert (false);
        }
    }
    assert (dt_time_parse (sh, NULL, &at) == -1);

    //  Zones switch back and forth, each judged in its own; TZ changes only
    //  with the zone, and UTC leaves it alone
    char out [40];
    for (int i = 0; i < 3; i++) {
        assert (streq (dt_time_format (sh, 0, out, sizeof (out)), "1970-01-01 08:00 +08:00"));
        assert (streq (getenv ("TZ"), ":Asia/Shanghai"));
        assert (streq (dt_time_format ("America/New_York", 0, out, sizeof (out)),
                       "1969-12-31 19:00 -05:00"));
        assert (streq (dt_time_format ("UTC", 0, out, sizeof (out)),
                       "1970-01-01 00:00 +00:00"));
        assert (streq (getenv ("TZ"), ":America/New_York"));
    }
}

void
dt_time_test (bool verbose)
{
    (void) verbose;
    s_test_zones ();
    s_test_shanghai ();
    s_test_dst ();
    s_test_parse_format ();
}

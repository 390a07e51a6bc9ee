/* dt_time.h -- time zones and calendar periods: the only module that knows
   about them. Instants are int64 milliseconds since the epoch (UTC); calendar
   days, ISO weeks and months are local to an IANA zone of the tz database
   Debian ships (package tzdata, /usr/share/zoneinfo, or $TZDIR), read through
   glibc: the module sets TZ=":Zone" and calls tzset when the zone it judges in
   changes, then localtime_r. No offset is hard-coded and no TZif is parsed here.

   NOT THREAD-SAFE: the zone in force is the process's TZ. The hub, the node
   and duotangctl judge time from one thread only; keep it so. Anything else in
   the process that formats local time (localtime, strftime %Z) sees the zone
   last judged in. The zone "UTC" (or NULL) is computed without touching TZ.

   Every function takes the instant it judges at; none reads the clock.
   A zone should be checked with dt_time_zone_valid first (policy_set does);
   an unknown zone is judged as UTC. */
#ifndef DT_TIME_H_INCLUDED
#define DT_TIME_H_INCLUDED

#include "dt.h"

#define DT_TIME_ZONE_MAX 64         /* bytes of a zone name */

/* True only if zone names a zone of the tz database: 1..64 of
   [A-Za-z0-9/_+-], not starting with '/', no "..", not "localtime",
   "posixrules" or "right/..." (machine-dependent or leap-second clocks), and a
   readable file under $TZDIR (else /usr/share/zoneinfo) that starts "TZif". */
bool dt_time_zone_valid (const char *zone);

/* A local reading of an instant. */
typedef struct {
    int year, month, day;           /* 1..12, 1..31 */
    int hour, minute, second;
    int weekday;                    /* ISO: 1 = Monday .. 7 = Sunday */
    int32_t offset;                 /* seconds east of UTC in force */
} dt_time_local_t;

/* The local date and time of at in zone. */
void dt_time_local (const char *zone, int64_t at, dt_time_local_t *local);

/* Local time in zone, to the minute: "2026-12-01 20:18 +08:00". Returns out
   (28 bytes are enough). The offset drops any seconds (only LMT before 1900
   has them). */
const char *dt_time_format (const char *zone, int64_t at, char *out, size_t size);
/* The same with seconds: "2026-12-01 20:18:30 +08:00" (31 bytes). */
const char *dt_time_format_s (const char *zone, int64_t at, char *out, size_t size);

/* Parse "2026-12-01", "2026-12-01 20:18", "2026-12-01T20:18:30" (T or space),
   optionally followed by "Z" or "+08:00" / "-05:00" (a space may come before
   it when a time is given), or plain milliseconds since the epoch (1..15
   digits). An explicit offset wins; otherwise the time is local in zone. A
   date alone is the first instant of that local day (dt_period_start). A local
   time that occurs twice (clocks set back) is the first occurrence; one that
   does not exist (clocks set forward) is read with the offset in force before
   the gap, so 02:30 on a spring-forward day in New York is 03:30 EDT (as
   Python's zoneinfo with fold=0). Returns 0 with *at set, or -1. */
int dt_time_parse (const char *zone, const char *text, int64_t *at);

/* Calendar periods */
typedef enum {
    DT_PERIOD_DAY,
    DT_PERIOD_WEEK,                 /* ISO 8601: Monday to Sunday */
    DT_PERIOD_MONTH
} dt_period_t;

/* "day", "week", "month" -> *period: 0, or -1 for anything else. */
int dt_period_parse (const char *name, dt_period_t *period);
const char *dt_period_name (dt_period_t period);

/* The first instant of the period containing at, local to zone. A local
   period starts at the first instant whose local date is its first date or
   later: at local midnight, or where midnight does not exist (America/Santiago
   on 2026-09-06 goes from 23:59:59 to 01:00) at the end of the gap; where
   midnight occurs twice, at the first one. So days are 23, 24 or 25 hours,
   weeks 167..169, and periods tile time without gaps or overlaps. */
int64_t dt_period_start (const char *zone, dt_period_t period, int64_t at);
/* The first instant of the next period: the exclusive end of the one
   containing at. */
int64_t dt_period_end (const char *zone, dt_period_t period, int64_t at);

/* The label of the period containing at: "2026-12-01", "2026-W49" (ISO
   week-numbering year, so 2027-01-01 is in 2026-W53) or "2026-12". At least
   12 bytes. */
void dt_period_label (const char *zone, dt_period_t period, int64_t at, char *out,
                      size_t size);

void dt_time_test (bool verbose);

#endif

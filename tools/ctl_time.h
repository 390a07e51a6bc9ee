/* ctl_time.h -- times on the command line: parse ISO dates or milliseconds,
   format milliseconds since the epoch (always UTC, so output never depends on
   the machine's time zone). Both are dt_time in "UTC"; times local to the
   policy's zone are dt_time_parse / dt_time_format with that zone. */
#ifndef CTL_TIME_H_INCLUDED
#define CTL_TIME_H_INCLUDED

#include "dt_time.h"

/* Parse "2026-11-23", "2026-11-23T10:00", "2026-11-23T10:00:30" (a space may
   replace the T; UTC unless followed by Z or +HH:MM / -HH:MM), or a count of
   milliseconds since the epoch: dt_time_parse in UTC. Returns 0 with *ms set,
   or -1. */
int ctl_time_parse (const char *text, int64_t *ms);

/* Format ms as "2026-11-23T10:00:30Z" into out (at least 24 bytes). */
const char *ctl_time_format (int64_t ms, char *out, size_t size);

void ctl_time_test (bool verbose);

#endif

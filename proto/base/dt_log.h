/* dt_log.h -- the log of the hub and the node: one line per event on stderr
   (or a file reopened on SIGHUP), "2026-12-01T20:18:33.120+08:00 duotang-hub
   INFO: text" (ISO 8601), with a level threshold (-q, -v).

   The servers log with CZMQ's zsys_error/warning/notice/info/debug, and so do
   CZMQ's own actors (zauth). CZMQ writes its fixed format ("26-12-01 20:18:33
   I: ...") to its log stream; dt_log_open hands it a stream of its own that
   re-stamps each line, so every line in the log, ours and CZMQ's, has one
   format and one threshold. Under systemd (JOURNAL_STREAM names stderr) each
   line starts with its syslog priority "<3>" instead of a time stamp, which
   journald records itself. */
#ifndef DT_LOG_H_INCLUDED
#define DT_LOG_H_INCLUDED

#include "dt.h"
#include "dt_err.h"

typedef enum {
    DT_LOG_QUIET = -1,          /* errors and warnings only (-q) */
    DT_LOG_NORMAL = 0,          /* and notices, information */
    DT_LOG_VERBOSE = 1          /* and debug lines (-v) */
} dt_log_level_t;

/* Log as ident ("duotang-hub") at level to path (NULL: stderr), appending.
   Calls zsys_init. 0, or -1 with err when path cannot be opened. */
int dt_log_open (const char *ident, dt_log_level_t level, const char *path, dt_err_t *err);
/* Reopen the file (after logrotate moved it); 0 or -1 with err, the old file
   kept then. Nothing to do on stderr. */
int dt_log_reopen (dt_err_t *err);
/* The file logged to, or NULL for stderr. */
const char *dt_log_path (void);
/* Restore CZMQ's stream and close the file. */
void dt_log_close (void);

/* Format one CZMQ line ("YY-MM-DD HH:MM:SS L: [(ident) ]text") as a log line
   of ours into out (with its newline); false when the level is below the
   threshold. at_ms stamps it; journal selects the "<N>" form. For dt_log's
   stream and its test. */
bool dt_log_format (const char *line, size_t len, int64_t at_ms, bool journal, char *out,
                    size_t size);

void dt_log_test (bool verbose);

#endif

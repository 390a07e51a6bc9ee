/* dt_daemon.h -- what the hub and the node share as daemons: one server per
   data directory (DATADIR/lock), SIGHUP as "reload", and config files whose
   every key is known. */
#ifndef DT_DAEMON_H_INCLUDED
#define DT_DAEMON_H_INCLUDED

#include "dt.h"
#include "dt_err.h"

/* mkdir -p with mode 0700 for what it creates; 0 or -1 with errno. */
int dt_daemon_mkdirs (const char *dir);

/* Create datadir (and its parents) if missing and take DATADIR/lock: an
   exclusive flock held until the process exits, the file holding our pid.
   Returns the lock's fd, or -1 with err: "DATADIR is in use by duotang-hub
   pid 1234 (DATADIR/lock)" when another process holds it. */
int dt_daemon_lock (const char *datadir, dt_err_t *err);

/* Call fn (arg) on each SIGHUP (which would kill the process), from a thread
   of its own that waits for the signal: the serve loop is left alone, and fn
   may log (CZMQ's log is thread-safe) and dt_log_reopen. Call it before any
   other thread starts (zsys_init, the first socket): SIGHUP is blocked in
   every thread but that one. */
typedef void (dt_daemon_hup_fn) (void *arg);
void dt_daemon_hup_start (dt_daemon_hup_fn *fn, void *arg);
/* Stop that thread (before arg goes away). */
void dt_daemon_hup_stop (void);

/* Check every key of the ZPL file at path against known (NULL-terminated
   paths such as "hub/endpoint"). 0, or -1 with err naming the first unknown
   key and its line: "config.zpl line 3: unknown key hub/endpont (known:
   hub/datadir, hub/endpoint, ...)". */
int dt_daemon_config_check (const char *path, const char *const *known, dt_err_t *err);

void dt_daemon_test (bool verbose);

#endif

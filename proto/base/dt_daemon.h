/* dt_daemon.h -- what the hub and the node share as daemons: one server per
   data directory (DATADIR/lock), SIGHUP as "reload", and config files whose
   every key is known. */
#ifndef DT_DAEMON_H_INCLUDED
#define DT_DAEMON_H_INCLUDED

#include "dt.h"
#include "dt_err.h"
#include "dt_log.h"

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

/* Start a server process: reload on SIGHUP (before any thread starts), the
   log (dt_log_open), the lock of datadir, and the warning of insecure mode.
   Returns the lock for dt_daemon_finish, or -1 after saying why (on stderr,
   or in the log once it is open). */
int dt_daemon_start (const char *ident, dt_log_level_t level, const char *log_path,
                     const char *datadir, bool insecure, dt_daemon_hup_fn *reload);
/* After the serve loop (lock -1 after a failed start, too): stop the SIGHUP
   thread, close the log, release the lock. */
void dt_daemon_finish (int lock);

/* Check every key of the ZPL file at path against known (NULL-terminated
   paths such as "hub/endpoint"). 0, or -1 with err naming the first unknown
   key and its line: "config.zpl line 3: unknown key hub/endpont (known:
   hub/datadir, hub/endpoint, ...)". */
int dt_daemon_config_check (const char *path, const char *const *known, dt_err_t *err);

void dt_daemon_test (bool verbose);

#endif

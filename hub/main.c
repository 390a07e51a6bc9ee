/* main.c -- duotang-hub: command line, configuration, the serve loop, and
   --check, the invariant check of a store. */
#include "hub.h"
#include "check.h"
#include "backup.h"
#include "dt_daemon.h"
#include "dt_log.h"
#include "server.h"
#include <getopt.h>

/* Usage on out, then exit: -h prints it on stdout and succeeds, a usage
   error prints it on stderr and exits 2. */
static void
s_usage (FILE *out, int status)
{
    fprintf (out,
        "usage: duotang-hub [-d DATADIR] [-e ENDPOINT] [-c CONFIG] [--admin KEY.pub]\n"
        "                   [--log-keep N] [--insecure] [-l LOGFILE] [-v | -q] [-V] [-h]\n"
        "       duotang-hub --check DATADIR\n"
        "       duotang-hub [-d DATADIR] --backup DIR\n"
        "  -d, --datadir DIR     store, hub key pair and certificates (default ./var/hub)\n"
        "  -e, --endpoint EP     where clients and nodes connect (default tcp://127.0.0.1:7700;\n"
        "                        tcp://127.0.0.1:* picks a free port, written to DATADIR/endpoint)\n"
        "  -c, --config FILE     ZPL config file (hub/datadir, hub/endpoint, hub/log_keep ...)\n"
        "      --admin KEY.pub   register this public key as an hq-admin key at start\n"
        "      --log-keep N      change-log entries kept for nodes that catch up (default 2000000)\n"
        "      --insecure        no CURVE, every peer is hq-admin; loopback only (development)\n"
        "      --check DIR       check the tree's invariants in the store in DIR (stop the\n"
        "                        hub first) and print each violation; exit 0 if clean, 1 if\n"
        "                        not, 2 if the store cannot be read\n"
        "      --backup DIR      copy the store of DATADIR (the hub may be running: the copy\n"
        "                        is one consistent commit) and the hub's key pair into the\n"
        "                        new directory DIR; start a hub with -d DIR to restore\n"
        "  -l, --log FILE        log to FILE (appending; reopened on SIGHUP), not stderr\n"
        "  -v, --verbose         log debug lines too\n"
        "  -q, --quiet           log warnings and errors only\n"
        "  -V, --version         print the version\n"
        "  -h, --help            print this help\n"
        "One hub per data directory (DATADIR/lock names the pid that holds it). SIGTERM\n"
        "stops it; SIGHUP reopens the log file and re-reads the config file.\n"
        "Exit status: 0 stopped cleanly, 1 start failed, 2 usage error.\n");
    exit (status);
}

/* What SIGHUP needs: the config file and what it said at start. */
static struct {
    const char *config_path;
    hub_config_t from_file;     /* the file's values at start (defaults elsewhere) */
} s_daemon;

/* Read the config file as hub_config_load does, keys checked first. */
static int
s_config_read (const char *path, hub_config_t *config, dt_err_t *err)
{
    if (dt_daemon_config_check (path, hub_config_keys, err))
        return -1;
    return hub_config_load (config, path, err);
}

/* SIGHUP: reopen the log file, re-read the config file and say what changed.
   Every key of the config is read at start only (the store's map, the
   socket, the change log's size), so a change is reported, not applied. */
static void
s_reload (void *arg)
{
    (void) arg;
    dt_err_t err;
    dt_err_init (&err);
    char said [600] = "";
    if (!dt_log_path ())
        snprintf (said, sizeof (said), "logging to stderr, nothing to reopen");
    else
    if (dt_log_reopen (&err))
        snprintf (said, sizeof (said), "%s: still logging to the old file", err.message);
    else
        snprintf (said, sizeof (said), "log %s reopened", dt_log_path ());
    if (s_daemon.config_path) {
        hub_config_t now;
        hub_config_defaults (&now);
        size_t len = strlen (said);
        if (s_config_read (s_daemon.config_path, &now, &err))
            snprintf (said + len, sizeof (said) - len, "; %s: kept the running config",
                      err.message);
        else {
            hub_config_t *was = &s_daemon.from_file;
            char changed [128] = "";
            snprintf (changed, sizeof (changed), "%s%s%s%s%s%s",
                      streq (now.datadir, was->datadir)? "": " datadir",
                      streq (now.endpoint, was->endpoint)? "": " endpoint",
                      now.insecure == was->insecure? "": " insecure",
                      now.mapsize_mb == was->mapsize_mb? "": " mapsize_mb",
                      now.log_keep == was->log_keep? "": " log_keep",
                      now.rid_keep == was->rid_keep? "": " rid_keep");
            snprintf (said + len, sizeof (said) - len, "; config %s re-read: %s%s",
                      s_daemon.config_path, *changed? "changed:": "no change",
                      *changed? changed: "");
            if (*changed)
                snprintf (said + strlen (said), sizeof (said) - strlen (said),
                          " (read at start only: restart the hub to apply)");
        }
    }
    zsys_notice ("SIGHUP: %s", said);
    dt_err_reset (&err);
}

static void
s_print_violation (const char *message, void *arg)
{
    (void) arg;
    printf ("%s\n", message);
}

/* Check the store in dir: every violation on a line of its own, then a
   summary. Exit status 0 clean, 1 violations, 2 no store or a store error. */
static int
s_check (const char *dir, size_t mapsize_mb)
{
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s/data.mdb", dir);
    if (!zsys_file_exists (path)) {
        fprintf (stderr, "duotang-hub: --check: no store in %s\n", dir);
        return 2;
    }
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = store_new (dir, mapsize_mb, &err);
    store_txn_t txn;
    int64_t violations = -1;
    if (store && store_begin (store, &txn, NULL, false, &err) == 0) {
        violations = check_store (&txn, s_print_violation, NULL, &err);
        if (violations >= 0)
            printf ("%s: %" PRId64 " violation%s (%" PRIu64 " branches, %" PRIu64 " halls, %"
                    PRIu64 " members checked)\n", dir, violations, violations == 1? "": "s",
                    store_count (&txn, TBL_BRANCH), store_count (&txn, TBL_HALL),
                    store_count (&txn, TBL_MEMBER));
        store_abort (&txn);
    }
    if (violations < 0)
        fprintf (stderr, "duotang-hub: --check %s: %s\n", dir, err.message);
    store_destroy (&store);
    dt_err_reset (&err);
    return violations < 0? 2: violations? 1: 0;
}

int
main (int argc, char *argv [])
{
    static const struct option options [] = {
        { "datadir",  required_argument, NULL, 'd' },
        { "endpoint", required_argument, NULL, 'e' },
        { "config",   required_argument, NULL, 'c' },
        { "admin",    required_argument, NULL, 'a' },
        { "log-keep", required_argument, NULL, 'k' },
        { "insecure", no_argument,       NULL, 'i' },
        { "check",    required_argument, NULL, 'C' },
        { "backup",   required_argument, NULL, 'B' },
        { "log",      required_argument, NULL, 'l' },
        { "verbose",  no_argument,       NULL, 'v' },
        { "quiet",    no_argument,       NULL, 'q' },
        { "version",  no_argument,       NULL, 'V' },
        { "help",     no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    hub_config_t config;
    hub_config_defaults (&config);
    const char *check_dir = NULL;
    const char *backup_dir = NULL;
    const char *log_path = NULL;
    dt_log_level_t log_level = DT_LOG_NORMAL;
    dt_err_t err;
    dt_err_init (&err);
    //  The config file first, so that flags override it
    for (int i = 1; i + 1 < argc; i++)
        if (streq (argv [i], "-c") || streq (argv [i], "--config")) {
            s_daemon.config_path = argv [i + 1];
            if (s_config_read (argv [i + 1], &config, &err)) {
                fprintf (stderr, "duotang-hub: %s\n", err.message);
                return 1;
            }
            hub_config_defaults (&s_daemon.from_file);
            s_config_read (argv [i + 1], &s_daemon.from_file, &err);
        }
    int opt;
    while ((opt = getopt_long (argc, argv, "d:e:c:l:vqVh", options, NULL)) != -1) {
        switch (opt) {
            case 'd':
            case 'e':
                if (hub_config_set (&config, opt == 'd'? "datadir": "endpoint", optarg,
                                    opt == 'd'? "-d": "-e", &err)) {
                    fprintf (stderr, "duotang-hub: %s\n", err.message);
                    return 1;
                }
                break;
            case 'c': break;
            case 'a': snprintf (config.admin_pub, sizeof (config.admin_pub), "%s", optarg); break;
            case 'k':
                if (hub_config_set (&config, "log_keep", optarg, "--log-keep", &err)) {
                    fprintf (stderr, "duotang-hub: %s\n", err.message);
                    return 2;
                }
                break;
            case 'i': config.insecure = true; break;
            case 'C': check_dir = optarg; break;
            case 'B': backup_dir = optarg; break;
            case 'l': log_path = optarg; break;
            case 'v': log_level = DT_LOG_VERBOSE; break;
            case 'q': log_level = DT_LOG_QUIET; break;
            case 'V': printf ("duotang-hub %s\n", DT_VERSION); return 0;
            case 'h': s_usage (stdout, 0); break;
            default: s_usage (stderr, 2);
        }
    }
    if (optind < argc) {
        fprintf (stderr, "duotang-hub: unexpected argument '%s'\n", argv [optind]);
        s_usage (stderr, 2);
    }
    if (check_dir)
        return s_check (check_dir, config.mapsize_mb);
    if (backup_dir) {
        int rc = backup_datadir (config.datadir, backup_dir, &err);
        if (rc)
            fprintf (stderr, "duotang-hub: --backup: %s\n", err.message);
        else
            printf ("%s: backup of %s written; restore with duotang-hub -d %s\n", backup_dir,
                    config.datadir, backup_dir);
        dt_err_reset (&err);
        return rc? 1: 0;
    }
    int lock = dt_daemon_start ("duotang-hub", log_level, log_path, config.datadir,
                                config.insecure, s_reload);
    if (lock < 0) {
        dt_daemon_finish (lock);
        return 1;
    }
    uint64_t fds = 0;
    if (server_raise_fd_limit (&fds))
        zsys_warning ("file descriptors limited to %" PRIu64 " (could not raise to the "
                      "hard limit)", fds);
    zsys_debug ("datadir %s, endpoint %s, mapsize %zu MB, log_keep %" PRIu64 "%s%s",
                config.datadir, config.endpoint, config.mapsize_mb, config.log_keep,
                s_daemon.config_path? ", config ": "",
                s_daemon.config_path? s_daemon.config_path: "");
    hub_t *hub = hub_new (&config, &err);
    int status = hub? 0: 1;
    if (hub) {
        hub_run (hub);
        hub_destroy (&hub);
    }
    else
        zsys_error ("start failed: %s", err.message);
    dt_daemon_finish (lock);
    dt_err_reset (&err);
    return status;
}

/* main.c -- duotang-hub: command line, configuration, the serve loop, and
   --check, the invariant check of a store. */
#include "hub.h"
#include "check.h"
#include "server.h"
#include <getopt.h>

static void
s_usage (void)
{
    fprintf (stderr,
        "usage: duotang-hub [-d DATADIR] [-e ENDPOINT] [-c CONFIG] [--admin KEY.pub]\n"
        "                   [--log-keep N] [--insecure] [-v] [-V]\n"
        "       duotang-hub --check DATADIR\n"
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
        "  -V, --version         print the version\n");
    exit (1);
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
        { "version",  no_argument,       NULL, 'V' },
        { "help",     no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    hub_config_t config;
    hub_config_defaults (&config);
    const char *check_dir = NULL;
    dt_err_t err;
    dt_err_init (&err);
    //  The config file first, so that flags override it
    for (int i = 1; i + 1 < argc; i++)
        if ((streq (argv [i], "-c") || streq (argv [i], "--config"))
        &&  hub_config_load (&config, argv [i + 1], &err)) {
            fprintf (stderr, "duotang-hub: %s\n", err.message);
            return 1;
        }
    int opt;
    while ((opt = getopt_long (argc, argv, "d:e:c:Vh", options, NULL)) != -1) {
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
                    return 1;
                }
                break;
            case 'i': config.insecure = true; break;
            case 'C': check_dir = optarg; break;
            case 'V': printf ("duotang-hub %s\n", DT_VERSION); return 0;
            default: s_usage ();
        }
    }
    if (optind < argc)
        s_usage ();
    if (check_dir)
        return s_check (check_dir, config.mapsize_mb);
    if (config.insecure)
        fprintf (stderr, "duotang-hub: WARNING: insecure mode: no CURVE encryption, every "
                 "peer acts as hq-admin. For development on loopback only.\n");
    uint64_t fds = 0;
    if (server_raise_fd_limit (&fds))
        fprintf (stderr, "duotang-hub: WARNING: file descriptors limited to %" PRIu64
                 " (could not raise to the hard limit)\n", fds);
    zsys_init ();
    zsys_set_logident ("duotang-hub");
    hub_t *hub = hub_new (&config, &err);
    if (!hub) {
        fprintf (stderr, "duotang-hub: start failed: %s\n", err.message);
        dt_err_reset (&err);
        return 1;
    }
    hub_run (hub);
    hub_destroy (&hub);
    return 0;
}

/* main.c -- duotang-node: command line and the serve loop. */
#include "node.h"
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
        "usage: duotang-node -n NODE --hub ENDPOINT [-d DATADIR] [-e ENDPOINT]\n"
        "                    [-k NODE_KEY --hub-key HUB_PUB] [--admin KEY.pub]... [--insecure]\n"
        "                    [-l LOGFILE] [-v | -q] [-V] [-h]\n"
        "  -n, --node ID         this node's id, as registered at the hub (node add)\n"
        "      --hub EP          the hub's endpoint, e.g. tcp://hq.example:7700\n"
        "  -d, --datadir DIR     replica, outbox and the node's key pair (default ./var/node-ID)\n"
        "  -e, --endpoint EP     where local clients connect (default tcp://127.0.0.1:7701;\n"
        "                        tcp://127.0.0.1:* picks a free port, written to DATADIR/endpoint)\n"
        "  -k, --key FILE        the node's secret key, allowed at the hub with role node\n"
        "      --hub-key KEY     the hub's public key: its hub.pub file or the Z85 text\n"
        "      --admin KEY.pub   admit this public key as hq-admin for local clients (repeatable);\n"
        "                        the hub's hq-admin and leader keys are admitted once replicated\n"
        "      --insecure        no CURVE on either side, every peer is hq-admin; loopback only\n"
        "  -l, --log FILE        log to FILE (appending; reopened on SIGHUP), not stderr\n"
        "  -v, --verbose         log debug lines too\n"
        "  -q, --quiet           log warnings and errors only\n"
        "  -V, --version         print the version\n"
        "  -h, --help            print this help\n"
        "One node per data directory (DATADIR/lock names the pid that holds it). SIGTERM\n"
        "stops it; SIGHUP reopens the log file.\n"
        "Exit status: 0 stopped cleanly, 1 start failed, 2 usage error.\n");
    exit (status);
}

/* SIGHUP: reopen the log file. The node has no config file: its keys, its
   branches and the policy replicate from the hub as they change. */
static void
s_reload (void *arg)
{
    (void) arg;
    dt_err_t err;
    dt_err_init (&err);
    if (!dt_log_path ())
        zsys_notice ("SIGHUP: logging to stderr, nothing to reopen; nothing else to reload "
                     "(keys, branches and policy replicate from the hub)");
    else
    if (dt_log_reopen (&err))
        zsys_error ("SIGHUP: %s: still logging to the old file", err.message);
    else
        zsys_notice ("SIGHUP: log %s reopened; nothing else to reload (keys, branches and "
                     "policy replicate from the hub)", dt_log_path ());
    dt_err_reset (&err);
}

static void
s_copy (char *out, size_t size, const char *value, const char *what)
{
    if (strlen (value) >= size) {
        fprintf (stderr, "duotang-node: %s is too long\n", what);
        exit (2);
    }
    snprintf (out, size, "%s", value);
}

int
main (int argc, char *argv [])
{
    static const struct option options [] = {
        { "node",     required_argument, NULL, 'n' },
        { "hub",      required_argument, NULL, 'H' },
        { "datadir",  required_argument, NULL, 'd' },
        { "endpoint", required_argument, NULL, 'e' },
        { "key",      required_argument, NULL, 'k' },
        { "hub-key",  required_argument, NULL, 's' },
        { "admin",    required_argument, NULL, 'a' },
        { "insecure", no_argument,       NULL, 'i' },
        { "log",      required_argument, NULL, 'l' },
        { "verbose",  no_argument,       NULL, 'v' },
        { "quiet",    no_argument,       NULL, 'q' },
        { "version",  no_argument,       NULL, 'V' },
        { "help",     no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    node_config_t config;
    node_config_defaults (&config);
    const char *log_path = NULL;
    dt_log_level_t log_level = DT_LOG_NORMAL;
    int opt;
    while ((opt = getopt_long (argc, argv, "n:d:e:k:l:vqVh", options, NULL)) != -1) {
        switch (opt) {
            case 'n': s_copy (config.id, sizeof (config.id), optarg, "the node id"); break;
            case 'H': s_copy (config.hub, sizeof (config.hub), optarg, "--hub"); break;
            case 'd': s_copy (config.datadir, sizeof (config.datadir), optarg, "-d"); break;
            case 'e': s_copy (config.endpoint, sizeof (config.endpoint), optarg, "-e"); break;
            case 'k': s_copy (config.key_file, sizeof (config.key_file), optarg, "-k"); break;
            case 's': s_copy (config.hub_key, sizeof (config.hub_key), optarg, "--hub-key");
                      break;
            case 'a':
                if (config.nadmins == NODE_ADMINS_MAX) {
                    fprintf (stderr, "duotang-node: at most %d --admin keys\n",
                             NODE_ADMINS_MAX);
                    return 2;
                }
                s_copy (config.admin_pub [config.nadmins++], sizeof (config.admin_pub [0]),
                        optarg, "--admin");
                break;
            case 'i': config.insecure = true; break;
            case 'l': log_path = optarg; break;
            case 'v': log_level = DT_LOG_VERBOSE; break;
            case 'q': log_level = DT_LOG_QUIET; break;
            case 'V': printf ("duotang-node %s\n", DT_VERSION); return 0;
            case 'h': s_usage (stdout, 0); break;
            default: s_usage (stderr, 2);
        }
    }
    if (optind < argc) {
        fprintf (stderr, "duotang-node: unexpected argument '%s'\n", argv [optind]);
        s_usage (stderr, 2);
    }
    if (!*config.id || !*config.hub) {
        fprintf (stderr, "duotang-node: -n NODE and --hub ENDPOINT are required\n");
        s_usage (stderr, 2);
    }
    //  Checked as the hub checks it (PROTOCOL.md 4), not found wrong later
    if (!dt_id_valid (config.id, strlen (config.id))) {
        fprintf (stderr, "duotang-node: -n \"%s\" is not a node id (1..%d bytes of "
                 "[A-Za-z0-9._-], first alphanumeric)\n", config.id, DT_ID_MAX);
        return 2;
    }
    //  The lock lives in the data directory node_new would default to
    if (!*config.datadir)
        snprintf (config.datadir, sizeof (config.datadir), "./var/node-%s", config.id);
    int lock = dt_daemon_start ("duotang-node", log_level, log_path, config.datadir,
                                config.insecure, s_reload);
    if (lock < 0) {
        dt_daemon_finish (lock);
        return 1;
    }
    uint64_t fds = 0;
    if (server_raise_fd_limit (&fds))
        zsys_warning ("file descriptors limited to %" PRIu64 " (could not raise to the "
                      "hard limit)", fds);
    zsys_debug ("node %s, datadir %s, endpoint %s, hub %s, %d --admin keys",
                config.id, config.datadir, config.endpoint, config.hub, config.nadmins);
    dt_err_t err;
    dt_err_init (&err);
    node_server_t *node = node_new (&config, &err);
    int status = node? 0: 1;
    if (node) {
        node_run (node);
        node_destroy (&node);
    }
    else
        zsys_error ("start failed: %s", err.message);
    dt_daemon_finish (lock);
    dt_err_reset (&err);
    return status;
}

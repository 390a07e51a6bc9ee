/* main.c -- duotang-node: command line and the serve loop. */
#include "node.h"
#include "server.h"
#include <getopt.h>

static void
s_usage (void)
{
    fprintf (stderr,
        "usage: duotang-node -n NODE --hub ENDPOINT [-d DATADIR] [-e ENDPOINT]\n"
        "                    [-k NODE_KEY --hub-key HUB_PUB] [--admin KEY.pub]... [--insecure] [-V]\n"
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
        "  -V, --version         print the version\n");
    exit (1);
}

static void
s_copy (char *out, size_t size, const char *value, const char *what)
{
    if (strlen (value) >= size) {
        fprintf (stderr, "duotang-node: %s is too long\n", what);
        exit (1);
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
        { "version",  no_argument,       NULL, 'V' },
        { "help",     no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    node_config_t config;
    node_config_defaults (&config);
    int opt;
    while ((opt = getopt_long (argc, argv, "n:d:e:k:Vh", options, NULL)) != -1) {
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
                    return 1;
                }
                s_copy (config.admin_pub [config.nadmins++], sizeof (config.admin_pub [0]),
                        optarg, "--admin");
                break;
            case 'i': config.insecure = true; break;
            case 'V': printf ("duotang-node %s\n", DT_VERSION); return 0;
            default: s_usage ();
        }
    }
    if (optind < argc || !*config.id || !*config.hub)
        s_usage ();
    //  Checked as the hub checks it (PROTOCOL.md 4), not found wrong later
    if (!dt_id_valid (config.id, strlen (config.id))) {
        fprintf (stderr, "duotang-node: -n \"%s\" is not a node id (1..%d bytes of "
                 "[A-Za-z0-9._-], first alphanumeric)\n", config.id, DT_ID_MAX);
        return 1;
    }
    if (config.insecure)
        fprintf (stderr, "duotang-node: WARNING: insecure mode: no CURVE encryption, every "
                 "peer acts as hq-admin. For development on loopback only.\n");
    uint64_t fds = 0;
    if (server_raise_fd_limit (&fds))
        fprintf (stderr, "duotang-node: WARNING: file descriptors limited to %" PRIu64
                 " (could not raise to the hard limit)\n", fds);
    zsys_init ();
    zsys_set_logident ("duotang-node");
    dt_err_t err;
    dt_err_init (&err);
    node_server_t *node = node_new (&config, &err);
    if (!node) {
        fprintf (stderr, "duotang-node: start failed: %s\n", err.message);
        dt_err_reset (&err);
        return 1;
    }
    node_run (node);
    node_destroy (&node);
    return 0;
}

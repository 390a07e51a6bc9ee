/* main.c -- duotang-hub: command line, configuration and the serve loop. */
#include "hub.h"
#include <getopt.h>

static void
s_usage (void)
{
    fprintf (stderr,
        "usage: duotang-hub [-d DATADIR] [-e ENDPOINT] [-c CONFIG] [--admin KEY.pub]\n"
        "                   [--log-keep N] [--insecure] [-v] [-V]\n"
        "  -d, --datadir DIR     store, hub key pair and certificates (default ./var/hub)\n"
        "  -e, --endpoint EP     where clients and nodes connect (default tcp://127.0.0.1:7700;\n"
        "                        tcp://127.0.0.1:* picks a free port, written to DATADIR/endpoint)\n"
        "  -c, --config FILE     ZPL config file (hub/datadir, hub/endpoint, hub/log_keep ...)\n"
        "      --admin KEY.pub   register this public key as an hq-admin key at start\n"
        "      --log-keep N      change-log entries kept for nodes that catch up (default 2000000)\n"
        "      --insecure        no CURVE, every peer is hq-admin; loopback only (development)\n"
        "  -V, --version         print the version\n");
    exit (1);
}

static bool
s_parse_uint (const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long value = strtoull (text, &end, 10);
    if (errno || *end || !*text || text [0] == '-')
        return false;
    *out = value;
    return true;
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
        { "version",  no_argument,       NULL, 'V' },
        { "help",     no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    hub_config_t config;
    hub_config_defaults (&config);
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
            case 'd': snprintf (config.datadir, sizeof (config.datadir), "%s", optarg); break;
            case 'e': snprintf (config.endpoint, sizeof (config.endpoint), "%s", optarg); break;
            case 'c': break;
            case 'a': snprintf (config.admin_pub, sizeof (config.admin_pub), "%s", optarg); break;
            case 'k':
                if (!s_parse_uint (optarg, &config.log_keep) || config.log_keep == 0) {
                    fprintf (stderr, "duotang-hub: --log-keep needs a positive number\n");
                    return 1;
                }
                break;
            case 'i': config.insecure = true; break;
            case 'V': printf ("duotang-hub %s\n", DT_VERSION); return 0;
            default: s_usage ();
        }
    }
    if (optind < argc)
        s_usage ();
    if (config.insecure)
        fprintf (stderr, "duotang-hub: WARNING: insecure mode: no CURVE encryption, every "
                 "peer acts as hq-admin. For development on loopback only.\n");
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

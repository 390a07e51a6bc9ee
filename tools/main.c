/* main.c -- duotangctl, the admin CLI: global options, then one command, in
   the language of the locale. */
#include "ctl.h"
#include <getopt.h>

static const char *s_usage = N_("usage: duotangctl [OPTIONS] NOUN VERB [ARGS] [--json] [--help]\n");

static void
s_help (FILE *out)
{
    fputs (_(s_usage), out);
    fprintf (out, _("\nAdminister a duotang hub, or a node, over DTP (proto/PROTOCOL.md).\n"
        "\nOptions, before the command:\n"
        "  -e, --endpoint URL     server endpoint (default $DUOTANG_ENDPOINT, else %s)\n"
        "  -k, --key FILE         own secret key file (default $DUOTANG_KEY)\n"
        "  -s, --server-key KEY   the server's public key: a file or 40 Z85 characters\n"
        "                         (default $DUOTANG_SERVER_KEY; with the default endpoint,\n"
        "                         ./var/hub/hub.pub if it exists)\n"
        "      --insecure         no CURVE, loopback only (or DUOTANG_INSECURE=1)\n"
        "  -t, --timeout MS       wait at most MS milliseconds per request (default 5000)\n"
        "      --json             print the result as one JSON document\n"
        "  -V, --version          print the version\n"
        "  -h, --help             print this help\n"
        "\nCommands ('duotangctl NOUN VERB --help' describes one):\n"), CTL_DEFAULT_ENDPOINT);
    ctl_help (out, NULL);
    fprintf (out, _("\nExit status: 0 success, 1 error (one line on stderr), 2 usage error.\n"));
}

static int
s_usage_error (ctl_t *ctl, const char *fmt, const char *what)
{
    char why [DT_ERR_MSG_MAX];
    fprintf (stderr, "duotangctl: ");
    fprintf (stderr, _(fmt), what);
    fprintf (stderr, "\n%s", _(s_usage));
    snprintf (why, sizeof (why), fmt, what);
    if (ctl->json)
        ctl_json_error (ctl, "USAGE", NULL, why);
    return CTL_USAGE;
}

static const char *
s_env (const char *name)
{
    const char *value = getenv (name);
    return value && *value? value: NULL;
}

int
main (int argc, char *argv [])
{
    static const struct option longs [] = {
        { "endpoint", required_argument, NULL, 'e' },
        { "key", required_argument, NULL, 'k' },
        { "server-key", required_argument, NULL, 's' },
        { "insecure", no_argument, NULL, 'I' },
        { "timeout", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    ctl_lang_init ();
    ctl_t ctl;
    ctl_init (&ctl);
    const char *insecure = s_env ("DUOTANG_INSECURE");
    ctl.opts.insecure = insecure && !streq (insecure, "0");
    ctl.opts.endpoint = s_env ("DUOTANG_ENDPOINT")? s_env ("DUOTANG_ENDPOINT"):
                        CTL_DEFAULT_ENDPOINT;
    ctl.opts.key_file = s_env ("DUOTANG_KEY");
    ctl.opts.server_key = s_env ("DUOTANG_SERVER_KEY");
    //  --json anywhere makes even an error in the options JSON
    for (int i = 1; i < argc; i++)
        if (streq (argv [i], "--json"))
            ctl.json = true;
    opterr = 0;
    int c;
    char *end;
    //  '+': stop at the noun; the command parses its own options
    while ((c = getopt_long (argc, argv, "+:e:k:s:t:Vh", longs, NULL)) != -1) {
        switch (c) {
            case 'e': ctl.opts.endpoint = optarg; break;
            case 'k': ctl.opts.key_file = optarg; break;
            case 's': ctl.opts.server_key = optarg; break;
            case 'I': ctl.opts.insecure = true; break;
            case 'j': ctl.json = true; break;
            case 't':
                errno = 0;
                long timeout = strtol (optarg, &end, 10);
                if (!isdigit ((unsigned char) *optarg) || *end || errno || timeout < 1
                ||  timeout > INT_MAX)
                    return s_usage_error (&ctl, N_("--timeout takes milliseconds, not '%s'"),
                                          optarg);
                ctl.opts.timeout_ms = (int) timeout;
                break;
            case 'V':
                printf ("duotangctl %s (protocol %d)\n", DT_VERSION, DT_PROTO_VERSION);
                return CTL_OK;
            case 'h':
                s_help (stdout);
                return CTL_OK;
            case ':':
                return s_usage_error (&ctl, N_("option %s needs a value"), argv [optind - 1]);
            default:
                return s_usage_error (&ctl, N_("unknown option %s"), argv [optind - 1]);
        }
    }
    if (optind == argc) {
        fprintf (stderr, "%s%s", _(s_usage), _("(duotangctl --help lists the commands)\n"));
        if (ctl.json)
            ctl_json_error (&ctl, "USAGE", NULL, "a command is needed");
        return CTL_USAGE;
    }
    //  A hub started with its defaults writes its public key here
    if (!ctl.opts.server_key && streq (ctl.opts.endpoint, CTL_DEFAULT_ENDPOINT)
    &&  zsys_file_exists ("var/hub/hub.pub"))
        ctl.opts.server_key = "var/hub/hub.pub";
    int rc = ctl_run (&ctl, argc - optind, argv + optind);
    ctl_destroy (&ctl);
    return rc;
}

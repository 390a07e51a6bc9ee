/* ctl.c -- duotangctl's core: command lookup, option parsing, requests, errors. */
#include "ctl.h"
#include "ctl_json.h"
#include "ctl_print.h"
#include "ctl_fake.h"
#include "catalogue.h"
#include "ctl_text.h"
#include <getopt.h>

static const ctl_cmd_t *s_groups [] = {
    ctl_org_cmds, ctl_member_cmds, ctl_orgfile_cmds, ctl_content_cmds, ctl_report_cmds,
    ctl_policy_cmds, ctl_admin_cmds, NULL
};

void
ctl_init (ctl_t *self)
{
    memset (self, 0, sizeof (*self));
    self->opts.endpoint = CTL_DEFAULT_ENDPOINT;
    self->out = stdout;
    self->err = stderr;
    ctl_print_set_zone (NULL);
}

void
ctl_destroy (ctl_t *self)
{
    client_destroy (&self->client);
    ctl_print_release ();
}

//  The command table

static const ctl_cmd_t *
s_find (const char *noun, const char *verb)
{
    for (const ctl_cmd_t **group = s_groups; *group; group++)
        for (const ctl_cmd_t *cmd = *group; cmd->noun; cmd++)
            if (streq (cmd->noun, noun) && (!verb || streq (cmd->verb, verb)))
                return cmd;
    return NULL;
}

void
ctl_help (FILE *out, const char *noun)
{
    for (const ctl_cmd_t **group = s_groups; *group; group++)
        for (const ctl_cmd_t *cmd = *group; cmd->noun; cmd++)
            if (!noun || streq (cmd->noun, noun))
                fprintf (out, "  %s\n", cmd->synopsis);
}

static void
s_usage_line (FILE *out, const ctl_cmd_t *cmd)
{
    fprintf (out, _("usage: duotangctl %s\n"), cmd->synopsis);
}

//  Option parsing

/* Fill line->opt from the spec "into:! release tag:*", plus help and json. */
static void
s_options (ctl_line_t *line, const char *spec)
{
    char text [256];
    snprintf (text, sizeof (text), "%s help json jsonl", spec? spec: "");
    for (char *save = NULL, *token = strtok_r (text, " ", &save); token;
         token = strtok_r (NULL, " ", &save)) {
        assert (line->nopts < CTL_OPTS_MAX + 3);     /* the table is programmer input */
        size_t len = strcspn (token, ":");
        snprintf (line->opt [line->nopts].name, sizeof (line->opt [0].name), "%.*s",
                  (int) len, token);
        line->opt [line->nopts].value = token [len] == ':';
        line->opt [line->nopts].required = strchr (token, '!') != NULL;
        line->opt [line->nopts].repeat = strchr (token, '*') != NULL;
        line->nopts++;
    }
}

static int
s_opt_index (ctl_line_t *line, const char *name)
{
    for (int i = 0; i < line->nopts; i++)
        if (streq (line->opt [i].name, name))
            return i;
    return -1;
}

/* Check what getopt cannot: repeats, required options, positional count. */
static int
s_check (ctl_line_t *line)
{
    const ctl_cmd_t *cmd = line->cmd;
    for (int i = 0; i < line->nopts; i++) {
        int times = 0;
        for (int g = 0; g < line->ngiven; g++)
            times += line->given [g].opt == i;
        if (times > 1 && !line->opt [i].repeat && line->opt [i].value)
            return ctl_usage (line, "option --%s given twice", line->opt [i].name);
        if (times == 0 && line->opt [i].required)
            return ctl_usage (line, "missing --%s", line->opt [i].name);
    }
    if (line->argc < cmd->min_args)
        return ctl_usage (line, cmd->min_args == 1? N_("%s %s needs %d argument, got %d")
                                                  : N_("%s %s needs %d arguments, got %d"),
                          cmd->noun, cmd->verb, cmd->min_args, line->argc);
    if (line->argc > cmd->max_args)
        return ctl_usage (line, "unexpected argument '%s'", line->argv [cmd->max_args]);
    return CTL_OK;
}

/* True if the long option that text ("into", "in=x") abbreviates or names
   takes a value; false when it takes none or is not one (getopt says so). */
static bool
s_takes_value (ctl_line_t *line, const char *text)
{
    size_t len = strcspn (text, "=");
    int found = -1;
    for (int i = 0; i < line->nopts; i++)
        if (strncmp (line->opt [i].name, text, len) == 0) {
            if (strlen (line->opt [i].name) == len)
                return line->opt [i].value;
            found = found == -1? i: -2;
        }
    return found >= 0 && line->opt [found].value;
}

/* argv with every positional argument after a "--", in order, so that getopt
   reads "-5" in `set-cap b -5` as the value it is, not as an option: a word
   is an option if it starts with '-' and is not "-" or a negative number;
   the value of a long option that takes one follows it. */
static char **
s_positionals_last (ctl_line_t *line, int argc, char **argv, int *count)
{
    char **args = (char **) calloc ((size_t) argc + 2, sizeof (char *));
    char **rest = (char **) calloc ((size_t) argc + 1, sizeof (char *));
    assert (args && rest);
    int n = 0, nrest = 0;
    args [n++] = argv [0];
    for (int i = 1; i < argc; i++) {
        const char *word = argv [i];
        if (streq (word, "--")) {
            while (++i < argc)
                rest [nrest++] = argv [i];
            break;
        }
        bool number = word [0] == '-' && (isdigit ((unsigned char) word [1])
                   || (word [1] == '.' && isdigit ((unsigned char) word [2])));
        if (word [0] == '-' && word [1] && !number) {
            args [n++] = argv [i];
            if (word [1] == '-' && !strchr (word, '=') && s_takes_value (line, word + 2)) {
                if (i + 1 < argc)
                    args [n++] = argv [++i];
                else
                if (!*line->why)    //  getopt would take our "--" for its value
                    ctl_usage (line, "option %s needs a value", word);
            }
        }
        else
            rest [nrest++] = argv [i];
    }
    args [n++] = (char *) "--";
    for (int i = 0; i < nrest; i++)
        args [n++] = rest [i];
    free (rest);
    *count = n;
    return args;
}

/* Parse argv (argv [0] is the verb or the noun). Returns CTL_OK to go on,
   CTL_USAGE, or -1 when --help was answered. */
static int
s_parse (ctl_t *ctl, ctl_line_t *line, int argc, char **argv)
{
    s_options (line, line->cmd->options);
    line->words = s_positionals_last (line, argc, argv, &argc);
    argv = line->words;
    struct option longs [CTL_OPTS_MAX + 4];
    for (int i = 0; i < line->nopts; i++)
        longs [i] = (struct option) { line->opt [i].name,
            line->opt [i].value? required_argument: no_argument, NULL, 256 + i };
    longs [line->nopts] = (struct option) { NULL, 0, NULL, 0 };
    line->given = calloc (argc + 1, sizeof (line->given [0]));
    assert (line->given);
    optind = 0;                 /* glibc: a full reset for every parse */
    opterr = 0;
    bool help = false;
    int c;
    while ((c = getopt_long (argc, argv, ":h", longs, NULL)) != -1) {
        if (c == 'h' || (c >= 256 && streq (line->opt [c - 256].name, "help")))
            help = true;
        else
        if (c >= 256 && streq (line->opt [c - 256].name, "json"))
            ctl->json = true;
        else
        if (c >= 256 && streq (line->opt [c - 256].name, "jsonl"))
            ctl->json = ctl->jsonl = true;
        else
        if (c >= 256)
            line->given [line->ngiven++] = (ctl_given_t) { c - 256, optarg };
        else
        if (*line->why)
            ;                   /* the first problem is the one reported */
        else
        if (c == ':')
            ctl_usage (line, "option %s needs a value", argv [optind - 1]);
        else
        if (optopt)
            ctl_usage (line, "unknown option -%c", optopt);
        else
            ctl_usage (line, "unknown option %s", argv [optind - 1]);
    }
    line->argv = argv + optind;
    line->argc = argc - optind;
    if (help) {
        s_usage_line (ctl->out, line->cmd);
        fprintf (ctl->out, "%s\n", _(line->cmd->summary));
        return -1;
    }
    return *line->why? CTL_USAGE: s_check (line);
}

const char *
ctl_opt (ctl_line_t *line, const char *name)
{
    int index = s_opt_index (line, name);
    assert (index >= 0);        /* a handler asks only for its own options */
    const char *value = NULL;
    for (int g = 0; g < line->ngiven; g++)
        if (line->given [g].opt == index)
            value = line->given [g].value? line->given [g].value: "";
    return value;
}

size_t
ctl_opt_all (ctl_line_t *line, const char *name, const char **values, size_t max)
{
    int index = s_opt_index (line, name);
    assert (index >= 0);
    size_t count = 0;
    for (int g = 0; g < line->ngiven && count < max; g++)
        if (line->given [g].opt == index)
            values [count++] = line->given [g].value;
    return count;
}

int
ctl_usage (ctl_line_t *line, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    vsnprintf (line->why_en, sizeof (line->why_en), fmt, args);
    va_end (args);
    va_start (args, fmt);
    vsnprintf (line->why, sizeof (line->why), gettext (fmt), args);
    va_end (args);
    return CTL_USAGE;
}

int
ctl_one_of (ctl_line_t *line, const char *a, const char *b, bool required)
{
    bool has_a = ctl_opt (line, a) != NULL, has_b = ctl_opt (line, b) != NULL;
    if (has_a && has_b)
        return ctl_usage (line, "give --%s or --%s, not both", a, b);
    if (required && !has_a && !has_b)
        return ctl_usage (line, "missing --%s or --%s", a, b);
    return CTL_OK;
}

int
ctl_put_uint (ctl_line_t *line, const char *key, const char *text, const char *what)
{
    if (!text)
        return CTL_OK;
    char *end;
    errno = 0;
    unsigned long long value = strtoull (text, &end, 10);
    if (text [0] == '-' && isdigit ((unsigned char) text [1]))
        return ctl_usage (line, "%s cannot be negative: '%s'", what, text);
    if (!isdigit ((unsigned char) *text) || *end || errno)
        return ctl_usage (line, "%s must be a number, not '%s'", what, text);
    args_uint (&line->req, key, value);
    return CTL_OK;
}

void
ctl_put_list (ctl_line_t *line, const char *key, const char *name)
{
    const char **values = calloc (line->ngiven + 1, sizeof (char *));
    assert (values);
    size_t count = ctl_opt_all (line, name, values, line->ngiven);
    args_list (&line->req, key, values, count);
    free (values);
}

//  Running a command

int
ctl_run (ctl_t *self, int argc, char **argv)
{
    if (argc < 1 || streq (argv [0], "help")) {
        ctl_help (argc < 1? self->err: self->out, argc > 1? argv [1]: NULL);
        return argc < 1? CTL_USAGE: CTL_OK;
    }
    const char *noun = argv [0], *verb = argc > 1? argv [1]: NULL;
    char why [DT_ERR_MSG_MAX];
    if (!s_find (noun, NULL)) {
        static const char *unknown = N_("unknown command '%s'");
        fprintf (self->err, "duotangctl: ");
        fprintf (self->err, _(unknown), noun);
        fprintf (self->err, _(" (see duotangctl --help)\n"));
        snprintf (why, sizeof (why), unknown, noun);
        if (self->json)
            ctl_json_error (self, "USAGE", NULL, why);
        return CTL_USAGE;
    }
    const ctl_cmd_t *cmd = verb? s_find (noun, verb): NULL;
    if (cmd && *verb) {
        argc--;
        argv++;
    }
    else
    if (verb && (streq (verb, "--help") || streq (verb, "-h")) && !s_find (noun, "")) {
        ctl_help (self->out, noun);
        return CTL_OK;
    }
    else
    if (!(cmd = s_find (noun, ""))) {
        static const char *unknown = N_("unknown command '%s %s'");
        static const char *needs = N_("'%s' needs a command");
        fprintf (self->err, "duotangctl: ");
        if (verb) {
            fprintf (self->err, _(unknown), noun, verb);
            snprintf (why, sizeof (why), unknown, noun, verb);
        }
        else {
            fprintf (self->err, _(needs), noun);
            snprintf (why, sizeof (why), needs, noun);
        }
        fputc ('\n', self->err);
        if (self->json)
            ctl_json_error (self, "USAGE", NULL, why);
        fprintf (self->err, _("usage:\n"));
        ctl_help (self->err, noun);
        return CTL_USAGE;
    }
    ctl_line_t line;
    memset (&line, 0, sizeof (line));
    line.cmd = cmd;
    args_init (&line.req);
    int rc = s_parse (self, &line, argc, argv);
    if (rc == CTL_OK)
        rc = cmd->handler (self, &line);
    if (rc == CTL_USAGE) {
        fprintf (self->err, "duotangctl: %s\n", line.why);
        s_usage_line (self->err, cmd);
        if (self->json)
            ctl_json_error (self, "USAGE", NULL, line.why_en);
    }
    free (line.given);
    free (line.words);
    args_destroy (&line.req);
    return rc == -1? CTL_OK: rc;
}

//  Requests and results

int
ctl_fail (ctl_t *self, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    fprintf (self->err, "duotangctl: ");
    vfprintf (self->err, gettext (fmt), args);
    fprintf (self->err, "\n");
    va_end (args);
    return CTL_FAIL;
}

/* One line: a server message never breaks the one-line error rule. */
static void
s_line (FILE *out, const char *prefix, const char *text)
{
    fputs (prefix, out);
    for (const char *p = text; *p; p++)
        fputc ((unsigned char) *p < 0x20? ' ': *p, out);
    fputc ('\n', out);
}

static void
s_server_error (ctl_t *self, proto_reply_t *reply, bool json)
{
    char text [DT_ERR_MSG_MAX];
    s_line (self->err, "duotangctl: ", ctl_lang_message (reply->message, &reply->tpl, text,
                                                          sizeof (text)));
    const msgpack_object *details = reply->details;
    for (uint32_t i = 0; details && i < details->via.array.size; i++) {
        const msgpack_object *detail = &details->via.array.ptr [i];
        const msgpack_object *line = proto_map_get (detail, "line");
        char prefix [40] = "";
        uint64_t number = line && line->type == MSGPACK_OBJECT_POSITIVE_INTEGER?
                          line->via.u64: 0;
        //  Rows sent without their file line are named by index + 1
        if (number && self->row_lines && number <= self->nrows)
            number = self->row_lines [number - 1];
        if (number)
            snprintf (prefix, sizeof (prefix), _("line %" PRIu64 ": "), number);
        dt_err_tpl_t tpl;
        proto_tpl_decode (detail, &tpl);    /* checked by the decoder */
        s_line (self->err, prefix, ctl_lang_message (ctl_v (detail, "message"), &tpl, text,
                                                      sizeof (text)));
    }
    if (json) {
        fputs ("{\"error\":", self->out);
        ctl_json_print (self->out, proto_map_get (&reply->unpacked.data, "error"));
        fputs ("}\n", self->out);
    }
}

void
ctl_json_error (ctl_t *self, const char *code, const char *reason, const char *message)
{
    fprintf (self->out, "{\"error\":{\"code\":");
    ctl_json_string (self->out, code, strlen (code));
    fprintf (self->out, ",\"message\":");
    ctl_json_string (self->out, message, strlen (message));
    if (reason) {
        fprintf (self->out, ",\"reason\":");
        ctl_json_string (self->out, reason, strlen (reason));
    }
    fprintf (self->out, "}}\n");
}

/* An error of this side (a key file, a connection): the one stderr line (in
   the reader's language: local), and with json the same as a JSON error on
   stdout (in English: message). */
static int
s_local_error (ctl_t *self, bool json, const char *code, const char *reason,
               const char *message, const char *local)
{
    ctl_fail (self, "%s", local);
    if (json)
        ctl_json_error (self, code, reason, message);
    return CTL_FAIL;
}

/* No answer: say what the socket monitor saw, so that "nothing listens",
   "the handshake failed" and "the server is slow" read differently. */
static int
s_no_answer (ctl_t *self, bool json, dt_err_t *err)
{
    char local [DT_ERR_MSG_MAX];
    if (!streq (err->code, "UNAVAILABLE"))
        return s_local_error (self, json, err->code, NULL, err->message,
                              ctl_lang_err (err, local, sizeof (local)));
    static const char *reasons [] = {
        [CLIENT_LINK_UNKNOWN] = "unknown", [CLIENT_LINK_CONNECTING] = "unreachable",
        [CLIENT_LINK_REFUSED] = "refused", [CLIENT_LINK_HANDSHAKING] = "slow",
        [CLIENT_LINK_KEY_REFUSED] = "key_refused",
        [CLIENT_LINK_HANDSHAKE_FAILED] = "handshake_failed", [CLIENT_LINK_READY] = "slow"
    };
    client_link_t link = client_link (self->client);
    const char *why = client_link_why (link);
    static const char *no_hub = N_("no answer from %s: is the hub running?");
    static const char *slow = N_("no answer from %s within %d ms: %s; -t MS waits longer");
    static const char *no_answer = N_("no answer from %s: %s");
    int timeout_ms = self->opts.timeout_ms? self->opts.timeout_ms: 5000;
    char message [DT_ERR_MSG_MAX];
    if (!why) {
        snprintf (message, sizeof (message), no_hub, self->opts.endpoint);
        snprintf (local, sizeof (local), _(no_hub), self->opts.endpoint);
    }
    else
    if (link == CLIENT_LINK_READY || link == CLIENT_LINK_HANDSHAKING) {
        snprintf (message, sizeof (message), slow, self->opts.endpoint, timeout_ms, why);
        snprintf (local, sizeof (local), _(slow), self->opts.endpoint, timeout_ms, _(why));
    }
    else {
        snprintf (message, sizeof (message), no_answer, self->opts.endpoint, why);
        snprintf (local, sizeof (local), _(no_answer), self->opts.endpoint, _(why));
    }
    return s_local_error (self, json, "UNAVAILABLE", reasons [link], message, local);
}

/* The request; json: print a server error as JSON on stdout too. */
/* Pack a request's arguments into packed and check them against the
   catalogue, connecting first if need be; CTL_OK, or the failure shown. */
static int
s_prepare (ctl_t *self, const char *op, args_t *args, msgpack_sbuffer *packed, bool json)
{
    dt_err_t err;
    dt_err_init (&err);
    if (args && args->count)
        args_finish (args, packed);
    int rc = CTL_OK;
    //  Every operation the CLI sends is one of the catalogue's, with its
    //  arguments (ctl_test sends every command)
    const catalogue_op_t *info = catalogue_find (op);
    char local [DT_ERR_MSG_MAX];
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    if (packed->size)
        msgpack_unpack_next (&unpacked, packed->data, packed->size, NULL);
    if (!info)
        rc = ctl_fail (self, "operation %s is not in the catalogue", op);
    else
    if (catalogue_args_check (info, packed->size? &unpacked.data: NULL, &err))
        rc = ctl_fail (self, "%s: %s (the catalogue's arguments: %s)", op, err.message,
                       info->args);
    msgpack_unpacked_destroy (&unpacked);
    if (rc == CTL_OK && !self->client)
        self->client = client_new (&self->opts, &err);
    if (rc == CTL_OK && !self->client)
        rc = s_local_error (self, json, "BAD_ARGS", NULL, err.message,
                            ctl_lang_err (&err, local, sizeof (local)));
    dt_err_reset (&err);
    return rc;
}

/* A reply as the CLI takes it: CTL_OK with the reply held, or the failure
   (no answer, or the server's error) shown and released. */
static int
s_take_reply (ctl_t *self, int called, proto_reply_t *reply, dt_err_t *err, bool json)
{
    if (called)
        return s_no_answer (self, json, err);
    if (!reply->ok) {
        s_server_error (self, reply, json);
        proto_reply_release (reply);
        return CTL_FAIL;
    }
    return CTL_OK;
}

static int
s_request (ctl_t *self, const char *op, args_t *args, proto_reply_t *reply, bool json)
{
    dt_err_t err;
    dt_err_init (&err);
    msgpack_sbuffer packed;
    msgpack_sbuffer_init (&packed);
    int rc = s_prepare (self, op, args, &packed, json);
    if (rc == CTL_OK)
        rc = s_take_reply (self, client_call (self->client, op, packed.size? &packed: NULL,
                                              NULL, reply, &err), reply, &err, json);
    msgpack_sbuffer_destroy (&packed);
    dt_err_reset (&err);
    return rc;
}

int
ctl_send (ctl_t *self, const char *op, args_t *args, uint64_t *id)
{
    msgpack_sbuffer packed;
    msgpack_sbuffer_init (&packed);
    int rc = s_prepare (self, op, args, &packed, self->json);
    dt_err_t err;
    dt_err_init (&err);
    if (rc == CTL_OK && client_fits (op, &packed, &err))
        rc = s_no_answer (self, self->json, &err);
    dt_err_reset (&err);
    if (rc == CTL_OK)
        *id = client_send (self->client, op, packed.size? &packed: NULL);
    msgpack_sbuffer_destroy (&packed);
    return rc;
}

int
ctl_wait (ctl_t *self, uint64_t id, const char *op, proto_reply_t *reply)
{
    dt_err_t err;
    dt_err_init (&err);
    int rc = s_take_reply (self, client_wait (self->client, id, op, reply, &err), reply, &err,
                           self->json);
    dt_err_reset (&err);
    return rc;
}

int
ctl_request (ctl_t *self, const char *op, args_t *args, proto_reply_t *reply)
{
    return s_request (self, op, args, reply, self->json);
}

void
ctl_result (ctl_t *self, const msgpack_object *result, ctl_show_fn *show)
{
    if (self->json) {
        msgpack_object nil = { .type = MSGPACK_OBJECT_NIL };
        ctl_json_print (self->out, result? result: &nil);
        fputc ('\n', self->out);
    }
    else
        show (self, result);
}

/* A node that cannot reach the hub queues a membership request and answers
   { state: "pending", ticket } (PROTOCOL.md 7.3) instead of the result. */
static void
s_show_pending (ctl_t *self, const msgpack_object *result)
{
    //  The ticket is the node's: the hint reaches it as this command did,
    //  naming what the environment does not already say
    const char *env_endpoint = getenv ("DUOTANG_ENDPOINT");
    const char *env_key = getenv ("DUOTANG_KEY");
    const char *env_server = getenv ("DUOTANG_SERVER_KEY");
    const char *env_insecure = getenv ("DUOTANG_INSECURE");
    const client_opts_t *o = &self->opts;
    fprintf (self->out, _("pending: the node has queued this request for the hub; "
             "follow it with: duotangctl"));
    if (!env_endpoint || !streq (env_endpoint, o->endpoint))
        fprintf (self->out, " -e %s", o->endpoint);
    if (o->insecure && !(env_insecure && *env_insecure && !streq (env_insecure, "0")))
        fprintf (self->out, " --insecure");
    if (!o->insecure && o->key_file && !(env_key && streq (env_key, o->key_file)))
        fprintf (self->out, " -k %s", o->key_file);
    if (!o->insecure && o->server_key && !(env_server && streq (env_server, o->server_key)))
        fprintf (self->out, " -s %s", o->server_key);
    fprintf (self->out, " request status %s\n", ctl_v (result, "ticket"));
}

int
ctl_call (ctl_t *self, ctl_line_t *line, const char *op, ctl_show_fn *show)
{
    proto_reply_t reply;
    if (ctl_request (self, op, &line->req, &reply))
        return CTL_FAIL;
    const msgpack_object *result = reply.result;
    bool pending = result && result->type == MSGPACK_OBJECT_MAP && result->via.map.size == 2
                && ctl_is (result, "state", "pending") && proto_map_get (result, "ticket");
    ctl_result (self, result, pending? s_show_pending: show);
    proto_reply_release (&reply);
    return CTL_OK;
}

//  Times in the policy's time zone

/* The zone a policy.show result names into self->zone ("" if none); true,
   and times are shown in it from now on, if the tz database has it. */
static bool
s_zone_take (ctl_t *self, const msgpack_object *result)
{
    const msgpack_object *zone = proto_map_get (result, "timezone");
    if (zone && zone->type == MSGPACK_OBJECT_STR && zone->via.str.size
    &&  zone->via.str.size <= DT_TIME_ZONE_MAX)
        snprintf (self->zone, sizeof (self->zone), "%.*s", (int) zone->via.str.size,
                  zone->via.str.ptr);
    bool usable = *self->zone && dt_time_zone_valid (self->zone);
    if (usable)
        ctl_print_set_zone (self->zone);
    return usable;
}

const char *
ctl_zone (ctl_t *self)
{
    if (*self->zone)
        return self->zone;
    proto_reply_t reply;
    if (ctl_request (self, "policy.show", NULL, &reply))
        return NULL;
    s_zone_take (self, reply.result);
    proto_reply_release (&reply);
    if (!*self->zone)
        ctl_fail (self, "the server's policy names no time zone, so times cannot be shown "
                  "or read");
    else
    if (!dt_time_zone_valid (self->zone)) {
        //  dt_time would judge an unknown zone as UTC: wrong times, silently
        ctl_fail (self, "the policy's time zone %s is not in this machine's tz database "
                  "(install tzdata)", self->zone);
        *self->zone = 0;
    }
    return *self->zone? self->zone: NULL;
}

int
ctl_show_zone (ctl_t *self)
{
    if (self->json || *self->zone)
        return CTL_OK;
    dt_err_t err;
    dt_err_init (&err);
    if (!self->client && !(self->client = client_new (&self->opts, &err))) {
        char local [DT_ERR_MSG_MAX];
        s_local_error (self, false, "BAD_ARGS", NULL, err.message,
                       ctl_lang_err (&err, local, sizeof (local)));
        dt_err_reset (&err);
        return CTL_FAIL;
    }
    proto_reply_t reply;
    int rc = CTL_OK;
    //  No answer fails the command now rather than after a second timeout;
    //  a refusal (an old server, a scope) leaves the times in UTC
    if (client_call (self->client, "policy.show", NULL, NULL, &reply, &err))
        rc = s_no_answer (self, false, &err);
    else {
        if (reply.ok && !s_zone_take (self, reply.result))
            *self->zone = 0;
        proto_reply_release (&reply);
    }
    dt_err_reset (&err);
    return rc;
}

int
ctl_put_time (ctl_t *self, ctl_line_t *line, const char *key, const char *name)
{
    const char *text = ctl_opt (line, name);
    if (!text)
        return CTL_OK;
    int64_t at;
    //  The syntax does not depend on the zone: refuse it before any request
    if (dt_time_parse ("UTC", text, &at))
        return ctl_usage (line, "--%s takes a time (2026-12-01T20:18, local to the policy's "
                          "time zone unless it ends in Z or +08:00), a date (2026-12-01) or "
                          "milliseconds since 1970, not '%s'", name, text);
    const char *zone = ctl_zone (self);
    if (!zone)
        return CTL_FAIL;
    if (dt_time_parse (zone, text, &at))
        return ctl_usage (line, "--%s: '%s' is not a time in %s", name, text, zone);
    args_int (&line->req, key, at);
    return CTL_OK;
}

const char *
ctl_local (ctl_t *self, const msgpack_object *map, const char *key, char *out, size_t size)
{
    const msgpack_object *value = proto_map_get (map, key);
    if (!value || (value->type != MSGPACK_OBJECT_POSITIVE_INTEGER
               &&  value->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)) {
        snprintf (out, size, "-");
        return out;
    }
    assert (*self->zone);
    return dt_time_format (self->zone, value->via.i64, out, size);
}

//  Lists that page

#define S_COLUMNS_MAX 16
#define S_PAGE_MAX 1000         /* the largest limit a list takes (6.0) */

/* A table printed a page at a time: its columns come from ctl_column_t and
   a row function (ctl_call_pages) or from a list table of ctl_print
   (ctl_call_table). Widths start from the header, the column's minimum and
   the first page, and only ever widen, so a later page's wider cell moves
   the columns after it from then on and breaks nothing. */
typedef struct {
    const ctl_column_t *columns;
    ctl_row_fn *row;
    const ctl_list_table_t *list;
    size_t ncolumns;
    const char *headers [S_COLUMNS_MAX];
    bool right [S_COLUMNS_MAX];
    size_t widths [S_COLUMNS_MAX];
    uint64_t items;             /* printed so far */
} s_pages_t;

static void
s_pages_init (s_pages_t *self, const ctl_column_t *columns, ctl_row_fn *row,
              const ctl_list_table_t *list)
{
    memset (self, 0, sizeof (*self));
    self->columns = columns;
    self->row = row;
    self->list = list;
    self->ncolumns = list? ctl_list_columns (list): 0;
    for (; columns && columns [self->ncolumns].header; self->ncolumns++)
        ;
    assert (self->ncolumns <= S_COLUMNS_MAX);
    for (size_t c = 0; c < self->ncolumns; c++) {
        self->headers [c] = list? ctl_list_header (list, c): _(columns [c].header);
        self->right [c] = list? ctl_list_right (list, c): columns [c].right;
        self->widths [c] = list? 0: columns [c].min;
    }
}

/* The cells of an item's row: newly allocated strings. */
static void
s_page_cells (ctl_t *ctl, s_pages_t *self, const msgpack_object *item, char **cells)
{
    if (self->row)
        self->row (ctl, item, cells);
    else
        for (size_t c = 0; c < self->ncolumns; c++)
            cells [c] = strdup (ctl_list_cell (self->list, c, item));
}

/* A cell padded to its column's width, unless nothing follows it in the row
   (no trailing blanks). */
static void
s_page_cell (ctl_table_t *table, s_pages_t *self, char **cells, size_t c)
{
    bool more = false;
    for (size_t next = c + 1; next < self->ncolumns; next++)
        more = more || *cells [next];
    if (!more && !self->right [c]) {
        ctl_table_add (table, "%s", cells [c]);
        return;
    }
    char *padded = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&padded, &size);
    assert (out);
    ctl_text_pad (out, cells [c], self->widths [c], self->right [c]);
    fclose (out);
    ctl_table_add (table, "%s", padded);
    free (padded);
}

/* Print count items of a page; the header before the first item of the run. */
static void
s_page_print (ctl_t *ctl, s_pages_t *self, const msgpack_object *items, uint32_t count)
{
    if (count == 0)
        return;
    char ***rows = calloc (count + 1, sizeof (char **));
    assert (rows);
    char *headers [S_COLUMNS_MAX];
    for (size_t c = 0; c < self->ncolumns; c++)
        headers [c] = (char *) self->headers [c];
    if (self->items == 0)
        rows [count] = headers;
    for (uint32_t r = 0; r < count; r++) {
        rows [r] = calloc (self->ncolumns, sizeof (char *));
        assert (rows [r]);
        s_page_cells (ctl, self, &items [r], rows [r]);
        for (size_t c = 0; c < self->ncolumns; c++)
            if (!rows [r][c])
                rows [r][c] = strdup ("");
    }
    for (uint32_t r = 0; r <= count; r++)
        for (size_t c = 0; rows [r] && c < self->ncolumns; c++) {
            size_t width = ctl_text_width (rows [r][c]);
            self->widths [c] = width > self->widths [c]? width: self->widths [c];
        }
    ctl_table_t *table = ctl_table_new ();
    if (rows [count]) {
        for (size_t c = 0; c < self->ncolumns; c++)
            s_page_cell (table, self, rows [count], c);
        ctl_table_row (table);
    }
    for (uint32_t r = 0; r < count; r++) {
        for (size_t c = 0; c < self->ncolumns; c++)
            s_page_cell (table, self, rows [r], c);
        ctl_table_row (table);
    }
    ctl_table_print (table, ctl->out);
    fflush (ctl->out);
    ctl_table_destroy (&table);
    for (uint32_t r = 0; r < count; r++) {
        for (size_t c = 0; c < self->ncolumns; c++)
            free (rows [r][c]);
        free (rows [r]);
    }
    free (rows);
}

int
ctl_limit (ctl_line_t *line, const char *text, uint64_t *limit)
{
    *limit = 0;
    if (!text)
        return CTL_OK;
    char *end;
    errno = 0;
    *limit = strtoull (text, &end, 10);
    if (!isdigit ((unsigned char) *text) || *end || errno || *limit == 0)
        return ctl_usage (line, "--limit takes a number of items (1 or more), not '%s'", text);
    return CTL_OK;
}

/* Request one page of op: the command's args plus its cursor and a limit:
   what is left of `wanted`, at most `most`; without `wanted`, none on the
   first page (a small list is one request) and `most` on the others. */
static int
s_page_request (ctl_t *self, ctl_line_t *line, const char *op, uint64_t wanted,
                uint64_t have, uint64_t most, const char *cursor, bool json,
                proto_reply_t *reply)
{
    args_t args;
    args_init (&args);
    msgpack_sbuffer_write (&args.body, line->req.body.data, line->req.body.size);
    args.count = line->req.count;
    uint64_t left = wanted? wanted - have: most;
    if (wanted || cursor)
        args_uint (&args, "limit", left < most? left: most);
    args_str (&args, "cursor", cursor);
    int rc = s_request (self, op, &args, reply, json);
    args_destroy (&args);
    return rc;
}

void
ctl_json_items (ctl_t *self, const msgpack_object *items, uint32_t count, uint64_t before)
{
    for (uint32_t i = 0; i < count; i++) {
        if (!self->jsonl)
            fputs (before + i? ",": "", self->out);
        ctl_json_print (self->out, &items->via.array.ptr [i]);
        if (self->jsonl)
            fputc ('\n', self->out);
    }
}

/* The cursor of the page after this one (a new string), NULL at the end
   or once `wanted` items have come; *rc fails on a server that loops. */
static char *
s_page_following (ctl_t *self, const char *op, const msgpack_object *next,
                  const char *cursor, uint64_t wanted, uint64_t have, int *rc)
{
    bool more = *rc == CTL_OK && next && next->type == MSGPACK_OBJECT_STR
             && next->via.str.size && (!wanted || have < wanted);
    char *following = more? strndup (next->via.str.ptr, next->via.str.size): NULL;
    if (following && cursor && streq (following, cursor))
        *rc = ctl_fail (self, "%s answered the cursor it was given: the server is "
                        "looping, stopped after %" PRIu64 " items", op, have);
    return following;
}

int
ctl_follow (ctl_t *self, ctl_line_t *line, const char *op, const char *key, uint64_t wanted,
            uint64_t most, ctl_page_fn *page, void *arg)
{
    most = most? most: S_PAGE_MAX;
    char *cursor = NULL;
    uint64_t have = 0;
    int rc = CTL_OK;
    for (self->page = 0; rc == CTL_OK; self->page++) {
        //  Every page is the command's args plus its limit and cursor; only
        //  the first one's failure is the JSON document on stdout
        proto_reply_t reply;
        rc = s_page_request (self, line, op, wanted, have, most, cursor,
                             self->json && self->page == 0, &reply);
        if (rc)
            break;
        const msgpack_object *items = ctl_array (reply.result, key);
        const msgpack_object *next = proto_map_get (reply.result, "next");
        uint32_t count = items? items->via.array.size: 0;
        if (wanted && count > wanted - have)
            count = (uint32_t) (wanted - have);
        //  The lists of 6.0 always hold "items"; an older list missing from
        //  its result shows as an empty one, as before paging
        if (!items && reply.result && streq (key, "items"))
            rc = ctl_fail (self, "%s answered no items list: is the server older than "
                           "this duotangctl?", op);
        else
            page (self, reply.result, items, count, have, arg);
        have += count;
        char *following = s_page_following (self, op, next, cursor, wanted, have, &rc);
        proto_reply_release (&reply);
        free (cursor);
        cursor = following;
        ctl_print_release ();           /* a long list need not pile up its texts */
        if (!cursor)
            break;
    }
    free (cursor);
    return rc;
}

/* --json and --jsonl of a list, page by page: JSON lines, or one document
   begun by the first page: an array of the items (key NULL), or the first
   page's other pairs and key with every item. */
typedef struct {
    const char *key;
    bool open;
} s_json_list_t;

/* Begin the JSON document with the first page's pairs other than the list. */
static void
s_json_open (ctl_t *self, const char *key, const msgpack_object *result)
{
    fputc ('{', self->out);
    for (uint32_t i = 0; result && i < result->via.map.size; i++) {
        const msgpack_object_kv *pair = &result->via.map.ptr [i];
        if (pair->key.type != MSGPACK_OBJECT_STR
        ||  (pair->key.via.str.size == 4 && memcmp (pair->key.via.str.ptr, "next", 4) == 0)
        ||  (pair->key.via.str.size == strlen (key)
             && memcmp (pair->key.via.str.ptr, key, strlen (key)) == 0))
            continue;
        ctl_json_print (self->out, &pair->key);
        fputc (':', self->out);
        ctl_json_print (self->out, &pair->val);
        fputc (',', self->out);
    }
    fprintf (self->out, "\"%s\":[", key);
}

static void
s_json_page (ctl_t *self, s_json_list_t *list, const msgpack_object *result,
             const msgpack_object *items, uint32_t count, uint64_t before)
{
    if (!self->jsonl && !list->open) {
        if (list->key)
            s_json_open (self, list->key, result);
        else
            fputc ('[', self->out);
        list->open = true;
    }
    ctl_json_items (self, items, count, before);
}

static void
s_json_close (ctl_t *self, s_json_list_t *list)
{
    if (list->open)
        fputs (list->key? "]}\n": "]\n", self->out);
}

/* A list as it is printed, page by page: JSON, or text by a table or by
   a show function. */
typedef struct {
    s_json_list_t json;
    s_pages_t pages;            /* the table, or */
    ctl_show_fn *show;          /* what shows each page */
} s_list_out_t;

static void
s_list_page (ctl_t *self, const msgpack_object *result, const msgpack_object *items,
             uint32_t count, uint64_t before, void *arg)
{
    s_list_out_t *list = arg;
    if (self->json || self->jsonl)
        s_json_page (self, &list->json, result, items, count, before);
    else
    if (list->show) {
        //  The page as it came, cut to what was wanted
        if (items && count < items->via.array.size)
            ((msgpack_object *) items)->via.array.size = count;
        list->show (self, result);
        fflush (self->out);
    }
    else {
        s_page_print (self, &list->pages, count? items->via.array.ptr: NULL, count);
        list->pages.items += count;
    }
}

/* Follow the list into list's printer; a table says "(none)" when no item
   came. */
static int
s_call_out (ctl_t *self, ctl_line_t *line, const char *op, const char *key, uint64_t wanted,
            uint64_t most, s_list_out_t *list)
{
    int rc = ctl_follow (self, line, op, key, wanted, most, s_list_page, list);
    s_json_close (self, &list->json);
    if (rc == CTL_OK && !list->show && !self->json && !self->jsonl && list->pages.items == 0)
        fprintf (self->out, _("(none)\n"));
    ctl_print_release ();
    return rc;
}

int
ctl_call_pages (ctl_t *self, ctl_line_t *line, const char *op, uint64_t wanted,
                const ctl_column_t *columns, ctl_row_fn *row)
{
    s_list_out_t list = { .json = { NULL, false } };
    s_pages_init (&list.pages, columns, row, NULL);
    return s_call_out (self, line, op, "items", wanted, 0, &list);
}

int
ctl_call_table (ctl_t *self, ctl_line_t *line, const char *op, const char *key,
                const ctl_list_table_t *table)
{
    s_list_out_t list = { .json = { key, false } };
    s_pages_init (&list.pages, NULL, NULL, table);
    return s_call_out (self, line, op, key, 0, 0, &list);
}

int
ctl_call_list (ctl_t *self, ctl_line_t *line, const char *op, const char *key,
               uint64_t wanted, uint64_t most, ctl_show_fn *show)
{
    s_list_out_t list = { .json = { key, false }, .show = show };
    return s_call_out (self, line, op, key, wanted, most, &list);
}

//  Self-test: parsing and dispatch without a server (the command modules
//  test their requests against ctl_fake)

int
ctl_run_text (const char *endpoint, int timeout_ms, const char *cmdline, char **out,
              char **err)
{
    ctl_t ctl;
    ctl_init (&ctl);
    size_t out_size, err_size;
    ctl.out = open_memstream (out, &out_size);
    ctl.err = open_memstream (err, &err_size);
    ctl.opts.endpoint = endpoint;
    ctl.opts.insecure = true;
    ctl.opts.timeout_ms = timeout_ms;
    char *copy = strdup (cmdline);
    char *argv [64];
    int argc = 0;
    for (char *save = NULL, *token = strtok_r (copy, " ", &save); token && argc < 64;
         token = strtok_r (NULL, " ", &save))
        argv [argc++] = token;
    int rc = ctl_run (&ctl, argc, argv);
    ctl_destroy (&ctl);
    fclose (ctl.out);
    fclose (ctl.err);
    free (copy);
    return rc;
}

static int
s_run (const char *cmdline, char **out, char **err)
{
    return ctl_run_text ("inproc://ctl-test-nobody", 50, cmdline, out, err);
}

static void
s_expect (const char *cmdline, int code, const char *out, const char *err)
{
    char *got_out, *got_err;
    int rc = s_run (cmdline, &got_out, &got_err);
    if (rc != code || !strstr (got_out, out) || !strstr (got_err, err)) {
        fprintf (stderr, "\n%s: expected %d [%s] [%s]\n got %d [%s] [%s]\n", cmdline,
                 code, out, err, rc, got_out, got_err);
        assert (false);
    }
    free (got_out);
    free (got_err);
}

/* Every command of the table sends an operation of the catalogue, with the
   catalogue's arguments (ctl_request refuses anything else): each command
   runs once against a fake server, with "1" for every argument and every
   option it cannot do without, or with the sample line below. */
static void
s_test_catalogue (void)
{
    char csv [] = "/tmp/ctl-catalogue-XXXXXX";
    int fd = mkstemp (csv);
    assert (fd >= 0);
    assert (write (fd, "id,name,referrer,group\nm-1,A,,\n", 31) == 31);
    close (fd);
    char activity_csv [] = "/tmp/ctl-catalogue-activity-XXXXXX";
    fd = mkstemp (activity_csv);
    assert (fd >= 0);
    assert (write (fd, "member,day,count\nm-1,2026-12-01,3\n", 34) == 34);
    close (fd);
    char content_json [] = "/tmp/ctl-catalogue-content-XXXXXX";
    fd = mkstemp (content_json);
    assert (fd >= 0);
    const char *row = "{\"type\":\"question\",\"member\":\"m-1\",\"text\":\"t\",\"at\":5}\n";
    assert (write (fd, row, strlen (row)) == (ssize_t) strlen (row));
    close (fd);
    char org_file [] = "/tmp/ctl-catalogue-org-XXXXXX";
    fd = mkstemp (org_file);
    assert (fd >= 0);
    const char *org_line = "# an export org file\nduotangctl officer add o-1 '张 三'\n";
    assert (write (fd, org_line, strlen (org_line)) == (ssize_t) strlen (org_line));
    close (fd);
    zcert_t *cert = zcert_new ();
    char import [64], allow [128], activity [96], content [96], org [96];
    snprintf (org, sizeof (org), "import org %s", org_file);
    snprintf (import, sizeof (import), "import members %s", csv);
    snprintf (activity, sizeof (activity), "activity import %s", activity_csv);
    snprintf (content, sizeof (content), "import content %s", content_json);
    snprintf (allow, sizeof (allow), "key allow k-1 --role hq-admin --public %s",
              zcert_public_txt (cert));
    const char *samples [][2] = {
        { "import members", import }, { "key allow", allow },
        { "activity import", activity }, { "import content", content },
        { "policy set", "policy set hall_cap=3" }, { "member role", "member role m-1 admin" },
        { "import org", org },
        { "key new", NULL }             /* local: writes a key pair, sends nothing */
    };
    ctl_fake_t *fake = ctl_fake_new ();
    ctl_fake_result_text (fake, "");
    size_t sent = 0;
    for (const ctl_cmd_t **group = s_groups; *group; group++)
        for (const ctl_cmd_t *cmd = *group; cmd->noun; cmd++) {
            char name [64], cmdline [512];
            snprintf (name, sizeof (name), "%s%s%s", cmd->noun, *cmd->verb? " ": "", cmd->verb);
            snprintf (cmdline, sizeof (cmdline), "%s --json", name);
            bool local = false;
            for (size_t i = 0; i < sizeof (samples) / sizeof (samples [0]); i++)
                if (streq (samples [i][0], name)) {
                    local = !samples [i][1];
                    if (samples [i][1])
                        snprintf (cmdline, sizeof (cmdline), "%s --json", samples [i][1]);
                }
            if (local)
                continue;
            if (streq (cmdline + strlen (name), " --json"))
                for (int i = 0; i < cmd->min_args; i++)
                    strcat (cmdline, " 1");
            //  Add each option the parser says is missing, until it runs
            int rc = CTL_USAGE;
            for (int round = 0; round < 4 && rc == CTL_USAGE; round++) {
                rc = ctl_fake_run (fake, cmdline);
                const char *missing = strstr (ctl_fake_err (fake), "missing --");
                if (rc == CTL_USAGE && missing) {
                    size_t len = strcspn (missing + 10, " \n");
                    snprintf (cmdline + strlen (cmdline), sizeof (cmdline) - strlen (cmdline),
                              " --%.*s 1", (int) len, missing + 10);
                }
            }
            char op [64];
            snprintf (op, sizeof (op), "%s", ctl_fake_request (fake));
            op [strcspn (op, " ")] = 0;
            //  (a command may fail on the fake's empty result: what it sent counts)
            if (rc == CTL_USAGE || !catalogue_find (op))
                fprintf (stderr, "\n%s: exit %d, sent [%s]: %s\n", cmdline, rc,
                         ctl_fake_request (fake), ctl_fake_err (fake));
            assert (rc != CTL_USAGE && catalogue_find (op));
            sent++;
        }
    assert (sent > 40);
    //  An operation or an argument the catalogue does not know is not sent
    ctl_t ctl;
    ctl_init (&ctl);
    size_t size;
    char *text = NULL;
    ctl.err = open_memstream (&text, &size);
    proto_reply_t reply;
    assert (ctl_request (&ctl, "hall.paint", NULL, &reply) == CTL_FAIL);
    args_t args;
    args_init (&args);
    args_str (&args, "id", "h-1");
    args_str (&args, "colour", "red");
    assert (ctl_request (&ctl, "hall.show", &args, &reply) == CTL_FAIL);
    args_destroy (&args);
    ctl_destroy (&ctl);
    fclose (ctl.err);
    assert (strstr (text, "hall.paint is not in the catalogue"));
    assert (strstr (text, "unknown argument \"colour\""));
    free (text);
    ctl_fake_destroy (&fake);
    zcert_destroy (&cert);
    unlink (csv);
    unlink (activity_csv);
    unlink (content_json);
    unlink (org_file);
}

void
ctl_test (bool verbose)
{
    (void) verbose;
    //  Help: every command answers --help with its synopsis on stdout
    for (const ctl_cmd_t **group = s_groups; *group; group++)
        for (const ctl_cmd_t *cmd = *group; cmd->noun; cmd++) {
            char cmdline [64], usage [256];
            snprintf (cmdline, sizeof (cmdline), "%s %s --help", cmd->noun, cmd->verb);
            snprintf (usage, sizeof (usage), "usage: duotangctl %s\n", cmd->synopsis);
            s_expect (cmdline, CTL_OK, usage, "");
            //  Each synopsis starts with its noun and verb
            assert (strncmp (cmd->synopsis, cmd->noun, strlen (cmd->noun)) == 0);
            assert (strstr (cmd->synopsis, cmd->verb));
            assert (cmd->handler && cmd->summary && cmd->min_args <= cmd->max_args);
        }
    s_expect ("hall --help", CTL_OK, "  hall merge ID --into HALL\n", "");
    s_expect ("help", CTL_OK, "  officer add ID NAME\n", "");

    //  Usage errors: exit 2, the reason and the command's usage on stderr
    s_expect ("", CTL_USAGE, "", "officer add");
    s_expect ("frobnicate", CTL_USAGE, "", "duotangctl: unknown command 'frobnicate'");
    s_expect ("hall", CTL_USAGE, "", "'hall' needs a command\nusage:\n  hall create");
    s_expect ("hall frob", CTL_USAGE, "", "unknown command 'hall frob'");
    s_expect ("hall merge h-1", CTL_USAGE, "",
              "duotangctl: missing --into\nusage: duotangctl hall merge ID --into HALL\n");
    s_expect ("hall merge --into h-2", CTL_USAGE, "", "hall merge needs 1 argument, got 0");
    s_expect ("hall merge h-1 h-3 --into h-2", CTL_USAGE, "", "unexpected argument 'h-3'");
    s_expect ("hall merge h-1 --into h-2 --into h-3", CTL_USAGE, "", "--into given twice");
    s_expect ("hall merge h-1 --into", CTL_USAGE, "", "option --into needs a value");
    s_expect ("hall merge h-1 --into h-2 --bogus", CTL_USAGE, "", "unknown option --bogus");
    s_expect ("hall merge h-1 --into h-2 -x", CTL_USAGE, "", "unknown option -x");
    s_expect ("hall set-cap h-1 lots", CTL_USAGE, "", "cap must be a number, not 'lots'");
    //  A negative number is a value, not an option (issue 13)
    s_expect ("hall set-cap h-1 -3", CTL_USAGE, "", "cap cannot be negative: '-3'");
    s_expect ("hall set-cap -- h-1 -3", CTL_USAGE, "", "cap cannot be negative");
    s_expect ("hall set-cap h-1 -3 --json", CTL_USAGE, "{\"error\":{\"code\":\"USAGE\"", "");
    s_expect ("hall set-cap h-1 99999999999999999999999", CTL_USAGE, "", "must be a number");
    s_expect ("hall dissolve h-1 --into h-2 --release", CTL_USAGE, "",
              "give --into or --release, not both");
    s_expect ("member join m-1", CTL_USAGE, "", "missing --hall or --branch");

    //  A well-formed command with nobody listening: one line, exit 1
    s_expect ("hall merge h-1 --into h-2", CTL_FAIL, "",
              "duotangctl: no answer from inproc://ctl-test-nobody: is the hub running?\n");

    s_test_catalogue ();
}

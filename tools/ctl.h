/* ctl.h -- duotangctl's core: the command table, per-command option parsing
   (getopt_long), one request per command (a list: one per page; a command
   that reads or shows times: policy.show first, once), and the output
   conventions:
   exit 0 on success; 1 with one line "duotangctl: message" on stderr on any
   error; 2 with the command's usage on a usage error. */
#ifndef CTL_H_INCLUDED
#define CTL_H_INCLUDED

#include "client.h"
#include "args.h"
#include "dt_time.h"
#include "ctl_lang.h"
#include "ctl_print.h"

#define CTL_OK     0
#define CTL_FAIL   1
#define CTL_USAGE  2

#define CTL_DEFAULT_ENDPOINT "tcp://127.0.0.1:7700"
#define CTL_OPTS_MAX 12

typedef struct {
    client_opts_t opts;         /* endpoint, keys, insecure, timeout */
    bool json;                  /* print results as one JSON document */
    bool jsonl;                 /* --jsonl: a list as one JSON line per item */
    uint64_t page;              /* while ctl_call_list streams: the page shown, from 0 */
    FILE *out;                  /* results (stdout) */
    FILE *err;                  /* errors and usage (stderr) */
    client_t *client;           /* connected by the first request */
    char zone [DT_TIME_ZONE_MAX + 1];   /* the policy's time zone, "" until
                                   ctl_zone fetched it (once per run) */
    const size_t *row_lines;    /* while an import is sent: the file line of each
                                   row, so that a server detail naming row index
                                   + 1 (PROTOCOL.md 6.12) prints the file's line */
    size_t nrows;
} ctl_t;

typedef struct _ctl_line_t ctl_line_t;
typedef struct _ctl_cmd_t ctl_cmd_t;

/* A command: checks what the parser cannot, builds line->req and makes its
   request (or does its local work). Returns CTL_OK, CTL_FAIL or CTL_USAGE
   (after ctl_usage). */
typedef int (ctl_fn) (ctl_t *ctl, ctl_line_t *line);
/* Prints a successful result for people (not used with --json). */
typedef void (ctl_show_fn) (ctl_t *ctl, const msgpack_object *result);

struct _ctl_cmd_t {
    const char *noun;
    const char *verb;           /* "" for a command that is a noun alone */
    const char *synopsis;       /* "hall merge ID --into HALL" */
    const char *options;        /* "into:! release tag:*": ':' takes a value,
                                   '!' required, '*' may repeat */
    int min_args, max_args;     /* positional arguments */
    ctl_fn *handler;
    const char *summary;        /* one line for --help */
};

typedef struct {
    int opt;                    /* index in ctl_line_t.opt */
    const char *value;
} ctl_given_t;

/* A parsed command line. */
struct _ctl_line_t {
    const ctl_cmd_t *cmd;
    char **argv;                /* positional arguments */
    int argc;
    args_t req;             /* the request's args, built by the handler */
    struct {
        char name [24];
        bool value, required, repeat;
    } opt [CTL_OPTS_MAX + 3];   /* + help, json, jsonl */
    int nopts;
    ctl_given_t *given;         /* each option as given, in order */
    char **words;               /* argv, positional arguments last (owned) */
    int ngiven;
    char why [DT_ERR_MSG_MAX];  /* the reason of a usage error, for people */
    char why_en [DT_ERR_MSG_MAX];   /* the same in English, for --json */
};

/* Set up with stdout/stderr and no connection; ctl_destroy disconnects. */
void ctl_init (ctl_t *self);
void ctl_destroy (ctl_t *self);

/* Run one command: argv [0] is the noun. Returns the exit code. */
int ctl_run (ctl_t *self, int argc, char **argv);
/* Run one command line (split at spaces) in insecure mode against endpoint,
   its output and errors into new strings *out and *err (caller frees). For
   self-tests. Returns the exit status. */
int ctl_run_text (const char *endpoint, int timeout_ms, const char *cmdline, char **out,
                  char **err);

/* Print the synopsis of every command (of noun, when not NULL). */
void ctl_help (FILE *out, const char *noun);

//  For handlers

/* An option's value ("" for a flag), the last one when repeated; NULL if absent. */
const char *ctl_opt (ctl_line_t *line, const char *name);
/* All values given for a repeatable option, in order; returns how many. */
size_t ctl_opt_all (ctl_line_t *line, const char *name, const char **values, size_t max);
/* Record why the command line is wrong (fmt is translated); returns CTL_USAGE. */
int ctl_usage (ctl_line_t *line, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* Exactly one (or, if !required, at most one) of two options: CTL_OK or CTL_USAGE. */
int ctl_one_of (ctl_line_t *line, const char *a, const char *b, bool required);
/* Parse a number (a positional argument or an option value; NULL = absent,
   nothing added) and add it to the request as key. CTL_OK or CTL_USAGE. */
int ctl_put_uint (ctl_line_t *line, const char *key, const char *text, const char *what);
/* Before a request whose result shows times (not with --json): have the zone
   so that they print as "2026-12-01 20:18:33 +08:00". A policy without a
   usable zone, or a refused policy.show, leaves them in UTC ("...Z");
   CTL_FAIL (error printed) only when the server does not answer. */
int ctl_show_zone (ctl_t *self);
/* Add option `name`'s values (repeated and/or comma-separated) as an array. */
void ctl_put_list (ctl_line_t *line, const char *key, const char *name);

/* Make the request op with line->req and print its result with show (or as
   JSON). Returns CTL_OK or CTL_FAIL (error printed). */
int ctl_call (ctl_t *self, ctl_line_t *line, const char *op, ctl_show_fn *show);
/* The request alone: on CTL_OK the caller reads reply->result and releases
   the reply; on CTL_FAIL the error is printed and nothing is left to release. */
int ctl_request (ctl_t *self, const char *op, args_t *args, proto_reply_t *reply);
/* Send a request without waiting for its reply: its id into *id, or
   CTL_FAIL with the failure shown. */
int ctl_send (ctl_t *self, const char *op, args_t *args, uint64_t *id);
/* The reply to a request ctl_send sent, as ctl_request gives its own. */
int ctl_wait (ctl_t *self, uint64_t id, const char *op, proto_reply_t *reply);
/* Print a result as JSON or with show. */
void ctl_result (ctl_t *self, const msgpack_object *result, ctl_show_fn *show);
/* {"error":{"code":..,"message":..[,"reason":..]}} on the output stream: the
   --json form of a usage or connection error (reason NULL for none). */
void ctl_json_error (ctl_t *self, const char *code, const char *reason, const char *message);
/* Print "duotangctl: message" on the error stream (fmt is translated);
   returns CTL_FAIL. */
int ctl_fail (ctl_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

//  Times, in the policy's time zone

/* The policy's time zone: policy.show is asked the first time, then the zone
   is kept for the run. NULL (error printed) when the server cannot say or the
   zone is not in this machine's tz database (times would be wrong). */
const char *ctl_zone (ctl_t *self);
/* Add option `name`'s value (absent = nothing added) to the request as key: a
   time local to the policy's zone unless it has an offset, a date, or ms
   (dt_time_parse). The syntax is checked before the zone is fetched. Returns
   CTL_OK, CTL_USAGE or CTL_FAIL (the zone could not be had). */
int ctl_put_time (ctl_t *self, ctl_line_t *line, const char *key, const char *name);
/* map[key] as "2026-12-01 20:18 +08:00" in the zone (ctl_zone must have
   succeeded), "-" when absent or not a number. Returns out (32 bytes do). */
const char *ctl_local (ctl_t *self, const msgpack_object *map, const char *key, char *out,
                       size_t size);

//  Lists that page (PROTOCOL.md 6.0): { items: [...], next: str|nil }

typedef struct {
    const char *header;         /* NULL ends a column list */
    bool right;                 /* right-aligned (numbers) */
    size_t min;                 /* columns it takes at least: the widest of a
                                   known set of values, so a later page's
                                   does not move the columns after it */
} ctl_column_t;

/* One table row for an item: a newly allocated string for each column
   (strdup, zsys_sprintf); ctl_call_pages frees them. */
typedef void (ctl_row_fn) (ctl_t *ctl, const msgpack_object *item, char **cells);

/* Read --limit's text (NULL = absent: *limit = 0, every item): a count of
   items, 1 or more. CTL_OK or CTL_USAGE. */
int ctl_limit (ctl_line_t *line, const char *text, uint64_t *limit);

/* Print count items of a list page: one JSON line each with --jsonl, else as
   elements of a JSON array of which `before` items are printed already. */
void ctl_json_items (ctl_t *self, const msgpack_object *items, uint32_t count,
                     uint64_t before);

/* What a list follower does with each page as it arrives: the result, its
   list (NULL when the result has none), how many of the list's items to
   take (cut to what was wanted) and how many came before them. */
typedef void (ctl_page_fn) (ctl_t *self, const msgpack_object *result,
                            const msgpack_object *items, uint32_t count, uint64_t before,
                            void *arg);

/* The one list follower: make the list request op with line->req (plus
   limit and cursor) and follow `next` until it is nil or `wanted` items (0
   = no limit) have come, the list being result[key] ("items", or the names
   of the lists older than 6.0: branches, halls, rows, ...). The first page
   asks for the server's default number of items (a small list is one
   request) or `wanted`, each later one for what is left, at most `most`
   (the op's largest limit; 0: 1000). page gets each page as it comes;
   ctl->page counts them from 0; memory stays that of one page. CTL_OK or
   CTL_FAIL (error printed; with --json only the first page's failure is a
   JSON document on stdout: the caller closes what it began). */
int ctl_follow (ctl_t *self, ctl_line_t *line, const char *op, const char *key, uint64_t wanted,
                uint64_t most, ctl_page_fn *page, void *arg);

/* A list of 6.0 ("items") printed a page at a time as it arrives: one
   table whose columns start from the first page and only ever widen, its
   header once; "(none)" when no item came. With --json, one JSON array of
   every item; with --jsonl, a line per item. CTL_OK or CTL_FAIL. */
int ctl_call_pages (ctl_t *self, ctl_line_t *line, const char *op, uint64_t limit,
                    const ctl_column_t *columns, ctl_row_fn *row);

/* The same for a list older than 6.0 (result[key]) with one of the list
   tables of ctl_print.h; --json prints one document: the first page's other
   pairs, then key with every item. */
int ctl_call_table (ctl_t *self, ctl_line_t *line, const char *op, const char *key,
                    const ctl_list_table_t *table);

/* The same, each page shown by show (its list cut to what was wanted), for
   lists that are not one table (the tree, export rows, audit entries). */
int ctl_call_list (ctl_t *self, ctl_line_t *line, const char *op, const char *key,
                   uint64_t wanted, uint64_t most, ctl_show_fn *show);

/* The command groups (ctl_cmds_*.c), each ended by a NULL noun. */
extern const ctl_cmd_t ctl_org_cmds [];
extern const ctl_cmd_t ctl_member_cmds [];
extern const ctl_cmd_t ctl_orgfile_cmds [];
extern const ctl_cmd_t ctl_admin_cmds [];
extern const ctl_cmd_t ctl_report_cmds [];
extern const ctl_cmd_t ctl_policy_cmds [];
extern const ctl_cmd_t ctl_content_cmds [];

void ctl_test (bool verbose);

#endif

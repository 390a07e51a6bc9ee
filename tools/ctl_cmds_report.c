/* ctl_cmds_report.c -- reports: the tree with seats against caps, the audit log,
   and cadence and health (PROTOCOL.md 6.13): summaries, tables, CSV and JSON lines. */
#include "ctl.h"
#include "ctl_print.h"
#include "ctl_text.h"
#include "ctl_time.h"
#include "ctl_fake.h"
#include "op.h"
#include "ctl_csv.h"
#include "ctl_json.h"

/* A page of the tree (ctl_call_list streams them): the hq line first, then
   one table for a page's branch and hall lines, so their columns line up. */
static void
s_show_tree (ctl_t *ctl, const msgpack_object *result)
{
    const msgpack_object *hq = proto_map_get (result, "hq");
    const msgpack_object *branches = ctl_array (result, "branches");
    uint32_t nbranches = branches? branches->via.array.size: 0;
    uint64_t halls = 0;
    for (uint32_t b = 0; b < nbranches; b++)
        halls += ctl_u (&branches->via.array.ptr [b], "halls");
    //  hq counts the whole tree (a server before paging: this one page)
    if (ctl->page == 0 && proto_map_get (hq, "branches"))
        fprintf (ctl->out, _("hq  officers %s  members %s  unplaced %s  branches %s  halls %s\n"),
                 ctl_v (hq, "officers"), ctl_v (hq, "members"), ctl_v (hq, "unplaced"),
                 ctl_v (hq, "branches"), ctl_v (hq, "halls"));
    else
    if (ctl->page == 0)
        fprintf (ctl->out, _("hq  officers %s  members %s  unplaced %s  branches %u  halls %"
                 PRIu64 "\n"), ctl_v (hq, "officers"), ctl_v (hq, "members"),
                 ctl_v (hq, "unplaced"), nbranches, halls);
    ctl_table_t *table = ctl_table_new ();
    for (uint32_t b = 0; b < nbranches; b++) {
        const msgpack_object *branch = &branches->via.array.ptr [b];
        const msgpack_object *node = proto_map_get (branch, "node");
        ctl_table_add (table, "%s (%s)", ctl_v (branch, "name"), ctl_v (branch, "id"));
        ctl_table_add (table, _("leader %s"), ctl_v (branch, "leader"));
        ctl_table_add (table, _("core %s/%s"), ctl_v (branch, "core_seats"), ctl_v (branch, "cap"));
        ctl_table_add (table, _("halls %s"), ctl_v (branch, "halls"));
        ctl_table_add (table, "%s%s", node && node->type == MSGPACK_OBJECT_STR? _("node "): "",
                       node && node->type == MSGPACK_OBJECT_STR? ctl_v (branch, "node"): "");
        ctl_table_row (table);
        const msgpack_object *list = ctl_array (branch, "hall_list");
        for (uint32_t h = 0; list && h < list->via.array.size; h++) {
            const msgpack_object *hall = &list->via.array.ptr [h];
            ctl_table_add (table, "  %s (%s)", ctl_v (hall, "name"), ctl_v (hall, "id"));
            ctl_table_add (table, _("leader %s"), ctl_v (hall, "leader"));
            ctl_table_add (table, _("seats %s/%s"), ctl_v (hall, "seats"), ctl_v (hall, "cap"));
            ctl_table_row (table);
        }
    }
    ctl_table_print (table, ctl->out);
    ctl_table_destroy (&table);
}

#define CTL_AUDIT_CHANGES 12
#define CTL_AUDIT_MAX     10000     /* the largest limit of audit.list */

static void
s_show_audit (ctl_t *ctl, const msgpack_object *result)
{
    const msgpack_object *entries = ctl_array (result, "entries");
    for (uint32_t i = 0; entries && i < entries->via.array.size; i++) {
        const msgpack_object *entry = &entries->via.array.ptr [i];
        fprintf (ctl->out, "#%s  %s  %s  %s  ", ctl_v (entry, "seq"), ctl_when (entry, "ts"),
                 ctl_v (entry, "actor"), ctl_v (entry, "op"));
        ctl_print_args (ctl->out, proto_map_get (entry, "args"));
        fputc ('\n', ctl->out);
        //  A bulk command changes thousands of records: show the first ones
        //  (--json has them all)
        const msgpack_object *changes = ctl_array (entry, "changes");
        uint32_t count = changes? changes->via.array.size: 0;
        uint32_t shown = count > CTL_AUDIT_CHANGES? CTL_AUDIT_CHANGES: count;
        for (uint32_t c = 0; c < shown; c++)
            ctl_print_change (ctl->out, &changes->via.array.ptr [c]);
        //  A summary's changes are in its detail (PROTOCOL.md 6.8)
        uint64_t total = proto_map_get (entry, "changes_total")?
                         ctl_u (entry, "changes_total"): count;
        if (shown < total)
            fprintf (ctl->out, _("  ... and %" PRIu64 " more changes (%s)\n"), total - shown,
                     total > count? _("kept in the entry's detail, checked by audit verify"):
                     _("--json lists them all"));
    }
    if (ctl->page == 0 && (!entries || entries->via.array.size == 0))
        fprintf (ctl->out, _("(no entries)\n"));
}

/* TREE [--branch branch] */
static int
s_tree (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "branch", ctl_opt (line, "branch"));
    return ctl_call_list (ctl, line, "tree", "branches", 0, 0, s_show_tree);
}

/* AUDIT [--since time] [--limit n] */
static int
s_audit (ctl_t *ctl, ctl_line_t *line)
{
    uint64_t limit;
    if (ctl_limit (line, ctl_opt (line, "limit"), &limit))
        return CTL_USAGE;
    //  --since is local to the policy's zone, as every time shown
    int rc = ctl_put_time (ctl, line, "since", "since");
    if (rc == CTL_OK)
        rc = ctl_show_zone (ctl);
    //  A page cut short by its size goes on with the rest of the limit
    return rc? rc: ctl_call_list (ctl, line, "audit.list", "entries", limit, CTL_AUDIT_MAX,
                                  s_show_audit);
}

/* AUDIT VERIFY */
static int
s_audit_verify (ctl_t *ctl, ctl_line_t *line)
{
    proto_reply_t reply;
    if (ctl_request (ctl, "audit.verify", &line->req, &reply))
        return CTL_FAIL;
    const msgpack_object *result = reply.result;
    const msgpack_object *ok = proto_map_get (result, "ok");
    bool good = ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean;
    if (ctl->json)
        ctl_result (ctl, result, NULL);
    int rc = CTL_OK;
    if (!good)
        rc = ctl_fail (ctl, "audit log broken at entry %s of %s: %s", ctl_v (result, "first_bad"),
                       ctl_v (result, "entries"), ctl_v (result, "reason"));
    else
    if (!ctl->json)
        fprintf (ctl->out, _("OK: %s entries, hash chain intact\n"), ctl_v (result, "entries"));
    proto_reply_release (&reply);
    return rc;
}

//  Cadence and health (6.13)

#define S_TIME_MAX 40

/* --jsonl is every list command's (ctl.c): as an option value, "" or NULL. */
static const char *
s_jsonl (ctl_t *ctl)
{
    return ctl->jsonl? "": NULL;
}

/* The common options of a report: --branch, --period, --at, --limit, the
   zone for its times. */
static int
s_report_args (ctl_t *ctl, ctl_line_t *line, bool period, uint64_t *limit)
{
    if (ctl_limit (line, ctl_opt (line, "limit"), limit))
        return CTL_USAGE;
    args_str (&line->req, "branch", ctl_opt (line, "branch"));
    if (period && ctl_opt (line, "period")) {
        dt_period_t parsed;
        if (dt_period_parse (ctl_opt (line, "period"), &parsed))
            return ctl_usage (line, "--period takes day, week or month, not '%s'",
                              ctl_opt (line, "period"));
        args_str (&line->req, "period", ctl_opt (line, "period"));
    }
    if (ctl_opt (line, "csv") && s_jsonl (ctl))
        return ctl_usage (line, "give --csv or --jsonl, not both");
    int rc = ctl_put_time (ctl, line, "at", "at");
    if (rc == CTL_OK && !ctl->json && !ctl_zone (ctl))
        rc = CTL_FAIL;
    return rc;
}

/* One item as CSV records (a header first when header is set). */
typedef void (s_csv_fn) (ctl_t *ctl, const msgpack_object *item, bool header);

typedef struct {
    bool csv;
    s_csv_fn *records;
} s_stream_t;

static void
s_stream_page (ctl_t *ctl, const msgpack_object *result, const msgpack_object *items,
               uint32_t count, uint64_t before, void *arg)
{
    (void) result; (void) before;
    s_stream_t *self = arg;
    if (!self->csv)
        ctl_json_items (ctl, items, count, 0);     //  --jsonl: one line each
    for (uint32_t i = 0; self->csv && i < count; i++)
        self->records (ctl, &items->via.array.ptr [i], false);
}

/* Stream every page of op as CSV (csv set) or JSON lines, record by record. */
static int
s_stream (ctl_t *ctl, ctl_line_t *line, const char *op, bool csv, s_csv_fn *records)
{
    if (csv)
        records (ctl, NULL, true);
    s_stream_t stream = { csv, records };
    return ctl_follow (ctl, line, op, "items", 0, 1000, s_stream_page, &stream);
}

static void
s_csv (ctl_t *ctl, const char **fields, size_t count)
{
    ctl_csv_write (ctl->out, fields, count);
}

/* quotas[] of a compliance or streaks row: the one named quota, or NULL. */
static const msgpack_object *
s_quota (const msgpack_object *item, const char *quota)
{
    const msgpack_object *quotas = ctl_array (item, "quotas");
    for (uint32_t i = 0; quotas && i < quotas->via.array.size; i++)
        if (ctl_is (&quotas->via.array.ptr [i], "quota", quota))
            return &quotas->via.array.ptr [i];
    return NULL;
}

static const char *s_quota_names [] = { "articles", "stories", "videos", "gatherings" };

//  report compliance

static struct {
    uint64_t met [4], missed [4], awaiting [4], silent, branches, halls;
} s_total;

/* "3/1" met/missed, "+2?" awaiting */
static char *
s_cell_rollup (const msgpack_object *quotas, const char *quota)
{
    const msgpack_object *counts = proto_map_get (quotas, quota);
    if (!counts)
        return strdup ("-");
    if (ctl_u (counts, "awaiting"))
        return zsys_sprintf ("%" PRIu64 "/%" PRIu64 " +%" PRIu64 " awaiting",
                             ctl_u (counts, "met"), ctl_u (counts, "missed"),
                             ctl_u (counts, "awaiting"));
    return zsys_sprintf ("%" PRIu64 "/%" PRIu64, ctl_u (counts, "met"), ctl_u (counts, "missed"));
}

static const ctl_column_t s_rollup_columns [] = {
    { N_("BRANCH"), false, 0 }, { N_("NAME"), false, 0 }, { N_("NODE"), false, 0 },
    { N_("HALLS"), true, 0 }, { N_("ARTICLES"), false, 0 }, { N_("STORIES"), false, 0 },
    { N_("VIDEOS"), false, 0 }, { N_("GATHERINGS"), false, 0 }, { N_("SILENT"), true, 0 },
    { N_("WORST"), false, 0 }, { NULL, false, 0 }
};

static void
s_row_rollup (ctl_t *ctl, const msgpack_object *item, char **cells)
{
    (void) ctl;
    const msgpack_object *quotas = proto_map_get (item, "quotas");
    cells [0] = strdup (ctl_v (item, "branch"));
    cells [1] = strdup (ctl_v (item, "name"));
    cells [2] = strdup (ctl_v (item, "node"));
    cells [3] = strdup (ctl_v (item, "halls"));
    for (int q = 0; q < 4; q++) {
        cells [4 + q] = s_cell_rollup (quotas, s_quota_names [q]);
        const msgpack_object *counts = proto_map_get (quotas, s_quota_names [q]);
        s_total.met [q] += ctl_u (counts, "met");
        s_total.missed [q] += ctl_u (counts, "missed");
        s_total.awaiting [q] += ctl_u (counts, "awaiting");
    }
    cells [8] = strdup (ctl_v (item, "silent"));
    const msgpack_object *worst = proto_map_get (item, "worst");
    cells [9] = worst && worst->type == MSGPACK_OBJECT_MAP
              ? zsys_sprintf (_("%s %s missed %s in a row"), ctl_v (worst, "group"),
                              ctl_v (worst, "quota"), ctl_v (worst, "missing"))
              : strdup ("-");
    s_total.silent += ctl_u (item, "silent");
    s_total.branches++;
    s_total.halls += ctl_u (item, "halls");
}

/* "met 1/1", "missed 0/1", "awaiting n1", "-" (no such quota) */
static char *
s_cell_judged (const msgpack_object *item, const char *quota)
{
    const msgpack_object *judged = s_quota (item, quota);
    if (!judged)
        return strdup ("-");
    if (ctl_is (judged, "status", "awaiting"))
        return zsys_sprintf (_("awaiting node %s"), ctl_v (judged, "node"));
    if (ctl_is (judged, "status", "none"))
        return strdup (_("not counted yet"));
    return zsys_sprintf (_("%s %s/%s, run %s"), ctl_v (judged, "status"), ctl_v (judged, "count"),
                         ctl_v (judged, "need"), ctl_v (judged, "current"));
}

static const ctl_column_t s_judged_columns [] = {
    { N_("GROUP"), false, 0 }, { N_("NAME"), false, 0 }, { N_("ARTICLES"), false, 0 },
    { N_("STORIES"), false, 0 }, { N_("VIDEOS"), false, 0 }, { N_("GATHERINGS"), false, 0 },
    { NULL, false, 0 }
};

static void
s_row_judged (ctl_t *ctl, const msgpack_object *item, char **cells)
{
    (void) ctl;
    cells [0] = zsys_sprintf ("%s%s", ctl_is (item, "type", "hall")? "  ": "",
                              ctl_v (item, "group"));
    cells [1] = strdup (ctl_v (item, "name"));
    for (int q = 0; q < 4; q++)
        cells [2 + q] = s_cell_judged (item, s_quota_names [q]);
}

/* A row with quotas [] as CSV records, one per quota: the group's fields,
   then the quota's keys (absent or nil values empty). */
static void
s_csv_quotas (ctl_t *ctl, const msgpack_object *item, bool header, const char **keys,
              size_t nkeys)
{
    const char *fields [20] = { "group", "name", "branch", "type" };
    assert (nkeys <= 16);
    if (header) {
        for (size_t k = 0; k < nkeys; k++)
            fields [4 + k] = keys [k];
        s_csv (ctl, fields, 4 + nkeys);
        return;
    }
    const msgpack_object *quotas = ctl_array (item, "quotas");
    for (uint32_t i = 0; quotas && i < quotas->via.array.size; i++) {
        fields [0] = ctl_v (item, "group");
        fields [1] = ctl_v (item, "name");
        fields [2] = ctl_v (item, "branch");
        fields [3] = ctl_v (item, "type");
        for (size_t k = 0; k < nkeys; k++) {
            fields [4 + k] = ctl_v (&quotas->via.array.ptr [i], keys [k]);
            if (streq (fields [4 + k], "-"))
                fields [4 + k] = "";
        }
        s_csv (ctl, fields, 4 + nkeys);
    }
}

static void
s_csv_judged (ctl_t *ctl, const msgpack_object *item, bool header)
{
    static const char *keys [] = { "quota", "period", "status", "count", "need", "version",
                                   "node", "open", "open_count", "current", "longest",
                                   "missing" };
    s_csv_quotas (ctl, item, header, keys, 12);
}

/* REPORT COMPLIANCE [--branch B] [--period P] [--at TIME] [--detail] [--csv|--jsonl]
   [--limit N] */
static int
s_report_compliance (ctl_t *ctl, ctl_line_t *line)
{
    uint64_t limit;
    int rc = s_report_args (ctl, line, true, &limit);
    if (rc)
        return rc;
    bool csv = ctl_opt (line, "csv") != NULL, jsonl = s_jsonl (ctl) != NULL;
    bool detail = ctl_opt (line, "branch") || ctl_opt (line, "detail") || csv || jsonl;
    if (detail && !ctl_opt (line, "branch"))
        args_bool (&line->req, "detail", true);
    if (csv || jsonl)
        return s_stream (ctl, line, "report.compliance", csv, s_csv_judged);
    if (detail) {
        if (!ctl->json)
            fprintf (ctl->out, _("last closed period of each quota (count/need, run of met "
                     "periods)%s%s\n"), ctl_opt (line, "at")? " at ": "",
                     ctl_opt (line, "at")? ctl_opt (line, "at"): "");
        return ctl_call_pages (ctl, line, "report.compliance", limit, s_judged_columns,
                               s_row_judged);
    }
    memset (&s_total, 0, sizeof (s_total));
    if (!ctl->json)
        fprintf (ctl->out, _("groups met/missed in the last closed period of each quota, "
                 "per branch%s%s\n"), ctl_opt (line, "at")? " at ": "",
                 ctl_opt (line, "at")? ctl_opt (line, "at"): "");
    rc = ctl_call_pages (ctl, line, "report.compliance", limit, s_rollup_columns,
                         s_row_rollup);
    if (rc == CTL_OK && !ctl->json) {
        fprintf (ctl->out, _("organisation: %" PRIu64 " branches, %" PRIu64 " halls;"),
                 s_total.branches, s_total.halls);
        for (int q = 0; q < 4; q++)
            fprintf (ctl->out, " %s %" PRIu64 "/%" PRIu64 "%s", s_quota_names [q],
                     s_total.met [q], s_total.missed [q], q < 3? ",": ";");
        fprintf (ctl->out, _(" groups that missed every quota: %" PRIu64 "\n"), s_total.silent);
        uint64_t awaiting = 0;
        for (int q = 0; q < 4; q++)
            awaiting += s_total.awaiting [q];
        if (awaiting)
            fprintf (ctl->out, _("%" PRIu64 " judgements await a node's content\n"), awaiting);
    }
    return rc;
}

//  report health

static const ctl_column_t s_health_columns [] = {
    { N_("GROUP"), false, 0 }, { N_("NAME"), false, 0 }, { N_("STATE"), false, 7 },
    { N_("LAST"), false, 23 }, { N_("ACTIVE"), true, 0 }, { N_("FILL"), true, 0 },
    { N_("WHY / ADVICE"), false, 0 }, { NULL, false, 0 }
};

static void
s_row_health (ctl_t *ctl, const msgpack_object *item, char **cells)
{
    char last [S_TIME_MAX];
    if (ctl_is (item, "type", "officer")) {
        cells [0] = strdup (ctl_v (item, "officer"));
        cells [1] = strdup (ctl_v (item, "name"));
        cells [2] = strdup ("officer");
        cells [3] = strdup ("-");
        cells [4] = strdup ("-");
        cells [5] = strdup ("-");
        cells [6] = strdup (ctl_v (item, "problem"));
        return;
    }
    cells [0] = zsys_sprintf ("%s%s", ctl_is (item, "type", "hall")? "  ": "",
                              ctl_v (item, "group"));
    cells [1] = strdup (ctl_v (item, "name"));
    cells [2] = strdup (ctl_v (item, "state"));
    cells [3] = strdup (ctl_u (item, "last")? ctl_local (ctl, item, "last", last, sizeof (last))
                                            : "none");
    cells [4] = zsys_sprintf ("%s/%s", ctl_v (item, "active"), ctl_v (item, "seats"));
    cells [5] = zsys_sprintf ("%s%%", ctl_v (item, "fill_pct"));
    const msgpack_object *advice = proto_map_get (item, "advice");
    const msgpack_object *problem = proto_map_get (item, "problem");
    bool has_advice = advice && advice->type == MSGPACK_OBJECT_STR;
    bool has_problem = problem && problem->type == MSGPACK_OBJECT_STR;
    const char *why = ctl_v (item, "why");
    cells [6] = zsys_sprintf ("%s%s%s%s%s", has_advice? ctl_v (item, "advice"): why,
                              has_problem? "; ": "", has_problem? ctl_v (item, "problem"): "",
                              "", "");
}

static void
s_csv_health (ctl_t *ctl, const msgpack_object *item, bool header)
{
    static const char *keys [] = { "group", "name", "branch", "type", "seats", "cap",
                                   "fill_pct", "last", "idle_days", "active", "active_pct",
                                   "state", "why", "action", "into", "advice", "problem",
                                   "leader", "officer" };
    const char *fields [19];
    char last [S_TIME_MAX];
    for (int k = 0; k < 19; k++) {
        fields [k] = header? keys [k]: ctl_v (item, keys [k]);
        if (!header && streq (fields [k], "-"))
            fields [k] = "";
    }
    if (!header && ctl_u (item, "last"))
        fields [7] = ctl_local (ctl, item, "last", last, sizeof (last));
    s_csv (ctl, fields, 19);
}

/* REPORT HEALTH [--branch B] [--at TIME] [--all] [--csv|--jsonl] [--limit N] */
static int
s_report_health (ctl_t *ctl, ctl_line_t *line)
{
    uint64_t limit;
    int rc = s_report_args (ctl, line, false, &limit);
    if (rc)
        return rc;
    bool csv = ctl_opt (line, "csv") != NULL, jsonl = s_jsonl (ctl) != NULL;
    //  The summary: what needs attention; --all (and the streams) every group
    if (!ctl_opt (line, "all") && !csv && !jsonl)
        args_bool (&line->req, "dying", true);
    if (csv || jsonl)
        return s_stream (ctl, line, "report.health", csv, s_csv_health);
    return ctl_call_pages (ctl, line, "report.health", limit, s_health_columns, s_row_health);
}

//  report questions

static const ctl_column_t s_overdue_columns [] = {
    { N_("LEADER"), false, 0 }, { N_("QUESTION"), false, 0 }, { N_("MEMBER"), false, 0 },
    { N_("GROUP"), false, 0 }, { N_("ASKED"), false, 23 }, { N_("DEADLINE"), false, 23 },
    { N_("AGE"), true, 0 }, { NULL, false, 0 }
};

static void
s_row_overdue (ctl_t *ctl, const msgpack_object *item, char **cells)
{
    char asked [S_TIME_MAX], deadline [S_TIME_MAX];
    cells [0] = strdup (ctl_v (item, "leader"));
    cells [1] = strdup (ctl_v (item, "id"));
    cells [2] = strdup (ctl_v (item, "member"));
    cells [3] = strdup (ctl_v (item, "group"));
    cells [4] = strdup (ctl_local (ctl, item, "asked", asked, sizeof (asked)));
    cells [5] = strdup (ctl_local (ctl, item, "deadline", deadline, sizeof (deadline)));
    uint64_t hours = ctl_u (item, "age") / 3600000;
    cells [6] = hours >= 48? zsys_sprintf ("%" PRIu64 "d %" PRIu64 "h", hours / 24, hours % 24)
                           : zsys_sprintf ("%" PRIu64 "h", hours);
}

static void
s_csv_overdue (ctl_t *ctl, const msgpack_object *item, bool header)
{
    static const char *keys [] = { "leader", "id", "member", "group", "branch", "asked",
                                   "deadline", "age", "text" };
    const char *fields [9];
    char asked [S_TIME_MAX], deadline [S_TIME_MAX];
    for (int k = 0; k < 9; k++)
        fields [k] = header? keys [k]: ctl_v (item, keys [k]);
    if (!header) {
        fields [5] = ctl_local (ctl, item, "asked", asked, sizeof (asked));
        fields [6] = ctl_local (ctl, item, "deadline", deadline, sizeof (deadline));
    }
    s_csv (ctl, fields, 9);
}

/* REPORT QUESTIONS [--branch B] [--leader L] [--at TIME] [--csv|--jsonl] [--limit N] */
static int
s_report_questions (ctl_t *ctl, ctl_line_t *line)
{
    uint64_t limit;
    int rc = s_report_args (ctl, line, false, &limit);
    if (rc)
        return rc;
    args_str (&line->req, "leader", ctl_opt (line, "leader"));
    if (ctl_opt (line, "csv") || s_jsonl (ctl))
        return s_stream (ctl, line, "report.questions", ctl_opt (line, "csv") != NULL,
                         s_csv_overdue);
    return ctl_call_pages (ctl, line, "report.questions", limit, s_overdue_columns,
                           s_row_overdue);
}

//  report streaks

static const ctl_column_t s_streak_columns [] = {
    { N_("GROUP"), false, 0 }, { N_("NAME"), false, 0 }, { N_("ARTICLES"), false, 0 },
    { N_("STORIES"), false, 0 }, { N_("VIDEOS"), false, 0 }, { N_("GATHERINGS"), false, 0 },
    { NULL, false, 0 }
};

/* "run 3, best 7" or "missed 4 in a row, best 7" */
static char *
s_cell_streak (const msgpack_object *item, const char *quota)
{
    const msgpack_object *streak = s_quota (item, quota);
    if (!streak)
        return strdup ("-");
    if (ctl_u (streak, "missing"))
        return zsys_sprintf (_("missed %s in a row, best %s"), ctl_v (streak, "missing"),
                             ctl_v (streak, "longest"));
    return zsys_sprintf (_("run %s, best %s"), ctl_v (streak, "current"), ctl_v (streak, "longest"));
}

static void
s_row_streak (ctl_t *ctl, const msgpack_object *item, char **cells)
{
    (void) ctl;
    cells [0] = zsys_sprintf ("%s%s", ctl_is (item, "type", "hall")? "  ": "",
                              ctl_v (item, "group"));
    cells [1] = strdup (ctl_v (item, "name"));
    for (int q = 0; q < 4; q++)
        cells [2 + q] = s_cell_streak (item, s_quota_names [q]);
}

static void
s_csv_streak (ctl_t *ctl, const msgpack_object *item, bool header)
{
    static const char *keys [] = { "quota", "current", "longest", "missing", "met", "missed" };
    s_csv_quotas (ctl, item, header, keys, 6);
}

static const ctl_column_t s_worst_columns [] = {
    { N_("BRANCH"), false, 0 }, { N_("NAME"), false, 0 }, { N_("WORST"), false, 0 },
    { NULL, false, 0 }
};

static void
s_row_worst (ctl_t *ctl, const msgpack_object *item, char **cells)
{
    (void) ctl;
    const msgpack_object *worst = proto_map_get (item, "worst");
    cells [0] = strdup (ctl_v (item, "branch"));
    cells [1] = strdup (ctl_v (item, "name"));
    cells [2] = worst && worst->type == MSGPACK_OBJECT_MAP
              ? zsys_sprintf (_("%s %s missed %s in a row"), ctl_v (worst, "group"),
                              ctl_v (worst, "quota"), ctl_v (worst, "missing"))
              : strdup (_("no quota missing"));
}

/* REPORT STREAKS [--branch B] [--period P] [--at TIME] [--csv|--jsonl] [--limit N]
   Without --branch: the worst run of misses of each branch (report.compliance's
   summary); with it, every group's streaks. */
static int
s_report_streaks (ctl_t *ctl, ctl_line_t *line)
{
    uint64_t limit;
    int rc = s_report_args (ctl, line, true, &limit);
    if (rc)
        return rc;
    if (ctl_opt (line, "csv") || s_jsonl (ctl))
        return s_stream (ctl, line, "report.streaks", ctl_opt (line, "csv") != NULL,
                         s_csv_streak);
    if (ctl_opt (line, "branch"))
        return ctl_call_pages (ctl, line, "report.streaks", limit, s_streak_columns,
                               s_row_streak);
    return ctl_call_pages (ctl, line, "report.compliance", limit, s_worst_columns, s_row_worst);
}

const ctl_cmd_t ctl_report_cmds [] = {
    { "tree", "", "tree [--branch BRANCH]", "branch:", 0, 0, s_tree,
      N_("Show the organisation: branches with core seats and halls with seats against caps.")},
    { "audit", "", "audit [--since TIME] [--limit N]", "since: limit:", 0, 0, s_audit,
      N_("List audit entries with their changes (TIME: 2026-11-23, 2026-11-23T10:00, UTC "
      "unless it ends in Z or +08:00, or ms since 1970; N defaults to 100).")},
    { "audit", "verify", "audit verify", NULL, 0, 0, s_audit_verify,
      N_("Check the audit log's hash chain; exit 1 naming the first bad entry.")},
    { "report", "compliance", "report compliance [--branch B] [--period day|week|month] "
      "[--at TIME] [--detail] [--csv|--jsonl] [--limit N]",
      "branch: period: at: detail csv limit:", 0, 0, s_report_compliance,
      N_("Quotas met or missed in each group's last closed period: per branch rolled up, "
      "every group of --branch, or the whole detail (--detail, --csv, --jsonl).")},
    { "report", "health", "report health [--branch B] [--at TIME] [--all] [--csv|--jsonl] "
      "[--limit N]", "branch: at: all csv limit:", 0, 0, s_report_health,
      N_("Dormant and dead groups with the advice for each hall, leaders and officers out of "
      "rule (--all: every group).")},
    { "report", "questions", "report questions [--branch B] [--leader L] [--at TIME] "
      "[--csv|--jsonl] [--limit N]", "branch: leader: at: csv limit:", 0, 0,
      s_report_questions, N_("Questions past their deadline, by leader, with their age.")},
    { "report", "streaks", "report streaks [--branch B] [--period day|week|month] [--at TIME] "
      "[--csv|--jsonl] [--limit N]", "branch: period: at: csv limit:", 0, 0,
      s_report_streaks, N_("Runs of met and missed periods: the worst of each branch, or every "
      "group of --branch.")},
    { NULL }
};

//  Self-test

static void
s_queue_zone (ctl_fake_t *fake)
{
    ctl_fake_queue_text (fake, "version:=4 timezone=Asia/Shanghai");
}

/* A page { items: [one item], next: nil } around the map packed by `fill`. */
static void
s_page_begin (msgpack_sbuffer *result, msgpack_packer *pk, uint32_t count)
{
    msgpack_sbuffer_clear (result);
    msgpack_pack_map (pk, 2);
    proto_pack_key (pk, "next");
    msgpack_pack_nil (pk);
    proto_pack_key (pk, "items");
    msgpack_pack_array (pk, count);
}

static void
s_pack_rollup (msgpack_sbuffer *result, msgpack_packer *pk, const char *branch,
               const char *name, uint32_t met, uint32_t awaiting)
{
    msgpack_pack_map (pk, 7);
    proto_pack_key (pk, "branch"); proto_pack_str (pk, branch);
    proto_pack_key (pk, "name"); proto_pack_str (pk, name);
    proto_pack_key (pk, "node"); msgpack_pack_nil (pk);
    proto_pack_key (pk, "halls"); msgpack_pack_uint32 (pk, 2);
    proto_pack_key (pk, "quotas"); msgpack_pack_map (pk, 4);
    const char *quotas [] = { "articles", "stories", "videos", "gatherings" };
    for (int q = 0; q < 4; q++) {
        proto_pack_key (pk, quotas [q]);
        char text [120];
        snprintf (text, sizeof (text), "met:=%u missed:=1 awaiting:=%u uncounted:=0", met,
                  q == 0? awaiting: 0);
        op_args_text (text, result);
    }
    proto_pack_key (pk, "silent"); msgpack_pack_uint32 (pk, 0);
    proto_pack_key (pk, "worst");
    op_args_text ("group=h-9 quota=gatherings missing:=3", result);
}

static void
s_pack_judged_row (msgpack_sbuffer *result, msgpack_packer *pk, const char *group,
                   const char *name, const char *type, const char *quota, const char *status)
{
    msgpack_pack_map (pk, 5);
    proto_pack_key (pk, "group"); proto_pack_str (pk, group);
    proto_pack_key (pk, "name"); proto_pack_str (pk, name);
    proto_pack_key (pk, "branch"); proto_pack_str (pk, "b-1");
    proto_pack_key (pk, "type"); proto_pack_str (pk, type);
    proto_pack_key (pk, "quotas"); msgpack_pack_array (pk, 1);
    char text [300];
    snprintf (text, sizeof (text), "quota=%s period=2026-12-02 status=%s count:=0 need:=1 "
              "version:=2 node=%s open=2026-12-03 open_count:=0 current:=0 longest:=4 "
              "missing:=1", quota, status, streq (status, "awaiting")? "n1": "-");
    op_args_text (text, result);
}

static void
s_report_fake_test (ctl_fake_t *fake, msgpack_sbuffer *result, msgpack_packer *pk)
{
    s_page_begin (result, pk, 2);
    s_pack_rollup (result, pk, "b-chengdu", "成都分舵", 3, 2);
    s_pack_rollup (result, pk, "b-x", "X", 1, 0);
    ctl_fake_result (fake, result);
    s_queue_zone (fake);
    ctl_fake_expect (fake, "report compliance", CTL_OK, "report.compliance {}",
        "groups met/missed in the last closed period of each quota, per branch\n"
        "BRANCH     NAME      NODE  HALLS  ARTICLES         STORIES  VIDEOS  GATHERINGS  "
        "SILENT  WORST\n"
        "b-chengdu  成都分舵  -         2  3/1 +2 awaiting  3/1      3/1     3/1              "
        "0  h-9 gatherings missed 3 in a row\n"
        "b-x        X         -         2  1/1              1/1      1/1     1/1              "
        "0  h-9 gatherings missed 3 in a row\n"
        "organisation: 2 branches, 4 halls; articles 4/2, stories 4/2, videos 4/2, "
        "gatherings 4/2; groups that missed every quota: 0\n"
        "2 judgements await a node's content\n", "");
    s_queue_zone (fake);
    ctl_fake_expect (fake, "report compliance --period week --at 2026-12-03", CTL_OK,
        "report.compliance {\"period\":\"week\",\"at\":1796227200000}", NULL, "");
    ctl_fake_expect (fake, "report compliance --period year", CTL_USAGE, "", "", NULL);
    //  --jsonl asks for JSON, so the refusal is JSON on stdout too
    ctl_fake_expect (fake, "report compliance --csv --jsonl", CTL_USAGE, "",
        "{\"error\":{\"code\":\"USAGE\",\"message\":\"give --csv or --jsonl, not both\"}}\n",
        NULL);

    //  A branch's detail: a group per row, awaiting names the node
    s_page_begin (result, pk, 2);
    s_pack_judged_row (result, pk, "b-1", "成都分舵", "branch", "articles", "awaiting");
    s_pack_judged_row (result, pk, "h-1", "青羊堂口", "hall", "gatherings", "missed");
    ctl_fake_result (fake, result);
    s_queue_zone (fake);
    ctl_fake_expect (fake, "report compliance --branch b-1", CTL_OK,
        "report.compliance {\"branch\":\"b-1\"}",
        "last closed period of each quota (count/need, run of met periods)\n"
        "GROUP  NAME      ARTICLES          STORIES  VIDEOS  GATHERINGS\n"
        "b-1    成都分舵  awaiting node n1  -        -       -\n"
        "  h-1  青羊堂口  -                 -        -       missed 0/1, run 0\n", "");
    //  CSV: one record per group and quota, the whole detail
    s_queue_zone (fake);
    ctl_fake_expect (fake, "report compliance --csv", CTL_OK,
        "report.compliance {\"detail\":true}",
        "group,name,branch,type,quota,period,status,count,need,version,node,open,open_count,"
        "current,longest,missing\n"
        "b-1,成都分舵,b-1,branch,articles,2026-12-02,awaiting,0,1,2,n1,2026-12-03,0,0,4,1\n"
        "h-1,青羊堂口,b-1,hall,gatherings,2026-12-02,missed,0,1,2,,2026-12-03,0,0,4,1\n", "");
    //  JSON lines keep milliseconds: no zone is asked for
    ctl_fake_expect (fake, "report compliance --jsonl", CTL_OK,
        "report.compliance {\"detail\":true}", NULL, "");
    assert (strstr (ctl_fake_out (fake), "\"group\":\"h-1\""));
    assert (strchr (ctl_fake_out (fake), '\n') < strstr (ctl_fake_out (fake), "\"group\":\"h-1\""));
    //  Streaks of a branch
    s_queue_zone (fake);
    ctl_fake_expect (fake, "report streaks --branch b-1 --period day", CTL_OK,
        "report.streaks {\"branch\":\"b-1\",\"period\":\"day\"}", NULL, "");
    assert (strstr (ctl_fake_out (fake), "missed 1 in a row, best 4"));

    //  Health: the summary asks for the dying only; times in the zone
    s_page_begin (result, pk, 2);
    op_args_text ("group=h-1 name=青羊堂口 branch=b-1 type=hall seats:=10 cap:=30 fill_pct:=33 "
                  "last:=1796227200000 idle_days:=31 active:=0 active_pct:=0 state=dead "
                  "why=idle action=merge into=h-2 advice=merge_into_h-2 problem=leader_x "
                  "leader=m-1", result);
    op_args_text ("name=闲官 type=officer officer=o-9 problem=officer_o-9_leads_no_branch",
                  result);
    ctl_fake_result (fake, result);
    s_queue_zone (fake);
    ctl_fake_expect (fake, "report health", CTL_OK, "report.health {\"dying\":true}",
        "GROUP  NAME      STATE    LAST                     ACTIVE  FILL  WHY / ADVICE\n"
        "  h-1  青羊堂口  dead     2026-12-03 00:00 +08:00    0/10   33%  merge_into_h-2; "
        "leader_x\n"
        "o-9    闲官      officer  -                             -     -  "
        "officer_o-9_leads_no_branch\n", "");
    s_queue_zone (fake);
    ctl_fake_expect (fake, "report health --all --branch b-1", CTL_OK,
        "report.health {\"branch\":\"b-1\"}", NULL, "");

    //  Questions overdue, with their age
    s_page_begin (result, pk, 1);
    op_args_text ("id=q-1 member=m-2 group=h-2 branch=b-2 leader=m-lead asked:=1796227200000 "
                  "deadline:=1796313600000 age:=194400000 text=何时", result);
    ctl_fake_result (fake, result);
    s_queue_zone (fake);
    ctl_fake_expect (fake, "report questions --leader m-lead", CTL_OK,
        "report.questions {\"leader\":\"m-lead\"}",
        "LEADER  QUESTION  MEMBER  GROUP  ASKED                    DEADLINE                   AGE\n"
        "m-lead  q-1       m-2     h-2    2026-12-03 00:00 +08:00  2026-12-04 00:00 +08:00  "
        "2d 6h\n", "");
}

void
ctl_cmds_report_test (bool verbose)
{
    (void) verbose;
    ctl_fake_t *fake = ctl_fake_new ();
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &result, msgpack_sbuffer_write);

    //  The tree: wide names count two columns, so the columns line up
    msgpack_pack_map (&pk, 2);
    proto_pack_key (&pk, "hq");
    op_args_text ("officers:=3 members:=1200 unplaced:=50", &result);
    proto_pack_key (&pk, "branches");
    msgpack_pack_array (&pk, 2);
    msgpack_pack_map (&pk, 8);
    proto_pack_key (&pk, "id"); proto_pack_str (&pk, "b-chengdu");
    proto_pack_key (&pk, "name"); proto_pack_str (&pk, "成都分舵");
    proto_pack_key (&pk, "leader"); proto_pack_str (&pk, "o-1");
    proto_pack_key (&pk, "cap"); msgpack_pack_uint32 (&pk, 200);
    proto_pack_key (&pk, "core_seats"); msgpack_pack_uint32 (&pk, 12);
    proto_pack_key (&pk, "halls"); msgpack_pack_uint32 (&pk, 2);
    proto_pack_key (&pk, "node"); proto_pack_str (&pk, "n-1");
    proto_pack_key (&pk, "hall_list"); msgpack_pack_array (&pk, 2);
    op_args_text ("id=h-cd-01 name=青羊堂口 leader=m-7 seats:=28 cap:=30", &result);
    op_args_text ("id=h-cd-02 name=Wuhou leader=m-8 seats:=3 cap:=30", &result);
    msgpack_pack_map (&pk, 7);
    proto_pack_key (&pk, "id"); proto_pack_str (&pk, "b-x");
    proto_pack_key (&pk, "name"); proto_pack_str (&pk, "X");
    proto_pack_key (&pk, "leader"); proto_pack_str (&pk, "o-22");
    proto_pack_key (&pk, "cap"); msgpack_pack_uint32 (&pk, 200);
    proto_pack_key (&pk, "core_seats"); msgpack_pack_uint32 (&pk, 0);
    proto_pack_key (&pk, "halls"); msgpack_pack_uint32 (&pk, 0);
    proto_pack_key (&pk, "node"); msgpack_pack_nil (&pk);
    ctl_fake_result (fake, &result);
    ctl_fake_expect (fake, "tree", CTL_OK, "tree {}",
        "hq  officers 3  members 1200  unplaced 50  branches 2  halls 2\n"
        "成都分舵 (b-chengdu)  leader o-1   core 12/200  halls 2  node n-1\n"
        "  青羊堂口 (h-cd-01)  leader m-7   seats 28/30\n"
        "  Wuhou (h-cd-02)     leader m-8   seats 3/30\n"
        "X (b-x)               leader o-22  core 0/200   halls 0\n", "");
    ctl_fake_expect (fake, "tree --branch b-x", CTL_OK, "tree {\"branch\":\"b-x\"}", NULL, "");

    //  Audit: TIME forms, the entry line and its changes
    msgpack_sbuffer_clear (&result);
    msgpack_pack_map (&pk, 1);
    proto_pack_key (&pk, "entries");
    msgpack_pack_array (&pk, 1);
    msgpack_pack_map (&pk, 6);
    proto_pack_key (&pk, "seq"); msgpack_pack_uint32 (&pk, 12);
    proto_pack_key (&pk, "ts"); msgpack_pack_int64 (&pk, 1795428030000LL);
    proto_pack_key (&pk, "actor"); proto_pack_str (&pk, "alice");
    proto_pack_key (&pk, "op"); proto_pack_str (&pk, "hall.rename");
    proto_pack_key (&pk, "args"); op_args_text ("id=h-1 name=新名", &result);
    proto_pack_key (&pk, "changes"); msgpack_pack_array (&pk, 1);
    msgpack_pack_map (&pk, 4);
    proto_pack_key (&pk, "table"); proto_pack_str (&pk, "hall");
    proto_pack_key (&pk, "key"); proto_pack_str (&pk, "h-1");
    proto_pack_key (&pk, "before"); op_args_text ("id=h-1 name=旧名 seats:=3", &result);
    proto_pack_key (&pk, "after");
    op_args_text ("id=h-1 name=新名 seats:=3 created:=1795428030000", &result);
    ctl_fake_result (fake, &result);
    //  Without a zone in the policy, UTC
    const char *listing = "#12  2026-11-23T10:00:30Z  alice  hall.rename  id=h-1 name=新名\n"
                          "  ~ hall h-1  name 旧名→新名  created nil→2026-11-23T10:00:30Z\n";
    ctl_fake_expect (fake, "audit", CTL_OK, "audit.list {}", listing, "");
    //  In the policy's zone: what is read and what is shown (issue 13)
    const char *local = "#12  2026-11-23 18:00:30 +08:00  alice  hall.rename  id=h-1 "
                        "name=新名\n  ~ hall h-1  name 旧名→新名  created nil→2026-11-23 "
                        "18:00:30 +08:00\n";
    ctl_fake_queue_text (fake, "timezone=Asia/Shanghai");
    ctl_fake_expect (fake, "audit --since 2026-11-23 --limit 5", CTL_OK,
        "audit.list {\"since\":1795363200000,\"limit\":5}", local, "");
    ctl_fake_queue_text (fake, "timezone=Asia/Shanghai");
    ctl_fake_expect (fake, "audit --since 2026-11-23T18:00", CTL_OK,
        "audit.list {\"since\":1795428000000}", local, "");
    ctl_fake_queue_text (fake, "timezone=Asia/Shanghai");
    ctl_fake_expect (fake, "audit --since 1795428000000", CTL_OK,
        "audit.list {\"since\":1795428000000}", local, "");
    ctl_fake_expect (fake, "audit --json", CTL_OK, "audit.list {}", NULL, "");
    assert (strstr (ctl_fake_out (fake), "\"ts\":1795428030000"));
    ctl_fake_expect (fake, "audit --since yesterday", CTL_USAGE, "", "", NULL);
    ctl_fake_expect (fake, "audit --limit -1", CTL_USAGE, "", "", NULL);

    //  Verify: OK, or the first bad entry and exit 1
    ctl_fake_result_text (fake, "ok:=true entries:=1234");
    ctl_fake_expect (fake, "audit verify", CTL_OK, "audit.verify {}",
        "OK: 1234 entries, hash chain intact\n", "");
    ctl_fake_result_text (fake, "ok:=false entries:=1234 first_bad:=57 reason=hash_mismatch");
    ctl_fake_expect (fake, "audit verify", CTL_FAIL, "audit.verify {}", "",
        "duotangctl: audit log broken at entry 57 of 1234: hash_mismatch\n");
    ctl_fake_expect (fake, "audit verify --json", CTL_FAIL, "audit.verify {}",
        "{\"ok\":false,\"entries\":1234,\"first_bad\":57,\"reason\":\"hash_mismatch\"}\n", NULL);

    //  report compliance: the summary per branch, wide names aligned, totals
    s_report_fake_test (fake, &result, &pk);
    msgpack_sbuffer_destroy (&result);
    ctl_fake_destroy (&fake);
}

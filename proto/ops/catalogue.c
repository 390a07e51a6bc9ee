/* catalogue.c -- the operations of DTP/1 and their error codes, one line each. */
#include "catalogue.h"
#include "proto.h"

/* Membership writes: the hub judges them, a node forwards them (7.3). */
#define S_MEMBERSHIP (OP_HUB | OP_WRITE | OP_FORWARD)
/* Reads a node answers from its replica as the hub does from its store. */
#define S_REPLICA    (OP_HUB | OP_NODE)
/* Content writes: judged by whichever server is the group's authority. */
#define S_CONTENT_WRITE (OP_HUB | OP_NODE | OP_WRITE)

const catalogue_op_t catalogue_ops [] = {
    //  name               args                                    flags                        section errors
    { "hello",           "versions?",                              OP_HUB | OP_NODE,             "6.1", "" },
    { "officer.add",     "id name",                                OP_HUB | OP_WRITE | OP_HQ,    "6.2", "EXISTS" },
    { "officer.list",    "limit? cursor?",                         OP_HUB | OP_HQ | OP_LIST,                "6.2", "" },
    { "branch.create",   "id name leader cap?",                    OP_HUB | OP_WRITE | OP_HQ,    "6.3", "EXISTS NOT_FOUND" },
    { "branch.rename",   "id name",                                OP_HUB | OP_WRITE,            "6.3", "NOT_FOUND" },
    { "branch.set_cap",  "id cap",                                 OP_HUB | OP_WRITE,            "6.3", "NOT_FOUND FULL" },
    { "branch.handover", "id to",                                  OP_HUB | OP_WRITE | OP_HQ,    "6.3", "NOT_FOUND" },
    { "branch.dissolve", "id into? release?",                      OP_HUB | OP_WRITE | OP_HQ,    "6.3", "NOT_FOUND NOT_EMPTY FULL" },
    { "branch.assign",   "id node",                                OP_HUB | OP_WRITE | OP_HQ,    "6.3", "NOT_FOUND" },
    { "branch.list",     "limit? cursor?",                         S_REPLICA | OP_LIST,                     "6.3", "" },
    { "branch.show",     "id",                                     S_REPLICA,                    "6.3", "NOT_FOUND" },
    { "hall.create",     "id name branch leader cap?",             OP_HUB | OP_WRITE,            "6.4", "EXISTS NOT_FOUND RULE" },
    { "hall.rename",     "id name",                                OP_HUB | OP_WRITE,            "6.4", "NOT_FOUND" },
    { "hall.set_cap",    "id cap",                                 OP_HUB | OP_WRITE,            "6.4", "NOT_FOUND FULL" },
    { "hall.move",       "id to",                                  OP_HUB | OP_WRITE,            "6.4", "NOT_FOUND FULL RULE" },
    { "hall.merge",      "id into",                                OP_HUB | OP_WRITE,            "6.4", "NOT_FOUND FULL" },
    { "hall.split",      "id new_id new_name leader members",      OP_HUB | OP_WRITE,            "6.4", "NOT_FOUND EXISTS FULL RULE" },
    { "hall.handover",   "id to",                                  OP_HUB | OP_WRITE,            "6.4", "NOT_FOUND RULE" },
    { "hall.dissolve",   "id into? release?",                      OP_HUB | OP_WRITE,            "6.4", "NOT_FOUND NOT_EMPTY FULL" },
    { "hall.list",       "branch? limit? cursor?",                 S_REPLICA | OP_LIST,                     "6.4", "NOT_FOUND" },
    { "hall.show",       "id",                                     S_REPLICA,                    "6.4", "NOT_FOUND" },
    { "member.add",      "id name referrer? tags?",                S_MEMBERSHIP,                 "6.5", "EXISTS NOT_FOUND" },
    { "member.join",     "id hall? branch?",                       S_MEMBERSHIP,                 "6.5", "NOT_FOUND LOCKED FULL" },
    { "member.leave",    "id",                                     S_MEMBERSHIP,                 "6.5", "NOT_FOUND RULE" },
    { "member.transfer", "id hall? branch?",                       S_MEMBERSHIP,                 "6.5", "NOT_FOUND FULL RULE" },
    { "member.promote",  "id",                                     S_MEMBERSHIP,                 "6.5", "NOT_FOUND FULL RULE" },
    { "member.demote",   "id hall",                                S_MEMBERSHIP,                 "6.5", "NOT_FOUND FULL RULE" },
    { "member.role",     "id role",                                S_MEMBERSHIP,                 "6.5", "NOT_FOUND RULE" },
    { "member.show",     "id",                                     S_REPLICA,                    "6.5", "NOT_FOUND" },
    { "member.list",     "hall? branch? unplaced? limit? cursor?", S_REPLICA | OP_LIST,                     "6.5", "NOT_FOUND" },
    { "member.find",     "name limit? cursor?",                    S_REPLICA | OP_LIST,                     "6.5", "" },
    { "import.members",  "rows stage? part? last? update? dry_run?", S_MEMBERSHIP,               "6.6", "IMPORT_REJECTED" },
    { "export.members",  "branch? limit? cursor?",                 S_REPLICA | OP_LIST,                     "6.6", "NOT_FOUND" },
    { "tree",            "branch? limit? cursor?",                 S_REPLICA | OP_LIST,                     "6.7", "NOT_FOUND" },
    { "audit.list",      "since? limit? cursor?",                  OP_HUB | OP_HQ | OP_LIST,                "6.8", "" },
    { "audit.verify",    "",                                       OP_HUB | OP_HQ,               "6.8", "" },
    { "key.allow",       "name public_key role node? branches?",   OP_HUB | OP_WRITE | OP_HQ,    "6.9", "EXISTS NOT_FOUND" },
    { "key.revoke",      "name",                                   OP_HUB | OP_WRITE | OP_HQ,    "6.9", "NOT_FOUND RULE" },
    { "key.list",        "limit? cursor?",                         OP_HUB | OP_HQ,               "6.9", "" },
    { "node.add",        "id",                                     OP_HUB | OP_WRITE | OP_HQ,    "6.9", "EXISTS" },
    { "node.list",       "limit? cursor?",                         OP_HUB | OP_HQ,               "6.9", "" },
    { "request.status",  "ticket",                                 OP_NODE,                      "6.10", "NOT_FOUND" },
    { "policy.show",     "",                                       S_REPLICA,                    "6.11", "" },
    { "policy.set",      "changes",                                OP_HUB | OP_WRITE | OP_HQ,    "6.11", "FULL" },
    //  Content (6.12): every server answers; the authority for the group's branch
    //  judges writes, any other refuses them with MOVED naming it
    { "post.add",        "group kind title author id? at? topics? text? link? photos? seconds?",
                                                                   S_CONTENT_WRITE,              "6.12", "NOT_FOUND EXISTS MOVED RULE LIMIT" },
    { "post.show",       "id",                                     S_REPLICA,                    "6.12", "NOT_FOUND" },
    { "post.list",       "group kind? since? until? limit? cursor?", S_REPLICA,                  "6.12", "NOT_FOUND" },
    { "event.schedule",  "group kind title at place author id?",   S_CONTENT_WRITE,              "6.12", "NOT_FOUND EXISTS MOVED RULE" },
    { "event.held",      "id attendees author",                    S_CONTENT_WRITE,              "6.12", "NOT_FOUND MOVED RULE" },
    { "event.cancel",    "id author",                              S_CONTENT_WRITE,              "6.12", "NOT_FOUND MOVED RULE" },
    { "event.show",      "id",                                     S_REPLICA,                    "6.12", "NOT_FOUND" },
    { "event.list",      "group status? since? until? limit? cursor?", S_REPLICA,                "6.12", "NOT_FOUND" },
    { "question.ask",    "member text id? at?",                    S_CONTENT_WRITE,              "6.12", "NOT_FOUND EXISTS MOVED RULE" },
    { "question.answer", "id by text",                             S_CONTENT_WRITE,              "6.12", "NOT_FOUND MOVED RULE" },
    { "question.show",   "id",                                     S_REPLICA,                    "6.12", "NOT_FOUND" },
    { "question.list",   "group? leader? open? overdue? limit? cursor?", S_REPLICA,              "6.12", "NOT_FOUND" },
    { "activity.report", "rows",                                   S_CONTENT_WRITE,              "6.12", "IMPORT_REJECTED" },
    { "import.content",  "rows",                                   S_CONTENT_WRITE,              "6.12", "IMPORT_REJECTED" },
    //  Reports (6.13): the hub for the organisation, a node for its branches
    { "report.compliance", "branch? period? at? detail? limit? cursor?", S_REPLICA,             "6.13", "NOT_FOUND" },
    { "report.health",   "branch? at? dying? limit? cursor?",      S_REPLICA,                    "6.13", "NOT_FOUND" },
    { "report.questions", "branch? leader? at? limit? cursor?",    S_REPLICA,                    "6.13", "NOT_FOUND" },
    { "report.streaks",  "branch? period? at? limit? cursor?",     S_REPLICA,                    "6.13", "NOT_FOUND" },
    { "sync.hello",      "node from credit witness?",                       OP_HUB | OP_SYNC,             "7.2", "NOT_FOUND" },
    { "sync.ack",        "applied credit ts outbox?",              OP_HUB | OP_SYNC,             "7.2", "" },
    { "content.push",    "node epoch entries watermark waiting?",  OP_HUB | OP_WRITE,            "7.5", "NOT_FOUND RULE" },
    { NULL, NULL, 0, NULL, NULL }
};

/* PROTOCOL.md 5.3. A final code is the request's answer: recorded under its
   rid and not retried; a retryable one is neither. */
const catalogue_code_t catalogue_codes [] = {
    //  code              retry  common
    { "MALFORMED",        false, true },
    { "TOO_LARGE",        false, true },
    { "VERSION",          false, true },
    { "UNKNOWN_OP",       false, true },
    { "BAD_ARGS",         false, true },
    { "NOT_FOUND",        false, false },
    { "EXISTS",           false, false },
    { "FULL",             false, false },
    { "LOCKED",           false, false },
    { "NOT_EMPTY",        false, false },
    { "RULE",             false, false },
    { "IMPORT_REJECTED",  false, false },
    { "LIMIT",            false, false },
    { "MOVED",            false, false },
    { "UNAUTHENTICATED",  false, true },
    { "DENIED",           false, true },
    { "RID_REUSED",       false, true },
    { "BUSY",             true,  true },
    { "UNAVAILABLE",      true,  true },
    { "INTERNAL",         true,  true },
    { NULL, false, false }
};

const catalogue_op_t *
catalogue_find (const char *name)
{
    for (const catalogue_op_t *op = catalogue_ops; op->name; op++)
        if (streq (op->name, name))
            return op;
    return NULL;
}

catalogue_route_t
catalogue_route (const catalogue_op_t *op, int server)
{
    if (!op)
        return CATALOGUE_UNKNOWN;
    if (op->flags & server)
        return CATALOGUE_SERVE;
    if (server == OP_NODE && (op->flags & OP_FORWARD))
        return CATALOGUE_FORWARD;
    return CATALOGUE_REFUSE;
}

int
catalogue_refuse (const catalogue_op_t *op, const char *name, int server,
                  const char *server_name, dt_err_t *err)
{
    if (!op)
        return dt_err_set (err, "UNKNOWN_OP", "unknown operation %s", name);
    if (op->flags & server)         /* served here, but bound to no handler */
        return dt_err_set (err, "INTERNAL", "op %s has no handler at this server", op->name);
    if (server == OP_NODE)
        return dt_err_set (err, "DENIED", "op %s is served by the hub, not by node %s",
                           op->name, server_name);
    return dt_err_set (err, "DENIED", "op %s is served by a node, not by the hub",
                       op->name);
}

const catalogue_code_t *
catalogue_code (const char *code)
{
    for (const catalogue_code_t *entry = catalogue_codes; entry->code; entry++)
        if (streq (entry->code, code))
            return entry;
    return NULL;
}

/* True if word is one of the space-separated words of list. */
static bool
s_in_list (const char *list, const char *word)
{
    size_t len = strlen (word);
    for (const char *p = list; *p; ) {
        while (*p == ' ')
            p++;
        size_t n = strcspn (p, " ");
        if (n == len && memcmp (p, word, len) == 0)
            return true;
        p += n;
    }
    return false;
}

bool
catalogue_may_fail (const catalogue_op_t *op, const char *code)
{
    const catalogue_code_t *entry = catalogue_code (code);
    return entry && (entry->common || s_in_list (op->errors, code));
}

int
catalogue_args_check (const catalogue_op_t *op, const msgpack_object *args, dt_err_t *err)
{
    return proto_args_check (args, op->args, err);
}

//  Comparing with PROTOCOL.md

#define S_CELLS_MAX 8

/* Split a table row "| a | b \| c |" into trimmed cells (escaped pipes stay
   in their cell). Returns the number of cells. */
static int
s_cells (const char *line, char cells [S_CELLS_MAX][512])
{
    int count = 0;
    const char *p = strchr (line, '|');
    if (!p)
        return 0;
    p++;
    while (*p && count < S_CELLS_MAX) {
        const char *start = p;
        while (*p && !(*p == '|' && p [-1] != '\\'))
            p++;
        if (!*p)
            break;                  /* text after the last pipe is not a cell */
        size_t len = p - start;
        while (len && *start == ' ')
            start++, len--;
        while (len && start [len - 1] == ' ')
            len--;
        snprintf (cells [count], sizeof (cells [0]), "%.*s", (int) (len < 511? len: 511), start);
        count++;
        p++;
    }
    return count;
}

/* The argument names of an args cell, as a spec "id into? release?" in the
   order written: the names before ':' at the top level of its first code
   span ("`id: ID, hall?: ID \| branch?: ID` (exactly one)"); "—" is none. */
static void
s_cell_args (const char *cell, char *spec, size_t size)
{
    *spec = 0;
    const char *open = strchr (cell, '`');
    const char *close = open? strchr (open + 1, '`'): NULL;
    if (!close)
        return;
    char word [64];
    size_t wlen = 0, at = 0;
    int depth = 0;
    bool quoted = false;
    for (const char *p = open + 1; p < close; p++) {
        char c = *p;
        if (quoted) {
            quoted = c != '"';
            continue;
        }
        if (c == '"')
            quoted = true;
        else
        if (c == '{' || c == '[' || c == '(')
            depth++;
        else
        if ((c == '}' || c == ']' || c == ')') && depth > 0)
            depth--;
        else
        if (depth == 0 && c == ':' && wlen) {
            word [wlen] = 0;
            at += snprintf (spec + at, at < size? size - at: 0, "%s%s", at? " ": "", word);
            wlen = 0;
            continue;
        }
        if (depth == 0 && (isalnum ((unsigned char) c) || c == '_' || c == '?')
        &&  wlen < sizeof (word) - 1)
            word [wlen++] = c;
        else
        if (depth == 0 && c != ' ')
            wlen = 0;           /* a name is only what directly precedes ':' */
        else
        if (depth == 0 && c == ' ')
            wlen = 0;
    }
}

/* The codes of an errors cell: every word of capitals and '_'. */
static void
s_cell_codes (const char *cell, char *codes, size_t size)
{
    size_t at = 0;
    *codes = 0;
    for (const char *p = cell; *p; ) {
        size_t n = strspn (p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
        if (n > 1) {
            at += snprintf (codes + at, at < size? size - at: 0, "%s%.*s", at? " ": "",
                            (int) n, p);
            p += n;
        }
        else
            p++;
    }
}

/* True if both space-separated lists hold the same words (any order). */
static bool
s_same_words (const char *a, const char *b)
{
    char word [64];
    for (int pass = 0; pass < 2; pass++) {
        const char *from = pass? b: a, *other = pass? a: b;
        for (const char *p = from; *p; ) {
            while (*p == ' ')
                p++;
            size_t n = strcspn (p, " ");
            if (n == 0)
                break;
            snprintf (word, sizeof (word), "%.*s", (int) (n < 63? n: 63), p);
            if (!s_in_list (other, word))
                return false;
            p += n;
        }
    }
    return true;
}

/* "`hall.merge`" -> "hall.merge"; false if the cell is not one code span. */
static bool
s_cell_name (const char *cell, char *out, size_t size)
{
    size_t len = strlen (cell);
    if (len < 3 || cell [0] != '`' || cell [len - 1] != '`' || len - 2 >= size)
        return false;
    memcpy (out, cell + 1, len - 2);
    out [len - 2] = 0;
    return strchr (out, '`') == NULL;
}

int
catalogue_check_protocol (const char *text, dt_err_t *err)
{
    size_t nops = 0;
    while (catalogue_ops [nops].name)
        nops++;
    bool *seen = (bool *) zmalloc (nops + 1);
    size_t ncodes = 0;
    while (catalogue_codes [ncodes].code)
        ncodes++;
    bool *code_seen = (bool *) zmalloc (ncodes + 1);
    char section [16] = "";
    int kind = 0;               /* 1: op table, 2: code table, 0: other */
    int col_args = -1, col_errors = -1, col_common = -1, col_retry = -1;
    int rc = 0;
    char line [2048];
    char (*cells) [512] = zmalloc (S_CELLS_MAX * 512);
    for (const char *p = text; *p && rc == 0; ) {
        size_t len = strcspn (p, "\n");
        snprintf (line, sizeof (line), "%.*s", (int) (len < sizeof (line) - 1? len: sizeof (line) - 1), p);
        p += len + (p [len] == '\n');
        if (line [0] == '#') {
            //  "### 6.4 Halls" or "## 7. Replication": the section number
            const char *q = line + strspn (line, "# ");
            size_t n = strspn (q, "0123456789.");
            snprintf (section, sizeof (section), "%.*s", (int) (n < 15? n: 15), q);
            if (n && section [n - 1] == '.')
                section [n - 1] = 0;
            kind = 0;
            continue;
        }
        if (line [0] != '|') {
            kind = 0;
            continue;
        }
        int count = s_cells (line, cells);
        if (count && strspn (cells [0], "-: ") == strlen (cells [0]))
            continue;               /* |---|---| */
        if (kind == 0) {
            //  A header row: which columns are what
            col_args = col_errors = col_common = col_retry = -1;
            for (int i = 0; i < count; i++) {
                if (streq (cells [i], "args"))
                    col_args = i;
                if (streq (cells [i], "errors"))
                    col_errors = i;
                if (streq (cells [i], "any op"))
                    col_common = i;
                if (streq (cells [i], "retry"))
                    col_retry = i;
            }
            kind = count && streq (cells [0], "op") && col_args > 0? 1
                 : count && streq (cells [0], "code") && col_retry > 0? 2: -1;
            if (kind == 1 && col_errors < 0)
                rc = dt_err_set (err, "BAD_ARGS", "section %s: an op table without an "
                                 "errors column", section);
            continue;
        }
        char name [64];
        if (kind == 1 && count > col_errors && s_cell_name (cells [0], name, sizeof (name))) {
            const catalogue_op_t *op = catalogue_find (name);
            char spec [256], codes [256];
            s_cell_args (cells [col_args], spec, sizeof (spec));
            s_cell_codes (cells [col_errors], codes, sizeof (codes));
            if (!op)
                rc = dt_err_set (err, "NOT_FOUND", "%s (PROTOCOL.md %s) is not in the "
                                 "catalogue", name, section);
            else
            if (seen [op - catalogue_ops])
                rc = dt_err_set (err, "EXISTS", "%s is specified twice", name);
            else
            if (!streq (op->section, section))
                rc = dt_err_set (err, "BAD_ARGS", "%s is in PROTOCOL.md %s, the catalogue "
                                 "says %s", name, section, op->section);
            else
            if (!s_same_words (spec, op->args))
                rc = dt_err_set (err, "BAD_ARGS", "%s: PROTOCOL.md args \"%s\", catalogue "
                                 "\"%s\"", name, spec, op->args);
            else
            if (!s_same_words (codes, op->errors))
                rc = dt_err_set (err, "BAD_ARGS", "%s: PROTOCOL.md errors \"%s\", "
                                 "catalogue \"%s\"", name, codes, op->errors);
            else
                seen [op - catalogue_ops] = true;
        }
        else
        if (kind == 2 && count > col_retry && count > col_common
        &&  s_cell_name (cells [0], name, sizeof (name))) {
            const catalogue_code_t *code = catalogue_code (name);
            bool retry = streq (cells [col_retry], "retry");
            bool common = col_common >= 0 && streq (cells [col_common], "yes");
            if (!code)
                rc = dt_err_set (err, "NOT_FOUND", "error code %s is not in the catalogue",
                                 name);
            else
            if (code->retry != retry || (col_common >= 0 && code->common != common))
                rc = dt_err_set (err, "BAD_ARGS", "error code %s: PROTOCOL.md says %s%s, "
                                 "the catalogue %s%s", name, retry? "retry": "final",
                                 common? ", any op": "", code->retry? "retry": "final",
                                 code->common? ", any op": "");
            else
                code_seen [code - catalogue_codes] = true;
        }
    }
    for (size_t i = 0; i < nops && rc == 0; i++)
        if (!seen [i])
            rc = dt_err_set (err, "NOT_FOUND", "%s is in the catalogue but not in an op "
                             "table of PROTOCOL.md", catalogue_ops [i].name);
    for (size_t i = 0; i < ncodes && rc == 0; i++)
        if (!code_seen [i])
            rc = dt_err_set (err, "NOT_FOUND", "error code %s is not in the table of "
                             "PROTOCOL.md 5.3", catalogue_codes [i].code);
    free (cells);
    free (seen);
    free (code_seen);
    return rc;
}

//  Self-test

void
catalogue_test (bool verbose)
{
    (void) verbose;
    dt_err_t err;
    dt_err_init (&err);
    //  The retry column of 5.3 is what hub and node act on (dt_err_retryable)
    for (const catalogue_code_t *code = catalogue_codes; code->code; code++)
        assert (code->retry == dt_err_retryable (code->code));
    //  The table is well formed: unique names, specs that parse, flags that
    //  make sense, codes that exist
    for (const catalogue_op_t *op = catalogue_ops; op->name; op++) {
        assert (catalogue_find (op->name) == op);
        assert (op->args && op->section && op->errors);
        assert (op->flags & (OP_HUB | OP_NODE));
        if (op->flags & OP_FORWARD)
            assert ((op->flags & OP_HUB) && (op->flags & OP_WRITE) && !(op->flags & OP_NODE));
        if (op->flags & (OP_WRITE | OP_HQ | OP_SYNC))
            assert (op->flags & OP_HUB);
        assert (proto_args_check (NULL, op->args, &err) == 0
             || streq (err.code, "BAD_ARGS"));
        char codes [256];
        snprintf (codes, sizeof (codes), "%s", op->errors);
        for (char *save = NULL, *code = strtok_r (codes, " ", &save); code;
             code = strtok_r (NULL, " ", &save)) {
            assert (catalogue_code (code));
            assert (catalogue_may_fail (op, code));
        }
        assert (catalogue_may_fail (op, "INTERNAL") && catalogue_may_fail (op, "DENIED"));
        assert (!catalogue_may_fail (op, "NO_SUCH_CODE"));
    }
    //  Routing from the flags alone
    const catalogue_op_t *join = catalogue_find ("member.join"), *tree = catalogue_find ("tree"),
                         *merge = catalogue_find ("hall.merge"),
                         *status = catalogue_find ("request.status");
    assert (join && tree && merge && status && !catalogue_find ("no.such"));
    assert (catalogue_route (join, OP_HUB) == CATALOGUE_SERVE);
    assert (catalogue_route (join, OP_NODE) == CATALOGUE_FORWARD);
    assert (catalogue_route (tree, OP_NODE) == CATALOGUE_SERVE);
    assert (catalogue_route (merge, OP_NODE) == CATALOGUE_REFUSE);
    assert (catalogue_route (status, OP_HUB) == CATALOGUE_REFUSE);
    assert (catalogue_route (NULL, OP_HUB) == CATALOGUE_UNKNOWN);
    assert (catalogue_refuse (merge, "hall.merge", OP_NODE, "n1", &err) == -1);
    assert (streq (err.code, "DENIED") && strstr (err.message, "served by the hub"));
    assert (catalogue_refuse (merge, "hall.merge", OP_HUB, "hub", &err) == -1);
    assert (streq (err.code, "INTERNAL"));
    assert (catalogue_refuse (status, "request.status", OP_HUB, "hub", &err) == -1);
    assert (streq (err.code, "DENIED") && strstr (err.message, "served by a node"));
    assert (catalogue_refuse (NULL, "x.y", OP_HUB, "hub", &err) == -1);
    assert (streq (err.code, "UNKNOWN_OP"));
    assert (catalogue_code ("INTERNAL")->retry && !catalogue_code ("FULL")->retry);

    //  The parser of PROTOCOL.md tables, on a sample
    const char *sample =
        "### 6.4 Halls\n\n"
        "| op | args | result | errors |\n|---|---|---|---|\n"
        "| `hall.merge` | `id: ID, into: ID (hall)` | `{ \"a\": 1 }` | `NOT_FOUND`, `FULL` |\n";
    assert (catalogue_check_protocol (sample, &err) == -1);
    assert (strstr (err.message, "not in an op table"));        /* the others are missing */
    const char *wrong =
        "### 6.4 Halls\n\n"
        "| op | args | result | errors |\n|---|---|---|---|\n"
        "| `hall.merge` | `id: ID, onto: ID` | x | `NOT_FOUND`, `FULL` |\n";
    assert (catalogue_check_protocol (wrong, &err) == -1 && strstr (err.message, "onto"));
    const char *codes =
        "### 6.4 Halls\n\n"
        "| op | args | result | errors |\n|---|---|---|---|\n"
        "| `hall.merge` | `id: ID, into: ID` | x | `NOT_FOUND` |\n";
    assert (catalogue_check_protocol (codes, &err) == -1 && strstr (err.message, "errors"));
    const char *elsewhere =
        "### 6.3 Branches\n\n"
        "| op | args | result | errors |\n|---|---|---|---|\n"
        "| `hall.merge` | `id: ID, into: ID` | x | `NOT_FOUND`, `FULL` |\n";
    assert (catalogue_check_protocol (elsewhere, &err) == -1 && strstr (err.message, "6.3"));
    const char *unknown =
        "### 6.4 Halls\n\n| op | args | result | errors |\n|---|---|---|---|\n"
        "| `hall.paint` | `id: ID, hall?: ID \\| branch?: ID` (one) | x | — |\n";
    assert (catalogue_check_protocol (unknown, &err) == -1 && strstr (err.message, "hall.paint"));
    char spec [128];
    s_cell_args ("`id: ID, hall?: ID \\| branch?: ID` (exactly one)", spec, sizeof (spec));
    assert (streq (spec, "id hall? branch?"));
    s_cell_args ("`changes: { FIELD: value }` (at least one field)", spec, sizeof (spec));
    assert (streq (spec, "changes"));
    s_cell_args ("`id: ID, role: \"admin\"\\|\"kol\", tags?: {str: str}`", spec, sizeof (spec));
    assert (streq (spec, "id role tags?"));
    s_cell_args ("—", spec, sizeof (spec));
    assert (streq (spec, ""));

    //  The catalogue and proto/PROTOCOL.md agree (the runner runs from the
    //  repository root)
    FILE *file = fopen ("proto/PROTOCOL.md", "r");
    assert (file);
    char *text = NULL;
    size_t size = 0;
    FILE *copy = open_memstream (&text, &size);
    int c;
    while ((c = fgetc (file)) != EOF)
        fputc (c, copy);
    fclose (copy);
    fclose (file);
    dt_err_reset (&err);
    int rc = catalogue_check_protocol (text, &err);
    if (rc)
        fprintf (stderr, "\ncatalogue and proto/PROTOCOL.md differ: %s\n", err.message);
    assert (rc == 0);
    free (text);
    dt_err_reset (&err);
}

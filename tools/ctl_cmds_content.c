/* ctl_cmds_content.c -- the content commands: posts, events, questions,
   activity reports and historical imports (PROTOCOL.md 6.12), times shown
   and read in the policy's time zone. */
#include "ctl.h"
#include "ctl_print.h"
#include "ctl_text.h"
#include "ctl_csv.h"
#include "ctl_json.h"
#include "ctl_import.h"
#include "ctl_fake.h"
#include "op.h"

#define S_TIME_MAX 40           /* a local time, "2026-12-01 20:18 +08:00" */
#define S_CLIP 40               /* columns of a question's text in a table */

//  Showing items

/* The zone is needed to show times: ask for it before the request, so that a
   write is never made when its result cannot be shown. */
static int
s_need_zone (ctl_t *ctl)
{
    return ctl->json || ctl_zone (ctl)? CTL_OK: CTL_FAIL;
}

/* map[key] local, with 0 (an event or question not closed yet) as "-". */
static const char *
s_local (ctl_t *ctl, const msgpack_object *map, const char *key, char *out)
{
    if (ctl_u (map, key) == 0 && proto_map_get (map, key)
    &&  proto_map_get (map, key)->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return strcpy (out, "-");
    return ctl_local (ctl, map, key, out, S_TIME_MAX);
}

/* post p-1 标题: article in h-1 by m-li at 2026-12-01 20:18 +08:00, topics 酱酒 */
static void
s_show_post (ctl_t *ctl, const msgpack_object *post)
{
    char at [S_TIME_MAX];
    fprintf (ctl->out, _("post %s %s: %s in %s by %s at %s"), ctl_v (post, "id"),
             ctl_v (post, "title"), ctl_v (post, "kind"), ctl_v (post, "group"),
             ctl_v (post, "author"), s_local (ctl, post, "at", at));
    const msgpack_object *topics = ctl_array (post, "topics");
    const msgpack_object *photos = ctl_array (post, "photos");
    if (topics && topics->via.array.size)
        fprintf (ctl->out, ", topics %s", ctl_print_text (topics));
    if (photos && photos->via.array.size)
        fprintf (ctl->out, ", %u photo%s", photos->via.array.size,
                 photos->via.array.size == 1? "": "s");
    if (ctl_u (post, "seconds"))
        fprintf (ctl->out, ", %s s", ctl_v (post, "seconds"));
    fputc ('\n', ctl->out);
}

/* event e-1 赛酒会: tasting in h-1 at 2026-12-05 19:00 +08:00, place 青羊宫,
   by m-li: held, 5 attendees */
static void
s_show_event (ctl_t *ctl, const msgpack_object *event)
{
    char at [S_TIME_MAX];
    fprintf (ctl->out, _("event %s %s: %s in %s at %s, place %s, by %s: %s"),
             ctl_v (event, "id"), ctl_v (event, "title"), ctl_v (event, "kind"),
             ctl_v (event, "group"), s_local (ctl, event, "at", at), ctl_v (event, "place"),
             ctl_v (event, "author"), ctl_v (event, "status"));
    const msgpack_object *attendees = ctl_array (event, "attendees");
    if (ctl_is (event, "status", "held"))
        fprintf (ctl->out, ", %u attendee%s", attendees? attendees->via.array.size: 0,
                 attendees && attendees->via.array.size == 1? "": "s");
    if (!ctl_is (event, "status", "scheduled") && proto_map_get (event, "closed_by"))
        fprintf (ctl->out, _(" (by %s)"), ctl_v (event, "closed_by"));
    fputc ('\n', ctl->out);
}

/* The member who asked: `author` of the stored item, else `member`. */
static const char *
s_asker (const msgpack_object *question)
{
    const msgpack_object *author = proto_map_get (question, "author");
    return ctl_v (question, author && author->type == MSGPACK_OBJECT_STR? "author": "member");
}

/* question q-1 of m-wang in h-1 at ...: routed to m-li, due ..., open, overdue */
static void
s_show_question (ctl_t *ctl, const msgpack_object *question)
{
    char at [S_TIME_MAX], due [S_TIME_MAX];
    fprintf (ctl->out, _("question %s of %s in %s at %s: routed to %s, due %s, %s"),
             ctl_v (question, "id"), s_asker (question), ctl_v (question, "group"),
             s_local (ctl, question, "at", at), ctl_v (question, "leader"),
             s_local (ctl, question, "deadline", due), ctl_v (question, "status"));
    if (ctl_is (question, "status", "answered"))
        fprintf (ctl->out, _(" by %s"), ctl_v (question, "closed_by"));
    const msgpack_object *overdue = proto_map_get (question, "overdue");
    if (overdue && overdue->type == MSGPACK_OBJECT_BOOLEAN && overdue->via.boolean)
        fprintf (ctl->out, ", overdue");
    fputc ('\n', ctl->out);
}

/* Every field on a line of its own, in the server's order, times local. */
static void
s_show_fields (ctl_t *ctl, const msgpack_object *item)
{
    static const char *times [] = { "at", "accepted", "deadline", "closed_at", NULL };
    ctl_table_t *table = ctl_table_new ();
    for (uint32_t i = 0; item && item->type == MSGPACK_OBJECT_MAP && i < item->via.map.size;
         i++) {
        const char *key = ctl_print_text (&item->via.map.ptr [i].key);
        bool time = false;
        for (const char **name = times; *name; name++)
            time = time || streq (key, *name);
        char local [S_TIME_MAX];
        ctl_table_cells (table, key, time? s_local (ctl, item, key, local):
                         ctl_print_text (&item->via.map.ptr [i].val), NULL);
    }
    ctl_table_print (table, ctl->out);
    ctl_table_destroy (&table);
}

//  Table rows of lists (ctl_call_pages)

static char *
s_cell_time (ctl_t *ctl, const msgpack_object *item, const char *key)
{
    char local [S_TIME_MAX];
    return strdup (s_local (ctl, item, key, local));
}

/* At most max columns of text, "…" marking a cut. */
static char *
s_clip (const char *text, size_t max)
{
    size_t len = strlen (text), pos = 0, width = 0;
    if (ctl_text_width (text) <= max)
        return strdup (text);
    while (pos < len) {
        uint32_t cp;
        size_t size = dt_utf8_decode (text + pos, len - pos, &cp);
        int w = size? ctl_text_cp_width (cp): 1;
        if (width + w > max - 1)
            break;
        width += w;
        pos += size? size: 1;
    }
    return zsys_sprintf ("%.*s…", (int) pos, text);
}

static const ctl_column_t s_post_columns [] = {
    { N_("ID"), false, 0 }, { N_("KIND"), false, 7 }, { N_("GROUP"), false, 0 },
    { N_("AUTHOR"), false, 0 }, { N_("TIME"), false, 23 }, { N_("TITLE"), false, 0 },
    { NULL, false, 0 }
};

static void
s_row_post (ctl_t *ctl, const msgpack_object *post, char **cells)
{
    cells [0] = strdup (ctl_v (post, "id"));
    cells [1] = strdup (ctl_v (post, "kind"));
    cells [2] = strdup (ctl_v (post, "group"));
    cells [3] = strdup (ctl_v (post, "author"));
    cells [4] = s_cell_time (ctl, post, "at");
    cells [5] = strdup (ctl_v (post, "title"));
}

static const ctl_column_t s_event_columns [] = {
    { N_("ID"), false, 0 }, { N_("KIND"), false, 7 }, { N_("GROUP"), false, 0 },
    { N_("AUTHOR"), false, 0 }, { N_("TIME"), false, 23 }, { N_("STATUS"), false, 9 },
    { N_("ATTENDEES"), true, 0 }, { N_("TITLE"), false, 0 }, { NULL, false, 0 }
};

static void
s_row_event (ctl_t *ctl, const msgpack_object *event, char **cells)
{
    const msgpack_object *attendees = ctl_array (event, "attendees");
    cells [0] = strdup (ctl_v (event, "id"));
    cells [1] = strdup (ctl_v (event, "kind"));
    cells [2] = strdup (ctl_v (event, "group"));
    cells [3] = strdup (ctl_v (event, "author"));
    cells [4] = s_cell_time (ctl, event, "at");
    cells [5] = strdup (ctl_v (event, "status"));
    cells [6] = ctl_is (event, "status", "held")?
                zsys_sprintf ("%u", attendees? attendees->via.array.size: 0): strdup ("");
    cells [7] = strdup (ctl_v (event, "title"));
}

static const ctl_column_t s_question_columns [] = {
    { N_("ID"), false, 0 }, { N_("GROUP"), false, 0 }, { N_("ASKER"), false, 0 },
    { N_("TIME"), false, 23 }, { N_("LEADER"), false, 0 }, { N_("DEADLINE"), false, 23 },
    { N_("STATUS"), false, 8 }, { N_("OVERDUE"), false, 7 }, { N_("TEXT"), false, 0 },
    { NULL, false, 0 }
};

static void
s_row_question (ctl_t *ctl, const msgpack_object *question, char **cells)
{
    const msgpack_object *overdue = proto_map_get (question, "overdue");
    cells [0] = strdup (ctl_v (question, "id"));
    cells [1] = strdup (ctl_v (question, "group"));
    cells [2] = strdup (s_asker (question));
    cells [3] = s_cell_time (ctl, question, "at");
    cells [4] = strdup (ctl_v (question, "leader"));
    cells [5] = s_cell_time (ctl, question, "deadline");
    cells [6] = strdup (ctl_v (question, "status"));
    cells [7] = strdup (overdue && overdue->type == MSGPACK_OBJECT_BOOLEAN
                        && overdue->via.boolean? "overdue": "");
    cells [8] = s_clip (ctl_v (question, "text"), S_CLIP);
}

//  Commands

/* --limit, the times of a list (--since, --until), then the zone for the table. */
static int
s_period (ctl_t *ctl, ctl_line_t *line, uint64_t *limit)
{
    if (ctl_limit (line, ctl_opt (line, "limit"), limit))
        return CTL_USAGE;
    int rc = ctl_put_time (ctl, line, "since", "since");
    if (rc == CTL_OK)
        rc = ctl_put_time (ctl, line, "until", "until");
    return rc? rc: s_need_zone (ctl);
}

/* POST ADD group kind title --author id [--id id] [--at time] [--topic t ...]
   [--text text] [--link url] [--photo ref ...] [--seconds n] */
static int
s_post_add (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "group", line->argv [0]);
    args_str (&line->req, "kind", line->argv [1]);
    args_str (&line->req, "title", line->argv [2]);
    args_str (&line->req, "author", ctl_opt (line, "author"));
    args_str (&line->req, "id", ctl_opt (line, "id"));
    int rc = ctl_put_time (ctl, line, "at", "at");
    if (rc)
        return rc;
    if (ctl_opt (line, "topic"))
        ctl_put_list (line, "topics", "topic");
    args_str (&line->req, "text", ctl_opt (line, "text"));
    args_str (&line->req, "link", ctl_opt (line, "link"));
    //  A photo reference may be a URL with commas in it: one per --photo
    const char **photos = calloc (line->ngiven + 1, sizeof (char *));
    assert (photos);
    size_t nphotos = ctl_opt_all (line, "photo", photos, line->ngiven);
    if (nphotos) {
        msgpack_packer *pk = args_key (&line->req, "photos");
        msgpack_pack_array (pk, nphotos);
        for (size_t i = 0; i < nphotos; i++)
            proto_pack_str (pk, photos [i]);
    }
    free (photos);
    if (ctl_put_uint (line, "seconds", ctl_opt (line, "seconds"), "--seconds"))
        return CTL_USAGE;
    return s_need_zone (ctl)? CTL_FAIL: ctl_call (ctl, line, "post.add", s_show_post);
}

/* POST SHOW id, EVENT SHOW id, QUESTION SHOW id: op is the noun's */
static int
s_item_show (ctl_t *ctl, ctl_line_t *line)
{
    char op [32];
    snprintf (op, sizeof (op), "%s.show", line->cmd->noun);
    args_str (&line->req, "id", line->argv [0]);
    return s_need_zone (ctl)? CTL_FAIL: ctl_call (ctl, line, op, s_show_fields);
}

/* POST LIST group [--kind k] [--since time] [--until time] [--limit n] */
static int
s_post_list (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "group", line->argv [0]);
    args_str (&line->req, "kind", ctl_opt (line, "kind"));
    uint64_t limit;
    int rc = s_period (ctl, line, &limit);
    return rc? rc: ctl_call_pages (ctl, line, "post.list", limit, s_post_columns,
                                   s_row_post);
}

/* EVENT SCHEDULE group kind title --at time --place place --author id [--id id] */
static int
s_event_schedule (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "group", line->argv [0]);
    args_str (&line->req, "kind", line->argv [1]);
    args_str (&line->req, "title", line->argv [2]);
    int rc = ctl_put_time (ctl, line, "at", "at");
    if (rc)
        return rc;
    args_str (&line->req, "place", ctl_opt (line, "place"));
    args_str (&line->req, "author", ctl_opt (line, "author"));
    args_str (&line->req, "id", ctl_opt (line, "id"));
    return s_need_zone (ctl)? CTL_FAIL: ctl_call (ctl, line, "event.schedule", s_show_event);
}

/* EVENT HELD id --author id --attendees m1,m2,... */
static int
s_event_held (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "id", line->argv [0]);
    ctl_put_list (line, "attendees", "attendees");
    args_str (&line->req, "author", ctl_opt (line, "author"));
    return s_need_zone (ctl)? CTL_FAIL: ctl_call (ctl, line, "event.held", s_show_event);
}

/* EVENT CANCEL id --author id */
static int
s_event_cancel (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "id", line->argv [0]);
    args_str (&line->req, "author", ctl_opt (line, "author"));
    return s_need_zone (ctl)? CTL_FAIL: ctl_call (ctl, line, "event.cancel", s_show_event);
}

/* EVENT LIST group [--status s] [--since time] [--until time] [--limit n] */
static int
s_event_list (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "group", line->argv [0]);
    args_str (&line->req, "status", ctl_opt (line, "status"));
    uint64_t limit;
    int rc = s_period (ctl, line, &limit);
    return rc? rc: ctl_call_pages (ctl, line, "event.list", limit, s_event_columns,
                                   s_row_event);
}

/* QUESTION ASK member text [--id id] [--at time] */
static int
s_question_ask (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "member", line->argv [0]);
    args_str (&line->req, "text", line->argv [1]);
    args_str (&line->req, "id", ctl_opt (line, "id"));
    int rc = ctl_put_time (ctl, line, "at", "at");
    if (rc)
        return rc;
    return s_need_zone (ctl)? CTL_FAIL: ctl_call (ctl, line, "question.ask", s_show_question);
}

/* QUESTION ANSWER id --by id text */
static int
s_question_answer (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "id", line->argv [0]);
    args_str (&line->req, "by", ctl_opt (line, "by"));
    args_str (&line->req, "text", line->argv [1]);
    return s_need_zone (ctl)? CTL_FAIL: ctl_call (ctl, line, "question.answer",
                                                  s_show_question);
}

/* QUESTION LIST [--group g] [--leader l] [--open] [--overdue] [--limit n] */
static int
s_question_list (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "group", ctl_opt (line, "group"));
    args_str (&line->req, "leader", ctl_opt (line, "leader"));
    if (ctl_opt (line, "open"))
        args_bool (&line->req, "open", true);
    if (ctl_opt (line, "overdue"))
        args_bool (&line->req, "overdue", true);
    uint64_t limit;
    if (ctl_limit (line, ctl_opt (line, "limit"), &limit))
        return CTL_USAGE;
    return s_need_zone (ctl)? CTL_FAIL:
           ctl_call_pages (ctl, line, "question.list", limit, s_question_columns,
                           s_row_question);
}

static void
s_pack_strn (msgpack_packer *pk, const char *text, size_t len)
{
    msgpack_pack_str (pk, len);
    msgpack_pack_str_body (pk, text, len);
}

//  Imports: files to rows. Rows go without their file line (the server names
//  a bad row by index + 1); ctl->row_lines maps that back to the file.

typedef enum { S_STR, S_TIME, S_UINT, S_LIST } s_type_t;

typedef struct {
    const char *name;
    s_type_t type;
} s_field_t;

/* The columns of an import content CSV, in the order of its documented header. */
static const s_field_t s_content_fields [] = {
    { "type", S_STR }, { "id", S_STR }, { "group", S_STR }, { "kind", S_STR },
    { "title", S_STR }, { "author", S_STR }, { "at", S_TIME }, { "topics", S_LIST },
    { "text", S_STR }, { "link", S_STR }, { "photos", S_LIST }, { "seconds", S_UINT },
    { "place", S_STR }, { "attendees", S_LIST }, { "status", S_STR }, { "member", S_STR },
    { "answer", S_STR }, { "by", S_STR }, { NULL }
};
#define S_CONTENT_HEADER "type,id,group,kind,title,author,at,topics,text,link,photos," \
                         "seconds,place,attendees,status,member,answer,by"

static const s_field_t s_activity_fields [] = {
    { "member", S_STR }, { "day", S_STR }, { "count", S_UINT }, { NULL }
};
#define S_ACTIVITY_HEADER "member,day,count"

typedef struct {
    const char *zone;           /* of times without an offset */
    msgpack_sbuffer rows;       /* the packed row maps */
    msgpack_packer pk;
    size_t count;
    size_t *lines;              /* the file line of each row */
    size_t max;
    dt_err_t *err;
} s_rows_t;

static void
s_rows_init (s_rows_t *self, const char *zone, dt_err_t *err)
{
    memset (self, 0, sizeof (*self));
    self->zone = zone;
    self->err = err;
    msgpack_sbuffer_init (&self->rows);
    msgpack_packer_init (&self->pk, &self->rows, msgpack_sbuffer_write);
}

static void
s_rows_destroy (s_rows_t *self)
{
    msgpack_sbuffer_destroy (&self->rows);
    free (self->lines);
}

/* Start a row of line; -1 when there are too many. */
static int
s_rows_add (s_rows_t *self, size_t line)
{
    if (self->count == DT_LIST_MAX)
        return dt_err_set (self->err, "TOO_LARGE", "line %zu: one import takes at most %d "
                           "rows: split the file", line, DT_LIST_MAX);
    if (self->count == self->max) {
        self->max = self->max? self->max * 2: 256;
        self->lines = realloc (self->lines, self->max * sizeof (size_t));
        assert (self->lines);
    }
    self->lines [self->count++] = line;
    return 0;
}

/* Pack a time cell: in the zone unless it has an offset, or ms. */
static int
s_pack_time (s_rows_t *self, size_t line, const char *name, const char *text)
{
    int64_t at;
    if (dt_time_parse (self->zone? self->zone: "UTC", text, &at))
        return dt_err_set (self->err, "BAD_ARGS", "line %zu: %s '%s' is not a time "
                           "(2026-12-01 20:18, local to %s unless it ends in Z or +08:00, "
                           "or ms since 1970)", line, name, text, self->zone? self->zone: "UTC");
    msgpack_pack_int64 (&self->pk, at);
    return 0;
}

/* Find name among fields; -1 if it is not there. */
static int
s_field_find (const s_field_t *fields, const char *name)
{
    for (int i = 0; fields [i].name; i++)
        if (streq (fields [i].name, name))
            return i;
    return -1;
}

/* The header's columns: column [i] = index in fields. */
static int
s_csv_header (ctl_csv_t *csv, const s_field_t *fields, const char *header, int *column,
              const char **required, dt_err_t *err)
{
    size_t nfields = 0;
    while (fields [nfields].name)
        nfields++;
    bool *seen = calloc (nfields, sizeof (bool));
    assert (seen);
    int rc = 0;
    for (size_t i = 0; i < ctl_csv_count (csv) && rc == 0; i++) {
        const char *field = ctl_csv_field (csv, i);
        char name [32];
        field += strspn (field, " ");
        snprintf (name, sizeof (name), "%.*s", (int) strcspn (field, " "), field);
        for (char *p = name; *p; p++)
            *p = tolower ((unsigned char) *p);
        column [i] = s_field_find (fields, name);
        if (column [i] == -1)
            rc = dt_err_set (err, "BAD_ARGS", "line 1: unknown column \"%s\": the header is "
                             "%s (any of them, in any order)", ctl_csv_field (csv, i), header);
        else
        if (seen [column [i]])
            rc = dt_err_set (err, "BAD_ARGS", "line 1: column %s given twice", name);
        else
            seen [column [i]] = true;
    }
    for (const char **name = required; rc == 0 && *name; name++)
        if (!seen [s_field_find (fields, *name)])
            rc = dt_err_set (err, "BAD_ARGS", "line 1: missing column %s: the header is %s",
                             *name, header);
    free (seen);
    return rc;
}

/* One row map from the current record: the cells that are not empty, typed. */
static int
s_csv_row (s_rows_t *self, ctl_csv_t *csv, const s_field_t *fields, const int *column,
           size_t line, bool content)
{
    uint32_t size = 0;
    for (size_t i = 0; i < ctl_csv_count (csv); i++)
        size += *ctl_csv_field (csv, i) != 0;
    for (size_t i = 0; i < ctl_csv_count (csv); i++) {
        const s_field_t *field = &fields [column [i]];
        const char *cell = ctl_csv_field (csv, i);
        if (streq (field->name, "type") && *cell && !streq (cell, "post")
        &&  !streq (cell, "event") && !streq (cell, "question"))
            return dt_err_set (self->err, "BAD_ARGS", "line %zu: type '%s': a row is a post, "
                               "an event or a question", line, cell);
        if (field->type == S_UINT && *cell && strspn (cell, "0123456789") != strlen (cell))
            return dt_err_set (self->err, "BAD_ARGS", "line %zu: %s must be a number, not "
                               "'%s'", line, field->name, cell);
        if (field->type == S_TIME && *cell && dt_time_parse ("UTC", cell, &(int64_t) { 0 }))
            return s_pack_time (self, line, field->name, cell);
        if (content && (streq (field->name, "type") || streq (field->name, "at")) && !*cell)
            return dt_err_set (self->err, "BAD_ARGS", "line %zu: %s is required (every "
                               "imported item has its type and its time)", line, field->name);
        if (!content && !*cell)
            return dt_err_set (self->err, "BAD_ARGS", "line %zu: %s is empty", line,
                               field->name);
    }
    if (s_rows_add (self, line))
        return -1;
    msgpack_pack_map (&self->pk, size);
    for (size_t i = 0; i < ctl_csv_count (csv); i++) {
        const s_field_t *field = &fields [column [i]];
        const char *cell = ctl_csv_field (csv, i);
        if (!*cell)
            continue;
        proto_pack_key (&self->pk, field->name);
        if (field->type == S_TIME) {
            if (s_pack_time (self, line, field->name, cell))
                return -1;
        }
        else
        if (field->type == S_UINT) {
            errno = 0;
            unsigned long long value = strtoull (cell, NULL, 10);
            if (errno)
                return dt_err_set (self->err, "BAD_ARGS", "line %zu: %s is too large: %s",
                                   line, field->name, cell);
            msgpack_pack_uint64 (&self->pk, value);
        }
        else
        if (field->type == S_LIST) {
            //  A list cell: items separated by ';' (commas are the CSV's)
            uint32_t items = 0;
            for (const char *p = cell; *p; p += strcspn (p, ";"), p += *p == ';')
                items += strcspn (p, ";") > 0;
            msgpack_pack_array (&self->pk, items);
            for (const char *p = cell; *p; p += strcspn (p, ";"), p += *p == ';')
                if (strcspn (p, ";"))
                    s_pack_strn (&self->pk, p, strcspn (p, ";"));
        }
        else
            proto_pack_str (&self->pk, cell);
    }
    return 0;
}

/* Every record of a CSV text after its header. */
static int
s_csv_rows (s_rows_t *self, const char *data, size_t size, const s_field_t *fields,
            const char *header, const char **required, bool content)
{
    ctl_csv_t *csv = ctl_csv_new (data, size);
    int column [64];
    size_t line, columns = 0;
    int rc = ctl_csv_next (csv, &line, self->err);
    if (rc == 0)
        rc = dt_err_set (self->err, "BAD_ARGS", "line 1: missing header: the file is empty");
    else
    if (rc == 1 && ctl_csv_count (csv) > 64)
        rc = dt_err_set (self->err, "BAD_ARGS", "line %zu: %zu columns: the header is %s",
                         line, ctl_csv_count (csv), header);
    else
    if (rc == 1) {
        columns = ctl_csv_count (csv);
        rc = s_csv_header (csv, fields, header, column, required, self->err)? -1: 1;
    }
    while (rc == 1 && (rc = ctl_csv_next (csv, &line, self->err)) == 1) {
        if (ctl_csv_count (csv) != columns)
            rc = dt_err_set (self->err, "BAD_ARGS", "line %zu: %zu fields, the header has %zu",
                             line, ctl_csv_count (csv), columns);
        else
        if (s_csv_row (self, csv, fields, column, line, content))
            rc = -1;
    }
    ctl_csv_destroy (&csv);
    return rc;
}

//  JSON lines: a small reader of one JSON value into msgpack (the CLI reads
//  JSON nowhere else)

typedef struct {
    const char *p, *end;
    size_t line;
    dt_err_t *err;
} s_json_t;

static void
s_json_blank (s_json_t *self)
{
    while (self->p < self->end && strchr (" \t\r", *self->p))
        self->p++;
}

static int
s_json_fail (s_json_t *self, const char *what)
{
    return dt_err_set (self->err, "BAD_ARGS", "line %zu: not JSON: %s", self->line, what);
}

static int s_json_value (s_json_t *self, msgpack_packer *pk, int depth);

static int
s_json_hex4 (s_json_t *self, uint32_t *cp)
{
    *cp = 0;
    for (int i = 0; i < 4; i++, self->p++) {
        if (self->p == self->end || !isxdigit ((unsigned char) *self->p))
            return s_json_fail (self, "a \\u escape takes 4 hex digits");
        char c = tolower ((unsigned char) *self->p);
        *cp = *cp * 16 + (c <= '9'? c - '0': c - 'a' + 10);
    }
    return 0;
}

/* A string (p on its opening quote) into a new buffer *out of *len bytes. */
static int
s_json_string (s_json_t *self, char **out, size_t *len)
{
    char *text = NULL;
    size_t size = 0;
    FILE *buffer = open_memstream (&text, &size);
    assert (buffer);
    int rc = 0;
    self->p++;
    while (rc == 0) {
        if (self->p == self->end) {
            rc = s_json_fail (self, "unterminated string");
            break;
        }
        unsigned char c = *self->p++;
        if (c == '"')
            break;
        if (c < 0x20) {
            rc = s_json_fail (self, "a control character in a string");
            break;
        }
        if (c != '\\') {
            fputc (c, buffer);
            continue;
        }
        c = self->p < self->end? *self->p++: 0;
        const char *plain = strchr ("\"\\/bfnrt", c);
        if (c && plain) {
            fputc ("\"\\/\b\f\n\r\t" [plain - "\"\\/bfnrt"], buffer);
            continue;
        }
        uint32_t cp, low;
        if (c != 'u')
            rc = s_json_fail (self, "an unknown escape in a string");
        else
        if ((rc = s_json_hex4 (self, &cp)) == 0 && cp >= 0xD800 && cp < 0xDC00) {
            //  A surrogate pair makes one code point beyond the BMP
            if (self->end - self->p < 2 || self->p [0] != '\\' || self->p [1] != 'u')
                rc = s_json_fail (self, "a lone surrogate in a string");
            else {
                self->p += 2;
                if ((rc = s_json_hex4 (self, &low)) == 0 && (low < 0xDC00 || low > 0xDFFF))
                    rc = s_json_fail (self, "a lone surrogate in a string");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
        }
        else
        if (rc == 0 && cp >= 0xDC00 && cp <= 0xDFFF)
            rc = s_json_fail (self, "a lone surrogate in a string");
        if (rc)
            break;
        if (cp < 0x80)
            fputc (cp, buffer);
        else
        if (cp < 0x800)
            fprintf (buffer, "%c%c", 0xC0 | (cp >> 6), 0x80 | (cp & 0x3F));
        else
        if (cp < 0x10000)
            fprintf (buffer, "%c%c%c", 0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F),
                     0x80 | (cp & 0x3F));
        else
            fprintf (buffer, "%c%c%c%c", 0xF0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3F),
                     0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F));
    }
    fclose (buffer);
    if (rc)
        free (text);
    else {
        *out = text;
        *len = size;
    }
    return rc;
}

static int
s_json_number (s_json_t *self, msgpack_packer *pk)
{
    const char *start = self->p;
    while (self->p < self->end && strchr ("+-0123456789.eE", *self->p))
        self->p++;
    char text [64];
    size_t len = self->p - start;
    size_t sign = *start == '-';
    bool digit = len > sign && isdigit ((unsigned char) start [sign]);
    if (!digit || len >= sizeof (text))
        return s_json_fail (self, "a value must be a string, number, object, array, "
                            "true, false or null");
    memcpy (text, start, len);
    text [len] = 0;
    char *end;
    errno = 0;
    if (strspn (text + (*text == '-'), "0123456789") == len - (*text == '-')) {
        if (*text == '-') {
            long long value = strtoll (text, &end, 10);
            msgpack_pack_int64 (pk, value);
        }
        else {
            unsigned long long value = strtoull (text, &end, 10);
            msgpack_pack_uint64 (pk, value);
        }
        return errno? s_json_fail (self, "a number out of range"): 0;
    }
    double value = strtod (text, &end);
    if (*end || errno)
        return s_json_fail (self, "a malformed number");
    msgpack_pack_double (pk, value);
    return 0;
}

/* An array or object (p on its bracket): the items into a buffer of their
   own, since msgpack needs the count first. */
static int
s_json_container (s_json_t *self, msgpack_packer *pk, int depth, bool object)
{
    if (depth >= 8)
        return s_json_fail (self, "nested deeper than 8");
    msgpack_sbuffer items;
    msgpack_sbuffer_init (&items);
    msgpack_packer inner;
    msgpack_packer_init (&inner, &items, msgpack_sbuffer_write);
    char close = object? '}': ']';
    uint32_t count = 0;
    int rc = 0;
    self->p++;
    s_json_blank (self);
    if (self->p < self->end && *self->p == close)
        self->p++;
    else
    while (rc == 0) {
        s_json_blank (self);
        if (object) {
            char *key;
            size_t len;
            if (self->p == self->end || *self->p != '"')
                rc = s_json_fail (self, "an object key must be a string");
            else
            if ((rc = s_json_string (self, &key, &len)) == 0) {
                s_pack_strn (&inner, key, len);
                free (key);
                s_json_blank (self);
                if (self->p == self->end || *self->p++ != ':')
                    rc = s_json_fail (self, "':' must follow an object key");
            }
        }
        if (rc == 0)
            rc = s_json_value (self, &inner, depth + 1);
        count++;
        s_json_blank (self);
        if (rc == 0 && self->p < self->end && *self->p == ',')
            self->p++;
        else
        if (rc == 0 && self->p < self->end && *self->p == close) {
            self->p++;
            break;
        }
        else
        if (rc == 0)
            rc = s_json_fail (self, object? "',' or '}' must follow a member":
                                            "',' or ']' must follow an item");
    }
    if (rc == 0) {
        if (object)
            msgpack_pack_map (pk, count);
        else
            msgpack_pack_array (pk, count);
        pk->callback (pk->data, items.data, items.size);
    }
    msgpack_sbuffer_destroy (&items);
    return rc;
}

static int
s_json_value (s_json_t *self, msgpack_packer *pk, int depth)
{
    s_json_blank (self);
    if (self->p == self->end)
        return s_json_fail (self, "a value is missing");
    static const char *words [] = { "true", "false", "null" };
    for (int i = 0; i < 3; i++) {
        size_t len = strlen (words [i]);
        if ((size_t) (self->end - self->p) >= len && memcmp (self->p, words [i], len) == 0) {
            self->p += len;
            if (i == 0)
                msgpack_pack_true (pk);
            else
            if (i == 1)
                msgpack_pack_false (pk);
            else
                msgpack_pack_nil (pk);
            return 0;
        }
    }
    if (*self->p == '{' || *self->p == '[')
        return s_json_container (self, pk, depth, *self->p == '{');
    if (*self->p == '"') {
        char *text;
        size_t len;
        if (s_json_string (self, &text, &len))
            return -1;
        s_pack_strn (pk, text, len);
        free (text);
        return 0;
    }
    return s_json_number (self, pk);
}

/* One JSON line: an object; its "at" may be a time text, which becomes ms. */
static int
s_json_row (s_rows_t *self, const char *text, size_t len, size_t line)
{
    s_json_t json = { text, text + len, line, self->err };
    msgpack_sbuffer packed;
    msgpack_sbuffer_init (&packed);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &packed, msgpack_sbuffer_write);
    s_json_blank (&json);
    int rc = json.p < json.end && *json.p == '{'? s_json_value (&json, &pk, 0):
             dt_err_set (self->err, "BAD_ARGS", "line %zu: a row is a JSON object "
                         "({\"type\": \"post\", ...})", line);
    s_json_blank (&json);
    if (rc == 0 && json.p < json.end)
        rc = s_json_fail (&json, "text after the object (one object per line)");
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    if (rc == 0) {
        int got = msgpack_unpack_next (&unpacked, packed.data, packed.size, NULL);
        assert (got == MSGPACK_UNPACK_SUCCESS);
        const msgpack_object *row = &unpacked.data;
        const msgpack_object *at = proto_map_get (row, "at");
        const msgpack_object *type = proto_map_get (row, "type");
        if (!type || type->type != MSGPACK_OBJECT_STR || !at
        ||  at->type == MSGPACK_OBJECT_NIL)
            rc = dt_err_set (self->err, "BAD_ARGS", "line %zu: %s is required (every imported "
                             "item has its type and its time)", line,
                             !type || type->type != MSGPACK_OBJECT_STR? "type": "at");
        else
        if ((rc = s_rows_add (self, line)) == 0) {
            msgpack_pack_map (&self->pk, row->via.map.size);
            for (uint32_t i = 0; rc == 0 && i < row->via.map.size; i++) {
                const msgpack_object_kv *kv = &row->via.map.ptr [i];
                msgpack_pack_object (&self->pk, kv->key);
                if (&kv->val == at && at->type == MSGPACK_OBJECT_STR) {
                    char *time = strndup (at->via.str.ptr, at->via.str.size);
                    rc = s_pack_time (self, line, "at", time);
                    free (time);
                }
                else
                    msgpack_pack_object (&self->pk, kv->val);
            }
        }
    }
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&packed);
    return rc;
}

static int
s_json_rows (s_rows_t *self, const char *data, size_t size)
{
    size_t line = 1;
    if (size >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        size -= 3;
    }
    for (const char *p = data, *end = data + size; p < end; line++) {
        const char *eol = memchr (p, '\n', end - p);
        size_t len = (eol? eol: end) - p;
        if (strspn (p, " \t\r") < len && s_json_row (self, p, len, line))
            return -1;
        p += len + (eol != NULL);
    }
    return 0;
}

/* True when the first character that is not blank (after a byte order mark)
   is '{': JSON lines, else CSV. */
static bool
s_is_json (const char *data, size_t size)
{
    size_t pos = size >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0? 3: 0;
    while (pos < size && isspace ((unsigned char) data [pos]))
        pos++;
    return pos < size && data [pos] == '{';
}

static void
s_show_imported (ctl_t *ctl, const msgpack_object *result)
{
    fprintf (ctl->out, _("imported %s posts, %s events, %s questions\n"), ctl_v (result, "posts"),
             ctl_v (result, "events"), ctl_v (result, "questions"));
}

static void
s_show_reported (ctl_t *ctl, const msgpack_object *result)
{
    fprintf (ctl->out, _("reported %s activity rows\n"), ctl_v (result, "rows"));
}

/* Read path into rows (CSV, or JSON lines when content and the file starts
   with '{'), and send them as one request: all rows or none. */
static int
s_import (ctl_t *ctl, ctl_line_t *line, const char *op, bool content, ctl_show_fn *show)
{
    const char *path = line->argv [0];
    dt_err_t err;
    dt_err_init (&err);
    char *data;
    size_t size;
    if (ctl_import_read (path, &data, &size, &err)) {
        ctl_fail (ctl, "%s: %s", path, ctl_lang_of (&err));
        dt_err_reset (&err);
        return CTL_FAIL;
    }
    //  Times without an offset are local to the policy's zone
    const char *zone = content? ctl_zone (ctl): NULL;
    if (content && !zone) {
        free (data);
        return CTL_FAIL;
    }
    s_rows_t rows;
    s_rows_init (&rows, zone, &err);
    static const char *content_required [] = { "type", "at", NULL };
    static const char *activity_required [] = { "member", "day", "count", NULL };
    int rc = !content? s_csv_rows (&rows, data, size, s_activity_fields, S_ACTIVITY_HEADER,
                                   activity_required, false):
             s_is_json (data, size)? s_json_rows (&rows, data, size):
             s_csv_rows (&rows, data, size, s_content_fields, S_CONTENT_HEADER,
                         content_required, true);
    free (data);
    if (rc == 0 && rows.rows.size > DT_MAX_BODY - 4096)
        rc = dt_err_set (&err, "TOO_LARGE", "%zu rows take %zu bytes, more than one request "
                         "carries (%d): split the file", rows.count, rows.rows.size,
                         DT_MAX_BODY);
    if (rc)
        rc = ctl_fail (ctl, "%s: %s", path, ctl_lang_of (&err));
    else {
        msgpack_pack_array (args_key (&line->req, "rows"), rows.count);
        msgpack_sbuffer_write (&line->req.body, rows.rows.data, rows.rows.size);
        //  One transaction of up to 100 000 rows takes longer than a usual request
        if (ctl->opts.timeout_ms == 0)
            ctl->opts.timeout_ms = 120000;
        ctl->row_lines = rows.lines;
        ctl->nrows = rows.count;
        rc = ctl_call (ctl, line, op, show);
        ctl->row_lines = NULL;
        ctl->nrows = 0;
    }
    s_rows_destroy (&rows);
    dt_err_reset (&err);
    return rc;
}

/* ACTIVITY IMPORT file.csv */
static int
s_activity_import (ctl_t *ctl, ctl_line_t *line)
{
    return s_import (ctl, line, "activity.report", false, s_show_reported);
}

/* IMPORT CONTENT file */
static int
s_import_content (ctl_t *ctl, ctl_line_t *line)
{
    return s_import (ctl, line, "import.content", true, s_show_imported);
}

#define S_TIME_HELP " TIME: 2026-12-01T20:18 (or '2026-12-01 20:18') local to the " \
    "policy's time zone unless it ends in Z or +08:00, a date, or ms since 1970."

const ctl_cmd_t ctl_content_cmds [] = {
    { "post", "add", "post add GROUP KIND TITLE --author ID [--id ID] [--at TIME] "
      "[--topic T ...] [--text TEXT] [--link URL] [--photo REF ...] [--seconds N]",
      "author:! id: at: topic:* text: link: photo:* seconds:", 3, 3, s_post_add,
      "Publish a post (article, story, video, promo, notice) in a hall or branch, judged "
      "by the policy at its time (--topic a,b or repeated; a story needs --photo)."
      S_TIME_HELP },
    { "post", "list", "post list GROUP [--kind K] [--since TIME] [--until TIME] [--limit N]",
      "kind: since: until: limit:", 1, 1, s_post_list,
      "List a group's posts, oldest first, every page (or the first N)." S_TIME_HELP },
    { "post", "show", "post show ID", NULL, 1, 1, s_item_show,
      N_("Show a post, one field a line, times in the policy's time zone.")},
    { "event", "schedule", "event schedule GROUP KIND TITLE --at TIME --place PLACE "
      "--author ID [--id ID]", "at:! place:! author:! id:", 3, 3, s_event_schedule,
      "Schedule an event (tasting, sports, other) of a hall or branch." S_TIME_HELP },
    { "event", "held", "event held ID --author ID --attendees M1,M2,...",
      "author:! attendees:!*", 1, 1, s_event_held,
      N_("Record that a scheduled event was held, with its attendees (comma-separated or "
      "--attendees repeated).")},
    { "event", "cancel", "event cancel ID --author ID", "author:!", 1, 1, s_event_cancel,
      N_("Cancel a scheduled event.")},
    { "event", "show", "event show ID", NULL, 1, 1, s_item_show,
      N_("Show an event, one field a line, times in the policy's time zone.")},
    { "event", "list", "event list GROUP [--status S] [--since TIME] [--until TIME] "
      "[--limit N]", "status: since: until: limit:", 1, 1, s_event_list,
      "List a group's events (scheduled, held, cancelled), every page (or the first N)."
      S_TIME_HELP },
    { "question", "ask", "question ask MEMBER TEXT [--id ID] [--at TIME]", "id: at:", 2, 2,
      s_question_ask, "Ask a business question for a member: it goes to the member's hall "
      "leader (a core member's: the branch's), due within the policy's deadline."
      S_TIME_HELP },
    { "question", "answer", "question answer ID --by ID TEXT", "by:!", 2, 2,
      s_question_answer, N_("Answer a question; only the leader it is routed to may.")},
    { "question", "list", "question list [--group G] [--leader L] [--open] [--overdue] "
      "[--limit N]", "group: leader: open overdue limit:", 0, 0, s_question_list,
      N_("List questions (of a group in time order; else open ones by deadline), every page "
      "(or the first N).")},
    { "question", "show", "question show ID", NULL, 1, 1, s_item_show,
      N_("Show a question with the leader it is routed to now, one field a line.")},
    { "activity", "import", "activity import FILE.csv", NULL, 1, 1, s_activity_import,
      N_("Report message counts per member and day from CSV (header member,day,count with "
      "day YYYY-MM-DD; '-' reads stdin): all rows or none; a day reported again is "
      "replaced.")},
    { "import", "content", "import content FILE", NULL, 1, 1, s_import_content,
      "Import historical posts, events and questions (CSV with header " S_CONTENT_HEADER
      ", list cells separated by ';'; or JSON lines when the file starts with '{'; '-' "
      "reads stdin), each judged at its time: all rows or none." },
    { NULL }
};

//  Self-test

/* Queue the policy the first time-aware request of a run asks for. */
static void
s_queue_policy (ctl_fake_t *fake, const char *zone)
{
    char text [128];
    snprintf (text, sizeof (text), "version:=4 hall_cap:=30 timezone=%s", zone);
    ctl_fake_queue_text (fake, text);
}

/* A page { items: [...], next }: queued, or the standing answer. */
static void
s_page (ctl_fake_t *fake, bool queue, const char *next, const char **items)
{
    ctl_fake_page (fake, queue, "items", next, items);
}

/* Every request of the last run, checked. */
static void
s_requests (ctl_fake_t *fake, const char *expected)
{
    if (!streq (ctl_fake_requests (fake), expected)) {
        fprintf (stderr, "\nrequests: expected\n%s got\n%s", expected, ctl_fake_requests (fake));
        assert (false);
    }
}

/* A temporary file holding text; its name into path (32 bytes). */
static void
s_file (char *path, const char *text)
{
    strcpy (path, "/tmp/ctl-content-XXXXXX");
    int fd = mkstemp (path);
    assert (fd >= 0);
    assert (write (fd, text, strlen (text)) == (ssize_t) strlen (text));
    close (fd);
}

/* Import a file of text with command (e.g. "import content"), expecting code
   and stderr (exactly; "%s" stands for the file's name). */
static void
s_import_expect (ctl_fake_t *fake, const char *command, const char *text, int code,
                 const char *request, const char *out, const char *err)
{
    char path [32], cmdline [128], expected [1024];
    s_file (path, text);
    snprintf (cmdline, sizeof (cmdline), "%s %s", command, path);
    if (err)
        snprintf (expected, sizeof (expected), err, path);
    ctl_fake_expect (fake, cmdline, code, request, out, err? expected: NULL);
    unlink (path);
}

#define S_POST_1 "id=p-1 type=post kind=article group=h-qingyang branch=b-chengdu " \
    "author=m-li at:=1796127480000 accepted:=1796127481000 by=alice title=酱酒品鉴 " \
    "topics=[酱酒,侠义] text=好酒 photos=[] seconds:=0 status=published"
#define S_POST_2 "id=p-0123456789abcdef0123 type=post kind=promo group=h-qingyang " \
    "author=m-wang at:=1796213880000 title=Promo status=published"
#define S_POST_3 "id=p-3 type=post kind=story group=h-1 author=m-z at:=1796000700000 " \
    "title=故事 photos=[a,b] status=published"

void
ctl_cmds_content_test (bool verbose)
{
    (void) verbose;
    ctl_fake_t *fake = ctl_fake_new ();

    //  post add: every option into its arg; the time read in the policy's zone
    //  (asked once), the post shown in it
    s_queue_policy (fake, "Asia/Shanghai");
    ctl_fake_result_text (fake, S_POST_1);
    const char *post_line = "post p-1 酱酒品鉴: article in h-qingyang by m-li at "
                            "2026-12-01 20:18 +08:00, topics 酱酒,侠义\n";
    ctl_fake_expect (fake, "post add h-qingyang article 酱酒品鉴 --author m-li --id p-1 "
        "--at 2026-12-01T20:18 --topic 酱酒,侠义 --topic 互联网 --text 好酒 "
        "--link https://x.cn/?a=1,2 --photo oss://a,1.jpg --photo oss://b.jpg --seconds 120",
        CTL_OK, NULL, post_line, "");
    s_requests (fake, "policy.show {}\n"
        "post.add {\"group\":\"h-qingyang\",\"kind\":\"article\",\"title\":\"酱酒品鉴\","
        "\"author\":\"m-li\",\"id\":\"p-1\",\"at\":1796127480000,\"topics\":[\"酱酒\",\"侠义\","
        "\"互联网\"],\"text\":\"好酒\",\"link\":\"https://x.cn/?a=1,2\",\"photos\":"
        "[\"oss://a,1.jpg\",\"oss://b.jpg\"],\"seconds\":120}\n");
    //  An explicit offset wins over the zone; ms are taken as they are
    s_queue_policy (fake, "America/New_York");
    ctl_fake_expect (fake, "post add h-1 notice N --author m-li --at 2026-12-01T20:18+08:00",
        CTL_OK, "post.add {\"group\":\"h-1\",\"kind\":\"notice\",\"title\":\"N\","
        "\"author\":\"m-li\",\"at\":1796127480000}",
        "post p-1 酱酒品鉴: article in h-qingyang by m-li at 2026-12-01 07:18 -05:00, "
        "topics 酱酒,侠义\n", "");
    s_queue_policy (fake, "America/New_York");
    ctl_fake_expect (fake, "post add h-1 notice N --author m-li --at 2026-12-01T07:18 --json",
        CTL_OK, "post.add {\"group\":\"h-1\",\"kind\":\"notice\",\"title\":\"N\","
        "\"author\":\"m-li\",\"at\":1796127480000}", NULL, "");
    //  --json needs no zone unless a time is read: one request
    ctl_fake_expect (fake, "post add h-1 video V --author m-li --seconds 90 --json", CTL_OK,
        NULL, NULL, "");
    s_requests (fake, "post.add {\"group\":\"h-1\",\"kind\":\"video\",\"title\":\"V\","
        "\"author\":\"m-li\",\"seconds\":90}\n");
    assert (strstr (ctl_fake_out (fake), "{\"id\":\"p-1\",\"type\":\"post\""));
    //  Usage errors send nothing
    ctl_fake_expect (fake, "post add h-1 article T", CTL_USAGE, "", "", NULL);
    assert (strstr (ctl_fake_err (fake), "missing --author"));
    ctl_fake_expect (fake, "post add h-1 article T --author m-1 --at yesterday", CTL_USAGE,
        "", "", NULL);
    assert (strstr (ctl_fake_err (fake), "--at takes a time"));
    s_requests (fake, "");
    ctl_fake_expect (fake, "post add h-1 video T --author m-1 --seconds long", CTL_USAGE,
        "", "", NULL);
    assert (strstr (ctl_fake_err (fake), "--seconds must be a number, not 'long'"));
    //  A server refusal: its message on one line, exit 1
    s_queue_policy (fake, "Asia/Shanghai");
    ctl_fake_error (fake, "LIMIT", "promo limit: b-chengdu already has 1/1 promo posts on "
                    "2026-12-01 (Asia/Shanghai)", NULL);
    ctl_fake_expect (fake, "post add b-chengdu promo P --author o-1", CTL_FAIL, NULL, "",
        "duotangctl: promo limit: b-chengdu already has 1/1 promo posts on 2026-12-01 "
        "(Asia/Shanghai)\n");
    ctl_fake_expect (fake, "post add b-chengdu promo P --author o-1 --json", CTL_FAIL, NULL,
        "{\"error\":{\"code\":\"LIMIT\",\"message\":\"promo limit: b-chengdu already has 1/1 "
        "promo posts on 2026-12-01 (Asia/Shanghai)\"}}\n", NULL);
    //  A zone this machine does not know: refused before the write
    s_queue_policy (fake, "Mars/Olympus");
    ctl_fake_expect (fake, "post add h-1 notice N --author m-li", CTL_FAIL, "policy.show {}", "",
        "duotangctl: the policy's time zone Mars/Olympus is not in this machine's tz "
        "database (install tzdata)\n");

    //  post show: one field a line, times local
    s_queue_policy (fake, "Asia/Shanghai");
    ctl_fake_result_text (fake, S_POST_1);
    ctl_fake_expect (fake, "post show p-1", CTL_OK, "post.show {\"id\":\"p-1\"}",
        "id        p-1\n"
        "type      post\n"
        "kind      article\n"
        "group     h-qingyang\n"
        "branch    b-chengdu\n"
        "author    m-li\n"
        "at        2026-12-01 20:18 +08:00\n"
        "accepted  2026-12-01 20:18 +08:00\n"
        "by        alice\n"
        "title     酱酒品鉴\n"
        "topics    酱酒,侠义\n"
        "text      好酒\n"
        "photos    -\n"
        "seconds   0\n"
        "status    published\n", "");

    //  event show, question show: the same, their own op
    s_queue_policy (fake, "Asia/Shanghai");
    ctl_fake_result_text (fake, "id=e-1 type=event at:=1796468400000 closed_at:=0");
    ctl_fake_expect (fake, "event show e-1", CTL_OK, "event.show {\"id\":\"e-1\"}",
        "id         e-1\ntype       event\nat         2026-12-05 19:00 +08:00\n"
        "closed_at  -\n", "");
    ctl_fake_expect (fake, "question show q-1 --json", CTL_OK,
        "question.show {\"id\":\"q-1\"}", NULL, "");

    //  post list: every page, the cursor of one in the next request; one table
    //  whose columns keep their places from page to page
    s_queue_policy (fake, "Asia/Shanghai");
    s_page (fake, true, "c-1", (const char *[]) { S_POST_1, S_POST_2, NULL });
    s_page (fake, true, NULL, (const char *[]) { S_POST_3, NULL });
    ctl_fake_expect (fake, "post list h-qingyang --kind article --since 2026-12-01", CTL_OK,
        NULL,
        "ID                      KIND     GROUP       AUTHOR  TIME                     TITLE\n"
        "p-1                     article  h-qingyang  m-li    2026-12-01 20:18 +08:00  酱酒品鉴\n"
        "p-0123456789abcdef0123  promo    h-qingyang  m-wang  2026-12-02 20:18 +08:00  Promo\n"
        "p-3                     story    h-1         m-z     2026-11-30 09:05 +08:00  故事\n",
        "");
    s_requests (fake, "policy.show {}\n"
        "post.list {\"group\":\"h-qingyang\",\"kind\":\"article\",\"since\":1796054400000}\n"
        "post.list {\"group\":\"h-qingyang\",\"kind\":\"article\",\"since\":1796054400000,"
        "\"limit\":1000,\"cursor\":\"c-1\"}\n");
    //  A wider value later widens its column from then on, never narrows it
    s_queue_policy (fake, "Asia/Shanghai");
    s_page (fake, true, "c-1", (const char *[]) { S_POST_3, NULL });
    s_page (fake, true, NULL, (const char *[]) { S_POST_2, NULL });
    ctl_fake_expect (fake, "post list h-1", CTL_OK, NULL,
        "ID   KIND     GROUP  AUTHOR  TIME                     TITLE\n"
        "p-3  story    h-1    m-z     2026-11-30 09:05 +08:00  故事\n"
        "p-0123456789abcdef0123  promo    h-qingyang  m-wang  2026-12-02 20:18 +08:00  Promo\n",
        "");
    //  --limit N: at most N items in all, the last page asked for what is left
    //  (and cut, should a server send more); --json: one array of them all
    s_page (fake, true, "c-1", (const char *[]) { S_POST_1, S_POST_2, NULL });
    s_page (fake, true, "c-2", (const char *[]) { S_POST_3, S_POST_1, NULL });
    ctl_fake_expect (fake, "post list h-1 --limit 3 --json", CTL_OK, NULL, NULL, "");
    s_requests (fake, "post.list {\"group\":\"h-1\",\"limit\":3}\n"
        "post.list {\"group\":\"h-1\",\"limit\":1,\"cursor\":\"c-1\"}\n");
    const char *json = ctl_fake_out (fake);
    assert (json [0] == '[' && streq (json + strlen (json) - 3, "}]\n"));
    assert (strstr (json, "\"id\":\"p-1\"") && strstr (json, "\"id\":\"p-3\""));
    assert (strstr (json, "},{\"id\":\"p-0123456789abcdef0123\""));
    assert (strstr (strstr (json, "\"p-3\""), "\"p-1\"") == NULL);
    //  More than a page's worth is asked 1000 at a time
    s_page (fake, true, NULL, (const char *[]) { S_POST_1, NULL });
    ctl_fake_expect (fake, "post list h-1 --limit 2500 --json", CTL_OK,
        "post.list {\"group\":\"h-1\",\"limit\":1000}", NULL, "");
    ctl_fake_expect (fake, "post list h-1 --limit 0", CTL_USAGE, "", "", NULL);
    ctl_fake_expect (fake, "post list h-1 --limit x", CTL_USAGE, "", "", NULL);
    ctl_fake_expect (fake, "post list h-1 --since 2026-13-01", CTL_USAGE, "", "", NULL);
    //  Nothing at all: (none); [] with --json
    s_queue_policy (fake, "Asia/Shanghai");
    s_page (fake, false, NULL, (const char *[]) { NULL });
    ctl_fake_expect (fake, "post list h-1", CTL_OK, NULL, "(none)\n", "");
    ctl_fake_expect (fake, "post list h-1 --json", CTL_OK, "post.list {\"group\":\"h-1\"}",
        "[]\n", "");
    //  A failure after the first page: the array is closed, the error on stderr
    s_page (fake, true, "c-1", (const char *[]) { S_POST_3, NULL });
    ctl_fake_queue_error (fake, "BAD_ARGS", "cursor c-1 is not valid any more", NULL);
    ctl_fake_expect (fake, "post list h-1 --json", CTL_FAIL, NULL, NULL,
        "duotangctl: cursor c-1 is not valid any more\n");
    assert (ctl_fake_out (fake) [0] == '[' && strstr (ctl_fake_out (fake), "}]\n")
            && !strstr (ctl_fake_out (fake), "error"));
    //  A server that answers the same cursor again is not followed for ever
    s_page (fake, true, "c-1", (const char *[]) { S_POST_3, NULL });
    s_page (fake, false, "c-1", (const char *[]) { S_POST_1, NULL });
    ctl_fake_expect (fake, "post list h-1 --json", CTL_FAIL, NULL, NULL,
        "duotangctl: post.list answered the cursor it was given: the server is looping, "
        "stopped after 2 items\n");

    //  Events
    const char *event = "id=e-1 type=event kind=tasting group=h-1 author=m-li "
        "at:=1796468400000 title=赛酒会 place=青羊宫 status=scheduled attendees=[] "
        "closed_at:=0";
    s_queue_policy (fake, "Asia/Shanghai");
    ctl_fake_result_text (fake, event);
    ctl_fake_expect (fake, "event schedule h-1 tasting 赛酒会 --at 2026-12-05T19:00 "
        "--place 青羊宫 --author m-li --id e-1", CTL_OK,
        "event.schedule {\"group\":\"h-1\",\"kind\":\"tasting\",\"title\":\"赛酒会\","
        "\"at\":1796468400000,\"place\":\"青羊宫\",\"author\":\"m-li\",\"id\":\"e-1\"}",
        "event e-1 赛酒会: tasting in h-1 at 2026-12-05 19:00 +08:00, place 青羊宫, "
        "by m-li: scheduled\n", "");
    ctl_fake_expect (fake, "event schedule h-1 tasting T --place P --author m-li", CTL_USAGE,
        "", "", NULL);
    assert (strstr (ctl_fake_err (fake), "missing --at"));
    const char *held = "id=e-1 type=event kind=tasting group=h-1 author=m-li "
        "at:=1796468400000 title=赛酒会 place=青羊宫 status=held attendees=[m-1,m-2,m-3] "
        "closed_at:=1796470000000 closed_by=m-li";
    s_queue_policy (fake, "Asia/Shanghai");
    ctl_fake_result_text (fake, held);
    ctl_fake_expect (fake, "event held e-1 --author m-li --attendees m-1,m-2 --attendees m-3",
        CTL_OK, "event.held {\"id\":\"e-1\",\"attendees\":[\"m-1\",\"m-2\",\"m-3\"],"
        "\"author\":\"m-li\"}",
        "event e-1 赛酒会: tasting in h-1 at 2026-12-05 19:00 +08:00, place 青羊宫, "
        "by m-li: held, 3 attendees (by m-li)\n", "");
    ctl_fake_expect (fake, "event held e-1 --author m-li", CTL_USAGE, "", "", NULL);
    ctl_fake_error (fake, "RULE", "attendee rule: m-x is not a member of hall h-1", NULL);
    ctl_fake_expect (fake, "event held e-1 --author m-li --attendees m-x --json", CTL_FAIL,
        "event.held {\"id\":\"e-1\",\"attendees\":[\"m-x\"],\"author\":\"m-li\"}", NULL,
        "duotangctl: attendee rule: m-x is not a member of hall h-1\n");
    ctl_fake_result_text (fake, "id=e-1 status=cancelled");
    ctl_fake_expect (fake, "event cancel e-1 --author m-li --json", CTL_OK,
        "event.cancel {\"id\":\"e-1\",\"author\":\"m-li\"}",
        "{\"id\":\"e-1\",\"status\":\"cancelled\"}\n", "");
    s_queue_policy (fake, "Asia/Shanghai");
    s_page (fake, true, "c-9", (const char *[]) { held, NULL });
    s_page (fake, true, NULL, (const char *[]) { event, NULL });
    ctl_fake_expect (fake, "event list h-1 --status held --since 1796054400000 "
        "--until 2026-12-31 --limit 5", CTL_OK,
        NULL,
        "ID   KIND     GROUP  AUTHOR  TIME                     STATUS     ATTENDEES  TITLE\n"
        "e-1  tasting  h-1    m-li    2026-12-05 19:00 +08:00  held               3  赛酒会\n"
        "e-1  tasting  h-1    m-li    2026-12-05 19:00 +08:00  scheduled             赛酒会\n",
        "");
    //  The zone is asked once, whatever the number of times to read and show
    s_requests (fake, "policy.show {}\n"
        "event.list {\"group\":\"h-1\",\"status\":\"held\",\"since\":1796054400000,"
        "\"until\":1798646400000,\"limit\":5}\n"
        "event.list {\"group\":\"h-1\",\"status\":\"held\",\"since\":1796054400000,"
        "\"until\":1798646400000,\"limit\":4,\"cursor\":\"c-9\"}\n");

    //  Questions: routed leader, deadline, overdue
    const char *question = "id=q-1 type=question kind=question group=h-1 author=m-wang "
        "at:=1796127480000 text=酱香型白酒怎么存放比较好呢请问各位有经验的朋友们 "
        "deadline:=1796213880000 status=open leader=m-li overdue:=true";
    s_queue_policy (fake, "Asia/Shanghai");
    ctl_fake_result_text (fake, question);
    ctl_fake_expect (fake, "question ask m-wang 怎么存放 --id q-1 --at 2026-12-01T20:18", CTL_OK,
        NULL, "question q-1 of m-wang in h-1 at 2026-12-01 20:18 +08:00: routed to m-li, "
        "due 2026-12-02 20:18 +08:00, open, overdue\n", "");
    s_requests (fake, "policy.show {}\n"
        "question.ask {\"member\":\"m-wang\",\"text\":\"怎么存放\",\"id\":\"q-1\","
        "\"at\":1796127480000}\n");
    s_queue_policy (fake, "Asia/Shanghai");
    ctl_fake_result_text (fake, "id=q-1 type=question group=h-1 author=m-wang "
        "at:=1796127480000 deadline:=1796213880000 status=answered leader=m-li "
        "closed_by=m-li overdue:=false");
    ctl_fake_expect (fake, "question answer q-1 --by m-li 阴凉处", CTL_OK,
        "question.answer {\"id\":\"q-1\",\"by\":\"m-li\",\"text\":\"阴凉处\"}",
        "question q-1 of m-wang in h-1 at 2026-12-01 20:18 +08:00: routed to m-li, "
        "due 2026-12-02 20:18 +08:00, answered by m-li\n", "");
    ctl_fake_expect (fake, "question answer q-1 阴凉处", CTL_USAGE, "", "", NULL);
    ctl_fake_error (fake, "RULE", "question rule: q-1 of m-wang is routed to m-li (leader of "
                    "hall h-1); m-zhao cannot answer it", NULL);
    ctl_fake_expect (fake, "question answer q-1 --by m-zhao x --json", CTL_FAIL, NULL, NULL,
        "duotangctl: question rule: q-1 of m-wang is routed to m-li (leader of hall h-1); "
        "m-zhao cannot answer it\n");
    s_queue_policy (fake, "Asia/Shanghai");
    s_page (fake, false, NULL, (const char *[]) { question, NULL });
    ctl_fake_expect (fake, "question list --leader m-li --open --overdue", CTL_OK, NULL,
        "ID   GROUP  ASKER   TIME                     LEADER  DEADLINE                 "
        "STATUS    OVERDUE  TEXT\n"
        "q-1  h-1    m-wang  2026-12-01 20:18 +08:00  m-li    2026-12-02 20:18 +08:00  "
        "open      overdue  酱香型白酒怎么存放比较好呢请问各位有经…\n", "");
    s_requests (fake, "policy.show {}\n"
        "question.list {\"leader\":\"m-li\",\"open\":true,\"overdue\":true}\n");
    ctl_fake_expect (fake, "question list --group h-1 --json", CTL_OK,
        "question.list {\"group\":\"h-1\"}", NULL, "");

    //  activity import: rows typed, broken CSV by line, the server's bad rows by
    //  their file lines (the server counts rows; blank lines are skipped)
    ctl_fake_result_text (fake, "rows:=2");
    s_import_expect (fake, "activity import", "member,day,count\r\nm-1,2026-12-01,12\r\n\r\n"
        "m-2,2026-12-01,0\r\n", CTL_OK, "activity.report {\"rows\":[{\"member\":\"m-1\","
        "\"day\":\"2026-12-01\",\"count\":12},{\"member\":\"m-2\",\"day\":\"2026-12-01\","
        "\"count\":0}]}", "reported 2 activity rows\n", "");
    ctl_fake_error (fake, "IMPORT_REJECTED", "1 of 2 rows rejected, nothing recorded",
                    "2:m-2 holds no seat in a group of this server");
    s_import_expect (fake, "activity import", "member,day,count\nm-1,2026-12-01,12\n\n"
        "m-2,2026-12-01,3\n", CTL_FAIL, NULL, "",
        "duotangctl: 1 of 2 rows rejected, nothing recorded\n"
        "line 4: m-2 holds no seat in a group of this server\n");
    s_import_expect (fake, "activity import", "member,day,count\nm-1,2026-12-01,many\n",
        CTL_FAIL, "", "", "duotangctl: %s: line 2: count must be a number, not 'many'\n");
    s_import_expect (fake, "activity import", "member,day\nm-1,2026-12-01\n",
        CTL_FAIL, "", "", "duotangctl: %s: line 1: missing column count: the header is "
        "member,day,count\n");
    s_import_expect (fake, "activity import", "member,day,count\nm-1,2026-12-01,1\nm-2,x\n",
        CTL_FAIL, "", "", "duotangctl: %s: line 3: 2 fields, the header has 3\n");
    s_import_expect (fake, "activity import", "member,day,count\n\"m-1,2026-12-01,1\n",
        CTL_FAIL, "", "", "duotangctl: %s: line 2: unterminated quoted field\n");

    //  import content, CSV: list cells split on ';', empty cells left out,
    //  times local to the policy's zone
    s_queue_policy (fake, "Asia/Shanghai");
    ctl_fake_result_text (fake, "posts:=1 events:=1 questions:=1");
    s_import_expect (fake, "import content",
        "type,id,group,kind,title,author,at,topics,text,link,photos,seconds,place,attendees,"
        "status,member,answer,by\n"
        "post,p-1,h-1,story,\"游记,一\",m-li,2026-12-01 20:18,酱酒;侠义,,,a.jpg;b.jpg,,,,,,,\n"
        "event,e-1,h-1,tasting,赛酒会,m-li,2026-12-05T19:00+08:00,,,,,,青羊宫,m-1;m-2,,,,\n"
        "question,q-1,,,,,1796127480000,,怎么存?,,,,,,,m-wang,阴凉处,m-li\n",
        CTL_OK, "import.content {\"rows\":["
        "{\"type\":\"post\",\"id\":\"p-1\",\"group\":\"h-1\",\"kind\":\"story\","
        "\"title\":\"游记,一\",\"author\":\"m-li\",\"at\":1796127480000,\"topics\":[\"酱酒\","
        "\"侠义\"],\"photos\":[\"a.jpg\",\"b.jpg\"]},"
        "{\"type\":\"event\",\"id\":\"e-1\",\"group\":\"h-1\",\"kind\":\"tasting\","
        "\"title\":\"赛酒会\",\"author\":\"m-li\",\"at\":1796468400000,\"place\":\"青羊宫\","
        "\"attendees\":[\"m-1\",\"m-2\"]},"
        "{\"type\":\"question\",\"id\":\"q-1\",\"at\":1796127480000,\"text\":\"怎么存?\","
        "\"member\":\"m-wang\",\"answer\":\"阴凉处\",\"by\":\"m-li\"}]}",
        "imported 1 posts, 1 events, 1 questions\n", "");
    //  Columns in any order, any subset with type and at
    s_queue_policy (fake, "Asia/Shanghai");
    s_import_expect (fake, "import content", " AT ,Type,seconds\n2026-12-01,post,30\n",
        CTL_OK, "import.content {\"rows\":[{\"at\":1796054400000,\"type\":\"post\","
        "\"seconds\":30}]}", NULL, "");
    //  Broken rows, by line
    const char *header = "type,id,group,kind,title,author,at\n";
    char text [512];
    snprintf (text, sizeof (text), "%spost,p-1,h-1,article,T,m-1,2026-12-01\n"
              "poster,p-2,h-1,article,T,m-1,2026-12-01\n", header);
    s_queue_policy (fake, "Asia/Shanghai");
    s_import_expect (fake, "import content", text, CTL_FAIL, "policy.show {}", "",
        "duotangctl: %s: line 3: type 'poster': a row is a post, an event or a question\n");
    snprintf (text, sizeof (text), "%s\npost,p-1,h-1,article,T,m-1,\n", header);
    s_queue_policy (fake, "Asia/Shanghai");
    s_import_expect (fake, "import content", text, CTL_FAIL, NULL, "",
        "duotangctl: %s: line 3: at is required (every imported item has its type and its "
        "time)\n");
    snprintf (text, sizeof (text), "%spost,p-1,h-1,article,T,m-1,2026-02-30\n", header);
    s_queue_policy (fake, "Asia/Shanghai");
    s_import_expect (fake, "import content", text, CTL_FAIL, NULL, "",
        "duotangctl: %s: line 2: at '2026-02-30' is not a time (2026-12-01 20:18, local to "
        "Asia/Shanghai unless it ends in Z or +08:00, or ms since 1970)\n");
    s_queue_policy (fake, "Asia/Shanghai");
    s_import_expect (fake, "import content", "type,id,when\n", CTL_FAIL, NULL, "",
        "duotangctl: %s: line 1: unknown column \"when\": the header is " S_CONTENT_HEADER
        " (any of them, in any order)\n");
    s_queue_policy (fake, "Asia/Shanghai");
    s_import_expect (fake, "import content", "id,at\n", CTL_FAIL, NULL, "",
        "duotangctl: %s: line 1: missing column type: the header is " S_CONTENT_HEADER "\n");
    //  The server's bad rows print with the file's lines
    snprintf (text, sizeof (text), "%spost,p-1,h-1,article,T,m-1,2026-12-01\n\n"
              "post,p-2,h-1,promo,P,m-1,2026-12-01\npost,p-3,h-1,promo,P,m-1,2026-12-01\n",
              header);
    s_queue_policy (fake, "Asia/Shanghai");
    ctl_fake_error (fake, "IMPORT_REJECTED", "2 of 3 rows rejected, nothing imported",
        "2:role rule: m-1 is member of h-1; a promo may be published by leader, admin "
        "(policy promo_roles)|3:promo limit: h-1 already has 1/1 promo posts on 2026-12-01 "
        "(Asia/Shanghai)");
    s_import_expect (fake, "import content", text, CTL_FAIL, NULL, "",
        "duotangctl: 2 of 3 rows rejected, nothing imported\n"
        "line 4: role rule: m-1 is member of h-1; a promo may be published by leader, "
        "admin (policy promo_roles)\n"
        "line 5: promo limit: h-1 already has 1/1 promo posts on 2026-12-01 (Asia/Shanghai)\n");

    //  import content, JSON lines: objects as they are, "at" as text read in
    //  the zone, escapes decoded; a bad line by its number
    s_queue_policy (fake, "Asia/Shanghai");
    ctl_fake_result_text (fake, "posts:=1 events:=0 questions:=1");
    s_import_expect (fake, "import content",
        "\n  {\"type\": \"post\", \"group\": \"h-1\", \"kind\": \"video\", \"title\": "
        "\"\\u9171\\u9152 \\\"x\\\"\\n\", \"at\": \"2026-12-01 20:18\", \"seconds\": 120, "
        "\"topics\": [\"a\", \"b\"], \"text\": null, \"ok\": true, \"r\": -1.5}\r\n"
        "\n"
        "{\"type\":\"question\",\"member\":\"m-1\",\"text\":\"\\ud83c\\udf76\","
        "\"at\":1796127480000,\"extra\":{\"k\":[]}}\n",
        CTL_OK, "import.content {\"rows\":[{\"type\":\"post\",\"group\":\"h-1\","
        "\"kind\":\"video\",\"title\":\"酱酒 \\\"x\\\"\\n\",\"at\":1796127480000,"
        "\"seconds\":120,\"topics\":[\"a\",\"b\"],\"text\":null,\"ok\":true,\"r\":-1.5},"
        "{\"type\":\"question\",\"member\":\"m-1\",\"text\":\"🍶\",\"at\":1796127480000,"
        "\"extra\":{\"k\":[]}}]}", "imported 1 posts, 0 events, 1 questions\n", "");
    const char *bad_json [][2] = {
        { "{\"type\":\"post\",\"at\":1}\n{\"type\":\"post\",\"at\":1,}\n",
          "line 2: not JSON: an object key must be a string" },
        { "{\"type\":\"post\",\"at\":1}\n\n[1]\n", "line 3: a row is a JSON object "
          "({\"type\": \"post\", ...})" },
        { "{\"type\":\"post\",\"at\":1} x\n", "line 1: not JSON: text after the object "
          "(one object per line)" },
        { "{\"type\":\"post\",\"at\":\"soon\"}\n", "line 1: at 'soon' is not a time" },
        { "{\"type\":\"post\"}\n", "line 1: at is required" },
        { "{\"at\":5}\n", "line 1: type is required" },
        { "{\"type\":\"post\",\"at\":1,\"t\":\"\\ud83c\"}\n", "line 1: not JSON: a lone "
          "surrogate in a string" },
        { "{\"type\":\"post\",\"at\":1,\"t\":\"open}\n", "line 1: not JSON: unterminated "
          "string" },
        { "{\"type\":\"post\",\"at\":1,\"t\":tru}\n", "line 1: not JSON: a value must be" },
        { "{\"type\":\"post\",\"at\":-}\n", "line 1: not JSON: a value must be" },
        { "{\"type\":\"post\",\"at\":+1}\n", "line 1: not JSON: a value must be" },
        { "{\"type\":\"post\",\"at\":1.5.2}\n", "line 1: not JSON: a malformed number" },
        { "{\"a\":[[[[[[[[1]]]]]]]]}\n", "line 1: not JSON: nested deeper than 8" },
        { "{\"type\":\"post\",\"at\":99999999999999999999}\n", "line 1: not JSON: a number "
          "out of range" },
        { NULL, NULL }
    };
    for (int i = 0; bad_json [i][0]; i++) {
        s_queue_policy (fake, "Asia/Shanghai");
        s_import_expect (fake, "import content", bad_json [i][0], CTL_FAIL, "policy.show {}",
                         "", NULL);
        if (!strstr (ctl_fake_err (fake), bad_json [i][1])) {
            fprintf (stderr, "\n%s: expected [%s] in [%s]\n", bad_json [i][0], bad_json [i][1],
                     ctl_fake_err (fake));
            assert (false);
        }
    }
    ctl_fake_expect (fake, "import content /nonexistent/file.csv", CTL_FAIL, "", "", NULL);
    assert (strstr (ctl_fake_err (fake), "cannot open"));
    ctl_fake_destroy (&fake);
}

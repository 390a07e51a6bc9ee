/* ctl_cmds_member.c -- the member commands, and members CSV import/export. */
#include <pthread.h>
#include "ctl.h"
#include "ctl_print.h"
#include "ctl_import.h"
#include "ctl_text.h"
#include "ctl_fake.h"
#include "op.h"

static void
s_show_member (ctl_t *ctl, const msgpack_object *result)
{
    ctl_print_member (ctl->out, result);
}

static void
s_show_member_detail (ctl_t *ctl, const msgpack_object *result)
{
    const msgpack_object *member = proto_map_get (result, "member");
    ctl_print_member (ctl->out, member);
    ctl_table_t *table = ctl_table_new ();
    ctl_table_cells (table, _("first hall"), ctl_v (member, "first_hall"), NULL);
    ctl_table_cells (table, _("tags"), ctl_v (member, "tags"), NULL);
    ctl_table_cells (table, _("leads"), ctl_v (result, "leads"), NULL);
    ctl_table_cells (table, _("created"), ctl_when (member, "created"), NULL);
    ctl_table_print (table, ctl->out);
    ctl_table_destroy (&table);
}

/* A count of a result (0 when absent). */
static uint64_t
s_count (const msgpack_object *result, const char *key)
{
    const msgpack_object *value = proto_map_get (result, key);
    return value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER? value->via.u64: 0;
}

static void
s_show_imported (ctl_t *ctl, const msgpack_object *result)
{
    fprintf (ctl->out, _("imported %s members, %s seated"), ctl_v (result, "imported"),
             ctl_v (result, "seated"));
    if (s_count (result, "updated") || s_count (result, "unchanged"))
        fprintf (ctl->out, _("; updated %s, %s unchanged"), ctl_v (result, "updated"),
                 ctl_v (result, "unchanged"));
    fputc ('\n', ctl->out);
}

/* A dry run: what the import would do, or the rows it would be refused
   for, as the real run says them (on stderr, exit 1). */
static int
s_dry_run_result (ctl_t *ctl, const msgpack_object *result)
{
    if (!proto_map_get (result, "dry_run"))
        return ctl_fail (ctl, "dry run: the node could not reach the hub to judge the file; "
                         "nothing changed");
    if (ctl->json)
        ctl_result (ctl, result, NULL);
    if (s_count (result, "rejected") == 0) {
        if (!ctl->json)
            fprintf (ctl->out, _("dry run: would import %s members, %s seated; update %s, "
                     "%s unchanged; nothing changed\n"), ctl_v (result, "imported"),
                     ctl_v (result, "seated"), ctl_v (result, "updated"),
                     ctl_v (result, "unchanged"));
        return CTL_OK;
    }
    ctl_fail (ctl, "%s (dry run: nothing changed)", ctl_v (result, "message"));
    const msgpack_object *details = ctl_array (result, "details");
    for (uint32_t i = 0; details && i < details->via.array.size; i++)
        fprintf (ctl->err, _("line %s: %s\n"), ctl_v (&details->via.array.ptr [i], "line"),
                 ctl_v (&details->via.array.ptr [i], "message"));
    return CTL_FAIL;
}

/* export members --bom: a UTF-8 byte order mark first, by which spreadsheets
   on Chinese Windows read the file as UTF-8 rather than GBK. */
static void
s_show_export_bom (ctl_t *ctl, const msgpack_object *result)
{
    //  The mark once, before the header on the first page
    if (ctl->page == 0)
        fputs ("\xEF\xBB\xBF", ctl->out);
    ctl_import_export_rows (ctl->out, ctl_array (result, "rows"), ctl->page == 0);
}

static void
s_show_export (ctl_t *ctl, const msgpack_object *result)
{
    //  A page at a time: the header with the first
    ctl_import_export_rows (ctl->out, ctl_array (result, "rows"), ctl->page == 0);
}

/* The id alone. */
static int
s_id (ctl_t *ctl, ctl_line_t *line, const char *op, ctl_show_fn *show)
{
    args_str (&line->req, "id", line->argv [0]);
    return ctl_call (ctl, line, op, show);
}

/* --hall H | --branch B (under option names a, b) as the args hall / branch. */
static int
s_group (ctl_line_t *line, const char *a, const char *b)
{
    if (ctl_one_of (line, a, b, true))
        return CTL_USAGE;
    args_str (&line->req, "hall", ctl_opt (line, a));
    args_str (&line->req, "branch", ctl_opt (line, b));
    return CTL_OK;
}

/* MEMBER ADD id name [--referrer member] [--tag k=v ...] */
static int
s_member_add (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "id", line->argv [0]);
    args_str (&line->req, "name", line->argv [1]);
    args_str (&line->req, "referrer", ctl_opt (line, "referrer"));
    const char *tags [64];
    size_t ntags = ctl_opt_all (line, "tag", tags, 64);
    if (ntags == 64)
        return ctl_usage (line, "too many --tag options (at most %d tags)", DT_TAGS_MAX);
    dt_err_t err;
    dt_err_init (&err);
    if (ntags && args_tags (&line->req, "tags", tags, ntags, &err))
        return ctl_usage (line, "%s", ctl_lang_of (&err));
    return ctl_call (ctl, line, "member.add", s_show_member);
}

/* MEMBER JOIN id --hall hall | --branch branch */
static int
s_member_join (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "id", line->argv [0]);
    if (s_group (line, "hall", "branch"))
        return CTL_USAGE;
    return ctl_call (ctl, line, "member.join", s_show_member);
}

/* MEMBER LEAVE id */
static int
s_member_leave (ctl_t *ctl, ctl_line_t *line)
{
    return s_id (ctl, line, "member.leave", s_show_member);
}

/* MEMBER TRANSFER id --to-hall hall | --to-branch branch */
static int
s_member_transfer (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "id", line->argv [0]);
    if (s_group (line, "to-hall", "to-branch"))
        return CTL_USAGE;
    return ctl_call (ctl, line, "member.transfer", s_show_member);
}

/* MEMBER PROMOTE id */
static int
s_member_promote (ctl_t *ctl, ctl_line_t *line)
{
    return s_id (ctl, line, "member.promote", s_show_member);
}

/* MEMBER DEMOTE id --hall hall */
static int
s_member_demote (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "id", line->argv [0]);
    args_str (&line->req, "hall", ctl_opt (line, "hall"));
    return ctl_call (ctl, line, "member.demote", s_show_member);
}

/* MEMBER ROLE id role */
static int
s_member_role (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "id", line->argv [0]);
    args_str (&line->req, "role", line->argv [1]);
    return ctl_call (ctl, line, "member.role", s_show_member);
}

/* MEMBER SHOW id */
static int
s_member_show (ctl_t *ctl, ctl_line_t *line)
{
    return ctl_show_zone (ctl)? CTL_FAIL: s_id (ctl, line, "member.show", s_show_member_detail);
}

/* MEMBER LIST --hall hall | --branch branch | --unplaced */
static int
s_member_list (ctl_t *ctl, ctl_line_t *line)
{
    if (ctl_opt (line, "unplaced")) {
        if (ctl_opt (line, "hall") || ctl_opt (line, "branch"))
            return ctl_usage (line, "give --hall, --branch or --unplaced, not two");
        args_bool (&line->req, "unplaced", true);
    }
    else
    if (s_group (line, "hall", "branch"))
        return CTL_USAGE;
    return ctl_call_table (ctl, line, "member.list", "members", &ctl_members_table);
}

/* MEMBER FIND name */
static int
s_member_find (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "name", line->argv [0]);
    return ctl_call_table (ctl, line, "member.find", "members", &ctl_members_table);
}

#define S_PART_ROWS 50000      /* rows of one part of a large file */

//  The parts after the first two are read ahead by a thread of their own
//  while the hub stages the one before: at most S_AHEAD parts are held

#define S_AHEAD 3

typedef struct {
    ctl_import_reader_t *reader;
    ctl_import_part_t parts [S_AHEAD];  /* part n in parts [n % S_AHEAD] */
    size_t read;                /* parts read (the first two by the caller) */
    size_t sent;                /* parts the sender is done with */
    bool ended;                 /* the file has no more rows, or failed */
    bool stop;                  /* the sender gives up */
    int percent;                /* of the file read */
    dt_err_t err;               /* the reader's failure */
    pthread_mutex_t lock;
    pthread_cond_t changed;
} s_ahead_t;

static void *
s_ahead_run (void *arg)
{
    s_ahead_t *self = arg;
    pthread_mutex_lock (&self->lock);
    while (!self->ended && !self->stop) {
        while (self->read - self->sent == S_AHEAD && !self->stop)
            pthread_cond_wait (&self->changed, &self->lock);
        if (self->stop)
            break;
        ctl_import_part_t *part = &self->parts [self->read % S_AHEAD];
        pthread_mutex_unlock (&self->lock);
        int rc = ctl_import_next (self->reader, part, &self->err);
        pthread_mutex_lock (&self->lock);
        if (rc == 1)
            self->read++;
        else
            self->ended = true;
        self->percent = ctl_import_read_percent (self->reader);
        pthread_cond_broadcast (&self->changed);
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

/* Wait until part n + 1 is read or the file has ended; whether there is a
   part n + 1 (0 none, -1 the reader failed), and how far the file is read. */
static int
s_ahead_next (s_ahead_t *self, size_t n, int *percent)
{
    pthread_mutex_lock (&self->lock);
    self->sent = n;
    pthread_cond_broadcast (&self->changed);
    while (self->read <= n + 1 && !self->ended)
        pthread_cond_wait (&self->changed, &self->lock);
    int rc = self->read > n + 1? 1: dt_err_is_set (&self->err)? -1: 0;
    *percent = self->percent;
    pthread_mutex_unlock (&self->lock);
    return rc;
}

//  The parts between the first and the last go S_IN_FLIGHT at a time: the
//  hub stages one while the next are on their way, and commits the parts
//  that wait together (PROTOCOL.md 6.6)

#define S_IN_FLIGHT 4

typedef struct {
    uint64_t ids [S_IN_FLIGHT];     /* requests sent, oldest first */
    size_t count;
} s_flight_t;

/* Take the reply to the oldest part in flight. */
static int
s_flight_take (ctl_t *ctl, s_flight_t *self)
{
    proto_reply_t reply;
    int rc = ctl_wait (ctl, self->ids [0], "import.members", &reply);
    if (rc == CTL_OK)
        proto_reply_release (&reply);
    memmove (self->ids, self->ids + 1, --self->count * sizeof (uint64_t));
    return rc;
}

/* Take the replies to every part in flight. */
static int
s_flight_drain (ctl_t *ctl, s_flight_t *self)
{
    int rc = CTL_OK;
    while (rc == CTL_OK && self->count)
        rc = s_flight_take (ctl, self);
    return rc;
}

/* Send the file: one request, or parts staged at the hub under a stage
   name of this run and imported (or judged) whole by the last (PROTOCOL.md
   6.6). first holds the first two parts (the second empty if none). A
   broken row after the first parts stops the import before its last part:
   the staged ones change nothing. */
static int
s_import_send (ctl_t *ctl, ctl_line_t *line, const char *path, ctl_import_reader_t *reader,
               ctl_import_part_t first [2])
{
    uint8_t random [8];
    randombytes_buf (random, sizeof (random));
    char stage [24] = "ctl-";
    for (size_t i = 0; i < sizeof (random); i++)
        snprintf (stage + 4 + 2 * i, 3, "%02x", random [i]);
    bool staged = first [1].count > 0;
    bool progress = staged && isatty (fileno (ctl->err));
    bool dry_run = ctl_opt (line, "dry-run") != NULL;
    s_ahead_t ahead = { .reader = reader, .read = 1 + staged, .ended = !staged,
                        .percent = ctl_import_read_percent (reader) };
    dt_err_init (&ahead.err);
    for (int i = 0; i < S_AHEAD; i++)
        ctl_import_part_init (&ahead.parts [i]);
    msgpack_sbuffer swap;
    for (int i = 0; i < 2; i++) {
        swap = ahead.parts [i].rows;
        ahead.parts [i] = first [i];
        first [i].rows = swap;
    }
    pthread_mutex_init (&ahead.lock, NULL);
    pthread_cond_init (&ahead.changed, NULL);
    pthread_t thread;
    int started = staged? pthread_create (&thread, NULL, s_ahead_run, &ahead): 0;
    bool reading = staged && started == 0;
    size_t sent = 0;
    s_flight_t flight = { .count = 0 };
    proto_reply_t reply;
    int rc = started? ctl_fail (ctl, "%s: starting the thread that reads it failed: %s",
                                path, strerror (started)): CTL_OK;
    for (size_t i = 0; rc == CTL_OK; i++) {
        int percent;
        int more = s_ahead_next (&ahead, i, &percent);
        if (more == -1) {
            if (progress)
                fputc ('\n', ctl->err);
            rc = ctl_fail (ctl, "%s: %s", path, ctl_lang_of (&ahead.err));
            break;
        }
        ctl_import_part_t *part = &ahead.parts [i % S_AHEAD];
        bool last = more == 0;
        args_t args;
        args_init (&args);
        msgpack_sbuffer_write (&args.body, line->req.body.data, line->req.body.size);
        args.count = line->req.count;
        ctl_import_part_put (part, &args);
        if (staged) {
            args_str (&args, "stage", stage);
            args_uint (&args, "part", i + 1);
            if (last)
                args_bool (&args, "last", true);
        }
        if (progress) {
            fputc ('\r', ctl->err);
            fprintf (ctl->err, _("import members: %zu rows sent (%d%% of the file)%s"), sent,
                     percent,
                     last? (dry_run? _(", judging"): _(", importing")): "");
        }
        //  Part 1 drops what this key staged before, and the last judges
        //  every part: each waits for the parts before it to be answered
        if (i == 0 || last) {
            rc = s_flight_drain (ctl, &flight);
            if (rc == CTL_OK)
                rc = ctl_request (ctl, "import.members", &args, &reply);
        }
        else {
            rc = ctl_send (ctl, "import.members", &args, &flight.ids [flight.count]);
            flight.count += rc == CTL_OK;
            if (rc == CTL_OK && flight.count == S_IN_FLIGHT)
                rc = s_flight_take (ctl, &flight);
        }
        args_destroy (&args);
        if (rc != CTL_OK) {
            if (progress)
                fputc ('\n', ctl->err);
            break;
        }
        sent += part->count;
        if (last) {
            if (progress) {
                fputc ('\r', ctl->err);
                fprintf (ctl->err, dry_run? _("import members: %zu rows judged\n")
                                          : _("import members: %zu rows imported\n"), sent);
            }
            if (dry_run)
                rc = s_dry_run_result (ctl, reply.result);
            else
                ctl_result (ctl, reply.result, s_show_imported);
        }
        if (i == 0 || last)
            proto_reply_release (&reply);
        if (last)
            break;
    }
    if (reading) {
        pthread_mutex_lock (&ahead.lock);
        ahead.stop = true;
        pthread_cond_broadcast (&ahead.changed);
        pthread_mutex_unlock (&ahead.lock);
        pthread_join (thread, NULL);
    }
    pthread_cond_destroy (&ahead.changed);
    pthread_mutex_destroy (&ahead.lock);
    for (int i = 0; i < S_AHEAD; i++)
        ctl_import_part_destroy (&ahead.parts [i]);
    dt_err_reset (&ahead.err);
    return rc;
}

/* IMPORT MEMBERS file.csv [--update] [--dry-run] */
static int
s_import_members (ctl_t *ctl, ctl_line_t *line)
{
    const char *path = line->argv [0];
    dt_err_t err;
    dt_err_init (&err);
    char *data = NULL;
    size_t size;
    ctl_import_reader_t *reader = NULL;
    ctl_import_part_t parts [2];
    ctl_import_part_init (&parts [0]);
    ctl_import_part_init (&parts [1]);
    int rc = ctl_import_read (path, &data, &size, &err);
    if (rc == 0) {
        reader = ctl_import_reader_new (data, size, S_PART_ROWS, &err);
        rc = !reader
          || ctl_import_next (reader, &parts [0], &err) < 0
          || ctl_import_next (reader, &parts [1], &err) < 0? -1: 0;
    }
    //  One transaction of many rows takes longer than a usual request
    if (ctl->opts.timeout_ms == 0)
        ctl->opts.timeout_ms = 120000;
    if (ctl_opt (line, "update"))
        args_bool (&line->req, "update", true);
    if (ctl_opt (line, "dry-run"))
        args_bool (&line->req, "dry_run", true);
    if (rc)
        rc = ctl_fail (ctl, "%s: %s", path, ctl_lang_of (&err));
    else
    if (parts [1].count || ctl_opt (line, "dry-run"))
        rc = s_import_send (ctl, line, path, reader, parts);
    else {
        //  A file of one part is one request, as it always was
        ctl_import_part_put (&parts [0], &line->req);
        rc = ctl_call (ctl, line, "import.members", s_show_imported);
    }
    ctl_import_part_destroy (&parts [0]);
    ctl_import_part_destroy (&parts [1]);
    ctl_import_reader_destroy (&reader);
    free (data);
    dt_err_reset (&err);
    return rc;
}

/* EXPORT MEMBERS [--branch branch] */
static int
s_export_members (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "branch", ctl_opt (line, "branch"));
    return ctl_call_list (ctl, line, "export.members", "rows", 0, 0, ctl_opt (line, "bom")?
                          s_show_export_bom: s_show_export);
}

const ctl_cmd_t ctl_member_cmds [] = {
    { "member", "add", "member add ID NAME [--referrer MEMBER] [--tag KEY=VALUE ...]",
      "referrer: tag:*", 2, 2, s_member_add,
      N_("Add a member (unplaced); the referrer is kept for ever.")},
    { "member", "join", "member join ID --hall HALL | --branch BRANCH", "hall: branch:",
      1, 1, s_member_join, N_("Seat an unplaced member in a hall, or in a branch's core "
      "(refused when the member is seated anywhere: customer lock).")},
    { "member", "leave", "member leave ID", NULL, 1, 1, s_member_leave,
      N_("Release a member's seat (the member becomes unplaced).")},
    { "member", "transfer", "member transfer ID --to-hall HALL | --to-branch BRANCH",
      "to-hall: to-branch:", 1, 1, s_member_transfer,
      N_("Move a seated member to another hall or core seat (the only way to move one).")},
    { "member", "promote", "member promote ID", NULL, 1, 1, s_member_promote,
      N_("Turn a hall seat into a core seat of the hall's branch.")},
    { "member", "demote", "member demote ID --hall HALL", "hall:!", 1, 1, s_member_demote,
      N_("Turn a core seat into a seat in a hall of the same branch.")},
    { "member", "role", "member role ID ROLE", NULL, 2, 2, s_member_role,
      N_("Set a member's role: admin, lecturer, kol or member.")},
    { "member", "show", "member show ID", NULL, 1, 1, s_member_show,
      N_("Show a member: seat, role, referrer, first hall, tags, halls led.")},
    { "member", "list", "member list --hall HALL | --branch BRANCH | --unplaced",
      "hall: branch: unplaced", 0, 0, s_member_list,
      N_("List a hall's members, a branch's core members, or the members seated nowhere.")},
    { "member", "find", "member find NAME", NULL, 1, 1, s_member_find,
      N_("List the members whose name starts with NAME (letters in any case), that this "
      "key may see.")},
    { "import", "members", "import members FILE.csv [--update] [--dry-run]", "update dry-run",
      1, 1, s_import_members,
      N_("Import members from CSV (header id,name,referrer,group, and tags, role if wanted; "
      "'-' reads stdin): all rows or none, in parts staged at the hub for a large file. "
      "--update updates the members whose ids exist; --dry-run judges every row and "
      "changes nothing.")},
    { "export", "members", "export members [--branch BRANCH] [--bom]", "branch: bom", 0, 0,
      s_export_members, N_("Write members as CSV (id,name,referrer,group) on stdout; --bom "
      "starts it with a UTF-8 byte order mark for spreadsheets.")},
    { NULL }
};

//  Self-test

void
ctl_cmds_member_test (bool verbose)
{
    (void) verbose;
    ctl_fake_t *fake = ctl_fake_new ();
    ctl_fake_result_text (fake, "id=m-1 name=李四 seat=hall group=h-1 branch=b-cd role=member "
                          "referrer=m-7");
    const char *line = "member m-1 李四: hall h-1 (branch b-cd), role member, referrer m-7\n";
    ctl_fake_expect (fake, "member add m-1 李四 --referrer m-7 --tag city=成都 --tag age=30",
        CTL_OK, "member.add {\"id\":\"m-1\",\"name\":\"李四\",\"referrer\":\"m-7\","
        "\"tags\":{\"city\":\"成都\",\"age\":\"30\"}}", line, "");
    ctl_fake_expect (fake, "member add m-1 李四", CTL_OK,
        "member.add {\"id\":\"m-1\",\"name\":\"李四\"}", line, "");
    ctl_fake_expect (fake, "member add m-1 李四 --tag city", CTL_USAGE, "", "", NULL);
    ctl_fake_expect (fake, "member join m-1 --hall h-1", CTL_OK,
        "member.join {\"id\":\"m-1\",\"hall\":\"h-1\"}", line, "");
    ctl_fake_expect (fake, "member join m-1 --branch b-cd", CTL_OK,
        "member.join {\"id\":\"m-1\",\"branch\":\"b-cd\"}", line, "");
    ctl_fake_expect (fake, "member join m-1 --branch b-cd --hall h-1", CTL_USAGE, "", "", NULL);
    ctl_fake_expect (fake, "member leave m-1", CTL_OK, "member.leave {\"id\":\"m-1\"}", line, "");
    ctl_fake_expect (fake, "member transfer m-1 --to-hall h-2", CTL_OK,
        "member.transfer {\"id\":\"m-1\",\"hall\":\"h-2\"}", line, "");
    ctl_fake_expect (fake, "member transfer m-1 --to-branch b-2", CTL_OK,
        "member.transfer {\"id\":\"m-1\",\"branch\":\"b-2\"}", line, "");
    ctl_fake_expect (fake, "member transfer m-1", CTL_USAGE, "", "",
        "duotangctl: missing --to-hall or --to-branch\n"
        "usage: duotangctl member transfer ID --to-hall HALL | --to-branch BRANCH\n");
    ctl_fake_expect (fake, "member promote m-1", CTL_OK, "member.promote {\"id\":\"m-1\"}",
        line, "");
    ctl_fake_expect (fake, "member demote m-1 --hall h-1", CTL_OK,
        "member.demote {\"id\":\"m-1\",\"hall\":\"h-1\"}", line, "");
    ctl_fake_expect (fake, "member role m-1 kol", CTL_OK,
        "member.role {\"id\":\"m-1\",\"role\":\"kol\"}", line, "");
    ctl_fake_expect (fake, "member list --hall h-1", CTL_OK,
        "member.list {\"hall\":\"h-1\"}", "(none)\n", "");
    ctl_fake_expect (fake, "member list --unplaced", CTL_OK,
        "member.list {\"unplaced\":true}", "(none)\n", "");
    ctl_fake_expect (fake, "member list --unplaced --hall h-1", CTL_USAGE, "", "",
        "duotangctl: give --hall, --branch or --unplaced, not two\n"
        "usage: duotangctl member list --hall HALL | --branch BRANCH | --unplaced\n");
    ctl_fake_expect (fake, "member find 李", CTL_OK, "member.find {\"name\":\"李\"}",
        "(none)\n", "");

    ctl_fake_error (fake, "LOCKED", "member m-1 is locked to hall h-cd-02 (branch b-cd)", NULL);
    ctl_fake_expect (fake, "member join m-1 --hall h-1", CTL_FAIL, NULL, "",
        "duotangctl: member m-1 is locked to hall h-cd-02 (branch b-cd)\n");

    //  Import: rows with their lines; a local syntax error sends nothing
    char path [] = "/tmp/ctl-import-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    const char *csv = "id,name,referrer,group\nm-1,\"李,四\",,h-1\nm-2,王五,m-1,\n";
    assert (write (fd, csv, strlen (csv)) == (ssize_t) strlen (csv));
    close (fd);
    char cmdline [128];
    snprintf (cmdline, sizeof (cmdline), "import members %s", path);
    ctl_fake_result_text (fake, "imported:=2 seated:=1");
    ctl_fake_expect (fake, cmdline, CTL_OK, "import.members {\"rows\":["
        "{\"line\":2,\"id\":\"m-1\",\"name\":\"李,四\",\"referrer\":\"\",\"group\":\"h-1\"},"
        "{\"line\":3,\"id\":\"m-2\",\"name\":\"王五\",\"referrer\":\"m-1\",\"group\":\"\"}]}",
        "imported 2 members, 1 seated\n", "");
    ctl_fake_error (fake, "IMPORT_REJECTED", "2 of 2 rows rejected, nothing imported",
                    "2:member m-1 already exists|3:referrer m-9 not found");
    ctl_fake_expect (fake, cmdline, CTL_FAIL, NULL, "",
        "duotangctl: 2 of 2 rows rejected, nothing imported\n"
        "line 2: member m-1 already exists\n"
        "line 3: referrer m-9 not found\n");
    //  --update --dry-run: the judgement, nothing changed; bad rows exit 1
    snprintf (cmdline, sizeof (cmdline), "import members %s --update --dry-run", path);
    ctl_fake_result_text (fake, "imported:=1 seated:=0 updated:=1 unchanged:=0 dry_run:=true "
                          "rejected:=0");
    ctl_fake_expect (fake, cmdline, CTL_OK, "import.members {\"update\":true,\"dry_run\":true,"
        "\"rows\":[{\"line\":2,\"id\":\"m-1\",\"name\":\"李,四\",\"referrer\":\"\","
        "\"group\":\"h-1\"},{\"line\":3,\"id\":\"m-2\",\"name\":\"王五\",\"referrer\":\"m-1\","
        "\"group\":\"\"}]}",
        "dry run: would import 1 members, 0 seated; update 1, 0 unchanged; nothing changed\n", "");
    ctl_fake_result_text (fake, "imported:=1 seated:=0 updated:=0 unchanged:=0 dry_run:=true "
                          "rejected:=1 message=1_of_2_rows_rejected details=[]");
    ctl_fake_expect (fake, cmdline, CTL_FAIL, NULL, "",
        "duotangctl: 1_of_2_rows_rejected (dry run: nothing changed)\n");
    FILE *file = fopen (path, "w");
    fputs ("id,name,referrer,group\nm-1,a,,h-1\nm-2,\"open,,\n", file);
    fclose (file);
    char expected [256];
    snprintf (expected, sizeof (expected), "duotangctl: %s: line 3: unterminated quoted field\n",
              path);
    ctl_fake_expect (fake, cmdline, CTL_FAIL, "", "", expected);
    unlink (path);
    ctl_fake_expect (fake, cmdline, CTL_FAIL, "", "", NULL);
    assert (strstr (ctl_fake_err (fake), "cannot open"));

    //  Export: CSV with quoting where needed
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &result, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    proto_pack_key (&pk, "rows");
    msgpack_pack_array (&pk, 2);
    op_args_text ("line:=1 id=m-1 name=李,四 referrer= group=h-1", &result);
    op_args_text ("line:=2 id=m-2 name=王五 referrer=m-1 group=", &result);
    ctl_fake_result (fake, &result);
    ctl_fake_expect (fake, "export members --branch b-cd", CTL_OK,
        "export.members {\"branch\":\"b-cd\"}",
        "id,name,referrer,group\nm-1,\"李,四\",,h-1\nm-2,王五,m-1,\n", "");
    ctl_fake_expect (fake, "export members --bom", CTL_OK, "export.members {}",
        "\xEF\xBB\xBFid,name,referrer,group\nm-1,\"李,四\",,h-1\nm-2,王五,m-1,\n", "");
    msgpack_sbuffer_destroy (&result);
    ctl_fake_destroy (&fake);
}

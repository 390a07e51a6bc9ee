/* ctl_print.c -- human-readable results: values, record lines, tables, audit text. */
#include "ctl_print.h"
#include "ctl_lang.h"
#include "ctl_text.h"
#include "ctl_json.h"
#include "ctl_time.h"
#include "op.h"

//  Texts handed out by ctl_v and friends; the CLI prints one result and
//  exits, so they are simply kept until ctl_print_release.
static char **s_pool;
static size_t s_pool_count, s_pool_max;

static const char *
s_keep (char *text)
{
    if (s_pool_count == s_pool_max) {
        s_pool_max = s_pool_max? s_pool_max * 2: 64;
        s_pool = realloc (s_pool, s_pool_max * sizeof (char *));
        assert (s_pool);
    }
    s_pool [s_pool_count++] = text;
    return text;
}

void
ctl_print_release (void)
{
    for (size_t i = 0; i < s_pool_count; i++)
        free (s_pool [i]);
    free (s_pool);
    s_pool = NULL;
    s_pool_count = s_pool_max = 0;
}

static void
s_display (FILE *out, const msgpack_object *obj)
{
    switch (obj->type) {
        case MSGPACK_OBJECT_STR:
            for (uint32_t i = 0; i < obj->via.str.size; i++) {
                unsigned char c = obj->via.str.ptr [i];
                fputc (c < 0x20? ' ': c, out);
            }
            break;
        case MSGPACK_OBJECT_NIL:
            fputc ('-', out);
            break;
        case MSGPACK_OBJECT_BOOLEAN:
            fputs (obj->via.boolean? "yes": "no", out);
            break;
        case MSGPACK_OBJECT_ARRAY:
            for (uint32_t i = 0; i < obj->via.array.size; i++) {
                fputs (i? ",": "", out);
                s_display (out, &obj->via.array.ptr [i]);
            }
            fputs (obj->via.array.size? "": "-", out);
            break;
        case MSGPACK_OBJECT_MAP:
            for (uint32_t i = 0; i < obj->via.map.size; i++) {
                fputs (i? ",": "", out);
                s_display (out, &obj->via.map.ptr [i].key);
                fputc ('=', out);
                s_display (out, &obj->via.map.ptr [i].val);
            }
            fputs (obj->via.map.size? "": "-", out);
            break;
        default:
            ctl_print_compact (out, obj);
    }
}

const char *
ctl_print_text (const msgpack_object *obj)
{
    if (!obj)
        return "-";
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert (out);
    s_display (out, obj);
    fclose (out);
    return s_keep (text);
}

const char *
ctl_v (const msgpack_object *map, const char *key)
{
    return ctl_print_text (proto_map_get (map, key));
}

/* The zone times are shown in; "" until ctl_zone has it: then UTC. */
static char s_zone [DT_TIME_ZONE_MAX + 1];

void
ctl_print_set_zone (const char *zone)
{
    snprintf (s_zone, sizeof (s_zone), "%s", zone? zone: "");
}

/* "2026-12-01 20:18:33 +08:00" in the zone, or "2026-12-01T12:18:33Z". */
static const char *
s_time (int64_t ms, char *out, size_t size)
{
    return *s_zone? dt_time_format_s (s_zone, ms, out, size): ctl_time_format (ms, out, size);
}

const char *
ctl_when (const msgpack_object *map, const char *key)
{
    const msgpack_object *value = proto_map_get (map, key);
    if (!value || (value->type != MSGPACK_OBJECT_POSITIVE_INTEGER
               &&  value->type != MSGPACK_OBJECT_NEGATIVE_INTEGER))
        return "-";
    char text [40];
    s_time (value->via.i64, text, sizeof (text));
    char *copy = strdup (text);
    assert (copy);
    return s_keep (copy);
}

/* True for the keys whose numbers are instants (ms since 1970) in records,
   arguments and audit changes: created, ts, at, last_seen, since, until,
   and every *_at. */
static bool
s_time_key (const msgpack_object *key)
{
    if (!key || key->type != MSGPACK_OBJECT_STR)
        return false;
    static const char *names [] = { "created", "ts", "at", "last_seen", "since", "until",
                                    "updated", NULL };
    size_t len = key->via.str.size;
    const char *text = key->via.str.ptr;
    for (const char **name = names; *name; name++)
        if (strlen (*name) == len && memcmp (*name, text, len) == 0)
            return true;
    return len > 3 && memcmp (text + len - 3, "_at", 3) == 0;
}

/* A value in a k=v list: an instant under a time key as a local time. */
static void
s_print_value (FILE *out, const msgpack_object *key, const msgpack_object *value)
{
    if (s_time_key (key) && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER
    &&  value->via.u64 < (uint64_t) INT64_MAX) {
        char text [40];
        fputs (s_time ((int64_t) value->via.u64, text, sizeof (text)), out);
    }
    else
        ctl_print_compact (out, value);
}

uint64_t
ctl_u (const msgpack_object *map, const char *key)
{
    const msgpack_object *value = proto_map_get (map, key);
    return value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER? value->via.u64: 0;
}

bool
ctl_is (const msgpack_object *map, const char *key, const char *value)
{
    const msgpack_object *obj = proto_map_get (map, key);
    return obj && obj->type == MSGPACK_OBJECT_STR && obj->via.str.size == strlen (value)
        && memcmp (obj->via.str.ptr, value, obj->via.str.size) == 0;
}

const msgpack_object *
ctl_array (const msgpack_object *map, const char *key)
{
    const msgpack_object *value = proto_map_get (map, key);
    return value && value->type == MSGPACK_OBJECT_ARRAY? value: NULL;
}

//  Compact text for audit entries

void
ctl_print_compact (FILE *out, const msgpack_object *obj)
{
    switch (obj->type) {
        case MSGPACK_OBJECT_STR: {
            const char *s = obj->via.str.ptr;
            size_t len = obj->via.str.size, plain = 0;
            while (plain < len && (unsigned char) s [plain] > ' '
                   && !strchr (",=[]{}\"", s [plain]))
                plain++;
            if (len && plain == len)
                fwrite (s, 1, len, out);
            else
                ctl_json_string (out, s, len);
            break;
        }
        case MSGPACK_OBJECT_NIL:
            fputs ("nil", out);
            break;
        case MSGPACK_OBJECT_ARRAY: {
            //  A long list (an import's rows) is cut short; --json has it whole
            uint32_t size = obj->via.array.size, shown = size > 8? 3: size;
            fputc ('[', out);
            for (uint32_t i = 0; i < shown; i++) {
                fputs (i? ",": "", out);
                ctl_print_compact (out, &obj->via.array.ptr [i]);
            }
            if (shown < size)
                fprintf (out, ",... %u more", size - shown);
            fputc (']', out);
            break;
        }
        case MSGPACK_OBJECT_MAP:
            fputc ('{', out);
            for (uint32_t i = 0; i < obj->via.map.size; i++) {
                fputs (i? ",": "", out);
                ctl_print_compact (out, &obj->via.map.ptr [i].key);
                fputc ('=', out);
                ctl_print_compact (out, &obj->via.map.ptr [i].val);
            }
            fputc ('}', out);
            break;
        default:
            //  Numbers, booleans and bin (hex, quoted) read the same as JSON
            ctl_json_print (out, obj);
    }
}

void
ctl_print_args (FILE *out, const msgpack_object *map)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        fputs (i? " ": "", out);
        ctl_print_compact (out, &map->via.map.ptr [i].key);
        fputc ('=', out);
        s_print_value (out, &map->via.map.ptr [i].key, &map->via.map.ptr [i].val);
    }
}

/* A record of a change: a map, or (should a server send one) packed bytes. */
static const msgpack_object *
s_record (const msgpack_object *obj, msgpack_unpacked *unpacked)
{
    if (obj && obj->type == MSGPACK_OBJECT_BIN
    &&  msgpack_unpack_next (unpacked, obj->via.bin.ptr, obj->via.bin.size, NULL)
        == MSGPACK_UNPACK_SUCCESS)
        return &unpacked->data;
    return obj && obj->type == MSGPACK_OBJECT_MAP? obj: NULL;
}

/* The value of key in map (key given as an object), or NULL. */
static const msgpack_object *
s_lookup (const msgpack_object *map, const msgpack_object *key)
{
    for (uint32_t i = 0; map && i < map->via.map.size; i++)
        if (msgpack_object_equal (map->via.map.ptr [i].key, *key))
            return &map->via.map.ptr [i].val;
    return NULL;
}

/* Entries of one map, except those the other map holds equal and except the
   id: "  k old→new" each when other is given, else "  k=v k=v". */
static void
s_fields (FILE *out, const msgpack_object *map, const msgpack_object *other, bool *printed)
{
    for (uint32_t i = 0; map && i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr [i].key;
        const msgpack_object *value = &map->via.map.ptr [i].val;
        const msgpack_object *was = s_lookup (other, key);
        bool is_id = key->type == MSGPACK_OBJECT_STR && key->via.str.size == 2
                  && memcmp (key->via.str.ptr, "id", 2) == 0;
        if (is_id || (was && msgpack_object_equal (*was, *value)))
            continue;
        fputs (other || !*printed? "  ": " ", out);
        *printed = true;
        ctl_print_compact (out, key);
        if (other) {
            fputc (' ', out);
            if (was)
                s_print_value (out, key, was);
            else
                fputs ("nil", out);
            fputs ("→", out);
        }
        else
            fputc ('=', out);
        s_print_value (out, key, value);
    }
}

void
ctl_print_change (FILE *out, const msgpack_object *change)
{
    msgpack_unpacked before_buffer, after_buffer;
    msgpack_unpacked_init (&before_buffer);
    msgpack_unpacked_init (&after_buffer);
    const msgpack_object *before = s_record (proto_map_get (change, "before"), &before_buffer);
    const msgpack_object *after = s_record (proto_map_get (change, "after"), &after_buffer);
    fprintf (out, "  %s %s %s", before && after? "~": after? "+": "-",
             ctl_v (change, "table"), ctl_v (change, "key"));
    bool printed = false;
    if (before && after) {
        //  Keys only in before (removed) show as old→nil
        s_fields (out, after, before, &printed);
        for (uint32_t i = 0; i < before->via.map.size; i++)
            if (!s_lookup (after, &before->via.map.ptr [i].key)) {
                fputs ("  ", out);
                ctl_print_compact (out, &before->via.map.ptr [i].key);
                fputc (' ', out);
                s_print_value (out, &before->via.map.ptr [i].key,
                               &before->via.map.ptr [i].val);
                fputs ("→nil", out);
            }
    }
    else
        s_fields (out, after? after: before, NULL, &printed);
    fputc ('\n', out);
    msgpack_unpacked_destroy (&before_buffer);
    msgpack_unpacked_destroy (&after_buffer);
}

//  Records

static const char *
s_scope (const msgpack_object *key)
{
    if (ctl_is (key, "role", "node"))
        return s_keep (zsys_sprintf (_("node %s"), ctl_v (key, "node")));
    if (ctl_is (key, "role", "leader"))
        return s_keep (zsys_sprintf (_("branches %s"), ctl_v (key, "branches")));
    return _("all branches");
}

/* "hall h-1 (branch b-1)", "core seat in branch b-1" or "unplaced". */
static const char *
s_seat (const msgpack_object *member)
{
    if (ctl_is (member, "seat", "hall"))
        return s_keep (zsys_sprintf (_("hall %s (branch %s)"), ctl_v (member, "group"),
                                     ctl_v (member, "branch")));
    if (ctl_is (member, "seat", "core"))
        return s_keep (zsys_sprintf (_("core seat in branch %s"), ctl_v (member, "group")));
    return "unplaced";
}

void
ctl_print_officer (FILE *out, const msgpack_object *officer)
{
    uint64_t led = ctl_u (officer, "branches");
    fprintf (out, _("officer %s %s: "), ctl_v (officer, "id"), ctl_v (officer, "name"));
    if (led)
        fprintf (out, _("leads %" PRIu64 " branch%s\n"), led, led == 1? "": "es");
    else
        fprintf (out, _("leads no branch yet (every officer must lead one)\n"));
}

void
ctl_print_branch (FILE *out, const msgpack_object *branch)
{
    fprintf (out, _("branch %s %s: leader %s, core %s/%s, halls %s, node %s\n"),
             ctl_v (branch, "id"), ctl_v (branch, "name"), ctl_v (branch, "leader"),
             ctl_v (branch, "core_seats"), ctl_v (branch, "cap"), ctl_v (branch, "halls"),
             ctl_v (branch, "node"));
}

void
ctl_print_hall (FILE *out, const msgpack_object *hall)
{
    fprintf (out, _("hall %s %s: branch %s, leader %s, seats %s/%s\n"),
             ctl_v (hall, "id"), ctl_v (hall, "name"), ctl_v (hall, "branch"),
             ctl_v (hall, "leader"), ctl_v (hall, "seats"), ctl_v (hall, "cap"));
}

void
ctl_print_member (FILE *out, const msgpack_object *member)
{
    fprintf (out, _("member %s %s: %s, role %s"), ctl_v (member, "id"), ctl_v (member, "name"),
             s_seat (member), ctl_v (member, "role"));
    const msgpack_object *referrer = proto_map_get (member, "referrer");
    if (referrer && referrer->type == MSGPACK_OBJECT_STR)
        fprintf (out, ", referrer %s", ctl_print_text (referrer));
    fputc ('\n', out);
}

static bool
s_revoked (const msgpack_object *key)
{
    const msgpack_object *revoked = proto_map_get (key, "revoked");
    return revoked && revoked->type == MSGPACK_OBJECT_BOOLEAN && revoked->via.boolean;
}

void
ctl_print_key (FILE *out, const msgpack_object *key)
{
    fprintf (out, _("key %s: role %s, %s, public key %s%s\n"), ctl_v (key, "name"),
             ctl_v (key, "role"), s_scope (key), ctl_v (key, "public_key"),
             s_revoked (key)? ", revoked": "");
}

void
ctl_print_node (FILE *out, const msgpack_object *node)
{
    fprintf (out, _("node %s: branches %s"), ctl_v (node, "id"), ctl_v (node, "branches"));
    if (proto_map_get (node, "connected"))
        fprintf (out, ", connected %s, applied %s of %s", ctl_v (node, "connected"),
                 ctl_v (node, "applied"), ctl_v (node, "head"));
    fputc ('\n', out);
}

//  Tables

/* A table of a list of records has one row per record; a column shows one
   key of it, through a cell function when the text is computed. */
typedef const char *(s_cell_fn) (const msgpack_object *row, const char *key);

static const char *
s_cell_value (const msgpack_object *row, const char *key)
{
    return ctl_v (row, key);
}

static const char *
s_cell_when (const msgpack_object *row, const char *key)
{
    return ctl_when (row, key);
}

/* "core_seats/cap" style */
static const char *
s_cell_ratio (const msgpack_object *row, const char *key)
{
    char used [32];
    snprintf (used, sizeof (used), "%.*s", (int) strcspn (key, "/"), key);
    return s_keep (zsys_sprintf ("%s/%s", ctl_v (row, used), ctl_v (row, strchr (key, '/') + 1)));
}

typedef struct {
    const char *header;
    const char *key;
    s_cell_fn *cell;
    bool right;
} s_column_t;

#define S_COL(h, k)         { .header = h, .key = k }
#define S_NUM(h, k)         { .header = h, .key = k, .right = true }
#define S_FN(h, k, f)       { .header = h, .key = k, .cell = f }
#define S_FN_NUM(h, k, f)   { .header = h, .key = k, .cell = f, .right = true }
#define S_END                       { .header = NULL }

static void
s_table (FILE *out, const msgpack_object *list, const s_column_t *columns)
{
    if (!list || list->type != MSGPACK_OBJECT_ARRAY || list->via.array.size == 0) {
        fprintf (out, _("(none)\n"));
        return;
    }
    ctl_table_t *table = ctl_table_new ();
    for (size_t c = 0; columns [c].header; c++) {
        ctl_table_add (table, "%s", _(columns [c].header));
        if (columns [c].right)
            ctl_table_right (table, c);
    }
    ctl_table_row (table);
    for (uint32_t r = 0; r < list->via.array.size; r++) {
        for (size_t c = 0; columns [c].header; c++) {
            s_cell_fn *cell = columns [c].cell? columns [c].cell: s_cell_value;
            ctl_table_add (table, "%s", cell (&list->via.array.ptr [r], columns [c].key));
        }
        ctl_table_row (table);
    }
    ctl_table_print (table, out);
    ctl_table_destroy (&table);
}

static const char *
s_cell_compliance (const msgpack_object *row, const char *key)
{
    //  Every row has every column: a word, never an empty cell
    return ctl_u (row, key)? "yes": "no";
}

static const s_column_t s_officers [] = {
    S_COL (N_("ID"), "id"), S_COL (N_("NAME"), "name"), S_NUM (N_("BRANCHES"), "branches"),
    S_FN (N_("CREATED"), "created", s_cell_when), S_FN (N_("COMPLIANT"), "branches", s_cell_compliance),
    S_END };

static const s_column_t s_branches [] = {
    S_COL (N_("ID"), "id"), S_COL (N_("NAME"), "name"), S_COL (N_("LEADER"), "leader"),
    S_FN_NUM (N_("CORE"), "core_seats/cap", s_cell_ratio), S_NUM (N_("HALLS"), "halls"),
    S_COL (N_("NODE"), "node"), S_END };

static const s_column_t s_halls [] = {
    S_COL (N_("ID"), "id"), S_COL (N_("NAME"), "name"), S_COL (N_("BRANCH"), "branch"),
    S_COL (N_("LEADER"), "leader"), S_FN_NUM (N_("SEATS"), "seats/cap", s_cell_ratio), S_END };

static const s_column_t s_members [] = {
    S_COL (N_("ID"), "id"), S_COL (N_("NAME"), "name"), S_COL (N_("SEAT"), "seat"),
    S_COL (N_("GROUP"), "group"), S_COL (N_("BRANCH"), "branch"), S_COL (N_("ROLE"), "role"),
    S_COL (N_("REFERRER"), "referrer"), S_END };

void
ctl_print_officers (FILE *out, const msgpack_object *list)
{
    s_table (out, list, s_officers);
}

void
ctl_print_branches (FILE *out, const msgpack_object *list)
{
    s_table (out, list, s_branches);
}

void
ctl_print_halls (FILE *out, const msgpack_object *list)
{
    s_table (out, list, s_halls);
}

void
ctl_print_members (FILE *out, const msgpack_object *list)
{
    s_table (out, list, s_members);
}

static const char *
s_cell_scope (const msgpack_object *row, const char *key)
{
    (void) key;
    return s_scope (row);
}

static const char *
s_cell_revoked (const msgpack_object *row, const char *key)
{
    (void) key;
    return s_revoked (row)? "revoked": "active";
}

static const s_column_t s_keys [] = {
    S_COL (N_("NAME"), "name"), S_COL (N_("ROLE"), "role"), S_FN (N_("SCOPE"), "", s_cell_scope),
    S_FN (N_("STATE"), "revoked", s_cell_revoked), S_FN (N_("CREATED"), "created", s_cell_when),
    S_COL (N_("PUBLIC KEY"), "public_key"), S_END };

void
ctl_print_keys (FILE *out, const msgpack_object *list)
{
    s_table (out, list, s_keys);
}

static const char *
s_cell_seen (const msgpack_object *row, const char *key)
{
    const char *when = ctl_when (row, key);
    return streq (when, "-")? "never": when;
}

static const s_column_t s_nodes [] = {
    S_COL (N_("ID"), "id"), S_COL (N_("CONNECTED"), "connected"),
    S_FN (N_("LAST SEEN"), "last_seen", s_cell_seen),
    S_NUM (N_("APPLIED"), "applied"), S_NUM (N_("LAG CHANGES"), "lag_changes"),
    S_NUM (N_("LAG MS"), "lag_ms"), S_NUM (N_("OUTBOX"), "outbox"),
    S_NUM (N_("CONTENT"), "content_items"), S_NUM (N_("WAITING UP"), "content_waiting"),
    S_COL (N_("BRANCHES"), "branches"), S_END };

void
ctl_print_nodes (FILE *out, const msgpack_object *list)
{
    s_table (out, list, s_nodes);
}

//  The same tables a page at a time (the CLI's list follower)

struct _ctl_list_table_t {
    const s_column_t *columns;
};

const ctl_list_table_t ctl_officers_table = { s_officers };
const ctl_list_table_t ctl_branches_table = { s_branches };
const ctl_list_table_t ctl_halls_table = { s_halls };
const ctl_list_table_t ctl_members_table = { s_members };
const ctl_list_table_t ctl_keys_table = { s_keys };
const ctl_list_table_t ctl_nodes_table = { s_nodes };

size_t
ctl_list_columns (const ctl_list_table_t *table)
{
    size_t count = 0;
    while (table->columns [count].header)
        count++;
    return count;
}

const char *
ctl_list_header (const ctl_list_table_t *table, size_t column)
{
    return _(table->columns [column].header);
}

bool
ctl_list_right (const ctl_list_table_t *table, size_t column)
{
    return table->columns [column].right;
}

const char *
ctl_list_cell (const ctl_list_table_t *table, size_t column, const msgpack_object *item)
{
    const s_column_t *col = &table->columns [column];
    return (col->cell? col->cell: s_cell_value) (item, col->key);
}

//  Self-test

/* Unpack a text-form map (op_args_text) into unpacked. */
static const msgpack_object *
s_map (const char *text, msgpack_sbuffer *buffer, msgpack_unpacked *unpacked)
{
    msgpack_sbuffer_clear (buffer);
    assert (op_args_text (text, buffer) == 0);
    assert (msgpack_unpack_next (unpacked, buffer->data, buffer->size, NULL)
            == MSGPACK_UNPACK_SUCCESS);
    return &unpacked->data;
}

static void
s_expect (char **text, FILE **out, size_t *size, const char *expected)
{
    fclose (*out);
    if (!streq (*text, expected)) {
        fprintf (stderr, "\nprint: expected [%s]\n          got [%s]\n", expected, *text);
        assert (false);
    }
    free (*text);
    *text = NULL;
    *out = open_memstream (text, size);
}

void
ctl_print_test (bool verbose)
{
    (void) verbose;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_unpacked unpacked, other;
    msgpack_unpacked_init (&unpacked);
    msgpack_unpacked_init (&other);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);

    //  Display values
    const msgpack_object *hall = s_map ("id=h-cd-01 name=青羊堂口 branch=b-chengdu "
        "leader=m-7 cap:=30 seats:=28 created:=1795428030000 ok:=true list=[a,b] "
        "tags={k=v}", &buffer, &unpacked);
    assert (streq (ctl_v (hall, "name"), "青羊堂口"));
    assert (streq (ctl_v (hall, "cap"), "30") && ctl_u (hall, "seats") == 28);
    assert (streq (ctl_v (hall, "absent"), "-") && ctl_u (hall, "name") == 0);
    assert (streq (ctl_v (hall, "ok"), "yes") && streq (ctl_v (hall, "list"), "a,b"));
    assert (streq (ctl_v (hall, "tags"), "k=v"));
    assert (streq (ctl_when (hall, "created"), "2026-11-23T10:00:30Z"));
    assert (streq (ctl_when (hall, "name"), "-"));
    assert (ctl_is (hall, "leader", "m-7") && !ctl_is (hall, "leader", "m-70"));
    assert (ctl_array (hall, "list") && !ctl_array (hall, "tags"));
    ctl_print_hall (out, hall);
    s_expect (&text, &out, &size,
              "hall h-cd-01 青羊堂口: branch b-chengdu, leader m-7, seats 28/30\n");

    //  Tables line up CJK names
    msgpack_sbuffer_clear (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 2);
    assert (op_args_text ("id=h-1 name=青羊堂口 branch=b-1 leader=m-7 seats:=28 cap:=30",
                          &buffer) == 0);
    assert (op_args_text ("id=h-long name=x branch=b-1 leader=m-8 seats:=3 cap:=100",
                          &buffer) == 0);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, buffer.data, buffer.size, NULL)
            == MSGPACK_UNPACK_SUCCESS);
    ctl_print_halls (out, &unpacked.data);
    s_expect (&text, &out, &size,
        "ID      NAME      BRANCH  LEADER  SEATS\n"
        "h-1     青羊堂口  b-1     m-7     28/30\n"
        "h-long  x         b-1     m-8     3/100\n");
    ctl_print_members (out, NULL);
    s_expect (&text, &out, &size, "(none)\n");

    //  Compact text and audit changes: created, updated (only what changed), deleted
    msgpack_unpacked_destroy (&unpacked);
    msgpack_unpacked_init (&unpacked);
    const msgpack_object *args = s_map ("id=h-a into=h-b note=a,b release:=true members=[m-1,m-2]",
                                        &buffer, &unpacked);
    ctl_print_args (out, args);
    s_expect (&text, &out, &size, "id=h-a into=h-b note=\"a,b\" release=true members=[m-1,m-2]");
    msgpack_unpacked_destroy (&unpacked);
    msgpack_unpacked_init (&unpacked);
    args = s_map ("rows=[r1,r2,r3,r4,r5,r6,r7,r8,r9,r10]", &buffer, &unpacked);
    ctl_print_args (out, args);
    s_expect (&text, &out, &size, "rows=[r1,r2,r3,... 7 more]");

    msgpack_sbuffer change;
    msgpack_sbuffer_init (&change);
    msgpack_packer_init (&pk, &change, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 3);
    msgpack_pack_map (&pk, 4);
    proto_pack_key (&pk, "table"); proto_pack_str (&pk, "hall");
    proto_pack_key (&pk, "key"); proto_pack_str (&pk, "h-b");
    proto_pack_key (&pk, "before");
    assert (op_args_text ("id=h-b name=旧 seats:=20 gone=x", &change) == 0);
    proto_pack_key (&pk, "after");
    assert (op_args_text ("id=h-b name=旧 seats:=25 new=y", &change) == 0);
    msgpack_pack_map (&pk, 4);
    proto_pack_key (&pk, "table"); proto_pack_str (&pk, "hall");
    proto_pack_key (&pk, "key"); proto_pack_str (&pk, "h-n");
    proto_pack_key (&pk, "before"); msgpack_pack_nil (&pk);
    proto_pack_key (&pk, "after");
    assert (op_args_text ("id=h-n name=新堂", &change) == 0);
    msgpack_pack_map (&pk, 3);
    proto_pack_key (&pk, "table"); proto_pack_str (&pk, "member");
    proto_pack_key (&pk, "key"); proto_pack_str (&pk, "m-1");
    proto_pack_key (&pk, "before");
    assert (op_args_text ("id=m-1 group=h-a", &change) == 0);
    assert (msgpack_unpack_next (&other, change.data, change.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    for (uint32_t i = 0; i < 3; i++)
        ctl_print_change (out, &other.data.via.array.ptr [i]);
    s_expect (&text, &out, &size,
        "  ~ hall h-b  seats 20→25  new nil→y  gone x→nil\n"
        "  + hall h-n  name=新堂\n"
        "  - member m-1  group=h-a\n");
    msgpack_sbuffer_destroy (&change);

    fclose (out);
    free (text);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_unpacked_destroy (&other);
    msgpack_sbuffer_destroy (&buffer);
    ctl_print_release ();
}

/* repl.c -- the replicated tables: one registration each, read by hub and node. */
#include "repl.h"
#include "policy.h"
#include "item.h"

//  How each table's records are read: checked, and placed in a branch

static int
s_branch_read (const char *key, const void *val, size_t size, char branch [DT_ID_MAX + 1])
{
    branch_t record;
    if (record_branch_decode (&record, val, size))
        return -1;
    snprintf (branch, DT_ID_MAX + 1, "%s", key);
    return 0;
}

static int
s_hall_read (const char *key, const void *val, size_t size, char branch [DT_ID_MAX + 1])
{
    (void) key;
    hall_t record;
    if (record_hall_decode (&record, val, size))
        return -1;
    snprintf (branch, DT_ID_MAX + 1, "%s", record.branch);
    return 0;
}

/* An unplaced member belongs to no branch: no node holds it. */
static int
s_member_read (const char *key, const void *val, size_t size, char branch [DT_ID_MAX + 1])
{
    (void) key;
    member_t record;
    if (record_member_decode (&record, val, size))
        return -1;
    snprintf (branch, DT_ID_MAX + 1, "%s", record.seat == SEAT_NONE? "": record.branch);
    return 0;
}

static int
s_key_read (const char *key, const void *val, size_t size, char branch [DT_ID_MAX + 1])
{
    dt_key_t record;
    branch [0] = 0;
    return record_key_decode (&record, val, size) || !streq (record.name, key)? -1: 0;
}

static int
s_policy_read (const char *key, const void *val, size_t size, char branch [DT_ID_MAX + 1])
{
    policy_t record;
    branch [0] = 0;
    return !streq (key, POLICY_KEY) || policy_decode (&record, val, size)? -1: 0;
}

/* An audit checkpoint (store.h): well formed and signed by the key it names. */
static int
s_checkpoint_read (const char *key, const void *val, size_t size, char branch [DT_ID_MAX + 1])
{
    store_checkpoint_t checkpoint;
    branch [0] = 0;
    return streq (key, "current") && store_checkpoint_open (val, size, &checkpoint) == 0? 0: -1;
}

/* A node keeps the newest checkpoint it has seen as its witness, in a table
   that no snapshot wipes: one signed by another key than the first it took,
   or older than the one it holds, or of the same seq with another head (a
   rewritten chain) does not replace it. */
static int
s_checkpoint_apply (store_txn_t *txn, const char *node, const char *key,
                    const void *val, size_t size, dt_err_t *err)
{
    (void) node;
    store_checkpoint_t fresh, held;
    if (!val || store_checkpoint_open (val, size, &fresh))
        return 0;
    const void *old = NULL;
    size_t old_size = 0;
    int found = store_get (txn, TBL_WITNESS, key, strlen (key), &old, &old_size, err);
    if (found == -1)
        return -1;
    if (found == 0 && store_checkpoint_open (old, old_size, &held) == 0) {
        bool same_seq_other_head = held.seq == fresh.seq && memcmp (held.head, fresh.head, 32);
        if (memcmp (held.signer, fresh.signer, 32) || fresh.seq < held.seq
        ||  same_seq_other_head) {
            zsys_warning ("audit checkpoint of %" PRIu64 " entries refused: the witness holds "
                          "%" PRIu64 "%s", fresh.seq, held.seq,
                          memcmp (held.signer, fresh.signer, 32)? " signed by another key": "");
            return 0;
        }
    }
    return store_put (txn, TBL_WITNESS, key, strlen (key), val, size, err);
}

int
repl_read_branch (const char *key, const void *val, size_t size, char branch [DT_ID_MAX + 1])
{
    (void) key;
    dt_err_t err;
    dt_err_init (&err);
    if (proto_check (val, size, &err))
        return -1;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    int rc = -1;
    if (msgpack_unpack_next (&unpacked, val, size, NULL) == MSGPACK_UNPACK_SUCCESS
    &&  unpacked.data.type == MSGPACK_OBJECT_MAP) {
        const msgpack_object *field = proto_map_get (&unpacked.data, "branch");
        branch [0] = 0;
        rc = !field || field->type == MSGPACK_OBJECT_NIL
          || (proto_obj_str (field, branch, DT_ID_MAX)
          &&  (!*branch || dt_id_valid (branch, strlen (branch))))? 0: -1;
    }
    msgpack_unpacked_destroy (&unpacked);
    return rc;
}

/* A branch record is kept when it names this node; naming another node (or
   deleted), the branch goes with everything in it. */
static int
s_branch_apply (store_txn_t *txn, const char *node, const char *key,
                const void *val, size_t size, dt_err_t *err)
{
    branch_t branch;
    if (val && record_branch_decode (&branch, val, size) == 0 && streq (branch.node, node))
        return store_put (txn, TBL_BRANCH, key, strlen (key), val, size, err);
    return tree_drop_branch (txn, key, err);
}

int
repl_place_visit (repl_place_t *place, const char *group, store_table_t table,
                  const char *key, const void *val, size_t size, tree_record_fn *visit,
                  void *arg)
{
    if (place->stopped)
        return 1;
    place->started = true;
    snprintf (place->group, sizeof (place->group), "%s", group);
    snprintf (place->key, sizeof (place->key), "%s", key);
    int rc = visit (table, key, val, size, arg);
    if (rc == 1)
        place->stopped = true;
    return rc;
}

//  The records of one branch, through the tree's indexes

typedef struct {
    store_txn_t *txn;
    repl_place_t *place;
    tree_record_fn *visit;
    void *arg;
    dt_err_t *err;
} s_records_t;

/* Visit one record, placed in group (members) at id; 1 once a visit has
   asked to stop, which ends the walk the record was found by. */
static int
s_emit (s_records_t *self, store_table_t table, const char *group, const char *id)
{
    if (self->place->stopped)
        return 1;
    const void *val = NULL;
    size_t size = 0;
    int rc = store_get (self->txn, table, id, strlen (id), &val, &size, self->err);
    if (rc)
        return rc == 1? 0: -1;
    return repl_place_visit (self->place, group, table, id, val, size, self->visit,
                             self->arg);
}

static int
s_branch_records (store_txn_t *txn, const char *branch, repl_place_t *place,
                  tree_record_fn *visit, void *arg, dt_err_t *err)
{
    s_records_t self = { txn, place, visit, arg, err };
    return place->started? 0: s_emit (&self, TBL_BRANCH, "", branch) == -1? -1: 0;
}

static int
s_emit_hall (const hall_t *hall, void *arg)
{
    return s_emit (arg, TBL_HALL, "", hall->id);
}

static int
s_hall_records (store_txn_t *txn, const char *branch, repl_place_t *place,
                tree_record_fn *visit, void *arg, dt_err_t *err)
{
    s_records_t self = { txn, place, visit, arg, err };
    return tree_hall_visit_after (txn, branch, place->started? place->key: NULL, s_emit_hall,
                                  &self, err);
}

typedef struct {
    s_records_t *records;
    const char *group;
} s_seats_t;

static int
s_emit_member (const member_t *member, void *arg)
{
    s_seats_t *self = arg;
    return s_emit (self->records, TBL_MEMBER, self->group, member->id);
}

/* The seats of one group (a hall, or "" and the branch: core seats), after
   member `after` (NULL: every one). */
static int
s_emit_seats (s_records_t *self, seat_kind_t kind, const char *group, const char *place,
              const char *after)
{
    s_seats_t seats = { self, place };
    return tree_seat_visit_after (self->txn, kind, group, after, s_emit_member, &seats,
                                  self->err);
}

static int
s_emit_hall_members (const hall_t *hall, void *arg)
{
    s_records_t *self = arg;
    if (self->place->stopped)
        return 1;
    return s_emit_seats (self, SEAT_HALL, hall->id, hall->id, NULL);
}

/* Core seats first, then each hall's. */
static int
s_member_records (store_txn_t *txn, const char *branch, repl_place_t *place,
                  tree_record_fn *visit, void *arg, dt_err_t *err)
{
    s_records_t self = { txn, place, visit, arg, err };
    //  Where it stopped: in the core seats, or in the seats of a hall
    char hall [DT_ID_MAX + 1] = "", after [DT_ID_MAX + 1] = "";
    if (place->started) {
        snprintf (hall, sizeof (hall), "%s", place->group);
        snprintf (after, sizeof (after), "%s", place->key);
    }
    int rc = 0;
    if (!*hall)
        rc = s_emit_seats (&self, SEAT_CORE, branch, "", *after? after: NULL);
    else
        rc = s_emit_seats (&self, SEAT_HALL, hall, hall, after);
    if (rc == 0 && !place->stopped)
        rc = tree_hall_visit_after (txn, branch, *hall? hall: NULL, s_emit_hall_members,
                                    &self, err);
    return rc;
}

static bool s_serves (store_txn_t *txn, const char *node, const char *branch);

/* Items of a branch this node took over: merged with what it holds (its own
   records are newer than the hub's copy, or the same); never deleted. */
static int
s_item_apply (store_txn_t *txn, const char *node, const char *key,
              const void *val, size_t size, dt_err_t *err)
{
    char branch [DT_ID_MAX + 1] = "";
    if (!val || repl_read_branch (key, val, size, branch) || !s_serves (txn, node, branch))
        return 0;
    return item_merge_raw (txn, key, val, size, err);
}

//  The registry. A snapshot and a resend take the tables in this order: a
//  branch record comes before the records placed in it.

static const repl_table_t s_tables [] = {
    //  table       scope            read           apply           index
    //              index tables                     records            snapshot admission merged
    { TBL_BRANCH, REPL_BRANCH,     s_branch_read, s_branch_apply, NULL,
                  { TBL_COUNT, TBL_COUNT },        s_branch_records,  true,    true,  false },
    { TBL_HALL,   REPL_BRANCH,     s_hall_read,   NULL,           tree_hall_index,
                  { TBL_BRANCH_HALL, TBL_COUNT },  s_hall_records,    true,    false, false },
    { TBL_MEMBER, REPL_BRANCH,     s_member_read, NULL,           tree_member_index,
                  { TBL_SEAT, TBL_MEMBER_INDEX },  s_member_records,  true,    false, false },
    //  Content flows up from its authority (proto/content/uplink.c); the hub
    //  sends a branch's items down only to a node taking the branch over
    { TBL_ITEM,   REPL_BRANCH,     repl_read_branch, s_item_apply, NULL,
                  { TBL_COUNT, TBL_COUNT },        item_branch_records, true,  false, true },
    { TBL_KEY,    REPL_EVERY_NODE, s_key_read,    NULL,           NULL,
                  { TBL_COUNT, TBL_COUNT },        NULL,              true,    true,  false },
    { TBL_POLICY, REPL_EVERY_NODE, s_policy_read, NULL,           NULL,
                  { TBL_COUNT, TBL_COUNT },        NULL,              true,    false, false },
    { TBL_CHECKPOINT, REPL_EVERY_NODE, s_checkpoint_read, s_checkpoint_apply, NULL,
                  { TBL_COUNT, TBL_COUNT },        NULL,              false,   false, false },
};
#define S_TABLES (sizeof (s_tables) / sizeof (s_tables [0]))

const repl_table_t *
repl_table_of (store_table_t table)
{
    for (size_t i = 0; i < S_TABLES; i++)
        if (s_tables [i].table == table)
            return &s_tables [i];
    return NULL;
}

const repl_table_t *
repl_table (const char *name)
{
    return repl_table_of (store_table_by_name (name));
}

//  Hub side

int
repl_record_put (store_txn_t *txn, store_table_t table, const char *key,
                 const void *val, size_t size, dt_err_t *err)
{
    const repl_table_t *reg = repl_table_of (table);
    assert (reg);                   /* a writer names a registered table */
    char old_branch [DT_ID_MAX + 1] = "", new_branch [DT_ID_MAX + 1] = "";
    if (val && reg->read (key, val, size, new_branch))
        return dt_err_set (err, "INTERNAL", "%s record %s does not encode",
                           store_table_name (table), key);
    store_scope_t scope = { .branch = new_branch, .nodes = { STORE_NODES_ALL }, .nnodes = 1 };
    char old_node [DT_ID_MAX + 1], new_node [DT_ID_MAX + 1];
    if (reg->scope == REPL_BRANCH) {
        //  The nodes of the branch it leaves and of the branch it joins
        const void *old = NULL;
        size_t old_size = 0;
        int found = store_get (txn, table, key, strlen (key), &old, &old_size, err);
        if (found == -1)
            return -1;
        if (found == 0)
            reg->read (key, old, old_size, old_branch);
        tree_branch_node (txn, new_branch, new_node);
        //  Most writes stay in their branch: its record is read once
        if (streq (old_branch, new_branch))
            strcpy (old_node, new_node);
        else
            tree_branch_node (txn, old_branch, old_node);
        scope = (store_scope_t) { .branch = new_branch, .nodes = { old_node, new_node },
                                  .nnodes = 2 };
    }
    return store_record_put (txn, table, key, val, size, &scope, err);
}

typedef struct {
    const repl_table_t *reg;
    const char *branch;
    tree_record_fn *visit;
    void *arg;
} s_scan_t;

static int
s_scan_record (const void *key, size_t key_size, const void *val, size_t size, void *arg)
{
    s_scan_t *self = arg;
    char name [DT_ID_MAX + 1], branch [DT_ID_MAX + 1] = "";
    if (key_size > DT_ID_MAX)
        return 0;
    memcpy (name, key, key_size);
    name [key_size] = 0;
    if (self->reg->read (name, val, size, branch) || !streq (branch, self->branch))
        return 0;
    return self->visit (self->reg->table, name, val, size, self->arg);
}

int
repl_branch_records_from (store_txn_t *txn, const char *branch, repl_place_t *place,
                          tree_record_fn *visit, void *arg, dt_err_t *err)
{
    place->stopped = false;
    for (; place->table < S_TABLES; place->table++, place->started = false) {
        const repl_table_t *reg = &s_tables [place->table];
        if (reg->scope != REPL_BRANCH || !reg->snapshot)
            continue;
        //  Without a records function of its own, a table is scanned whole and
        //  each record placed by its read function (no slices)
        s_scan_t scan = { reg, branch, visit, arg };
        if (reg->records? reg->records (txn, branch, place, visit, arg, err)
                        : store_scan (txn, reg->table, NULL, 0, NULL, 0, s_scan_record, &scan,
                                      err))
            return -1;
        if (place->stopped)
            return 0;
    }
    return 0;
}

int
repl_branch_records (store_txn_t *txn, const char *branch,
                     tree_record_fn *visit, void *arg, dt_err_t *err)
{
    repl_place_t place = { 0 };
    return repl_branch_records_from (txn, branch, &place, visit, arg, err);
}

typedef struct {
    store_txn_t *txn;
    const char *branch;
    const char *node;
    dt_err_t *err;
} s_resend_t;

int
repl_record_send (store_txn_t *txn, store_table_t table, const char *key,
                  const void *val, size_t size, const char *branch, const char *node,
                  dt_err_t *err)
{
    //  Copy first: the value may live in the map, and the log write may move it
    void *copy = malloc (size? size: 1);
    assert (copy);
    memcpy (copy, val, size);
    store_scope_t scope = { .branch = branch, .nodes = { node }, .nnodes = 1 };
    int rc = store_log_append (txn, table, key, copy, size, &scope, err);
    free (copy);
    return rc;
}

static int
s_resend_record (store_table_t table, const char *key, const void *val, size_t size, void *arg)
{
    s_resend_t *self = arg;
    return repl_record_send (self->txn, table, key, val, size, self->branch, self->node,
                             self->err);
}

int
repl_branch_resend (store_txn_t *txn, const char *branch, const char *node, dt_err_t *err)
{
    s_resend_t self = { txn, branch, node, err };
    return repl_branch_records (txn, branch, s_resend_record, &self, err);
}

typedef struct {
    store_txn_t *txn;
    const char *node;
    store_table_t table;
    tree_record_fn *visit;
    void *arg;
    dt_err_t *err;
} s_snapshot_t;

static int
s_snapshot_branch (const branch_t *branch, void *arg)
{
    s_snapshot_t *self = arg;
    if (!streq (branch->node, self->node))
        return 0;
    return repl_branch_records (self->txn, branch->id, self->visit, self->arg, self->err);
}

static int
s_snapshot_record (const void *key, size_t key_size, const void *val, size_t val_size,
                   void *arg)
{
    s_snapshot_t *self = arg;
    char name [DT_ID_MAX + 1];
    if (key_size > DT_ID_MAX)
        return 0;
    memcpy (name, key, key_size);
    name [key_size] = 0;
    return self->visit (self->table, name, val, val_size, self->arg);
}

int
repl_snapshot (store_txn_t *txn, const char *node, tree_record_fn *visit, void *arg,
               dt_err_t *err)
{
    s_snapshot_t self = { txn, node, TBL_COUNT, visit, arg, err };
    if (tree_branch_visit (txn, s_snapshot_branch, &self, err))
        return -1;
    return repl_snapshot_common (txn, visit, arg, err);
}

int
repl_snapshot_common (store_txn_t *txn, tree_record_fn *visit, void *arg, dt_err_t *err)
{
    s_snapshot_t self = { txn, NULL, TBL_COUNT, visit, arg, err };
    for (size_t i = 0; i < S_TABLES; i++) {
        if (s_tables [i].scope != REPL_EVERY_NODE || !s_tables [i].snapshot)
            continue;
        self.table = s_tables [i].table;
        if (store_scan (txn, self.table, NULL, 0, NULL, 0, s_snapshot_record, &self, err))
            return -1;
    }
    return 0;
}

//  Replica side

static bool
s_serves (store_txn_t *txn, const char *node, const char *branch)
{
    char serving [DT_ID_MAX + 1];
    tree_branch_node (txn, branch, serving);
    return *branch && streq (serving, node);
}

int
repl_apply (store_txn_t *txn, const char *node, const char *table, const char *key,
            const void *value, size_t value_size, dt_err_t *err)
{
    const repl_table_t *reg = repl_table (table);
    if (!reg)
        return dt_err_set (err, "MALFORMED", "unknown table %.20s in change log", table);
    if (!dt_id_valid (key, strlen (key)))
        return dt_err_set (err, "MALFORMED", "bad key in change log");
    char branch [DT_ID_MAX + 1] = "";
    if (value && reg->read (key, value, value_size, branch))
        return dt_err_set (err, "MALFORMED", "damaged %s record %s in change log", table, key);
    if (reg->apply)
        return reg->apply (txn, node, key, value, value_size, err);
    bool keep = value && (reg->scope == REPL_EVERY_NODE || s_serves (txn, node, branch));
    if (reg->index) {
        const void *old = NULL;
        size_t old_size = 0;
        int found = store_get (txn, reg->table, key, strlen (key), &old, &old_size, err);
        if (found == -1
        ||  reg->index (txn, key, found == 0? old: NULL, old_size, keep? value: NULL,
                        value_size, err))
            return -1;
    }
    return keep? store_put (txn, reg->table, key, strlen (key), value, value_size, err)
               : store_del (txn, reg->table, key, strlen (key), err);
}

static int
s_collect_key (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    (void) val; (void) val_size;
    zlistx_add_end ((zlistx_t *) arg, zchunk_new (key, key_size));
    return 0;
}

/* Delete every entry of a table (keys collected first: no deletes under an
   open cursor). */
static int
s_table_clear (store_txn_t *txn, store_table_t table, dt_err_t *err)
{
    zlistx_t *keys = zlistx_new ();
    zlistx_set_destructor (keys, (zlistx_destructor_fn *) zchunk_destroy);
    int rc = store_scan (txn, table, NULL, 0, NULL, 0, s_collect_key, keys, err);
    for (zchunk_t *key = zlistx_first (keys); key && rc == 0; key = zlistx_next (keys))
        rc = store_del (txn, table, zchunk_data (key), zchunk_size (key), err);
    zlistx_destroy (&keys);
    return rc;
}

int
repl_wipe (store_txn_t *txn, dt_err_t *err)
{
    for (size_t i = 0; i < S_TABLES; i++) {
        if (s_tables [i].merged)
            continue;
        if (s_table_clear (txn, s_tables [i].table, err))
            return -1;
        for (size_t j = 0; j < 2; j++)
            if (s_tables [i].index_tables [j] != TBL_COUNT
            &&  s_table_clear (txn, s_tables [i].index_tables [j], err))
                return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Self test

static int
s_test_count (store_table_t table, const char *key, const void *val, size_t size, void *arg)
{
    (void) key; (void) val; (void) size;
    ((int *) arg) [table]++;
    return 0;
}

typedef struct {
    msgpack_sbuffer entries;
    uint32_t count;
} s_test_log_t;

/* Collect the log entries meant for n1, as the hub's session does. */
static int
s_test_log_for_n1 (const void *key, size_t key_size, const void *val, size_t size, void *arg)
{
    (void) key; (void) key_size;
    s_test_log_t *self = arg;
    stream_change_t change;
    dt_err_t err;
    dt_err_init (&err);
    assert (stream_change_decode (&change, val, size, NULL, &err) == 0);
    if (stream_change_for (&change, "n1")) {
        msgpack_sbuffer_write (&self->entries, val, size);
        self->count++;
    }
    return 0;
}

void
repl_test (bool verbose)
{
    if (verbose)
        printf (" * repl: ");
    //  Every registration is whole, and its wire name finds it again
    for (size_t i = 0; i < S_TABLES; i++) {
        const repl_table_t *reg = &s_tables [i];
        assert (reg->read && repl_table (store_table_name (reg->table)) == reg);
        assert (reg->scope == REPL_BRANCH || (!reg->index && !reg->records));
        assert (!reg->index == (reg->index_tables [0] == TBL_COUNT));
    }
    assert (repl_table ("log") == NULL && repl_table ("outbox") == NULL);
    //  The reader of records that name their branch in a "branch" field
    char branch [DT_ID_MAX + 1];
#define S_READ(bytes) repl_read_branch ("p-1", bytes, sizeof (bytes) - 1, branch)
    assert (S_READ ("\x82\xa2id\xa3p-1\xa6" "branch\xa3" "b-1") == 0 && streq (branch, "b-1"));
    assert (S_READ ("\x81\xa2id\xa3p-1") == 0 && !*branch);
    assert (S_READ ("\x81\xa6" "branch\x01") == -1);
    assert (S_READ ("\x81\xa6" "branch\xa2-x") == -1);
    assert (S_READ ("\x81\xa6" "branch") == -1);
    assert (S_READ ("\x91\x01") == -1);
#undef S_READ

    char dir [] = "/tmp/duotang-repl-test-XXXXXX";
    assert (mkdtemp (dir));
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = store_new (dir, 16, &err);
    assert (store);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    txn.log = true;
    branch_t b1 = { .id = "b-1", .name = "成都分舵", .leader = "o-1", .node = "n1" };
    branch_t b2 = { .id = "b-2", .name = "重庆分舵", .leader = "o-1", .node = "n2" };
    assert (tree_branch_put (&txn, &b1, &err) == 0 && tree_branch_put (&txn, &b2, &err) == 0);
    hall_t hall = { .id = "h-1", .name = "青羊堂口", .branch = "b-1", .leader = "m-1" };
    member_t member = { .id = "m-1", .name = "李四", .seat = SEAT_CORE, .group = "b-1" };
    assert (tree_member_put (&txn, &member, &err) == 0 && tree_hall_put (&txn, &hall, &err) == 0);

    //  A registered writer logs a record for the nodes of its branches: a
    //  hall moved from b-1 to b-2 reaches n1 (which lets go) and n2
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    strcpy (hall.branch, "b-2");
    record_hall_encode (&hall, &buf);
    assert (repl_record_put (&txn, TBL_HALL, "h-1", buf.data, buf.size, &err) == 0);
    uint8_t seq [8];
    store_seq_key (store_log_head (&txn), seq);
    const void *val;
    size_t size;
    assert (store_get (&txn, TBL_LOG, seq, 8, &val, &size, &err) == 0);
    stream_change_t change;
    assert (stream_change_decode (&change, val, size, NULL, &err) == 0);
    assert (streq (change.branch, "b-2") && change.nnodes == 2);
    assert (streq (change.nodes [0], "n1") && streq (change.nodes [1], "n2"));
    strcpy (hall.branch, "b-1");
    msgpack_sbuffer_clear (&buf);
    record_hall_encode (&hall, &buf);
    assert (repl_record_put (&txn, TBL_HALL, "h-1", buf.data, buf.size, &err) == 0);
    msgpack_sbuffer_destroy (&buf);

    //  A snapshot for n1: its branch, hall and member, nothing of b-2
    int counts [TBL_COUNT] = { 0 };
    assert (repl_snapshot (&txn, "n1", s_test_count, counts, &err) == 0);
    assert (counts [TBL_BRANCH] == 1 && counts [TBL_HALL] == 1 && counts [TBL_MEMBER] == 1);
    memset (counts, 0, sizeof (counts));
    assert (repl_snapshot (&txn, "n2", s_test_count, counts, &err) == 0);
    assert (counts [TBL_BRANCH] == 1 && counts [TBL_HALL] == 0);

    //  What the hub logs, pushed as the hub pushes it and decoded as the node
    //  decodes it, makes n1's replica: b-1 with its hall and member, no b-2
    char rdir [] = "/tmp/duotang-repl-replica-XXXXXX";
    assert (mkdtemp (rdir));
    store_t *replica = store_new (rdir, 16, &err);
    assert (replica);
    s_test_log_t log;
    msgpack_sbuffer_init (&log.entries);
    log.count = 0;
    assert (store_scan (&txn, TBL_LOG, NULL, 0, NULL, 0, s_test_log_for_n1, &log, &err) == 0);
    stream_push_t push = { .kind = STREAM_CHANGES, .upto = store_log_head (&txn),
                           .entries = log.entries.data, .entries_size = log.entries.size,
                           .nentries = log.count }, pushed;
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    stream_push_encode (&body, &push);
    msgpack_sbuffer_destroy (&log.entries);
    assert (stream_push_decode (&pushed, body.data, body.size, &err) == 0);
    assert (pushed.kind == STREAM_CHANGES && pushed.nentries == log.count && log.count > 3);
    store_txn_t rtxn;
    assert (store_begin (replica, &rtxn, NULL, true, &err) == 0);
    size_t offset = 0;
    while (stream_entries_next (pushed.entries, pushed.entries_size, &offset, &change, &err) == 1)
        assert (repl_apply (&rtxn, "n1", change.table, change.key, change.value,
                            change.value_size, &err) == 0);
    msgpack_sbuffer_destroy (&body);
    branch_t copy;
    assert (tree_branch_get (&rtxn, "b-1", &copy, &err) == 0);
    assert (tree_branch_get (&rtxn, "b-2", &copy, &err) == 1);
    assert (tree_hall_get (&rtxn, "h-1", &hall, &err) == 0 && streq (hall.branch, "b-1"));
    assert (tree_member_get (&rtxn, "m-1", &member, &err) == 0);
    assert (store_count (&rtxn, TBL_BRANCH_HALL) == 1 && store_count (&rtxn, TBL_SEAT) == 1);
    assert (store_count (&rtxn, TBL_MEMBER_INDEX) == 1);     /* m-1's name */
    store_abort (&rtxn);
    store_destroy (&replica);
    store_remove (rdir);

    //  The replica's wipe takes the indexes along
    assert (store_count (&txn, TBL_BRANCH_HALL) == 1 && store_count (&txn, TBL_SEAT) == 1);
    assert (store_count (&txn, TBL_MEMBER_INDEX) > 0);
    assert (repl_wipe (&txn, &err) == 0);
    assert (store_count (&txn, TBL_BRANCH_HALL) == 0 && store_count (&txn, TBL_SEAT) == 0);
    assert (store_count (&txn, TBL_MEMBER_INDEX) == 0);
    assert (store_count (&txn, TBL_BRANCH) == 0 && store_count (&txn, TBL_LOG) > 0);
    assert (repl_apply (&txn, "n1", "log", "x", NULL, 0, &err) == -1);
    assert (streq (err.code, "MALFORMED"));
    store_abort (&txn);
    store_destroy (&store);
    store_remove (dir);
    dt_err_reset (&err);
    if (verbose)
        printf ("OK\n");
}

/* node_sync.c -- replication session of a node: pushes applied exactly once. */
#include "node_sync.h"
#include "policy.h"

struct _node_sync_t {
    store_t *store;                 /* borrowed */
    dt_id_t node;
    const client_opts_t *opts;      /* borrowed; NULL = no network */
    client_t *hub;
    uint64_t applied;               /* cached TBL_META "applied" */
    int64_t last_heard;             /* mono ms of the last body from the hub */
    bool connected;
    bool warned;                    /* the hub's silence was logged */
    char last_error [DT_ERR_MSG_MAX + 32];
    //  A snapshot arrives in several pushes and is applied whole at its end,
    //  so that no write transaction stays open across messages (the outbox
    //  needs to commit in between).
    bool in_snapshot;
    msgpack_sbuffer snapshot;       /* packed change maps, back to back */
    uint32_t snapshot_count;
    //  Key and branch records decide which keys the node admits: a push
    //  that changed them is reported once (node_sync_admission_changed)
    bool admission_applying;        /* in the push being applied */
    bool admission_changed;         /* in a committed push, not yet reported */
};

static void s_connect (node_sync_t *self);

node_sync_t *
node_sync_new (store_t *store, const char *node, const client_opts_t *hub)
{
    node_sync_t *self = (node_sync_t *) zmalloc (sizeof (node_sync_t));
    self->store = store;
    self->opts = hub;
    snprintf (self->node, sizeof (self->node), "%s", node);
    msgpack_sbuffer_init (&self->snapshot);
    store_txn_t txn;
    dt_err_t err;
    dt_err_init (&err);
    if (store_begin (store, &txn, NULL, false, &err) == 0) {
        self->applied = store_meta_uint (&txn, "applied");
        store_abort (&txn);
    }
    dt_err_reset (&err);
    if (hub)
        s_connect (self);
    return self;
}

void
node_sync_destroy (node_sync_t **self_p)
{
    assert (self_p);
    node_sync_t *self = *self_p;
    if (self) {
        client_destroy (&self->hub);
        msgpack_sbuffer_destroy (&self->snapshot);
        free (self);
        *self_p = NULL;
    }
}

uint64_t
node_sync_applied (node_sync_t *self)
{
    return self->applied;
}

zsock_t *
node_sync_sock (node_sync_t *self)
{
    return self->hub? client_sock (self->hub): NULL;
}

bool
node_sync_connected (node_sync_t *self)
{
    return self->connected;
}

bool
node_sync_admission_changed (node_sync_t *self)
{
    bool changed = self->admission_changed;
    self->admission_changed = false;
    return changed;
}

//  Applying pushes

static bool
s_uint (const msgpack_object *map, const char *key, uint64_t *out)
{
    const msgpack_object *obj = proto_map_get (map, key);
    if (!obj || obj->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *out = obj->via.u64;
    return true;
}

/* Apply one change map to the replica in txn. */
static int
s_apply_change (node_sync_t *self, store_txn_t *txn, const msgpack_object *change,
                dt_err_t *err)
{
    char table [16], key [DT_ID_MAX + 1];
    const msgpack_object *value = proto_map_get (change, "value");
    if (!proto_obj_str (proto_map_get (change, "table"), table, sizeof (table) - 1)
    ||  !proto_obj_str (proto_map_get (change, "key"), key, sizeof (key) - 1)
    ||  !value || (value->type != MSGPACK_OBJECT_BIN && value->type != MSGPACK_OBJECT_NIL))
        return dt_err_set (err, "MALFORMED", "a change needs table, key and value");
    //  Tables a newer hub replicates that this node does not know yet
    if (!streq (table, "branch") && !streq (table, "hall") && !streq (table, "member")
    &&  !streq (table, "key") && !streq (table, "policy"))
        return 0;
    self->admission_applying |= streq (table, "key") || streq (table, "branch");
    bool present = value->type == MSGPACK_OBJECT_BIN;
    return tree_apply (txn, self->node, table, key, present? value->via.bin.ptr: NULL,
                       present? value->via.bin.size: 0, err);
}

/* Commit txn with applied = upto; the cached value follows only a commit. */
static int
s_commit_upto (node_sync_t *self, store_txn_t *txn, uint64_t upto, dt_err_t *err)
{
    if (store_meta_set_uint (txn, "applied", upto, err)) {
        store_abort (txn);
        return -1;
    }
    if (store_commit (txn, err))
        return -1;
    self->applied = upto;
    self->admission_changed |= self->admission_applying;
    return 0;
}

/* PUSH changes entries upto: entries at or below applied were applied
   before (a redelivery after a reconnect) and are skipped. */
static int
s_push_changes (node_sync_t *self, const msgpack_object *push, uint64_t *credit,
                dt_err_t *err)
{
    const msgpack_object *entries = proto_map_get (push, "entries");
    uint64_t upto;
    if (!entries || entries->type != MSGPACK_OBJECT_ARRAY || !s_uint (push, "upto", &upto))
        return dt_err_set (err, "MALFORMED", "a changes push needs entries and upto");
    //  The hub took this many entries off our credit: give them back
    *credit = entries->via.array.size;
    if (upto <= self->applied)
        return 0;
    store_txn_t txn;
    if (store_begin (self->store, &txn, NULL, true, err))
        return -1;
    self->admission_applying = false;
    for (uint32_t i = 0; i < entries->via.array.size; i++) {
        const msgpack_object *change = &entries->via.array.ptr [i];
        uint64_t seq;
        if (!s_uint (change, "seq", &seq)) {
            store_abort (&txn);
            return dt_err_set (err, "MALFORMED", "a change has no seq");
        }
        if (seq > self->applied && s_apply_change (self, &txn, change, err)) {
            store_abort (&txn);
            return -1;
        }
    }
    return s_commit_upto (self, &txn, upto, err);
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

/* A snapshot replaces the whole tree of the replica, its keys and its
   policy: records of branches since taken away, any stray hall or member,
   and keys since deleted go with the rest; a snapshot without a policy
   means the defaults. */
static int
s_replica_wipe (store_txn_t *txn, dt_err_t *err)
{
    static const store_table_t tables [] = {
        TBL_BRANCH, TBL_HALL, TBL_MEMBER, TBL_SEAT, TBL_BRANCH_HALL, TBL_KEY, TBL_POLICY
    };
    for (size_t i = 0; i < sizeof (tables) / sizeof (tables [0]); i++)
        if (s_table_clear (txn, tables [i], err))
            return -1;
    return 0;
}

/* PUSH snapshot_end upto: wipe, apply every buffered record, advance. */
static int
s_snapshot_apply (node_sync_t *self, uint64_t upto, dt_err_t *err)
{
    store_txn_t txn;
    if (store_begin (self->store, &txn, NULL, true, err))
        return -1;
    int rc = s_replica_wipe (&txn, err);
    self->admission_applying = true;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    for (uint32_t i = 0; i < self->snapshot_count && rc == 0; i++) {
        if (msgpack_unpack_next (&unpacked, self->snapshot.data, self->snapshot.size,
                                 &offset) != MSGPACK_UNPACK_SUCCESS)
            rc = dt_err_set (err, "INTERNAL", "snapshot buffer is damaged");
        else
            rc = s_apply_change (self, &txn, &unpacked.data, err);
    }
    msgpack_unpacked_destroy (&unpacked);
    if (rc) {
        store_abort (&txn);
        return -1;
    }
    return s_commit_upto (self, &txn, upto, err);
}

static void
s_snapshot_reset (node_sync_t *self)
{
    self->in_snapshot = false;
    msgpack_sbuffer_clear (&self->snapshot);
    self->snapshot_count = 0;
}

/* PUSH snapshot entries: keep the records until the snapshot ends. */
static int
s_push_snapshot (node_sync_t *self, const msgpack_object *push, dt_err_t *err)
{
    const msgpack_object *entries = proto_map_get (push, "entries");
    if (!entries || entries->type != MSGPACK_OBJECT_ARRAY)
        return dt_err_set (err, "MALFORMED", "a snapshot push needs entries");
    if (!self->in_snapshot)
        return dt_err_set (err, "MALFORMED", "snapshot entries outside a snapshot");
    msgpack_packer pk;
    msgpack_packer_init (&pk, &self->snapshot, msgpack_sbuffer_write);
    for (uint32_t i = 0; i < entries->via.array.size; i++)
        msgpack_pack_object (&pk, entries->via.array.ptr [i]);
    self->snapshot_count += entries->via.array.size;
    return 0;
}

int
node_sync_push (node_sync_t *self, const msgpack_object *push, bool *ack,
                uint64_t *credit, dt_err_t *err)
{
    char kind [24];
    uint64_t upto = 0;
    *ack = true;
    *credit = 0;
    if (!proto_obj_str (proto_map_get (push, "push"), kind, sizeof (kind) - 1))
        return dt_err_set (err, "MALFORMED", "not a push");
    if (streq (kind, "changes"))
        return s_push_changes (self, push, credit, err);
    if (streq (kind, "heartbeat"))
        return 0;
    *ack = false;
    if (streq (kind, "snapshot"))
        return s_push_snapshot (self, push, err);
    if (!s_uint (push, "upto", &upto))
        return dt_err_set (err, "MALFORMED", "push %s needs upto", kind);
    if (streq (kind, "snapshot_begin")) {
        s_snapshot_reset (self);
        self->in_snapshot = true;
        return 0;
    }
    if (streq (kind, "snapshot_end")) {
        if (!self->in_snapshot)
            return dt_err_set (err, "MALFORMED", "snapshot_end without snapshot_begin");
        int rc = s_snapshot_apply (self, upto, err);
        s_snapshot_reset (self);
        *ack = rc == 0;
        return rc;
    }
    *ack = false;
    return 0;                   /* a push of a newer protocol: ignored */
}

//  The session

/* (Re)build the socket and say hello from what the replica holds. */
static void
s_connect (node_sync_t *self)
{
    client_destroy (&self->hub);
    s_snapshot_reset (self);
    self->last_heard = zclock_mono ();
    dt_err_t err;
    dt_err_init (&err);
    self->hub = client_new (self->opts, &err);
    if (!self->hub) {
        zsys_error ("node %s: hub session: %s", self->node, err.message);
        dt_err_reset (&err);
        return;
    }
    msgpack_sbuffer args;
    msgpack_sbuffer_init (&args);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &args, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3);
    proto_pack_key (&pk, "node");
    proto_pack_str (&pk, self->node);
    proto_pack_key (&pk, "from");
    msgpack_pack_uint64 (&pk, self->applied);
    proto_pack_key (&pk, "credit");
    msgpack_pack_uint64 (&pk, NODE_SYNC_CREDIT);
    client_send (self->hub, "sync.hello", &args);
    msgpack_sbuffer_destroy (&args);
}

/* SYNC ACK applied credit ts outbox */
static void
s_ack (node_sync_t *self, uint64_t credit)
{
    msgpack_sbuffer args;
    msgpack_sbuffer_init (&args);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &args, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 4);
    proto_pack_key (&pk, "applied");
    msgpack_pack_uint64 (&pk, self->applied);
    proto_pack_key (&pk, "credit");
    msgpack_pack_uint64 (&pk, credit);
    proto_pack_key (&pk, "ts");
    msgpack_pack_int64 (&pk, dt_now_ms ());
    proto_pack_key (&pk, "outbox");
    msgpack_pack_uint64 (&pk, store_size (self->store, TBL_OUTBOX));
    client_send (self->hub, "sync.ack", &args);
    msgpack_sbuffer_destroy (&args);
}

/* A reply: to sync.hello, or nil to sync.ack. A refusal ends the session
   (a lost ack would leak its credit); it starts again after the usual
   pause. Each refusal is logged once, not at every new attempt. */
static int
s_reply (node_sync_t *self, const proto_reply_t *reply)
{
    if (reply->ok) {
        self->last_error [0] = 0;
        return 0;
    }
    char text [DT_ERR_MSG_MAX + 32];
    snprintf (text, sizeof (text), "%s: %s", reply->code, reply->message);
    if (!streq (text, self->last_error))
        zsys_error ("node %s: the hub refused the session: %s", self->node, text);
    snprintf (self->last_error, sizeof (self->last_error), "%s", text);
    return -1;
}

/* One body from the hub: 0, or -1 when the session must end. */
static int
s_body (node_sync_t *self, proto_reply_t *body, bool *ack, uint64_t *credit)
{
    if (!*body->push)
        return s_reply (self, body);
    bool due = false;
    uint64_t granted = 0;
    dt_err_t err;
    dt_err_init (&err);
    int rc = node_sync_push (self, body->result, &due, &granted, &err);
    if (rc)
        zsys_error ("node %s: replication stopped: %s", self->node, err.message);
    dt_err_reset (&err);
    *ack |= due;
    *credit += granted;
    return rc;
}

void
node_sync_recv (node_sync_t *self)
{
    //  One ack for every push taken in this round: fewer requests at the hub
    bool ack = false;
    uint64_t credit = 0;
    dt_err_t err;
    dt_err_init (&err);
    while (self->hub && (zsock_events (client_sock (self->hub)) & ZMQ_POLLIN)) {
        proto_reply_t body;
        int rc = client_recv (self->hub, 0, &body, &err);
        if (rc == 0) {
            rc = s_body (self, &body, &ack, &credit);
            //  Stamped after the durable apply: a slow disk is not a silent hub
            self->last_heard = zclock_mono ();
            if (rc == 0 && !self->connected)
                zsys_info ("node %s: replicating from the hub at %s (applied %" PRIu64 ")",
                           self->node, self->opts->endpoint, self->applied);
            self->connected = rc == 0;
            self->warned &= rc != 0;
        }
        else {
            zsys_warning ("node %s: bad body from the hub: %s", self->node, err.message);
            dt_err_reset (&err);
            rc = 0;
        }
        proto_reply_release (&body);
        if (rc) {
            //  Start over from what the replica durably holds, after the
            //  usual pause: a push that cannot be applied would come again
            client_destroy (&self->hub);
            return;
        }
    }
    if (ack && self->hub)
        s_ack (self, credit);
}

void
node_sync_tick (node_sync_t *self)
{
    if (!self->opts || zclock_mono () - self->last_heard < NODE_SYNC_SILENCE_MS)
        return;
    if (self->connected)
        zsys_warning ("node %s: no word from the hub for %d ms, reconnecting", self->node,
                      NODE_SYNC_SILENCE_MS);
    else
    if (!self->warned)
        zsys_warning ("node %s: no answer from the hub at %s yet, retrying (is it up, and "
                      "this node's key allowed there?)", self->node, self->opts->endpoint);
    self->warned = true;
    self->connected = false;
    s_connect (self);
}

//  Self-test: pushes built by hand, applied to a replica store

/* Pack one change map into pk; record NULL packs a deletion. */
static void
s_test_change (msgpack_packer *pk, uint64_t seq, const char *table, const char *key,
               const msgpack_sbuffer *record)
{
    msgpack_pack_map (pk, 5);
    proto_pack_key (pk, "seq");
    msgpack_pack_uint64 (pk, seq);
    proto_pack_key (pk, "table");
    proto_pack_str (pk, table);
    proto_pack_key (pk, "key");
    proto_pack_str (pk, key);
    proto_pack_key (pk, "value");
    if (record) {
        msgpack_pack_bin (pk, record->size);
        msgpack_pack_bin_body (pk, record->data, record->size);
    }
    else
        msgpack_pack_nil (pk);
    proto_pack_key (pk, "nodes");
    msgpack_pack_array (pk, 1);
    proto_pack_str (pk, "n1");
}

typedef struct {
    msgpack_sbuffer body;
    msgpack_packer pk;
    msgpack_sbuffer records [8];
    int nrecords;
} s_test_push_t;

static void
s_test_push_begin (s_test_push_t *self, const char *kind, uint32_t entries, uint64_t upto)
{
    memset (self, 0, sizeof (*self));
    msgpack_sbuffer_init (&self->body);
    msgpack_packer_init (&self->pk, &self->body, msgpack_sbuffer_write);
    msgpack_pack_map (&self->pk, 2 + (entries != UINT32_MAX) + (upto > 0));
    proto_pack_key (&self->pk, "v");
    msgpack_pack_uint32 (&self->pk, 1);
    proto_pack_key (&self->pk, "push");
    proto_pack_str (&self->pk, kind);
    if (upto) {
        proto_pack_key (&self->pk, "upto");
        msgpack_pack_uint64 (&self->pk, upto);
    }
    if (entries != UINT32_MAX) {
        proto_pack_key (&self->pk, "entries");
        msgpack_pack_array (&self->pk, entries);
    }
}

static msgpack_sbuffer *
s_test_record (s_test_push_t *self)
{
    assert (self->nrecords < 8);
    msgpack_sbuffer *record = &self->records [self->nrecords++];
    msgpack_sbuffer_init (record);
    return record;
}

static void
s_test_branch (s_test_push_t *self, uint64_t seq, const char *id, const char *node,
               uint32_t core, uint32_t halls)
{
    branch_t branch = { .core_seats = core, .halls = halls, .created = 1 };
    snprintf (branch.id, sizeof (branch.id), "%s", id);
    snprintf (branch.name, sizeof (branch.name), "分舵 %s", id);
    snprintf (branch.leader, sizeof (branch.leader), "o-1");
    snprintf (branch.node, sizeof (branch.node), "%s", node);
    msgpack_sbuffer *record = s_test_record (self);
    record_branch_encode (&branch, record);
    s_test_change (&self->pk, seq, "branch", id, record);
}

static void
s_test_hall (s_test_push_t *self, uint64_t seq, const char *id, const char *branch,
             uint32_t seats)
{
    hall_t hall = { .seats = seats, .created = 1 };
    snprintf (hall.id, sizeof (hall.id), "%s", id);
    snprintf (hall.name, sizeof (hall.name), "堂口 %s", id);
    snprintf (hall.branch, sizeof (hall.branch), "%s", branch);
    snprintf (hall.leader, sizeof (hall.leader), "m-lead");
    msgpack_sbuffer *record = s_test_record (self);
    record_hall_encode (&hall, record);
    s_test_change (&self->pk, seq, "hall", id, record);
}

static void
s_test_member (s_test_push_t *self, uint64_t seq, const char *id, seat_kind_t seat,
               const char *group, const char *branch)
{
    member_t member = { .seat = seat, .created = 1 };
    snprintf (member.id, sizeof (member.id), "%s", id);
    snprintf (member.name, sizeof (member.name), "会员 %s", id);
    snprintf (member.group, sizeof (member.group), "%s", group);
    snprintf (member.branch, sizeof (member.branch), "%s", branch);
    msgpack_sbuffer *record = s_test_record (self);
    record_member_encode (&member, record);
    s_test_change (&self->pk, seq, "member", id, record);
}

static void
s_test_key (s_test_push_t *self, uint64_t seq, const char *name)
{
    dt_key_t key = { .role = KEY_LEADER, .branches = { "b-1" }, .nbranches = 1 };
    snprintf (key.name, sizeof (key.name), "%s", name);
    snprintf (key.public_key, sizeof (key.public_key), "%s",
              "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    msgpack_sbuffer *record = s_test_record (self);
    record_key_encode (&key, record);
    s_test_change (&self->pk, seq, "key", name, record);
}

static void
s_test_policy (s_test_push_t *self, uint64_t seq, uint64_t version, uint32_t hall_cap)
{
    policy_t policy;
    policy_defaults (&policy);
    policy.version = version;
    policy.hall_cap = hall_cap;
    msgpack_sbuffer *record = s_test_record (self);
    policy_encode (&policy, record);
    s_test_change (&self->pk, seq, "policy", POLICY_KEY, record);
}

/* The version of the policy the replica holds (0: none, the defaults). */
static uint64_t
s_test_policy_version (store_t *store)
{
    store_txn_t txn;
    dt_err_t err;
    dt_err_init (&err);
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    policy_t policy;
    assert (policy_get (&txn, &policy, &err) == 0);
    store_abort (&txn);
    return policy.version;
}

/* Feed the push to node_sync_push; return its result code. */
static int
s_test_push_run (s_test_push_t *self, node_sync_t *sync, bool *ack, uint64_t *credit)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, self->body.data, self->body.size, NULL)
            == MSGPACK_UNPACK_SUCCESS);
    dt_err_t err;
    dt_err_init (&err);
    int rc = node_sync_push (sync, &unpacked.data, ack, credit, &err);
    msgpack_unpacked_destroy (&unpacked);
    dt_err_reset (&err);
    return rc;
}

static void
s_test_push_end (s_test_push_t *self)
{
    for (int i = 0; i < self->nrecords; i++)
        msgpack_sbuffer_destroy (&self->records [i]);
    msgpack_sbuffer_destroy (&self->body);
}

/* Which of the ids exist in the replica, as a string of 0/1 per id. */
static void
s_test_expect (store_t *store, const char *table, const char *ids, const char *present)
{
    store_txn_t txn;
    dt_err_t err;
    dt_err_init (&err);
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    char copy [256];
    snprintf (copy, sizeof (copy), "%s", ids);
    int i = 0;
    for (char *save = NULL, *id = strtok_r (copy, " ", &save); id;
         id = strtok_r (NULL, " ", &save), i++) {
        const void *val;
        size_t size;
        store_table_t tbl = streq (table, "branch")? TBL_BRANCH:
                            streq (table, "hall")? TBL_HALL:
                            streq (table, "key")? TBL_KEY:
                            streq (table, "policy")? TBL_POLICY: TBL_MEMBER;
        int found = store_get (&txn, tbl, id, strlen (id), &val, &size, &err);
        if ((found == 0) != (present [i] == '1'))
            printf ("\n%s %s: expected %s\n", table, id, present [i] == '1'? "present": "absent");
        assert ((found == 0) == (present [i] == '1'));
    }
    store_abort (&txn);
}

static uint64_t
s_test_seats (store_t *store, seat_kind_t kind, const char *group)
{
    store_txn_t txn;
    dt_err_t err;
    dt_err_init (&err);
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    zlistx_t *ids = tree_seat_ids (&txn, kind, group, &err);
    assert (ids);
    uint64_t count = zlistx_size (ids);
    zlistx_destroy (&ids);
    store_abort (&txn);
    return count;
}

void
node_sync_test (bool verbose)
{
    (void) verbose;
    char dir [] = "/tmp/duotang-node-sync-test-XXXXXX";
    assert (mkdtemp (dir));
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = store_new (dir, 64, &err);
    assert (store);
    node_sync_t *sync = node_sync_new (store, "n1", NULL);
    assert (node_sync_applied (sync) == 0 && node_sync_sock (sync) == NULL);
    bool ack;
    uint64_t credit;

    //  A changes push: our branch with a hall and members, another node's
    //  branch with a member; entries not meant for us are skipped by upto
    s_test_push_t push;
    s_test_push_begin (&push, "changes", 6, 20);
    s_test_branch (&push, 3, "b-1", "n1", 1, 1);
    s_test_member (&push, 4, "m-lead", SEAT_CORE, "b-1", "b-1");
    s_test_hall (&push, 5, "h-1", "b-1", 2);
    s_test_member (&push, 6, "m-1", SEAT_HALL, "h-1", "b-1");
    s_test_branch (&push, 7, "b-2", "n2", 1, 0);
    s_test_member (&push, 8, "m-2", SEAT_CORE, "b-2", "b-2");
    assert (s_test_push_run (&push, sync, &ack, &credit) == 0);
    assert (ack && credit == 6 && node_sync_applied (sync) == 20);
    s_test_expect (store, "branch", "b-1 b-2", "10");
    s_test_expect (store, "member", "m-lead m-1 m-2", "110");
    s_test_expect (store, "hall", "h-1", "1");
    assert (s_test_seats (store, SEAT_HALL, "h-1") == 1);
    //  Branches decide which leader keys the node admits
    assert (node_sync_admission_changed (sync) && !node_sync_admission_changed (sync));

    //  m-1 leaves: the member is deleted from the replica
    s_test_push_t leave;
    s_test_push_begin (&leave, "changes", 2, 22);
    s_test_member (&leave, 21, "m-1", SEAT_NONE, "", "");
    s_test_hall (&leave, 22, "h-1", "b-1", 0);
    assert (s_test_push_run (&leave, sync, &ack, &credit) == 0 && credit == 2);
    s_test_expect (store, "member", "m-1", "0");
    assert (s_test_seats (store, SEAT_HALL, "h-1") == 0);
    assert (!node_sync_admission_changed (sync));

    //  Key records are kept whole, and change who may connect; so is the
    //  policy, whatever branches the node serves
    s_test_push_t keys;
    s_test_push_begin (&keys, "changes", 2, 24);
    s_test_key (&keys, 23, "lk");
    s_test_policy (&keys, 24, 5, 2);
    assert (s_test_push_run (&keys, sync, &ack, &credit) == 0 && credit == 2);
    s_test_expect (store, "key", "lk", "1");
    assert (s_test_policy_version (store) == 5);
    assert (node_sync_admission_changed (sync));
    s_test_push_end (&keys);

    //  Redelivering the first push (a reconnect) changes nothing: m-1 stays gone
    assert (s_test_push_run (&push, sync, &ack, &credit) == 0);
    assert (ack && credit == 6 && node_sync_applied (sync) == 24);
    s_test_expect (store, "member", "m-lead m-1", "10");
    s_test_push_end (&push);

    //  A push overlapping what was applied applies only the new entries
    s_test_push_t overlap;
    s_test_push_begin (&overlap, "changes", 2, 30);
    s_test_member (&overlap, 21, "m-1", SEAT_HALL, "h-1", "b-1");
    s_test_member (&overlap, 25, "m-3", SEAT_CORE, "b-1", "b-1");
    assert (s_test_push_run (&overlap, sync, &ack, &credit) == 0);
    s_test_expect (store, "member", "m-1 m-3", "01");
    assert (node_sync_applied (sync) == 30);
    s_test_push_end (&overlap);
    s_test_push_end (&leave);

    //  A damaged change fails the whole push: nothing applied, applied kept
    s_test_push_t bad;
    s_test_push_begin (&bad, "changes", 2, 40);
    s_test_member (&bad, 31, "m-4", SEAT_CORE, "b-1", "b-1");
    msgpack_pack_map (&bad.pk, 1);
    proto_pack_key (&bad.pk, "seq");
    msgpack_pack_uint64 (&bad.pk, 32);
    assert (s_test_push_run (&bad, sync, &ack, &credit) == -1);
    s_test_expect (store, "member", "m-4", "0");
    assert (node_sync_applied (sync) == 30);
    s_test_push_end (&bad);

    //  A snapshot replaces the replica: b-1 is gone, b-3 arrives; a stray
    //  record (no branch) is wiped too
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    assert (store_put (&txn, TBL_MEMBER, "stray", 5, "\x80", 1, &err) == 0);
    assert (store_commit (&txn, &err) == 0);
    s_test_push_t begin, records, end;
    s_test_push_begin (&begin, "snapshot_begin", UINT32_MAX, 100);
    assert (s_test_push_run (&begin, sync, &ack, &credit) == 0 && !ack);
    s_test_push_begin (&records, "snapshot", 3, 0);
    s_test_branch (&records, 100, "b-3", "n1", 1, 1);
    s_test_hall (&records, 100, "h-3", "b-3", 0);
    s_test_member (&records, 100, "m-5", SEAT_CORE, "b-3", "b-3");
    assert (s_test_push_run (&records, sync, &ack, &credit) == 0 && !ack);
    //  Nothing shows before the snapshot ends
    s_test_expect (store, "branch", "b-1 b-3", "10");
    s_test_push_begin (&end, "snapshot_end", UINT32_MAX, 100);
    assert (s_test_push_run (&end, sync, &ack, &credit) == 0 && ack && credit == 0);
    assert (node_sync_applied (sync) == 100);
    s_test_expect (store, "branch", "b-1 b-2 b-3", "001");
    s_test_expect (store, "hall", "h-1 h-3", "01");
    s_test_expect (store, "member", "m-lead m-3 m-5 stray", "0010");
    s_test_expect (store, "key", "lk", "0");
    s_test_expect (store, "policy", POLICY_KEY, "0");
    assert (s_test_policy_version (store) == 0);
    assert (node_sync_admission_changed (sync));
    assert (s_test_seats (store, SEAT_CORE, "b-1") == 0);
    assert (s_test_seats (store, SEAT_CORE, "b-3") == 1);
    //  snapshot_end without a snapshot is refused; a heartbeat is acked
    assert (s_test_push_run (&end, sync, &ack, &credit) == -1);
    s_test_push_end (&begin);
    s_test_push_end (&records);
    s_test_push_end (&end);
    s_test_push_t beat;
    s_test_push_begin (&beat, "heartbeat", UINT32_MAX, 0);
    assert (s_test_push_run (&beat, sync, &ack, &credit) == 0 && ack && credit == 0);
    s_test_push_end (&beat);

    //  applied is durable: a new session starts from it
    node_sync_destroy (&sync);
    sync = node_sync_new (store, "n1", NULL);
    assert (node_sync_applied (sync) == 100);
    node_sync_destroy (&sync);
    store_destroy (&store);
    store_remove (dir);
    dt_err_reset (&err);
}

/* hub_sync.c -- replication sessions: credit-based push of the change log to nodes. */
#include "hub_sync.h"
#include "policy.h"

typedef struct {
    zframe_t *peer;                 /* routing id */
    char key_z85 [41];
    dt_id_t node;
    uint64_t sent_upto;             /* highest log seq the node has been sent */
    uint64_t credit;                /* entries the node still accepts */
    bool owes_snapshot;
    int64_t last_seen;
    int64_t last_push;
} s_session_t;

struct _hub_sync_t {
    store_t *store;
    zsock_t *router;                /* borrowed */
    zhashx_t *sessions;             /* peer hex -> s_session_t */
    zhashx_t *nodes;                /* node id -> hub_node_state_t */
};

static void
s_session_destroy (s_session_t **self_p)
{
    if (*self_p) {
        zframe_destroy (&(*self_p)->peer);
        free (*self_p);
        *self_p = NULL;
    }
}

hub_sync_t *
hub_sync_new (store_t *store, zsock_t *router)
{
    hub_sync_t *self = (hub_sync_t *) zmalloc (sizeof (hub_sync_t));
    self->store = store;
    self->router = router;
    self->sessions = zhashx_new ();
    zhashx_set_destructor (self->sessions, (zhashx_destructor_fn *) s_session_destroy);
    self->nodes = zhashx_new ();
    zhashx_set_destructor (self->nodes, (zhashx_destructor_fn *) zstr_free);
    return self;
}

void
hub_sync_destroy (hub_sync_t **self_p)
{
    assert (self_p);
    hub_sync_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->sessions);
        zhashx_destroy (&self->nodes);
        free (self);
        *self_p = NULL;
    }
}

static hub_node_state_t *
s_node_state (hub_sync_t *self, const char *node)
{
    hub_node_state_t *state = zhashx_lookup (self->nodes, node);
    if (!state) {
        state = (hub_node_state_t *) zmalloc (sizeof (hub_node_state_t));
        zhashx_insert (self->nodes, node, state);
    }
    return state;
}

//  Sending

static void
s_send (hub_sync_t *self, s_session_t *session, msgpack_sbuffer *body)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *) { zframe_dup (session->peer) });
    zmsg_addmem (msg, NULL, 0);
    zmsg_addmem (msg, body->data, body->size);
    zmsg_send (&msg, self->router);
    session->last_push = dt_now_ms ();
}

/* Start a push body: { v, push, <extra keys follow> } with nkeys more keys. */
static void
s_push_begin (msgpack_packer *pk, const char *push, int nkeys)
{
    msgpack_pack_map (pk, 2 + nkeys);
    proto_pack_key (pk, "v");
    msgpack_pack_uint32 (pk, DT_PROTO_VERSION);
    proto_pack_key (pk, "push");
    proto_pack_str (pk, push);
}

/* Send a push carrying `count` entries (their raw bytes in entries), with
   "upto" when upto > 0. */
static void
s_send_entries (hub_sync_t *self, s_session_t *session, const char *push,
                msgpack_sbuffer *entries, uint32_t count, uint64_t upto)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    s_push_begin (&pk, push, upto? 2: 1);
    proto_pack_key (&pk, "entries");
    msgpack_pack_array (&pk, count);
    msgpack_sbuffer_write (&body, entries->data, entries->size);
    if (upto) {
        proto_pack_key (&pk, "upto");
        msgpack_pack_uint64 (&pk, upto);
    }
    s_send (self, session, &body);
    msgpack_sbuffer_destroy (&body);
}

static void
s_send_marker (hub_sync_t *self, s_session_t *session, const char *push, const char *key,
               uint64_t value)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    s_push_begin (&pk, push, 1);
    proto_pack_key (&pk, key);
    msgpack_pack_uint64 (&pk, value);
    s_send (self, session, &body);
    msgpack_sbuffer_destroy (&body);
}

//  The log stream

typedef struct {
    const char *node;
    msgpack_sbuffer entries;        /* raw change maps meant for the node */
    uint32_t count, limit;
    uint64_t upto;                  /* last seq looked at */
    uint32_t scanned, scan_limit;
    bool at_end;                    /* the last entry looked at ends a hub commit */
    msgpack_unpacked unpacked;
} s_batch_t;

/* True if the msgpack str obj is the string s. */
static bool
s_str_is (const msgpack_object *obj, const char *s)
{
    size_t len = strlen (s);
    return obj->type == MSGPACK_OBJECT_STR && obj->via.str.size == len
        && memcmp (obj->via.str.ptr, s, len) == 0;
}

/* True if a change names node, or every node ("*"), in its "nodes" array.
   Notes whether it is the last change of a hub commit. */
static bool
s_meant_for (s_batch_t *batch, const void *val, size_t size)
{
    batch->at_end = false;
    if (msgpack_unpack_next (&batch->unpacked, val, size, NULL) != MSGPACK_UNPACK_SUCCESS)
        return false;
    const msgpack_object *end = proto_map_get (&batch->unpacked.data, "end");
    batch->at_end = end && end->type == MSGPACK_OBJECT_BOOLEAN && end->via.boolean;
    const msgpack_object *nodes = proto_map_get (&batch->unpacked.data, "nodes");
    if (!nodes || nodes->type != MSGPACK_OBJECT_ARRAY)
        return false;
    for (uint32_t i = 0; i < nodes->via.array.size; i++)
        if (s_str_is (&nodes->via.array.ptr [i], batch->node)
        ||  s_str_is (&nodes->via.array.ptr [i], STORE_NODES_ALL))
            return true;
    return false;
}

static int
s_collect (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    s_batch_t *batch = arg;
    //  A push ends where a hub commit ends, so that a replica never shows half
    //  of one; a commit larger than HUB_SYNC_OVERSHOOT is cut all the same
    bool full = batch->count >= batch->limit || batch->scanned >= batch->scan_limit;
    bool past = batch->count >= batch->limit + HUB_SYNC_OVERSHOOT
             || batch->scanned >= batch->scan_limit + HUB_SYNC_OVERSHOOT;
    if ((full && batch->at_end) || past || key_size != 8)
        return 1;
    batch->scanned++;
    batch->upto = store_seq_from_key (key);
    if (s_meant_for (batch, val, val_size)) {
        msgpack_sbuffer_write (&batch->entries, val, val_size);
        batch->count++;
    }
    return 0;
}

/* Send one push of log entries if credit allows; true if something was sent. */
static bool
s_pump_log (hub_sync_t *self, s_session_t *session, store_txn_t *txn)
{
    uint64_t head = store_log_head (txn);
    if (session->sent_upto >= head || session->credit == 0)
        return false;
    s_batch_t batch = { .node = session->node, .upto = session->sent_upto,
                        .limit = session->credit < HUB_SYNC_BATCH? session->credit:
                                 HUB_SYNC_BATCH,
                        .scan_limit = 20 * HUB_SYNC_BATCH };
    msgpack_sbuffer_init (&batch.entries);
    msgpack_unpacked_init (&batch.unpacked);
    uint8_t from [8];
    store_seq_key (session->sent_upto + 1, from);
    dt_err_t err;
    dt_err_init (&err);
    store_scan (txn, TBL_LOG, NULL, 0, from, 8, s_collect, &batch, &err);
    if (batch.upto > session->sent_upto) {
        s_send_entries (self, session, "changes", &batch.entries, batch.count, batch.upto);
        session->sent_upto = batch.upto;
        session->credit -= batch.count < session->credit? batch.count: session->credit;
    }
    msgpack_unpacked_destroy (&batch.unpacked);
    msgpack_sbuffer_destroy (&batch.entries);
    return batch.count > 0 || batch.upto < head;
}

//  Snapshots

typedef struct {
    hub_sync_t *self;
    s_session_t *session;
    msgpack_sbuffer entries;
    uint32_t count;
    uint64_t upto;
} s_snapshot_t;

static void
s_snapshot_flush (s_snapshot_t *snap)
{
    if (snap->count == 0)
        return;
    s_send_entries (snap->self, snap->session, "snapshot", &snap->entries, snap->count, 0);
    msgpack_sbuffer_clear (&snap->entries);
    snap->count = 0;
}

static int
s_snapshot_record (store_table_t table, const char *key, const void *val, size_t val_size,
                   void *arg)
{
    s_snapshot_t *snap = arg;
    msgpack_packer pk;
    msgpack_packer_init (&pk, &snap->entries, msgpack_sbuffer_write);
    const char *nodes [1] = { snap->session->node };
    store_change_pack (&pk, snap->upto, dt_now_ms (), store_table_name (table), key, val,
                       val_size, "", nodes, 1);
    if (++snap->count == HUB_SYNC_BATCH)
        s_snapshot_flush (snap);
    return 0;
}

typedef struct {
    s_snapshot_t *snap;
    store_txn_t *txn;
    dt_err_t *err;
} s_branch_walk_t;

static int
s_snapshot_branch (const branch_t *branch, void *arg)
{
    s_branch_walk_t *walk = arg;
    if (!streq (branch->node, walk->snap->session->node))
        return 0;
    return tree_branch_records (walk->txn, branch->id, s_snapshot_record, walk->snap, walk->err);
}

/* Every node holds every key record: it admits its local clients by them. */
static int
s_snapshot_key (const void *key, size_t key_size, const void *val, size_t val_size,
                void *arg)
{
    char name [DT_ID_MAX + 1];
    if (key_size > DT_ID_MAX)
        return 0;
    memcpy (name, key, key_size);
    name [key_size] = 0;
    return s_snapshot_record (TBL_KEY, name, val, val_size, arg);
}

/* The policy too, when one was ever set: every node holds it, whatever
   branches it serves. */
static int
s_snapshot_policy (s_snapshot_t *snap, store_txn_t *txn, dt_err_t *err)
{
    const void *val = NULL;
    size_t size = 0;
    int rc = store_get (txn, TBL_POLICY, POLICY_KEY, strlen (POLICY_KEY), &val, &size, err);
    if (rc)
        return rc == 1? 0: -1;
    return s_snapshot_record (TBL_POLICY, POLICY_KEY, val, size, snap);
}

/* Send every record of the node's branches, every key and the policy, then
   go on from the log head. */
static void
s_pump_snapshot (hub_sync_t *self, s_session_t *session, store_txn_t *txn)
{
    s_snapshot_t snap = { .self = self, .session = session, .upto = store_log_head (txn) };
    msgpack_sbuffer_init (&snap.entries);
    dt_err_t err;
    dt_err_init (&err);
    s_send_marker (self, session, "snapshot_begin", "upto", snap.upto);
    s_branch_walk_t walk = { &snap, txn, &err };
    tree_branch_visit (txn, s_snapshot_branch, &walk, &err);
    store_scan (txn, TBL_KEY, NULL, 0, NULL, 0, s_snapshot_key, &snap, &err);
    s_snapshot_policy (&snap, txn, &err);
    s_snapshot_flush (&snap);
    s_send_marker (self, session, "snapshot_end", "upto", snap.upto);
    msgpack_sbuffer_destroy (&snap.entries);
    session->sent_upto = snap.upto;
    session->owes_snapshot = false;
}

//  Sessions

/* End the sessions of a node, or of a key (collected first: no deletes while
   iterating). */
static void
s_drop_where (hub_sync_t *self, const char *node, const char *key_z85)
{
    zlist_t *gone = zlist_new ();
    for (s_session_t *session = zhashx_first (self->sessions); session;
         session = zhashx_next (self->sessions))
        if ((node && streq (session->node, node))
        ||  (key_z85 && streq (session->key_z85, key_z85)))
            zlist_append (gone, (void *) zhashx_cursor (self->sessions));
    for (const char *key = zlist_first (gone); key; key = zlist_next (gone))
        zhashx_delete (self->sessions, key);
    zlist_destroy (&gone);
}

int
hub_sync_hello (hub_sync_t *self, zframe_t *peer, const char *key_z85, const char *node,
                uint64_t from, uint64_t credit, store_txn_t *txn, msgpack_packer *pk,
                dt_err_t *err)
{
    //  A node has one session: a reconnect replaces the old one
    s_drop_where (self, node, NULL);
    char *hex = zframe_strhex (peer);
    s_session_t *session = (s_session_t *) zmalloc (sizeof (s_session_t));
    session->peer = zframe_dup (peer);
    snprintf (session->key_z85, sizeof (session->key_z85), "%s", key_z85);
    snprintf (session->node, sizeof (session->node), "%s", node);
    uint64_t head = store_log_head (txn), first = store_log_first (txn);
    session->owes_snapshot = from > head || (first > 0 && from + 1 < first);
    session->sent_upto = session->owes_snapshot? 0: from;
    session->credit = credit;
    session->last_seen = dt_now_ms ();
    zhashx_update (self->sessions, hex, session);
    free (hex);
    hub_node_state_t *state = s_node_state (self, node);
    state->applied = from;
    state->last_seen = session->last_seen;
    msgpack_pack_map (pk, 2);
    proto_pack_key (pk, "head");
    msgpack_pack_uint64 (pk, head);
    proto_pack_key (pk, "snapshot");
    if (session->owes_snapshot)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    (void) err;
    return 0;
}

void
hub_sync_ack (hub_sync_t *self, zframe_t *peer, uint64_t applied, uint64_t credit,
              uint64_t outbox)
{
    char *hex = zframe_strhex (peer);
    s_session_t *session = zhashx_lookup (self->sessions, hex);
    free (hex);
    if (!session)
        return;
    session->credit += credit;
    if (session->credit > 1000000)
        session->credit = 1000000;
    session->last_seen = dt_now_ms ();
    hub_node_state_t *state = s_node_state (self, session->node);
    state->applied = applied;
    state->outbox = outbox;
    state->last_seen = session->last_seen;
}

void
hub_sync_pump (hub_sync_t *self)
{
    if (zhashx_size (self->sessions) == 0)
        return;
    store_txn_t txn;
    dt_err_t err;
    dt_err_init (&err);
    if (store_begin (self->store, &txn, NULL, false, &err))
        return;
    int64_t now = dt_now_ms ();
    zlist_t *expired = zlist_new ();
    for (s_session_t *session = zhashx_first (self->sessions); session;
         session = zhashx_next (self->sessions)) {
        if (now - session->last_seen > HUB_SYNC_EXPIRY_MS) {
            zlist_append (expired, (void *) zhashx_cursor (self->sessions));
            continue;
        }
        uint64_t first = store_log_first (&txn);
        if (!session->owes_snapshot && first > 0 && session->sent_upto + 1 < first)
            session->owes_snapshot = true;       /* fell behind the retained log */
        if (session->owes_snapshot)
            s_pump_snapshot (self, session, &txn);
        //  A few pushes per session per round, so no node starves the others
        for (int round = 0; round < 4 && s_pump_log (self, session, &txn); round++)
            ;
        if (now - session->last_push >= HUB_SYNC_HEARTBEAT_MS)
            s_send_marker (self, session, "heartbeat", "head", store_log_head (&txn));
    }
    for (const char *key = zlist_first (expired); key; key = zlist_next (expired))
        zhashx_delete (self->sessions, key);
    zlist_destroy (&expired);
    store_abort (&txn);
}

void
hub_sync_revoke (hub_sync_t *self, const char *key_z85)
{
    s_drop_where (self, NULL, key_z85);
}

void
hub_sync_state (hub_sync_t *self, const char *node, hub_node_state_t *out)
{
    memset (out, 0, sizeof (*out));
    hub_node_state_t *state = zhashx_lookup (self->nodes, node);
    if (state)
        *out = *state;
    out->connected = false;
    for (s_session_t *session = zhashx_first (self->sessions); session;
         session = zhashx_next (self->sessions))
        if (streq (session->node, node))
            out->connected = dt_now_ms () - session->last_seen <= HUB_SYNC_EXPIRY_MS;
}

//  Self-test

/* Receive one push on the node side. The push's strings point into the
   message, which *kept holds until the next receive. */
static void
s_test_recv (zsock_t *node, proto_reply_t *push, zmsg_t **kept)
{
    dt_err_t err;
    dt_err_init (&err);
    zmsg_destroy (kept);
    *kept = zmsg_recv (node);
    assert (*kept && zmsg_size (*kept) == 2);
    zframe_t *body = zmsg_last (*kept);
    assert (proto_reply_decode (push, zframe_data (body), zframe_size (body), &err) == 0);
}

static uint64_t
s_test_uint (const proto_reply_t *push, const char *key)
{
    const msgpack_object *obj = proto_map_get (push->result, key);
    assert (obj && obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
    return obj->via.u64;
}

static uint32_t
s_test_entries (const proto_reply_t *push)
{
    const msgpack_object *entries = proto_map_get (push->result, "entries");
    assert (entries && entries->type == MSGPACK_OBJECT_ARRAY);
    return entries->via.array.size;
}

/* One commit of `count` hall changes meant for node, marked at its end. */
static void
s_test_commit (store_t *store, const char *node, int count)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    txn.log = true;
    uint64_t head = store_log_head (&txn);
    store_scope_t scope = { .branch = "b-1", .nodes = { node }, .nnodes = 1 };
    for (int i = 0; i < count; i++)
        assert (store_record_put (&txn, TBL_HALL, "h-1", "\x80", 1, &scope, &err) == 0);
    assert (store_log_mark_end (&txn, head, &err) == 0);
    assert (store_commit (&txn, &err) == 0);
}

/* Start n1's session on peer, from `from` with `credit`. */
static void
s_test_hello (hub_sync_t *sync, store_t *store, zframe_t *peer, uint64_t from,
              uint64_t credit)
{
    dt_err_t err;
    dt_err_init (&err);
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &result, msgpack_sbuffer_write);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    assert (hub_sync_hello (sync, peer, "", "n1", from, credit, &txn, &pk, &err) == 0);
    store_abort (&txn);
    msgpack_sbuffer_destroy (&result);
}

void
hub_sync_test (bool verbose)
{
    (void) verbose;
    char dir [] = "/tmp/duotang-sync-test-XXXXXX";
    assert (mkdtemp (dir));
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = store_new (dir, 16, &err);
    assert (store);
    zsock_t *router = zsock_new_router ("inproc://hub-sync-test");
    zsock_t *node = zsock_new_dealer ("inproc://hub-sync-test");
    assert (router && node);
    hub_sync_t *sync = hub_sync_new (store, router);
    s_test_commit (store, "n1", 5);             /* seq 1..5, for n1 */
    s_test_commit (store, "n2", 2);             /* seq 6..7, for n2 only */

    //  The node's routing id, as the hub sees it
    zstr_sendx (node, "", "x", NULL);
    zmsg_t *hello = zmsg_recv (router);
    zframe_t *peer = zmsg_first (hello);
    s_test_hello (sync, store, peer, 0, 2);

    //  Credit 2, but a push ends where the commit ends: all five, upto 5
    hub_sync_pump (sync);
    proto_reply_t push;
    zmsg_t *kept = NULL;
    s_test_recv (node, &push, &kept);
    assert (streq (push.push, "changes") && s_test_entries (&push) == 5);
    assert (s_test_uint (&push, "upto") == 5);
    proto_reply_release (&push);
    //  No credit left: nothing more until the node acks
    hub_sync_pump (sync);
    assert (!(zsock_events (node) & ZMQ_POLLIN));
    hub_node_state_t state;
    hub_sync_ack (sync, peer, 5, 10, 3);
    hub_sync_state (sync, "n1", &state);
    assert (state.connected && state.applied == 5 && state.outbox == 3);
    //  n2's commit is skipped but still advances upto
    hub_sync_pump (sync);
    s_test_recv (node, &push, &kept);
    assert (s_test_entries (&push) == 0 && s_test_uint (&push, "upto") == 7);
    proto_reply_release (&push);

    //  A node behind the retained log gets a snapshot, then goes on from upto
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    branch_t branch = { .id = "b-1", .name = "成都分舵", .leader = "o-1", .node = "n1" };
    assert (tree_branch_put (&txn, &branch, &err) == 0);
    policy_t policy;
    policy_defaults (&policy);
    policy.version = 3;
    assert (policy_put (&txn, &policy, &err) == 0);
    assert (store_log_trim (&txn, 2, &err) == 0);
    assert (store_commit (&txn, &err) == 0);
    s_test_hello (sync, store, peer, 1, 100);
    hub_sync_pump (sync);
    const char *expect [] = { "snapshot_begin", "snapshot", "snapshot_end" };
    for (int i = 0; i < 3; i++) {
        s_test_recv (node, &push, &kept);
        assert (streq (push.push, expect [i]));
        //  The branch, then the policy
        if (i == 1) {
            assert (s_test_entries (&push) == 2);
            const msgpack_object *entries = proto_map_get (push.result, "entries");
            const msgpack_object *last = &entries->via.array.ptr [1];
            char table [16];
            assert (proto_obj_str (proto_map_get (last, "table"), table, sizeof (table) - 1)
                    && streq (table, "policy"));
        }
        proto_reply_release (&push);
    }
    //  Revoking the session's key ends it
    hub_sync_revoke (sync, "");
    hub_sync_state (sync, "n1", &state);
    assert (!state.connected);

    zmsg_destroy (&kept);
    zmsg_destroy (&hello);
    hub_sync_destroy (&sync);
    zsock_destroy (&node);
    zsock_destroy (&router);
    store_destroy (&store);
    store_remove (dir);
}

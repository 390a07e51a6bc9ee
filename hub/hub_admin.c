/* hub_admin.c -- session, key, node and replication operations of the hub. */
#include "hub_ops.h"
#include "hub_keys.h"
#include "hub_sync.h"
#include "uplink.h"
#include "page.h"

/* Collect the branch ids served by a node. */
typedef struct {
    const char *node;
    zlistx_t *ids;
} s_node_branches_t;

static int
s_collect_node_branch (const branch_t *branch, void *arg)
{
    s_node_branches_t *self = arg;
    if (streq (branch->node, self->node))
        zlistx_add_end (self->ids, (void *) branch->id);
    return 0;
}

static void
s_pack_node_branches (op_ctx_t *ctx, msgpack_packer *pk, const char *node)
{
    s_node_branches_t walk = { node, zlistx_new () };
    zlistx_set_duplicator (walk.ids, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor (walk.ids, (zlistx_destructor_fn *) zstr_free);
    tree_branch_visit (ctx->txn, s_collect_node_branch, &walk, ctx->err);
    msgpack_pack_array (pk, zlistx_size (walk.ids));
    for (char *id = zlistx_first (walk.ids); id; id = zlistx_next (walk.ids))
        proto_pack_str (pk, id);
    zlistx_destroy (&walk.ids);
}

/* HELLO [versions] */
static int
s_hello (op_ctx_t *ctx, const msgpack_object *args)
{
    //  The key's branches: a node key's are those assigned to its node
    const dt_key_t *key = ctx->key;
    s_node_branches_t walk = { key->node, zlistx_new () };
    zlistx_set_duplicator (walk.ids, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor (walk.ids, (zlistx_destructor_fn *) zstr_free);
    int rc = 0;
    if (key->role == KEY_NODE)
        rc = tree_branch_visit (ctx->txn, s_collect_node_branch, &walk, ctx->err);
    else
        for (uint32_t i = 0; i < key->nbranches; i++)
            zlistx_add_end (walk.ids, (void *) key->branches [i]);
    if (rc == 0)
        rc = op_hello (ctx, args, "duotang-hub " DT_VERSION, key->node, walk.ids, 0);
    zlistx_destroy (&walk.ids);
    return rc;
}

//  Keys

static int
s_key_get (op_ctx_t *ctx, const char *name, dt_key_t *key)
{
    const void *val = NULL;
    size_t size = 0;
    int found = store_get (ctx->txn, TBL_KEY, name, strlen (name), &val, &size, ctx->err);
    if (found == 0 && record_key_decode (key, val, size))
        return dt_err_set (ctx->err, "INTERNAL", "stored key %s is damaged", name);
    return found;
}

static int
s_key_put (op_ctx_t *ctx, const dt_key_t *key)
{
    int rc = tree_key_put (ctx->txn, key, ctx->err);
    if (rc == 0 && ctx->server)
        hub_keys_changed (hub_keys (ctx->server));
    if (rc == 0)
        record_key_pack (key, ctx->pk);
    return rc;
}

/* Fill the role-specific scope of a new key from node / branches args. */
static int
s_key_scope (op_ctx_t *ctx, const msgpack_object *args, dt_key_t *key)
{
    int has_node = proto_arg_id (args, "node", key->role == KEY_NODE, key->node, ctx->err);
    const msgpack_object *branches = NULL;
    int has_branches = proto_arg_array (args, "branches", key->role == KEY_LEADER, &branches,
                                        ctx->err);
    if (has_node < 0 || has_branches < 0)
        return -1;
    if (key->role != KEY_NODE && has_node)
        return dt_err_set (ctx->err, "BAD_ARGS", "only a node key is bound to a node");
    if (key->role != KEY_LEADER && has_branches)
        return dt_err_set (ctx->err, "BAD_ARGS", "only a leader key is bound to branches");
    if (has_node) {
        const void *val = NULL;
        size_t size = 0;
        if (store_get (ctx->txn, TBL_NODE, key->node, strlen (key->node), &val, &size,
                       ctx->err))
            return dt_err_is_set (ctx->err)? -1:
                   dt_err_set (ctx->err, "NOT_FOUND", "unknown node %s", key->node);
    }
    if (has_branches && branches->via.array.size > KEY_BRANCHES_MAX)
        return dt_err_set (ctx->err, "TOO_LARGE", "a key names at most %d branches",
                           KEY_BRANCHES_MAX);
    for (uint32_t i = 0; has_branches && i < branches->via.array.size; i++) {
        branch_t branch;
        if (!proto_obj_str (&branches->via.array.ptr [i], key->branches [i], DT_ID_MAX + 1)
        ||  !dt_id_valid (key->branches [i], strlen (key->branches [i])))
            return dt_err_set (ctx->err, "BAD_ARGS", "branches[%u] is not an id", i);
        if (tree_branch_need (ctx->txn, key->branches [i], &branch, ctx->err))
            return -1;
        key->nbranches++;
    }
    return 0;
}

/* KEY ALLOW name public_key role [node] [branches] */
static int
s_key_allow (op_ctx_t *ctx, const msgpack_object *args)
{
    dt_key_t key = { .created = ctx->now }, old;
    char role [16];
    uint8_t raw [32];
    if (proto_arg_id (args, "name", true, key.name, ctx->err) < 0
    ||  proto_arg_str (args, "public_key", true, key.public_key, sizeof (key.public_key),
                       ctx->err) < 0
    ||  proto_arg_str (args, "role", true, role, sizeof (role), ctx->err) < 0)
        return -1;
    if (strlen (key.public_key) != 40 || !zmq_z85_decode (raw, key.public_key))
        return dt_err_set (ctx->err, "BAD_ARGS", "public_key must be 40 characters of Z85");
    if (record_key_role_parse (role, &key.role))
        return dt_err_set (ctx->err, "BAD_ARGS", "role must be hq-admin, node or leader");
    if (s_key_scope (ctx, args, &key))
        return -1;
    int found = s_key_get (ctx, key.name, &old);
    if (found < 0)
        return -1;
    if (found == 0)
        return dt_err_set (ctx->err, "EXISTS", "key %s exists%s; allow the new key under a "
                           "new name, then revoke the old one", key.name,
                           old.revoked? " (revoked)": "");
    if (ctx->server && hub_keys_find (hub_keys (ctx->server), key.public_key))
        return dt_err_set (ctx->err, "EXISTS", "this public key is already registered as %s",
                           hub_keys_find (hub_keys (ctx->server), key.public_key)->name);
    return s_key_put (ctx, &key);
}

/* KEY REVOKE name */
static int
s_key_revoke (op_ctx_t *ctx, const msgpack_object *args)
{
    dt_key_t key;
    dt_id_t name;
    if (proto_arg_id (args, "name", true, name, ctx->err) < 0)
        return -1;
    int found = s_key_get (ctx, name, &key);
    if (found)
        return found < 0? -1: dt_err_set (ctx->err, "NOT_FOUND", "unknown key %s", name);
    if (key.revoked)
        return dt_err_set (ctx->err, "RULE", "key %s is already revoked", name);
    key.revoked = true;
    return s_key_put (ctx, &key);
}

/* A page of a table's records in key order (PROTOCOL.md 6.0). */
typedef struct {
    op_ctx_t *ctx;
    page_t page;
} s_lister_t;

/* Open a page of a table; the cursor is a record's key. */
static int
s_lister_open (s_lister_t *self, op_ctx_t *ctx, const msgpack_object *args)
{
    self->ctx = ctx;
    if (page_open (&self->page, args, ctx->err)) {
        page_release (&self->page);
        return -1;
    }
    return 0;
}

/* Room for the record at key (the cursor's own skipped): its packer or NULL. */
static msgpack_packer *
s_lister_item (s_lister_t *self, const void *key, size_t key_size, bool *full)
{
    size_t after_size;
    const void *after = page_after (&self->page, &after_size);
    *full = false;
    if (after && after_size == key_size && memcmp (after, key, key_size) == 0)
        return NULL;
    msgpack_packer *pk = page_item (&self->page, key, key_size);
    *full = !pk;
    return pk;
}

static int
s_lister_close (s_lister_t *self, store_table_t table, store_visit_fn *visit,
                const char *name)
{
    size_t after_size;
    const void *after = page_after (&self->page, &after_size);
    int rc = store_scan (self->ctx->txn, table, NULL, 0, after, after_size, visit, self,
                         self->ctx->err);
    if (rc) {
        page_release (&self->page);
        return -1;
    }
    msgpack_pack_map (self->ctx->pk, 2);
    page_pack (&self->page, self->ctx->pk, name);
    return 0;
}

static int
s_pack_key_record (const void *key, size_t key_size, const void *val, size_t val_size,
                   void *arg)
{
    s_lister_t *lister = arg;
    dt_key_t record;
    bool full;
    if (record_key_decode (&record, val, val_size) == 0) {
        msgpack_packer *pk = s_lister_item (lister, key, key_size, &full);
        if (full)
            return 1;
        if (pk)
            record_key_pack (&record, pk);
    }
    return 0;
}

/* KEY LIST limit? cursor? */
static int
s_key_list (op_ctx_t *ctx, const msgpack_object *args)
{
    s_lister_t lister;
    if (s_lister_open (&lister, ctx, args))
        return -1;
    return s_lister_close (&lister, TBL_KEY, s_pack_key_record, "keys");
}

//  Nodes

/* NODE ADD id */
static int
s_node_add (op_ctx_t *ctx, const msgpack_object *args)
{
    node_t node = { .created = ctx->now };
    if (proto_arg_id (args, "id", true, node.id, ctx->err) < 0)
        return -1;
    const void *val = NULL;
    size_t size = 0;
    int found = store_get (ctx->txn, TBL_NODE, node.id, strlen (node.id), &val, &size,
                           ctx->err);
    if (found <= 0)
        return found < 0? -1: dt_err_set (ctx->err, "EXISTS", "node %s exists", node.id);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    record_node_encode (&node, &buf);
    int rc = store_record_put (ctx->txn, TBL_NODE, node.id, buf.data, buf.size, NULL,
                               ctx->err);
    msgpack_sbuffer_destroy (&buf);
    if (rc == 0) {
        msgpack_pack_map (ctx->pk, 2);
        proto_pack_key (ctx->pk, "id");
        proto_pack_str (ctx->pk, node.id);
        proto_pack_key (ctx->pk, "created");
        msgpack_pack_int64 (ctx->pk, node.created);
    }
    return rc;
}

/* Age in ms of the oldest change after `applied`, 0 if none. */
static uint64_t
s_lag_ms (op_ctx_t *ctx, uint64_t applied, uint64_t head)
{
    if (applied >= head)
        return 0;
    uint8_t key [8];
    store_seq_key (applied + 1 < store_log_first (ctx->txn)? store_log_first (ctx->txn):
                   applied + 1, key);
    const void *val = NULL;
    size_t size = 0;
    dt_err_t err;
    dt_err_init (&err);
    if (store_get (ctx->txn, TBL_LOG, key, 8, &val, &size, &err))
        return 0;
    stream_change_t change;
    int64_t ts = stream_change_decode (&change, val, size, NULL, &err) == 0? change.ts: ctx->now;
    return ctx->now > ts? (uint64_t) (ctx->now - ts): 0;
}

static int
s_pack_node (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    s_lister_t *lister = arg;
    op_ctx_t *ctx = lister->ctx;
    node_t node;
    if (record_node_decode (&node, val, val_size))
        return 0;
    bool full;
    msgpack_packer *pk = s_lister_item (lister, key, key_size, &full);
    if (!pk)
        return full? 1: 0;
    hub_node_state_t state = { 0 };
    if (ctx->server)
        hub_node_state (ctx->server, node.id, &state);
    uint64_t head = store_log_head (ctx->txn);
    uplink_state_t uplink;
    uplink_state (ctx->txn, node.id, &uplink);
    msgpack_pack_map (pk, 13);
    proto_pack_key (pk, "id");
    proto_pack_str (pk, node.id);
    proto_pack_key (pk, "created");
    msgpack_pack_int64 (pk, node.created);
    proto_pack_key (pk, "connected");
    state.connected? msgpack_pack_true (pk): msgpack_pack_false (pk);
    proto_pack_key (pk, "last_seen");
    state.last_seen? msgpack_pack_int64 (pk, state.last_seen): msgpack_pack_nil (pk);
    proto_pack_key (pk, "applied");
    msgpack_pack_uint64 (pk, state.applied);
    proto_pack_key (pk, "head");
    msgpack_pack_uint64 (pk, head);
    proto_pack_key (pk, "lag_changes");
    msgpack_pack_uint64 (pk, head > state.applied? head - state.applied: 0);
    proto_pack_key (pk, "lag_ms");
    msgpack_pack_uint64 (pk, s_lag_ms (ctx, state.applied, head));
    proto_pack_key (pk, "outbox");
    msgpack_pack_uint64 (pk, state.outbox);
    //  Content this node judged: delivered, still waiting up there (as of its
    //  last push), and the instant before which the hub holds all of it
    proto_pack_key (pk, "content_items");
    msgpack_pack_uint64 (pk, uplink.items);
    proto_pack_key (pk, "content_waiting");
    msgpack_pack_uint64 (pk, uplink.waiting);
    proto_pack_key (pk, "content_watermark");
    uplink.watermark? msgpack_pack_int64 (pk, uplink.watermark): msgpack_pack_nil (pk);
    proto_pack_key (pk, "branches");
    s_pack_node_branches (ctx, pk, node.id);
    return 0;
}

/* NODE LIST limit? cursor? */
static int
s_node_list (op_ctx_t *ctx, const msgpack_object *args)
{
    s_lister_t lister;
    if (s_lister_open (&lister, ctx, args))
        return -1;
    return s_lister_close (&lister, TBL_NODE, s_pack_node, "nodes");
}

//  Replication

/* SYNC HELLO node from credit */
static int
s_sync_hello (op_ctx_t *ctx, const msgpack_object *args)
{
    stream_hello_t hello;
    if (stream_hello_decode (&hello, args, ctx->err))
        return -1;
    const char *node = hello.node;
    if (ctx->key->role == KEY_LEADER
    || (ctx->key->role == KEY_NODE && !streq (ctx->key->node, node)))
        return dt_err_set (ctx->err, "DENIED", "key %s may not sync as node %s",
                           ctx->key->name, node);
    const void *val = NULL;
    size_t size = 0;
    if (store_get (ctx->txn, TBL_NODE, node, strlen (node), &val, &size, ctx->err))
        return dt_err_is_set (ctx->err)? -1:
               dt_err_set (ctx->err, "NOT_FOUND", "unknown node %s", node);
    if (!ctx->server || !ctx->peer)
        return dt_err_set (ctx->err, "BAD_ARGS", "sync.hello needs a connection");
    //  The node's witness: a checkpoint this hub signed, which audit.verify
    //  holds the chain against (kept in memory: the store may be the forgery)
    store_checkpoint_t witness;
    if (hello.witness_size
    &&  store_checkpoint_open (hello.witness, hello.witness_size, &witness) == 0
    &&  memcmp (witness.signer, hub_audit_public (ctx->server), 32) == 0) {
        char who [DT_ID_MAX + 8];
        snprintf (who, sizeof (who), "node %s", node);
        store_witness_add (hub_store (ctx->server), who, &witness);
    }
    return hub_sync_hello (hub_sync (ctx->server), ctx->peer, ctx->key->public_key, &hello,
                           ctx->txn, ctx->pk, ctx->err);
}

/* SYNC ACK applied credit ts [outbox] */
static int
s_sync_ack (op_ctx_t *ctx, const msgpack_object *args)
{
    stream_ack_t ack;
    if (stream_ack_decode (&ack, args, ctx->err))
        return -1;
    if (ctx->key->role == KEY_LEADER)
        return dt_err_set (ctx->err, "DENIED", "key %s is a leader key: it may not sync",
                           ctx->key->name);
    if (ctx->server && ctx->peer) {
        //  Only on the connection that said sync.hello, as the node it named:
        //  an ack moves that node's credit and position (PROTOCOL.md 7.2)
        const char *node = hub_sync_session_node (hub_sync (ctx->server), ctx->peer);
        if (!node)
            return dt_err_set (ctx->err, "DENIED", "no sync session on this connection: "
                               "sync.hello first");
        if (ctx->key->role == KEY_NODE && !streq (ctx->key->node, node))
            return dt_err_set (ctx->err, "DENIED", "key %s may not sync as node %s",
                               ctx->key->name, node);
        hub_sync_ack (hub_sync (ctx->server), ctx->peer, &ack);
    }
    msgpack_pack_nil (ctx->pk);
    return 0;
}

const op_t hub_admin_ops [] = {
    { "hello", s_hello },
    { "key.allow", s_key_allow },
    { "key.revoke", s_key_revoke },
    { "key.list", s_key_list },
    { "node.add", s_node_add },
    { "node.list", s_node_list },
    { "sync.hello", s_sync_hello },
    { "sync.ack", s_sync_ack },
    { NULL, NULL }
};

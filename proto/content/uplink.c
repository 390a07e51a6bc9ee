/* uplink.c -- content changes a node accepted, queued, batched and applied
   at the hub exactly once. */
#include "uplink.h"
#include "repl.h"
#include "item.h"

static const char *s_tables [] = { "item", "activity" };

//  Node side

int
uplink_append (store_txn_t *txn, const char *op, const char *actor, uplink_table_t table,
               const char *key, size_t key_size, const void *val, size_t val_size,
               dt_err_t *err)
{
    uint64_t seq = store_meta_uint (txn, "uplink_seq") + 1;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 5);
    proto_pack_key (&pk, "op");
    proto_pack_str (&pk, op);
    proto_pack_key (&pk, "actor");
    proto_pack_str (&pk, actor);
    proto_pack_key (&pk, "table");
    proto_pack_str (&pk, s_tables [table]);
    proto_pack_key (&pk, "key");
    msgpack_pack_bin (&pk, key_size);
    msgpack_pack_bin_body (&pk, key, key_size);
    proto_pack_key (&pk, "value");
    pk.callback (pk.data, val, val_size);       //  a packed map already
    uint8_t seq_key [8];
    store_seq_key (seq, seq_key);
    int rc = store_put (txn, TBL_UPLINK, seq_key, 8, buf.data, buf.size, err);
    msgpack_sbuffer_destroy (&buf);
    return rc? rc: store_meta_set_uint (txn, "uplink_seq", seq, err);
}

uint64_t
uplink_depth (store_txn_t *txn)
{
    return store_count (txn, TBL_UPLINK);
}

typedef struct {
    msgpack_sbuffer *entries;
    uint32_t max, count;
    size_t max_bytes;
    uint64_t last;
} s_batch_t;

static int
s_pack_entry (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    s_batch_t *batch = arg;
    if (key_size != 8)
        return 0;
    if (batch->count == batch->max
    ||  (batch->count && batch->entries->size + val_size > batch->max_bytes))
        return 1;
    //  The stored entry is { op, actor, table, key, value }: sent as it is
    //  with its seq in front, as a two-element array
    msgpack_packer pk;
    msgpack_packer_init (&pk, batch->entries, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 2);
    batch->last = store_seq_from_key (key);
    msgpack_pack_uint64 (&pk, batch->last);
    pk.callback (pk.data, val, val_size);
    batch->count++;
    return 0;
}

int
uplink_pack (store_txn_t *txn, const char *node, uint64_t epoch, uint64_t after, uint32_t max,
             size_t max_bytes, int64_t watermark, msgpack_sbuffer *out, uint64_t *last,
             dt_err_t *err)
{
    msgpack_sbuffer entries;
    msgpack_sbuffer_init (&entries);
    s_batch_t batch = { &entries, max, 0, max_bytes, after };
    uint8_t from [8];
    store_seq_key (after + 1, from);
    int rc = store_scan (txn, TBL_UPLINK, NULL, 0, from, 8, s_pack_entry, &batch, err);
    if (rc == 0) {
        msgpack_packer pk;
        msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
        uint64_t depth = store_count (txn, TBL_UPLINK);
        uint64_t waiting = depth > batch.count? depth - batch.count: 0;
        msgpack_pack_map (&pk, 5);
        proto_pack_key (&pk, "node");
        proto_pack_str (&pk, node);
        proto_pack_key (&pk, "epoch");
        msgpack_pack_uint64 (&pk, epoch);
        proto_pack_key (&pk, "entries");
        msgpack_pack_array (&pk, batch.count);
        if (entries.size)
            pk.callback (pk.data, entries.data, entries.size);
        proto_pack_key (&pk, "watermark");
        msgpack_pack_int64 (&pk, waiting? 0: watermark);
        proto_pack_key (&pk, "waiting");
        msgpack_pack_uint64 (&pk, waiting);
        *last = batch.last;
    }
    msgpack_sbuffer_destroy (&entries);
    return rc;
}

typedef struct {
    store_txn_t *txn;
    uint64_t upto;
    dt_err_t *err;
} s_trim_t;

static int
s_trim_entry (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    (void) val; (void) val_size;
    s_trim_t *trim = arg;
    if (key_size == 8 && store_seq_from_key (key) > trim->upto)
        return 1;
    return store_del (trim->txn, TBL_UPLINK, key, key_size, trim->err);
}

int
uplink_trim (store_txn_t *txn, uint64_t upto, dt_err_t *err)
{
    s_trim_t trim = { txn, upto, err };
    return store_scan (txn, TBL_UPLINK, NULL, 0, NULL, 0, s_trim_entry, &trim, err);
}

//  Hub side

static void
s_state_key (const char *node, char *out, size_t size)
{
    snprintf (out, size, "uplink/%s", node);
}

int
uplink_state (store_txn_t *txn, const char *node, uplink_state_t *out)
{
    memset (out, 0, sizeof (*out));
    char key [DT_ID_MAX + 16];
    s_state_key (node, key, sizeof (key));
    const void *val;
    size_t size;
    dt_err_t err;
    dt_err_init (&err);
    if (store_get (txn, TBL_META, key, strlen (key), &val, &size, &err) != 0) {
        dt_err_reset (&err);
        return 0;
    }
    record_reader_t reader;
    if (record_reader_open (&reader, val, size) == 0) {
        out->epoch = record_read_uint (&reader, "epoch");
        out->applied = record_read_uint (&reader, "applied");
        out->watermark = record_read_int (&reader, "watermark");
        out->items = record_read_uint (&reader, "items");
        out->waiting = record_read_uint (&reader, "waiting");
    }
    return record_reader_close (&reader);
}

static int
s_state_put (store_txn_t *txn, const char *node, const uplink_state_t *state, dt_err_t *err)
{
    char key [DT_ID_MAX + 16];
    s_state_key (node, key, sizeof (key));
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 5);
    record_kv_uint (&pk, "waiting", state->waiting);
    record_kv_uint (&pk, "epoch", state->epoch);
    record_kv_uint (&pk, "applied", state->applied);
    record_kv_int (&pk, "watermark", state->watermark);
    record_kv_uint (&pk, "items", state->items);
    int rc = store_put (txn, TBL_META, key, strlen (key), buf.data, buf.size, err);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

static void
s_handoff_key (const char *branch, const char *node, char *out, size_t size)
{
    snprintf (out, size, "handoff/%s/%s", branch, node);
}

int
uplink_handoff (store_txn_t *txn, const char *branch, const char *from, int64_t at,
                dt_err_t *err)
{
    char key [DT_ID_MAX * 2 + 16];
    s_handoff_key (branch, from, key, sizeof (key));
    return store_meta_set_uint (txn, key, (uint64_t) at, err);
}

/* The branch of a pushed record, which must be one the node serves or
   served: content accepted before a branch moved on still counts. */
static int
s_entry_branch_ok (op_ctx_t *ctx, const char *node, const char *branch_id)
{
    branch_t branch;
    if (tree_branch_get (ctx->txn, branch_id, &branch, ctx->err) != 0)
        return dt_err_is_set (ctx->err)? -1: 0;
    if (streq (branch.node, node))
        return 1;
    char key [DT_ID_MAX * 2 + 16];
    s_handoff_key (branch_id, node, key, sizeof (key));
    return store_meta_uint (ctx->txn, key) > 0? 1: 0;
}

/* An item from a branch's old node, arriving after the branch moved: the
   node that serves the branch now was sent the branch's items when it took
   it over (repl.c), and is sent this one as well. */
static int
s_forward (op_ctx_t *ctx, const char *node, const char *id, const char *branch_id,
           const msgpack_sbuffer *item)
{
    char serving [DT_ID_MAX + 1];
    tree_branch_node (ctx->txn, branch_id, serving);
    if (!*serving || streq (serving, node))
        return 0;
    return repl_record_send (ctx->txn, TBL_ITEM, id, item->data, item->size, branch_id,
                             serving, ctx->err);
}

/* Apply one entry { op, actor, table, key, value }; 1 applied, 0 refused
   (not the node's to send), -1 malformed or a store failure. */
static int
s_apply (op_ctx_t *ctx, const char *node, const msgpack_object *entry)
{
    char op [48], actor [DT_ID_MAX + 1], table [16];
    const msgpack_object *key = proto_map_get (entry, "key");
    const msgpack_object *value = proto_map_get (entry, "value");
    if (!proto_obj_str (proto_map_get (entry, "op"), op, sizeof (op) - 1)
    ||  !proto_obj_str (proto_map_get (entry, "actor"), actor, DT_ID_MAX)
    ||  !proto_obj_str (proto_map_get (entry, "table"), table, sizeof (table) - 1)
    ||  !key || key->type != MSGPACK_OBJECT_BIN || key->via.bin.size == 0
    ||  key->via.bin.size > DT_ID_MAX + 12
    ||  !value || value->type != MSGPACK_OBJECT_MAP)
        return dt_err_set (ctx->err, "BAD_ARGS", "a content.push entry is { op, actor, "
                           "table, key, value }");
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_object (&pk, *value);
    //  This entry's changes are audited under its own args, not the push's
    store_audit_open (ctx->txn, buf.data, buf.size);
    char id [DT_ID_MAX + 16];
    memcpy (id, key->via.bin.ptr, key->via.bin.size);
    id [key->via.bin.size] = 0;
    int rc;
    char branch [DT_ID_MAX + 1] = "";
    proto_obj_str (proto_map_get (value, "branch"), branch, DT_ID_MAX);
    rc = s_entry_branch_ok (ctx, node, branch);
    if (rc == 1 && streq (table, "item"))
        rc = item_put_raw (ctx->txn, id, buf.data, buf.size, ctx->err)
          || s_forward (ctx, node, id, branch, &buf)? -1: 1;
    else
    if (rc == 1 && streq (table, "activity"))
        rc = activity_put_raw (ctx->txn, id, buf.data, buf.size, ctx->err)? -1: 1;
    else
    if (rc == 1)
        rc = dt_err_set (ctx->err, "BAD_ARGS", "content.push: unknown table \"%s\"", table);
    if (rc == 1) {
        char who [DT_ID_MAX * 2 + 2];
        snprintf (who, sizeof (who), "%s/%s", ctx->key->name, actor);
        rc = store_audit_append (ctx->txn, who, op, buf.data, buf.size, ctx->err)? -1: 1;
    }
    store_audit_open (ctx->txn, NULL, 0);       /* buf goes */
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

/* CONTENT PUSH node epoch entries watermark [waiting] */
int
uplink_push (op_ctx_t *ctx, const msgpack_object *args)
{
    dt_id_t node;
    if (proto_arg_id (args, "node", true, node, ctx->err) < 0)
        return -1;
    //  As sync.hello: a node key pushes for its own node only
    if (ctx->key->role == KEY_LEADER
    || (ctx->key->role == KEY_NODE && !streq (ctx->key->node, node)))
        return dt_err_set (ctx->err, "DENIED", "key %s may not push content as node %s",
                           ctx->key->name, node);
    const void *val;
    size_t size;
    int known = store_get (ctx->txn, TBL_NODE, node, strlen (node), &val, &size, ctx->err);
    if (known)
        return known < 0? -1: dt_err_set (ctx->err, "NOT_FOUND", "unknown node %s", node);
    uint64_t epoch, waiting = 0;
    int64_t watermark;
    const msgpack_object *entries;
    if (proto_arg_uint (args, "epoch", true, &epoch, ctx->err) < 0
    ||  proto_arg_uint (args, "waiting", false, &waiting, ctx->err) < 0
    ||  proto_arg_int (args, "watermark", true, &watermark, ctx->err) < 0
    ||  proto_arg_array (args, "entries", true, &entries, ctx->err) < 0)
        return -1;
    uplink_state_t state;
    if (uplink_state (ctx->txn, node, &state))
        return dt_err_set (ctx->err, "INTERNAL", "the uplink state of node %s is damaged",
                           node);
    if (epoch < state.epoch)
        return dt_err_set (ctx->err, "RULE", "node %s pushes epoch %" PRIx64 ", older than "
                           "the epoch %" PRIx64 " the hub holds", node, epoch, state.epoch);
    if (epoch > state.epoch) {
        state.epoch = epoch;
        state.applied = 0;          //  a new replica counts from 1 again
    }
    uint32_t refused = 0;
    for (uint32_t i = 0; i < entries->via.array.size; i++) {
        const msgpack_object *pair = &entries->via.array.ptr [i];
        if (pair->type != MSGPACK_OBJECT_ARRAY || pair->via.array.size != 2
        ||  pair->via.array.ptr [0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return dt_err_set (ctx->err, "BAD_ARGS", "content.push entries are [seq, entry]");
        uint64_t seq = pair->via.array.ptr [0].via.u64;
        if (seq <= state.applied)
            continue;               //  delivered before: exactly once
        if (seq != state.applied + 1)
            return dt_err_set (ctx->err, "RULE", "node %s pushes seq %" PRIu64 " after %"
                               PRIu64 ": entries arrive in order", node, seq, state.applied);
        int rc = s_apply (ctx, node, &pair->via.array.ptr [1]);
        if (rc < 0)
            return -1;
        refused += rc == 0;
        state.applied = seq;
        state.items++;
    }
    if (watermark > state.watermark)
        state.watermark = watermark;
    state.waiting = waiting;
    if (s_state_put (ctx->txn, node, &state, ctx->err))
        return -1;
    msgpack_pack_map (ctx->pk, 3);
    proto_pack_key (ctx->pk, "applied");
    msgpack_pack_uint64 (ctx->pk, state.applied);
    proto_pack_key (ctx->pk, "refused");
    msgpack_pack_uint32 (ctx->pk, refused);
    proto_pack_key (ctx->pk, "watermark");
    msgpack_pack_int64 (ctx->pk, state.watermark);
    return 0;
}

const op_t uplink_ops [] = {
    { "content.push", uplink_push },
    { NULL, NULL }
};

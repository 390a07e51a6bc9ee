/* node_content.c -- content judged at the node in group commits, and sent up. */
#include "node_content.h"
#include "content.h"
#include "uplink.h"
#include "server.h"
#include "node_outbox.h"
#include "scratch.h"

/* A content write of this round, answered once the batch is durable. */
typedef struct {
    zframe_t *peer;
    uint64_t id;
    bool write;                 /* changed the batch: fails if the commit fails */
    msgpack_sbuffer reply;
} s_pending_t;

typedef enum { S_IDLE, S_WAITING } s_uplink_state_t;

struct _node_content_t {
    store_t *store;             /* borrowed */
    dt_id_t node;
    const client_opts_t *opts;  /* borrowed; NULL = no uplink */
    //  Group commit
    store_txn_t batch;
    bool batch_open;
    zlistx_t *pending;          /* s_pending_t */
    //  Uplink
    client_t *hub;
    s_uplink_state_t state;
    uint64_t request_id;        /* of the push in flight */
    uint64_t acked;             /* highest seq the hub confirmed */
    int64_t resend_at;          /* mono ms */
    int64_t last_push;          /* mono ms */
    int backoff_ms;
    msgpack_sbuffer request;    /* the push in flight */
};

static void
s_pending_destroy (s_pending_t **self_p)
{
    if (*self_p) {
        zframe_destroy (&(*self_p)->peer);
        msgpack_sbuffer_destroy (&(*self_p)->reply);
        free (*self_p);
        *self_p = NULL;
    }
}

node_content_t *
node_content_new (store_t *store, const char *node, const client_opts_t *hub)
{
    node_content_t *self = (node_content_t *) zmalloc (sizeof (node_content_t));
    self->store = store;
    self->opts = hub;
    snprintf (self->node, sizeof (self->node), "%s", node);
    self->pending = zlistx_new ();
    zlistx_set_destructor (self->pending, (zlistx_destructor_fn *) s_pending_destroy);
    self->backoff_ms = NODE_CONTENT_RETRY_MS;
    msgpack_sbuffer_init (&self->request);
    return self;
}

void
node_content_destroy (node_content_t **self_p)
{
    assert (self_p);
    node_content_t *self = *self_p;
    if (self) {
        if (self->batch_open)
            store_abort (&self->batch);
        zlistx_destroy (&self->pending);
        client_destroy (&self->hub);
        msgpack_sbuffer_destroy (&self->request);
        free (self);
        *self_p = NULL;
    }
}

//  Group commit

/* The reply recorded in the batch under the request's rid, re-addressed to
   this request: the client's retry of a write it already made. */
static bool
s_rid_replay (node_content_t *self, const dt_key_t *key, proto_req_t *req,
              msgpack_sbuffer *reply)
{
    char rid_key [DT_ID_MAX * 4];
    size_t key_size = store_rid_key (key->name, req->rid, rid_key, sizeof (rid_key));
    const void *val;
    size_t size;
    dt_err_t err;
    dt_err_init (&err);
    bool found = store_get (&self->batch, TBL_RID, rid_key, key_size, &val, &size, &err) == 0
              && node_outbox_readdress (val, size, req->id, reply) == 0;
    dt_err_reset (&err);
    return found;
}

void
node_content_call (node_content_t *self, const op_t *op, proto_req_t *req,
                   const dt_key_t *key, zframe_t **peer_p, msgpack_sbuffer *result,
                   dt_err_t *err)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, result, msgpack_sbuffer_write);
    op_ctx_t ctx = { .key = key, .pk = &pk, .err = err, .now = dt_now_ms (),
                     .peer = *peer_p, .node = self->node };
    store_txn_t txn;
    if (!self->batch_open && store_begin (self->store, &self->batch, NULL, true, err))
        return;
    self->batch_open = true;
    s_pending_t *pending = (s_pending_t *) zmalloc (sizeof (s_pending_t));
    pending->peer = *peer_p;
    *peer_p = NULL;
    pending->id = req->id;
    msgpack_sbuffer_init (&pending->reply);
    zlistx_add_end (self->pending, pending);
    if (*req->rid && s_rid_replay (self, key, req, &pending->reply))
        return;
    if (store_begin (self->store, &txn, &self->batch, true, err) == 0) {
        ctx.txn = &txn;
        if (op_call (op, &ctx, req->args) == 0)
            pending->write = store_commit (&txn, err) == 0;
        else
            store_abort (&txn);
    }
    proto_reply_encode (&pending->reply, req->id, dt_err_is_set (err)? NULL: result, err);
    //  As at the hub (7.3): a decision is recorded under the rid, in the same
    //  commit; a retryable failure is not
    if (*req->rid && !dt_err_retryable (err->code)) {
        char rid_key [DT_ID_MAX * 4];
        size_t key_size = store_rid_key (key->name, req->rid, rid_key, sizeof (rid_key));
        dt_err_t put_err;
        dt_err_init (&put_err);
        if (store_put (&self->batch, TBL_RID, rid_key, key_size, pending->reply.data,
                       pending->reply.size, &put_err) == 0)
            pending->write = true;
        dt_err_reset (&put_err);
    }
}

void
node_content_flush (node_content_t *self, zsock_t *router)
{
    if (!self->batch_open)
        return;
    self->batch_open = false;
    dt_err_t err;
    dt_err_init (&err);
    bool durable = store_commit (&self->batch, &err) == 0;
    if (!durable)
        zsys_error ("node %s: committing content failed: %s", self->node, err.message);
    for (s_pending_t *pending = zlistx_first (self->pending); pending;
         pending = zlistx_next (self->pending)) {
        if (!durable && pending->write) {
            dt_err_t failure;
            dt_err_init (&failure);
            dt_err_set (&failure, "INTERNAL", "storing content failed: %s", err.message);
            msgpack_sbuffer_clear (&pending->reply);
            proto_reply_encode (&pending->reply, pending->id, NULL, &failure);
            dt_err_reset (&failure);
        }
        server_reply (router, &pending->peer, pending->reply.data, pending->reply.size);
    }
    zlistx_purge (self->pending);
    dt_err_reset (&err);
    node_content_pump (self);
}

uint64_t
node_content_waiting (node_content_t *self)
{
    return store_size (self->store, TBL_UPLINK);
}

//  Uplink

zsock_t *
node_content_sock (node_content_t *self)
{
    return self->hub? client_sock (self->hub): NULL;
}

/* Pack the next push: every entry after the last confirmed one, as much as
   one body holds. The watermark is taken before the snapshot is read, so
   that everything accepted before it is in this push or an earlier one. */
static int
s_prepare (node_content_t *self, uint64_t *count)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    int64_t watermark = dt_now_ms ();
    msgpack_sbuffer args;
    msgpack_sbuffer_init (&args);
    int rc = store_begin (self->store, &txn, NULL, false, &err);
    uint64_t last = self->acked;
    if (rc == 0) {
        *count = uplink_depth (&txn);
        rc = uplink_pack (&txn, self->node, store_meta_uint (&txn, "epoch"), self->acked,
                          UPLINK_BATCH_MAX, NODE_CONTENT_PUSH_BYTES, watermark, &args, &last,
                          &err);
        store_abort (&txn);
    }
    if (rc == 0) {
        msgpack_sbuffer_clear (&self->request);
        proto_req_encode (&self->request, ++self->request_id, "content.push", &args, NULL);
    }
    else
        zsys_error ("node %s: reading the uplink failed: %s", self->node, err.message);
    msgpack_sbuffer_destroy (&args);
    dt_err_reset (&err);
    return rc;
}

void
node_content_pump (node_content_t *self)
{
    if (!self->opts)
        return;
    int64_t now = zclock_mono ();
    if (self->state == S_WAITING) {
        if (now < self->resend_at)
            return;
        //  No answer: the connection may be dead; the hub skips what it has
        client_destroy (&self->hub);
        self->backoff_ms = self->backoff_ms * 2 < NODE_CONTENT_RETRY_MAX?
                           self->backoff_ms * 2: NODE_CONTENT_RETRY_MAX;
    }
    else {
        uint64_t count = 0;
        if (store_size (self->store, TBL_UPLINK) == 0
        &&  now - self->last_push < NODE_CONTENT_IDLE_PUSH_MS)
            return;
        if (s_prepare (self, &count))
            return;
        self->state = S_WAITING;
    }
    self->resend_at = now + self->backoff_ms;
    self->last_push = now;
    char what [DT_ID_MAX + 32];
    snprintf (what, sizeof (what), "node %s: uplink to the hub", self->node);
    client_send_stored (&self->hub, self->opts, self->request.data, self->request.size, what);
}

int
node_content_wait_ms (node_content_t *self)
{
    if (!self->opts)
        return -1;
    int64_t due = self->state == S_WAITING? self->resend_at
                                          : self->last_push + NODE_CONTENT_IDLE_PUSH_MS;
    int64_t left = due - zclock_mono ();
    return left > 0? (int) left: 0;
}

/* The hub has everything up to `applied`: drop it here. While a round's
   content is being judged the drop goes into its batch, one durable commit
   for both; else it is a commit of its own. A drop lost to a crash only
   sends those entries again, which the hub passes over (7.5). */
static void
s_confirmed (node_content_t *self, uint64_t applied)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    int rc = store_begin (self->store, &txn, self->batch_open? &self->batch: NULL, true, &err);
    if (rc == 0) {
        rc = uplink_trim (&txn, applied, &err);
        if (rc == 0)
            rc = store_commit (&txn, &err);
        else
            store_abort (&txn);
    }
    if (rc == 0)
        self->acked = applied;
    else
        zsys_error ("node %s: trimming the uplink failed: %s", self->node, err.message);
    dt_err_reset (&err);
}

void
node_content_recv (node_content_t *self)
{
    while (self->hub && (zsock_events (client_sock (self->hub)) & ZMQ_POLLIN)) {
        proto_reply_t reply;
        dt_err_t err;
        dt_err_init (&err);
        bool answered = client_recv (self->hub, 0, &reply, &err) == 0
                     && self->state == S_WAITING && reply.id == self->request_id;
        if (answered && reply.ok) {
            const msgpack_object *applied = proto_map_get (reply.result, "applied");
            if (applied && applied->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                s_confirmed (self, applied->via.u64);
            self->state = S_IDLE;
            self->backoff_ms = NODE_CONTENT_RETRY_MS;
        }
        else
        if (answered)
            //  Nothing is dropped: the same entries go again after the backoff
            zsys_warning ("node %s: the hub answered content.push with %s: %s; retrying",
                          self->node, reply.code, reply.message);
        proto_reply_release (&reply);
        dt_err_reset (&err);
        if (answered && self->state == S_IDLE)
            node_content_pump (self);
    }
}

//  Self-test: group commit and the uplink's bookkeeping, without a hub

void
node_content_test (bool verbose)
{
    (void) verbose;
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = scratch_new ("node-content", 64);
    node_content_t *self = node_content_new (store, "n-1", NULL);
    //  Entries appended in a batch are counted, packed in order and trimmed
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    for (int i = 0; i < 5; i++)
        assert (uplink_append (&txn, "post.add", "k", UPLINK_ITEM, "p", 1, "\x80", 1, &err) == 0);
    assert (store_commit (&txn, &err) == 0);
    assert (node_content_waiting (self) == 5);
    msgpack_sbuffer args;
    msgpack_sbuffer_init (&args);
    uint64_t last;
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    assert (uplink_pack (&txn, "n-1", 7, 0, 3, 1 << 20, 99, &args, &last, &err) == 0);
    store_abort (&txn);
    assert (last == 3);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, args.data, args.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *entries = proto_map_get (&unpacked.data, "entries");
    assert (entries && entries->via.array.size == 3);
    //  Not every entry went: the watermark does not move
    assert (proto_map_get (&unpacked.data, "watermark")->via.i64 == 0);
    assert (proto_map_get (&unpacked.data, "waiting")->via.u64 == 2);
    s_confirmed (self, 3);
    assert (node_content_waiting (self) == 2 && self->acked == 3);
    msgpack_sbuffer_clear (&args);
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    assert (uplink_pack (&txn, "n-1", 7, 3, 10, 1 << 20, 99, &args, &last, &err) == 0);
    store_abort (&txn);
    assert (last == 5);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, args.data, args.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    assert (proto_map_get (&unpacked.data, "watermark")->via.i64 == 99);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&args);
    node_content_destroy (&self);
    scratch_destroy (&store);
}

/* node_outbox.c -- a node's forwarding: the durable outbox of membership
   writes, delivered in order, their outcomes and the callers waiting for them. */
#include "node_outbox.h"
#include "server.h"

/* A caller waiting for the hub's answer to a forwarded write. */
typedef struct {
    uint64_t ticket;
    zframe_t *peer;
    uint64_t id;                /* the caller's request id */
    int64_t deadline;           /* mono ms; then the caller hears "pending" */
} s_waiter_t;

struct _node_outbox_t {
    store_t *store;                 /* borrowed */
    dt_id_t node;
    const client_opts_t *opts;      /* borrowed; NULL = no network */
    zsock_t *router;                /* borrowed: where callers are answered */
    client_t *hub;
    uint64_t epoch;                 /* when this replica was made: part of every rid */
    uint64_t inflight;              /* ticket awaiting the hub's reply; 0 = idle */
    int64_t resend_at;              /* mono ms */
    int backoff_ms;
    msgpack_sbuffer request;        /* the stored request in flight, as stored */
    zlistx_t *waiters;              /* s_waiter_t */
};

static int s_upgrade (node_outbox_t *self, store_txn_t *txn, dt_err_t *err);

static void
s_waiter_destroy (s_waiter_t **self_p)
{
    if (*self_p) {
        zframe_destroy (&(*self_p)->peer);
        free (*self_p);
        *self_p = NULL;
    }
}

node_outbox_t *
node_outbox_new (store_t *store, const char *node, const client_opts_t *hub,
                 zsock_t *router, dt_err_t *err)
{
    node_outbox_t *self = (node_outbox_t *) zmalloc (sizeof (node_outbox_t));
    self->store = store;
    self->opts = hub;
    self->router = router;
    snprintf (self->node, sizeof (self->node), "%s", node);
    msgpack_sbuffer_init (&self->request);
    self->waiters = zlistx_new ();
    zlistx_set_destructor (self->waiters, (zlistx_destructor_fn *) s_waiter_destroy);
    //  A replica made afresh (a wiped data directory) numbers its outbox from
    //  1 again; the epoch keeps its rids apart from the ones the hub recorded
    //  for the replica before.
    store_txn_t txn;
    if (store_begin (store, &txn, NULL, true, err))
        goto failed;
    self->epoch = store_meta_uint (&txn, "epoch");
    if (self->epoch == 0) {
        self->epoch = (uint64_t) dt_now_ms ();
        if (store_meta_set_uint (&txn, "epoch", self->epoch, err)) {
            store_abort (&txn);
            goto failed;
        }
    }
    if (s_upgrade (self, &txn, err)) {
        store_abort (&txn);
        goto failed;
    }
    if (store_commit (&txn, err))
        goto failed;
    return self;
failed:
    node_outbox_destroy (&self);
    return NULL;
}

void
node_outbox_destroy (node_outbox_t **self_p)
{
    assert (self_p);
    node_outbox_t *self = *self_p;
    if (self) {
        client_destroy (&self->hub);
        msgpack_sbuffer_destroy (&self->request);
        zlistx_destroy (&self->waiters);
        free (self);
        *self_p = NULL;
    }
}

//  The outbox in the store: TBL_OUTBOX seq -> the request exactly as the hub
//  gets it (id = seq, rid = NODE:SEQ@EPOCH, as), TBL_OUTCOME seq -> the hub's
//  reply, TBL_TICKET store_rid_key -> seq

/* The request that delivers entry seq: made once, when it is queued, and
   sent as stored however often it goes out. */
static void
s_entry_encode (node_outbox_t *self, msgpack_sbuffer *out, uint64_t seq, const char *op,
                const msgpack_object *args, const char *as)
{
    msgpack_sbuffer packed;
    msgpack_sbuffer_init (&packed);
    if (args) {
        msgpack_packer pk;
        msgpack_packer_init (&pk, &packed, msgpack_sbuffer_write);
        msgpack_pack_object (&pk, *args);
    }
    char rid [DT_ID_MAX * 2];
    snprintf (rid, sizeof (rid), "%s:%" PRIu64 "@%" PRIx64, self->node, seq, self->epoch);
    proto_req_encode_as (out, seq, op, args? &packed: NULL, rid, as);
    msgpack_sbuffer_destroy (&packed);
}

typedef struct {
    zlistx_t *seqs;             /* entries in the format before: seq keys (8 bytes) */
    node_outbox_t *self;
} s_old_t;

static int
s_find_old (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    s_old_t *old = arg;
    msgpack_unpacked entry;
    msgpack_unpacked_init (&entry);
    if (key_size == 8
    &&  msgpack_unpack_next (&entry, val, val_size, NULL) == MSGPACK_UNPACK_SUCCESS
    &&  !proto_map_get (&entry.data, "v") && proto_map_get (&entry.data, "actor"))
        zlistx_add_end (old->seqs, (void *) (uintptr_t) store_seq_from_key (key));
    msgpack_unpacked_destroy (&entry);
    return 0;
}

/* Entries queued by a node before entries were stored as requests
   ({ op, args, actor, ts, as? }) are rewritten once, in the txn that opens
   the outbox; one that cannot be read is left to fail when its turn comes. */
static int
s_upgrade (node_outbox_t *self, store_txn_t *txn, dt_err_t *err)
{
    s_old_t old = { zlistx_new (), self };
    int rc = store_scan (txn, TBL_OUTBOX, NULL, 0, NULL, 0, s_find_old, &old, err);
    for (void *item = zlistx_first (old.seqs); item && rc == 0; item = zlistx_next (old.seqs)) {
        uint64_t seq = (uint64_t) (uintptr_t) item;
        uint8_t key [8];
        store_seq_key (seq, key);
        const void *val = NULL;
        size_t size = 0;
        if (store_get (txn, TBL_OUTBOX, key, 8, &val, &size, err) != 0)
            continue;
        msgpack_unpacked entry;
        msgpack_unpacked_init (&entry);
        char op [48];
        dt_id_t as = "";
        const msgpack_object *args = NULL, *asker = NULL;
        if (msgpack_unpack_next (&entry, val, size, NULL) == MSGPACK_UNPACK_SUCCESS
        &&  proto_obj_str (proto_map_get (&entry.data, "op"), op, sizeof (op) - 1)
        &&  (args = proto_map_get (&entry.data, "args"))
        &&  (!(asker = proto_map_get (&entry.data, "as")) || proto_obj_str (asker, as, DT_ID_MAX))) {
            msgpack_sbuffer request;
            msgpack_sbuffer_init (&request);
            s_entry_encode (self, &request, seq, op, args, as);
            rc = store_put (txn, TBL_OUTBOX, key, 8, request.data, request.size, err);
            msgpack_sbuffer_destroy (&request);
        }
        msgpack_unpacked_destroy (&entry);
    }
    zlistx_destroy (&old.seqs);
    return rc;
}

int
node_outbox_append (node_outbox_t *self, const char *op, const msgpack_object *args,
                    const char *actor, const char *as, const char *rid,
                    uint64_t *ticket, dt_err_t *err)
{
    store_txn_t txn;
    if (store_begin (self->store, &txn, NULL, true, err))
        return -1;
    char key [DT_ID_MAX * 4];
    size_t key_size = store_rid_key (actor, rid, key, sizeof (key));
    const void *val = NULL;
    size_t size = 0;
    int found = key_size? store_get (&txn, TBL_TICKET, key, key_size, &val, &size, err): 1;
    if (found <= 0) {
        if (found == 0 && size == 8)
            *ticket = store_seq_from_key (val);
        store_abort (&txn);
        return found == 0 && size == 8? 1:
               found < 0? -1: dt_err_set (err, "INTERNAL", "rid record %s is damaged", key);
    }
    uint64_t seq = store_meta_uint (&txn, "outbox_seq") + 1;
    uint8_t seq_key [8];
    store_seq_key (seq, seq_key);
    msgpack_sbuffer entry;
    msgpack_sbuffer_init (&entry);
    s_entry_encode (self, &entry, seq, op, args, as);
    int rc = store_put (&txn, TBL_OUTBOX, seq_key, 8, entry.data, entry.size, err)
          || store_meta_set_uint (&txn, "outbox_seq", seq, err)
          || (key_size && store_put (&txn, TBL_TICKET, key, key_size, seq_key, 8, err))? -1: 0;
    msgpack_sbuffer_destroy (&entry);
    if (rc) {
        store_abort (&txn);
        return -1;
    }
    if (store_commit (&txn, err))
        return -1;
    *ticket = seq;
    return 0;
}

int
node_outbox_settle (node_outbox_t *self, uint64_t ticket, const void *reply, size_t size,
                    dt_err_t *err)
{
    store_txn_t txn;
    if (store_begin (self->store, &txn, NULL, true, err))
        return -1;
    uint8_t key [8], old [8];
    store_seq_key (ticket, key);
    store_seq_key (ticket > NODE_OUTBOX_KEEP? ticket - NODE_OUTBOX_KEEP: 0, old);
    if (store_put (&txn, TBL_OUTCOME, key, 8, reply, size, err)
    ||  store_del (&txn, TBL_OUTBOX, key, 8, err)
    ||  store_del (&txn, TBL_OUTCOME, old, 8, err)) {
        store_abort (&txn);
        return -1;
    }
    return store_commit (&txn, err);
}

uint64_t
node_outbox_depth (node_outbox_t *self)
{
    return store_size (self->store, TBL_OUTBOX);
}

/* REQUEST STATUS ticket */
int
node_outbox_status (store_txn_t *txn, uint64_t ticket, msgpack_packer *pk, dt_err_t *err)
{
    uint8_t key [8];
    store_seq_key (ticket, key);
    const void *val = NULL;
    size_t size = 0;
    int settled = store_get (txn, TBL_OUTCOME, key, 8, &val, &size, err);
    int queued = settled == 1? store_get (txn, TBL_OUTBOX, key, 8, &val, &size, err): 1;
    if (settled < 0 || queued < 0)
        return -1;
    if (settled == 1 && queued == 1)
        return dt_err_set (err, "NOT_FOUND", "ticket %" PRIu64 " names no request kept at "
                           "this node", ticket);
    msgpack_unpacked reply;
    msgpack_unpacked_init (&reply);
    const msgpack_object *ok = NULL, *result = NULL, *error = NULL;
    if (settled == 0
    &&  msgpack_unpack_next (&reply, val, size, NULL) == MSGPACK_UNPACK_SUCCESS) {
        ok = proto_map_get (&reply.data, "ok");
        result = proto_map_get (&reply.data, "result");
        error = proto_map_get (&reply.data, "error");
    }
    bool done = ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean;
    msgpack_pack_map (pk, 4);
    proto_pack_key (pk, "ticket");
    msgpack_pack_uint64 (pk, ticket);
    proto_pack_key (pk, "state");
    proto_pack_str (pk, settled? "pending": done? "done": "failed");
    proto_pack_key (pk, "result");
    if (done && result)
        msgpack_pack_object (pk, *result);
    else
        msgpack_pack_nil (pk);
    proto_pack_key (pk, "error");
    if (!done && error)
        msgpack_pack_object (pk, *error);
    else
        msgpack_pack_nil (pk);
    msgpack_unpacked_destroy (&reply);
    return 0;
}

int
node_outbox_readdress (const void *reply, size_t size, uint64_t id, msgpack_sbuffer *out)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    int rc = -1;
    if (msgpack_unpack_next (&unpacked, reply, size, NULL) == MSGPACK_UNPACK_SUCCESS
    &&  unpacked.data.type == MSGPACK_OBJECT_MAP) {
        const msgpack_object_map *map = &unpacked.data.via.map;
        msgpack_packer pk;
        msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, map->size);
        for (uint32_t i = 0; i < map->size; i++) {
            const msgpack_object *key = &map->ptr [i].key;
            msgpack_pack_object (&pk, *key);
            if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == 2
            &&  memcmp (key->via.str.ptr, "id", 2) == 0)
                msgpack_pack_uint64 (&pk, id);
            else
                msgpack_pack_object (&pk, map->ptr [i].val);
        }
        rc = 0;
    }
    msgpack_unpacked_destroy (&unpacked);
    return rc;
}

int
node_outbox_reply (node_outbox_t *self, uint64_t ticket, uint64_t id, msgpack_sbuffer *out,
                   dt_err_t *err)
{
    store_txn_t txn;
    if (store_begin (self->store, &txn, NULL, false, err))
        return -1;
    uint8_t key [8];
    store_seq_key (ticket, key);
    const void *val = NULL;
    size_t size = 0;
    int found = store_get (&txn, TBL_OUTCOME, key, 8, &val, &size, err);
    if (found == 0 && node_outbox_readdress (val, size, id, out))
        found = dt_err_set (err, "INTERNAL", "the outcome of ticket %" PRIu64 " is damaged",
                            ticket);
    store_abort (&txn);
    return found;
}

//  Delivery

zsock_t *
node_outbox_sock (node_outbox_t *self)
{
    return self->hub? client_sock (self->hub): NULL;
}

typedef struct {
    node_outbox_t *self;
    uint64_t ticket;
    bool damaged;
} s_next_t;

/* Copy the first queued entry, as stored, into the request in flight. It is
   read (not rewritten) to make sure the hub can tell which entry a reply
   answers: one that does not carry its own ticket as request id would never
   settle. */
static int
s_copy_first (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    s_next_t *next = arg;
    if (key_size != 8)
        return 1;
    next->ticket = store_seq_from_key (key);
    proto_req_t req;
    memset (&req, 0, sizeof (req));
    msgpack_unpacked_init (&req.unpacked);
    dt_err_t err;
    dt_err_init (&err);
    next->damaged = proto_req_decode (&req, val, val_size, &err) != 0 || req.id != next->ticket;
    proto_req_release (&req);
    dt_err_reset (&err);
    msgpack_sbuffer_clear (&next->self->request);
    if (!next->damaged)
        msgpack_sbuffer_write (&next->self->request, val, val_size);
    return 1;
}

/* Take the oldest queued entry into flight; its ticket, or 0 when the
   outbox is empty or cannot be read now. An entry that can never be sent
   (damaged) is settled as failed, so that the queue moves on. */
static uint64_t
s_take_next (node_outbox_t *self)
{
    dt_err_t err;
    dt_err_init (&err);
    s_next_t next = { self, 0, false };
    store_txn_t txn;
    if (store_begin (self->store, &txn, NULL, false, &err) == 0) {
        store_scan (&txn, TBL_OUTBOX, NULL, 0, NULL, 0, s_copy_first, &next, &err);
        store_abort (&txn);
    }
    if (next.ticket && next.damaged) {
        dt_err_set (&err, "INTERNAL", "outbox entry %" PRIu64 " is damaged", next.ticket);
        zsys_error ("node %s: %s", self->node, err.message);
        msgpack_sbuffer failure;
        msgpack_sbuffer_init (&failure);
        proto_reply_encode (&failure, next.ticket, NULL, &err);
        dt_err_reset (&err);
        int rc = node_outbox_settle (self, next.ticket, failure.data, failure.size, &err);
        msgpack_sbuffer_destroy (&failure);
        next.ticket = rc == 0? s_take_next (self): 0;
    }
    dt_err_reset (&err);
    return next.ticket;
}

/* Send the next entry when idle, resend the one in flight when its time is up. */
static void
s_deliver (node_outbox_t *self)
{
    if (!self->opts)
        return;
    int64_t now = zclock_mono ();
    if (!self->inflight) {
        self->inflight = s_take_next (self);
        if (!self->inflight)
            return;
        self->backoff_ms = NODE_OUTBOX_RETRY_MS;
    }
    else
    if (now < self->resend_at)
        return;
    else {
        client_destroy (&self->hub);
        self->backoff_ms = self->backoff_ms * 2 < NODE_OUTBOX_RETRY_MAX?
                           self->backoff_ms * 2: NODE_OUTBOX_RETRY_MAX;
    }
    self->resend_at = now + self->backoff_ms;
    //  On a fresh connection when resending: the old one may be dead, and a
    //  reply it still owes is recorded at the hub under the rid
    char what [DT_ID_MAX + 32];
    snprintf (what, sizeof (what), "node %s: forwarding to the hub", self->node);
    client_send_stored (&self->hub, self->opts, self->request.data, self->request.size, what);
}

//  Callers of forwarded writes

/* Answer a waiting caller with a reply body and forget it. The list cursor
   has moved past it already, so deleting it does not disturb a walk. */
static void
s_waiter_answer (node_outbox_t *self, void *handle, const msgpack_sbuffer *body)
{
    s_waiter_t *waiter = zlistx_handle_item (handle);
    server_reply (self->router, &waiter->peer, body->data, body->size);
    zlistx_delete (self->waiters, handle);
}

/* The hub decided ticket: its reply goes to whoever still waits for it. */
static void
s_waiters_settle (node_outbox_t *self, uint64_t ticket)
{
    dt_err_t err;
    dt_err_init (&err);
    s_waiter_t *waiter = zlistx_first (self->waiters);
    while (waiter) {
        void *handle = zlistx_cursor (self->waiters);
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        bool answer = waiter->ticket == ticket
                   && node_outbox_reply (self, ticket, waiter->id, &body, &err) == 0;
        waiter = zlistx_next (self->waiters);
        if (answer)
            s_waiter_answer (self, handle, &body);
        msgpack_sbuffer_destroy (&body);
    }
    dt_err_reset (&err);
}

/* Callers that waited long enough hear { state: "pending", ticket }. */
static void
s_waiters_expire (node_outbox_t *self)
{
    int64_t now = zclock_mono ();
    s_waiter_t *waiter = zlistx_first (self->waiters);
    while (waiter) {
        void *handle = zlistx_cursor (self->waiters);
        msgpack_sbuffer result, body;
        msgpack_sbuffer_init (&result);
        msgpack_sbuffer_init (&body);
        bool due = now >= waiter->deadline;
        if (due) {
            msgpack_packer pk;
            msgpack_packer_init (&pk, &result, msgpack_sbuffer_write);
            msgpack_pack_map (&pk, 2);
            proto_pack_key (&pk, "state");
            proto_pack_str (&pk, "pending");
            proto_pack_key (&pk, "ticket");
            msgpack_pack_uint64 (&pk, waiter->ticket);
            proto_reply_encode (&body, waiter->id, &result, NULL);
        }
        waiter = zlistx_next (self->waiters);
        if (due)
            s_waiter_answer (self, handle, &body);
        msgpack_sbuffer_destroy (&result);
        msgpack_sbuffer_destroy (&body);
    }
}

int
node_outbox_forward (node_outbox_t *self, const proto_req_t *req, const char *actor,
                     const char *as, zframe_t **peer_p, dt_err_t *err)
{
    assert (self->router);
    uint64_t ticket;
    int rc = node_outbox_append (self, req->op, req->args, actor, as, req->rid, &ticket, err);
    if (rc < 0)
        return -1;
    //  A client rid seen before: its outcome if settled, else wait for it
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    if (rc == 1 && node_outbox_reply (self, ticket, req->id, &body, err) == 0)
        server_reply (self->router, peer_p, body.data, body.size);
    else {
        s_waiter_t *waiter = (s_waiter_t *) zmalloc (sizeof (s_waiter_t));
        waiter->ticket = ticket;
        waiter->peer = *peer_p;
        *peer_p = NULL;
        waiter->id = req->id;
        waiter->deadline = zclock_mono () + NODE_OUTBOX_PENDING_MS;
        zlistx_add_end (self->waiters, waiter);
        s_deliver (self);
    }
    msgpack_sbuffer_destroy (&body);
    //  The request is queued: a failure to read an outcome above only means
    //  the caller waits for it instead
    dt_err_reset (err);
    return 0;
}

size_t
node_outbox_waiting (node_outbox_t *self)
{
    return zlistx_size (self->waiters);
}

//  The loop

void
node_outbox_pump (node_outbox_t *self)
{
    s_deliver (self);
    s_waiters_expire (self);
}

int
node_outbox_wait_ms (node_outbox_t *self)
{
    int64_t first = INT64_MAX;
    if (self->opts && self->inflight)
        first = self->resend_at;
    for (s_waiter_t *waiter = zlistx_first (self->waiters); waiter;
         waiter = zlistx_next (self->waiters))
        if (waiter->deadline < first)
            first = waiter->deadline;
    if (first == INT64_MAX)
        return -1;
    int64_t left = first - zclock_mono ();
    return left > 0? (int) left: 0;
}

int
node_outbox_recv (node_outbox_t *self, uint64_t *ticket)
{
    if (!self->hub)
        return 0;
    proto_reply_t reply;
    dt_err_t err;
    dt_err_init (&err);
    int settled = 0;
    if (client_recv (self->hub, 0, &reply, &err) == 0 && !*reply.push
    &&  self->inflight && reply.id == self->inflight) {
        //  The hub decided nothing: the same request (same rid) goes again
        //  at its resend time; any other answer is the outcome
        if (!reply.ok && dt_err_retryable (reply.code))
            zsys_warning ("node %s: the hub answered ticket %" PRIu64 " with %s (%s), "
                          "retrying", self->node, self->inflight, reply.code, reply.message);
        else {
            msgpack_sbuffer body;
            msgpack_sbuffer_init (&body);
            msgpack_packer pk;
            msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
            msgpack_pack_object (&pk, reply.unpacked.data);
            if (node_outbox_settle (self, self->inflight, body.data, body.size, &err) == 0) {
                *ticket = self->inflight;
                self->inflight = 0;
                settled = 1;
            }
            else
                zsys_error ("node %s: recording the outcome of ticket %" PRIu64 " failed: "
                            "%s", self->node, self->inflight, err.message);
            msgpack_sbuffer_destroy (&body);
        }
    }
    proto_reply_release (&reply);
    dt_err_reset (&err);
    if (settled) {
        if (self->router)
            s_waiters_settle (self, *ticket);
        s_deliver (self);
    }
    return settled;
}

//  Self-test: the bookkeeping without a hub, then delivery to a fake hub

/* Encode a reply from its text-form result ("" = error with code). */
static void
s_test_reply (msgpack_sbuffer *out, uint64_t id, const char *result, const char *code)
{
    dt_err_t err;
    dt_err_init (&err);
    msgpack_sbuffer packed;
    msgpack_sbuffer_init (&packed);
    if (code) {
        dt_err_set (&err, code, "member m-1 is locked to hall h-1 (branch b-1)");
        dt_err_detail (&err, 3, "row 3 is bad");
    }
    else
        assert (op_args_text (result, &packed) == 0);
    proto_reply_encode (out, id, code? NULL: &packed, &err);
    msgpack_sbuffer_destroy (&packed);
    dt_err_reset (&err);
}

/* request.status of a ticket, decoded: state into out, -1 when refused. */
static int
s_test_status (store_t *store, uint64_t ticket, char *state, char *detail)
{
    store_txn_t txn;
    dt_err_t err;
    dt_err_init (&err);
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &out, msgpack_sbuffer_write);
    int rc = node_outbox_status (&txn, ticket, &pk, &err);
    store_abort (&txn);
    if (rc == 0) {
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        assert (msgpack_unpack_next (&unpacked, out.data, out.size, NULL)
                == MSGPACK_UNPACK_SUCCESS);
        assert (proto_obj_str (proto_map_get (&unpacked.data, "state"), state, 15));
        const msgpack_object *result = proto_map_get (&unpacked.data, "result");
        const msgpack_object *error = proto_map_get (&unpacked.data, "error");
        detail [0] = 0;
        if (result && result->type == MSGPACK_OBJECT_MAP)
            proto_obj_str (proto_map_get (result, "id"), detail, 63);
        if (error && error->type == MSGPACK_OBJECT_MAP)
            proto_obj_str (proto_map_get (error, "code"), detail, 63);
        msgpack_unpacked_destroy (&unpacked);
    }
    else
        assert (streq (err.code, "NOT_FOUND"));
    msgpack_sbuffer_destroy (&out);
    dt_err_reset (&err);
    return rc;
}

/* Receive one forwarded request at the fake hub; returns its peer. The body
   goes into `body`. */
static zframe_t *
s_test_hub_take (zsock_t *hub, proto_req_t *req, msgpack_sbuffer *body)
{
    zmsg_t *msg = zmsg_recv (hub);
    assert (msg && zmsg_size (msg) == 3);
    zframe_t *peer = zmsg_pop (msg);
    zframe_t *empty = zmsg_pop (msg);
    zframe_t *frame = zmsg_pop (msg);
    msgpack_sbuffer_clear (body);
    msgpack_sbuffer_write (body, (const char *) zframe_data (frame), zframe_size (frame));
    dt_err_t err;
    dt_err_init (&err);
    msgpack_unpacked_init (&req->unpacked);
    assert (proto_req_decode (req, body->data, body->size, &err) == 0);
    zframe_destroy (&empty);
    zframe_destroy (&frame);
    zmsg_destroy (&msg);
    return peer;
}

/* The stored outbox entry of ticket, byte for byte. */
static bool
s_test_stored_is (store_t *store, uint64_t ticket, const msgpack_sbuffer *body)
{
    store_txn_t txn;
    dt_err_t err;
    dt_err_init (&err);
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    uint8_t key [8];
    store_seq_key (ticket, key);
    const void *val = NULL;
    size_t size = 0;
    bool same = store_get (&txn, TBL_OUTBOX, key, 8, &val, &size, &err) == 0
             && size == body->size && memcmp (val, body->data, size) == 0;
    store_abort (&txn);
    return same;
}

/* Wait for the outbox's socket and take what came; returns what recv did. */
static int
s_test_outbox_recv (node_outbox_t *outbox, uint64_t *settled)
{
    zpoller_t *poller = zpoller_new (node_outbox_sock (outbox), NULL);
    assert (zpoller_wait (poller, 2000));
    zpoller_destroy (&poller);
    return node_outbox_recv (outbox, settled);
}

static void
s_test_hub_answer (zsock_t *hub, zframe_t **peer_p, msgpack_sbuffer *reply)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, peer_p);
    zmsg_addmem (msg, NULL, 0);
    zmsg_addmem (msg, reply->data, reply->size);
    zmsg_send (&msg, hub);
}

static void
s_test_delivery (store_t *store)
{
    dt_err_t err;
    dt_err_init (&err);
    zsock_t *hub = zsock_new_router ("inproc://node-outbox-test");
    assert (hub);
    client_opts_t opts = { .endpoint = "inproc://node-outbox-test", .insecure = true };
    node_outbox_t *outbox = node_outbox_new (store, "n1", &opts, NULL, &err);
    assert (outbox);
    uint64_t ticket;
    msgpack_sbuffer args;
    msgpack_sbuffer_init (&args);
    assert (op_args_text ("id=m-9 branch=b-1", &args) == 0);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, args.data, args.size, NULL)
            == MSGPACK_UNPACK_SUCCESS);
    assert (node_outbox_append (outbox, "member.join", &unpacked.data, "admin", "admin",
                                NULL, &ticket, &err) == 0);
    //  The queue is delivered in order, one at a time, each under its rid,
    //  each as it was stored
    uint64_t first = ticket - 1;
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    for (uint64_t expect = first; expect <= ticket; expect++) {
        node_outbox_pump (outbox);
        assert (node_outbox_sock (outbox) && node_outbox_wait_ms (outbox) >= 0);
        proto_req_t req;
        zframe_t *peer = s_test_hub_take (hub, &req, &body);
        assert (req.id == expect && s_test_stored_is (store, expect, &body));
        char rid [DT_ID_MAX * 2];
        snprintf (rid, sizeof (rid), "n1:%" PRIu64 "@", expect);
        assert (strncmp (req.rid, rid, strlen (rid)) == 0);
        assert (streq (req.op, expect == ticket? "member.join": "member.leave"));
        //  Each goes for the key that asked, when the hub knows that key
        assert (streq (req.as, expect == ticket? "admin": ""));
        //  Nothing else is sent while this one waits
        node_outbox_pump (outbox);
        assert (!(zsock_events (hub) & ZMQ_POLLIN));
        msgpack_sbuffer reply;
        msgpack_sbuffer_init (&reply);
        uint64_t settled = 0;
        if (expect == ticket) {
            //  A storage failure at the hub decides nothing: no outcome,
            //  and the same request goes again at its resend time
            s_test_reply (&reply, expect, NULL, "INTERNAL");
            s_test_hub_answer (hub, &peer, &reply);
            assert (s_test_outbox_recv (outbox, &settled) == 0);
            assert (node_outbox_depth (outbox) == 1);
            msgpack_sbuffer first_body;
            msgpack_sbuffer_init (&first_body);
            msgpack_sbuffer_write (&first_body, body.data, body.size);
            proto_req_release (&req);
            for (int round = 0; round < 400 && !(zsock_events (hub) & ZMQ_POLLIN); round++) {
                zclock_sleep (10);
                node_outbox_pump (outbox);
            }
            peer = s_test_hub_take (hub, &req, &body);
            assert (body.size == first_body.size
                 && memcmp (body.data, first_body.data, body.size) == 0);
            msgpack_sbuffer_destroy (&first_body);
            msgpack_sbuffer_clear (&reply);
        }
        s_test_reply (&reply, expect, "id=m-9", NULL);
        s_test_hub_answer (hub, &peer, &reply);
        msgpack_sbuffer_destroy (&reply);
        proto_req_release (&req);
        assert (s_test_outbox_recv (outbox, &settled) == 1 && settled == expect);
    }
    assert (node_outbox_depth (outbox) == 0 && node_outbox_wait_ms (outbox) == -1);
    char state [16], detail [64];
    assert (s_test_status (store, ticket, state, detail) == 0 && streq (state, "done"));
    //  A final refusal is the outcome
    assert (node_outbox_append (outbox, "member.join", &unpacked.data, "admin", NULL,
                                NULL, &ticket, &err) == 0);
    node_outbox_pump (outbox);
    proto_req_t req;
    zframe_t *peer = s_test_hub_take (hub, &req, &body);
    assert (req.id == ticket && streq (req.as, ""));
    proto_req_release (&req);
    msgpack_sbuffer reply;
    msgpack_sbuffer_init (&reply);
    s_test_reply (&reply, ticket, NULL, "FULL");
    s_test_hub_answer (hub, &peer, &reply);
    msgpack_sbuffer_destroy (&reply);
    uint64_t settled = 0;
    assert (s_test_outbox_recv (outbox, &settled) == 1 && settled == ticket);
    assert (s_test_status (store, ticket, state, detail) == 0);
    assert (streq (state, "failed") && streq (detail, "FULL"));
    msgpack_sbuffer_destroy (&body);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&args);
    node_outbox_destroy (&outbox);
    zsock_destroy (&hub);
    dt_err_reset (&err);
}

void
node_outbox_test (bool verbose)
{
    (void) verbose;
    char dir [] = "/tmp/duotang-node-outbox-test-XXXXXX";
    assert (mkdtemp (dir));
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = store_new (dir, 64, &err);
    assert (store);
    node_outbox_t *outbox = node_outbox_new (store, "n1", NULL, NULL, &err);
    assert (outbox && node_outbox_sock (outbox) == NULL);

    //  Appends are numbered; a repeated client rid queues nothing new
    msgpack_sbuffer args;
    msgpack_sbuffer_init (&args);
    assert (op_args_text ("id=m-1 hall=h-1", &args) == 0);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, args.data, args.size, NULL)
            == MSGPACK_UNPACK_SUCCESS);
    uint64_t ticket = 0, again = 0;
    assert (node_outbox_append (outbox, "member.join", &unpacked.data, "admin", NULL,
                                NULL, &ticket, &err) == 0 && ticket == 1);
    assert (node_outbox_append (outbox, "member.leave", &unpacked.data, "admin", NULL,
                                "r-1", &ticket, &err) == 0 && ticket == 2);
    assert (node_outbox_append (outbox, "member.leave", &unpacked.data, "admin", NULL,
                                "r-1", &again, &err) == 1 && again == 2);
    assert (node_outbox_depth (outbox) == 2);
    char state [16], detail [64];
    assert (s_test_status (store, 1, state, detail) == 0 && streq (state, "pending"));
    assert (s_test_status (store, 3, state, detail) == -1);

    //  The outbox survives a restart (the same store opened again)
    node_outbox_destroy (&outbox);
    outbox = node_outbox_new (store, "n1", NULL, NULL, &err);
    assert (node_outbox_depth (outbox) == 2);

    //  Settling moves an entry to its outcome, in one transaction
    msgpack_sbuffer reply, readdressed;
    msgpack_sbuffer_init (&reply);
    msgpack_sbuffer_init (&readdressed);
    s_test_reply (&reply, 1, "id=m-1 seat=hall", NULL);
    assert (node_outbox_reply (outbox, 1, 77, &readdressed, &err) == 1);
    assert (node_outbox_settle (outbox, 1, reply.data, reply.size, &err) == 0);
    assert (node_outbox_depth (outbox) == 1);
    assert (s_test_status (store, 1, state, detail) == 0);
    assert (streq (state, "done") && streq (detail, "m-1"));
    assert (node_outbox_reply (outbox, 1, 77, &readdressed, &err) == 0);
    proto_reply_t decoded;
    assert (proto_reply_decode (&decoded, readdressed.data, readdressed.size, &err) == 0);
    assert (decoded.id == 77 && decoded.ok);
    proto_reply_release (&decoded);

    //  A refusal is an outcome too, kept with its details
    msgpack_sbuffer_clear (&reply);
    msgpack_sbuffer_clear (&readdressed);
    s_test_reply (&reply, 2, NULL, "LOCKED");
    assert (node_outbox_settle (outbox, 2, reply.data, reply.size, &err) == 0);
    assert (s_test_status (store, 2, state, detail) == 0);
    assert (streq (state, "failed") && streq (detail, "LOCKED"));
    assert (node_outbox_readdress (reply.data, reply.size, 5, &readdressed) == 0);
    assert (proto_reply_decode (&decoded, readdressed.data, readdressed.size, &err) == 0);
    assert (decoded.id == 5 && !decoded.ok && streq (decoded.code, "LOCKED"));
    assert (decoded.details && decoded.details->via.array.size == 1);
    proto_reply_release (&decoded);
    assert (node_outbox_depth (outbox) == 0);
    //  The rid still names its ticket after it settled
    assert (node_outbox_append (outbox, "member.leave", &unpacked.data, "admin", NULL,
                                "r-1", &again, &err) == 1 && again == 2);
    msgpack_sbuffer_destroy (&reply);
    msgpack_sbuffer_destroy (&readdressed);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&args);

    //  Delivery to a hub: queue one entry more and send both in order
    assert (node_outbox_append (outbox, "member.leave", NULL, "admin", NULL, NULL,
                                &ticket, &err) == 0 && ticket == 3);
    node_outbox_destroy (&outbox);
    s_test_delivery (store);

    //  An entry queued in the format before ({ op, args, actor, ts, as }) is
    //  rewritten, once, as the request that delivers it
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    uint8_t key [8];
    store_seq_key (50, key);
    msgpack_sbuffer entry;
    msgpack_sbuffer_init (&entry);
    assert (op_args_text ("op=member.leave args={id=m-7} actor=zhang ts:=1 as=zhang",
                          &entry) == 0);
    assert (store_put (&txn, TBL_OUTBOX, key, 8, entry.data, entry.size, &err) == 0);
    assert (store_commit (&txn, &err) == 0);
    outbox = node_outbox_new (store, "n1", NULL, NULL, &err);
    assert (outbox);
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    const void *val = NULL;
    size_t size = 0;
    assert (store_get (&txn, TBL_OUTBOX, key, 8, &val, &size, &err) == 0);
    proto_req_t req;
    msgpack_unpacked_init (&req.unpacked);
    assert (proto_req_decode (&req, val, size, &err) == 0);
    assert (req.id == 50 && streq (req.op, "member.leave") && streq (req.as, "zhang"));
    assert (strncmp (req.rid, "n1:50@", 6) == 0);
    char member [DT_ID_MAX + 1];
    assert (proto_arg_id (req.args, "id", true, member, &err) == 1 && streq (member, "m-7"));
    proto_req_release (&req);
    store_abort (&txn);
    msgpack_sbuffer_destroy (&entry);
    node_outbox_destroy (&outbox);

    store_destroy (&store);
    store_remove (dir);
    dt_err_reset (&err);
}

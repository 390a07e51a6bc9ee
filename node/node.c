/* node.c -- duotang-node: the replica served to local clients, writes forwarded. */
#include "node.h"
#include "node_sync.h"
#include "node_outbox.h"
#include "node_keys.h"
#include "node_content.h"
#include "content.h"
#include "query.h"
#include "report.h"
#include "keys.h"
#include "server.h"
#include "monitor.h"

/* Hard limit at which libzmq drops the connection instead of delivering. */
/* Longest wait of one loop round, so the timers stay on time. */
#define NODE_TICK_MS    250

struct _node_server_t {
    node_config_t config;
    client_opts_t hub_opts;     /* points into config */
    store_t *store;             /* the replica, the outbox and its outcomes */
    zsock_t *router;
    zactor_t *refusals;         /* logs the handshakes the router refuses */
    zcert_t *cert;              /* the node's own key pair */
    zactor_t *auth;             /* zauth ZAP handler */
    node_keys_t *keys;          /* the keys of local clients */
    node_sync_t *sync;
    node_outbox_t *outbox;      /* forwarded writes and the callers waiting for them */
    node_content_t *content;    /* content judged here, and its uplink */
    char endpoint [256];
};


void
node_config_defaults (node_config_t *config)
{
    memset (config, 0, sizeof (*config));
    snprintf (config->endpoint, sizeof (config->endpoint), "tcp://127.0.0.1:7701");
    config->mapsize_mb = 4096;
}

//  Lifecycle

/* Fail at start, not on every reconnect, when the hub keys cannot be used. */
static int
s_check_hub_keys (node_server_t *self, dt_err_t *err)
{
    if (self->config.insecure) {
        if (!keys_endpoint_is_local (self->config.hub))
            return dt_err_set (err, "DENIED", "--insecure is allowed on loopback only, not "
                               "hub %s", self->config.hub);
        return 0;
    }
    if (!*self->config.key_file || !*self->config.hub_key)
        return dt_err_set (err, "BAD_ARGS", "talking to the hub needs the node's key (-k) "
                           "and the hub's public key (--hub-key); or --insecure on loopback");
    zcert_t *own = keys_load_secret (self->config.key_file, err);
    zcert_t *hub = own? keys_load_public (self->config.hub_key, err): NULL;
    zcert_destroy (&own);
    if (!hub)
        return -1;
    zcert_destroy (&hub);
    return 0;
}

node_server_t *
node_new (const node_config_t *config, dt_err_t *err)
{
    if (!dt_id_valid (config->id, strlen (config->id))) {
        dt_err_set (err, "BAD_ARGS", "the node id (-n) must be 1..64 of [A-Za-z0-9._-]");
        return NULL;
    }
    if (config->insecure && !keys_endpoint_is_local (config->endpoint)) {
        dt_err_set (err, "DENIED", "--insecure is allowed on loopback only, not %s",
                    config->endpoint);
        return NULL;
    }
    node_server_t *self = (node_server_t *) zmalloc (sizeof (node_server_t));
    self->config = *config;
    if (!*self->config.datadir)
        snprintf (self->config.datadir, sizeof (self->config.datadir), "./var/node-%s",
                  config->id);
    self->hub_opts = (client_opts_t) { .endpoint = self->config.hub,
                                       .key_file = self->config.key_file,
                                       .server_key = self->config.hub_key,
                                       .insecure = self->config.insecure };
    if (s_check_hub_keys (self, err))
        goto failed;
    self->store = store_new (self->config.datadir, self->config.mapsize_mb, err);
    if (!self->store || tree_upgrade (self->store, err))
        goto failed;
    if (!self->config.insecure
    &&  keys_server (self->config.datadir, "node", &self->cert, &self->auth, err))
        goto failed;
    self->keys = node_keys_new (self->store, &self->config, self->auth, err);
    if (!self->keys)
        goto failed;
    self->router = server_bind (self->config.endpoint, self->config.insecure? NULL: self->cert,
                                self->config.datadir, self->endpoint, sizeof (self->endpoint),
                                err);
    if (!self->router)
        goto failed;
    self->refusals = monitor_refusals_new (self->router);
    self->outbox = node_outbox_new (self->store, self->config.id, &self->hub_opts,
                                    self->router, err);
    if (!self->outbox)
        goto failed;
    self->sync = node_sync_new (self->store, self->config.id, &self->hub_opts);
    self->content = node_content_new (self->store, self->config.id, &self->hub_opts);
    //  Entries left from before a restart go out first
    node_outbox_pump (self->outbox);
    return self;
failed:
    node_destroy (&self);
    return NULL;
}

void
node_destroy (node_server_t **self_p)
{
    assert (self_p);
    node_server_t *self = *self_p;
    if (self) {
        node_sync_destroy (&self->sync);
        node_content_destroy (&self->content);
        node_outbox_destroy (&self->outbox);
        zactor_destroy (&self->refusals);
        zsock_destroy (&self->router);
        node_keys_destroy (&self->keys);
        zactor_destroy (&self->auth);
        zcert_destroy (&self->cert);
        store_destroy (&self->store);
        free (self);
        *self_p = NULL;
    }
}

const char *
node_endpoint (node_server_t *self)
{
    return self->endpoint;
}

//  Node-local operations

typedef struct {
    op_ctx_t *ctx;
    zlistx_t *ids;
} s_branch_ids_t;

static int
s_collect_branch_id (const branch_t *branch, void *arg)
{
    s_branch_ids_t *walk = arg;
    if (op_covers (walk->ctx, branch->id))
        zlistx_add_end (walk->ids, (void *) branch->id);
    return 0;
}

/* HELLO [versions] */
static int
s_hello (op_ctx_t *ctx, const msgpack_object *args)
{
    node_server_t *self = ctx->server;
    //  The branches this node serves that the key may see
    zlistx_t *ids = zlistx_new ();
    zlistx_set_duplicator (ids, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor (ids, (zlistx_destructor_fn *) zstr_free);
    s_branch_ids_t walk = { ctx, ids };
    int rc = tree_branch_visit (ctx->txn, s_collect_branch_id, &walk, ctx->err);
    if (rc == 0)
        rc = op_hello (ctx, args, "duotang-node " DT_VERSION, self->config.id, ids, 1);
    if (rc == 0) {
        proto_pack_key (ctx->pk, "hub_connected");
        if (node_sync_connected (self->sync))
            msgpack_pack_true (ctx->pk);
        else
            msgpack_pack_false (ctx->pk);
    }
    zlistx_destroy (&ids);
    return rc;
}

/* REQUEST STATUS ticket */
static int
s_request_status (op_ctx_t *ctx, const msgpack_object *args)
{
    uint64_t ticket;
    if (proto_arg_uint (args, "ticket", true, &ticket, ctx->err) < 0)
        return -1;
    return node_outbox_status (ctx->txn, ticket, ctx->pk, ctx->err);
}

static const op_t s_node_ops [] = {
    { "hello", s_hello },
    { "request.status", s_request_status },
    { NULL, NULL }
};

/* What a node binds: its own operations, the reads of its replica and the
   content of its branches. The catalogue says which it answers (OP_NODE);
   query_ops' hub-only reads stay unused here. */
static const op_t *const s_bindings [] = { s_node_ops, query_ops, content_ops, report_ops,
                                            NULL };

//  Requests

/* Send a reply body to a caller; takes the peer frame. */
static void
s_send (node_server_t *self, zframe_t **peer_p, const msgpack_sbuffer *body)
{
    server_reply (self->router, peer_p, body->data, body->size);
}

/* Run an op on a read transaction of the replica. */
static void
s_call (node_server_t *self, const op_t *op, proto_req_t *req, const dt_key_t *key,
        zframe_t *peer, msgpack_sbuffer *result, dt_err_t *err)
{
    store_txn_t txn;
    if (store_begin (self->store, &txn, NULL, false, err))
        return;
    msgpack_packer pk;
    msgpack_packer_init (&pk, result, msgpack_sbuffer_write);
    op_ctx_t ctx = { .txn = &txn, .key = key, .pk = &pk, .err = err, .now = dt_now_ms (),
                     .server = self, .peer = peer, .node = self->config.id };
    op_call (op, &ctx, req->args);
    store_abort (&txn);
}

/* Queue a membership write for the hub, to be judged there in the scope of
   the key that asked (`as`, when the hub knows it). The outbox answers the
   caller later: with the hub's reply, or with "pending". Returns -1 with err
   when it is refused at once. */
static int
s_forward (node_server_t *self, const catalogue_op_t *info, proto_req_t *req,
           const dt_key_t *key, const char *as, zframe_t **peer_p, dt_err_t *err)
{
    //  A typo fails at once, hub or no hub
    if (catalogue_args_check (info, req->args, err))
        return -1;
    return node_outbox_forward (self->outbox, req, key->name, as, peer_p, err);
}

/* Serve a decoded request from key (known at the hub as `as`, or NULL). The
   reply is left in result or err, unless the request took *peer_p to answer
   it later. */
static void
s_dispatch (node_server_t *self, proto_req_t *req, const dt_key_t *key, const char *as,
            zframe_t **peer_p, msgpack_sbuffer *result, dt_err_t *err)
{
    if (*req->as) {
        dt_err_set (err, "DENIED", "\"as\" is for nodes forwarding to the hub, not for "
                    "clients of node %s", self->config.id);
        return;
    }
    //  Answer here, forward to the hub or refuse naming it: the catalogue's
    //  flags decide (PROTOCOL.md 6.10)
    const catalogue_op_t *info = catalogue_find (req->op);
    switch (catalogue_route (info, OP_NODE)) {
        case CATALOGUE_SERVE:
            //  The only writes a node serves are its branches' content: they
            //  join the round's group commit
            if (info->flags & OP_WRITE)
                node_content_call (self->content, op_bind (s_bindings, req->op), req, key,
                                   peer_p, result, err);
            else
                s_call (self, op_bind (s_bindings, req->op), req, key, *peer_p, result, err);
            break;
        case CATALOGUE_FORWARD:
            s_forward (self, info, req, key, as, peer_p, err);
            break;
        default:
            catalogue_refuse (info, req->op, OP_NODE, self->config.id, err);
    }
}

/* One message from a local client: [peer, "", body]. */
static void
s_serve (node_server_t *self, zmsg_t *msg)
{
    proto_req_t req;
    memset (&req, 0, sizeof (req));
    msgpack_unpacked_init (&req.unpacked);
    dt_err_t err;
    dt_err_init (&err);
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    zframe_t *peer = NULL;
    zframe_t *body = server_take_body (msg, &peer, &err);
    if (body
    &&  proto_req_decode (&req, zframe_data (body), zframe_size (body), &err) == 0) {
        const char *as = NULL;
        const dt_key_t *key = node_keys_of (self->keys, body, &as, &err);
        if (key)
            s_dispatch (self, &req, key, as, &peer, &result, &err);
    }
    if (peer) {
        msgpack_sbuffer reply;
        msgpack_sbuffer_init (&reply);
        proto_reply_encode (&reply, req.id, dt_err_is_set (&err)? NULL: &result, &err);
        s_send (self, &peer, &reply);
        msgpack_sbuffer_destroy (&reply);
    }
    msgpack_sbuffer_destroy (&result);
    proto_req_release (&req);
    dt_err_reset (&err);
    zframe_destroy (&body);
}

//  The loop

/* The replica's keys or branches changed: admit the keys they now name. A
   failure keeps the keys admitted before, and is tried again at the next
   such change. */
static void
s_keys_reload (node_server_t *self)
{
    dt_err_t err;
    dt_err_init (&err);
    if (node_keys_reload (self->keys, &err))
        zsys_error ("node %s: reloading keys failed: %s", self->config.id, err.message);
    dt_err_reset (&err);
}

static int
s_min_wait (int a, int b)
{
    return b >= 0 && b < a? b: a;
}

void
node_step (node_server_t *self, int timeout_ms)
{
    zmq_pollitem_t items [4] = {
        { zsock_resolve (self->router), 0, ZMQ_POLLIN, 0 }
    };
    int count = 1;
    zsock_t *sync = node_sync_sock (self->sync), *outbox = node_outbox_sock (self->outbox);
    if (sync)
        items [count++] = (zmq_pollitem_t) { zsock_resolve (sync), 0, ZMQ_POLLIN, 0 };
    if (outbox)
        items [count++] = (zmq_pollitem_t) { zsock_resolve (outbox), 0, ZMQ_POLLIN, 0 };
    zsock_t *uplink = node_content_sock (self->content);
    if (uplink)
        items [count++] = (zmq_pollitem_t) { zsock_resolve (uplink), 0, ZMQ_POLLIN, 0 };
    timeout_ms = s_min_wait (timeout_ms, node_content_wait_ms (self->content));
    timeout_ms = s_min_wait (timeout_ms, node_outbox_wait_ms (self->outbox));
    if (zmq_poll (items, count, timeout_ms) > 0) {
        //  A bounded number of client requests per round: the hub's pushes
        //  and replies are not starved by a busy client
        for (int i = 0; i < 1000 && (zsock_events (self->router) & ZMQ_POLLIN); i++) {
            zmsg_t *msg = zmsg_recv (self->router);
            if (!msg)
                break;
            s_serve (self, msg);
            zmsg_destroy (&msg);
        }
        //  The round's content writes become durable together, with what the
        //  hub confirmed meanwhile, then answered
        node_content_recv (self->content);
        node_content_flush (self->content, self->router);
        node_sync_recv (self->sync);
        if (node_sync_admission_changed (self->sync))
            s_keys_reload (self);
        outbox = node_outbox_sock (self->outbox);
        uint64_t ticket;
        while (outbox && (zsock_events (outbox) & ZMQ_POLLIN)) {
            node_outbox_recv (self->outbox, &ticket);
            outbox = node_outbox_sock (self->outbox);
        }
    }
    node_sync_tick (self->sync);
    node_outbox_pump (self->outbox);
    node_content_pump (self->content);
}

void
node_run (node_server_t *self)
{
    zsys_info ("duotang-node %s: node %s listening on %s, hub at %s (applied %" PRIu64
               ", outbox %" PRIu64 ")%s", DT_VERSION, self->config.id, self->endpoint,
               self->config.hub, node_sync_applied (self->sync),
               node_outbox_depth (self->outbox),
               self->config.insecure? " (INSECURE: no CURVE, every peer is hq-admin)": "");
    while (!zsys_interrupted)
        node_step (self, NODE_TICK_MS);
    zsys_info ("duotang-node %s stopping", self->config.id);
}

//  Self-test: a node in process, a fake hub and a client on inproc

typedef struct {
    zsock_t *hub;               /* the fake hub's ROUTER */
    node_server_t *node;
    client_t *client;
    store_t *authority;         /* the fake hub's tree, to log real changes */
    zmsg_t *request;            /* the fake hub's last request: args point into it */
} s_rig_t;

/* Send a request to the node (args in text form, "" for none). */
static uint64_t
s_test_send (s_rig_t *rig, const char *op, const char *args_text)
{
    msgpack_sbuffer args;
    msgpack_sbuffer_init (&args);
    assert (op_args_text (args_text, &args) == 0);
    uint64_t id = client_send (rig->client, op, *args_text? &args: NULL);
    msgpack_sbuffer_destroy (&args);
    return id;
}

/* Run the node's loop until the reply to request id is there. */
static void
s_test_wait (s_rig_t *rig, uint64_t id, proto_reply_t *reply)
{
    dt_err_t err;
    dt_err_init (&err);
    for (int round = 0; round < 400; round++) {
        node_step (rig->node, 10);
        if (zsock_events (client_sock (rig->client)) & ZMQ_POLLIN) {
            assert (client_recv (rig->client, 0, reply, &err) == 0);
            assert (reply->id == id);
            return;
        }
    }
    assert (!"no reply from the node");
}

static void
s_test_call (s_rig_t *rig, const char *op, const char *args_text, proto_reply_t *reply)
{
    s_test_wait (rig, s_test_send (rig, op, args_text), reply);
}

/* A request carrying "as", which only nodes may send (to the hub). */
static void
s_test_call_as (s_rig_t *rig, const char *op, const char *args_text, const char *as,
                proto_reply_t *reply)
{
    msgpack_sbuffer args, body;
    msgpack_sbuffer_init (&args);
    msgpack_sbuffer_init (&body);
    assert (op_args_text (args_text, &args) == 0);
    proto_req_encode_as (&body, 999, op, &args, NULL, as);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, NULL, 0);
    zmsg_addmem (msg, body.data, body.size);
    zmsg_send (&msg, client_sock (rig->client));
    msgpack_sbuffer_destroy (&args);
    msgpack_sbuffer_destroy (&body);
    s_test_wait (rig, 999, reply);
}

/* The next request at the fake hub for op (others, e.g. sync.ack, are
   skipped), running the node meanwhile. Returns the peer. */
static zframe_t *
s_test_hub_next (s_rig_t *rig, const char *op, proto_req_t *req)
{
    dt_err_t err;
    dt_err_init (&err);
    for (int round = 0; round < 400; round++) {
        node_step (rig->node, 10);
        while (zsock_events (rig->hub) & ZMQ_POLLIN) {
            zmsg_destroy (&rig->request);
            rig->request = zmsg_recv (rig->hub);
            zframe_t *peer = zmsg_pop (rig->request);
            zframe_t *body = zmsg_last (rig->request);
            assert (proto_req_decode (req, zframe_data (body), zframe_size (body), &err) == 0);
            if (streq (req->op, op))
                return peer;
            zframe_destroy (&peer);
            proto_req_release (req);
        }
    }
    assert (!"no request at the fake hub");
    return NULL;
}

static void
s_test_hub_send (s_rig_t *rig, zframe_t *peer, msgpack_sbuffer *body)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *) { zframe_dup (peer) });
    zmsg_addmem (msg, NULL, 0);
    zmsg_addmem (msg, body->data, body->size);
    zmsg_send (&msg, rig->hub);
}

static void
s_test_hub_reply (s_rig_t *rig, zframe_t *peer, uint64_t id, const char *result_text)
{
    msgpack_sbuffer result, body;
    msgpack_sbuffer_init (&result);
    msgpack_sbuffer_init (&body);
    assert (op_args_text (result_text, &result) == 0);
    proto_reply_encode (&body, id, &result, NULL);
    s_test_hub_send (rig, peer, &body);
    msgpack_sbuffer_destroy (&result);
    msgpack_sbuffer_destroy (&body);
}

static int
s_test_collect_log (const void *key, size_t key_size, const void *val, size_t val_size,
                    void *arg)
{
    (void) key; (void) key_size;
    msgpack_sbuffer_write ((msgpack_sbuffer *) arg, val, val_size);
    return 0;
}

/* Push the authority's whole log to the node as one changes push. */
static void
s_test_hub_push (s_rig_t *rig, zframe_t *peer)
{
    store_txn_t txn;
    dt_err_t err;
    dt_err_init (&err);
    assert (store_begin (rig->authority, &txn, NULL, false, &err) == 0);
    msgpack_sbuffer entries, body;
    msgpack_sbuffer_init (&entries);
    msgpack_sbuffer_init (&body);
    assert (store_scan (&txn, TBL_LOG, NULL, 0, NULL, 0, s_test_collect_log, &entries,
                        &err) == 0);
    stream_push_t push = { .kind = STREAM_CHANGES, .upto = store_log_head (&txn),
                           .entries = entries.data, .entries_size = entries.size,
                           .nentries = (uint32_t) store_count (&txn, TBL_LOG) };
    stream_push_encode (&body, &push);
    store_abort (&txn);
    s_test_hub_send (rig, peer, &body);
    msgpack_sbuffer_destroy (&entries);
    msgpack_sbuffer_destroy (&body);
}

/* The authority: officer o-1, branch b-1 on n1 with core member m-1, and
   branch b-2 on n2. */
static void
s_test_authority (s_rig_t *rig, const char *dir)
{
    dt_err_t err;
    dt_err_init (&err);
    rig->authority = store_new (dir, 64, &err);
    assert (rig->authority);
    store_txn_t txn;
    assert (store_begin (rig->authority, &txn, NULL, true, &err) == 0);
    txn.log = true;
    officer_t officer = { .id = "o-1", .name = "张三", .created = 1 };
    branch_t b1 = { .id = "b-1", .name = "成都分舵", .leader = "o-1", .node = "n1" };
    branch_t b2 = { .id = "b-2", .name = "重庆分舵", .leader = "o-1", .node = "n2" };
    member_t m1 = { .id = "m-1", .name = "李四", .seat = SEAT_CORE, .group = "b-1" };
    member_t m2 = { .id = "m-2", .name = "王五", .seat = SEAT_CORE, .group = "b-2" };
    assert (tree_officer_put (&txn, &officer, &err) == 0
         && tree_branch_put (&txn, &b1, &err) == 0 && tree_branch_put (&txn, &b2, &err) == 0
         && tree_member_put (&txn, &m1, &err) == 0 && tree_member_put (&txn, &m2, &err) == 0);
    assert (store_commit (&txn, &err) == 0);
}

static void
s_test_expect_error (proto_reply_t *reply, const char *code)
{
    if (reply->ok || !streq (reply->code, code))
        printf ("\nexpected %s, got %s %s\n", code, reply->ok? "ok": reply->code,
                reply->message);
    assert (!reply->ok && streq (reply->code, code));
    proto_reply_release (reply);
}

static const char *
s_test_result_str (proto_reply_t *reply, const char *key, char *out, size_t size)
{
    out [0] = 0;
    assert (reply->ok && reply->result);
    proto_obj_str (proto_map_get (reply->result, key), out, size - 1);
    return out;
}

/* Start the node on its own client endpoint (an inproc name is freed only
   some time after its socket is closed). */
static void
s_test_start (s_rig_t *rig, const char *dir, const char *endpoint)
{
    node_config_t config;
    node_config_defaults (&config);
    snprintf (config.id, sizeof (config.id), "n1");
    snprintf (config.datadir, sizeof (config.datadir), "%s", dir);
    snprintf (config.hub, sizeof (config.hub), "inproc://node-test-hub");
    snprintf (config.endpoint, sizeof (config.endpoint), "%s", endpoint);
    config.insecure = true;
    config.mapsize_mb = 64;
    dt_err_t err;
    dt_err_init (&err);
    rig->node = node_new (&config, &err);
    assert (rig->node && streq (node_endpoint (rig->node), endpoint));
    client_opts_t opts = { .endpoint = endpoint, .insecure = true };
    rig->client = client_new (&opts, &err);
    assert (rig->client);
}

static void
s_test_stop (s_rig_t *rig)
{
    client_destroy (&rig->client);
    node_destroy (&rig->node);
}

void
node_test (bool verbose)
{
    (void) verbose;
    char dir [] = "/tmp/duotang-node-test-XXXXXX", hub_dir [] = "/tmp/duotang-node-hub-XXXXXX";
    assert (mkdtemp (dir) && mkdtemp (hub_dir));
    s_rig_t rig = { NULL };
    dt_err_t err;
    dt_err_init (&err);
    rig.hub = zsock_new_router ("inproc://node-test-hub");
    assert (rig.hub);
    s_test_authority (&rig, hub_dir);
    s_test_start (&rig, dir, "inproc://node-test");
    proto_reply_t reply;
    char text [DT_ID_MAX + 1];

    //  The node binds a handler to every operation the catalogue says it answers
    assert (op_bindings_check (s_bindings, OP_NODE, &err) == 0);

    //  Before any push: a node with an empty replica, not yet heard from the hub
    s_test_call (&rig, "hello", "", &reply);
    assert (streq (s_test_result_str (&reply, "node", text, sizeof (text)), "n1"));
    const msgpack_object *connected = proto_map_get (reply.result, "hub_connected");
    assert (connected && connected->type == MSGPACK_OBJECT_BOOLEAN && !connected->via.boolean);
    proto_reply_release (&reply);

    //  The session: sync.hello from 0, then the log; the node acks what it applied
    proto_req_t req;
    zframe_t *sync = s_test_hub_next (&rig, "sync.hello", &req);
    uint64_t from = 99;
    assert (proto_arg_uint (req.args, "from", true, &from, &err) == 1 && from == 0);
    s_test_hub_reply (&rig, sync, req.id, "snapshot:=false");
    proto_req_release (&req);
    s_test_hub_push (&rig, sync);
    zframe_t *acker = s_test_hub_next (&rig, "sync.ack", &req);
    uint64_t applied = 0;
    assert (proto_arg_uint (req.args, "applied", true, &applied, &err) == 1 && applied > 0);
    zframe_destroy (&acker);
    proto_req_release (&req);

    //  Reads come from the replica, for this node's branches only
    s_test_call (&rig, "member.show", "id=m-1", &reply);
    assert (reply.ok);
    proto_reply_release (&reply);
    s_test_call (&rig, "member.show", "id=m-2", &reply);
    s_test_expect_error (&reply, "NOT_FOUND");
    s_test_call (&rig, "hello", "", &reply);
    connected = proto_map_get (reply.result, "hub_connected");
    assert (connected && connected->via.boolean);
    const msgpack_object *branches = proto_map_get (reply.result, "branches");
    assert (branches && branches->via.array.size == 1);
    proto_reply_release (&reply);

    //  What the node does not serve is refused, and says why
    s_test_call (&rig, "branch.create", "id=b-9 name=x leader=o-1", &reply);
    assert (!reply.ok && strstr (reply.message, "served by the hub"));
    s_test_expect_error (&reply, "DENIED");
    s_test_call (&rig, "audit.list", "", &reply);
    s_test_expect_error (&reply, "DENIED");
    s_test_call (&rig, "no.such", "", &reply);
    s_test_expect_error (&reply, "UNKNOWN_OP");
    s_test_call (&rig, "member.join", "id=m-5 hal=h-1", &reply);
    s_test_expect_error (&reply, "BAD_ARGS");
    s_test_call (&rig, "request.status", "ticket:=42", &reply);
    s_test_expect_error (&reply, "NOT_FOUND");
    s_test_call_as (&rig, "member.leave", "id=m-1", "boss", &reply);
    s_test_expect_error (&reply, "DENIED");

    //  A membership write goes to the hub under rid NODE:SEQ@EPOCH; the hub's
    //  reply comes back to the caller under the caller's request id
    uint64_t id = s_test_send (&rig, "member.join", "id=m-3 branch=b-1");
    zframe_t *peer = s_test_hub_next (&rig, "member.join", &req);
    assert (req.id == 1 && strncmp (req.rid, "n1:1@", 5) == 0);
    assert (proto_arg_id (req.args, "id", true, text, &err) == 1 && streq (text, "m-3"));
    s_test_hub_reply (&rig, peer, req.id, "id=m-3 seat=core");
    zframe_destroy (&peer);
    proto_req_release (&req);
    s_test_wait (&rig, id, &reply);
    assert (streq (s_test_result_str (&reply, "seat", text, sizeof (text)), "core"));
    proto_reply_release (&reply);
    s_test_call (&rig, "request.status", "ticket:=1", &reply);
    assert (streq (s_test_result_str (&reply, "state", text, sizeof (text)), "done"));
    proto_reply_release (&reply);

    //  The hub does not answer: the caller hears "pending" with a ticket, and
    //  the node keeps sending the same request until the hub decides it
    int64_t started = zclock_mono ();
    id = s_test_send (&rig, "member.leave", "id=m-3");
    s_test_wait (&rig, id, &reply);
    assert (zclock_mono () - started >= NODE_OUTBOX_PENDING_MS - 10);
    assert (streq (s_test_result_str (&reply, "state", text, sizeof (text)), "pending"));
    uint64_t ticket = 0;
    assert (proto_arg_uint (reply.result, "ticket", true, &ticket, &err) == 1 && ticket == 2);
    proto_reply_release (&reply);
    s_test_call (&rig, "request.status", "ticket:=2", &reply);
    assert (streq (s_test_result_str (&reply, "state", text, sizeof (text)), "pending"));
    proto_reply_release (&reply);
    //  Copies sent on connections since replaced go nowhere: answer each
    //  copy until the outcome is recorded
    bool done = false;
    for (int copy = 0; copy < 10 && !done; copy++) {
        peer = s_test_hub_next (&rig, "member.leave", &req);
        assert (req.id == 2 && strncmp (req.rid, "n1:2@", 5) == 0);
        s_test_hub_reply (&rig, peer, req.id, "id=m-3 seat=none");
        zframe_destroy (&peer);
        proto_req_release (&req);
        for (int round = 0; round < 20; round++)
            node_step (rig.node, 10);
        s_test_call (&rig, "request.status", "ticket:=2", &reply);
        done = streq (s_test_result_str (&reply, "state", text, sizeof (text)), "done");
        proto_reply_release (&reply);
    }
    assert (done);

    //  A restarted node resumes from what it applied, replica intact
    s_test_stop (&rig);
    zframe_destroy (&sync);
    s_test_start (&rig, dir, "inproc://node-test-again");
    sync = s_test_hub_next (&rig, "sync.hello", &req);
    assert (proto_arg_uint (req.args, "from", true, &from, &err) == 1 && from == applied);
    proto_req_release (&req);
    zframe_destroy (&sync);
    s_test_call (&rig, "member.show", "id=m-1", &reply);
    assert (reply.ok);
    proto_reply_release (&reply);
    s_test_call (&rig, "request.status", "ticket:=2", &reply);
    assert (streq (s_test_result_str (&reply, "state", text, sizeof (text)), "done"));
    proto_reply_release (&reply);

    s_test_stop (&rig);
    zsock_destroy (&rig.hub);
    zmsg_destroy (&rig.request);
    store_destroy (&rig.authority);
    store_remove (dir);
    store_remove (hub_dir);
    dt_err_reset (&err);
}

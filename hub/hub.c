/* hub.c -- the hub server: ROUTER socket, authentication, group commit, dispatch. */
#include "hub.h"
#include "hub_ops.h"
#include "hub_keys.h"
#include "hub_sync.h"
#include "query.h"
#include "content.h"
#include "uplink.h"
#include "keys.h"
#include "server.h"

/* One request of a batch, from receipt to reply. */
typedef struct {
    zframe_t *peer;
    zframe_t *body;
    proto_req_t req;
    const op_t *op;
    const dt_key_t *key;        /* the connection's key: rate, rid */
    const dt_key_t *acting;     /* whose scope applies: key, or the key named by "as" */
    const dt_key_t *via;        /* the node key that forwarded for acting, or NULL */
    char actor [DT_ID_MAX * 2 + 2];     /* audit actor: KEY, or NODEKEY/KEY */
    dt_err_t err;
    msgpack_sbuffer reply;
} s_request_t;

struct _hub_t {
    hub_config_t config;
    store_t *store;
    zsock_t *router;
    hub_keys_t *keys;
    hub_sync_t *sync;
    zhashx_t *peers;            /* routing id hex -> s_peer_t (rate limits) */
    char endpoint [256];
    int64_t next_sweep;
    s_request_t *batch;         /* batch_max requests, reused by every batch */
};

typedef struct {
    int64_t window;             /* start of the current second */
    uint32_t count;             /* requests in it */
    int64_t last_seen;
} s_peer_t;


static const op_t *s_tables [] = {
    hub_admin_ops, hub_org_ops, hub_member_ops, hub_policy_ops, query_ops, content_ops,
    uplink_ops
};

//  Configuration

void
hub_config_defaults (hub_config_t *config)
{
    memset (config, 0, sizeof (*config));
    snprintf (config->datadir, sizeof (config->datadir), "./var/hub");
    snprintf (config->endpoint, sizeof (config->endpoint), "tcp://127.0.0.1:7700");
    config->mapsize_mb = 8192;
    config->log_keep = 2000000;
    config->batch_max = 256;
}

int
hub_config_load (hub_config_t *config, const char *path, dt_err_t *err)
{
    zconfig_t *root = zconfig_load (path);
    if (!root)
        return dt_err_set (err, "BAD_ARGS", "config file %s cannot be read", path);
    snprintf (config->datadir, sizeof (config->datadir), "%s",
              zconfig_get (root, "hub/datadir", config->datadir));
    snprintf (config->endpoint, sizeof (config->endpoint), "%s",
              zconfig_get (root, "hub/endpoint", config->endpoint));
    config->insecure = atoi (zconfig_get (root, "hub/insecure", config->insecure? "1": "0"));
    config->mapsize_mb = strtoull (zconfig_get (root, "hub/mapsize_mb", "0"), NULL, 10)
                       ?: config->mapsize_mb;
    config->log_keep = strtoull (zconfig_get (root, "hub/log_keep", "0"), NULL, 10)
                     ?: config->log_keep;
    zconfig_destroy (&root);
    return 0;
}

//  Lifecycle

hub_t *
hub_new (const hub_config_t *config, dt_err_t *err)
{
    if (config->insecure && !keys_endpoint_is_local (config->endpoint)) {
        dt_err_set (err, "DENIED", "--insecure is allowed on loopback only, not %s",
                    config->endpoint);
        return NULL;
    }
    hub_t *self = (hub_t *) zmalloc (sizeof (hub_t));
    self->config = *config;
    if (self->config.batch_max < 1)
        self->config.batch_max = 1;
    self->batch = (s_request_t *) zmalloc (self->config.batch_max * sizeof (s_request_t));
    self->peers = zhashx_new ();
    zhashx_set_destructor (self->peers, (zhashx_destructor_fn *) zstr_free);
    self->store = store_new (config->datadir, config->mapsize_mb, err);
    if (!self->store)
        goto failed;
    self->keys = hub_keys_new (self->store, config->datadir, config->insecure, err);
    if (!self->keys)
        goto failed;
    if (*config->admin_pub && hub_keys_bootstrap (self->keys, config->admin_pub, err))
        goto failed;
    self->router = server_bind (config->endpoint, hub_keys_cert (self->keys), config->datadir,
                                self->endpoint, sizeof (self->endpoint), err);
    if (!self->router)
        goto failed;
    self->sync = hub_sync_new (self->store, self->router);
    return self;
failed:
    hub_destroy (&self);
    return NULL;
}

void
hub_destroy (hub_t **self_p)
{
    assert (self_p);
    hub_t *self = *self_p;
    if (self) {
        hub_sync_destroy (&self->sync);
        zsock_destroy (&self->router);
        hub_keys_destroy (&self->keys);
        store_destroy (&self->store);
        zhashx_destroy (&self->peers);
        free (self->batch);
        free (self);
        *self_p = NULL;
    }
}

const char *
hub_endpoint (hub_t *self)
{
    return self->endpoint;
}

store_t *
hub_store (hub_t *self)
{
    return self->store;
}

hub_sync_t *
hub_sync (hub_t *self)
{
    return self->sync;
}

hub_keys_t *
hub_keys (hub_t *self)
{
    return self->keys;
}

void
hub_node_state (hub_t *self, const char *node, hub_node_state_t *out)
{
    hub_sync_state (self->sync, node, out);
}

//  Requests

/* BUSY beyond DT_RATE_MAX requests per second on one connection. */
static bool
s_rate_ok (hub_t *self, zframe_t *peer, int64_t now)
{
    char *hex = zframe_strhex (peer);
    s_peer_t *state = zhashx_lookup (self->peers, hex);
    if (!state) {
        state = (s_peer_t *) zmalloc (sizeof (s_peer_t));
        zhashx_insert (self->peers, hex, state);
    }
    free (hex);
    state->last_seen = now;
    if (now - state->window >= 1000) {
        state->window = now;
        state->count = 0;
    }
    return ++state->count <= DT_RATE_MAX;
}

/* A node forwards a membership write for the key that asked at the node
   ("as"): that key's scope applies, within the node key's, and the audit
   names both. 0, or -1 with r->err set. */
static int
s_request_as (hub_t *self, s_request_t *r)
{
    if (r->key->role != KEY_NODE)
        return dt_err_set (&r->err, "DENIED", "only a node key may forward a request "
                           "\"as\" another key; %s is a %s key", r->key->name,
                           record_key_role_name (r->key->role));
    if (!(r->op->flags & OP_MEMBERSHIP))
        return dt_err_set (&r->err, "DENIED", "a node forwards membership writes only, "
                           "not %s", r->op->name);
    const dt_key_t *asker = hub_keys_find_name (self->keys, r->req.as);
    if (!asker)
        return dt_err_set (&r->err, "UNAUTHENTICATED", "key %s (asking at node %s) is not "
                           "registered at the hub", r->req.as, r->key->node);
    if (asker->revoked)
        return dt_err_set (&r->err, "UNAUTHENTICATED", "key %s was revoked", asker->name);
    if (asker->role == KEY_NODE)
        return dt_err_set (&r->err, "DENIED", "node key %s cannot ask at node %s",
                           asker->name, r->key->node);
    r->acting = asker;
    r->via = r->key;
    snprintf (r->actor, sizeof (r->actor), "%s/%s", r->key->name, asker->name);
    return 0;
}

/* Decode, authenticate and find the op; on failure r->err is set. */
static void
s_request_prepare (hub_t *self, s_request_t *r, zmsg_t *msg, int64_t now)
{
    r->body = server_take_body (msg, &r->peer, &r->err);
    if (!r->body)
        return;
    if (proto_req_decode (&r->req, zframe_data (r->body), zframe_size (r->body), &r->err))
        return;
    r->key = r->acting = hub_keys_of (self->keys, r->body, &r->err);
    if (!r->key)
        return;
    snprintf (r->actor, sizeof (r->actor), "%s", r->key->name);
    //  The replication stream is paced by credit, not by the request limit:
    //  a refused ack would take credit away and stall the node
    bool sync = strncmp (r->req.op, "sync.", 5) == 0;
    if (!sync && !s_rate_ok (self, r->peer, now)) {
        dt_err_set (&r->err, "BUSY", "more than %d requests per second on this connection",
                    DT_RATE_MAX);
        return;
    }
    for (size_t i = 0; i < sizeof (s_tables) / sizeof (s_tables [0]) && !r->op; i++)
        r->op = op_find (s_tables [i], r->req.op);
    if (!r->op)
        dt_err_set (&r->err, "UNKNOWN_OP", "unknown operation %s", r->req.op);
    else
    if (*r->req.as)
        s_request_as (self, r);
}

static bool
s_is_write (const s_request_t *r)
{
    return r->op && !dt_err_is_set (&r->err) && (r->op->flags & OP_WRITE);
}

/* The rid key of a request: "KEYNAME/RID" so keys cannot replay each other's. */
static size_t
s_rid_key (const s_request_t *r, char *out, size_t size)
{
    return snprintf (out, size, "%s/%s", r->key->name, r->req.rid);
}

/* The reply recorded for the request's rid, re-addressed to this request id. */
static bool
s_rid_replay (s_request_t *r, store_txn_t *txn)
{
    char key [DT_ID_MAX * 4];
    size_t key_size = s_rid_key (r, key, sizeof (key));
    const void *val = NULL;
    size_t size = 0;
    dt_err_t err;
    dt_err_init (&err);
    if (store_get (txn, TBL_RID, key, key_size, &val, &size, &err) != 0)
        return false;
    proto_reply_t old;
    if (proto_reply_decode (&old, val, size, &err) == 0) {
        msgpack_sbuffer result;
        msgpack_sbuffer_init (&result);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &result, msgpack_sbuffer_write);
        if (old.ok && old.result)
            msgpack_pack_object (&pk, *old.result);
        else
            dt_err_set (&r->err, old.code, "%s", old.message);
        proto_reply_encode (&r->reply, r->req.id, old.ok? &result: NULL, &r->err);
        msgpack_sbuffer_destroy (&result);
    }
    proto_reply_release (&old);
    return true;
}

/* Run one request; writes in a child transaction of the batch. */
static void
s_request_execute (hub_t *self, s_request_t *r, store_txn_t *batch)
{
    bool write = s_is_write (r);
    if (write && *r->req.rid && s_rid_replay (r, batch))
        return;
    msgpack_sbuffer result, args;
    msgpack_sbuffer_init (&result);
    msgpack_sbuffer_init (&args);
    msgpack_packer pk, args_pk;
    msgpack_packer_init (&pk, &result, msgpack_sbuffer_write);
    msgpack_packer_init (&args_pk, &args, msgpack_sbuffer_write);
    if (r->req.args)
        msgpack_pack_object (&args_pk, *r->req.args);
    store_txn_t child, *txn = batch;
    if (!dt_err_is_set (&r->err) && write) {
        if (store_begin (self->store, &child, batch, true, &r->err) == 0) {
            child.log = child.audit = true;
            txn = &child;
        }
    }
    if (!dt_err_is_set (&r->err)) {
        op_ctx_t ctx = { .txn = txn, .key = r->acting, .via = r->via, .pk = &pk,
                         .err = &r->err, .now = dt_now_ms (), .server = self,
                         .peer = r->peer };
        int rc = op_call (r->op, &ctx, r->req.args);
        if (rc == 0 && write)
            rc = store_audit_append (txn, r->actor, r->op->name, args.data, args.size,
                                     &r->err);
        if (write && rc == 0)
            rc = store_commit (&child, &r->err);
        else
        if (write)
            store_abort (&child);
    }
    proto_reply_encode (&r->reply, r->req.id, dt_err_is_set (&r->err)? NULL: &result, &r->err);
    if (write && *r->req.rid) {
        char key [DT_ID_MAX * 4];
        size_t key_size = s_rid_key (r, key, sizeof (key));
        store_put (batch, TBL_RID, key, key_size, r->reply.data, r->reply.size, &r->err);
    }
    msgpack_sbuffer_destroy (&result);
    msgpack_sbuffer_destroy (&args);
}

static void
s_request_reply (hub_t *self, s_request_t *r)
{
    if (r->reply.size == 0)
        proto_reply_encode (&r->reply, r->req.id, NULL, &r->err);
    server_reply (self->router, &r->peer, r->reply.data, r->reply.size);
}

static void
s_request_free (s_request_t *r)
{
    zframe_destroy (&r->peer);
    zframe_destroy (&r->body);
    proto_req_release (&r->req);
    dt_err_reset (&r->err);
    msgpack_sbuffer_destroy (&r->reply);
}

//  Group commit: every request waiting on the socket, one transaction

/* Commit the batch; if that fails, every write in it fails with the reason. */
static void
s_batch_commit (hub_t *self, s_request_t *batch, int count, store_txn_t *txn,
                uint64_t log_head)
{
    dt_err_t err;
    dt_err_init (&err);
    if (store_log_mark_end (txn, log_head, &err) == 0
    &&  store_log_trim (txn, self->config.log_keep, &err) == 0
    &&  store_commit (txn, &err) == 0)
        return;
    for (int i = 0; i < count; i++)
        if (s_is_write (&batch [i])) {
            msgpack_sbuffer_clear (&batch [i].reply);
            dt_err_set (&batch [i].err, "INTERNAL", "%s", err.message);
            proto_reply_encode (&batch [i].reply, batch [i].req.id, NULL, &batch [i].err);
        }
    dt_err_reset (&err);
}

static void
s_batch_run (hub_t *self, s_request_t *batch, int count)
{
    bool write = false;
    for (int i = 0; i < count; i++)
        write |= s_is_write (&batch [i]);
    store_txn_t txn;
    dt_err_t err;
    dt_err_init (&err);
    if (store_begin (self->store, &txn, NULL, write, &err)) {
        for (int i = 0; i < count; i++)
            if (!dt_err_is_set (&batch [i].err))
                dt_err_set (&batch [i].err, "INTERNAL", "%s", err.message);
    }
    else {
        uint64_t log_head = store_log_head (&txn);
        for (int i = 0; i < count; i++)
            s_request_execute (self, &batch [i], &txn);
        if (write)
            s_batch_commit (self, batch, count, &txn, log_head);
        else
            store_abort (&txn);
    }
    for (int i = 0; i < count; i++)
        s_request_reply (self, &batch [i]);
    if (write) {
        hub_keys_commit (self->keys, self->sync);
        hub_sync_pump (self->sync);
    }
}

/* Take every message waiting (up to batch_max) and serve them together. */
static void
s_serve_waiting (hub_t *self)
{
    int max = self->config.batch_max;
    s_request_t *batch = self->batch;
    int64_t now = dt_now_ms ();
    int count = 0;
    while (count < max && (zsock_events (self->router) & ZMQ_POLLIN)) {
        zmsg_t *msg = zmsg_recv (self->router);
        if (!msg)
            break;
        s_request_t *r = &batch [count++];
        memset (r, 0, sizeof (*r));
        dt_err_init (&r->err);
        msgpack_sbuffer_init (&r->reply);
        msgpack_unpacked_init (&r->req.unpacked);
        s_request_prepare (self, r, msg, now);
        zmsg_destroy (&msg);
        if (!r->peer)
            s_request_free (&batch [--count]);
    }
    s_batch_run (self, batch, count);
    for (int i = 0; i < count; i++)
        s_request_free (&batch [i]);
}

/* Forget rate-limit state of connections idle for a minute. */
static void
s_sweep_peers (hub_t *self, int64_t now)
{
    zlist_t *idle = zlist_new ();
    for (s_peer_t *peer = zhashx_first (self->peers); peer; peer = zhashx_next (self->peers))
        if (now - peer->last_seen > 60000)
            zlist_append (idle, (void *) zhashx_cursor (self->peers));
    for (const char *key = zlist_first (idle); key; key = zlist_next (idle))
        zhashx_delete (self->peers, key);
    zlist_destroy (&idle);
}

void
hub_run (hub_t *self)
{
    zpoller_t *poller = zpoller_new (self->router, NULL);
    zsys_info ("duotang-hub %s listening on %s%s", DT_VERSION, self->endpoint,
               self->config.insecure? " (INSECURE: no CURVE, every peer is hq-admin)": "");
    while (!zsys_interrupted) {
        void *which = zpoller_wait (poller, HUB_SYNC_HEARTBEAT_MS / 4);
        if (zpoller_terminated (poller))
            break;
        if (which)
            s_serve_waiting (self);
        int64_t now = dt_now_ms ();
        hub_sync_pump (self->sync);
        if (now >= self->next_sweep) {
            s_sweep_peers (self, now);
            self->next_sweep = now + 10000;
        }
    }
    zpoller_destroy (&poller);
    zsys_info ("duotang-hub stopping");
}

/* hub.c -- the hub server: ROUTER socket, authentication, group commit, dispatch. */
#include "hub.h"
#include "hub_ops.h"
#include "hub_keys.h"
#include "hub_sync.h"
#include "keys.h"
#include "server.h"
#include "monitor.h"
#include "client.h"
#include "repl.h"
#include "check.h"
#include <sys/stat.h>

/* One request of a batch, from receipt to reply. */
typedef struct {
    zframe_t *peer;
    zframe_t *body;
    proto_req_t req;
    const catalogue_op_t *info; /* the operation, NULL if there is none of that name */
    const op_t *op;             /* its handler here */
    const dt_key_t *key;        /* the connection's key: rate, rid */
    const dt_key_t *acting;     /* whose scope applies: key, or the key named by "as" */
    const dt_key_t *via;        /* the node key that forwarded for acting, or NULL */
    char actor [DT_ID_MAX * 2 + 2];     /* audit actor: KEY, or NODEKEY/KEY */
    dt_err_t err;
    msgpack_sbuffer reply;
    struct _s_share_t *share;   /* whose fair share it was queued in */
    bool away;                  /* moved to the reader: this entry is empty */
    dt_key_t *acting_copy;      /* at the reader: its own copy of the key (owned) */
    int64_t now;                /* ... and the instant it judges at */
} s_request_t;

/* Fair share: every request is counted and queued, when it arrives, under
   the key that sent it (all of that key's connections together; in
   insecure mode, where every peer is the same key, under its connection),
   and the batch takes one request of each key in turn (PROTOCOL.md 4). */
typedef struct _s_share_t {
    zlist_t *queue;             /* s_request_t *, prepared, in arrival order */
    size_t bytes;               /* their bodies */
    int64_t window;             /* start of the current second */
    uint32_t count;             /* requests that arrived in it */
    int64_t last_seen;
    bool ready;                 /* in hub->ready, the round-robin ring */
    int taken;                  /* requests it has in the batch being filled */
} s_share_t;

struct _hub_t {
    hub_config_t config;
    store_t *store;
    zsock_t *router;
    zactor_t *refusals;         /* logs the handshakes the router refuses */
    hub_keys_t *keys;
    hub_sync_t *sync;
    zhashx_t *shares;           /* key name or connection -> s_share_t */
    zlist_t *ready;             /* shares with requests queued, served in turn */
    size_t queued;              /* requests queued in every share */
    size_t queued_bytes;        /* their bodies */
    char endpoint [256];
    int64_t next_sweep;
    s_request_t *batch;         /* batch_max requests, reused by every batch */
    uint8_t audit_secret [crypto_sign_SECRETKEYBYTES];  /* DATADIR/audit.key */
    uint8_t audit_public [crypto_sign_PUBLICKEYBYTES];
    uint64_t checkpointed;      /* audit seq of the last checkpoint committed */
    hub_stats_t stats;
    int64_t clock_ms;           /* the instant the loop judges at; 0: the wall clock */
    zactor_t *reader;           /* runs the organisation's lists (s_reader) */
    size_t reading;             /* requests at the reader */
};


/* The instant the request limit, the sweep and the ops judge at. */
static int64_t
s_now (hub_t *self)
{
    return self->clock_ms? self->clock_ms: dt_now_ms ();
}

void
hub_set_clock (hub_t *self, int64_t now_ms)
{
    self->clock_ms = now_ms;
}


//  Configuration

void
hub_config_defaults (hub_config_t *config)
{
    memset (config, 0, sizeof (*config));
    snprintf (config->datadir, sizeof (config->datadir), "./var/hub");
    snprintf (config->endpoint, sizeof (config->endpoint), "tcp://127.0.0.1:7700");
    config->mapsize_mb = 8192;
    config->log_keep = 2000000;
    config->rid_keep = 10000000;
    config->batch_max = 256;
}

//  One parser and one range for each setting, whether it comes from a flag
//  or from the config file, so that a file cannot say what a flag may not
static int
s_config_uint (const char *key, const char *value, uint64_t min, uint64_t max,
               uint64_t *out, dt_err_t *err)
{
    char *end;
    errno = 0;
    unsigned long long number = strtoull (value, &end, 10);
    if (errno || *end || !isdigit ((unsigned char) *value) || number < min || number > max)
        return dt_err_set (err, "BAD_ARGS", "%s = \"%s\": must be a whole number from %"
                           PRIu64 " to %" PRIu64, key, value, min, max);
    *out = number;
    return 0;
}

static int
s_config_text (const char *key, const char *value, char *out, size_t size, dt_err_t *err)
{
    if (!*value || strlen (value) >= size)
        return dt_err_set (err, "BAD_ARGS", "%s = \"%s\": must be 1 to %zu bytes",
                           key, value, size - 1);
    snprintf (out, size, "%s", value);
    return 0;
}

const char *const hub_config_keys [] = {
    "hub/datadir", "hub/endpoint", "hub/insecure", "hub/mapsize_mb", "hub/log_keep",
    "hub/rid_keep", NULL
};

int
hub_config_set (hub_config_t *config, const char *key, const char *value,
                const char *label, dt_err_t *err)
{
    uint64_t number;
    const char *name = key;
    key = label? label: key;
    if (streq (name, "datadir"))
        return s_config_text (key, value, config->datadir, sizeof (config->datadir), err);
    if (streq (name, "endpoint"))
        return s_config_text (key, value, config->endpoint, sizeof (config->endpoint), err);
    if (streq (name, "insecure")) {
        if (s_config_uint (key, value, 0, 1, &number, err))
            return -1;
        config->insecure = number == 1;
        return 0;
    }
    if (streq (name, "mapsize_mb")) {
        if (s_config_uint (key, value, HUB_MAPSIZE_MIN, HUB_MAPSIZE_MAX, &number, err))
            return -1;
        config->mapsize_mb = (size_t) number;
        return 0;
    }
    if (streq (name, "log_keep"))
        return s_config_uint (key, value, 1, HUB_LOG_KEEP_MAX, &config->log_keep, err);
    if (streq (name, "rid_keep"))
        return s_config_uint (key, value, 1, HUB_LOG_KEEP_MAX, &config->rid_keep, err);
    return dt_err_set (err, "BAD_ARGS", "unknown setting %s (known: datadir, endpoint, "
                       "insecure, log_keep, mapsize_mb, rid_keep)", key);
}

int
hub_config_load (hub_config_t *config, const char *path, dt_err_t *err)
{
    zconfig_t *root = zconfig_load (path);
    if (!root)
        return dt_err_set (err, "BAD_ARGS", "config file %s cannot be read", path);
    int rc = 0;
    for (zconfig_t *section = zconfig_child (root); section && !rc;
         section = zconfig_next (section)) {
        if (!streq (zconfig_name (section), "hub")) {
            rc = dt_err_set (err, "BAD_ARGS", "%s: unknown section %s (only hub)",
                             path, zconfig_name (section));
            break;
        }
        for (zconfig_t *item = zconfig_child (section); item && !rc; item = zconfig_next (item)) {
            char key [128];
            snprintf (key, sizeof (key), "hub/%s", zconfig_name (item));
            if (zconfig_child (item))
                rc = dt_err_set (err, "BAD_ARGS", "%s: %s is a section, not a setting",
                                 path, key);
            else
            if (hub_config_set (config, zconfig_name (item),
                                zconfig_value (item)? zconfig_value (item): "", key, err)) {
                //  Name the file too: FILE: hub/log_keep = "-5": ...
                char message [DT_ERR_MSG_MAX];
                snprintf (message, sizeof (message), "%s", err->message);
                dt_err_reset (err);
                rc = dt_err_set (err, "BAD_ARGS", "%s: %s", path, message);
            }
        }
    }
    zconfig_destroy (&root);
    return rc;
}

//  Lifecycle

/* The audit signing key (Ed25519, PROTOCOL.md 3): DATADIR/audit.key holds
   its 64 secret bytes (mode 0600, made on the first start), audit.pub the
   public key in hex for people. Apart from the CURVE key, so that the two
   can be kept and rotated apart. */
static int
s_audit_key (hub_t *self, const char *datadir, dt_err_t *err)
{
    char path [PATH_MAX], pub [PATH_MAX];
    snprintf (path, sizeof (path), "%s/audit.key", datadir);
    snprintf (pub, sizeof (pub), "%s/audit.pub", datadir);
    struct stat st;
    if (stat (path, &st) == 0) {
        if (st.st_mode & 077)
            return dt_err_set (err, "DENIED", "secret key file %s is accessible by others "
                               "(mode %03o): chmod 600 it", path, (unsigned) (st.st_mode & 0777));
        FILE *file = fopen (path, "rb");
        size_t got = file? fread (self->audit_secret, 1, sizeof (self->audit_secret), file): 0;
        if (file)
            fclose (file);
        if (got != sizeof (self->audit_secret))
            return dt_err_set (err, "INTERNAL", "audit key %s cannot be read (%zu bytes)",
                               path, got);
        crypto_sign_ed25519_sk_to_pk (self->audit_public, self->audit_secret);
        return 0;
    }
    crypto_sign_keypair (self->audit_public, self->audit_secret);
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write (fd, self->audit_secret, sizeof (self->audit_secret))
                  != (ssize_t) sizeof (self->audit_secret) || fsync (fd)) {
        if (fd >= 0)
            close (fd);
        return dt_err_set (err, "INTERNAL", "writing %s failed: %s", path, strerror (errno));
    }
    close (fd);
    char hex [2 * crypto_sign_PUBLICKEYBYTES + 1];
    sodium_bin2hex (hex, sizeof (hex), self->audit_public, sizeof (self->audit_public));
    FILE *file = fopen (pub, "w");
    if (file) {
        fprintf (file, "%s\n", hex);
        fclose (file);
    }
    return 0;
}

const uint8_t *
hub_audit_public (hub_t *self)
{
    return self->audit_public;
}

static void s_request_free (s_request_t *r);
static void s_reader (zsock_t *pipe, void *store);
static void s_reader_drain (hub_t *self);

static void
s_share_destroy (void **item)
{
    s_share_t *share = (s_share_t *) *item;
    if (!share)
        return;
    s_request_t *r;
    while ((r = (s_request_t *) zlist_pop (share->queue))) {
        s_request_free (r);
        free (r);
    }
    zlist_destroy (&share->queue);
    free (share);
    *item = NULL;
}

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
    self->shares = zhashx_new ();
    zhashx_set_destructor (self->shares, s_share_destroy);
    self->ready = zlist_new ();
    self->store = store_new (config->datadir, config->mapsize_mb, err);
    if (!self->store || tree_upgrade (self->store, err)
    ||  s_audit_key (self, config->datadir, err))
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
    self->refusals = monitor_refusals_new (self->router);
    self->sync = hub_sync_new (self->store, self->router);
    self->reader = zactor_new (s_reader, self->store);
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
        s_reader_drain (self);
        zactor_destroy (&self->reader);
        hub_sync_destroy (&self->sync);
        zactor_destroy (&self->refusals);
        zsock_destroy (&self->router);
        hub_keys_destroy (&self->keys);
        store_destroy (&self->store);
        zlist_destroy (&self->ready);
        zhashx_destroy (&self->shares);
        free (self->batch);
        sodium_memzero (self->audit_secret, sizeof (self->audit_secret));
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
hub_stats (hub_t *self, hub_stats_t *out)
{
    *out = self->stats;
}

void
hub_node_state (hub_t *self, const char *node, hub_node_state_t *out)
{
    hub_sync_state (self->sync, node, out);
}

//  Requests

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
    if (!(r->info->flags & OP_FORWARD))
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

/* As it arrives: take the frames and decode; on failure r->err is set. */
static void
s_request_receive (s_request_t *r, zmsg_t *msg)
{
    r->body = server_take_body (msg, &r->peer, &r->err);
    if (r->body
    &&  proto_req_decode (&r->req, zframe_data (r->body), zframe_size (r->body), &r->err) == 0)
        r->info = catalogue_find (r->req.op);
}

/* When it is served: authenticate (now: a key revoked while the request
   was queued fails it, and key records may have been reloaded since it
   arrived) and find the op; on failure r->err is set. */
static void
s_request_prepare (hub_t *self, s_request_t *r)
{
    if (dt_err_is_set (&r->err))
        return;
    r->key = r->acting = hub_keys_of (self->keys, r->body, &r->err);
    if (!r->key)
        return;
    snprintf (r->actor, sizeof (r->actor), "%s", r->key->name);
    if (catalogue_route (r->info, OP_HUB) == CATALOGUE_SERVE)
        r->op = op_bind (hub_bindings, r->req.op);
    if (!r->op)
        catalogue_refuse (r->info, r->req.op, OP_HUB, "hub", &r->err);
    else
    if (*r->req.as)
        s_request_as (self, r);
}

static bool
s_is_write (const s_request_t *r)
{
    return r->op && !dt_err_is_set (&r->err) && (r->info->flags & OP_WRITE);
}

/* The rid key of a request (store_rid_key): of the connection's key. */
static size_t
s_rid_key (const s_request_t *r, char *out, size_t size)
{
    return store_rid_key (r->key->name, r->req.rid, out, size);
}

/* A recorded rid is S_RID_TAG, the digest of the request it named, then
   its reply; a store written before digests holds the reply alone (a
   msgpack map: never the tag, a byte msgpack never uses). */
#define S_RID_TAG    0xc1
#define S_RID_DIGEST 32

/* BLAKE2b of what a rid names: op, args (their bytes) and as. */
static void
s_rid_digest (const s_request_t *r, uint8_t digest [S_RID_DIGEST])
{
    crypto_generichash_state state;
    crypto_generichash_init (&state, NULL, 0, S_RID_DIGEST);
    crypto_generichash_update (&state, (const uint8_t *) r->req.op, strlen (r->req.op) + 1);
    msgpack_sbuffer args;
    msgpack_sbuffer_init (&args);
    if (r->req.args) {
        msgpack_packer pk;
        msgpack_packer_init (&pk, &args, msgpack_sbuffer_write);
        msgpack_pack_object (&pk, *r->req.args);
    }
    uint8_t size [8];
    store_seq_key (args.size, size);
    crypto_generichash_update (&state, size, 8);
    crypto_generichash_update (&state, (const uint8_t *) args.data, args.size);
    crypto_generichash_update (&state, (const uint8_t *) r->req.as, strlen (r->req.as) + 1);
    crypto_generichash_final (&state, digest, S_RID_DIGEST);
    msgpack_sbuffer_destroy (&args);
}

/* The reply recorded for the request's rid, re-addressed to this request
   id; RID_REUSED when the rid named another request. */
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
    if (size > 1 + S_RID_DIGEST && *(const uint8_t *) val == S_RID_TAG) {
        uint8_t digest [S_RID_DIGEST];
        s_rid_digest (r, digest);
        if (memcmp (digest, (const uint8_t *) val + 1, S_RID_DIGEST)) {
            dt_err_set (&r->err, "RID_REUSED", "rid \"%s\" of key %s was used before for "
                        "another request (operation, arguments or \"as\"); use a new rid",
                        r->req.rid, r->key->name);
            proto_reply_encode (&r->reply, r->req.id, NULL, &r->err);
            return true;
        }
        val = (const uint8_t *) val + 1 + S_RID_DIGEST;
        size -= 1 + S_RID_DIGEST;
    }
    proto_reply_t old;
    bool replayed = proto_reply_decode (&old, val, size, &err) == 0
                 && (old.ok || !dt_err_retryable (old.code));
    //  A retryable reply decided nothing (a store written before that rule
    //  may hold one): serve the request afresh, which records its outcome
    if (replayed) {
        msgpack_sbuffer result;
        msgpack_sbuffer_init (&result);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &result, msgpack_sbuffer_write);
        if (old.ok && old.result)
            msgpack_pack_object (&pk, *old.result);
        else
            proto_reply_err (&old, &r->err);
        proto_reply_encode (&r->reply, r->req.id, old.ok? &result: NULL, &r->err);
        msgpack_sbuffer_destroy (&result);
    }
    proto_reply_release (&old);
    dt_err_reset (&err);
    return replayed;
}

//  Recorded rids are kept in the order they came (TBL_RID_ORDER), so that
//  only the newest rid_keep of them are kept (PROTOCOL.md 7.3)

static void
s_rid_remember (store_txn_t *txn, const char *key, size_t key_size, dt_err_t *err)
{
    uint64_t seq = store_meta_uint (txn, "rid_seq") + 1;
    uint8_t seq_key [8];
    store_seq_key (seq, seq_key);
    if (store_put (txn, TBL_RID_ORDER, seq_key, 8, key, key_size, err) == 0)
        store_meta_set_uint (txn, "rid_seq", seq, err);
}

typedef struct {
    store_txn_t *txn;
    uint64_t excess;
    dt_err_t *err;
} s_rid_trim_t;

static int
s_rid_forget (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    s_rid_trim_t *trim = arg;
    if (trim->excess == 0)
        return 1;
    trim->excess--;
    if (store_del (trim->txn, TBL_RID, val, val_size, trim->err))
        return -1;
    return store_del (trim->txn, TBL_RID_ORDER, key, key_size, trim->err);
}

/* Forget the oldest recorded rids beyond keep: at most a batch's worth each
   time, so the trim never holds a commit up for long. */
static int
s_rid_trim (store_txn_t *txn, uint64_t keep, dt_err_t *err)
{
    uint64_t held = store_count (txn, TBL_RID_ORDER);
    s_rid_trim_t trim = { txn, held > keep? held - keep: 0, err };
    if (trim.excess > 4096)
        trim.excess = 4096;
    if (trim.excess == 0)
        return 0;
    return store_scan (txn, TBL_RID_ORDER, NULL, 0, NULL, 0, s_rid_forget, &trim, err);
}

/* Run one request. A write runs in the batch's transaction itself when
   nested is false (a child transaction per request costs LMDB a copy of
   every page it touches that the batch has already made dirty) and false
   is returned, unless it failed after it had written: then true, and the
   batch must be run again with nested true, each write in a child
   transaction of the batch that its failure aborts. */
static bool
s_request_execute (hub_t *self, s_request_t *r, store_txn_t *batch, bool nested)
{
    bool write = s_is_write (r);
    if (write && *r->req.rid && s_rid_replay (r, batch))
        return false;
    msgpack_sbuffer result, args;
    msgpack_sbuffer_init (&result);
    msgpack_sbuffer_init (&args);
    msgpack_packer pk, args_pk;
    msgpack_packer_init (&pk, &result, msgpack_sbuffer_write);
    msgpack_packer_init (&args_pk, &args, msgpack_sbuffer_write);
    if (r->req.args)
        msgpack_pack_object (&args_pk, *r->req.args);
    store_txn_t child, *txn = batch;
    if (!dt_err_is_set (&r->err) && write && nested) {
        if (store_begin (self->store, &child, batch, true, &r->err) == 0) {
            child.log = true;
            txn = &child;
        }
    }
    bool undo = false;
    if (!dt_err_is_set (&r->err)) {
        uint64_t writes = batch->writes;
        batch->log = write && !nested;
        if (write)
            store_audit_open (txn, args.data, args.size);
        op_ctx_t ctx = { .txn = txn, .key = r->acting, .via = r->via, .pk = &pk,
                         .err = &r->err, .now = s_now (self), .server = self,
                         .peer = r->peer };
        int rc = op_call (r->op, &ctx, r->req.args);
        if (rc == 0 && write)
            rc = store_audit_append (txn, r->actor, r->op->name, args.data, args.size,
                                     &r->err);
        batch->log = false;
        store_audit_close (batch);
        if (write && nested && rc == 0)
            rc = store_commit (&child, &r->err);
        else
        if (write && nested)
            store_abort (&child);
        else
        if (write && (rc || dt_err_is_set (&r->err)) && batch->writes != writes)
            undo = true;
    }
    if (undo) {
        msgpack_sbuffer_destroy (&result);
        msgpack_sbuffer_destroy (&args);
        return true;
    }
    proto_reply_encode (&r->reply, r->req.id, dt_err_is_set (&r->err)? NULL: &result, &r->err);
    //  Only a decision is recorded under the rid: a retryable failure
    //  (INTERNAL: a storage error) changed nothing, and the same rid sent
    //  again must be served again, not told the same failure for ever
    if (write && *r->req.rid && !dt_err_retryable (r->err.code)) {
        char key [DT_ID_MAX * 4];
        size_t key_size = s_rid_key (r, key, sizeof (key));
        uint8_t *record = (uint8_t *) zmalloc (1 + S_RID_DIGEST + r->reply.size);
        record [0] = S_RID_TAG;
        s_rid_digest (r, record + 1);
        memcpy (record + 1 + S_RID_DIGEST, r->reply.data, r->reply.size);
        if (store_put (batch, TBL_RID, key, key_size, record, 1 + S_RID_DIGEST + r->reply.size,
                       &r->err) == 0)
            s_rid_remember (batch, key, key_size, &r->err);
        free (record);
    }
    msgpack_sbuffer_destroy (&result);
    msgpack_sbuffer_destroy (&args);
    return false;
}

static void s_share_drop_peer (hub_t *self, s_share_t *share, zframe_t *peer);

static void
s_request_reply (hub_t *self, s_request_t *r)
{
    if (r->reply.size == 0)
        proto_reply_encode (&r->reply, r->req.id, NULL, &r->err);
    zframe_t *peer = r->peer;
    r->peer = NULL;
    if (server_reply_to (self->router, peer, r->reply.data, r->reply.size) == 1 && r->share)
        s_share_drop_peer (self, r->share, peer);
    zframe_destroy (&peer);
}

static void
s_request_free (s_request_t *r)
{
    zframe_destroy (&r->peer);
    zframe_destroy (&r->body);
    proto_req_release (&r->req);
    dt_err_reset (&r->err);
    msgpack_sbuffer_destroy (&r->reply);
    free (r->acting_copy);
    r->acting_copy = NULL;
}

//  Group commit: every request waiting on the socket, one transaction

/* A batch that added audit entries signs a checkpoint of the chain, logged
   for every node (the last change of the batch), which keeps it as its
   witness (PROTOCOL.md 3). */
static int
s_checkpoint (hub_t *self, store_txn_t *txn, uint64_t audit_seq, dt_err_t *err)
{
    if (audit_seq == self->checkpointed)
        return 0;
    uint8_t checkpoint [STORE_CHECKPOINT_SIZE];
    store_checkpoint_sign (txn, self->audit_secret, checkpoint);
    bool log = txn->log;
    txn->log = true;
    int rc = repl_record_put (txn, TBL_CHECKPOINT, "current", checkpoint, sizeof (checkpoint),
                              err);
    txn->log = log;
    return rc;
}

/* Commit the batch; if that fails, every write in it fails with the reason. */
static void
s_batch_commit (hub_t *self, s_request_t *batch, int count, store_txn_t *txn,
                uint64_t log_head)
{
    dt_err_t err;
    dt_err_init (&err);
    uint64_t audit_seq = store_audit_seq (txn);
    if (s_checkpoint (self, txn, audit_seq, &err) == 0
    &&  store_log_mark_end (txn, log_head, &err) == 0
    &&  store_log_trim (txn, self->config.log_keep, &err) == 0
    &&  s_rid_trim (txn, self->config.rid_keep, &err) == 0
    &&  store_commit (txn, &err) == 0) {
        self->stats.commits++;
        self->checkpointed = audit_seq;
        return;
    }
    for (int i = 0; i < count; i++)
        if (s_is_write (&batch [i])) {
            msgpack_sbuffer_clear (&batch [i].reply);
            dt_err_set (&batch [i].err, "INTERNAL", "%s", err.message);
            proto_reply_encode (&batch [i].reply, batch [i].req.id, NULL, &batch [i].err);
        }
    dt_err_reset (&err);
}

/* A write of the batch failed after it had written: the batch's
   transaction is begun again and every write run anew, each in a child
   transaction, from the same store and at the same instant, so that they
   decide as they did. -1 (replies set) when the store cannot begin. */
static int
s_batch_again (hub_t *self, s_request_t *batch, int count, const bool *writes,
               store_txn_t *txn)
{
    store_abort (txn);
    dt_err_t err;
    dt_err_init (&err);
    int rc = store_begin (self->store, txn, NULL, true, &err);
    for (int i = 0; i < count; i++)
        if (writes [i]) {
            msgpack_sbuffer_clear (&batch [i].reply);
            dt_err_reset (&batch [i].err);
            if (rc)
                dt_err_set (&batch [i].err, "INTERNAL", "%s", err.message);
            else
                s_request_execute (self, &batch [i], txn, true);
        }
    if (rc)
        for (int i = 0; i < count; i++)
            if (writes [i])
                s_request_reply (self, &batch [i]);
    dt_err_reset (&err);
    return rc;
}

/* Run the writes (write) or the other requests of a batch (writes [i]
   says which, as judged before any ran) in one transaction: the writes' is
   committed as one, the others' is a read transaction. */
static void
s_batch_phase (hub_t *self, s_request_t *batch, int count, const bool *writes, bool write)
{
    store_txn_t txn;
    dt_err_t err;
    dt_err_init (&err);
    if (store_begin (self->store, &txn, NULL, write, &err)) {
        for (int i = 0; i < count; i++)
            if (writes [i] == write && !dt_err_is_set (&batch [i].err))
                dt_err_set (&batch [i].err, "INTERNAL", "%s", err.message);
        dt_err_reset (&err);
        return;
    }
    uint64_t log_head = store_log_head (&txn);
    bool undo = false;
    for (int i = 0; i < count && !undo; i++)
        if (writes [i] == write && !batch [i].away)
            undo = s_request_execute (self, &batch [i], &txn, false);
    if (undo && s_batch_again (self, batch, count, writes, &txn))
        return;
    if (write)
        s_batch_commit (self, batch, count, &txn, log_head);
    else
        store_abort (&txn);
    for (int i = 0; i < count; i++)
        if (writes [i] == write && !batch [i].away)
            s_request_reply (self, &batch [i]);
}

//  The reader: the organisation's lists run in a thread of their own, each
//  in a read transaction of its own, so that a write that arrives while a
//  page of a large list is read does not wait for it (issue 11). Only the
//  lists that read the store and nothing else of the hub go there (OP_LIST
//  in the catalogue): no server state (node.list), no time zone (dt_time's
//  is the process's)

#define S_READING_MAX 64        /* requests at the reader at once; more run here */

static bool
s_reader_serves (const s_request_t *r)
{
    return r->op && !dt_err_is_set (&r->err) && !*r->req.rid && r->info
        && (r->info->flags & OP_LIST);
}

/* Hand a read of the batch to the reader: the request moves (the batch's
   entry is left empty), with its own copy of the key that may be reloaded
   meanwhile and the instant the batch judges at. */
static void
s_reader_take (hub_t *self, s_request_t *entry)
{
    if (!s_reader_serves (entry) || self->reading >= S_READING_MAX)
        return;
    s_request_t *r = (s_request_t *) zmalloc (sizeof (s_request_t));
    *r = *entry;
    memset (entry, 0, sizeof (*entry));
    entry->away = true;
    r->acting_copy = (dt_key_t *) zmalloc (sizeof (dt_key_t));
    *r->acting_copy = *r->acting;
    r->key = r->acting = r->acting_copy;
    r->via = NULL;
    r->share = NULL;            /* it may be swept before the reply */
    r->now = s_now (self);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "READ");
    zmsg_addmem (msg, &r, sizeof (r));
    if (zmsg_send (&msg, self->reader) == 0)
        self->reading++;
    else {
        zmsg_destroy (&msg);
        dt_err_set (&r->err, "INTERNAL", "the hub's reader is gone");
        s_request_reply (self, r);
        s_request_free (r);
        free (r);
    }
}

/* At the reader: run the list in a read transaction of its own. */
static void
s_reader_run (store_t *store, s_request_t *r)
{
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &result, msgpack_sbuffer_write);
    store_txn_t txn;
    if (store_begin (store, &txn, NULL, false, &r->err) == 0) {
        op_ctx_t ctx = { .txn = &txn, .key = r->acting, .pk = &pk, .err = &r->err,
                         .now = r->now };
        op_call (r->op, &ctx, r->req.args);
        store_abort (&txn);
    }
    proto_reply_encode (&r->reply, r->req.id, dt_err_is_set (&r->err)? NULL: &result, &r->err);
    msgpack_sbuffer_destroy (&result);
}

static void
s_reader (zsock_t *pipe, void *store)
{
    zsock_signal (pipe, 0);
    while (true) {
        zmsg_t *msg = zmsg_recv (pipe);
        char *command = msg? zmsg_popstr (msg): NULL;
        zframe_t *frame = msg? zmsg_pop (msg): NULL;
        bool read = command && streq (command, "READ") && frame
                 && zframe_size (frame) == sizeof (s_request_t *);
        if (read) {
            s_request_t *r;
            memcpy (&r, zframe_data (frame), sizeof (r));
            s_reader_run ((store_t *) store, r);
            zsock_send (pipe, "b", &r, sizeof (r));
        }
        free (command);
        zframe_destroy (&frame);
        zmsg_destroy (&msg);
        if (!read)
            break;              /* $TERM */
    }
}

/* Answer what the reader has done. */
static void
s_reader_replies (hub_t *self)
{
    while (self->reading && zsock_events (self->reader) & ZMQ_POLLIN) {
        zframe_t *frame = zframe_recv (self->reader);
        if (frame && zframe_size (frame) == sizeof (s_request_t *)) {
            s_request_t *r;
            memcpy (&r, zframe_data (frame), sizeof (r));
            s_request_reply (self, r);
            s_request_free (r);
            free (r);
            self->reading--;
        }
        zframe_destroy (&frame);
    }
}

/* Before the hub goes: what the reader still holds comes back, unanswered. */
static void
s_reader_drain (hub_t *self)
{
    while (self->reader && self->reading) {
        zframe_t *frame = zframe_recv (self->reader);
        if (!frame)
            break;
        if (zframe_size (frame) == sizeof (s_request_t *)) {
            s_request_t *r;
            memcpy (&r, zframe_data (frame), sizeof (r));
            s_request_free (r);
            free (r);
            self->reading--;
        }
        zframe_destroy (&frame);
    }
}

/* Writers never wait for readers: the batch's writes run and commit first,
   and are answered (and pushed to the nodes) before its reads run, in a
   read transaction of their own that sees them. */
static void
s_batch_run (hub_t *self, s_request_t *batch, int count)
{
    bool *writes = calloc (count + 1, sizeof (bool)), write = false;
    assert (writes);
    for (int i = 0; i < count; i++)
        write |= writes [i] = s_is_write (&batch [i]);
    if (write) {
        s_batch_phase (self, batch, count, writes, true);
        hub_keys_commit (self->keys, self->sync);
        hub_sync_pump (self->sync);
    }
    for (int i = 0; i < count; i++)
        if (!writes [i])
            s_reader_take (self, &batch [i]);
    s_batch_phase (self, batch, count, writes, false);
    free (writes);
    self->stats.requests += count;
    self->stats.batches += count > 0;
}

//  Fair share: arrivals counted and queued per key, batches taken in turn

/* The share of a prepared request: its key's, else (insecure mode, or no
   key known yet) its connection's. */
static s_share_t *
s_share_of (hub_t *self, const s_request_t *r, const dt_key_t *key, int64_t now)
{
    char name [DT_ID_MAX + 2];
    char *hex = NULL;
    if (key && !self->config.insecure)
        snprintf (name, sizeof (name), "k%s", key->name);
    else {
        hex = zframe_strhex (r->peer);
        snprintf (name, sizeof (name), "c%.*s", DT_ID_MAX, hex);
    }
    free (hex);
    s_share_t *share = (s_share_t *) zhashx_lookup (self->shares, name);
    if (!share) {
        share = (s_share_t *) zmalloc (sizeof (s_share_t));
        share->queue = zlist_new ();
        zhashx_insert (self->shares, name, share);
    }
    share->last_seen = now;
    return share;
}

/* Drop what a connection that has gone still has queued: nobody waits for
   those replies, and its writes were never begun. */
static void
s_share_drop_peer (hub_t *self, s_share_t *share, zframe_t *peer)
{
    zlist_t *keep = zlist_new ();
    s_request_t *r;
    while ((r = (s_request_t *) zlist_pop (share->queue))) {
        if (zframe_eq (r->peer, peer)) {
            share->bytes -= r->body? zframe_size (r->body): 0;
            self->queued_bytes -= r->body? zframe_size (r->body): 0;
            self->queued--;
            self->stats.dropped++;
            s_request_free (r);
            free (r);
        }
        else
            zlist_append (keep, r);
    }
    zlist_destroy (&share->queue);
    share->queue = keep;
}

/* One message as it arrives: prepared, counted against its key's rate, and
   queued in its key's share, or answered BUSY at once (it is not queued)
   when the key is over its rate or its queue, or every queue, is full. */
static void
s_arrive (hub_t *self, zmsg_t *msg, int64_t now)
{
    s_request_t *r = (s_request_t *) zmalloc (sizeof (s_request_t));
    dt_err_init (&r->err);
    msgpack_sbuffer_init (&r->reply);
    msgpack_unpacked_init (&r->req.unpacked);
    s_request_receive (r, msg);
    if (!r->peer) {
        s_request_free (r);
        free (r);
        return;
    }
    //  The key only names the share here: it is looked up again when the
    //  request is served
    dt_err_t unknown;
    dt_err_init (&unknown);
    const dt_key_t *key = r->body? hub_keys_of (self->keys, r->body, &unknown): NULL;
    dt_err_reset (&unknown);
    s_share_t *share = s_share_of (self, r, key, now);
    size_t size = r->body? zframe_size (r->body): 0;
    //  The replication stream is paced by credit, not by the request limit:
    //  a refused ack would take credit away and stall the node
    bool sync = r->info && (r->info->flags & OP_SYNC) && !dt_err_is_set (&r->err);
    if (!sync && now - share->window >= 1000) {
        share->window = now;
        share->count = 0;
    }
    if (!sync && ++share->count > DT_RATE_MAX) {
        dt_err_reset (&r->err);
        dt_err_set (&r->err, "BUSY", "more than %d requests per second from %s %s",
                    DT_RATE_MAX, key && !self->config.insecure? "key": "this",
                    key && !self->config.insecure? key->name: "connection");
    }
    else
    //  The bounds hold for sync.* too (a node has a few of them waiting at
    //  most), so that no key can queue without limit by calling them
    if (zlist_size (share->queue) >= HUB_QUEUE_PER_KEY
    ||  self->queued >= HUB_QUEUE_MAX
    ||  self->queued_bytes + size > HUB_QUEUE_BYTES) {
        dt_err_reset (&r->err);
        dt_err_set (&r->err, "BUSY", "too many requests waiting (%zu of this key's, "
                    "%zu in all); retry later", zlist_size (share->queue), self->queued);
    }
    if (streq (r->err.code, "BUSY")) {
        s_request_reply (self, r);
        s_request_free (r);
        free (r);
        self->stats.busy++;
        return;
    }
    r->share = share;
    zlist_append (share->queue, r);
    share->bytes += size;
    self->queued++;
    self->queued_bytes += size;
    if (!share->ready) {
        share->ready = true;
        zlist_append (self->ready, share);
    }
}

/* Take what has arrived (a bounded number per round, so that a flood of
   tiny messages cannot keep the loop from serving). */
static void
s_take_arrivals (hub_t *self)
{
    int64_t now = s_now (self);
    for (int taken = 0; taken < HUB_ARRIVALS_ROUND
                     && (zsock_events (self->router) & ZMQ_POLLIN); taken++) {
        zmsg_t *msg = zmsg_recv (self->router);
        if (!msg)
            break;
        s_arrive (self, msg, now);
        zmsg_destroy (&msg);
    }
}

/* One batch: a request of each key with requests queued, in turn, until
   batch_max; served together. While several keys wait, none takes more
   than a quarter of a batch: the others' replies wait for one commit, and
   a short one, not for a batch filled by the flood. */
static void
s_serve_queued (hub_t *self)
{
    int max = self->config.batch_max;
    int cap = zlist_size (self->ready) > 1 && max >= 4? max / 4: max;
    s_request_t *batch = self->batch;
    int count = 0;
    zlist_t *later = zlist_new ();      /* shares that had their part of this batch */
    for (s_share_t *share = zlist_first (self->ready); share; share = zlist_next (self->ready))
        share->taken = 0;
    while (count < max && zlist_size (self->ready)) {
        s_share_t *share = (s_share_t *) zlist_pop (self->ready);
        s_request_t *r = (s_request_t *) zlist_pop (share->queue);
        if (!r) {                   /* emptied: its connection had gone */
            share->ready = false;
            continue;
        }
        size_t size = r->body? zframe_size (r->body): 0;
        share->bytes -= size;
        self->queued_bytes -= size;
        self->queued--;
        batch [count] = *r;
        free (r);
        s_request_prepare (self, &batch [count++]);
        if (!zlist_size (share->queue))
            share->ready = false;
        else
        if (++share->taken >= cap)
            zlist_append (later, share);
        else
            zlist_append (self->ready, share);
    }
    for (s_share_t *share = zlist_first (later); share; share = zlist_next (later))
        zlist_append (self->ready, share);
    zlist_destroy (&later);
    s_batch_run (self, batch, count);
    for (int i = 0; i < count; i++)
        s_request_free (&batch [i]);
}

/* Forget the shares of keys and connections idle for a minute. */
static void
s_sweep_shares (hub_t *self, int64_t now)
{
    zlist_t *idle = zlist_new ();
    for (s_share_t *share = zhashx_first (self->shares); share;
         share = zhashx_next (self->shares))
        if (!share->ready && now - share->last_seen > 60000)
            zlist_append (idle, (void *) zhashx_cursor (self->shares));
    for (const char *key = zlist_first (idle); key; key = zlist_next (idle))
        zhashx_delete (self->shares, key);
    zlist_destroy (&idle);
}

void
hub_step (hub_t *self, int timeout_ms)
{
    zmq_pollitem_t items [] = { { zsock_resolve (self->router), 0, ZMQ_POLLIN, 0 },
                                { zsock_resolve (self->reader), 0, ZMQ_POLLIN, 0 } };
    //  A snapshot in slices, or a long log, goes on at once when no request waits
    if (hub_sync_busy (self->sync) || zlist_size (self->ready))
        timeout_ms = 0;
    if (zmq_poll (items, 2, timeout_ms) > 0 && (items [0].revents & ZMQ_POLLIN))
        s_take_arrivals (self);
    s_reader_replies (self);
    if (zlist_size (self->ready))
        s_serve_queued (self);
    int64_t now = s_now (self);
    hub_sync_pump (self->sync);
    if (now >= self->next_sweep) {
        s_sweep_shares (self, now);
        self->next_sweep = now + 10000;
    }
}

void
hub_run (hub_t *self)
{
    zsys_info ("duotang-hub %s listening on %s%s", DT_VERSION, self->endpoint,
               self->config.insecure? " (INSECURE: no CURVE, every peer is hq-admin)": "");
    while (!zsys_interrupted)
        hub_step (self, HUB_SYNC_HEARTBEAT_MS / 4);
    zsys_info ("duotang-hub stopping");
}

//  Self-test: a real hub on an ephemeral loopback port with CURVE keys,
//  driven one loop round at a time by DTP clients in this thread

typedef struct {
    hub_t *hub;
    char dir [64];
    char hub_pub [PATH_MAX];
    uint64_t next_id;
} s_rig_t;

/* A client with the key pair DIR/NAME.key (created when absent). */
static client_t *
s_test_client (s_rig_t *rig, const char *name)
{
    char prefix [PATH_MAX / 2], key_file [PATH_MAX];
    snprintf (prefix, sizeof (prefix), "%s/%s", rig->dir, name);
    snprintf (key_file, sizeof (key_file), "%s.key", prefix);
    dt_err_t err;
    dt_err_init (&err);
    if (!zsys_file_exists (key_file))
        assert (keys_create (prefix, name, &err) == 0);
    client_opts_t opts = { .endpoint = hub_endpoint (rig->hub), .key_file = key_file,
                           .server_key = rig->hub_pub };
    client_t *client = client_new (&opts, &err);
    assert (client);
    return client;
}

/* Send a request (args in op_args_text form, "" for none); its id. */
static uint64_t
s_test_send_args (s_rig_t *rig, client_t *client, const char *op, const msgpack_sbuffer *args,
                  const char *rid, const char *as)
{
    uint64_t id = ++rig->next_id;
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    proto_req_encode_as (&body, id, op, args, rid, as);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, NULL, 0);
    zmsg_addmem (msg, body.data, body.size);
    assert (zmsg_send (&msg, client_sock (client)) == 0);
    msgpack_sbuffer_destroy (&body);
    return id;
}

static uint64_t
s_test_send (s_rig_t *rig, client_t *client, const char *op, const char *args_text,
             const char *rid, const char *as)
{
    msgpack_sbuffer args;
    msgpack_sbuffer_init (&args);
    assert (op_args_text (args_text, &args) == 0);
    uint64_t id = s_test_send_args (rig, client, op, *args_text? &args: NULL, rid, as);
    msgpack_sbuffer_destroy (&args);
    return id;
}

/* Run the hub until the client has a reply; it must answer request id. */
static void
s_test_recv (s_rig_t *rig, client_t *client, uint64_t id, proto_reply_t *reply)
{
    dt_err_t err;
    dt_err_init (&err);
    for (int round = 0; round < 1000; round++) {
        if (zsock_events (client_sock (client)) & ZMQ_POLLIN) {
            assert (client_recv (client, 0, reply, &err) == 0);
            assert (reply->id == id);
            return;
        }
        hub_step (rig->hub, 5);
    }
    assert (!"no reply from the hub");
}

static void
s_test_call (s_rig_t *rig, client_t *client, const char *op, const char *args_text,
             const char *rid, const char *as, proto_reply_t *reply)
{
    s_test_recv (rig, client, s_test_send (rig, client, op, args_text, rid, as), reply);
}

/* A call that must succeed. */
static void
s_test_ok (s_rig_t *rig, client_t *client, const char *op, const char *args_text,
           const char *rid, const char *as)
{
    proto_reply_t reply;
    s_test_call (rig, client, op, args_text, rid, as, &reply);
    if (!reply.ok)
        fprintf (stderr, "\n%s %s: %s %s\n", op, args_text, reply.code, reply.message);
    assert (reply.ok);
    proto_reply_release (&reply);
}

/* A call that must fail with code. */
static void
s_test_fails (s_rig_t *rig, client_t *client, const char *op, const char *args_text,
              const char *rid, const char *as, const char *code)
{
    proto_reply_t reply;
    s_test_call (rig, client, op, args_text, rid, as, &reply);
    if (reply.ok || !streq (reply.code, code))
        fprintf (stderr, "\n%s %s: expected %s, got %s %s\n", op, args_text, code,
                reply.ok? "ok": reply.code, reply.message);
    assert (!reply.ok && streq (reply.code, code));
    proto_reply_release (&reply);
}

/* key.allow NAME for the key pair DIR/NAME (a Z85 key does not fit the
   text form of arguments). */
static void
s_test_allow (s_rig_t *rig, client_t *admin, const char *name, const char *role,
              const char *node, const char *branch)
{
    char prefix [PATH_MAX / 2], path [PATH_MAX];
    snprintf (prefix, sizeof (prefix), "%s/%s", rig->dir, name);
    snprintf (path, sizeof (path), "%s.pub", prefix);
    dt_err_t err;
    dt_err_init (&err);
    if (!zsys_file_exists (path))
        assert (keys_create (prefix, name, &err) == 0);
    zcert_t *cert = keys_load_public (path, &err);
    assert (cert);
    msgpack_sbuffer args;
    msgpack_sbuffer_init (&args);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &args, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3 + (node != NULL) + (branch != NULL));
    proto_pack_key (&pk, "name");
    proto_pack_str (&pk, name);
    proto_pack_key (&pk, "public_key");
    proto_pack_str (&pk, zcert_public_txt (cert));
    proto_pack_key (&pk, "role");
    proto_pack_str (&pk, role);
    if (node) {
        proto_pack_key (&pk, "node");
        proto_pack_str (&pk, node);
    }
    if (branch) {
        proto_pack_key (&pk, "branches");
        msgpack_pack_array (&pk, 1);
        proto_pack_str (&pk, branch);
    }
    proto_reply_t reply;
    s_test_recv (rig, admin, s_test_send_args (rig, admin, "key.allow", &args, NULL, NULL),
                 &reply);
    assert (reply.ok);
    proto_reply_release (&reply);
    msgpack_sbuffer_destroy (&args);
    zcert_destroy (&cert);
}

typedef struct {
    const char *op, *member, *actor;
    int count;
} s_audit_count_t;

static int
s_test_count_audit (const void *key, size_t key_size, const void *val, size_t val_size,
                    void *arg)
{
    (void) key; (void) key_size;
    s_audit_count_t *count = arg;
    msgpack_unpacked entry;
    msgpack_unpacked_init (&entry);
    char op [48] = "", actor [DT_ID_MAX * 2 + 2] = "", member [DT_ID_MAX + 1] = "";
    if (msgpack_unpack_next (&entry, val, val_size, NULL) == MSGPACK_UNPACK_SUCCESS) {
        proto_obj_str (proto_map_get (&entry.data, "op"), op, sizeof (op) - 1);
        proto_obj_str (proto_map_get (&entry.data, "actor"), actor, sizeof (actor) - 1);
        proto_obj_str (proto_map_get (proto_map_get (&entry.data, "args"), "id"), member,
                       DT_ID_MAX);
    }
    if (streq (op, count->op) && streq (member, count->member)
    &&  (!count->actor || streq (actor, count->actor)))
        count->count++;
    msgpack_unpacked_destroy (&entry);
    return 0;
}

/* Audit entries of op on member (by actor, when not NULL): each one change. */
static int
s_test_audit (s_rig_t *rig, const char *op, const char *member, const char *actor)
{
    s_audit_count_t count = { op, member, actor, 0 };
    store_txn_t txn;
    dt_err_t err;
    dt_err_init (&err);
    assert (store_begin (rig->hub->store, &txn, NULL, false, &err) == 0);
    assert (store_scan (&txn, TBL_AUDIT, NULL, 0, NULL, 0, s_test_count_audit, &count,
                        &err) == 0);
    store_abort (&txn);
    return count.count;
}

/* Let requests just sent arrive before the hub looks (a pause, not an
   assertion: a late one only makes one batch more). */
static void
s_test_settle (s_rig_t *rig)
{
    for (int round = 0; round < 200 && !(zsock_events (rig->hub->router) & ZMQ_POLLIN);
         round++)
        zclock_sleep (5);
    zclock_sleep (200);
}

/* N writes pipelined before the hub runs serve as one batch: fewer
   commits than requests, and every one applied. */
static void
s_test_group_commit (s_rig_t *rig, client_t *admin)
{
    enum { N = 40 };
    uint64_t ids [N];
    for (int i = 0; i < N; i++) {
        char args [64];
        snprintf (args, sizeof (args), "id=g-%d name=G", i);
        ids [i] = s_test_send (rig, admin, "member.add", args, NULL, NULL);
    }
    s_test_settle (rig);
    hub_stats_t before, after;
    hub_stats (rig->hub, &before);
    for (int i = 0; i < N; i++) {
        proto_reply_t reply;
        s_test_recv (rig, admin, ids [i], &reply);
        assert (reply.ok);
        proto_reply_release (&reply);
    }
    hub_stats (rig->hub, &after);
    assert (after.requests - before.requests == N);
    assert (after.commits - before.commits >= 1);
    assert (after.commits - before.commits < N);
    assert (after.batches - before.batches < N);
    for (int i = 0; i < N; i++) {
        char member [16];
        snprintf (member, sizeof (member), "g-%d", i);
        assert (s_test_audit (rig, "member.add", member, "admin") == 1);
    }
}

/* Writers never wait for readers: a read sent before a write of the same
   batch is answered after the write has committed, and sees it. */
static void
s_test_reads_after_writes (s_rig_t *rig, client_t *admin)
{
    uint64_t read = s_test_send (rig, admin, "tree", "", NULL, NULL);
    uint64_t write = s_test_send (rig, admin, "member.add", "id=w-1 name=W", NULL, NULL);
    s_test_settle (rig);
    proto_reply_t reply;
    s_test_recv (rig, admin, write, &reply);
    assert (reply.ok);
    proto_reply_release (&reply);
    s_test_recv (rig, admin, read, &reply);
    assert (reply.ok);
    const msgpack_object *hq = proto_map_get (reply.result, "hq");
    uint64_t members = proto_map_get (hq, "members")->via.u64;
    proto_reply_release (&reply);
    s_test_recv (rig, admin, s_test_send (rig, admin, "tree", "", NULL, NULL), &reply);
    assert (proto_map_get (proto_map_get (reply.result, "hq"), "members")->via.u64 == members);
    proto_reply_release (&reply);
}

/* A rid names one request: its recorded reply, success or a final failure,
   comes back for every copy, and only the first changed anything. */
static void
s_test_rid_replay (s_rig_t *rig, client_t *admin, client_t *zhang)
{
    proto_reply_t first, again;
    s_test_call (rig, admin, "member.add", "id=r-1 name=R", "rid-1", NULL, &first);
    s_test_call (rig, admin, "member.add", "id=r-1 name=R", "rid-1", NULL, &again);
    assert (first.ok && again.ok && again.id == first.id + 1);
    char seat [16];
    assert (proto_obj_str (proto_map_get (again.result, "seat"), seat, 15)
            && streq (seat, "none"));
    proto_reply_release (&first);
    proto_reply_release (&again);
    assert (s_test_audit (rig, "member.add", "r-1", NULL) == 1);
    //  The rid names one request: reused for other arguments or another
    //  operation it fails on its own, and changes nothing
    s_test_fails (rig, admin, "member.add", "id=r-2 name=R", "rid-1", NULL, "RID_REUSED");
    s_test_fails (rig, admin, "member.join", "id=r-1 branch=b-2", "rid-1", NULL, "RID_REUSED");
    s_test_fails (rig, admin, "member.show", "id=r-2", NULL, NULL, "NOT_FOUND");
    s_test_ok (rig, admin, "member.add", "id=r-1 name=R", "rid-1", NULL);
    //  Another key's rid of the same text is its own
    s_test_ok (rig, zhang, "member.add", "id=r-3 name=R", "rid-1", NULL);
    assert (s_test_audit (rig, "member.add", "r-3", "zhang") == 1);

    //  A final failure is recorded too: FULL stays FULL for that rid even
    //  when a seat has come free since
    s_test_ok (rig, admin, "member.add", "id=r-4 name=R", NULL, NULL);
    s_test_ok (rig, admin, "member.add", "id=r-5 name=R", NULL, NULL);
    s_test_ok (rig, admin, "member.join", "id=r-4 branch=b-2", NULL, NULL);
    s_test_fails (rig, admin, "member.join", "id=r-5 branch=b-2", "rid-full", NULL, "FULL");
    s_test_ok (rig, admin, "member.leave", "id=r-4", NULL, NULL);
    s_test_fails (rig, admin, "member.join", "id=r-5 branch=b-2", "rid-full", NULL, "FULL");
    assert (s_test_audit (rig, "member.join", "r-5", NULL) == 0);
    s_test_ok (rig, admin, "member.join", "id=r-5 branch=b-2", "rid-full-2", NULL);
}

/* A storage failure decides nothing: INTERNAL is not recorded under the
   rid, and the same rid sent again is served afresh. */
/* Only the newest rid_keep rids are kept: an older one is forgotten (its
   request runs again), a newer one still replays. */
#define S_TEST_RID_KEEP 64
static void
s_test_rid_retention (s_rig_t *rig, client_t *admin)
{
    char args [64], rid [32];
    for (int i = 0; i < S_TEST_RID_KEEP + 8; i++) {
        snprintf (args, sizeof (args), "id=keep-%d name=K", i);
        snprintf (rid, sizeof (rid), "keep-%d", i);
        s_test_ok (rig, admin, "member.add", args, rid, NULL);
    }
    s_test_fails (rig, admin, "member.add", "id=keep-0 name=K", "keep-0", NULL, "EXISTS");
    snprintf (args, sizeof (args), "id=keep-%d name=K", S_TEST_RID_KEEP + 7);
    snprintf (rid, sizeof (rid), "keep-%d", S_TEST_RID_KEEP + 7);
    s_test_ok (rig, admin, "member.add", args, rid, NULL);
    assert (store_size (hub_store (rig->hub), TBL_RID_ORDER) <= S_TEST_RID_KEEP);
    assert (store_size (hub_store (rig->hub), TBL_RID) <= S_TEST_RID_KEEP);
}

/* A list goes to the reader and is answered from there; queued with a
   write in the same batch, it sees the write, committed before it ran. */
static void
s_test_reader (s_rig_t *rig, client_t *admin)
{
    uint64_t add = s_test_send (rig, admin, "officer.add", "id=o-reader name=R", NULL, NULL);
    uint64_t list = s_test_send (rig, admin, "officer.list", "limit:=1000", NULL, NULL);
    proto_reply_t reply;
    s_test_recv (rig, admin, add, &reply);
    assert (reply.ok);
    proto_reply_release (&reply);
    s_test_recv (rig, admin, list, &reply);
    assert (reply.ok);
    const msgpack_object *officers = proto_map_get (reply.result, "officers");
    bool seen = false;
    for (uint32_t i = 0; officers && i < officers->via.array.size; i++) {
        char id [DT_ID_MAX + 1];
        seen |= proto_obj_str (proto_map_get (&officers->via.array.ptr [i], "id"), id,
                               DT_ID_MAX) && streq (id, "o-reader");
    }
    assert (seen);
    proto_reply_release (&reply);
    assert (rig->hub->reading == 0);
}

static void
s_test_storage_fault (s_rig_t *rig, client_t *admin, client_t *node)
{
    store_t *store = rig->hub->store;
    //  The batch's commit fails: nothing of it stays, the rid is free
    store_fault_set (store, 1);
    s_test_fails (rig, admin, "member.add", "id=f-1 name=F", "rid-f1", NULL, "INTERNAL");
    assert (store_fault_left (store) == 0);
    s_test_fails (rig, admin, "member.show", "id=f-1", NULL, NULL, "NOT_FOUND");
    s_test_ok (rig, admin, "member.add", "id=f-1 name=F", "rid-f1", NULL);
    assert (s_test_audit (rig, "member.add", "f-1", NULL) == 1);
    //  Two batches in a row fail
    store_fault_set (store, 2);
    for (int attempt = 0; attempt < 2; attempt++)
        s_test_fails (rig, admin, "member.add", "id=f-2 name=F", "rid-f2", NULL, "INTERNAL");
    assert (store_fault_left (store) == 0);
    s_test_ok (rig, admin, "member.add", "id=f-2 name=F", "rid-f2", NULL);
    //  A node's forwarded write under its outbox rid: delivered once the
    //  fault clears, and applied once
    store_fault_set (store, 2);
    const char *rid = "n1:7@18c0ffee";
    for (int attempt = 0; attempt < 2; attempt++)
        s_test_fails (rig, node, "member.join", "id=f-1 branch=b-1", rid, "zhang", "INTERNAL");
    assert (store_fault_left (store) == 0);
    s_test_ok (rig, node, "member.join", "id=f-1 branch=b-1", rid, "zhang");
    s_test_ok (rig, node, "member.join", "id=f-1 branch=b-1", rid, "zhang");
    assert (s_test_audit (rig, "member.join", "f-1", "n1/zhang") == 1);
    //  A write that fails after it has written leaves none of it (the batch
    //  runs again with it in a child transaction), and a read queued with
    //  it in the same batch is still answered
    s_test_ok (rig, admin, "member.add", "id=f-3 name=F", NULL, NULL);
    store_fault_writes (store, 2);
    uint64_t join = s_test_send (rig, admin, "member.join", "id=f-3 branch=b-1", NULL, NULL);
    uint64_t show = s_test_send (rig, admin, "officer.list", "", NULL, NULL);
    proto_reply_t reply;
    s_test_recv (rig, admin, join, &reply);
    assert (!reply.ok && streq (reply.code, "INTERNAL"));
    proto_reply_release (&reply);
    s_test_recv (rig, admin, show, &reply);
    assert (reply.ok);
    proto_reply_release (&reply);
    store_fault_writes (store, 0);
    check_assert (store);
    assert (s_test_audit (rig, "member.join", "f-3", NULL) == 0);
    s_test_ok (rig, admin, "member.join", "id=f-3 branch=b-1", NULL, NULL);
    check_assert (store);
    assert (s_test_audit (rig, "member.join", "f-3", NULL) == 1);
}

/* A node forwards "as" the key that asked at it: both scopes apply, and
   the audit names both keys. */
static void
s_test_forward_as (s_rig_t *rig, client_t *admin, client_t *node, client_t *zhang)
{
    s_test_ok (rig, admin, "member.add", "id=a-1 name=A", NULL, NULL);
    s_test_ok (rig, admin, "member.add", "id=a-2 name=A", NULL, NULL);
    //  In zhang's branch (and the node's): applied, audited as n1/zhang
    s_test_ok (rig, node, "member.join", "id=a-1 branch=b-1", NULL, "zhang");
    assert (s_test_audit (rig, "member.join", "a-1", "n1/zhang") == 1);
    //  The node's branch b-3 is not zhang's; b-2 is neither's
    s_test_fails (rig, node, "member.join", "id=a-2 branch=b-3", NULL, "zhang", "DENIED");
    s_test_fails (rig, node, "member.join", "id=a-2 branch=b-2", NULL, "zhang", "DENIED");
    //  An hq-admin asking at the node still writes only the node's branches
    s_test_fails (rig, node, "member.join", "id=a-2 branch=b-2", NULL, "admin", "DENIED");
    //  The node key alone covers b-3
    s_test_ok (rig, node, "member.join", "id=a-2 branch=b-3", NULL, NULL);
    assert (s_test_audit (rig, "member.join", "a-2", "n1") == 1);
    //  Who may be named, and by whom, for what
    s_test_fails (rig, node, "member.leave", "id=a-1", NULL, "ghost", "UNAUTHENTICATED");
    s_test_fails (rig, node, "member.leave", "id=a-1", NULL, "n1", "DENIED");
    s_test_fails (rig, zhang, "member.leave", "id=a-1", NULL, "admin", "DENIED");
    s_test_fails (rig, node, "hall.rename", "id=h-1 name=X", NULL, "zhang", "DENIED");
    assert (s_test_audit (rig, "member.leave", "a-1", NULL) == 0);
}

/* Beyond DT_RATE_MAX requests in a second one key hears BUSY, however many
   connections it spreads them over (counted as they arrive); another key is
   served meanwhile. */
static void
s_test_rate_limit (s_rig_t *rig, client_t *flood [2], client_t *other)
{
    enum { N = DT_RATE_MAX + 100 };
    //  In one second of the hub's clock however slowly this machine serves
    hub_set_clock (rig->hub, dt_now_ms ());
    uint64_t first = 0;
    for (int i = 0; i < N; i++) {
        uint64_t id = s_test_send (rig, flood [i % 2], "hello", "", NULL, NULL);
        first = first? first: id;
    }
    s_test_settle (rig);
    int ok = 0, busy = 0;
    dt_err_t err;
    dt_err_init (&err);
    for (int round = 0; ok + busy < N && round < 20000; round++) {
        hub_step (rig->hub, 5);
        for (int c = 0; c < 2; c++)
            while (zsock_events (client_sock (flood [c])) & ZMQ_POLLIN) {
                proto_reply_t reply;
                assert (client_recv (flood [c], 0, &reply, &err) == 0);
                assert (reply.id >= first && reply.id < first + N);
                if (reply.ok)
                    ok++;
                else {
                    assert (streq (reply.code, "BUSY"));
                    busy++;
                }
                proto_reply_release (&reply);
            }
    }
    assert (ok + busy == N);
    assert (busy > 0 && ok >= DT_RATE_MAX / 2);
    s_test_ok (rig, other, "hello", "", NULL, NULL);
}

/* A key that floods from many connections slows itself only: another
   key's requests, sent behind the flood, are served within a few batches
   (round robin across keys), long before the flood is through. */
static void
s_test_fair_share (s_rig_t *rig, client_t *flood [2], client_t *other)
{
    enum { N = 1500 };          /* under the rate: all of it is queued */
    //  In a second of its own, after the flood before
    hub_set_clock (rig->hub, s_now (rig->hub) + 1000);
    for (int i = 0; i < N; i++)
        s_test_send (rig, flood [i % 2], "member.add", i % 2? "id=fs-x name=X":
                     "id=fs-y name=Y", NULL, NULL);
    s_test_settle (rig);
    uint64_t id = s_test_send (rig, other, "hello", "", NULL, NULL);
    zclock_sleep (100);
    hub_stats_t before, after;
    hub_stats (rig->hub, &before);
    dt_err_t err;
    dt_err_init (&err);
    bool answered = false;
    for (int round = 0; !answered && round < 2000; round++) {
        hub_step (rig->hub, 5);
        while (zsock_events (client_sock (other)) & ZMQ_POLLIN) {
            proto_reply_t reply;
            assert (client_recv (other, 0, &reply, &err) == 0);
            answered |= reply.id == id && reply.ok;
            proto_reply_release (&reply);
        }
    }
    hub_stats (rig->hub, &after);
    assert (answered);
    //  Served in the first batches, not behind the 1,500 queued before it
    assert (after.requests - before.requests < 4 * (uint64_t) rig->hub->config.batch_max);
    //  The flooder's connections go away: what they still have queued is
    //  dropped at the first reply that finds them gone, not run
    assert (rig->hub->queued > 0);
    client_destroy (&flood [0]);
    client_destroy (&flood [1]);
    zclock_sleep (200);
    for (int round = 0; round < 200 && zlist_size (rig->hub->ready); round++)
        hub_step (rig->hub, 5);
    hub_stats (rig->hub, &after);
    assert (rig->hub->queued == 0);
    assert (after.dropped > 0);
    assert (after.requests - before.requests < N);
    hub_set_clock (rig->hub, 0);
}

void
hub_test (bool verbose)
{
    (void) verbose;
    //  The config file's keys are the settings hub_config_set knows
    hub_config_t scratch_config;
    hub_config_defaults (&scratch_config);
    for (const char *const *key = hub_config_keys; *key; key++) {
        dt_err_t key_err;
        dt_err_init (&key_err);
        assert (strncmp (*key, "hub/", 4) == 0);
        hub_config_set (&scratch_config, *key + 4, "", NULL, &key_err);
        assert (!strstr (key_err.message, "unknown setting"));
        dt_err_reset (&key_err);
    }
    s_rig_t rig;
    memset (&rig, 0, sizeof (rig));
    snprintf (rig.dir, sizeof (rig.dir), "/tmp/duotang-hub-test-XXXXXX");
    assert (mkdtemp (rig.dir));
    dt_err_t err;
    dt_err_init (&err);
    char prefix [256];
    snprintf (prefix, sizeof (prefix), "%s/admin", rig.dir);
    assert (keys_create (prefix, "admin", &err) == 0);
    hub_config_t config;
    hub_config_defaults (&config);
    snprintf (config.datadir, sizeof (config.datadir), "%s/hub", rig.dir);
    snprintf (config.endpoint, sizeof (config.endpoint), "tcp://127.0.0.1:*");
    snprintf (config.admin_pub, sizeof (config.admin_pub), "%s.pub", prefix);
    config.mapsize_mb = 64;
    config.rid_keep = S_TEST_RID_KEEP;
    rig.hub = hub_new (&config, &err);
    assert (rig.hub && strncmp (hub_endpoint (rig.hub), "tcp://127.0.0.1:", 16) == 0);
    snprintf (rig.hub_pub, sizeof (rig.hub_pub), "%s/hub.pub", config.datadir);

    //  Branches b-1 and b-3 on node n1, b-2 (one seat) at the hub only;
    //  node key n1, leader key zhang for b-1
    client_t *admin = s_test_client (&rig, "admin");
    s_test_ok (&rig, admin, "officer.add", "id=o-1 name=O", NULL, NULL);
    s_test_ok (&rig, admin, "node.add", "id=n1", NULL, NULL);
    s_test_ok (&rig, admin, "branch.create", "id=b-1 name=B1 leader=o-1", NULL, NULL);
    s_test_ok (&rig, admin, "branch.create", "id=b-2 name=B2 leader=o-1 cap:=1", NULL, NULL);
    s_test_ok (&rig, admin, "branch.create", "id=b-3 name=B3 leader=o-1", NULL, NULL);
    s_test_ok (&rig, admin, "branch.assign", "id=b-1 node=n1", NULL, NULL);
    s_test_ok (&rig, admin, "branch.assign", "id=b-3 node=n1", NULL, NULL);
    //  (a connection refused by the ZAP handler before its key is allowed
    //  would wait for a reconnect: the clients connect afterwards)
    s_test_allow (&rig, admin, "n1", "node", "n1", NULL);
    s_test_allow (&rig, admin, "zhang", "leader", NULL, "b-1");
    client_t *node = s_test_client (&rig, "n1");
    client_t *zhang = s_test_client (&rig, "zhang");
    s_test_ok (&rig, node, "hello", "", NULL, NULL);
    s_test_ok (&rig, zhang, "hello", "", NULL, NULL);

    s_test_group_commit (&rig, admin);
    s_test_reads_after_writes (&rig, admin);
    s_test_rid_replay (&rig, admin, zhang);
    s_test_forward_as (&rig, admin, node, zhang);
    s_test_storage_fault (&rig, admin, node);
    s_test_reader (&rig, admin);
    s_test_rid_retention (&rig, admin);
    client_t *flood [2] = { s_test_client (&rig, "admin"), s_test_client (&rig, "admin") };
    s_test_rate_limit (&rig, flood, zhang);
    s_test_fair_share (&rig, flood, zhang);

    client_destroy (&zhang);
    client_destroy (&node);
    client_destroy (&admin);
    hub_destroy (&rig.hub);
    store_remove (rig.dir);
    dt_err_reset (&err);
}

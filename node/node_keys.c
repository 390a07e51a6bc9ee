/* node_keys.c -- local clients of a node: --admin keys and the hub's replicated keys. */
#include "node_keys.h"
#include "keys.h"
#include "certdir.h"
#include "repl.h"

/* An admitted key, and whether the hub knows it (then forwarded writes name it). */
typedef struct {
    dt_key_t key;
    bool hub;
} s_entry_t;

struct _node_keys_t {
    store_t *store;                 /* borrowed */
    zactor_t *auth;                 /* borrowed; NULL = insecure */
    dt_id_t node;
    char certdir [PATH_MAX];
    zlistx_t *admins;               /* dt_key_t of the --admin files */
    zhashx_t *by_public;            /* Z85 -> s_entry_t: admitted, revoked included */
    bool written;                   /* certdir holds the live keys of by_public */
};

static int
s_load_admins (node_keys_t *self, const node_config_t *config, dt_err_t *err)
{
    for (int i = 0; i < config->nadmins; i++) {
        zcert_t *cert = keys_load_public (config->admin_pub [i], err);
        if (!cert)
            return -1;
        dt_key_t *key = (dt_key_t *) zmalloc (sizeof (dt_key_t));
        key->role = KEY_HQ_ADMIN;
        snprintf (key->public_key, sizeof (key->public_key), "%s", zcert_public_txt (cert));
        keys_name (cert, config->admin_pub [i], key->name, sizeof (key->name));
        zcert_destroy (&cert);
        zlistx_add_end (self->admins, key);
    }
    return 0;
}

node_keys_t *
node_keys_new (store_t *store, const node_config_t *config, zactor_t *auth, dt_err_t *err)
{
    node_keys_t *self = (node_keys_t *) zmalloc (sizeof (node_keys_t));
    self->store = store;
    self->auth = auth;
    snprintf (self->node, sizeof (self->node), "%s", config->id);
    snprintf (self->certdir, sizeof (self->certdir), "%s/certs", config->datadir);
    self->admins = zlistx_new ();
    zlistx_set_destructor (self->admins, (zlistx_destructor_fn *) zstr_free);
    self->by_public = zhashx_new ();
    zhashx_set_destructor (self->by_public, (zhashx_destructor_fn *) zstr_free);
    if (auth && (s_load_admins (self, config, err) || node_keys_reload (self, err)))
        node_keys_destroy (&self);
    else
    if (auth && zhashx_size (self->by_public) == 0)
        zsys_warning ("node %s: no key admitted yet: local clients are the --admin keys and "
                      "the hub's hq-admin and leader keys, once replicated", self->node);
    return self;
}

void
node_keys_destroy (node_keys_t **self_p)
{
    assert (self_p);
    node_keys_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->by_public);
        zlistx_destroy (&self->admins);
        free (self);
        *self_p = NULL;
    }
}

//  Admission

static void
s_admit (zhashx_t *admitted, const dt_key_t *key, bool hub)
{
    s_entry_t *entry = (s_entry_t *) zmalloc (sizeof (s_entry_t));
    entry->key = *key;
    entry->hub = hub;
    //  The hub's record of a public key wins over an --admin file: a key the
    //  hub revoked is cut off here too
    zhashx_update (admitted, key->public_key, entry);
}

/* True if the leader key names a branch this node serves (the replica holds
   this node's branches only). */
static bool
s_leads_here (store_txn_t *txn, const dt_key_t *key)
{
    dt_err_t err;
    dt_err_init (&err);
    branch_t branch;
    for (uint32_t i = 0; i < key->nbranches; i++)
        if (tree_branch_get (txn, key->branches [i], &branch, &err) == 0)
            return true;
    return false;
}

typedef struct {
    zhashx_t *admitted;
    store_txn_t *txn;
} s_walk_t;

/* A node key is never a local client; a revoked key is kept to say so. */
static int
s_admit_record (const void *key, size_t key_size, const void *val, size_t val_size,
                void *arg)
{
    (void) key; (void) key_size;
    s_walk_t *walk = arg;
    dt_key_t record;
    if (record_key_decode (&record, val, val_size) || record.role == KEY_NODE)
        return 0;
    if (record.role == KEY_HQ_ADMIN || record.revoked || s_leads_here (walk->txn, &record))
        s_admit (walk->admitted, &record, true);
    return 0;
}

/* True if both tables admit the same live keys under the same names. */
static bool
s_same_live (zhashx_t *a, zhashx_t *b)
{
    size_t live_a = 0, live_b = 0;
    for (s_entry_t *entry = zhashx_first (b); entry; entry = zhashx_next (b))
        live_b += !entry->key.revoked;
    for (s_entry_t *entry = zhashx_first (a); entry; entry = zhashx_next (a)) {
        if (entry->key.revoked)
            continue;
        live_a++;
        s_entry_t *other = zhashx_lookup (b, entry->key.public_key);
        if (!other || other->key.revoked || !streq (other->key.name, entry->key.name))
            return false;
    }
    return live_a == live_b;
}

int
node_keys_reload (node_keys_t *self, dt_err_t *err)
{
    if (!self->auth)
        return 0;
    store_txn_t txn;
    if (store_begin (self->store, &txn, NULL, false, err))
        return -1;
    zhashx_t *admitted = zhashx_new ();
    zhashx_set_destructor (admitted, (zhashx_destructor_fn *) zstr_free);
    for (dt_key_t *key = zlistx_first (self->admins); key; key = zlistx_next (self->admins))
        s_admit (admitted, key, false);
    s_walk_t walk = { admitted, &txn };
    int rc = store_scan (&txn, TBL_KEY, NULL, 0, NULL, 0, s_admit_record, &walk, err);
    store_abort (&txn);
    //  Most pushes that touch branches only change seat counters: the
    //  certificate directory is rewritten only when the live keys changed
    zlistx_t *live = zlistx_new ();
    for (s_entry_t *entry = zhashx_first (admitted); entry; entry = zhashx_next (admitted))
        zlistx_add_end (live, &entry->key);
    if (rc == 0 && (!self->written || !s_same_live (admitted, self->by_public)))
        rc = certdir_write (self->certdir, live, self->auth, err);
    self->written |= rc == 0;
    zlistx_destroy (&live);
    //  On failure the keys admitted before stay admitted
    zhashx_t *dropped = rc == 0? self->by_public: admitted;
    if (rc == 0)
        self->by_public = admitted;
    zhashx_destroy (&dropped);
    return rc;
}

//  The key behind a request

const dt_key_t *
node_keys_find (node_keys_t *self, const char *public_key, const char **as, dt_err_t *err)
{
    *as = NULL;
    s_entry_t *entry = public_key? zhashx_lookup (self->by_public, public_key): NULL;
    if (!entry) {
        dt_err_set (err, "UNAUTHENTICATED", "this key is not allowed at node %s", self->node);
        return NULL;
    }
    if (entry->key.revoked) {
        dt_err_set (err, "UNAUTHENTICATED", "key %s was revoked", entry->key.name);
        return NULL;
    }
    *as = entry->hub? entry->key.name: NULL;
    return &entry->key;
}

const dt_key_t *
node_keys_of (node_keys_t *self, zframe_t *frame, const char **as, dt_err_t *err)
{
    if (!self->auth) {
        *as = NULL;
        return op_admin_key ();
    }
    return node_keys_find (self, zframe_meta (frame, "User-Id"), as, err);
}

//  Self-test

/* Put a key record into the replica. */
static void
s_test_key (store_txn_t *txn, const char *name, key_role_t role, const char *branch,
            bool revoked, char public_key [41])
{
    zcert_t *cert = zcert_new ();
    dt_key_t key = { .role = role, .revoked = revoked, .nbranches = *branch? 1: 0 };
    snprintf (key.name, sizeof (key.name), "%s", name);
    snprintf (key.public_key, sizeof (key.public_key), "%s", zcert_public_txt (cert));
    snprintf (key.branches [0], sizeof (key.branches [0]), "%s", branch);
    snprintf (public_key, 41, "%s", key.public_key);
    zcert_destroy (&cert);
    msgpack_sbuffer record;
    msgpack_sbuffer_init (&record);
    record_key_encode (&key, &record);
    dt_err_t err;
    dt_err_init (&err);
    assert (repl_apply (txn, "n1", "key", name, record.data, record.size, &err) == 0);
    msgpack_sbuffer_destroy (&record);
}

static size_t
s_test_certs (const char *certdir)
{
    zdir_t *dir = zdir_new (certdir, NULL);
    assert (dir);
    size_t count = zdir_count (dir);
    zdir_destroy (&dir);
    return count;
}

void
node_keys_test (bool verbose)
{
    (void) verbose;
    char dir [] = "/tmp/duotang-node-keys-test-XXXXXX";
    assert (mkdtemp (dir));
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = store_new (dir, 16, &err);
    assert (store);
    node_config_t config;
    node_config_defaults (&config);
    snprintf (config.id, sizeof (config.id), "n1");
    snprintf (config.datadir, sizeof (config.datadir), "%s", dir);
    snprintf (config.admin_pub [0], sizeof (config.admin_pub [0]), "%s/local.pub", dir);
    config.nadmins = 1;
    char prefix [PATH_MAX];
    snprintf (prefix, sizeof (prefix), "%s/local", dir);
    assert (keys_create (prefix, "local", &err) == 0);
    zcert_t *local = keys_load_public (config.admin_pub [0], &err);
    assert (local);
    zactor_t *auth = zactor_new (zauth, NULL);
    assert (auth);
    char certdir [PATH_MAX];
    snprintf (certdir, sizeof (certdir), "%s/certs", dir);

    //  At first only the --admin key, as hq-admin unknown to the hub
    node_keys_t *keys = node_keys_new (store, &config, auth, &err);
    assert (keys);
    const char *as = "x";
    const dt_key_t *key = node_keys_find (keys, zcert_public_txt (local), &as, &err);
    assert (key && key->role == KEY_HQ_ADMIN && streq (key->name, "local") && as == NULL);
    assert (s_test_certs (certdir) == 1);

    //  The hub's keys arrive: hq-admin and leaders of b-1 (served here) are
    //  admitted; node keys and leaders of other branches are not
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    branch_t b1 = { .id = "b-1", .name = "b-1", .leader = "o-1", .node = "n1" };
    msgpack_sbuffer record;
    msgpack_sbuffer_init (&record);
    record_branch_encode (&b1, &record);
    assert (repl_apply (&txn, "n1", "branch", "b-1", record.data, record.size, &err) == 0);
    msgpack_sbuffer_destroy (&record);
    char boss [41], lead [41], far [41], node [41], old [41];
    s_test_key (&txn, "boss", KEY_HQ_ADMIN, "", false, boss);
    s_test_key (&txn, "lead", KEY_LEADER, "b-1", false, lead);
    s_test_key (&txn, "far", KEY_LEADER, "b-2", false, far);
    s_test_key (&txn, "n1key", KEY_NODE, "", false, node);
    s_test_key (&txn, "old", KEY_LEADER, "b-1", true, old);
    assert (store_commit (&txn, &err) == 0);
    assert (node_keys_reload (keys, &err) == 0);
    key = node_keys_find (keys, lead, &as, &err);
    assert (key && key->role == KEY_LEADER && as && streq (as, "lead"));
    assert (node_keys_find (keys, boss, &as, &err) && streq (as, "boss"));
    assert (node_keys_find (keys, far, &as, &err) == NULL);
    assert (streq (err.code, "UNAUTHENTICATED") && strstr (err.message, "node n1"));
    assert (node_keys_find (keys, node, &as, &err) == NULL);
    assert (node_keys_find (keys, old, &as, &err) == NULL && strstr (err.message, "revoked"));
    assert (node_keys_find (keys, NULL, &as, &err) == NULL);
    assert (s_test_certs (certdir) == 3);
    //  A reload that admits the same keys leaves the directory alone
    char stray [PATH_MAX + 16];
    snprintf (stray, sizeof (stray), "%s/stray.pub", certdir);
    assert (zcert_save_public (local, stray) == 0);
    assert (node_keys_reload (keys, &err) == 0 && s_test_certs (certdir) == 4);

    //  Revoked at the hub: cut off here, --admin file or not
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    dt_key_t revoked = { .name = "local", .role = KEY_HQ_ADMIN, .revoked = true };
    snprintf (revoked.public_key, sizeof (revoked.public_key), "%s", zcert_public_txt (local));
    msgpack_sbuffer_init (&record);
    record_key_encode (&revoked, &record);
    assert (repl_apply (&txn, "n1", "key", "local", record.data, record.size, &err) == 0);
    msgpack_sbuffer_destroy (&record);
    assert (store_commit (&txn, &err) == 0);
    assert (node_keys_reload (keys, &err) == 0);
    assert (node_keys_find (keys, zcert_public_txt (local), &as, &err) == NULL);
    assert (s_test_certs (certdir) == 2);
    node_keys_destroy (&keys);

    //  Insecure: everyone is the built-in hq-admin
    keys = node_keys_new (store, &config, NULL, &err);
    assert (keys && node_keys_of (keys, NULL, &as, &err) == op_admin_key () && !as);
    node_keys_destroy (&keys);

    zactor_destroy (&auth);
    zcert_destroy (&local);
    store_destroy (&store);
    store_remove (dir);
    dt_err_reset (&err);
}

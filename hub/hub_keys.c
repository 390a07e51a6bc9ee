/* hub_keys.c -- key registry, certificate directory and ZAP handler of the hub. */
#include "hub_keys.h"
#include "hub_sync.h"
#include "keys.h"
#include "certdir.h"

struct _hub_keys_t {
    store_t *store;
    bool insecure;
    zcert_t *cert;              /* the hub's own key pair */
    zactor_t *auth;             /* zauth ZAP handler */
    char certdir [PATH_MAX];
    zhashx_t *by_public;        /* Z85 public key -> dt_key_t (revoked included) */
    zhashx_t *by_name;          /* key name -> the same dt_key_t (not owned) */
    bool dirty;
};

static int s_reload (hub_keys_t *self, dt_err_t *err);

hub_keys_t *
hub_keys_new (store_t *store, const char *datadir, bool insecure, dt_err_t *err)
{
    hub_keys_t *self = (hub_keys_t *) zmalloc (sizeof (hub_keys_t));
    self->store = store;
    self->insecure = insecure;
    self->by_public = zhashx_new ();
    zhashx_set_destructor (self->by_public, (zhashx_destructor_fn *) zstr_free);
    self->by_name = zhashx_new ();
    snprintf (self->certdir, sizeof (self->certdir), "%s/certs", datadir);
    if (!insecure && keys_server (datadir, "hub", &self->cert, &self->auth, err))
        goto failed;
    if (s_reload (self, err))
        goto failed;
    return self;
failed:
    hub_keys_destroy (&self);
    return NULL;
}

void
hub_keys_destroy (hub_keys_t **self_p)
{
    assert (self_p);
    hub_keys_t *self = *self_p;
    if (self) {
        zactor_destroy (&self->auth);
        zcert_destroy (&self->cert);
        zhashx_destroy (&self->by_name);
        zhashx_destroy (&self->by_public);
        free (self);
        *self_p = NULL;
    }
}

zcert_t *
hub_keys_cert (hub_keys_t *self)
{
    return self->cert;
}

//  The registry

static int
s_load_key (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    (void) key; (void) key_size;
    hub_keys_t *self = arg;
    dt_key_t *record = (dt_key_t *) zmalloc (sizeof (dt_key_t));
    if (record_key_decode (record, val, val_size)) {
        free (record);
        return 0;               /* a damaged record admits nobody */
    }
    //  Two records with one public key cannot both be allowed (key.allow
    //  refuses that): the name index follows the record kept
    dt_key_t *old = zhashx_lookup (self->by_public, record->public_key);
    if (old)
        zhashx_delete (self->by_name, old->name);
    zhashx_update (self->by_public, record->public_key, record);
    zhashx_update (self->by_name, record->name, record);
    return 0;
}

/* Write the public certificate of every live key, and nothing else, into
   certdir, then have zauth load that directory afresh. */
static int
s_mirror_certs (hub_keys_t *self, dt_err_t *err)
{
    zlistx_t *keys = zlistx_new ();
    for (dt_key_t *key = zhashx_first (self->by_public); key;
         key = zhashx_next (self->by_public))
        zlistx_add_end (keys, key);
    int rc = certdir_write (self->certdir, keys, self->auth, err);
    zlistx_destroy (&keys);
    return rc;
}

static int
s_reload (hub_keys_t *self, dt_err_t *err)
{
    zhashx_purge (self->by_name);
    zhashx_purge (self->by_public);
    store_txn_t txn;
    if (store_begin (self->store, &txn, NULL, false, err))
        return -1;
    int rc = store_scan (&txn, TBL_KEY, NULL, 0, NULL, 0, s_load_key, self, err);
    store_abort (&txn);
    if (rc == 0 && !self->insecure)
        rc = s_mirror_certs (self, err);
    return rc;
}

const dt_key_t *
hub_keys_find (hub_keys_t *self, const char *public_key)
{
    return zhashx_lookup (self->by_public, public_key);
}

const dt_key_t *
hub_keys_find_name (hub_keys_t *self, const char *name)
{
    return zhashx_lookup (self->by_name, name);
}

const dt_key_t *
hub_keys_of (hub_keys_t *self, zframe_t *frame, dt_err_t *err)
{
    if (self->insecure)
        return op_admin_key ();
    const char *user = zframe_meta (frame, "User-Id");
    const dt_key_t *key = user? hub_keys_find (self, user): NULL;
    if (!key) {
        dt_err_set (err, "UNAUTHENTICATED", "this key is not registered at the hub");
        return NULL;
    }
    if (key->revoked) {
        dt_err_set (err, "UNAUTHENTICATED", "key %s was revoked", key->name);
        return NULL;
    }
    return key;
}

void
hub_keys_changed (hub_keys_t *self)
{
    self->dirty = true;
}

void
hub_keys_commit (hub_keys_t *self, hub_sync_t *sync)
{
    if (!self->dirty)
        return;
    self->dirty = false;
    dt_err_t err;
    dt_err_init (&err);
    if (s_reload (self, &err))
        zsys_error ("reloading keys failed: %s", err.message);
    for (dt_key_t *key = zhashx_first (self->by_public); key;
         key = zhashx_next (self->by_public))
        if (key->revoked)
            hub_sync_revoke (sync, key->public_key);
    dt_err_reset (&err);
}

int
hub_keys_bootstrap (hub_keys_t *self, const char *pub_path, dt_err_t *err)
{
    zcert_t *cert = keys_load_public (pub_path, err);
    if (!cert)
        return -1;
    dt_key_t key = { .role = KEY_HQ_ADMIN, .created = dt_now_ms () };
    snprintf (key.public_key, sizeof (key.public_key), "%s", zcert_public_txt (cert));
    keys_name (cert, pub_path, key.name, sizeof (key.name));
    zcert_destroy (&cert);
    if (hub_keys_find (self, key.public_key))
        return 0;
    if (!dt_id_valid (key.name, strlen (key.name)))
        return dt_err_set (err, "BAD_ARGS", "cannot name a key after %s", pub_path);
    store_txn_t txn;
    if (store_begin (self->store, &txn, NULL, true, err))
        return -1;
    txn.audit = txn.log = true;         /* nodes admit by the hub's keys */
    const void *val = NULL;
    size_t size = 0;
    if (store_get (&txn, TBL_KEY, key.name, strlen (key.name), &val, &size, err) != 1) {
        store_abort (&txn);
        return dt_err_is_set (err)? -1: dt_err_set (err, "EXISTS",
            "key %s is registered with another public key", key.name);
    }
    uint64_t log_head = store_log_head (&txn);
    int rc = tree_key_put (&txn, &key, err);
    if (rc == 0)
        rc = store_audit_append (&txn, "bootstrap", "key.allow", NULL, 0, err);
    if (rc == 0)
        rc = store_log_mark_end (&txn, log_head, err);
    if (rc == 0)
        rc = store_commit (&txn, err);
    else
        store_abort (&txn);
    return rc? rc: s_reload (self, err);
}

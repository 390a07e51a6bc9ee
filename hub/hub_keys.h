/* hub_keys.h -- the hub's key registry: its own CURVE key pair, the keys
   allowed in (TBL_KEY, mirrored to a certificate directory for the ZAP
   handler), and the key behind each request. */
#ifndef HUB_KEYS_H_INCLUDED
#define HUB_KEYS_H_INCLUDED

#include "hub.h"

typedef struct _hub_keys_t hub_keys_t;

/* Load or create DATADIR/hub.key and start the ZAP handler (zauth) unless
   insecure. NULL with err set on failure. */
hub_keys_t *hub_keys_new (store_t *store, const char *datadir, bool insecure, dt_err_t *err);
void hub_keys_destroy (hub_keys_t **self_p);

/* The hub's own key pair (NULL when insecure); owned by the registry. */
zcert_t *hub_keys_cert (hub_keys_t *self);

/* Register a public key file as an hq-admin key (named by its "name"
   metadata, else the file's base name) unless that key is registered. */
int hub_keys_bootstrap (hub_keys_t *self, const char *pub_path, dt_err_t *err);

/* The key that sent this frame (insecure: the built-in hq-admin key). NULL
   with UNAUTHENTICATED when the key is unknown or revoked. The key is owned
   by the registry and valid until the next hub_keys_commit. */
const dt_key_t *hub_keys_of (hub_keys_t *self, zframe_t *frame, dt_err_t *err);

/* Look a key up by public key text (Z85). NULL if unknown. */
const dt_key_t *hub_keys_find (hub_keys_t *self, const char *public_key);
/* Look a key up by name (revoked included). NULL if unknown. */
const dt_key_t *hub_keys_find_name (hub_keys_t *self, const char *name);

/* Key records changed in the current batch: reload after it commits. */
void hub_keys_changed (hub_keys_t *self);
/* After a commit: if keys changed, reload them, rewrite the certificate
   directory, reload the ZAP handler and end sessions of revoked keys. */
void hub_keys_commit (hub_keys_t *self, hub_sync_t *sync);

/* The registry of a hub (for the key ops). */
hub_keys_t *hub_keys (hub_t *hub);

#endif

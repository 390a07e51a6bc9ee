/* node_keys.h -- the keys a node admits as local clients (PROTOCOL.md 3,
   6.10): the --admin keys it was started with (hq-admin at this node) and the
   hub's keys it replicates (TBL_KEY): hq-admin keys, and leader keys naming a
   branch this node serves. Keeps the certificate directory its ZAP handler
   admits and names the key behind each request.
   Shared with the hub's registry (hub_keys.h): key files, key names and the
   server's key pair with its ZAP handler (keys.h), the certificate directory
   (certdir.h), key records (record.h) and scopes (op.h). What stays apart is
   who is admitted, which is not the same logic: the hub admits every key
   record it holds and finds keys by name for a forwarded "as"; a node admits
   its --admin files and, of the replicated records, hq-admin keys and leader
   keys of a branch it serves (never node keys), and remembers which of them
   the hub knows, to name them in what it forwards. */
#ifndef NODE_KEYS_H_INCLUDED
#define NODE_KEYS_H_INCLUDED

#include "node.h"

typedef struct _node_keys_t node_keys_t;

/* Load the --admin public key files of config and the replicated keys, write
   DATADIR/certs and have auth load it. auth NULL: insecure, every peer is
   hq-admin. Borrows store and auth. NULL with err set on failure. */
node_keys_t *node_keys_new (store_t *store, const node_config_t *config, zactor_t *auth,
                            dt_err_t *err);
void node_keys_destroy (node_keys_t **self_p);

/* Read the replicated keys again (after a push changed key or branch
   records), rewrite the certificate directory and reload the ZAP handler.
   0, or -1 with err (the keys admitted before stay admitted). */
int node_keys_reload (node_keys_t *self, dt_err_t *err);

/* The key behind a request (insecure: the built-in hq-admin key); NULL with
   UNAUTHENTICATED when the key is not admitted here or was revoked. *as is
   the key's name at the hub, NULL for an --admin key the hub does not know
   (writes it asks for are forwarded under the node key's scope alone). The
   key is valid until the next reload. */
const dt_key_t *node_keys_of (node_keys_t *self, zframe_t *frame, const char **as,
                              dt_err_t *err);
/* As node_keys_of, by public key text (Z85). */
const dt_key_t *node_keys_find (node_keys_t *self, const char *public_key, const char **as,
                                dt_err_t *err);

void node_keys_test (bool verbose);

#endif

/* node_sync.h -- the node's replication session (PROTOCOL.md 7.2): apply the
   hub's pushes to the replica, each in one transaction that also advances
   "applied", grant credit, and reconnect when the hub falls silent. */
#ifndef NODE_SYNC_H_INCLUDED
#define NODE_SYNC_H_INCLUDED

#include "node.h"

/* Credit granted by sync.hello, and the silence after which the session is
   rebuilt (the hub sends a heartbeat every second). */
#define NODE_SYNC_CREDIT     4096
#define NODE_SYNC_SILENCE_MS 3000

typedef struct _node_sync_t node_sync_t;

/* hub NULL: no network (the push functions alone, for tests). The options
   and the store are borrowed. */
node_sync_t *node_sync_new (store_t *store, const char *node, const client_opts_t *hub);
void node_sync_destroy (node_sync_t **self_p);

/* Take one push body (its raw bytes, stream.h). On 0, *ack says whether
   the hub should hear of it and *credit is the credit to grant. -1 with err
   on a malformed push, a push out of order or a store failure: nothing of
   that push was applied, and the session ends. */
int node_sync_push (node_sync_t *self, const void *data, size_t size, bool *ack,
                    uint64_t *credit, dt_err_t *err);
/* Highest hub log seq whose changes are in the replica (persisted). */
uint64_t node_sync_applied (node_sync_t *self);

/* The socket to poll (NULL without network). */
zsock_t *node_sync_sock (node_sync_t *self);
/* Take every waiting body off the socket: apply pushes and acknowledge them. */
void node_sync_recv (node_sync_t *self);
/* Rebuild the session when the hub has been silent too long. */
void node_sync_tick (node_sync_t *self);
/* True while the hub talks to us. */
bool node_sync_connected (node_sync_t *self);
/* True once after a push changed key or branch records, i.e. which keys the
   node admits (node_keys_reload). */
bool node_sync_admission_changed (node_sync_t *self);

void node_sync_test (bool verbose);

#endif

/* hub_sync.h -- replication sessions: each connected node receives the
   change-log entries meant for it, as far as its credit allows, or a snapshot
   of its branches when it is behind the retained log (PROTOCOL.md 7). */
#ifndef HUB_SYNC_H_INCLUDED
#define HUB_SYNC_H_INCLUDED

#include "hub.h"
#include "stream.h"

/* Entries per push, and how long a silent session stays connected. */
#define HUB_SYNC_BATCH        128
#define HUB_SYNC_PUSH_BYTES   (1 << 20)     /* a push takes no more once this full
                                               (content items run to 80 KB each) */
#define HUB_SYNC_HEARTBEAT_MS 1000
#define HUB_SYNC_EXPIRY_MS    5000
/* Entries a push may carry beyond the credit to end on a commit boundary. */
#define HUB_SYNC_OVERSHOOT    512

/* router is borrowed: pushes go out on it. */
hub_sync_t *hub_sync_new (store_t *store, zsock_t *router);
void hub_sync_destroy (hub_sync_t **self_p);

/* Start (or restart) the session of a node on a connection. peer is the
   routing id (copied); key_z85 the connection's public key ("" insecure).
   Packs the sync.hello result { head, snapshot }. */
int hub_sync_hello (hub_sync_t *self, zframe_t *peer, const char *key_z85,
                    const stream_hello_t *hello, store_txn_t *txn, msgpack_packer *pk,
                    dt_err_t *err);
/* A node applied everything up to ack->applied and grants ack->credit more. */
/* The node whose session this connection holds, NULL if none (sync.ack's
   scope: only the connection that said sync.hello may ack). */
const char *hub_sync_session_node (hub_sync_t *self, zframe_t *peer);
void hub_sync_ack (hub_sync_t *self, zframe_t *peer, const stream_ack_t *ack);
/* Send what each session's credit allows, heartbeats, and expire silent
   sessions. Call after every commit and on a timer. */
void hub_sync_pump (hub_sync_t *self);
/* True while a snapshot is being sent in slices, or a session has more of
   the log to send than one push: the loop should not wait before its next
   pump. */
bool hub_sync_busy (hub_sync_t *self);
/* End every session authenticated with this public key (revocation). */
void hub_sync_revoke (hub_sync_t *self, const char *key_z85);
/* What the hub knows of a node's replication. */
void hub_sync_state (hub_sync_t *self, const char *node, hub_node_state_t *out);

void hub_sync_test (bool verbose);

#endif

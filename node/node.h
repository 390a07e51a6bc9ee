/* node.h -- duotang-node: a replica of the branches assigned to this node,
   read by local clients, with membership writes forwarded to the hub through
   a durable outbox (PROTOCOL.md 6.10 and 7). */
#ifndef NODE_H_INCLUDED
#define NODE_H_INCLUDED

#include "op.h"
#include "client.h"

#define NODE_ADMINS_MAX 8

typedef struct {
    dt_id_t id;                     /* this node, as registered at the hub */
    char datadir [PATH_MAX / 2];    /* replica store, node.key/node.pub, certs/ */
    char hub [256];                 /* hub endpoint */
    char endpoint [256];            /* local clients; port * = ephemeral */
    char key_file [PATH_MAX / 2];   /* the node's secret key, role node at the hub */
    char hub_key [PATH_MAX / 2];    /* the hub's public key: file or Z85 */
    char admin_pub [NODE_ADMINS_MAX][PATH_MAX / 4];     /* local hq-admin keys */
    int nadmins;
    bool insecure;                  /* no CURVE on either side, loopback only */
    size_t mapsize_mb;
} node_config_t;

/* Defaults: tcp://127.0.0.1:7701, datadir ./var/node-ID (filled by node_new
   when left empty), 4 GiB map. */
void node_config_defaults (node_config_t *config);

/* record.h already names the node record node_t: the server is node_server_t. */
typedef struct _node_server_t node_server_t;

/* Open the replica, load keys, bind, and start the sessions with the hub
   (which never block: the hub may be down). NULL with err set on failure. */
node_server_t *node_new (const node_config_t *config, dt_err_t *err);
void node_destroy (node_server_t **self_p);
/* The endpoint actually bound (ephemeral port resolved). */
const char *node_endpoint (node_server_t *self);
/* Serve until SIGINT/SIGTERM (zsys_interrupted). */
void node_run (node_server_t *self);
/* One round of the loop: wait up to timeout_ms for a message, serve what
   came, run the timers. For tests and for node_run. */
void node_step (node_server_t *self, int timeout_ms);

void node_test (bool verbose);

#endif

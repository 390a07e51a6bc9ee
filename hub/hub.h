/* hub.h -- the hub server: one ROUTER socket, CURVE authentication, request
   dispatch with group commit, and the replication sessions of its nodes. */
#ifndef HUB_H_INCLUDED
#define HUB_H_INCLUDED

#include "op.h"

typedef struct {
    char datadir [PATH_MAX / 2];    /* LMDB store, hub.key/hub.pub, certs/ */
    char endpoint [256];            /* tcp://127.0.0.1:7700; port * = ephemeral */
    bool insecure;                  /* no CURVE, loopback only, everyone hq-admin */
    char admin_pub [PATH_MAX / 2];  /* register this public key as hq-admin at start */
    size_t mapsize_mb;              /* LMDB map size */
    uint64_t log_keep;              /* change log entries retained */
    uint64_t rid_keep;              /* recorded rids retained: the newest (PROTOCOL 7.3) */
    int batch_max;                  /* requests per group commit */
} hub_config_t;

/* Defaults: ./var/hub, tcp://127.0.0.1:7700, 1 GiB map... */
void hub_config_defaults (hub_config_t *config);
/* Ranges of the settings, the same for flags and the config file. */
#define HUB_MAPSIZE_MIN  1
#define HUB_MAPSIZE_MAX  (16u << 20)        /* MiB: 16 TiB */
#define HUB_LOG_KEEP_MAX 1000000000000ull

/* Set one setting by its name (datadir, endpoint, insecure = 0|1,
   mapsize_mb, log_keep) from its text, checked against its range; messages
   name it as label (a flag, "hub/KEY") when not NULL. Unknown names and
   values out of range fail with BAD_ARGS naming the key and the value. */
/* The keys a config file may hold ("hub/log_keep", ...), NULL-terminated: the
   settings hub_config_set takes, each under section hub. */
extern const char *const hub_config_keys [];
int hub_config_set (hub_config_t *config, const char *key, const char *value,
                    const char *label, dt_err_t *err);
/* Read a ZPL config file: only the section "hub", only the settings above,
   each through hub_config_set. 0 or -1 with err. */
int hub_config_load (hub_config_t *config, const char *path, dt_err_t *err);

/* Fair share (PROTOCOL.md 4): requests queued per key, at most one
   second's worth of its rate each, and in all at most HUB_QUEUE_MAX
   requests with HUB_QUEUE_BYTES of bodies; beyond, BUSY when they arrive. */
#define HUB_QUEUE_PER_KEY  DT_RATE_MAX
#define HUB_QUEUE_MAX      20000
#define HUB_QUEUE_BYTES    (64u << 20)
#define HUB_ARRIVALS_ROUND 512      /* messages taken off the socket per round */

typedef struct _hub_t hub_t;

/* Open the store, load keys, bind. NULL with err set on failure. */
hub_t *hub_new (const hub_config_t *config, dt_err_t *err);
void hub_destroy (hub_t **self_p);
/* The endpoint actually bound (ephemeral port resolved). */
const char *hub_endpoint (hub_t *self);
/* Serve until SIGINT/SIGTERM (zsys_interrupted). */
void hub_run (hub_t *self);
/* One round of the loop: wait up to timeout_ms for requests, serve every
   request waiting in one batch, pump the replication sessions. For tests
   and for hub_run. */
void hub_step (hub_t *self, int timeout_ms);

/* Judge at now_ms (UTC ms) from here on: the request limit's second,
   the sweep of idle shares and every op's instant. 0: the wall clock. */
void hub_set_clock (hub_t *self, int64_t now_ms);

/* Counters of the request loop since hub_new (tests, figures). */
typedef struct {
    uint64_t requests;          /* requests served (replied to) */
    uint64_t batches;           /* batches served */
    uint64_t commits;           /* batch transactions committed (group commits) */
    uint64_t busy;              /* requests answered BUSY when they arrived */
    uint64_t dropped;           /* requests of connections that had gone, unserved */
} hub_stats_t;
void hub_stats (hub_t *self, hub_stats_t *out);

/* Runtime view of a node's replication session, for node.list. */
typedef struct {
    bool connected;
    int64_t last_seen;          /* 0 = never since the hub started */
    uint64_t applied;
    uint64_t outbox;
} hub_node_state_t;
void hub_node_state (hub_t *self, const char *node, hub_node_state_t *out);

/* The public key of the hub's audit checkpoints (Ed25519). */
const uint8_t *hub_audit_public (hub_t *self);

/* The store (for ops that need the runtime, e.g. node.list). */
store_t *hub_store (hub_t *self);

/* The replication sessions of this hub. */
typedef struct _hub_sync_t hub_sync_t;
hub_sync_t *hub_sync (hub_t *self);

void hub_test (bool verbose);

#endif

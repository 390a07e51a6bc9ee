/* uplink.h -- content a node accepted, on its way to the hub: each accepted
   change is appended to the node's TBL_UPLINK in the transaction that
   accepts it, sent in order in batches (content.push, PROTOCOL.md 7.4), and
   applied at the hub exactly once: the hub keeps, per node, the highest
   sequence it applied (and the node's watermark) in the same transaction as
   the items, and skips anything at or below it. */
#ifndef UPLINK_H_INCLUDED
#define UPLINK_H_INCLUDED

#include "op.h"

#define UPLINK_BATCH_MAX   2000     /* entries per content.push */

typedef enum { UPLINK_ITEM = 0, UPLINK_ACTIVITY } uplink_table_t;

/* Node side: queue one change (the record's stored bytes under key) made by
   op for actor. 0 or -1 with err. */
int uplink_append (store_txn_t *txn, const char *op, const char *actor, uplink_table_t table,
                   const char *key, size_t key_size, const void *val, size_t val_size,
                   dt_err_t *err);
/* Entries waiting (node). */
uint64_t uplink_depth (store_txn_t *txn);
/* Pack the args of one content.push, the entries after seq `after` (at most
   max of them, and about max_bytes), into out: { node, epoch, entries: [[seq,
   entry]...], watermark, waiting }. watermark 0 when the batch does not hold
   every entry waiting, else the one given. *last is the seq of the last
   entry packed (after, when none). */
int uplink_pack (store_txn_t *txn, const char *node, uint64_t epoch, uint64_t after, uint32_t max,
                 size_t max_bytes, int64_t watermark, msgpack_sbuffer *out, uint64_t *last,
                 dt_err_t *err);
/* Drop entries up to and including seq once the hub has them. */
int uplink_trim (store_txn_t *txn, uint64_t upto, dt_err_t *err);

/* Hub side: what the hub holds from one node. */
typedef struct {
    uint64_t epoch;                 /* the node store's epoch the seqs count in */
    uint64_t applied;               /* highest seq applied */
    int64_t watermark;              /* everything the node accepted before this is here */
    uint64_t items;                 /* entries applied, ever */
    uint64_t waiting;               /* entries the node still held, at its last push */
} uplink_state_t;
int uplink_state (store_txn_t *txn, const char *node, uplink_state_t *out);

/* A branch moved from node `from` at `at`: entries that node accepted for
   it before are still applied when they arrive. */
int uplink_handoff (store_txn_t *txn, const char *branch, const char *from, int64_t at,
                    dt_err_t *err);

/* The content.push handler (hub, node keys only): apply each entry past the
   node's applied seq, audited under its actor and op, and reply { applied }. */
int uplink_push (op_ctx_t *ctx, const msgpack_object *args);
/* The hub's binding of content.push. */
extern const op_t uplink_ops [];

void uplink_test (bool verbose);

#endif

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
/* Pack the args of one content.push of at most max entries, starting after
   seq `after`, into out: { epoch, entries: [...], watermark }. *last is the
   seq of the last entry packed (after, when none). */
int uplink_pack (store_txn_t *txn, uint64_t epoch, uint64_t after, uint32_t max,
                 int64_t watermark, msgpack_sbuffer *out, uint64_t *last, dt_err_t *err);
/* Drop entries up to and including seq once the hub has them. */
int uplink_trim (store_txn_t *txn, uint64_t upto, dt_err_t *err);

/* Hub side: what the hub holds from one node. */
typedef struct {
    uint64_t epoch;                 /* the node store's epoch the seqs count in */
    uint64_t applied;               /* highest seq applied */
    int64_t watermark;              /* everything the node accepted before this is here */
    uint64_t items;                 /* entries applied, ever */
} uplink_state_t;
int uplink_state (store_txn_t *txn, const char *node, uplink_state_t *out);

/* The content.push handler (hub, node keys only): apply each entry past the
   node's applied seq, audited under its actor and op, and reply { applied }. */
int uplink_push (op_ctx_t *ctx, const msgpack_object *args);

void uplink_test (bool verbose);

#endif

/* store.h -- the LMDB store: named tables, transactions, the replicated change
   log and the hash-chained audit log. Nothing else touches LMDB. */
#ifndef STORE_H_INCLUDED
#define STORE_H_INCLUDED

#include "dt.h"
#include "dt_err.h"
#include "stream.h"

/* Every LMDB table, once: its enum value and its name (in the change log,
   the audit log and on the wire). A replicated table is also registered in
   proto/org/repl.c, which says how it reaches and is applied at the nodes. */
#define STORE_TABLES(X) \
    X (META,        "meta")         /* counters and marks */                      \
    X (OFFICER,     "officer")                                                    \
    X (BRANCH,      "branch")                                                     \
    X (HALL,        "hall")                                                       \
    X (MEMBER,      "member")                                                     \
    X (SEAT,        "seat")         /* index: 'b'|'h' group \0 member -> "" */    \
    X (BRANCH_HALL, "branch_hall")  /* index: branch \0 hall -> "" */            \
    X (MEMBER_INDEX, "member_index") /* index: 'n' folded name \0 member, 'u' unplaced member -> "" */ \
    X (LOG,         "log")          /* seq (u64 BE) -> change (stream.h) */      \
    X (AUDIT,       "audit")        /* seq (u64 BE) -> audit entry */            \
    X (KEY,         "key")          /* key name -> key record */                 \
    X (NODE,        "node")         /* node id -> node record */                 \
    X (RID,         "rid")          /* hub: store_rid_key -> the reply recorded */ \
    X (RID_ORDER,   "rid_order")    /* hub: seq (u64 BE) -> store_rid_key, oldest first */ \
    X (OUTBOX,      "outbox")       /* node: seq (u64 BE) -> forwarded request */ \
    X (OUTCOME,     "outcome")      /* node: seq (u64 BE) -> outcome */          \
    X (POLICY,      "policy")       /* "current" -> policy record */             \
    X (TICKET,      "ticket")       /* node: store_rid_key -> outbox seq (u64 BE) */ \
    X (ITEM,        "item")         /* content item id -> item record (item.h) */ \
    X (ITEM_INDEX,  "item_index")   /* content indexes: timelines, open questions */ \
    X (ACTIVITY,    "activity")     /* member \0 day -> activity record */        \
    X (UPLINK,      "uplink")       /* node: seq (u64 BE) -> content for the hub */ \
    X (STAGE,       "stage")        /* hub: KEYNAME/STAGE \0 part (u64 BE) -> rows */ \
    X (CHECKPOINT,  "checkpoint")   /* hub: "current" -> signed audit checkpoint */ \
    X (WITNESS,     "witness")      /* node: "current" -> newest checkpoint seen */

typedef enum {
#define STORE_TABLE_ENUM(id, name) TBL_##id,
    STORE_TABLES (STORE_TABLE_ENUM)
#undef STORE_TABLE_ENUM
    TBL_COUNT
} store_table_t;

typedef struct _store_t store_t;

/* One audited record change, copied out of LMDB. */
typedef struct {
    store_table_t table;
    char key [DT_ID_MAX * 2 + 2];
    void *before;       /* owned, NULL when created */
    size_t before_size;
    void *after;        /* owned, NULL when deleted */
    size_t after_size;
} store_change_t;

/* An audit entry's detail being written as its changes come (store.c). */
typedef struct _store_detail_t store_detail_t;

typedef struct _store_txn_t store_txn_t;
struct _store_txn_t {
    store_t *store;
    MDB_txn *txn;
    bool write;
    bool log;                   /* append record changes to TBL_LOG */
    bool audit;                 /* collect record changes for the audit log */
    store_change_t *changes;    /* owned: every change collected, or once the
                                   entry is bound to be a summary its first
                                   STORE_AUDIT_SHOWN (the rest are in detail) */
    size_t held;                /* changes in changes */
    size_t nchanges;            /* changes collected */
    size_t audit_bytes;         /* their estimated size in an entry */
    const void *audit_args;     /* store_audit_open's args (not owned) */
    size_t audit_args_size;
    store_detail_t *detail;     /* owned, NULL until the entry is a summary */
    uint64_t writes;            /* puts and deletes tried in it: whether a step
                                   that failed left anything to undo */
    store_txn_t *parent;        /* of a child transaction, else NULL */
    bool log_known;             /* log_seq, log_first hold the log's ends */
    bool log_dirty;             /* ... and TBL_META does not yet (store_commit) */
    uint64_t log_seq, log_first;
    uint64_t log_appended;      /* entries this transaction appended */
    msgpack_sbuffer log_buf;    /* an entry being encoded (reused) */
};

/* Which branch a replicated record belongs to, and which nodes must see the
   change (computed from the registry of replicated tables, proto/org/repl.c).
   The node name STORE_NODES_ALL ("*") sends a change to every node (key
   records: PROTOCOL.md 7.1). */
#define STORE_SCOPE_NODES STREAM_NODES_MAX
#define STORE_NODES_ALL   STREAM_NODES_ALL
typedef struct {
    const char *branch;                 /* branch of the new record, or "" */
    const char *nodes [STORE_SCOPE_NODES];
    int nnodes;
} store_scope_t;

/* Open (creating) the store in directory dir with a map of mapsize_mb MiB.
   Returns NULL with err set on failure. */
store_t *store_new (const char *dir, size_t mapsize_mb, dt_err_t *err);
void store_destroy (store_t **self_p);
const char *store_dir (store_t *self);

/* Fault injection for tests: the next `commits` commits of write
   transactions (a child's or a top-level one) fail with INTERNAL, as a full
   or failing disk would, and change nothing. The environment variable
   DUOTANG_FAULT_COMMITS=N, read once by store_new, arms the same for a
   server process (the system tests). 0 disarms. */
void store_fault_set (store_t *self, int commits);
/* Injected faults not yet spent. */
int store_fault_left (store_t *self);
/* Fault injection for tests: in every write transaction, each put or delete
   after its first `writes` fails with INTERNAL (a step that fails after it
   has written). 0 disarms. */
void store_fault_writes (store_t *self, uint64_t writes);

/* Transactions. parent may be NULL; a child must be a write txn. */
int store_begin (store_t *self, store_txn_t *txn, store_txn_t *parent, bool write, dt_err_t *err);
int store_commit (store_txn_t *txn, dt_err_t *err);
void store_abort (store_txn_t *txn);

/* Raw access. store_get points *val into the map: valid until the txn ends.
   Returns 0 found, 1 not found, -1 error (err set). */
int store_get (store_txn_t *txn, store_table_t table, const void *key, size_t key_size,
               const void **val, size_t *val_size, dt_err_t *err);
int store_put (store_txn_t *txn, store_table_t table, const void *key, size_t key_size,
               const void *val, size_t val_size, dt_err_t *err);
/* LMDB's order of keys: their bytes, then the shorter first (<0, 0, >0). */
int store_key_order (const void *a, size_t a_size, const void *b, size_t b_size);

/* Puts of keys in increasing order (an index built in bulk): each key
   past the table's last is appended at its end, without a search, and
   leaves its pages full; the others are put as store_put puts them. The
   caller holds the last key, zeroed before the first call. */
typedef struct {
    uint8_t key [511];
    size_t size;
    bool known;
} store_last_t;
int store_put_ordered (store_txn_t *txn, store_table_t table, const void *key,
                       size_t key_size, const void *val, size_t val_size, store_last_t *last,
                       dt_err_t *err);
/* Delete; not found is not an error. */
int store_del (store_txn_t *txn, store_table_t table, const void *key, size_t key_size,
               dt_err_t *err);

/* Write or delete (val NULL) a record under a string key, keeping the audit
   change and (when scope is not NULL and txn->log) appending a log entry. */
int store_record_put (store_txn_t *txn, store_table_t table, const char *key,
                      const void *val, size_t val_size, const store_scope_t *scope,
                      dt_err_t *err);

/* Append one change to the replication log (without touching the record:
   used to resend a branch's records to a node that takes it over). */
int store_log_append (store_txn_t *txn, store_table_t table, const char *key,
                      const void *val, size_t val_size, const store_scope_t *scope,
                      dt_err_t *err);

/* Visit every entry whose key starts with prefix (all if prefix_size is 0),
   in key order, starting at `from` if not NULL. The callback returns 0 to go
   on, 1 to stop, -1 to fail. Returns 0, or -1 with err set. */
typedef int (store_visit_fn) (const void *key, size_t key_size,
                              const void *val, size_t val_size, void *arg);
int store_scan (store_txn_t *txn, store_table_t table, const void *prefix,
                size_t prefix_size, const void *from, size_t from_size,
                store_visit_fn *visit, void *arg, dt_err_t *err);

/* Number of entries in a table. */
uint64_t store_count (store_txn_t *txn, store_table_t table);
/* The same in a read transaction of its own (0 if none can be had). */
uint64_t store_size (store_t *self, store_table_t table);

/* Counters in TBL_META (0 when absent). */
uint64_t store_meta_uint (store_txn_t *txn, const char *name);
int store_meta_set_uint (store_txn_t *txn, const char *name, uint64_t value, dt_err_t *err);

/* Sequence keys: u64 big-endian, so that LMDB orders them numerically. */
void store_seq_key (uint64_t seq, uint8_t key [8]);
uint64_t store_seq_from_key (const void *key);

/* Change log: highest seq appended (0 = none), lowest retained (0 = empty). */
uint64_t store_log_head (store_txn_t *txn);
uint64_t store_log_first (store_txn_t *txn);
/* Mark the newest log entry, if newer than `since`, as the last one of this
   commit ("end": true), so that replication can stop on commit boundaries. */
int store_log_mark_end (store_txn_t *txn, uint64_t since, dt_err_t *err);
/* Drop log entries so that at most `keep` remain. The store keeps `keep`:
   from then on an append past it drops the oldest entry as it goes, so that
   one transaction of millions of changes (an import) never holds more than
   `keep` of them (their pages are reused, not written and then freed). A
   transaction that appends more than `keep` entries empties the log instead, and only
   counts its further changes: once it commits every node is behind the log
   (its first entry is then the head + 1) and takes a snapshot, so no entry
   of it could be used. */
int store_log_trim (store_txn_t *txn, uint64_t keep, dt_err_t *err);

/* Append one audit entry for the changes collected in txn (if any), chained to
   the previous entry by BLAKE2b-256; clears the collected changes. args is the
   packed msgpack map of the request arguments (or NULL). An entry that would
   pass STORE_AUDIT_ENTRY bytes (a large import) is a summary: its first
   STORE_AUDIT_SHOWN changes, changes_total, and detail_hash, the BLAKE2b-256
   of the full detail (args, then every change) stored after it in
   detail_parts parts of about STORE_AUDIT_PART bytes (PROTOCOL.md 6.8). */
#define STORE_AUDIT_ENTRY (256 * 1024)
#define STORE_AUDIT_PART  (512 * 1024)
#define STORE_AUDIT_SHOWN 12
int store_audit_append (store_txn_t *txn, const char *actor, const char *op,
                        const void *args, size_t args_size, dt_err_t *err);
/* Collect the changes of one audit entry, whose args (kept by the caller
   until store_audit_append, which must be given the same) are known now: a
   detail bound to pass STORE_AUDIT_ENTRY is then written part by part as the
   changes come, and never held in memory whole. A handler that appends
   entries of its own inside a request (content.push: one per item) opens
   each before its changes. */
void store_audit_open (store_txn_t *txn, const void *args, size_t args_size);
/* Stop collecting, dropping what was collected (a request that failed). */
void store_audit_close (store_txn_t *txn);

/* Walk the audit chain, and the detail of every summary against its hash,
   then hold it against every witness (a checkpoint a node kept,
   store_witness_add): an entry removed or altered behind the stored head is
   caught even when that head was rewritten. Returns 0 when intact; else 1
   with *first_bad the seq of the first altered or missing entry and reason
   filled in. */
int store_audit_verify (store_txn_t *txn, uint64_t *entries, uint64_t *first_bad,
                        char *reason, size_t reason_size);

/* Audit checkpoints (PROTOCOL.md 3, "Audit checkpoints"): the hub signs
   { seq, head hash, ts } of its audit chain with an Ed25519 key kept apart
   from the store, nodes keep the newest they have seen, and a checkpoint a
   node holds is a witness that the chain had seq entries ending in that
   hash. Bytes: "DTCP1" seq (u64 BE) head (32) ts (i64 BE) signer's public
   key (32) signature (64) over everything before it. */
#define STORE_CHECKPOINT_SIZE (5 + 8 + 32 + 8 + 32 + 64)
typedef struct {
    uint64_t seq;               /* audit entries covered */
    uint8_t head [32];          /* BLAKE2b of entry seq (zero when seq is 0) */
    int64_t ts;
    uint8_t signer [32];        /* Ed25519 public key */
} store_checkpoint_t;
/* Sign the audit chain as it stands in txn. */
void store_checkpoint_sign (store_txn_t *txn, const uint8_t secret [64],
                            uint8_t out [STORE_CHECKPOINT_SIZE]);
/* Read a checkpoint and check its signature (by the key it names). 0, or -1
   when malformed or forged. */
int store_checkpoint_open (const void *data, size_t size, store_checkpoint_t *out);
/* Audit entries in the chain (its last seq). */
uint64_t store_audit_seq (store_txn_t *txn);
/* Hold a witness for store_audit_verify (in memory: a witness is worth
   something only because it is not in the store). who names it (a node);
   a newer one from the same who replaces the older. */
void store_witness_add (store_t *self, const char *who, const store_checkpoint_t *checkpoint);

/* Remove a store directory and everything in it (tests, node resets). */
int store_remove (const char *dir);

const char *store_table_name (store_table_t table);
/* The table of a name, TBL_COUNT if none. */
store_table_t store_table_by_name (const char *name);

/* The key under which a request id is kept (TBL_RID at the hub, TBL_TICKET
   at a node): "KEYNAME/RID", the name of the key that sent the request and
   its rid, so that keys never replay each other's (PROTOCOL.md 7.3). Returns
   its length, or 0 when it does not fit in size (or rid is empty). */
size_t store_rid_key (const char *key_name, const char *rid, char *out, size_t size);

void store_test (bool verbose);

#endif

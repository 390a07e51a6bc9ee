/* store.h -- the LMDB store: named tables, transactions, the replicated change
   log and the hash-chained audit log. Nothing else touches LMDB. */
#ifndef STORE_H_INCLUDED
#define STORE_H_INCLUDED

#include "dt.h"
#include "dt_err.h"

typedef enum {
    TBL_META = 0,
    TBL_OFFICER, TBL_BRANCH, TBL_HALL, TBL_MEMBER,
    TBL_SEAT,           /* index: 'b'|'h' group \0 member -> "" */
    TBL_BRANCH_HALL,    /* index: branch \0 hall -> "" */
    TBL_LOG,            /* seq (u64 BE) -> change */
    TBL_AUDIT,          /* seq (u64 BE) -> audit entry */
    TBL_KEY,            /* key name -> key record */
    TBL_NODE,           /* node id -> node record */
    TBL_RID,            /* request idempotency key -> encoded reply */
    TBL_OUTBOX,         /* node: seq (u64 BE) -> forwarded request */
    TBL_OUTCOME,        /* node: seq (u64 BE) -> outcome */
    TBL_POLICY,         /* "current" -> policy record (replicated to every node) */
    TBL_ITEM,           /* content item id -> item record (proto/content/item.h) */
    TBL_ITEM_INDEX,     /* content indexes: group timeline, open questions (item.h) */
    TBL_ACTIVITY,       /* member \0 day -> activity record */
    TBL_UPLINK,         /* node: seq (u64 BE) -> content change for the hub */
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

typedef struct _store_txn_t store_txn_t;
struct _store_txn_t {
    store_t *store;
    MDB_txn *txn;
    bool write;
    bool log;                   /* append record changes to TBL_LOG */
    bool audit;                 /* collect record changes for the audit log */
    store_change_t *changes;    /* owned */
    size_t nchanges;
};

/* Which branch a replicated record belongs to, and which nodes must see the
   change (computed by the tree layer). The node name STORE_NODES_ALL ("*")
   sends a change to every node (key records: PROTOCOL.md 7.1). */
#define STORE_SCOPE_NODES 4
#define STORE_NODES_ALL   "*"
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

/* Pack one change map of PROTOCOL.md 7.1 (log entries and snapshot entries). */
void store_change_pack (msgpack_packer *pk, uint64_t seq, int64_t ts, const char *table,
                        const char *key, const void *val, size_t val_size, const char *branch,
                        const char *const *nodes, int nnodes);

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
/* Drop log entries so that at most `keep` remain. */
int store_log_trim (store_txn_t *txn, uint64_t keep, dt_err_t *err);

/* Append one audit entry for the changes collected in txn (if any), chained to
   the previous entry by BLAKE2b-256; clears the collected changes. args is the
   packed msgpack map of the request arguments (or NULL). */
int store_audit_append (store_txn_t *txn, const char *actor, const char *op,
                        const void *args, size_t args_size, dt_err_t *err);

/* Walk the audit chain. Returns 0 when intact; else 1 with *first_bad the seq
   of the first altered or missing entry and reason filled in. */
int store_audit_verify (store_txn_t *txn, uint64_t *entries, uint64_t *first_bad,
                        char *reason, size_t reason_size);

/* Remove a store directory and everything in it (tests, node resets). */
int store_remove (const char *dir);

const char *store_table_name (store_table_t table);

void store_test (bool verbose);

#endif

/* repl.h -- the registry of replicated tables: for each, its name on the
   wire, its store table, its scope (which branch, and so which nodes, a
   record belongs to), how a node applies it and how a snapshot includes it.
   The hub's writers, its snapshots and resends, and the node's apply and
   wipe all read this one registry (PROTOCOL.md 7.1). */
#ifndef REPL_H_INCLUDED
#define REPL_H_INCLUDED

#include "store.h"
#include "tree.h"

typedef enum {
    REPL_EVERY_NODE,            /* every node holds every record (keys, policy) */
    REPL_BRANCH                 /* a record belongs to one branch and its node */
} repl_scope_t;

/* Check a record's bytes; give the branch it belongs to ("" for none: an
   unplaced member, or a table of every node). 0, or -1 when damaged. */
typedef int (repl_read_fn) (const char *key, const void *val, size_t size,
                            char branch [DT_ID_MAX + 1]);
/* Replica: keep a table's index as a record goes from old to new (either
   NULL: absent). Decode both before writing: old points into the map. */
typedef int (repl_index_fn) (store_txn_t *txn, const char *key, const void *old,
                             size_t old_size, const void *val, size_t size, dt_err_t *err);
/* Replica: apply a record in a way of its own (branch records). */
typedef int (repl_apply_fn) (store_txn_t *txn, const char *node, const char *key,
                             const void *val, size_t size, dt_err_t *err);
/* Where a visit of a branch's records stopped (a visit function returned
   1), to go on from: the table (its place in the registry), and the last
   record visited: for members the hall whose seats were being visited
   ("" for the core seats) and the member. Zeroed: from the start. */
typedef struct {
    size_t table;
    bool started;               /* group and key name the last record visited */
    bool stopped;               /* the visit stopped there */
    char group [DT_ID_MAX + 1];
    char key [DT_ID_MAX + 1];
} repl_place_t;

/* Hub: visit the records of one branch, as stored bytes, after place (its
   started part) and keeping it up to date; a visit returning 1 stops them
   with place->stopped set. */
typedef int (repl_records_fn) (store_txn_t *txn, const char *branch, repl_place_t *place,
                               tree_record_fn *visit, void *arg, dt_err_t *err);

/* A records function's visit of one record in group (members: its hall,
   "" for core seats; items: likewise) at key: place notes it, and a visit
   returning 1 stops the walk there (1 also once stopped). */
int repl_place_visit (repl_place_t *place, const char *group, store_table_t table,
                      const char *key, const void *val, size_t size, tree_record_fn *visit,
                      void *arg);

/* The read function of records that carry their branch in a "branch" field
   of their msgpack map (absent or nil: none), as content records do. */
repl_read_fn repl_read_branch;

typedef struct {
    store_table_t table;        /* its name on the wire is store_table_name (table) */
    repl_scope_t scope;
    repl_read_fn *read;
    repl_apply_fn *apply;       /* NULL: kept when its branch is served, else deleted */
    repl_index_fn *index;       /* NULL: no index */
    store_table_t index_tables [2];     /* wiped with the table (TBL_COUNT: none) */
    repl_records_fn *records;   /* NULL: scan the table, filtered by branch */
    bool snapshot;              /* a snapshot includes it */
    bool admission;             /* it decides which keys a node admits */
    bool merged;                /* a node's own records too: a snapshot adds to
                                   them and never wipes them */
} repl_table_t;

/* The registration of a wire name or of a store table; NULL if not replicated. */
const repl_table_t *repl_table (const char *name);
const repl_table_t *repl_table_of (store_table_t table);

/* Hub: write (val NULL deletes) a record of a replicated table, logged for
   the nodes of its old and of its new branch (or for every node). */
int repl_record_put (store_txn_t *txn, store_table_t table, const char *key,
                     const void *val, size_t size, dt_err_t *err);

/* Hub: visit every record of a branch, table by table in registry order
   (the branch record first). */
int repl_branch_records (store_txn_t *txn, const char *branch,
                         tree_record_fn *visit, void *arg, dt_err_t *err);
/* The same from place on: a visit returning 1 stops them there
   (place->stopped), and the next call with that place goes on after the
   record it stopped at, so that a large branch is sent in slices. */
int repl_branch_records_from (store_txn_t *txn, const char *branch, repl_place_t *place,
                              tree_record_fn *visit, void *arg, dt_err_t *err);
/* Hub: append every record of a branch to the log again, for `node` only (a
   node taking the branch over receives it whole). */
int repl_branch_resend (store_txn_t *txn, const char *branch, const char *node,
                        dt_err_t *err);
/* Hub: visit what a snapshot for node holds: the records of each branch it
   serves, then every record of the tables of every node. */
int repl_snapshot (store_txn_t *txn, const char *node, tree_record_fn *visit, void *arg,
                   dt_err_t *err);
/* Hub: the second half of a snapshot, every record of the tables of every
   node (a snapshot sent in slices visits the branches itself). */
int repl_snapshot_common (store_txn_t *txn, tree_record_fn *visit, void *arg, dt_err_t *err);

/* Replica: apply one change of the hub's log (value NULL deletes). A record
   of a branch this node does not serve is deleted instead; a branch record
   naming another node drops the branch with everything in it. Indexes are
   kept; nothing is logged. MALFORMED for an unknown table or a damaged record. */
int repl_apply (store_txn_t *txn, const char *node, const char *table, const char *key,
                const void *value, size_t value_size, dt_err_t *err);
/* Replica: delete every replicated record and index (before a snapshot),
   but for the merged tables (a node's own content). */
int repl_wipe (store_txn_t *txn, dt_err_t *err);
/* Hub: send one record to one node in the log (content from a branch's old
   node, arriving after the branch moved on, for its new node). */
int repl_record_send (store_txn_t *txn, store_table_t table, const char *key,
                      const void *val, size_t size, const char *branch, const char *node,
                      dt_err_t *err);

void repl_test (bool verbose);

#endif

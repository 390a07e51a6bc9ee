/* tree.h -- typed access to the organisation tree in the store: officers,
   branches, halls and members, with their indexes and seat counts; their
   changes are logged through the registry of replicated tables (repl.h).
   Shared by hub (authority) and node (replica). */
#ifndef TREE_H_INCLUDED
#define TREE_H_INCLUDED

#include "store.h"
#include "record.h"

/* Effective caps: the group's own, else the policy's default (policy.h). */
uint32_t tree_branch_cap (store_txn_t *txn, const branch_t *branch);
uint32_t tree_hall_cap (store_txn_t *txn, const hall_t *hall);

/* Getters return 0 found, 1 not found, -1 store error (err set). */
int tree_officer_get (store_txn_t *txn, const char *id, officer_t *out, dt_err_t *err);
int tree_branch_get (store_txn_t *txn, const char *id, branch_t *out, dt_err_t *err);
int tree_hall_get (store_txn_t *txn, const char *id, hall_t *out, dt_err_t *err);
int tree_member_get (store_txn_t *txn, const char *id, member_t *out, dt_err_t *err);

/* As the getters, but a missing id is a NOT_FOUND error naming it:
   return 0 or -1. `what` is "officer", "branch", "hall" or "member". */
int tree_officer_need (store_txn_t *txn, const char *id, officer_t *out, dt_err_t *err);
int tree_branch_need (store_txn_t *txn, const char *id, branch_t *out, dt_err_t *err);
int tree_hall_need (store_txn_t *txn, const char *id, hall_t *out, dt_err_t *err);
int tree_member_need (store_txn_t *txn, const char *id, member_t *out, dt_err_t *err);

/* Writers (authoritative, at the hub): write the record, keep the indexes and
   the parent's counters (branch.halls, branch.core_seats, hall.seats), and log
   the change with its scope. Counters of the records passed in are ignored and
   kept as stored: re-read a group after seating changes. Return 0 or -1. */
int tree_officer_put (store_txn_t *txn, const officer_t *officer, dt_err_t *err);
int tree_branch_put (store_txn_t *txn, const branch_t *branch, dt_err_t *err);
int tree_branch_del (store_txn_t *txn, const char *id, dt_err_t *err);
int tree_hall_put (store_txn_t *txn, const hall_t *hall, dt_err_t *err);
int tree_hall_del (store_txn_t *txn, const char *id, dt_err_t *err);
int tree_member_put (store_txn_t *txn, const member_t *member, dt_err_t *err);
/* As tree_member_put; *member becomes the record as stored (its branch,
   first hall, creation time), without reading it back. */
int tree_member_put_back (store_txn_t *txn, member_t *member, dt_err_t *err);
/* Member writes in bulk (an import): as tree_member_put, but each group's
   seat counter moves once, at tree_bulk_finish, by the sum of the bulk's
   seat changes, and a hall's branch and a branch's node are read once. The
   caller has judged every cap (rules_seat_fits) and passes the member as
   stored (old, NULL for a new one); counters read before finish are stale,
   and the seat and member index entries it adds are written at finish, in
   key order. */
typedef struct _tree_bulk_t tree_bulk_t;
tree_bulk_t *tree_bulk_new (void);
void tree_bulk_destroy (tree_bulk_t **self_p);
/* The bulk's record of a group (kind SEAT_CORE: a branch, SEAT_HALL: a
   hall), read once; owned by the bulk. NULL with err set when the hall is
   not found. */
typedef struct _tree_bulk_group_t tree_bulk_group_t;
tree_bulk_group_t *tree_bulk_group (store_txn_t *txn, tree_bulk_t *self, seat_kind_t kind,
                                    const char *id, dt_err_t *err);
/* joined, when not NULL, is tree_bulk_group of member's (new) group: it
   spares the bulk a lookup per member. */
int tree_bulk_member_put (store_txn_t *txn, tree_bulk_t *self, const member_t *member,
                          const member_t *old, tree_bulk_group_t *joined, dt_err_t *err);
int tree_bulk_finish (store_txn_t *txn, tree_bulk_t *self, dt_err_t *err);
/* Write a key record, logged for every node (STORE_NODES_ALL): nodes admit
   and scope their local clients by the hub's keys. */
int tree_key_put (store_txn_t *txn, const dt_key_t *key, dt_err_t *err);

/* Visit members seated in a group (kind SEAT_CORE: branch id, SEAT_HALL: hall
   id) and halls of a branch, in id order. Callback returns 0 go on, 1 stop,
   -1 fail. The record passed is a copy valid only during the call. */
typedef int (tree_member_fn) (const member_t *member, void *arg);
typedef int (tree_hall_fn) (const hall_t *hall, void *arg);
typedef int (tree_branch_fn) (const branch_t *branch, void *arg);
int tree_seat_visit (store_txn_t *txn, seat_kind_t kind, const char *group,
                     tree_member_fn *visit, void *arg, dt_err_t *err);
int tree_hall_visit (store_txn_t *txn, const char *branch,
                     tree_hall_fn *visit, void *arg, dt_err_t *err);
int tree_branch_visit (store_txn_t *txn, tree_branch_fn *visit, void *arg, dt_err_t *err);
/* The same from just after id `after` (NULL or "": from the first): paged
   lists resume where their cursor points (PROTOCOL.md 6.0). */
int tree_seat_visit_after (store_txn_t *txn, seat_kind_t kind, const char *group,
                           const char *after, tree_member_fn *visit, void *arg, dt_err_t *err);
int tree_hall_visit_after (store_txn_t *txn, const char *branch, const char *after,
                           tree_hall_fn *visit, void *arg, dt_err_t *err);
int tree_branch_visit_after (store_txn_t *txn, const char *after, tree_branch_fn *visit,
                             void *arg, dt_err_t *err);
/* Unplaced members (seated nowhere), in id order, from just after `after`. */
int tree_unplaced_visit_after (store_txn_t *txn, const char *after, tree_member_fn *visit,
                               void *arg, dt_err_t *err);
/* Members whose name starts with `name` (ASCII letters compared without
   case), in the order of their folded names, then ids, from just after the
   position `after` (NULL: from the first). Each index entry is visited with
   its position (an opaque key of at most TREE_NAME_POSITION_MAX bytes, for a
   cursor); member is NULL for an entry that shares the indexed first bytes
   of the name only, so that a caller counting its work counts those too. */
#define TREE_NAME_KEY_MAX       128     /* bytes of a name the index holds */
#define TREE_NAME_POSITION_MAX  (TREE_NAME_KEY_MAX + 1 + DT_ID_MAX)
typedef int (tree_name_fn) (const member_t *member, const void *position, size_t size,
                            void *arg);
int tree_name_visit_after (store_txn_t *txn, const char *name, const void *after,
                           size_t after_size, tree_name_fn *visit, void *arg, dt_err_t *err);
/* A name as the index holds it: ASCII letters in lower case, cut to
   TREE_NAME_KEY_MAX bytes at a character boundary. Returns its length. */
size_t tree_name_fold (const char *name, char out [TREE_NAME_KEY_MAX + 1]);
/* Build the member index of a store written before it existed (once, at
   open: a no-op when the index is there or there are no members). */
int tree_upgrade (store_t *store, dt_err_t *err);

/* Collect member ids seated in a group into a new zlistx of strings (owned by
   the caller), so that the caller may change seats while walking them. */
zlistx_t *tree_seat_ids (store_txn_t *txn, seat_kind_t kind, const char *group, dt_err_t *err);

/* The node serving a branch, "" if none or unknown. */
void tree_branch_node (store_txn_t *txn, const char *branch, char node [DT_ID_MAX + 1]);
/* Number of branches an officer leads. */
uint32_t tree_officer_branches (store_txn_t *txn, const char *officer);
/* Ids of halls in branch led by member (first one into out, count returned). */
uint32_t tree_member_leads (store_txn_t *txn, const member_t *member, char out [DT_ID_MAX + 1]);

/* A record of a table as stored bytes (snapshots, resends: repl.h). */
typedef int (tree_record_fn) (store_table_t table, const char *key,
                              const void *val, size_t val_size, void *arg);

/* Replica side, registered in repl.c: keep the hall (branch_hall) and member
   (seat) indexes as a record goes from old to val (either NULL: absent). */
int tree_hall_index (store_txn_t *txn, const char *key, const void *old, size_t old_size,
                     const void *val, size_t size, dt_err_t *err);
int tree_member_index (store_txn_t *txn, const char *key, const void *old, size_t old_size,
                       const void *val, size_t size, dt_err_t *err);
/* Delete a branch and all its halls and members from a replica. */
int tree_drop_branch (store_txn_t *txn, const char *branch, dt_err_t *err);

void tree_test (bool verbose);

#endif

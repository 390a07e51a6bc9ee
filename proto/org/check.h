/* check.h -- the organisation tree's invariants, checked over a whole store:
   what the rules (rules.h) and the tree's writers (tree.h) keep true after
   every command. Run by the self-tests after every write they make, and by
   operators on a stopped hub's store (duotang-hub --check DIR).

   Invariants (each violation is reported with the ids and the numbers):
   - every counter equals what it counts: branch.core_seats and hall.seats the
     members seated there, branch.halls the halls in the branch;
   - the seat index and the member records agree: every entry names a member
     seated exactly there, every seated member has exactly one entry (so no
     member holds two seats), a member's branch is its seat's branch;
   - the branch-hall index and the hall records agree; every hall's branch
     exists; no group holds more seats than its effective cap;
   - every hall leader holds a core seat in the hall's branch with the leader
     role, and every member with the leader role leads a hall;
   - every branch is led by an officer, and each officer's count of branches
     led (officer.list) is the number of branches naming them;
   - every referrer is a member, every assigned node is registered. */
#ifndef CHECK_H_INCLUDED
#define CHECK_H_INCLUDED

#include "tree.h"

/* Told one violation: a sentence naming the records and the numbers. */
typedef void (check_fn) (const char *message, void *arg);

/* Check every invariant in txn (a read transaction will do) and call report
   (if not NULL) once per violation. Returns the number of violations, or -1
   on a store error (err set). */
int64_t check_store (store_txn_t *txn, check_fn *report, void *arg, dt_err_t *err);

/* For self-tests: check the store in a transaction of its own, print every
   violation to stderr and assert that there is none. */
void check_assert (store_t *store);
/* The same inside a transaction the caller holds (before a commit). */
void check_assert_txn (store_txn_t *txn);

void check_test (bool verbose);

#endif

/* backup.h -- a consistent copy of a live server's data directory: the LMDB
   store (compacted, one read transaction: the state of one commit, taken
   while the server serves) and the server's key pair. The copy is itself a
   data directory: start a hub (or node) on it to restore. */
#ifndef BACKUP_H_INCLUDED
#define BACKUP_H_INCLUDED

#include "store.h"

/* Copy datadir's store and hub/node key files into target (created, 0700;
   it must not hold a store yet). 0, or -1 with err. */
int backup_datadir (const char *datadir, const char *target, dt_err_t *err);

void backup_test (bool verbose);

#endif

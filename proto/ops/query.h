/* query.h -- the read operations, answered from a store by the hub (whole
   tree) and by a node (its replica): lists, shows, the tree and export. */
#ifndef QUERY_H_INCLUDED
#define QUERY_H_INCLUDED

#include "op.h"

/* The handlers of the reads (bound to catalogue names; the hub serves them
   all, a node those the catalogue marks OP_NODE). Results are filtered to the key's scope
   (op_covers); a show outside it is DENIED. On failure a handler may have
   packed part of a list: the caller drops the result (proto_reply_encode). */
extern const op_t query_ops [];

void query_test (bool verbose);

#endif

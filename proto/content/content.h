/* content.h -- the content operations (PROTOCOL.md 6.12): posts, events,
   questions and activity, served by whichever server is the authority for
   a group's branch (the node it is assigned to, else the hub). The same
   handlers run at the hub and at a node; at a node every accepted change
   is also queued for the hub in the same transaction (uplink.h). */
#ifndef CONTENT_H_INCLUDED
#define CONTENT_H_INCLUDED

#include "op.h"

/* Write ops: post.add, event.schedule|held|cancel, question.ask|answer,
   activity.report, import.content; reads: post.list|show, event.list,
   question.list. NULL-name terminated. */
extern const op_t content_ops [];

void content_test (bool verbose);

#endif

/* node_content.h -- the node as the authority for its branches' content
   (PROTOCOL.md 6.12, 7.4): content writes of one loop round are judged in one
   write transaction (group commit: each request in a child transaction,
   replies sent only after the commit is durable), and every accepted change
   goes up to the hub through the uplink, in order, exactly once, whenever
   the hub can be reached. */
#ifndef NODE_CONTENT_H_INCLUDED
#define NODE_CONTENT_H_INCLUDED

#include "node.h"

/* Resend a push the hub did not answer, and push an empty batch this often
   so that the hub's watermark of this node moves on while nothing happens. */
#define NODE_CONTENT_RETRY_MS     1000
#define NODE_CONTENT_RETRY_MAX    5000
#define NODE_CONTENT_IDLE_PUSH_MS 5000
/* Bytes of entries in one content.push, well under the 4 MiB body limit. */
#define NODE_CONTENT_PUSH_BYTES   (3 * 1024 * 1024)

typedef struct _node_content_t node_content_t;

/* hub NULL: no uplink (tests). Borrows store and options. */
node_content_t *node_content_new (store_t *store, const char *node, const client_opts_t *hub);
void node_content_destroy (node_content_t **self_p);

/* Run a content write for key in this round's batch; its reply (to *peer_p,
   taken) waits for node_content_flush. */
void node_content_call (node_content_t *self, const op_t *op, proto_req_t *req,
                        const dt_key_t *key, zframe_t **peer_p, msgpack_sbuffer *result,
                        dt_err_t *err);
/* Commit the round's batch and send its replies on router. */
void node_content_flush (node_content_t *self, zsock_t *router);

/* Changes waiting to go up, and what the hub last confirmed. */
uint64_t node_content_waiting (node_content_t *self);

//  The uplink (a state machine: idle, or waiting for the reply to one push)

zsock_t *node_content_sock (node_content_t *self);
void node_content_pump (node_content_t *self);
int node_content_wait_ms (node_content_t *self);
/* Take every body off the uplink socket. */
void node_content_recv (node_content_t *self);

void node_content_test (bool verbose);

#endif

/* node_outbox.h -- a node's forwarding, in one place: membership writes asked
   of the node, kept in its LMDB outbox and delivered to the hub one at a time,
   in order, each under the request id NODE:SEQ@EPOCH so that the hub applies
   it once however often it is sent (PROTOCOL.md 7.3); the hub's reply becomes
   the entry's outcome; and the callers waiting for it, who hear that outcome,
   or "pending" with a ticket when the hub takes too long. A retryable answer
   (dt_err_retryable: BUSY, UNAVAILABLE, INTERNAL) is no outcome: the entry is
   sent again. Each entry is stored as the very request the hub gets. */
#ifndef NODE_OUTBOX_H_INCLUDED
#define NODE_OUTBOX_H_INCLUDED

#include "node.h"

/* How long a caller waits before being told "pending", and the resend
   backoff while the hub does not answer. */
#define NODE_OUTBOX_PENDING_MS  1500
#define NODE_OUTBOX_RETRY_MS    500
#define NODE_OUTBOX_RETRY_MAX   2000
/* Outcomes kept for request.status. */
#define NODE_OUTBOX_KEEP        100000

typedef struct _node_outbox_t node_outbox_t;

/* hub NULL: no network (bookkeeping only, for tests); router: the node's
   socket, where waiting callers are answered (NULL: no callers, tests).
   Borrows store, options and router. NULL with err when the store cannot be
   read. */
node_outbox_t *node_outbox_new (store_t *store, const char *node, const client_opts_t *hub,
                                zsock_t *router, dt_err_t *err);
void node_outbox_destroy (node_outbox_t **self_p);

/* Forward a membership write (arguments already checked) asked by key
   `actor`, for the hub's key named `as` (NULL: under the node key's scope
   alone), for the caller at *peer_p: queue it, then answer the caller on the
   router with the hub's reply to it, or with { state: "pending", ticket }
   after NODE_OUTBOX_PENDING_MS. A client rid queued before queues nothing:
   the caller gets that entry's outcome, or waits for it. Takes *peer_p and
   returns 0; -1 with err (the caller keeps *peer_p) when it cannot be queued. */
int node_outbox_forward (node_outbox_t *self, const proto_req_t *req, const char *actor,
                         const char *as, zframe_t **peer_p, dt_err_t *err);
/* Callers waiting for an outcome. */
size_t node_outbox_waiting (node_outbox_t *self);

/* Durably queue a request (op, args map or NULL) asked by key `actor`, to be
   forwarded "as" the hub's key named `as` (NULL: under the node key's scope
   alone). With a client rid already queued before, nothing is added: returns
   1 with that entry's ticket. Else 0 with the new ticket in *ticket, or -1
   with err. */
int node_outbox_append (node_outbox_t *self, const char *op, const msgpack_object *args,
                        const char *actor, const char *as, const char *rid,
                        uint64_t *ticket, dt_err_t *err);
/* Record the hub's reply (an encoded reply body) as the outcome of ticket
   and drop it from the outbox, in one transaction. 0 or -1 with err. */
int node_outbox_settle (node_outbox_t *self, uint64_t ticket, const void *reply,
                        size_t size, dt_err_t *err);
/* Pack { ticket, state, result, error } for request.status; NOT_FOUND for a
   ticket that is neither queued nor settled. */
int node_outbox_status (store_txn_t *txn, uint64_t ticket, msgpack_packer *pk,
                        dt_err_t *err);
/* The outcome of a settled ticket as a reply to request `id`: 0, 1 when the
   ticket is not settled (yet), -1 on a store error. */
int node_outbox_reply (node_outbox_t *self, uint64_t ticket, uint64_t id,
                       msgpack_sbuffer *out, dt_err_t *err);
/* Entries waiting for delivery. */
uint64_t node_outbox_depth (node_outbox_t *self);

/* Re-address an encoded reply to request `id`, leaving the rest as it is. */
int node_outbox_readdress (const void *reply, size_t size, uint64_t id,
                           msgpack_sbuffer *out);

//  Delivery (a state machine: idle, or waiting for the reply to one entry)

/* The socket to poll (NULL without network). */
zsock_t *node_outbox_sock (node_outbox_t *self);
/* Send the next entry when idle, resend the one in flight when its time is
   up; tell callers who waited long enough "pending". */
void node_outbox_pump (node_outbox_t *self);
/* Milliseconds until node_outbox_pump has something to do (-1: nothing). */
int node_outbox_wait_ms (node_outbox_t *self);
/* Take one body off the socket. Returns 1 when it settled an entry: *ticket
   is set, its outcome stored and sent to its waiting callers, and the next
   entry is on its way; 0 when nothing was settled. */
int node_outbox_recv (node_outbox_t *self, uint64_t *ticket);

void node_outbox_test (bool verbose);

#endif

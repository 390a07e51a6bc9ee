/* server.h -- the server side of DTP framing, shared by hub and node: the
   ROUTER socket (a CURVE server unless insecure), request framing and size
   checks, and replies. */
#ifndef SERVER_H_INCLUDED
#define SERVER_H_INCLUDED

#include "dt.h"
#include "dt_err.h"

/* A connection that has not finished its ZMTP/CURVE handshake within this
   is dropped. */
#define SERVER_HANDSHAKE_MS 5000

/* Raise this process's file-descriptor budget (RLIMIT_NOFILE) to the hard
   limit, so that connections of strangers cannot use up a small soft limit
   before registered keys connect. *limit is the budget now. 0, or -1 when it
   could not be raised. */
int server_raise_fd_limit (uint64_t *limit);

/* Bind a ROUTER on endpoint; a CURVE server with cert (ZAP domain "duotang")
   unless cert is NULL. The endpoint bound (ephemeral port resolved) is copied
   to bound and written to DATADIR/endpoint for scripts and tests. Returns the
   socket (caller destroys) or NULL with err set. */
zsock_t *server_bind (const char *endpoint, zcert_t *cert, const char *datadir,
                      char *bound, size_t bound_size, dt_err_t *err);

/* Split a received message into the peer's routing id (*peer_p, caller owns)
   and the body (returned, caller owns). Returns NULL with err set
   (MALFORMED, TOO_LARGE) when the framing or the size is wrong; *peer_p is
   still set when the peer is known, so that it can be answered. */
zframe_t *server_take_body (zmsg_t *msg, zframe_t **peer_p, dt_err_t *err);

/* Send body to the peer (takes the peer frame). 0 sent; 1 the peer has gone
   (its connection closed: what it still has queued may be dropped); -1 not
   sent otherwise (its pipe is full: a peer that does not read its replies). */
int server_reply (zsock_t *router, zframe_t **peer_p, const void *body, size_t size);
/* The same, the peer frame left to the caller. */
int server_reply_to (zsock_t *router, zframe_t *peer, const void *body, size_t size);

void server_test (bool verbose);

#endif

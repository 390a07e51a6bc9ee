/* client.h -- a DTP client connection: a DEALER socket with CURVE (or the
   loopback-only insecure mode), request ids, timeouts and reply matching.
   Used by duotangctl, by nodes talking to the hub, and by tests. */
#ifndef CLIENT_H_INCLUDED
#define CLIENT_H_INCLUDED

#include "proto.h"

typedef struct {
    const char *endpoint;       /* e.g. tcp://127.0.0.1:7700 */
    const char *key_file;       /* own secret key file (unused when insecure) */
    const char *server_key;     /* server public key file or Z85 text */
    bool insecure;              /* no CURVE; refused unless endpoint is loopback */
    int timeout_ms;             /* per call; 0 = 5000 */
} client_opts_t;

typedef struct _client_t client_t;

/* Connect. Returns NULL with err set (bad key files, insecure off loopback). */
client_t *client_new (const client_opts_t *opts, dt_err_t *err);
void client_destroy (client_t **self_p);

/* Send one request and wait for its reply. args is a packed map or NULL; rid
   NULL or "" for none. On 0 the caller owns *reply and must call
   proto_reply_release; a server error is a reply with ok false, not -1.
   Returns -1 with err UNAVAILABLE when no reply came within the timeout, or
   sooner when the handshake failed or connections have been refused for a
   second; err's message then says which (client_link_why). */
int client_call (client_t *self, const char *op, const msgpack_sbuffer *args,
                 const char *rid, proto_reply_t *reply, dt_err_t *err);
/* As client_call, for the key named `as` (NULL or "" for none): a node's
   connection forwarding a local client's request (PROTOCOL.md 7.3). */
int client_call_as (client_t *self, const char *op, const msgpack_sbuffer *args,
                    const char *rid, const char *as, proto_reply_t *reply, dt_err_t *err);

/* Send an encoded request body as it is (a request kept in a store, resent
   unchanged), connecting first when *self_p is NULL. A failure to connect is
   logged, saying what the connection is for, and the body is not sent: the
   caller sends it again later. */
void client_send_stored (client_t **self_p, const client_opts_t *opts, const void *body,
                         size_t size, const char *what);

/* 0 if a request of these args may be sent, else -1 with err TOO_LARGE
   (client_call checks it; a caller of client_send checks it first). */
int client_fits (const char *op, const msgpack_sbuffer *args, dt_err_t *err);
/* Send a request without waiting (sync.ack); returns its id. */
uint64_t client_send (client_t *self, const char *op, const msgpack_sbuffer *args);
/* Wait for the reply to request id (sent by client_send, op naming it in
   messages), as client_call waits for its own: replies to other ids and
   pushes are passed over, an error with id 0 is taken as this one's. */
int client_wait (client_t *self, uint64_t id, const char *op, proto_reply_t *reply,
                 dt_err_t *err);

/* Receive the next body (reply or push) within timeout_ms; 0, or -1 on
   timeout or a malformed body (err set). The strings of a reply point into
   the body, which the client keeps until its next receive (client_call too)
   or client_destroy: copy what must outlive that. */
int client_recv (client_t *self, int timeout_ms, proto_reply_t *reply, dt_err_t *err);

/* What the socket monitor has told about the connection, for messages when
   no answer comes (client_call's err says it too). */
typedef enum {
    CLIENT_LINK_UNKNOWN,            /* nothing heard (inproc, or no monitor) */
    CLIENT_LINK_CONNECTING,         /* a TCP connect under way, no answer yet */
    CLIENT_LINK_REFUSED,            /* connections refused: nothing listens there */
    CLIENT_LINK_HANDSHAKING,        /* connected, the handshake not finished */
    CLIENT_LINK_KEY_REFUSED,        /* the server's ZAP handler refused this key */
    CLIENT_LINK_HANDSHAKE_FAILED,   /* another key, or a mechanism mismatch */
    CLIENT_LINK_READY               /* connected and authenticated */
} client_link_t;
client_link_t client_link (client_t *self);
/* One phrase for an operator ("nothing listens there (connection refused)"),
   NULL for CLIENT_LINK_UNKNOWN. */
const char *client_link_why (client_link_t link);

/* The socket, for pollers. */
zsock_t *client_sock (client_t *self);

void client_test (bool verbose);

#endif

/* client.c -- DTP client: CURVE DEALER, framing, ids, timeouts, and what the
   socket monitor says about the connection when no answer comes. */
#include "client.h"
#include "keys.h"
#include "monitor.h"

/* After this long of refused connections a call gives up: nothing listens. */
#define S_REFUSED_MS 1000

struct _client_t {
    zsock_t *sock;
    uint64_t next_id;
    int timeout_ms;
    zmsg_t *last;               /* the body the last reply's strings point into */
    monitor_t *monitor;         /* NULL if libzmq would not monitor */
    //  What the monitor told, since client_new
    bool delayed;               /* a TCP connect is under way */
    bool connected;             /* a TCP connection was made */
    int64_t refused_since;      /* connects refused since then (0: none) */
    int handshake;              /* 0 none yet, 1 the last one succeeded, -1 it failed */
    int handshake_event;        /* ZMQ_EVENT_HANDSHAKE_FAILED_* of the last failure */
};

/* Read the monitor's waiting events into the client's state. */
static void
s_monitor_drain (client_t *self)
{
    uint32_t value;
    int event;
    while (self->monitor && (event = monitor_recv (self->monitor, 0, &value, NULL, 0))) {
        if (event == ZMQ_EVENT_CONNECT_DELAYED)
            self->delayed = true;
        else
        if (event == ZMQ_EVENT_CONNECT_RETRIED) {
            if (!self->refused_since && !self->connected)
                self->refused_since = zclock_mono ();
        }
        else
        if (event == ZMQ_EVENT_CONNECTED) {
            self->connected = true;
            self->refused_since = 0;
        }
        else
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            self->handshake = 1;
        else {
            self->handshake = -1;
            self->handshake_event = event;
        }
    }
}

client_link_t
client_link (client_t *self)
{
    s_monitor_drain (self);
    if (self->handshake == 1)
        return CLIENT_LINK_READY;
    if (self->handshake == -1)
        return self->handshake_event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH?
               CLIENT_LINK_KEY_REFUSED: CLIENT_LINK_HANDSHAKE_FAILED;
    if (self->connected)
        return CLIENT_LINK_HANDSHAKING;
    if (self->refused_since)
        return CLIENT_LINK_REFUSED;
    if (self->delayed)
        return CLIENT_LINK_CONNECTING;
    return CLIENT_LINK_UNKNOWN;
}

const char *
client_link_why (client_link_t link)
{
    switch (link) {
        case CLIENT_LINK_REFUSED:
            return DT_N_("nothing listens there (connection refused)");
        case CLIENT_LINK_CONNECTING:
            return DT_N_("no connection could be made (is the host reachable?)");
        case CLIENT_LINK_KEY_REFUSED:
            return DT_N_("the handshake failed: the server refused this key (not "
                         "registered there, or revoked)");
        case CLIENT_LINK_HANDSHAKE_FAILED:
            return DT_N_("the handshake failed: wrong server key or this key is not "
                         "registered (or --insecure against a secure server, or the "
                         "reverse)");
        case CLIENT_LINK_HANDSHAKING:
            return DT_N_("connected, but the handshake did not finish: the server is slow");
        case CLIENT_LINK_READY:
            return DT_N_("the server is slow (connected, handshake done, no reply in time)");
        default:
            return NULL;
    }
}

/* Set up CURVE client keys on the socket; 0 or -1 with err. */
static int
s_curve (zsock_t *sock, const client_opts_t *opts, dt_err_t *err)
{
    if (!opts->key_file || !opts->server_key)
        return dt_err_set (err, "BAD_ARGS", "CURVE needs a key file (-k) and the server's "
                           "public key (-s); or use --insecure on loopback");
    zcert_t *own = keys_load_secret (opts->key_file, err);
    if (!own)
        return -1;
    zcert_t *server = keys_load_public (opts->server_key, err);
    if (!server) {
        zcert_destroy (&own);
        return -1;
    }
    zcert_apply (own, sock);
    zsock_set_curve_serverkey (sock, zcert_public_txt (server));
    zcert_destroy (&own);
    zcert_destroy (&server);
    return 0;
}

client_t *
client_new (const client_opts_t *opts, dt_err_t *err)
{
    if (opts->insecure && !keys_endpoint_is_local (opts->endpoint)) {
        dt_err_set (err, "DENIED", "insecure mode is allowed on loopback only, not %s",
                    opts->endpoint);
        return NULL;
    }
    client_t *self = calloc (1, sizeof (client_t));
    assert (self);
    self->next_id = 1;
    self->timeout_ms = opts->timeout_ms? opts->timeout_ms: 5000;
    self->sock = zsock_new (ZMQ_DEALER);
    if (!self->sock) {
        dt_err_set (err, "INTERNAL", "socket failed: %s", zmq_strerror (zmq_errno ()));
        goto failed;
    }
    zsock_set_linger (self->sock, 0);
    zsock_set_sndhwm (self->sock, 10000);
    if (!opts->insecure && s_curve (self->sock, opts, err))
        goto failed;
    //  Before connecting, so that the first events are seen
    self->monitor = monitor_new (self->sock, ZMQ_EVENT_CONNECT_DELAYED
                                 | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_CONNECTED
                                 | ZMQ_EVENT_HANDSHAKE_SUCCEEDED
                                 | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                                 | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                                 | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    if (zsock_connect (self->sock, "%s", opts->endpoint)) {
        dt_err_set (err, "BAD_ARGS", "connect to %s failed: %s", opts->endpoint,
                    zmq_strerror (zmq_errno ()));
        goto failed;
    }
    return self;
failed:
    client_destroy (&self);
    return NULL;
}

void
client_destroy (client_t **self_p)
{
    assert (self_p);
    client_t *self = *self_p;
    if (self) {
        monitor_destroy (&self->monitor);
        zsock_destroy (&self->sock);
        zmsg_destroy (&self->last);
        free (self);
        *self_p = NULL;
    }
}

zsock_t *
client_sock (client_t *self)
{
    return self->sock;
}

/* Send a request with the given id (empty delimiter, then the body). */
static void
s_send (client_t *self, uint64_t id, const char *op, const msgpack_sbuffer *args,
        const char *rid, const char *as)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    proto_req_encode_as (&body, id, op, args, rid, as);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, NULL, 0);
    zmsg_addmem (msg, body.data, body.size);
    zmsg_send (&msg, self->sock);
    msgpack_sbuffer_destroy (&body);
}

void
client_send_stored (client_t **self_p, const client_opts_t *opts, const void *body,
                    size_t size, const char *what)
{
    if (!*self_p) {
        dt_err_t err;
        dt_err_init (&err);
        *self_p = client_new (opts, &err);
        if (!*self_p)
            zsys_error ("%s: %s", what, err.message);
        dt_err_reset (&err);
    }
    if (*self_p) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addmem (msg, NULL, 0);
        zmsg_addmem (msg, body, size);
        zmsg_send (&msg, client_sock (*self_p));
    }
}

uint64_t
client_send (client_t *self, const char *op, const msgpack_sbuffer *args)
{
    uint64_t id = self->next_id++;
    s_send (self, id, op, args, NULL, NULL);
    return id;
}

int
client_recv (client_t *self, int timeout_ms, proto_reply_t *reply, dt_err_t *err)
{
    memset (reply, 0, sizeof (*reply));
    msgpack_unpacked_init (&reply->unpacked);
    //  A long-lived connection (a node's) keeps its monitor's queue short
    s_monitor_drain (self);
    zsock_set_rcvtimeo (self->sock, timeout_ms);
    zmsg_t *msg = zmsg_recv (self->sock);
    if (!msg)
        return dt_err_set (err, "UNAVAILABLE", "no answer within %d ms", timeout_ms);
    zframe_t *delimiter = zmsg_first (msg);
    zframe_t *body = zmsg_next (msg);
    int rc = -1;
    if (zmsg_size (msg) != 2 || zframe_size (delimiter) != 0)
        dt_err_set (err, "MALFORMED", "reply is not framed as delimiter + body");
    else {
        msgpack_unpacked_destroy (&reply->unpacked);
        rc = proto_reply_decode (reply, zframe_data (body), zframe_size (body), err);
    }
    //  msgpack objects point into the body (strings, bins): keep it alive
    zmsg_destroy (&self->last);
    self->last = msg;
    return rc;
}

int
client_call (client_t *self, const char *op, const msgpack_sbuffer *args,
             const char *rid, proto_reply_t *reply, dt_err_t *err)
{
    return client_call_as (self, op, args, rid, NULL, reply, err);
}

int
client_fits (const char *op, const msgpack_sbuffer *args, dt_err_t *err)
{
    //  A body over the limit is not sent: far over it, the server's socket
    //  would drop the connection and no answer would ever come
    size_t size = args? args->size: 0;
    if (size > DT_MAX_BODY)
        return dt_err_set (err, "TOO_LARGE", "%s: a request of %zu bytes exceeds the %d "
                           "bytes a request may hold", op, size, DT_MAX_BODY);
    return 0;
}

int
client_call_as (client_t *self, const char *op, const msgpack_sbuffer *args,
                const char *rid, const char *as, proto_reply_t *reply, dt_err_t *err)
{
    uint64_t id = self->next_id++;
    if (client_fits (op, args, err))
        return -1;
    s_send (self, id, op, args, rid, as);
    return client_wait (self, id, op, reply, err);
}

int
client_wait (client_t *self, uint64_t id, const char *op, proto_reply_t *reply, dt_err_t *err)
{
    int64_t deadline = zclock_mono () + self->timeout_ms;
    zmq_pollitem_t items [2] = {
        { zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0 },
        { self->monitor? zsock_resolve (monitor_sock (self->monitor)): NULL, 0, ZMQ_POLLIN, 0 }
    };
    client_link_t link = CLIENT_LINK_UNKNOWN;
    while (true) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            break;
        //  The monitor wakes us too: a failed handshake needs no more waiting
        if (zmq_poll (items, self->monitor? 2: 1, left) < 0 && zmq_errno () != EINTR)
            break;
        link = client_link (self);
        if (link == CLIENT_LINK_KEY_REFUSED || link == CLIENT_LINK_HANDSHAKE_FAILED
        || (link == CLIENT_LINK_REFUSED
        &&  zclock_mono () - self->refused_since >= S_REFUSED_MS))
            break;
        if (!(items [0].revents & ZMQ_POLLIN))
            continue;
        if (client_recv (self, 0, reply, err) == 0) {
            //  An error with id 0 answers a request whose id the server
            //  could not read: this call's, the one it has in flight
            if (!*reply->push && (reply->id == id || (reply->id == 0 && !reply->ok)))
                return 0;
            //  A late reply to an earlier call, or a push: not ours
        }
        proto_reply_release (reply);
    }
    const char *why = client_link_why (client_link (self));
    if (why)
        return dt_err_set (err, "UNAVAILABLE", "no answer from the server within %d ms (%s): "
                           "%s", self->timeout_ms, op, why);
    return dt_err_set (err, "UNAVAILABLE", "no answer from the server within %d ms (%s)",
                       self->timeout_ms, op);
}

//  Self-test: an echo server on inproc answers with the request id

void
client_test (bool verbose)
{
    (void) verbose;
    dt_err_t err;
    dt_err_init (&err);
    zsock_t *server = zsock_new_router ("inproc://client-test");
    assert (server);
    client_opts_t opts = { .endpoint = "inproc://client-test", .insecure = true,
                           .timeout_ms = 200 };
    client_t *client = client_new (&opts, &err);
    assert (client);

    //  No answer: UNAVAILABLE after the timeout
    proto_reply_t reply;
    assert (client_call (client, "hello", NULL, NULL, &reply, &err) == -1);
    assert (streq (err.code, "UNAVAILABLE"));
    zmsg_t *stale = zmsg_recv (server);
    assert (stale);
    //  A forwarded call carries the key it is made for
    assert (client_call_as (client, "member.leave", NULL, "n1:1@1", "zhang", &reply,
                            &err) == -1);
    zmsg_t *forwarded = zmsg_recv (server);
    proto_req_t req;
    assert (forwarded && proto_req_decode (&req, zframe_data (zmsg_last (forwarded)),
                                           zframe_size (zmsg_last (forwarded)), &err) == 0);
    assert (streq (req.as, "zhang") && streq (req.rid, "n1:1@1"));
    proto_req_release (&req);
    zmsg_destroy (&forwarded);

    //  The late reply to the first call is skipped; the second is matched
    opts.timeout_ms = 2000;
    uint64_t id = client_send (client, "hello", NULL);
    zmsg_t *request = zmsg_recv (server);
    assert (request && zmsg_size (request) == 3);
    for (zmsg_t *msg = stale; msg; msg = msg == stale? request: NULL) {
        zframe_t *identity = zmsg_first (msg);
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        proto_reply_encode (&body, msg == stale? 1: id, NULL, NULL);
        zmsg_t *answer = zmsg_new ();
        zmsg_append (answer, &(zframe_t *) { zframe_dup (identity) });
        zmsg_addmem (answer, NULL, 0);
        zmsg_addmem (answer, body.data, body.size);
        zmsg_send (&answer, server);
        msgpack_sbuffer_destroy (&body);
    }
    zmsg_destroy (&stale);
    zmsg_destroy (&request);
    assert (client_recv (client, 1000, &reply, &err) == 0 && reply.id == 1);
    proto_reply_release (&reply);
    assert (client_recv (client, 1000, &reply, &err) == 0 && reply.id == id && reply.ok);
    proto_reply_release (&reply);

    //  An error the server could not give an id answers the call in flight
    //  at once, not after the timeout (queued here before the call is made)
    client->timeout_ms = 60000;
    client_send (client, "hello", NULL);
    zmsg_t *unread = zmsg_recv (server);
    assert (unread);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    dt_err_set (&err, "TOO_LARGE", "body of 5000000 bytes exceeds 4194304");
    proto_reply_encode (&body, 0, NULL, &err);
    dt_err_reset (&err);
    zmsg_t *answer = zmsg_new ();
    zmsg_append (answer, &(zframe_t *) { zframe_dup (zmsg_first (unread)) });
    zmsg_addmem (answer, NULL, 0);
    zmsg_addmem (answer, body.data, body.size);
    zmsg_send (&answer, server);
    msgpack_sbuffer_destroy (&body);
    zmsg_destroy (&unread);
    int64_t started = zclock_mono ();
    assert (client_call (client, "hello", NULL, NULL, &reply, &err) == 0);
    assert (!reply.ok && reply.id == 0 && streq (reply.code, "TOO_LARGE"));
    assert (zclock_mono () - started < 30000);
    proto_reply_release (&reply);
    zmsg_destroy (&(zmsg_t *) { zmsg_recv (server) });
    //  A body over the limit is refused without being sent
    msgpack_sbuffer big;
    msgpack_sbuffer_init (&big);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &big, msgpack_sbuffer_write);
    msgpack_pack_bin (&pk, DT_MAX_BODY);
    while (big.size <= DT_MAX_BODY)
        msgpack_sbuffer_write (&big, "\0\0\0\0\0\0\0\0", 8);
    assert (client_call (client, "import.members", &big, NULL, &reply, &err) == -1);
    assert (streq (err.code, "TOO_LARGE"));
    dt_err_reset (&err);
    msgpack_sbuffer_destroy (&big);

    //  Insecure mode is for loopback only
    opts.endpoint = "tcp://192.0.2.1:7700";
    assert (client_new (&opts, &err) == NULL && streq (err.code, "DENIED"));
    client_destroy (&client);
    zsock_destroy (&server);
    dt_err_reset (&err);
}

/* server.c -- ROUTER set-up, request framing and replies for hub and node. */
#include "server.h"

/* Beyond this libzmq drops the connection instead of delivering the message;
   between DT_MAX_BODY and this the peer gets TOO_LARGE. */
#define SERVER_MAXMSGSIZE (4 * DT_MAX_BODY)

#include <sys/resource.h>

int
server_raise_fd_limit (uint64_t *limit)
{
    struct rlimit rl;
    if (getrlimit (RLIMIT_NOFILE, &rl))
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit (RLIMIT_NOFILE, &rl)) {
            rl.rlim_cur = old;
            *limit = (uint64_t) rl.rlim_cur;
            return -1;
        }
    }
    *limit = rl.rlim_cur == RLIM_INFINITY? UINT64_MAX: (uint64_t) rl.rlim_cur;
    return 0;
}

static void
s_write_endpoint (const char *datadir, const char *endpoint)
{
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s/endpoint", datadir);
    FILE *file = fopen (path, "w");
    if (file) {
        fprintf (file, "%s\n", endpoint);
        fclose (file);
    }
}

zsock_t *
server_bind (const char *endpoint, zcert_t *cert, const char *datadir,
             char *bound, size_t bound_size, dt_err_t *err)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    if (!router) {
        dt_err_set (err, "INTERNAL", "socket failed: %s", zmq_strerror (zmq_errno ()));
        return NULL;
    }
    zsock_set_maxmsgsize (router, SERVER_MAXMSGSIZE);
    zsock_set_rcvhwm (router, 100000);
    zsock_set_sndhwm (router, 100000);
    zsock_set_linger (router, 100);
    //  A peer that does not finish its handshake (a stranger that sends two
    //  bytes and holds on) is dropped, so that it holds a descriptor for a
    //  bounded time only
    zsock_set_handshake_ivl (router, SERVER_HANDSHAKE_MS);
    //  A reply to a peer that has gone fails (EHOSTUNREACH) instead of
    //  vanishing, so that the server can drop what that peer still has
    //  queued; one to a peer that does not read (its pipe full) is dropped
    //  at once, as before, and never blocks the server
    zsock_set_router_mandatory (router, 1);
    zsock_set_sndtimeo (router, 0);
    if (cert) {
        zcert_apply (cert, router);
        zsock_set_curve_server (router, 1);
        zsock_set_zap_domain (router, "duotang");
    }
    if (zsock_bind (router, "%s", endpoint) < 0) {
        dt_err_set (err, "INTERNAL", "bind %s failed: %s", endpoint,
                    zmq_strerror (zmq_errno ()));
        zsock_destroy (&router);
        return NULL;
    }
    snprintf (bound, bound_size, "%s", zsock_endpoint (router));
    s_write_endpoint (datadir, bound);
    return router;
}

zframe_t *
server_take_body (zmsg_t *msg, zframe_t **peer_p, dt_err_t *err)
{
    *peer_p = zmsg_pop (msg);
    zframe_t *delimiter = zmsg_pop (msg);
    zframe_t *body = zmsg_pop (msg);
    bool framed = delimiter && zframe_size (delimiter) == 0 && body && zmsg_size (msg) == 0;
    zframe_destroy (&delimiter);
    //  A body over DT_MAX_BODY is refused by proto_req_decode, which still
    //  reads the id at its front, so the client gets its answer at once
    if (!framed)
        dt_err_set (err, "MALFORMED", "a request is an empty delimiter frame and a body");
    else
        return body;
    zframe_destroy (&body);
    return NULL;
}

int
server_reply_to (zsock_t *router, zframe_t *peer, const void *body, size_t size)
{
    //  Straight to libzmq, three parts: a czmq message would cost a list
    //  and three frames of allocations for every reply
    void *socket = zsock_resolve (router);
    int rc = zmq_send (socket, zframe_data (peer), zframe_size (peer), ZMQ_SNDMORE);
    if (rc >= 0)
        rc = zmq_send (socket, NULL, 0, ZMQ_SNDMORE);
    if (rc >= 0)
        rc = zmq_send (socket, body, size, 0);
    return rc >= 0? 0: zmq_errno () == EHOSTUNREACH? 1: -1;
}

int
server_reply (zsock_t *router, zframe_t **peer_p, const void *body, size_t size)
{
    int rc = server_reply_to (router, *peer_p, body, size);
    zframe_destroy (peer_p);
    return rc;
}

//  Self-test

void
server_test (bool verbose)
{
    (void) verbose;
    char dir [] = "/tmp/duotang-server-test-XXXXXX";
    assert (mkdtemp (dir));
    dt_err_t err;
    dt_err_init (&err);
    char bound [256];
    zsock_t *router = server_bind ("tcp://127.0.0.1:*", NULL, dir, bound, sizeof (bound), &err);
    assert (router && strncmp (bound, "tcp://127.0.0.1:", 16) == 0);
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s/endpoint", dir);
    assert (zsys_file_exists (path));
    assert (server_bind ("tcp://bogus", NULL, dir, bound, sizeof (bound), &err) == NULL);
    assert (streq (err.code, "INTERNAL"));

    zsock_t *client = zsock_new_dealer (bound);
    assert (client);
    //  A well-framed request, then one without its delimiter
    zstr_sendm (client, "");
    zstr_send (client, "body");
    zstr_send (client, "nodelimiter");
    for (int i = 0; i < 2; i++) {
        zmsg_t *msg = zmsg_recv (router);
        zframe_t *peer = NULL;
        zframe_t *body = server_take_body (msg, &peer, &err);
        assert (peer);
        assert (i == 0? body && zframe_streq (body, "body"):
                        !body && streq (err.code, "MALFORMED"));
        server_reply (router, &peer, "ok", 2);
        assert (!peer);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
    }
    for (int i = 0; i < 2; i++) {
        zmsg_t *reply = zmsg_recv (client);
        assert (reply && zmsg_size (reply) == 2);
        zmsg_destroy (&reply);
    }
    //  A reply to a peer that is not (or no longer) connected says so
    zframe_t *gone = zframe_new ("\x00\x01\x02\x03\x04", 5);
    assert (server_reply (router, &gone, "ok", 2) == 1 && !gone);
    zsock_destroy (&client);
    zsock_destroy (&router);
    unlink (path);
    rmdir (dir);
}

/* monitor.c -- socket monitor events for the client's diagnosis and the servers' log. */
#include "monitor.h"
#include <arpa/inet.h>

struct _monitor_t {
    zsock_t *pair;              /* receives the events */
    void *watched;              /* the libzmq socket monitored, to stop it */
};

monitor_t *
monitor_new (zsock_t *sock, int events)
{
    //  One inproc name per monitor in the process: the monitor's address
    static uint64_t s_sequence;
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "inproc://dt-monitor-%d-%" PRIu64, (int) getpid (),
              __atomic_add_fetch (&s_sequence, 1, __ATOMIC_RELAXED));
    void *handle = zsock_resolve (sock);
    if (zmq_socket_monitor (handle, endpoint, events))
        return NULL;
    monitor_t *self = (monitor_t *) zmalloc (sizeof (monitor_t));
    self->watched = handle;
    self->pair = zsock_new_pair (endpoint);     //  '>' implied: the monitor binds
    if (!self->pair) {
        zmq_socket_monitor (handle, NULL, 0);
        free (self);
        return NULL;
    }
    return self;
}

void
monitor_destroy (monitor_t **self_p)
{
    assert (self_p);
    monitor_t *self = *self_p;
    if (self) {
        if (self->watched)
            zmq_socket_monitor (self->watched, NULL, 0);
        zsock_destroy (&self->pair);
        free (self);
        *self_p = NULL;
    }
}

zsock_t *
monitor_sock (monitor_t *self)
{
    return self->pair;
}

int
monitor_recv (monitor_t *self, int timeout_ms, uint32_t *value, char *address, size_t size)
{
    zmq_pollitem_t item = { zsock_resolve (self->pair), 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, timeout_ms) <= 0)
        return 0;
    //  Frame 1: event number (16 bits) and value (32 bits); frame 2: address
    zmsg_t *msg = zmsg_recv_nowait (self->pair);
    if (!msg)
        return 0;
    zframe_t *head = zmsg_first (msg);
    zframe_t *where = zmsg_next (msg);
    int event = 0;
    if (head && zframe_size (head) == 6) {
        uint16_t number;
        memcpy (&number, zframe_data (head), 2);
        memcpy (value, zframe_data (head) + 2, 4);
        event = number;
    }
    if (address && size)
        snprintf (address, size, "%.*s", where? (int) zframe_size (where): 0,
                  where? (char *) zframe_data (where): "");
    zmsg_destroy (&msg);
    return event;
}

//  The servers' log of refused handshakes

#define S_PER_PEER_MS   60000   /* one line per peer host this often */
#define S_WINDOW_MS     60000   /* and at most S_WINDOW_LINES lines in all */
#define S_WINDOW_LINES  5

typedef struct {
    int64_t logged;             /* when its last line was written */
    uint32_t unlogged;          /* refusals since then */
} s_peer_t;

typedef struct {
    monitor_t *monitor;
    zhashx_t *peers;            /* host -> s_peer_t */
    zhashx_t *accepted;         /* fd (as text) -> its peer's address */
    int refused_event;          /* a handshake failed: the next disconnect is it */
    uint32_t refused_value;
    int64_t window;
    int lines;                  /* logged in this window */
    uint32_t unlogged;          /* refused beyond the window's lines */
} s_refusals_t;

/* What a refusal means to an operator. */
static const char *
s_reason (int event, uint32_t value)
{
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        return "its key is not admitted (not registered, or revoked)";
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        return "it does not speak CURVE (an --insecure client?)";
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
    ||  value == ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO)
        return "its hello does not decrypt (it uses another server key)";
    return "the handshake broke off";
}

static void
s_refused (s_refusals_t *self, int event, uint32_t value, const char *address)
{
    int64_t now = zclock_mono ();
    //  Rate limits are per host: a reconnecting peer comes from a new port
    char host [256];
    snprintf (host, sizeof (host), "%s", address);
    char *colon = strrchr (host, ':');
    if (colon && colon > host + 6)
        *colon = 0;
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, host);
    if (!peer) {
        //  Bound the table: a scan of many hosts forgets the oldest state
        if (zhashx_size (self->peers) > 10000)
            zhashx_purge (self->peers);
        peer = (s_peer_t *) zmalloc (sizeof (s_peer_t));
        peer->logged = now - S_PER_PEER_MS;
        zhashx_insert (self->peers, host, peer);
    }
    if (now - self->window >= S_WINDOW_MS) {
        if (self->unlogged)
            zsys_warning ("%u more refused handshakes were not logged in the last minute",
                          self->unlogged);
        self->window = now;
        self->lines = 0;
        self->unlogged = 0;
    }
    if (now - peer->logged < S_PER_PEER_MS || self->lines >= S_WINDOW_LINES) {
        peer->unlogged++;
        self->unlogged += self->lines >= S_WINDOW_LINES;
        return;
    }
    char more [64] = "";
    if (peer->unlogged)
        snprintf (more, sizeof (more), " (and %u more from it since the last line)",
                  peer->unlogged);
    zsys_warning ("refused a handshake from %s: %s%s", address, s_reason (event, value),
                  more);
    peer->logged = now;
    peer->unlogged = 0;
    self->lines++;
}

/* libzmq 4.3 reports events of accepted connections under the bound
   endpoint: the peer's address comes from the connection's fd, which
   ACCEPTED and DISCONNECTED carry, and a failed handshake is followed by
   the DISCONNECTED of its connection. */
static void
s_event (s_refusals_t *self, int event, uint32_t value)
{
    char fd [16];
    snprintf (fd, sizeof (fd), "%u", value);
    if (event == ZMQ_EVENT_ACCEPTED) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof (peer);
        char host [INET6_ADDRSTRLEN] = "?", address [INET6_ADDRSTRLEN + 16];
        int port = 0;
        //  A peer refused at once may be gone before this runs
        if (getpeername ((int) value, (struct sockaddr *) &peer, &len)) {
            zhashx_update (self->accepted, fd, strdup ("a peer gone before its address "
                                                       "was read"));
            return;
        }
        {
            if (peer.ss_family == AF_INET) {
                struct sockaddr_in *in = (struct sockaddr_in *) &peer;
                inet_ntop (AF_INET, &in->sin_addr, host, sizeof (host));
                port = ntohs (in->sin_port);
            }
            else
            if (peer.ss_family == AF_INET6) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &peer;
                inet_ntop (AF_INET6, &in6->sin6_addr, host, sizeof (host));
                port = ntohs (in6->sin6_port);
            }
        }
        snprintf (address, sizeof (address), "tcp://%s:%d", host, port);
        zhashx_update (self->accepted, fd, strdup (address));
    }
    else
    if (event & (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
               | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)) {
        self->refused_event = event;
        self->refused_value = value;
    }
    else
    if (event == ZMQ_EVENT_DISCONNECTED) {
        const char *address = (const char *) zhashx_lookup (self->accepted, fd);
        if (self->refused_event)
            s_refused (self, self->refused_event, self->refused_value,
                       address? address: "a peer gone before its address was read");
        self->refused_event = 0;
        zhashx_delete (self->accepted, fd);
    }
}

static void
s_refusals_actor (zsock_t *pipe, void *args)
{
    s_refusals_t *self = (s_refusals_t *) args;
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, monitor_sock (self->monitor), NULL);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == pipe || !which)
            break;      //  $TERM, or interrupted
        uint32_t value = 0;
        char address [256];
        int event = monitor_recv (self->monitor, 0, &value, address, sizeof (address));
        s_event (self, event, value);
    }
    zpoller_destroy (&poller);
    //  The watched socket belongs to another thread: only the owner may stop
    //  the monitor, and closing the socket does
    self->monitor->watched = NULL;
    monitor_destroy (&self->monitor);
    zhashx_destroy (&self->peers);
    zhashx_destroy (&self->accepted);
    free (self);
}

zactor_t *
monitor_refusals_new (zsock_t *sock)
{
    s_refusals_t *self = (s_refusals_t *) zmalloc (sizeof (s_refusals_t));
    self->monitor = monitor_new (sock, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                                     | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                                     | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                                     | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED);
    if (!self->monitor) {
        free (self);
        return NULL;
    }
    self->peers = zhashx_new ();
    zhashx_set_destructor (self->peers, (zhashx_destructor_fn *) zstr_free);
    self->accepted = zhashx_new ();
    zhashx_set_destructor (self->accepted, (zhashx_destructor_fn *) zstr_free);
    self->window = zclock_mono () - S_WINDOW_MS;
    return zactor_new (s_refusals_actor, self);
}

//  Self-test: a CURVE server refuses an unknown key and a plaintext peer

void
monitor_test (bool verbose)
{
    (void) verbose;
    zcert_t *server_cert = zcert_new ();
    zcert_t *client_cert = zcert_new ();
    //  A ZAP handler that admits nobody: every CURVE client is refused
    zactor_t *auth = zactor_new (zauth, NULL);
    zstr_sendx (auth, "CURVE", "/nonexistent-duotang-certs", NULL);
    zsock_wait (auth);
    zsock_t *server = zsock_new (ZMQ_ROUTER);
    zcert_apply (server_cert, server);
    zsock_set_curve_server (server, 1);
    zsock_set_zap_domain (server, "duotang");
    monitor_t *watch = monitor_new (server, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                                          | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    assert (watch);
    assert (zsock_bind (server, "tcp://127.0.0.1:*") > 0);
    const char *endpoint = zsock_endpoint (server);

    zsock_t *client = zsock_new (ZMQ_DEALER);
    zcert_apply (client_cert, client);
    zsock_set_curve_serverkey (client, zcert_public_txt (server_cert));
    monitor_t *seen = monitor_new (client, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    assert (seen);
    assert (zsock_connect (client, "%s", endpoint) == 0);
    uint32_t value;
    char address [256];
    int event = 0;
    for (int i = 0; i < 50 && event != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH; i++)
        event = monitor_recv (watch, 100, &value, address, sizeof (address));
    assert (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && value == 400);
    //  libzmq 4.3 names the bound endpoint here, not the peer
    assert (streq (address, endpoint));
    //  The client hears the refusal too
    event = 0;
    for (int i = 0; i < 50 && event != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH; i++)
        event = monitor_recv (seen, 100, &value, NULL, 0);
    assert (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    monitor_destroy (&seen);
    zsock_destroy (&client);

    //  A peer without CURVE: a mechanism mismatch
    client = zsock_new_dealer (endpoint);
    event = 0;
    for (int i = 0; i < 50 && event != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL; i++)
        event = monitor_recv (watch, 100, &value, address, sizeof (address));
    assert (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    assert (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH);
    zsock_destroy (&client);
    monitor_destroy (&watch);

    //  The logging actor starts and stops cleanly
    zactor_t *refusals = monitor_refusals_new (server);
    assert (refusals);
    zactor_destroy (&refusals);
    zsock_destroy (&server);
    zactor_destroy (&auth);
    zcert_destroy (&client_cert);
    zcert_destroy (&server_cert);
}

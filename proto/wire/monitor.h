/* monitor.h -- ZeroMQ's socket monitor (zmq_socket_monitor) read as events:
   what the client needs to tell "nothing listens there" from "the handshake
   failed" from "the server is slow", and what the hub and the node need to
   log the handshakes they refused, with the peer's address. */
#ifndef MONITOR_H_INCLUDED
#define MONITOR_H_INCLUDED

#include "dt.h"

typedef struct _monitor_t monitor_t;

/* Monitor the events (ZMQ_EVENT_* bits) of sock, which must not be connected
   or bound yet if the first events matter. NULL if libzmq refuses. */
monitor_t *monitor_new (zsock_t *sock, int events);
void monitor_destroy (monitor_t **self_p);

/* The socket the events arrive on, for pollers. */
zsock_t *monitor_sock (monitor_t *self);

/* The next event within timeout_ms (0: only one already waiting): its
   ZMQ_EVENT_* number, with value and the address it concerns (the peer's
   for a bound socket) copied out; 0 when none came. */
int monitor_recv (monitor_t *self, int timeout_ms, uint32_t *value, char *address,
                  size_t size);

/* An actor that logs each handshake the bound socket refuses (a key not
   admitted, a wrong server key, a peer without CURVE): "refused a
   handshake from tcp://10.0.0.5:51234: ...", at most one line per peer
   address a minute and five a minute in all, then how many more it did not
   log. Events before it starts are not seen; destroy it before the socket. */
zactor_t *monitor_refusals_new (zsock_t *sock);

void monitor_test (bool verbose);

#endif

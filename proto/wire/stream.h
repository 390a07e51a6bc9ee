/* stream.h -- the codec of the replication stream (PROTOCOL.md 7): change
   records, the pushes that carry them, and the sync.hello / sync.ack
   arguments and results. The hub encodes with it, the node decodes with it;
   nothing else builds or parses these maps. */
#ifndef STREAM_H_INCLUDED
#define STREAM_H_INCLUDED

#include "proto.h"

/* A change names at most this many nodes; "*" names every node. */
#define STREAM_NODES_MAX   4
#define STREAM_NODES_ALL   "*"
#define STREAM_TABLE_MAX   31

/* change = { seq, ts, table, key, value, branch, nodes, end? } (7.1) */
typedef struct {
    uint64_t seq;
    int64_t ts;
    char table [STREAM_TABLE_MAX + 1];
    char key [DT_ID_MAX + 1];
    const void *value;              /* the record's bytes; NULL = deleted. Decoded:
                                       points into the buffer decoded from */
    size_t value_size;
    char branch [DT_ID_MAX + 1];    /* "" = nil */
    char nodes [STREAM_NODES_MAX][DT_ID_MAX + 1];
    int nnodes;
    bool end;                       /* the last change of a hub commit */
} stream_change_t;

typedef enum {
    STREAM_NONE = 0,                /* the body is not a push (a reply) */
    STREAM_CHANGES,                 /* entries upto */
    STREAM_SNAPSHOT_BEGIN,          /* upto */
    STREAM_SNAPSHOT,                /* entries */
    STREAM_SNAPSHOT_END,            /* upto */
    STREAM_HEARTBEAT,               /* head */
    STREAM_OTHER                    /* a push of a newer protocol: ignored */
} stream_kind_t;

/* push = { v, push, entries?, upto?, head? } */
typedef struct {
    stream_kind_t kind;
    uint64_t upto;                  /* changes, snapshot_begin, snapshot_end */
    uint64_t head;                  /* heartbeat */
    const void *entries;            /* change maps back to back (changes, snapshot) */
    size_t entries_size;
    uint32_t nentries;
} stream_push_t;

/* Encode one change map (7 keys, 8 with end). */
void stream_change_encode (msgpack_sbuffer *out, const stream_change_t *change);
/* Decode one change map from data; *used gets the bytes it took (NULL: the
   map must fill data exactly). 0, or -1 with err MALFORMED. */
int stream_change_decode (stream_change_t *self, const void *data, size_t size,
                          size_t *used, dt_err_t *err);
/* True if the change is meant for node (named, or "*"). */
bool stream_change_for (const stream_change_t *self, const char *node);

/* Encode a push; entries (nentries maps back to back) for changes and
   snapshot pushes. */
void stream_push_encode (msgpack_sbuffer *out, const stream_push_t *push);
/* Decode a body as a push: kind STREAM_NONE when it has no "push" key (a
   reply), else every field its kind needs checked and every entry decoded
   once. entries point into data. 0, or -1 with err MALFORMED / TOO_LARGE. */
int stream_push_decode (stream_push_t *self, const void *data, size_t size, dt_err_t *err);
/* Walk the entries of a decoded push (or any run of change maps): *offset
   starts at 0. 1 with change filled, 0 at the end, -1 with err. */
int stream_entries_next (const void *entries, size_t size, size_t *offset,
                         stream_change_t *change, dt_err_t *err);

/* sync.hello { node, from, credit } -> { head, snapshot } (7.2) */
#define STREAM_HELLO_ARGS "node from credit witness?"
#define STREAM_WITNESS_MAX 256
typedef struct {
    char node [DT_ID_MAX + 1];
    uint64_t from;                  /* last applied seq */
    uint64_t credit;
    uint8_t witness [STREAM_WITNESS_MAX];   /* the newest audit checkpoint held */
    size_t witness_size;            /* 0: none */
} stream_hello_t;
typedef struct {
    uint64_t head;
    bool snapshot;
} stream_hello_ok_t;

/* sync.ack { applied, credit, ts, outbox? } -> nil */
#define STREAM_ACK_ARGS "applied credit ts outbox?"
typedef struct {
    uint64_t applied;
    uint64_t credit;
    int64_t ts;
    uint64_t outbox;
} stream_ack_t;

/* Arguments (packed maps for client_send) and their decoders at the hub,
   which read the request's args (BAD_ARGS / TOO_LARGE with err). */
void stream_hello_encode (msgpack_sbuffer *args, const stream_hello_t *hello);
int stream_hello_decode (stream_hello_t *self, const msgpack_object *args, dt_err_t *err);
void stream_ack_encode (msgpack_sbuffer *args, const stream_ack_t *ack);
int stream_ack_decode (stream_ack_t *self, const msgpack_object *args, dt_err_t *err);
/* The sync.hello result, packed into a reply, and read back by the node. */
void stream_hello_ok_pack (msgpack_packer *pk, const stream_hello_ok_t *ok);
int stream_hello_ok_decode (stream_hello_ok_t *self, const msgpack_object *result,
                            dt_err_t *err);

void stream_test (bool verbose);

#endif

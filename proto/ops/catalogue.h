/* catalogue.h -- every operation of DTP/1, in one table: its name, argument
   spec, flags (who serves it, read or write, hq-only, forwarded), the
   PROTOCOL.md section it is specified in and the error codes it can return.
   Servers attach handlers to these names (op.h); the hub, the node, the CLI
   and the fuzzer all read this table, and its self-test compares it with
   proto/PROTOCOL.md. Adding an operation: one line here, one binding in the
   module that serves it, its table row in PROTOCOL.md. */
#ifndef CATALOGUE_H_INCLUDED
#define CATALOGUE_H_INCLUDED

#include "dt.h"
#include "dt_err.h"

/* Flags of an operation. Who answers it: OP_HUB, OP_NODE, or both. */
enum {
    OP_READ    = 0,
    OP_WRITE   = 1 << 0,    /* changes the store: group commit, rid recorded */
    OP_HQ      = 1 << 1,    /* hq-admin keys only */
    OP_HUB     = 1 << 2,    /* the hub answers it */
    OP_NODE    = 1 << 3,    /* a node answers it itself, from its replica or its own state */
    OP_FORWARD = 1 << 4,    /* a node forwards it to the hub (PROTOCOL.md 7.3); the hub
                               takes "as" on these only */
    OP_SYNC    = 1 << 5,    /* the replication stream (7.2): paced by credit, not by
                               the request rate limit */
    OP_LIST    = 1 << 6     /* a list that reads the store and nothing else (no server
                               state, no time zone): the hub may read it in a thread
                               of its own, beside the writers */
};

typedef struct {
    const char *name;       /* "hall.merge" */
    const char *args;       /* proto_args_check spec: "id into", "id into? release?" */
    int flags;
    const char *section;    /* of PROTOCOL.md: "6.4" */
    const char *errors;     /* codes beyond the common ones, space separated: "NOT_FOUND FULL" */
} catalogue_op_t;

/* Every operation, ended by a NULL name. */
extern const catalogue_op_t catalogue_ops [];

/* The operation named name, or NULL. */
const catalogue_op_t *catalogue_find (const char *name);

/* What a server (OP_HUB or OP_NODE) does with an operation; decided from the
   flags alone. A content operation answered by the authority for its branch
   (next issue) becomes one more flag and one more case here. */
typedef enum {
    CATALOGUE_SERVE,        /* answer it here */
    CATALOGUE_FORWARD,      /* a node: queue it for the hub (7.3) */
    CATALOGUE_REFUSE,       /* DENIED, naming the server that answers it */
    CATALOGUE_UNKNOWN       /* UNKNOWN_OP */
} catalogue_route_t;

catalogue_route_t catalogue_route (const catalogue_op_t *op, int server);

/* Set err to the refusal of op at server (DENIED naming who answers it;
   UNKNOWN_OP when op is NULL, for name; INTERNAL when server answers op but
   has no handler for it). Returns -1. */
int catalogue_refuse (const catalogue_op_t *op, const char *name, int server,
                      const char *server_name, dt_err_t *err);

/* An error code of PROTOCOL.md 5.3. */
typedef struct {
    const char *code;
    bool retry;             /* the same request (same rid) may succeed later */
    bool common;            /* any operation may return it */
} catalogue_code_t;

/* Every error code, ended by a NULL code. */
extern const catalogue_code_t catalogue_codes [];

/* The code's entry, or NULL if code is not a DTP error code. */
const catalogue_code_t *catalogue_code (const char *code);
/* True if op may fail with code: a common code or one of op->errors. */
bool catalogue_may_fail (const catalogue_op_t *op, const char *code);

/* Check a request's args against op's spec (BAD_ARGS). 0 or -1 with err. */
int catalogue_args_check (const catalogue_op_t *op, const msgpack_object *args,
                          dt_err_t *err);

/* Compare the catalogue with a PROTOCOL.md text: every op table row (a row
   whose first cell is a `quoted` op name, in a table with columns op, args,
   ..., errors) against the catalogue's args and errors, both ways, and the
   error code table of 5.3 against catalogue_codes. 0, or -1 with err
   naming the first difference. */
int catalogue_check_protocol (const char *text, dt_err_t *err);

void catalogue_test (bool verbose);

#endif

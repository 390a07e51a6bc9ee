/* op.h -- operations: the handler table, the call context, key scopes and a
   text form of arguments for tests. Shared by hub (all ops) and node (reads). */
#ifndef OP_H_INCLUDED
#define OP_H_INCLUDED

#include "tree.h"
#include "proto.h"

/* What an operation is, for dispatch and for scope checks. */
enum {
    OP_READ       = 0,
    OP_WRITE      = 1 << 0,     /* changes the store: runs in the group commit */
    OP_HQ         = 1 << 1,     /* hq-admin keys only */
    OP_MEMBERSHIP = 1 << 2,     /* a node forwards it to the hub (PROTOCOL 7.3) */
    OP_NODE_READ  = 1 << 3      /* a node answers it from its replica */
};

/* The context of one call. The handler packs its result (exactly one msgpack
   object) with pk, or returns -1 with err set and packs nothing. */
typedef struct {
    store_txn_t *txn;           /* write txn for OP_WRITE, else read txn */
    const dt_key_t *key;        /* acting key; never NULL (insecure = hq-admin) */
    const dt_key_t *via;        /* node key that forwarded the request for key, or
                                   NULL: the request must be within both scopes */
    msgpack_packer *pk;         /* result */
    dt_err_t *err;
    int64_t now;                /* ms since epoch, fixed for the call */
    void *server;               /* hub_t or node_t, for ops that need runtime state */
    void *peer;                 /* the server's connection the request came on */
    const char *node;           /* this server's node id, or NULL at the hub: content
                                   authority, and a node's content goes up (uplink) */
} op_ctx_t;

typedef int (op_fn) (op_ctx_t *ctx, const msgpack_object *args);

typedef struct {
    const char *name;           /* "hall.merge" */
    const char *args;           /* proto_args_check spec: "id into" */
    op_fn *handler;
    int flags;
} op_t;

/* The membership writes (PROTOCOL.md 6.5, 6.6): the hub runs them, a node
   forwards them. One list, so that both agree on names and argument specs:
   X (name, args, handler) for each; the handler is only named, never used,
   by code that does not define it. */
#define OP_MEMBERSHIP_WRITES(X) \
    X ("member.add",      "id name referrer? tags?", s_member_add) \
    X ("member.join",     "id hall? branch?",        s_member_join) \
    X ("member.leave",    "id",                      s_member_leave) \
    X ("member.transfer", "id hall? branch?",        s_member_transfer) \
    X ("member.promote",  "id",                      s_member_promote) \
    X ("member.demote",   "id hall",                 s_member_demote) \
    X ("member.role",     "id role",                 s_member_role) \
    X ("import.members",  "rows",                    s_import_members)

/* Find an op by name in a NULL-name-terminated table; NULL if none. */
const op_t *op_find (const op_t *table, const char *name);

/* Check the args against the spec and the key's role (OP_HQ), then run the
   handler. Returns 0 or -1 with ctx->err set. */
int op_call (const op_t *op, op_ctx_t *ctx, const msgpack_object *args);

/* Scopes (PROTOCOL.md section 3). True if the key (and the node key it came
   through, if any) may act on branch. */
bool op_covers (op_ctx_t *ctx, const char *branch);
/* 0, or -1 with DENIED saying what the key may do. */
int op_allow (op_ctx_t *ctx, const char *branch);
/* 0 for hq-admin keys (not forwarded by a node), else -1 with DENIED. */
int op_allow_hq (op_ctx_t *ctx, const char *what);
/* A key that is hq-admin, for insecure mode and tests. */
const dt_key_t *op_admin_key (void);

/* Arguments in a text form, for tests and the demo: space separated
     key=string   key:=123 | key:=true | key:=false   key=[a,b,c]   key={k=v,k2:=7}
   Strings may not contain spaces, commas or brackets. Packs a map into out.
   Returns 0, or -1 if the text is not of that form. */
int op_args_text (const char *text, msgpack_sbuffer *out);

/* Run one op against a store the way the hub does (write ops in a logged,
   audited transaction that commits only on success). For self-tests. The
   result, when not NULL, receives the packed result. Returns 0 or -1 with err. */
int op_run (store_t *store, const op_t *table, const dt_key_t *key, const char *name,
            const char *args_text, msgpack_sbuffer *result, dt_err_t *err);
/* As op_run, and assert the outcome: code NULL = success, else that error code. */
void op_expect (store_t *store, const op_t *table, const char *name, const char *args_text,
                const char *code);

void op_test (bool verbose);

#endif

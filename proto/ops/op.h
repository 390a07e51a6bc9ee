/* op.h -- operations: handlers bound to catalogue names, the call context,
   key scopes and a text form of arguments for tests. Shared by hub and node. */
#ifndef OP_H_INCLUDED
#define OP_H_INCLUDED

#include "tree.h"
#include "proto.h"
#include "catalogue.h"

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

/* A binding: the handler a server attaches to a catalogue operation. What
   the operation takes, who may call it and what it may answer is the
   catalogue's (catalogue.h), never repeated here. */
typedef struct {
    const char *name;           /* "hall.merge", a catalogue name */
    op_fn *handler;
} op_t;

/* Find an op by name in a NULL-name-terminated table; NULL if none. */
const op_t *op_find (const op_t *table, const char *name);
/* Find an op in the first of a NULL-terminated list of tables that binds it. */
const op_t *op_bind (const op_t *const *tables, const char *name);

/* Check a server's bindings against the catalogue: every operation the
   server answers (server = OP_HUB or OP_NODE, catalogue_route SERVE) has a
   handler, no operation has two, and every handler names a catalogue
   operation. 0, or -1 with err naming the first problem. */
int op_bindings_check (const op_t *const *tables, int server, dt_err_t *err);

/* Check the args against the catalogue's spec and the key's role (OP_HQ),
   then run the handler. Returns 0 or -1 with ctx->err set (UNKNOWN_OP if
   op is not a catalogue operation). */
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

/* The hello of hub and node (PROTOCOL.md 6.1): refuse with VERSION when the
   client's `versions` lists none this server speaks, else pack a map of
   6 + extra keys, the first six { version, server, role, key, node (NULL or
   "" = nil), branches (a list of ids) }; the caller packs its extra keys
   after them. 0 or -1 with ctx->err. */
int op_hello (op_ctx_t *ctx, const msgpack_object *args, const char *server,
              const char *node, zlistx_t *branches, uint32_t extra);

/* Arguments in a text form, for tests and the demo: space separated
     key=string   key:=123 | key:=true | key:=false   key=[a,b,c]   key={k=v,k2:=7}
   Strings may not contain spaces, commas or brackets. Packs a map into out.
   Returns 0, or -1 if the text is not of that form. */
int op_args_text (const char *text, msgpack_sbuffer *out);

/* Run one op against a store the way the hub does (write ops in a logged,
   audited transaction that commits only on success). For self-tests: a
   successful write must leave the tree's invariants true (check.h), or this
   asserts; so does a failure whose code the catalogue does not list for the
   op. The result, when not NULL, receives the packed result. Returns 0 or -1
   with err. */
int op_run (store_t *store, const op_t *table, const dt_key_t *key, const char *name,
            const char *args_text, msgpack_sbuffer *result, dt_err_t *err);
/* As op_run, with the arguments packed (a map: args.h builds one), for what
   the text form cannot say (maps in arrays, thousands of rows). */
int op_run_packed (store_t *store, const op_t *table, const dt_key_t *key, const char *name,
                   const msgpack_sbuffer *args, msgpack_sbuffer *result, dt_err_t *err);
/* As op_run, and assert the outcome: code NULL = success, else that error code. */
void op_expect (store_t *store, const op_t *table, const char *name, const char *args_text,
                const char *code);
/* Run an op as key (NULL = hq-admin) and assert that it fails with code and
   a message containing text (the self-tests' check of a refusal's words). */
void op_refused (store_t *store, const op_t *table, const dt_key_t *key, const char *name,
                 const char *args_text, const char *code, const char *text);

void op_test (bool verbose);

#endif

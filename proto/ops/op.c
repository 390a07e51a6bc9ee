/* op.c -- handlers bound to catalogue operations, key scopes, and the text form
   of arguments. */
#include "op.h"
#include "args.h"
#include "check.h"
#include "scratch.h"

const op_t *
op_find (const op_t *table, const char *name)
{
    for (const op_t *op = table; op->name; op++)
        if (streq (op->name, name))
            return op;
    return NULL;
}

const op_t *
op_bind (const op_t *const *tables, const char *name)
{
    const op_t *op = NULL;
    for (const op_t *const *table = tables; *table && !op; table++)
        op = op_find (*table, name);
    return op;
}

int
op_bindings_check (const op_t *const *tables, int server, dt_err_t *err)
{
    for (const op_t *const *table = tables; *table; table++)
        for (const op_t *op = *table; op->name; op++) {
            if (!catalogue_find (op->name))
                return dt_err_set (err, "UNKNOWN_OP", "a handler is bound to %s, which is "
                                   "not in the catalogue", op->name);
            if (op_bind (tables, op->name) != op)
                return dt_err_set (err, "EXISTS", "%s is bound twice", op->name);
        }
    for (const catalogue_op_t *info = catalogue_ops; info->name; info++)
        if (catalogue_route (info, server) == CATALOGUE_SERVE && !op_bind (tables, info->name))
            return dt_err_set (err, "NOT_FOUND", "%s is served by the %s but has no handler",
                               info->name, server == OP_HUB? "hub": "node");
    return 0;
}

int
op_call (const op_t *op, op_ctx_t *ctx, const msgpack_object *args)
{
    assert (op && ctx && ctx->key && ctx->txn && ctx->pk && ctx->err);
    const catalogue_op_t *info = catalogue_find (op->name);
    if (!info)
        return dt_err_set (ctx->err, "UNKNOWN_OP", "unknown operation %s", op->name);
    if ((info->flags & OP_HQ) && op_allow_hq (ctx, op->name))
        return -1;
    if (catalogue_args_check (info, args, ctx->err))
        return -1;
    return op->handler (ctx, args);
}

//  Scopes

const dt_key_t *
op_admin_key (void)
{
    static const dt_key_t admin = { .name = "admin", .role = KEY_HQ_ADMIN };
    return &admin;
}

static bool
s_key_covers (op_ctx_t *ctx, const dt_key_t *key, const char *branch)
{
    if (key->role == KEY_HQ_ADMIN)
        return true;
    if (key->role == KEY_LEADER) {
        for (uint32_t i = 0; i < key->nbranches; i++)
            if (streq (key->branches [i], branch))
                return true;
        return false;
    }
    branch_t record;
    dt_err_t err;
    dt_err_init (&err);
    return tree_branch_get (ctx->txn, branch, &record, &err) == 0
        && *record.node && streq (record.node, key->node);
}

bool
op_covers (op_ctx_t *ctx, const char *branch)
{
    return s_key_covers (ctx, ctx->key, branch)
       && (!ctx->via || s_key_covers (ctx, ctx->via, branch));
}

/* Say what the key may do, for DENIED messages. */
static void
s_scope_text (const dt_key_t *key, char *out, size_t size)
{
    if (key->role == KEY_NODE) {
        snprintf (out, size, "node key %s may act only on branches assigned to node %s",
                  key->name, key->node);
        return;
    }
    size_t at = snprintf (out, size, "leader key %s may act only on branch%s", key->name,
                          key->nbranches == 1? "": "es");
    for (uint32_t i = 0; i < key->nbranches && at < size; i++)
        at += snprintf (out + at, size - at, "%s %s", i? ",": "", key->branches [i]);
    if (key->nbranches == 0 && at < size)
        snprintf (out + at, size - at, " (none)");
}

int
op_allow (op_ctx_t *ctx, const char *branch)
{
    if (op_covers (ctx, branch))
        return 0;
    //  Name the key whose scope refused
    const dt_key_t *refused = s_key_covers (ctx, ctx->key, branch)? ctx->via: ctx->key;
    char scope [DT_ERR_MSG_MAX - 64];
    s_scope_text (refused, scope, sizeof (scope));
    return dt_err_set (ctx->err, "DENIED", "branch %s is out of scope: %s", branch, scope);
}

int
op_allow_hq (op_ctx_t *ctx, const char *what)
{
    const dt_key_t *refused = ctx->key->role != KEY_HQ_ADMIN? ctx->key: ctx->via;
    if (!refused || refused->role == KEY_HQ_ADMIN)
        return 0;
    char scope [DT_ERR_MSG_MAX - 64];
    s_scope_text (refused, scope, sizeof (scope));
    return dt_err_set (ctx->err, "DENIED", "%s needs an hq-admin key; %s", what, scope);
}

//  Session

int
op_hello (op_ctx_t *ctx, const msgpack_object *args, const char *server, const char *node,
          zlistx_t *branches, uint32_t extra)
{
    const msgpack_object *versions = NULL;
    if (proto_arg_array (args, "versions", false, &versions, ctx->err) < 0)
        return -1;
    bool spoken = !versions;
    for (uint32_t i = 0; versions && i < versions->via.array.size; i++) {
        const msgpack_object *version = &versions->via.array.ptr [i];
        if (version->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return dt_err_set (ctx->err, "BAD_ARGS", "\"versions\" must list unsigned "
                               "integers");
        spoken |= version->via.u64 == DT_PROTO_VERSION;
    }
    if (!spoken)
        return dt_err_set (ctx->err, "VERSION", "none of the versions asked for is "
                           "supported; supported: %d", DT_PROTO_VERSION);
    msgpack_packer *pk = ctx->pk;
    msgpack_pack_map (pk, 6 + extra);
    proto_pack_key (pk, "version");
    msgpack_pack_uint32 (pk, DT_PROTO_VERSION);
    proto_pack_key (pk, "server");
    proto_pack_str (pk, server);
    proto_pack_key (pk, "role");
    proto_pack_str (pk, record_key_role_name (ctx->key->role));
    proto_pack_key (pk, "key");
    proto_pack_str (pk, ctx->key->name);
    proto_pack_key (pk, "node");
    proto_pack_str_or_nil (pk, node);
    proto_pack_key (pk, "branches");
    msgpack_pack_array (pk, zlistx_size (branches));
    for (const char *id = zlistx_first (branches); id; id = zlistx_next (branches))
        proto_pack_str (pk, id);
    return 0;
}

//  The text form of arguments

/* Pack a literal after ":=": an unsigned, a negative integer or a bool. */
static int
s_pack_literal (msgpack_packer *pk, const char *text, size_t len)
{
    if (len == 4 && memcmp (text, "true", 4) == 0)
        return msgpack_pack_true (pk), 0;
    if (len == 5 && memcmp (text, "false", 5) == 0)
        return msgpack_pack_false (pk), 0;
    char number [32];
    if (len == 0 || len >= sizeof (number))
        return -1;
    memcpy (number, text, len);
    number [len] = 0;
    char *end;
    if (number [0] == '-') {
        long long value = strtoll (number, &end, 10);
        if (*end)
            return -1;
        return msgpack_pack_int64 (pk, value), 0;
    }
    unsigned long long value = strtoull (number, &end, 10);
    if (*end)
        return -1;
    return msgpack_pack_uint64 (pk, value), 0;
}

/* Pack one value: "[a,b]" array of strings (as args_list splits them),
   "{k=v,k:=7,...}" map of strings (or of literals, after ":="), else a
   string. Not args_tags for maps: the text form keeps a repeated key (tests
   send one to see it refused) and takes literals. */
static int
s_pack_value (msgpack_packer *pk, const char *text, size_t len)
{
    char open = len? text [0]: 0;
    if ((open == '[' && text [len - 1] == ']') || (open == '{' && text [len - 1] == '}')) {
        char inner [1024];
        if (len - 2 >= sizeof (inner))
            return -1;
        memcpy (inner, text + 1, len - 2);
        inner [len - 2] = 0;
        if (open == '[') {
            args_pack_list (pk, (const char *[]) { inner }, 1);
            return 0;
        }
        char *items [256];
        int count = 0;
        for (char *save = NULL, *item = strtok_r (inner, ",", &save); item && count < 256;
             item = strtok_r (NULL, ",", &save))
            items [count++] = item;
        msgpack_pack_map (pk, count);
        for (int i = 0; i < count; i++) {
            char *eq = strchr (items [i], '=');
            if (!eq)
                return -1;
            bool literal = eq > items [i] && eq [-1] == ':';
            *eq = 0;
            if (literal)
                eq [-1] = 0;
            proto_pack_str (pk, items [i]);
            if (!literal)
                proto_pack_str (pk, eq + 1);
            else
            if (s_pack_literal (pk, eq + 1, strlen (eq + 1)))
                return -1;
        }
        return 0;
    }
    msgpack_pack_str (pk, len);
    msgpack_pack_str_body (pk, text, len);
    return 0;
}

/* One "key=value" or "key:=literal" token into args. */
static int
s_pack_token (args_t *args, const char *token, size_t len)
{
    const char *eq = memchr (token, '=', len);
    if (!eq || eq == token)
        return -1;
    bool literal = eq [-1] == ':';
    msgpack_packer *pk = args_key_len (args, token, eq - token - literal);
    const char *value = eq + 1;
    size_t value_len = len - (value - token);
    return (literal? s_pack_literal: s_pack_value) (pk, value, value_len);
}

int
op_args_text (const char *text, msgpack_sbuffer *out)
{
    args_t args;
    args_init (&args);
    int rc = 0;
    for (const char *p = text; *p && rc == 0; ) {
        while (*p == ' ')
            p++;
        size_t len = strcspn (p, " ");
        if (len)
            rc = s_pack_token (&args, p, len);
        p += len;
    }
    if (rc == 0)
        args_finish (&args, out);
    args_destroy (&args);
    return rc;
}

//  Running an op the way the hub does, for self-tests

int
op_run (store_t *store, const op_t *table, const dt_key_t *key, const char *name,
        const char *args_text, msgpack_sbuffer *result, dt_err_t *err)
{
    msgpack_sbuffer args;
    msgpack_sbuffer_init (&args);
    int rc = op_args_text (args_text? args_text: "", &args)
           ? dt_err_set (err, "BAD_ARGS", "bad argument text: %s", args_text)
           : op_run_packed (store, table, key, name, &args, result, err);
    msgpack_sbuffer_destroy (&args);
    return rc;
}

int
op_run_packed (store_t *store, const op_t *table, const dt_key_t *key, const char *name,
               const msgpack_sbuffer *args, msgpack_sbuffer *result, dt_err_t *err)
{
    const op_t *op = op_find (table, name);
    const catalogue_op_t *info = catalogue_find (name);
    if (!op || !info)
        return dt_err_set (err, "UNKNOWN_OP", "unknown operation %s", name);
    bool write = (info->flags & OP_WRITE) != 0;
    msgpack_sbuffer scratch;
    msgpack_sbuffer_init (&scratch);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    int rc = -1;
    if (msgpack_unpack_next (&unpacked, args->data, args->size, NULL) != MSGPACK_UNPACK_SUCCESS
    ||  unpacked.data.type != MSGPACK_OBJECT_MAP) {
        dt_err_set (err, "BAD_ARGS", "the arguments of %s are not a map", name);
        goto done;
    }
    store_txn_t txn;
    if (store_begin (store, &txn, NULL, write, err))
        goto done;
    txn.log = write;
    if (write)
        store_audit_open (&txn, args->data, args->size);
    msgpack_packer pk;
    msgpack_packer_init (&pk, result? result: &scratch, msgpack_sbuffer_write);
    op_ctx_t ctx = { .txn = &txn, .key = key? key: op_admin_key (), .pk = &pk,
                     .err = err, .now = dt_now_ms () };
    rc = op_call (op, &ctx, unpacked.data.via.map.size? &unpacked.data: NULL);
    //  Every write a self-test makes leaves the tree's invariants true
    if (rc == 0 && write)
        check_assert_txn (&txn);
    if (rc == 0 && write)
        rc = store_audit_append (&txn, ctx.key->name, name, args->data, args->size, err);
    if (rc == 0 && write)
        rc = store_commit (&txn, err);
    else
        store_abort (&txn);
    //  What a handler answers is what PROTOCOL.md says it may: the catalogue
    //  lists every code a self-test sees
    if (rc && !catalogue_may_fail (info, err->code)) {
        fprintf (stderr, "\n%s failed with %s (%s), which the catalogue does not list "
                 "for it\n", name, err->code, err->message);
        assert (!"an error code the catalogue does not list");
    }
done:
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&scratch);
    return rc;
}

void
op_expect (store_t *store, const op_t *table, const char *name, const char *args_text,
           const char *code)
{
    dt_err_t err;
    dt_err_init (&err);
    int rc = op_run (store, table, NULL, name, args_text, NULL, &err);
    bool as_expected = code? rc == -1 && streq (err.code, code): rc == 0;
    if (!as_expected)
        fprintf (stderr, "\n%s %s: expected %s, got %s: %s\n", name, args_text,
                 code? code: "success", rc? err.code: "success", err.message);
    dt_err_reset (&err);
    assert (as_expected);
}

void
op_refused (store_t *store, const op_t *table, const dt_key_t *key, const char *name,
            const char *args_text, const char *code, const char *text)
{
    dt_err_t err;
    dt_err_init (&err);
    int rc = op_run (store, table, key, name, args_text, NULL, &err);
    bool as_expected = rc == -1 && streq (err.code, code) && strstr (err.message, text);
    if (!as_expected)
        fprintf (stderr, "\n%s %s: expected %s \"%s\", got %s: %s\n", name, args_text, code,
                 text, rc? err.code: "success", err.message);
    dt_err_reset (&err);
    assert (as_expected);
}

//  Self-test

static int
s_echo (op_ctx_t *ctx, const msgpack_object *args)
{
    char id [DT_ID_MAX + 1];
    if (proto_arg_id (args, "id", true, id, ctx->err) < 0 || op_allow (ctx, id))
        return -1;
    proto_pack_str (ctx->pk, id);
    return 0;
}

/* Catalogue names bound to test handlers: branch.show takes "id", officer.add
   is hq-only. */
static const op_t s_test_ops [] = {
    { "branch.show", s_echo },
    { "officer.add", s_echo },
    { NULL, NULL }
};
static const op_t s_test_more [] = {
    { "branch.show", s_echo },
    { "no.such", s_echo },
    { NULL, NULL }
};

void
op_test (bool verbose)
{
    (void) verbose;
    store_t *store = scratch_new ("op-test", 16);
    dt_err_t err;
    dt_err_init (&err);

    //  Text arguments of every form
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    assert (op_args_text ("id=b-1 tags={k=v,x=y} list=[a,b] n:=7", &out) == 0);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, out.data, out.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    assert (unpacked.data.type == MSGPACK_OBJECT_MAP && unpacked.data.via.map.size == 4);
    assert (proto_map_get (&unpacked.data, "n")->via.u64 == 7);
    assert (proto_map_get (&unpacked.data, "list")->via.array.size == 2);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_clear (&out);
    assert (op_args_text ("novalue", &out) == -1);
    //  Literals in a map
    msgpack_sbuffer_clear (&out);
    assert (op_args_text ("changes={hall_cap:=2,timezone=UTC}", &out) == 0);
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, out.data, out.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *changes = proto_map_get (&unpacked.data, "changes");
    assert (changes && changes->type == MSGPACK_OBJECT_MAP && changes->via.map.size == 2);
    assert (proto_map_get (changes, "hall_cap")->via.u64 == 2);
    assert (proto_map_get (changes, "timezone")->type == MSGPACK_OBJECT_STR);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_clear (&out);
    assert (op_args_text ("changes={hall_cap:=lots}", &out) == -1);
    msgpack_sbuffer_clear (&out);

    //  Dispatch, argument checks and scopes
    op_expect (store, s_test_ops, "branch.show", "id=b-1", NULL);
    op_expect (store, s_test_ops, "branch.show", "id=b-1 bogus=1", "BAD_ARGS");
    op_expect (store, s_test_ops, "nope", "", "UNKNOWN_OP");
    dt_key_t leader = { .name = "lk", .role = KEY_LEADER, .branches = { "b-1" }, .nbranches = 1 };
    assert (op_run (store, s_test_ops, &leader, "branch.show", "id=b-1", &out, &err) == 0);
    assert (op_run (store, s_test_ops, &leader, "branch.show", "id=b-2", &out, &err) == -1);
    assert (streq (err.code, "DENIED") && strstr (err.message, "only on branch b-1"));
    assert (op_run (store, s_test_ops, &leader, "officer.add", "id=b-1", &out, &err) == -1);
    assert (streq (err.code, "DENIED"));
    dt_key_t node = { .name = "nk", .role = KEY_NODE, .node = "n1" };
    assert (op_run (store, s_test_ops, &node, "branch.show", "id=b-1", &out, &err) == -1);
    assert (strstr (err.message, "node n1"));

    //  hello: the versions asked for must include ours
    store_txn_t hello_txn;
    assert (store_begin (store, &hello_txn, NULL, false, &err) == 0);
    msgpack_sbuffer_clear (&out);
    msgpack_packer hello_pk;
    msgpack_packer_init (&hello_pk, &out, msgpack_sbuffer_write);
    op_ctx_t hello = { .txn = &hello_txn, .key = op_admin_key (), .pk = &hello_pk, .err = &err };
    zlistx_t *none = zlistx_new ();
    //  { versions: [2, 3] } none spoken here, [2, 1] fine, ["1"] not a version, none given fine
    for (int ask_case = 0; ask_case < 4; ask_case++) {
        msgpack_sbuffer ask;
        msgpack_sbuffer_init (&ask);
        msgpack_packer ask_pk;
        msgpack_packer_init (&ask_pk, &ask, msgpack_sbuffer_write);
        msgpack_pack_map (&ask_pk, ask_case < 3? 1: 0);
        if (ask_case < 3) {
            proto_pack_key (&ask_pk, "versions");
            msgpack_pack_array (&ask_pk, ask_case < 2? 2: 1);
            if (ask_case < 2) {
                msgpack_pack_uint32 (&ask_pk, 2);
                msgpack_pack_uint32 (&ask_pk, ask_case == 0? 3: 1);
            }
            else
                proto_pack_str (&ask_pk, "1");
        }
        msgpack_unpacked_init (&unpacked);
        assert (msgpack_unpack_next (&unpacked, ask.data, ask.size, NULL) == MSGPACK_UNPACK_SUCCESS);
        int rc = op_hello (&hello, ask_case < 3? &unpacked.data: NULL, "test", NULL, none, 0);
        if (ask_case == 0)
            assert (rc == -1 && streq (err.code, "VERSION") && strstr (err.message, "supported: 1"));
        if (ask_case == 2)
            assert (rc == -1 && streq (err.code, "BAD_ARGS"));
        if (ask_case == 1 || ask_case == 3)
            assert (rc == 0);
        msgpack_unpacked_destroy (&unpacked);
        msgpack_sbuffer_destroy (&ask);
    }
    zlistx_destroy (&none);
    store_abort (&hello_txn);
    msgpack_sbuffer_clear (&out);

    //  Bindings against the catalogue: a missing handler, a double one, an
    //  unknown name are each found
    const op_t *const few [] = { s_test_ops, NULL };
    assert (op_bindings_check (few, OP_HUB, &err) == -1 && streq (err.code, "NOT_FOUND"));
    const op_t *const twice [] = { s_test_ops, s_test_more, NULL };
    assert (op_bindings_check (twice, OP_HUB, &err) == -1 && streq (err.code, "EXISTS"));
    const op_t *const unknown [] = { s_test_more, NULL };
    assert (op_bindings_check (unknown, OP_HUB, &err) == -1 && strstr (err.message, "no.such"));
    assert (op_bind (few, "officer.add") == &s_test_ops [1] && !op_bind (few, "tree"));

    //  A request a node forwards for a key is held to both scopes
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    branch_t b1 = { .id = "b-1", .name = "b-1", .leader = "o-1", .node = "n1" };
    branch_t b2 = { .id = "b-2", .name = "b-2", .leader = "o-1", .node = "n2" };
    assert (tree_branch_put (&txn, &b1, &err) == 0 && tree_branch_put (&txn, &b2, &err) == 0);
    op_ctx_t ctx = { .txn = &txn, .key = op_admin_key (), .via = &node, .err = &err };
    assert (op_covers (&ctx, "b-1") && !op_covers (&ctx, "b-2"));
    assert (op_allow (&ctx, "b-2") == -1 && strstr (err.message, "node n1"));
    assert (op_allow_hq (&ctx, "key.list") == -1 && streq (err.code, "DENIED"));
    leader.branches [0][2] = '2';
    ctx.key = &leader;
    assert (!op_covers (&ctx, "b-1") && !op_covers (&ctx, "b-2"));
    assert (op_allow (&ctx, "b-1") == -1 && strstr (err.message, "leader key lk"));
    assert (op_allow (&ctx, "b-2") == -1 && strstr (err.message, "node n1"));
    ctx.via = NULL;
    assert (op_allow (&ctx, "b-2") == 0);
    store_abort (&txn);

    msgpack_sbuffer_destroy (&out);
    dt_err_reset (&err);
    scratch_destroy (&store);
}

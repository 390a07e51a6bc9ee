/* op.c -- dispatch of operations, key scopes, and the text form of arguments. */
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

int
op_call (const op_t *op, op_ctx_t *ctx, const msgpack_object *args)
{
    assert (op && ctx && ctx->key && ctx->txn && ctx->pk && ctx->err);
    if ((op->flags & OP_HQ) && op_allow_hq (ctx, op->name))
        return -1;
    if (proto_args_check (args, op->args, ctx->err))
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
    if (!op)
        return dt_err_set (err, "UNKNOWN_OP", "unknown operation %s", name);
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
    if (store_begin (store, &txn, NULL, op->flags & OP_WRITE, err))
        goto done;
    txn.log = txn.audit = (op->flags & OP_WRITE) != 0;
    msgpack_packer pk;
    msgpack_packer_init (&pk, result? result: &scratch, msgpack_sbuffer_write);
    op_ctx_t ctx = { .txn = &txn, .key = key? key: op_admin_key (), .pk = &pk,
                     .err = err, .now = dt_now_ms () };
    rc = op_call (op, &ctx, unpacked.data.via.map.size? &unpacked.data: NULL);
    //  Every write a self-test makes leaves the tree's invariants true
    if (rc == 0 && (op->flags & OP_WRITE))
        check_assert_txn (&txn);
    if (rc == 0 && (op->flags & OP_WRITE))
        rc = store_audit_append (&txn, ctx.key->name, name, args->data, args->size, err);
    if (rc == 0 && (op->flags & OP_WRITE))
        rc = store_commit (&txn, err);
    else
        store_abort (&txn);
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

static const op_t s_test_ops [] = {
    { "echo",   "id tags? list? n?", s_echo, OP_READ },
    { "hqonly", "id", s_echo, OP_HQ },
    { NULL, NULL, NULL, 0 }
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
    op_expect (store, s_test_ops, "echo", "id=b-1", NULL);
    op_expect (store, s_test_ops, "echo", "id=b-1 bogus=1", "BAD_ARGS");
    op_expect (store, s_test_ops, "nope", "", "UNKNOWN_OP");
    dt_key_t leader = { .name = "lk", .role = KEY_LEADER, .branches = { "b-1" }, .nbranches = 1 };
    assert (op_run (store, s_test_ops, &leader, "echo", "id=b-1", &out, &err) == 0);
    assert (op_run (store, s_test_ops, &leader, "echo", "id=b-2", &out, &err) == -1);
    assert (streq (err.code, "DENIED") && strstr (err.message, "only on branch b-1"));
    assert (op_run (store, s_test_ops, &leader, "hqonly", "id=b-1", &out, &err) == -1);
    assert (streq (err.code, "DENIED"));
    dt_key_t node = { .name = "nk", .role = KEY_NODE, .node = "n1" };
    assert (op_run (store, s_test_ops, &node, "echo", "id=b-1", &out, &err) == -1);
    assert (strstr (err.message, "node n1"));

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

/* hub_policy.c -- policy.set: the organisation's policy, changed at the hub
   only and replicated to every node (policy.show is a query: proto/query.c). */
#include "hub_ops.h"
#include "cadence.h"
#include "policy.h"
#include "query.h"
#include "rules.h"
#include "scratch.h"

/* POLICY SET changes
   A lower default cap must not leave a group without a cap of its own over
   it (rules_default_caps). */
static int
s_policy_set (op_ctx_t *ctx, const msgpack_object *args)
{
    policy_t old, policy;
    if (policy_get (ctx->txn, &old, ctx->err))
        return -1;
    policy = old;
    if (policy_set (&policy, proto_map_get (args, "changes"), ctx->err)
    ||  rules_default_caps (ctx->txn, &old, &policy, ctx->err))
        return -1;
    policy.version = old.version + 1;
    //  What ended under the old policy is judged by it, once and for all
    if (cadence_close_all (ctx->txn, &old, ctx->now, ctx->err)
    ||  policy_put (ctx->txn, &policy, ctx->err))
        return -1;
    policy_pack (&policy, ctx->pk);
    return 0;
}

const op_t hub_policy_ops [] = {
    { "policy.set", s_policy_set },
    { NULL, NULL }
};

//  Self-test

typedef struct {
    store_t *store;
    msgpack_sbuffer result;
    msgpack_unpacked unpacked;
    dt_err_t err;
} s_test_t;

/* Run an op of table; its result map, or NULL with the error in self->err. */
static const msgpack_object *
s_test_run (s_test_t *self, const op_t *table, const dt_key_t *key, const char *op,
            const char *args)
{
    msgpack_sbuffer_clear (&self->result);
    msgpack_unpacked_destroy (&self->unpacked);
    msgpack_unpacked_init (&self->unpacked);
    dt_err_reset (&self->err);
    if (op_run (self->store, table, key, op, args, &self->result, &self->err))
        return NULL;
    assert (msgpack_unpack_next (&self->unpacked, self->result.data, self->result.size, NULL)
            == MSGPACK_UNPACK_SUCCESS);
    return &self->unpacked.data;
}

/* Expect a refusal with code and a message holding `message`. */
static void
s_test_refused (s_test_t *self, const op_t *table, const char *op, const char *args,
                const char *code, const char *message)
{
    op_refused (self->store, table, NULL, op, args, code, message);
}

static uint64_t
s_test_uint (const msgpack_object *map, const char *key)
{
    const msgpack_object *value = proto_map_get (map, key);
    assert (value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
    return value->via.u64;
}

/* The policy as policy.show gives it. */
static const msgpack_object *
s_test_show (s_test_t *self)
{
    const msgpack_object *policy = s_test_run (self, query_ops, NULL, "policy.show", "");
    assert (policy && policy->type == MSGPACK_OBJECT_MAP);
    return policy;
}

/* b-1 with lead in a core seat; hall h-1 (default cap) with m-1, m-2; hall
   h-2 with a cap of its own (5) and nobody. */
static void
s_test_tree (store_t *store)
{
    op_expect (store, hub_org_ops, "officer.add", "id=o-1 name=张三", NULL);
    op_expect (store, hub_org_ops, "branch.create", "id=b-1 name=成都分舵 leader=o-1", NULL);
    const char *members [] = { "lead", "m-1", "m-2", "m-3", "m-4" };
    for (size_t i = 0; i < sizeof (members) / sizeof (members [0]); i++) {
        char args [64];
        snprintf (args, sizeof (args), "id=%s name=粉丝", members [i]);
        op_expect (store, hub_member_ops, "member.add", args, NULL);
    }
    op_expect (store, hub_member_ops, "member.join", "id=lead branch=b-1", NULL);
    op_expect (store, hub_org_ops, "hall.create",
               "id=h-1 name=青羊堂口 branch=b-1 leader=lead", NULL);
    op_expect (store, hub_org_ops, "hall.create",
               "id=h-2 name=锦江堂口 branch=b-1 leader=lead cap:=5", NULL);
    op_expect (store, hub_member_ops, "member.join", "id=m-1 hall=h-1", NULL);
    op_expect (store, hub_member_ops, "member.join", "id=m-2 hall=h-1", NULL);
}

static void
s_test_caps (s_test_t *self)
{
    //  A lower default cap takes effect for a hall without a cap of its own
    const msgpack_object *policy = s_test_run (self, hub_policy_ops, NULL, "policy.set",
                                               "changes={hall_cap:=2}");
    assert (policy && s_test_uint (policy, "version") == 1);
    assert (s_test_uint (policy, "hall_cap") == 2 && s_test_uint (policy, "branch_cap") == 200);
    s_test_refused (self, hub_member_ops, "member.join", "id=m-3 hall=h-1", "FULL",
                    "hall h-1 is full: 2/2 seats");
    op_expect (self->store, hub_member_ops, "member.join", "id=m-3 hall=h-2", NULL);
    const msgpack_object *hall = s_test_run (self, query_ops, NULL, "hall.show", "id=h-1");
    assert (hall && s_test_uint (proto_map_get (hall, "hall"), "cap") == 2);

    //  Lowering it below a hall's seats is refused, naming the hall
    s_test_refused (self, hub_policy_ops, "policy.set", "changes={hall_cap:=1}", "FULL",
                    "hall h-1 has 2 seats, over the new default hall_cap 1 by 1");
    //  ... also alongside a change that alone would pass: nothing is applied
    s_test_refused (self, hub_policy_ops, "policy.set",
                    "changes={dormant_days:=3,hall_cap:=1}", "FULL", "hall h-1");
    policy = s_test_show (self);
    assert (s_test_uint (policy, "version") == 1 && s_test_uint (policy, "hall_cap") == 2);
    assert (s_test_uint (policy, "dormant_days") == 7);

    //  Branches alike: lead holds the one core seat of b-1
    policy = s_test_run (self, hub_policy_ops, NULL, "policy.set", "changes={branch_cap:=1}");
    assert (policy && s_test_uint (policy, "version") == 2);
    s_test_refused (self, hub_member_ops, "member.join", "id=m-4 branch=b-1", "FULL",
                    "branch b-1 is full: 1/1 core seats");
    //  A cap of its own wins over the default, and keeps the branch out of
    //  the check below
    op_expect (self->store, hub_org_ops, "branch.set_cap", "id=b-1 cap:=3", NULL);
    op_expect (self->store, hub_member_ops, "member.join", "id=m-4 branch=b-1", NULL);
    op_expect (self->store, hub_org_ops, "branch.create", "id=b-2 name=重庆分舵 leader=o-1",
               NULL);
    op_expect (self->store, hub_policy_ops, "policy.set", "changes={branch_cap:=5}", NULL);
    op_expect (self->store, hub_member_ops, "member.transfer", "id=m-3 branch=b-2", NULL);
    op_expect (self->store, hub_member_ops, "member.transfer", "id=m-4 branch=b-2", NULL);
    op_expect (self->store, hub_member_ops, "member.join", "id=m-1 branch=b-1", "LOCKED");
    s_test_refused (self, hub_policy_ops, "policy.set", "changes={branch_cap:=1}", "FULL",
                    "branch b-2 has 2 core seats, over the new default branch_cap 1 by 1");
    assert (s_test_uint (s_test_show (self), "version") == 3);
}

/* Bad changes and keys other than hq-admin change nothing. */
static void
s_test_refusals (s_test_t *self)
{
    s_test_refused (self, hub_policy_ops, "policy.set", "", "BAD_ARGS",
                    "missing argument \"changes\"");
    s_test_refused (self, hub_policy_ops, "policy.set", "changes=x", "BAD_ARGS",
                    "must be a map");
    s_test_refused (self, hub_policy_ops, "policy.set", "changes={bogus:=1}", "BAD_ARGS",
                    "unknown policy field \"bogus\"");
    s_test_refused (self, hub_policy_ops, "policy.set", "changes={hall_cap=3}", "BAD_ARGS",
                    "hall_cap");
    s_test_refused (self, hub_policy_ops, "policy.set", "changes={hall_cap:=3} more:=1",
                    "BAD_ARGS", "unknown argument \"more\"");
    dt_key_t leader = { .name = "lk", .role = KEY_LEADER, .branches = { "b-1" },
                        .nbranches = 1 };
    assert (s_test_run (self, hub_policy_ops, &leader, "policy.set", "changes={hall_cap:=9}")
            == NULL && streq (self->err.code, "DENIED"));
    assert (s_test_uint (s_test_show (self), "version") == 3);
    //  Any key may read the policy: it is the same for every branch
    const msgpack_object *policy = s_test_run (self, query_ops, &leader, "policy.show", "");
    assert (policy && s_test_uint (policy, "hall_cap") == 2);
}

/* A policy change is audited with the record before and after. */
static void
s_test_audit (s_test_t *self)
{
    op_expect (self->store, hub_policy_ops, "policy.set", "changes={branch_cap:=6}", NULL);
    const msgpack_object *result = s_test_run (self, query_ops, NULL, "audit.list", "limit:=1");
    assert (result);
    const msgpack_object *entries = proto_map_get (result, "entries");
    assert (entries && entries->type == MSGPACK_OBJECT_ARRAY && entries->via.array.size == 1);
    const msgpack_object *entry = &entries->via.array.ptr [0];
    char text [32];
    assert (proto_obj_str (proto_map_get (entry, "op"), text, sizeof (text) - 1)
            && streq (text, "policy.set"));
    const msgpack_object *changes = proto_map_get (entry, "changes");
    assert (changes && changes->type == MSGPACK_OBJECT_ARRAY && changes->via.array.size == 1);
    const msgpack_object *change = &changes->via.array.ptr [0];
    assert (proto_obj_str (proto_map_get (change, "table"), text, sizeof (text) - 1)
            && streq (text, "policy"));
    assert (s_test_uint (proto_map_get (change, "before"), "branch_cap") == 5);
    assert (s_test_uint (proto_map_get (change, "after"), "branch_cap") == 6);
    assert (s_test_uint (proto_map_get (change, "after"), "version") == 4);
}

void
hub_policy_test (bool verbose)
{
    (void) verbose;
    s_test_t self;
    dt_err_init (&self.err);
    msgpack_sbuffer_init (&self.result);
    msgpack_unpacked_init (&self.unpacked);
    self.store = scratch_new ("policy-hub-test", 64);
    s_test_tree (self.store);

    //  Before any change: the defaults, version 0
    const msgpack_object *policy = s_test_show (&self);
    assert (s_test_uint (policy, "version") == 0 && s_test_uint (policy, "hall_cap") == 30);
    s_test_caps (&self);
    s_test_refusals (&self);
    s_test_audit (&self);

    msgpack_unpacked_destroy (&self.unpacked);
    msgpack_sbuffer_destroy (&self.result);
    dt_err_reset (&self.err);
    scratch_destroy (&self.store);
}

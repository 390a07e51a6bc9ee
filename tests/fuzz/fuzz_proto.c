/* fuzz_proto.c -- libFuzzer harness: any body a peer can send goes through the
   decoder and, when it decodes, through dispatch and the op's handler on a
   sample store, in a transaction that is then thrown away. A write that
   succeeds must leave the tree's invariants true (check.h).
   Short run: make check. Long run: make fuzz FUZZ_SECONDS=3600. */
#include "op.h"
#include "check.h"
#include "scratch.h"
#include "query.h"
#include "hub_ops.h"
#include "stream.h"

static store_t *s_store;

/* A small tree the handlers can find things in. */
static void
s_setup (void)
{
    s_store = scratch_new ("fuzz", 256);
    static const char *setup [][2] = {
        { "officer.add", "id=o-1 name=张三" },
        { "node.add", "id=n1" },
        { "branch.create", "id=b-1 name=成都分舵 leader=o-1" },
        { "branch.create", "id=b-2 name=重庆分舵 leader=o-1 cap:=2" },
        { "member.add", "id=m-1 name=李四" },
        { "member.join", "id=m-1 branch=b-1" },
        { "hall.create", "id=h-1 name=青羊堂口 branch=b-1 leader=m-1 cap:=2" },
        { "member.add", "id=m-2 name=王五 referrer=m-1" },
        { "member.join", "id=m-2 hall=h-1" },
        { "policy.set", "changes={hall_cap:=3,dormant_days:=5}" },
        { "post.add", "id=p-1 group=b-1 kind=article title=酱酒 author=o-1 topics=[酱酒]" },
        { "question.ask", "id=q-1 member=m-2 text=怎么存酒" },
        { "event.schedule", "id=e-1 group=h-1 kind=tasting title=赛酒会 at:=5 place=成都 "
                            "author=m-1" },
    };
    for (size_t i = 0; i < sizeof (setup) / sizeof (setup [0]); i++)
        for (const op_t *const *table = hub_bindings; *table; table++)
            if (op_find (*table, setup [i][0]))
                op_expect (s_store, *table, setup [i][0], setup [i][1], NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_store)
        s_setup ();
    dt_err_t err;
    dt_err_init (&err);
    proto_reply_t reply;
    proto_reply_decode (&reply, data, size, &err);
    proto_reply_release (&reply);
    dt_err_reset (&err);
    //  What a node decodes of every body from the hub (stream.h)
    stream_push_t push;
    if (stream_push_decode (&push, data, size, &err) == 0) {
        stream_change_t change;
        size_t offset = 0;
        while (stream_entries_next (push.entries, push.entries_size, &offset, &change,
                                    &err) == 1)
            ;
    }
    dt_err_reset (&err);

    proto_req_t req;
    if (proto_req_decode (&req, data, size, &err) == 0) {
        //  Dispatch as the hub does: the catalogue, then the hub's handler
        const catalogue_op_t *info = catalogue_find (req.op);
        const op_t *op = catalogue_route (info, OP_HUB) == CATALOGUE_SERVE?
                         op_bind (hub_bindings, req.op): NULL;
        store_txn_t txn;
        if (op && store_begin (s_store, &txn, NULL, true, &err) == 0) {
            txn.log = txn.audit = true;
            msgpack_sbuffer result;
            msgpack_sbuffer_init (&result);
            msgpack_packer pk;
            msgpack_packer_init (&pk, &result, msgpack_sbuffer_write);
            op_ctx_t ctx = { .txn = &txn, .key = op_admin_key (), .pk = &pk, .err = &err,
                             .now = 1 };
            int rc = op_call (op, &ctx, req.args);
            //  A handler either fails with a code or packs exactly one object
            assert (rc == 0? result.size > 0: dt_err_is_set (&err));
            //  ... and its code is one PROTOCOL.md lists for the op (5.3, 6)
            if (rc && !catalogue_may_fail (info, err.code))
                fprintf (stderr, "%s failed with %s, not listed for it: %s\n", req.op,
                         err.code, err.message);
            assert (rc == 0 || catalogue_may_fail (info, err.code));
            if (rc == 0 && (info->flags & OP_WRITE))
                check_assert_txn (&txn);
            msgpack_sbuffer_destroy (&result);
            store_abort (&txn);
        }
    }
    proto_req_release (&req);
    dt_err_reset (&err);
    return 0;
}

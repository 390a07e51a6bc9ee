/* fuzz_proto.c -- libFuzzer harness: any body a peer can send goes through the
   decoder and, when it decodes, through dispatch and the op's handler on a
   sample store, in a transaction that is then thrown away. A write that
   succeeds must leave the tree's invariants true (check.h). The same bytes
   go through server framing (split into frames) and, as a push from the
   hub, through a node's apply path (repl.h) on a sample replica: changes
   applied, or a snapshot wiping and replacing it.
   Short run: make check. Long run: make fuzz FUZZ_SECONDS=3600. */
#include "op.h"
#include "check.h"
#include "scratch.h"
#include "query.h"
#include "hub_ops.h"
#include "stream.h"
#include "repl.h"
#include "server.h"

static store_t *s_store;
static store_t *s_replica;      /* node n1's replica of s_store */

static int
s_replicate (store_table_t table, const char *key, const void *val, size_t size, void *arg)
{
    dt_err_t err;
    dt_err_init (&err);
    int rc = repl_apply ((store_txn_t *) arg, "n1", store_table_name (table), key, val, size,
                         &err);
    dt_err_reset (&err);
    return rc;
}

/* Node n1's replica, made from a snapshot of the sample store as a node
   applies one. */
static void
s_setup_replica (void)
{
    s_replica = scratch_new ("fuzz-replica", 64);
    store_txn_t hub, node;
    dt_err_t err;
    dt_err_init (&err);
    assert (store_begin (s_store, &hub, NULL, false, &err) == 0);
    assert (store_begin (s_replica, &node, NULL, true, &err) == 0);
    assert (repl_snapshot (&hub, "n1", s_replicate, &node, &err) == 0);
    assert (store_commit (&node, &err) == 0);
    store_abort (&hub);
}

/* The bytes as a push from the hub, applied as node_sync does: a change's
   table this node does not know is passed over; a snapshot wipes first. */
static void
s_fuzz_apply (const uint8_t *data, size_t size)
{
    dt_err_t err;
    dt_err_init (&err);
    stream_push_t push;
    store_txn_t txn;
    if (stream_push_decode (&push, data, size, &err) == 0
    &&  (push.kind == STREAM_CHANGES || push.kind == STREAM_SNAPSHOT)
    &&  store_begin (s_replica, &txn, NULL, true, &err) == 0) {
        int rc = push.kind == STREAM_SNAPSHOT? repl_wipe (&txn, &err): 0;
        stream_change_t change;
        size_t offset = 0;
        while (rc == 0 && (rc = stream_entries_next (push.entries, push.entries_size, &offset,
                                                     &change, &err)) == 1)
            rc = repl_table (change.table)? repl_apply (&txn, "n1", change.table, change.key,
                                                        change.value, change.value_size,
                                                        &err): 0;
        //  A failure is a refusal with a code, never a half-applied crash
        assert (rc == 0 || dt_err_is_set (&err));
        store_abort (&txn);
    }
    dt_err_reset (&err);
}

/* The bytes as frames of a request at a server: the first byte says how
   many frames (0..4), the next ones where they split. */
static void
s_fuzz_framing (const uint8_t *data, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, "\x00\x6b\x8b\x45\x67", 5);     /* the peer's routing id */
    size_t frames = size? data [0] % 5: 0, at = size? 1: 0;
    for (size_t i = 0; i < frames && at <= size; i++) {
        size_t length = i + 1 < frames && at < size? data [at++] % 64: size - at;
        if (length > size - at)
            length = size - at;
        zmsg_addmem (msg, data + at, length);
        at += length;
    }
    zframe_t *peer = NULL;
    dt_err_t err;
    dt_err_init (&err);
    zframe_t *body = server_take_body (msg, &peer, &err);
    assert (peer);
    assert (body? !dt_err_is_set (&err): dt_err_is_set (&err));
    zframe_destroy (&body);
    zframe_destroy (&peer);
    zmsg_destroy (&msg);
    dt_err_reset (&err);
}

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
    if (!s_store) {
        s_setup ();
        s_setup_replica ();
    }
    s_fuzz_framing (data, size);
    s_fuzz_apply (data, size);
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

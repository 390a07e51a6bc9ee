/* hub_bindings.c -- the hub's handler tables, in one list, checked against the catalogue. */
#include "hub_ops.h"
#include "query.h"
#include "content.h"
#include "uplink.h"
#include "report.h"

const op_t *const hub_bindings [] = {
    hub_admin_ops, hub_org_ops, hub_member_ops, hub_policy_ops, query_ops, content_ops,
    uplink_ops, report_ops, NULL
};

//  Self-test

void
hub_bindings_test (bool verbose)
{
    (void) verbose;
    //  Every operation the catalogue says the hub serves has exactly one
    //  handler, and every handler names a catalogue operation
    dt_err_t err;
    dt_err_init (&err);
    int rc = op_bindings_check (hub_bindings, OP_HUB, &err);
    if (rc)
        fprintf (stderr, "\nhub bindings: %s\n", err.message);
    assert (rc == 0);
    //  What the hub does not serve it does not bind: a node's own operations
    for (const catalogue_op_t *op = catalogue_ops; op->name; op++)
        assert (!op_bind (hub_bindings, op->name) == !(op->flags & OP_HUB));
    dt_err_reset (&err);
}

/* hub_ops.h -- the handlers the hub binds to catalogue operations
   (catalogue.h): one { name, handler } table per module, and hub_bindings,
   the list of them that the hub dispatches through (hub.c). What each op
   takes, who may call it and which codes it returns is the catalogue's. */
#ifndef HUB_OPS_H_INCLUDED
#define HUB_OPS_H_INCLUDED

#include "op.h"

/* hub_org.c: officer, branch and hall restructuring */
extern const op_t hub_org_ops [];
/* hub_member.c: member writes and import.members */
extern const op_t hub_member_ops [];
/* hub_admin.c: hello, keys, nodes, sync.hello and sync.ack */
extern const op_t hub_admin_ops [];
/* hub_policy.c: policy.set */
extern const op_t hub_policy_ops [];

/* Every binding table of the hub, the reads of query.h included; NULL
   ended. A new hub module adds its table here. */
extern const op_t *const hub_bindings [];

#endif

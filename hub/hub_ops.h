/* hub_ops.h -- the hub's write operation tables (each NULL-name terminated).
   The hub dispatches a request to the first table that names its op:
   hub_admin_ops, hub_org_ops, hub_member_ops, hub_policy_ops, then query_ops
   (proto/query.h). */
#ifndef HUB_OPS_H_INCLUDED
#define HUB_OPS_H_INCLUDED

#include "op.h"

/* hub_org.c: officer.add, branch.create|rename|set_cap|handover|dissolve|assign,
   hall.create|rename|set_cap|move|merge|split|handover|dissolve */
extern const op_t hub_org_ops [];
/* hub_member.c: member.add|join|leave|transfer|promote|demote|role, import.members */
extern const op_t hub_member_ops [];
/* hub_admin.c: hello, key.allow|revoke|list, node.add|list, audit.list|verify */
extern const op_t hub_admin_ops [];
/* hub_policy.c: policy.set (policy.show is in query_ops) */
extern const op_t hub_policy_ops [];

#endif

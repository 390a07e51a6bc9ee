"""test_policy.py -- the organisation's policy, set at the hub with duotangctl:
versioned, replicated to every node (also one that was down when it changed),
and its default caps refusing joins at the hub and through a node.

    DUOTANG_BIN=build/asan /usr/bin/python3 tests/system/test_policy.py [TEST...]
"""
from harness import Client, Cluster, run, test, wait_for

RANDOM_PORT = "tcp://127.0.0.1:!"


def seed(hub):
    """Node n1 serves b-1: hall h-1 (no cap of its own) with 3 members, hall
    h-2 with a cap of its own (10); m-3..m-5 are unplaced."""
    hub.result("node.add", {"id": "n1"})
    hub.result("officer.add", {"id": "o-1", "name": "张三"})
    hub.result("branch.create", {"id": "b-1", "name": "成都分舵", "leader": "o-1"})
    hub.result("member.add", {"id": "lead", "name": "堂主"})
    hub.result("member.join", {"id": "lead", "branch": "b-1"})
    hub.result("hall.create", {"id": "h-1", "name": "青羊堂口", "branch": "b-1",
                               "leader": "lead"})
    hub.result("hall.create", {"id": "h-2", "name": "锦江堂口", "branch": "b-1",
                               "leader": "lead", "cap": 10})
    for i in range(6):
        hub.result("member.add", {"id": "m-%d" % i, "name": "粉丝%d" % i})
    for i in range(3):
        hub.result("member.join", {"id": "m-%d" % i, "hall": "h-1"})
    hub.result("branch.assign", {"id": "b-1", "node": "n1"})


def start():
    cluster = Cluster()
    hub_proc = cluster.hub("-e", RANDOM_PORT)
    hub = Client(hub_proc.endpoint)
    seed(hub)
    node_proc = cluster.node("n1", hub_proc, "-e", RANDOM_PORT)
    node = Client(node_proc.endpoint)
    wait_for(lambda: node.call("hall.show", {"id": "h-1"})["ok"], 15,
             "the node to hold hall h-1")
    return cluster, hub_proc, node_proc, node


def node_version(cluster, node_proc, version):
    """Wait until the node's policy has reached version; return it."""
    def reached():
        policy = cluster.ok(node_proc.endpoint, "policy", "show")
        return policy if policy["version"] == version else None
    return wait_for(reached, 15, "the node to hold policy version %d" % version)


@test
def policy_set_at_the_hub_reaches_the_node():
    cluster, hub_proc, node_proc, node = start()
    try:
        hub_ep = hub_proc.endpoint
        shown = cluster.ok(node_proc.endpoint, "policy", "show")
        assert shown["version"] == 0 and shown["hall_cap"] == 30, shown
        assert shown["article_topics"] == ["酱酒", "侠义", "互联网"], shown
        assert shown["content_roles"] == ["leader", "admin", "lecturer", "kol"], shown
        assert shown["timezone"] == "Asia/Shanghai", shown

        # Below the seats of a hall without a cap of its own: refused, naming it
        cluster.fails(hub_ep, "policy", "set", "hall_cap=2",
                      expect="hall h-1 has 3 seats, over the new default hall_cap 2 by 1")
        cluster.fails(hub_ep, "policy", "set", "hall_cap=4", "promo_share_max_pct=101",
                      expect='policy field "promo_share_max_pct" must be a number 0..100')
        cluster.fails(hub_ep, "policy", "set", "bogus=1", expect='unknown policy field "bogus"')
        assert cluster.ok(hub_ep, "policy", "show")["version"] == 0

        policy = cluster.ok(hub_ep, "policy", "set", "hall_cap=4", "article_topics=酱酒,侠义",
                            "promo_roles=leader")
        assert policy["version"] == 1 and policy["hall_cap"] == 4, policy
        assert policy["article_topics"] == ["酱酒", "侠义"], policy
        assert policy["promo_roles"] == ["leader"], policy

        # The node answers policy.show from its replica, caps included
        shown = node_version(cluster, node_proc, 1)
        assert shown == policy, (shown, policy)
        hall = cluster.ok(node_proc.endpoint, "hall", "show", "h-1")["hall"]
        assert hall["cap"] == 4, hall
        assert cluster.ok(node_proc.endpoint, "hall", "show", "h-2")["hall"]["cap"] == 10

        # Only the hub changes the policy
        cluster.fails(node_proc.endpoint, "policy", "set", "hall_cap=5",
                      expect="served by the hub")
    finally:
        cluster.close()


@test
def a_join_is_refused_by_the_new_default_cap():
    cluster, hub_proc, node_proc, node = start()
    try:
        hub_ep = hub_proc.endpoint
        cluster.ok(hub_ep, "policy", "set", "hall_cap=4")
        node_version(cluster, node_proc, 1)
        # The fourth seat fits; the fifth is refused at the hub ...
        cluster.ok(hub_ep, "member", "join", "m-3", "--hall", "h-1")
        cluster.fails(hub_ep, "member", "join", "m-4", "--hall", "h-1",
                      expect="hall h-1 is full: 4/4 seats")
        # ... and through the node, which forwards the join to the hub
        code, message = node.error("member.join", {"id": "m-5", "hall": "h-1"})
        assert code == "FULL" and "hall h-1 is full: 4/4 seats" in message, (code, message)
        # A hall with a cap of its own keeps it
        cluster.ok(hub_ep, "member", "join", "m-4", "--hall", "h-2")
        # Raising the default makes room again
        cluster.ok(hub_ep, "policy", "set", "hall_cap=5")
        assert node.result("member.join", {"id": "m-5", "hall": "h-1"})["group"] == "h-1"
    finally:
        cluster.close()


@test
def a_node_that_was_down_catches_up_with_the_policy():
    cluster, hub_proc, node_proc, node = start()
    try:
        hub_ep = hub_proc.endpoint
        node_proc.stop()
        cluster.ok(hub_ep, "policy", "set", "dormant_days=3", "dead_days=20")
        cluster.ok(hub_ep, "policy", "set", "video_per_week=2")
        node_proc.start()
        shown = node_version(cluster, node_proc, 2)
        assert shown["dormant_days"] == 3 and shown["dead_days"] == 20, shown
        assert shown["video_per_week"] == 2, shown
        # Both changes are in the hub's audit log
        entries = cluster.ok(hub_ep, "audit", "--limit", "2")["entries"]
        assert [e["op"] for e in entries] == ["policy.set", "policy.set"], entries
    finally:
        cluster.close()


@test
def the_time_zone_must_be_in_the_tz_database():
    cluster = Cluster()
    try:
        hub_ep = cluster.hub("-e", RANDOM_PORT).endpoint
        # An unknown zone is refused by the hub: exit 1 (2 would be a usage error)
        rc, out, err = cluster.ctl(hub_ep, "policy", "set", "timezone=Mars/Olympus")
        assert rc == 1 and out == "", (rc, out, err)
        assert err.strip().splitlines() == [
            'duotangctl: unknown time zone "Mars/Olympus" (not in the tz database)'], err
        cluster.fails(hub_ep, "policy", "set", "timezone=../etc/passwd",
                      expect='policy field "timezone" must be a time zone name')
        # All or nothing: the good field beside it is not applied
        cluster.fails(hub_ep, "policy", "set", "question_deadline_h=48",
                      "timezone=Asia/Beijing", expect='unknown time zone "Asia/Beijing"')
        shown = cluster.ok(hub_ep, "policy", "show")
        assert shown["version"] == 0 and shown["timezone"] == "Asia/Shanghai", shown
        assert shown["question_deadline_h"] == 24, shown

        policy = cluster.ok(hub_ep, "policy", "set", "timezone=America/New_York")
        assert policy["version"] == 1 and policy["timezone"] == "America/New_York", policy
    finally:
        cluster.close()


@test
def the_content_limits_are_policy_fields():
    cluster = Cluster()
    try:
        hub_ep = cluster.hub("-e", RANDOM_PORT).endpoint
        shown = cluster.ok(hub_ep, "policy", "show")
        assert shown["video_short_max_s"] == 180, shown
        assert shown["gathering_min_attendees"] == 3, shown
        assert shown["question_deadline_h"] == 24, shown
        # Shown by the text listing too, one field a line
        rc, out, err = cluster.ctl(hub_ep, "policy", "show")
        assert rc == 0, err
        lines = [line.split() for line in out.splitlines()]
        for field, value in (("video_short_max_s", "180"), ("gathering_min_attendees", "3"),
                             ("question_deadline_h", "24")):
            assert [field, value] in lines, (field, out)

        policy = cluster.ok(hub_ep, "policy", "set", "video_short_max_s=60",
                            "gathering_min_attendees=5", "question_deadline_h=72")
        assert policy["version"] == 1, policy
        assert policy["video_short_max_s"] == 60, policy
        assert policy["gathering_min_attendees"] == 5, policy
        assert policy["question_deadline_h"] == 72, policy
        assert cluster.ok(hub_ep, "policy", "show") == policy
        # Out of range: refused naming the field and its range
        cluster.fails(hub_ep, "policy", "set", "video_short_max_s=0",
                      expect='policy field "video_short_max_s" must be a number 1..86400 '
                             '(seconds)')
        cluster.fails(hub_ep, "policy", "set", "gathering_min_attendees=0",
                      expect='policy field "gathering_min_attendees" must be a number')
        cluster.fails(hub_ep, "policy", "set", "question_deadline_h=9000",
                      expect='policy field "question_deadline_h" must be a number 1..8760 '
                             '(hours)')
        assert cluster.ok(hub_ep, "policy", "show")["version"] == 1
    finally:
        cluster.close()


if __name__ == "__main__":
    run()

"""test_content.py -- posts, events, questions and activity with real processes:
every publish rule and its refusal (nothing recorded), one authority per branch
(MOVED elsewhere), question routing through handovers and transfers, content
accepted at a node while the hub is away reaching the hub exactly once through
SIGKILLs, and a branch reassigned while its old node still holds content."""
import time

from harness import Client, Cluster, run, test, wait_for

DAY = 24 * 3600 * 1000


def now_ms():
    return int(time.time() * 1000)


def organisation(hub, branch="b-1", hall="h-1", fans=3):
    """o-1 leads branch; m-lead (core, leader of hall) and fans in the hall."""
    reply = hub.call("officer.add", {"id": "o-1", "name": "张三"})
    assert reply["ok"] or reply["error"]["code"] == "EXISTS", reply
    hub.result("branch.create", {"id": branch, "name": branch + "分舵", "leader": "o-1"})
    lead = "lead-" + branch
    hub.result("member.add", {"id": lead, "name": "堂主"})
    hub.result("member.join", {"id": lead, "branch": branch})
    hub.result("hall.create", {"id": hall, "name": "堂口", "branch": branch, "leader": lead})
    for i in range(fans):
        fan = "fan-%s-%d" % (hall, i)
        hub.result("member.add", {"id": fan, "name": "粉丝%d" % i})
        hub.result("member.join", {"id": fan, "hall": hall})
    return lead


def article(client, group="b-1", author="o-1", **extra):
    args = {"group": group, "kind": "article", "title": "酱酒之道", "author": author,
            "topics": ["酱酒"]}
    args.update(extra)
    return client.result("post.add", args)


def ids(client, op, group):
    """Every item id of a list, following the pages."""
    found, cursor = [], None
    while True:
        args = {"group": group, "limit": 7}
        if cursor:
            args["cursor"] = cursor
        page = client.result(op, args)
        found += [item["id"] for item in page["items"]]
        cursor = page["next"]
        if not cursor:
            return found


@test
def every_publish_rule_refuses_with_its_numbers_and_records_nothing():
    cluster = Cluster()
    try:
        hub = Client(cluster.hub().endpoint)
        organisation(hub)
        hub.result("member.role", {"id": "fan-h-1-0", "role": "kol"})
        at = now_ms() - 3 * 3600 * 1000
        for i in range(3):
            article(hub, at=at + i)
        before = ids(hub, "post.list", "b-1")
        refusals = [
            ({"kind": "article", "topics": ["美食"]}, "RULE",
             "topic rule: an article of branch b-1 carries one of the topics 酱酒, 侠义, 互联网"),
            ({"kind": "story"}, "RULE", "album rule"),
            ({"kind": "video", "seconds": 181}, "RULE",
             "a video is at most 180 s (policy video_short_max_s); this one is 181 s"),
            ({"kind": "article", "author": "nobody"}, "RULE", "author rule: nobody holds no seat"),
            ({"kind": "article", "at": now_ms() + 10 * 60000}, "BAD_ARGS", "in the future"),
            ({"kind": "gossip"}, "BAD_ARGS", "article, story, video, promo or notice"),
        ]
        for extra, code, text in refusals:
            args = {"group": "b-1", "title": "x", "author": "o-1", "topics": ["酱酒"]}
            args.update(extra)
            got, message = hub.error("post.add", args)
            assert got == code and text in message, (extra, got, message)
        # A kol may write in the hall but not promote there
        code, message = hub.error("post.add", {"group": "h-1", "kind": "promo", "title": "x",
                                               "author": "fan-h-1-0"})
        assert code == "RULE" and "may be published by leader, admin (policy promo_roles)" \
            in message, message
        article(hub, group="h-1", author="fan-h-1-0", topics=[])
        # One promo a day: the second names the day in the policy's zone
        promo = {"group": "b-1", "kind": "promo", "title": "特价", "author": "o-1",
                 "at": at + 10}
        hub.result("post.add", promo)
        promo["at"] = at + 20
        code, message = hub.error("post.add", promo)
        day = time.strftime("%Y-%m-%d", time.gmtime((at + 20) / 1000 + 8 * 3600))
        assert code == "LIMIT" and message == (
            "promo limit: b-1 already has 1/1 promo posts on %s (Asia/Shanghai)" % day), message
        after = ids(hub, "post.list", "b-1")
        assert len(after) == len(before) + 1 and after[:len(before)] == before, (before, after)
        # A stricter share: 2 promo of 5 posts is 40%
        hub.result("policy.set", {"changes": {"promo_per_day_max": 5}})
        code, message = hub.error("post.add", promo)
        assert code == "LIMIT" and "promo share: b-1 would have 2 promo of 5 tracked posts " \
            "(40%)" in message and "at most 30%" in message, message
        assert ids(hub, "post.list", "b-1") == after
    finally:
        cluster.close()


@test
def events_and_questions_follow_the_people():
    cluster = Cluster()
    try:
        hub = Client(cluster.hub().endpoint)
        lead = organisation(hub)
        # Events: attendees must sit in the hall; only scheduled events change
        event = hub.result("event.schedule", {"group": "h-1", "kind": "tasting",
                                              "title": "赛酒会", "at": now_ms() + DAY,
                                              "place": "成都", "author": lead})
        code, message = hub.error("event.schedule", {"group": "h-1", "kind": "sports",
                                                     "title": "运动会", "at": now_ms(),
                                                     "place": "x", "author": "fan-h-1-0"})
        assert code == "RULE" and "an event may be published by leader, admin" in message
        code, message = hub.error("event.held", {"id": event["id"], "author": lead,
                                                 "attendees": ["fan-h-1-0", "stranger"]})
        assert code == "RULE" and "stranger is not a member of hall h-1" in message, message
        assert hub.result("post.show", {"id": event["id"]})["status"] == "scheduled"
        held = hub.result("event.held", {"id": event["id"], "author": lead,
                                         "attendees": ["fan-h-1-0", "fan-h-1-1", lead]})
        assert held["status"] == "held" and len(held["attendees"]) == 3
        code, message = hub.error("event.cancel", {"id": event["id"], "author": lead})
        assert code == "RULE" and "is held" in message, message
        # A fan's question goes to the hall leader, a core member's to the officer
        question = hub.result("question.ask", {"member": "fan-h-1-2", "text": "怎么存酒?"})
        assert question["leader"] == lead and question["status"] == "open"
        code, message = hub.error("question.answer", {"id": question["id"], "by": "o-1",
                                                      "text": "x"})
        assert code == "RULE" and ("routed to %s" % lead) in message, message
        # Handover: the open question goes to the new leader at once
        hub.result("member.add", {"id": "new-lead", "name": "新堂主"})
        hub.result("member.join", {"id": "new-lead", "branch": "b-1"})
        hub.result("hall.handover", {"id": "h-1", "to": "new-lead"})
        open_ = hub.result("question.list", {"leader": "new-lead"})["items"]
        assert [q["id"] for q in open_] == [question["id"]], open_
        assert hub.result("question.list", {"leader": lead})["items"] == []
        code, _ = hub.error("question.answer", {"id": question["id"], "by": lead, "text": "x"})
        assert code == "RULE"
        # Transfer: the asker's open question follows them to the new hall's leader
        hub.result("hall.create", {"id": "h-2", "name": "锦江", "branch": "b-1",
                                   "leader": lead})
        hub.result("member.transfer", {"id": "fan-h-1-2", "hall": "h-2"})
        shown = hub.result("question.show", {"id": question["id"]})
        assert shown["leader"] == lead, shown
        answered = hub.result("question.answer", {"id": question["id"], "by": lead,
                                                  "text": "阴凉干燥处"})
        assert answered["status"] == "answered" and answered["closed_by"] == lead
        assert hub.result("question.list", {"open": True})["items"] == []
        # Overdue: an old open question is listed with its age
        old = hub.result("question.ask", {"member": "fan-h-1-0", "text": "还有货吗?",
                                          "at": now_ms() - 2 * DAY})
        overdue = hub.result("question.list", {"overdue": True})["items"]
        assert [q["id"] for q in overdue] == [old["id"]] and overdue[0]["overdue"]
        # Activity: reported in bulk, bad rows named by line, nothing kept from them
        code, message = hub.error("activity.report", {"rows": [
            {"member": "fan-h-1-0", "day": "2026-12-01", "count": 5},
            {"member": "stranger", "day": "2026-12-01", "count": 1},
            {"member": "fan-h-1-1", "day": "2026-13-01", "count": 1}]})
        assert code == "IMPORT_REJECTED" and "2 of 3 rows rejected" in message, message
        assert hub.result("activity.report", {"rows": [
            {"member": "fan-h-1-0", "day": "2026-12-01", "count": 5}]})["rows"] == 1
        # The audit names who did what
        ops = [entry["op"] for entry in hub.result("audit.list", {"limit": 20})["entries"]]
        for op in ("event.held", "question.answer", "question.ask"):
            assert op in ops, ops
    finally:
        cluster.close()


@test
def historical_content_is_imported_under_the_same_rules():
    cluster = Cluster()
    try:
        hub = Client(cluster.hub().endpoint)
        lead = organisation(hub)
        at = now_ms() - 30 * DAY
        rows = [
            {"type": "post", "group": "b-1", "kind": "article", "title": "旧文",
             "author": "o-1", "at": at, "topics": ["侠义"]},
            {"type": "event", "group": "h-1", "kind": "tasting", "title": "旧会",
             "at": at, "place": "成都", "author": lead,
             "attendees": ["fan-h-1-0", "fan-h-1-1", "fan-h-1-2"]},
            {"type": "question", "member": "fan-h-1-0", "text": "旧问", "at": at,
             "answer": "旧答", "by": lead},
        ]
        bad = rows + [{"type": "post", "group": "b-1", "kind": "article", "title": "x",
                       "author": "o-1", "at": at}]
        reply = hub.call("import.content", {"rows": bad})
        assert not reply["ok"] and reply["error"]["code"] == "IMPORT_REJECTED"
        assert [d["line"] for d in reply["error"]["details"]] == [4], reply["error"]
        assert ids(hub, "post.list", "b-1") == []
        counts = hub.result("import.content", {"rows": rows})
        assert counts == {"posts": 1, "events": 1, "questions": 1}, counts
        events = hub.result("event.list", {"group": "h-1", "status": "held"})["items"]
        assert len(events) == 1 and events[0]["at"] == at
    finally:
        cluster.close()


def node_cluster():
    cluster = Cluster()
    try:
        hub_proc = cluster.hub()
        hub = Client(hub_proc.endpoint)
        organisation(hub, "b-1", "h-1")
        organisation(hub, "b-2", "h-2")
        hub.result("node.add", {"id": "n1"})
        hub.result("branch.assign", {"id": "b-1", "node": "n1"})
        node_proc = cluster.node("n1", hub_proc)
        node = Client(node_proc.endpoint)
        wait_for(lambda: node.call("hall.show", {"id": "h-1"}).get("ok"), 15, "n1's replica")
    except BaseException:
        cluster.close()         # a failed set-up leaves no server behind
        raise
    return cluster, hub_proc, hub, node_proc, node


def hub_has(hub, group, expected):
    got = ids(hub, "post.list", group)
    return sorted(got) == sorted(expected) and len(got) == len(set(got))


@test
def one_authority_per_branch():
    cluster, hub_proc, hub, node_proc, node = node_cluster()
    try:
        code, message = hub.error("post.add", {"group": "h-1", "kind": "article",
                                               "title": "x", "author": "lead-b-1"})
        assert code == "MOVED" and message == ("content of hall h-1 (branch b-1) is judged "
                                               "by node n1, not by the hub: send it there")
        code, message = node.error("post.add", {"group": "b-2", "kind": "article",
                                                "title": "x", "author": "o-1",
                                                "topics": ["酱酒"]})
        assert code == "MOVED" and "not in a branch node n1 judges" in message, message
        # The branch without a node publishes at the hub; n1's at n1
        article(hub, group="b-2")
        post = article(node, group="b-1")
        wait_for(lambda: hub_has(hub, "b-1", [post["id"]]), 15, "the post at the hub")
        # A retry under the same rid is the same post, not a second one
        args = {"group": "b-1", "kind": "article", "title": "重发", "author": "o-1",
                "topics": ["酱酒"]}
        first = node.call("post.add", args, rid="retry-1")
        again = node.call("post.add", args, rid="retry-1")
        assert first["ok"] and again["ok"] and first["result"] == again["result"], again
        wait_for(lambda: hub_has(hub, "b-1", [post["id"], first["result"]["id"]]), 15,
                 "both posts at the hub, once each")
        nodes = hub.result("node.list")["nodes"]
        assert nodes[0]["content_items"] == 2 and nodes[0]["content_waiting"] == 0, nodes
    finally:
        cluster.close()


@test
def content_accepted_while_the_hub_is_away_arrives_exactly_once():
    cluster, hub_proc, hub, node_proc, node = node_cluster()
    try:
        accepted = [article(node, at=now_ms() - 1000 + i)["id"] for i in range(5)]
        wait_for(lambda: hub_has(hub, "b-1", accepted), 15, "the first posts at the hub")
        hub_proc.kill()
        # The node keeps accepting and judging with the hub away
        for i in range(20):
            accepted.append(article(node, at=now_ms() - 500 + i)["id"])
        code, _ = node.error("post.add", {"group": "b-1", "kind": "article", "title": "x",
                                          "author": "o-1", "topics": ["美食"]})
        assert code == "RULE"
        # Acknowledged means durable: a SIGKILL loses nothing
        node_proc.kill()
        node_proc.start()
        node = Client(node_proc.endpoint)
        for i in range(10):
            accepted.append(article(node, at=now_ms() + i)["id"])
        hub_proc.start()
        hub = Client(hub_proc.endpoint)
        wait_for(lambda: hub_has(hub, "b-1", accepted), 30, "every post at the hub once")
        assert len(accepted) == 35
        wait_for(lambda: hub.result("node.list")["nodes"][0]["content_waiting"] == 0, 15,
                 "nothing waiting")
        assert hub.result("node.list")["nodes"][0]["content_items"] == 35
        # Kill the node in the middle of a stream of posts: still exactly once
        for round_ in range(3):
            for i in range(10):
                accepted.append(article(node, at=now_ms() + i)["id"])
            node_proc.kill()
            node_proc.start()
            node = Client(node_proc.endpoint)
        wait_for(lambda: hub_has(hub, "b-1", accepted), 30, "every post once after kills")
    finally:
        cluster.close()


@test
def a_large_backlog_reaches_the_hub_in_pushes_audited_per_item():
    # 1 500 historical posts imported at the node while the hub is away: they
    # go up in pushes larger than one whole audit entry, each item audited
    cluster, hub_proc, hub, node_proc, node = node_cluster()
    try:
        hub_proc.kill()
        rows = [{"type": "post", "group": "b-1", "kind": "article",
                 "title": "旧文%d%s" % (i, "长" * 50), "author": "o-1",
                 "at": now_ms() - (i + 1) * DAY, "topics": ["侠义"]} for i in range(1500)]
        assert node.result("import.content", {"rows": rows})["posts"] == 1500
        hub_proc.start()
        hub = Client(hub_proc.endpoint)
        wait_for(lambda: hub.result("node.list")["nodes"][0]["content_items"] == 1500, 60,
                 "the backlog at the hub")
        assert len(ids(hub, "post.list", "b-1")) == 1500
        rc, out, err = cluster.ctl(hub_proc.endpoint, "audit", "verify")
        assert rc == 0 and out.startswith("OK: "), (out, err)
    finally:
        cluster.close()


@test
def a_branch_moves_to_another_node_with_content_in_flight():
    cluster, hub_proc, hub, node_proc, node = node_cluster()
    try:
        hub.result("node.add", {"id": "n2"})
        # n2 runs before n1 goes down, so that n1's port is free for its restart
        n2_proc = cluster.node("n2", hub_proc)
        n2 = Client(n2_proc.endpoint)
        accepted = [article(node, at=now_ms() - 100 + i)["id"] for i in range(3)]
        question = node.result("question.ask", {"member": "fan-h-1-0", "text": "怎么存酒?"})
        wait_for(lambda: hub_has(hub, "b-1", accepted), 15, "n1's first posts")
        wait_for(lambda: hub.call("question.show", {"id": question["id"]}).get("ok"), 15,
                 "the question at the hub")
        hub_proc.kill()
        late = [article(node, at=now_ms() + i)["id"] for i in range(5)]
        node_proc.kill()                # n1 holds five posts the hub has not seen
        hub_proc.start()
        hub = Client(hub_proc.endpoint)
        hub.result("branch.assign", {"id": "b-1", "node": "n2"})
        wait_for(lambda: n2.call("hall.show", {"id": "h-1"}).get("ok"), 15, "n2's replica")
        # n2 took the branch over with the content the hub held of it
        wait_for(lambda: hub_has(n2, "b-1", accepted), 15, "n1's delivered posts at n2")
        node_proc.start()               # n1 comes back and delivers what it accepted
        node = Client(node_proc.endpoint)
        moved = [article(n2, at=now_ms() + 10 + i)["id"] for i in range(2)]
        wait_for(lambda: hub_has(hub, "b-1", accepted + late + moved), 30,
                 "n1's late posts and n2's, each once")
        # ... and what n1 delivered late followed the branch there
        wait_for(lambda: hub_has(n2, "b-1", accepted + late + moved), 30,
                 "the branch's posts at n2, each once")
        answered = n2.result("question.answer", {"id": question["id"], "by": "lead-b-1",
                                                 "text": "阴凉处"})
        assert answered["status"] == "answered", answered
        wait_for(lambda: hub.result("question.show", {"id": question["id"]})["status"]
                 == "answered", 15, "the answer at the hub")
        wait_for(lambda: node.call("post.add", {
            "group": "b-1", "kind": "article", "title": "x", "author": "o-1",
            "topics": ["酱酒"]})["error"]["code"] in ("MOVED",), 15, "n1 to let b-1 go")
    finally:
        cluster.close()


@test
def keys_publish_within_their_scope_and_the_audit_names_them():
    cluster = Cluster(secure=True)
    try:
        hub_proc = cluster.hub()
        hub_pub = cluster.path("hub", "hub.pub")
        root = Client(hub_proc.endpoint, cluster.admin_key, hub_pub)
        organisation(root, "b-1", "h-1")
        organisation(root, "b-3", "h-3")
        root.result("node.add", {"id": "n1"})
        root.result("node.add", {"id": "n2"})
        root.result("branch.assign", {"id": "b-1", "node": "n1"})
        n1key = cluster.new_key("n1key")
        cluster.ok(hub_proc.endpoint, "key", "allow", "n1key", "--role", "node", "--node",
                   "n1", "--public", n1key + ".pub")
        lead = cluster.new_key("lead")
        cluster.ok(hub_proc.endpoint, "key", "allow", "lead", "--role", "leader", "--branch",
                   "b-1", "--public", lead + ".pub")
        n1 = cluster.node("n1", hub_proc, key=n1key)
        n1_pub = cluster.path("node-n1", "node.pub")

        def admitted():
            probe = Client(n1.endpoint, lead, n1_pub, timeout=500)
            reply = probe.call("hall.show", {"id": "h-1"})
            probe.close()
            return reply and reply["ok"]
        wait_for(admitted, 20, "n1 to admit the leader key with b-1")
        as_lead = Client(n1.endpoint, lead, n1_pub)
        post = article(as_lead, group="b-1")
        # The leader's key reaches no other branch, at the hub either
        at_hub = Client(hub_proc.endpoint, lead, hub_pub)
        code, message = at_hub.error("post.add", {"group": "b-3", "kind": "article",
                                                  "title": "x", "author": "o-1",
                                                  "topics": ["酱酒"]})
        assert code == "DENIED" and "lead" in message, (code, message)
        # A node key pushes for its own node only
        as_node = Client(hub_proc.endpoint, n1key, hub_pub)
        code, _ = as_node.error("content.push", {"node": "n2", "epoch": 1, "entries": [],
                                                 "watermark": 0})
        assert code == "DENIED"
        wait_for(lambda: root.call("post.show", {"id": post["id"]})["ok"], 15, "the post up")
        entries = root.result("audit.list", {"limit": 1000})["entries"]
        adds = [e for e in entries if e["op"] == "post.add"]
        assert [e["actor"] for e in adds] == ["n1key/lead"], adds
    finally:
        cluster.close()


if __name__ == "__main__":
    run()

"""test_three_nodes.py -- one hub and three nodes as real processes: changes reach
the right nodes only, a hall moves between nodes, a node SIGKILLed during a
stream converges to exactly the hub's state, and membership requests queued at
nodes while the hub is down are decided exactly once."""
import signal
import threading

from harness import Client, Cluster, run, test, wait_for

NODES = {"n1": "b-1", "n2": "b-2", "n3": "b-3"}


def setup():
    cluster = Cluster()
    hub_proc = cluster.hub()
    hub = Client(hub_proc.endpoint)
    hub.result("officer.add", {"id": "o-1", "name": "张三"})
    for node, branch in NODES.items():
        hub.result("node.add", {"id": node})
        hub.result("branch.create", {"id": branch, "name": branch + "分舵", "leader": "o-1"})
        hub.result("branch.assign", {"id": branch, "node": node})
        lead = "lead-" + branch
        hub.result("member.add", {"id": lead, "name": "堂主"})
        hub.result("member.join", {"id": lead, "branch": branch})
        for h in range(3):
            hub.result("hall.create", {"id": "h-%s-%d" % (branch, h), "name": "堂口%d" % h,
                                       "branch": branch, "leader": lead})
    procs = {node: cluster.node(node, hub_proc) for node in NODES}
    clients = {node: Client(proc.endpoint) for node, proc in procs.items()}
    return cluster, hub_proc, hub, procs, clients


def dump(client, branch, hub_side):
    """A full, comparable dump of one branch: its tree and every member record."""
    reply = client.call("tree", {"branch": branch} if hub_side else None)
    if not reply or not reply["ok"]:
        return None
    trees = [b for b in reply["result"]["branches"] if b["id"] == branch]
    if not trees:
        return None
    rows = client.call("export.members", {"branch": branch})
    if not rows or not rows["ok"]:
        return None
    members = []
    for row in rows["result"]["rows"]:
        shown = client.call("member.show", {"id": row["id"]})
        if not shown or not shown["ok"]:
            return None
        members.append(shown["result"])
    return trees[0], rows["result"]["rows"], members


def converge(hub, node_client, branch, timeout=30):
    def same():
        theirs = dump(node_client, branch, False)
        return theirs is not None and theirs == dump(hub, branch, True)
    wait_for(same, timeout, "the node's %s to equal the hub's" % branch)


def visible(client, member):
    reply = client.call("member.show", {"id": member})
    return bool(reply and reply["ok"] and reply["result"]["member"]["seat"] != "none")


@test
def changes_reach_the_right_nodes_only_and_a_hall_moves_between_nodes():
    cluster, hub_proc, hub, procs, clients = setup()
    try:
        for node, branch in NODES.items():
            converge(hub, clients[node], branch)
        hub.result("member.add", {"id": "m-x", "name": "粉丝"})
        hub.result("member.join", {"id": "m-x", "hall": "h-b-2-0"})
        wait_for(lambda: visible(clients["n2"], "m-x"), 15, "m-x at n2")
        for node in ("n1", "n3"):
            reply = clients[node].call("member.show", {"id": "m-x"})
            assert not reply["ok"], (node, reply)
            branches = clients[node].result("branch.list")["branches"]
            assert [b["id"] for b in branches] == [NODES[node]], (node, branches)
        # A hall (with its leader's core seat and its members) moves from n2 to n1
        hub.result("member.add", {"id": "lead-move", "name": "新堂主"})
        hub.result("member.join", {"id": "lead-move", "branch": "b-2"})
        hub.result("hall.handover", {"id": "h-b-2-0", "to": "lead-move"})
        hub.result("hall.move", {"id": "h-b-2-0", "to": "b-1"})
        converge(hub, clients["n1"], "b-1")
        converge(hub, clients["n2"], "b-2")
        assert clients["n1"].result("hall.show", {"id": "h-b-2-0"})["hall"]["branch"] == "b-1"
        assert not clients["n2"].call("hall.show", {"id": "h-b-2-0"})["ok"]
        assert visible(clients["n1"], "m-x") and not clients["n2"].call(
            "member.show", {"id": "m-x"})["ok"]
    finally:
        cluster.close()


@test
def a_node_killed_during_a_stream_converges_to_the_hub():
    cluster, hub_proc, hub, procs, clients = setup()
    try:
        for h in range(3):
            hub.result("hall.set_cap", {"id": "h-b-3-%d" % h, "cap": 250})
        converge(hub, clients["n3"], "b-3")
        done = threading.Event()

        def stream():
            writer = Client(hub_proc.endpoint)
            for i in range(600):
                member = "s-%d" % i
                writer.result("member.add", {"id": member, "name": "流%d" % i})
                writer.result("member.join", {"id": member, "hall": "h-b-3-%d" % (i % 3)})
                if i % 4 == 3:
                    writer.result("member.leave", {"id": "s-%d" % (i - 2)})
            done.set()
        thread = threading.Thread(target=stream)
        thread.start()
        wait_for(lambda: visible(clients["n3"], "s-20"), 30, "the stream to reach n3")
        procs["n3"].kill(signal.SIGKILL)
        wait_for(lambda: visible(hub, "s-120"), 30, "the stream to go on without n3")
        procs["n3"].start()
        clients["n3"] = Client(procs["n3"].endpoint)
        thread.join()
        assert done.is_set()
        converge(hub, clients["n3"], "b-3", timeout=60)
        nodes = {n["id"]: n for n in hub.result("node.list")["nodes"]}
        wait_for(lambda: {n["id"]: n for n in hub.result("node.list")["nodes"]}["n3"]
                 ["lag_changes"] == 0, 15, "n3 to report no lag")
        assert nodes["n3"]["branches"] == ["b-3"], nodes
    finally:
        cluster.close()


@test
def requests_queued_while_the_hub_is_down_are_decided_exactly_once():
    cluster, hub_proc, hub, procs, clients = setup()
    try:
        for i in range(4):
            hub.result("member.add", {"id": "q-%d" % i, "name": "排队%d" % i})
        for node, branch in NODES.items():
            converge(hub, clients[node], branch)
        hub_proc.kill(signal.SIGKILL)
        tickets = []
        asks = [("n1", "q-0", "h-b-1-0"), ("n2", "q-1", "h-b-2-0"), ("n2", "q-2", "h-b-2-1"),
                ("n3", "q-3", "h-b-3-0"), ("n3", "q-3", "h-b-3-1")]    # the last one: LOCKED
        for node, member, hall in asks:
            result = clients[node].result("member.join", {"id": member, "hall": hall},
                                          timeout=10000)
            assert result["state"] == "pending", result
            tickets.append((node, result["ticket"]))
        hub_proc.start()
        hub = Client(hub_proc.endpoint)

        def settled(node, ticket):
            status = clients[node].result("request.status", {"ticket": ticket})
            return status if status["state"] != "pending" else None
        outcomes = [wait_for(lambda: settled(n, t), 30, "ticket %d at %s" % (t, n))
                    for n, t in tickets]
        assert [o["state"] for o in outcomes] == ["done", "done", "done", "done", "failed"], outcomes
        assert outcomes[4]["error"]["code"] == "LOCKED", outcomes[4]
        entries = hub.result("audit.list", {"limit": 10000})["entries"]
        joins = [e["args"]["id"] for e in entries if e["op"] == "member.join"
                 and e["args"]["id"].startswith("q-")]
        assert sorted(joins) == ["q-0", "q-1", "q-2", "q-3"], joins
        assert hub.result("member.show", {"id": "q-3"})["member"]["group"] == "h-b-3-0"
        for node, branch in NODES.items():
            converge(hub, clients[node], branch)
    finally:
        cluster.close()


if __name__ == "__main__":
    run()

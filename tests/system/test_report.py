"""test_report.py -- cadence and health reports with real processes: a node
offline over the end of a day delivers its article late, and the hub shows the
day as `awaiting node n1` until it does, then met; a branch at the hub misses
the same day; a dead hall gets a merge into its sibling with room.

The processes' clocks are moved with DUOTANG_CLOCK_OFFSET_MS (proto/base/dt.c)
so that a day ends during the test without waiting for it; every phase sets
the offset before the processes start, never asserts on elapsed time."""
import datetime
import time
from zoneinfo import ZoneInfo

import harness
from harness import Client, Cluster, run, test, wait_for

ZONE = ZoneInfo("Asia/Shanghai")


def local_ms(day, hour, minute):
    """Milliseconds of a local time on `day` (a date) in Asia/Shanghai."""
    moment = datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)
    return int(moment.timestamp() * 1000)


def set_clock(target_ms):
    """Processes started from now on believe it is target_ms."""
    harness.ENV["DUOTANG_CLOCK_OFFSET_MS"] = str(target_ms - int(time.time() * 1000))


def compliance(cluster, endpoint, branch, group):
    """The articles cell of a group's row in `report compliance --branch`."""
    rc, out, err = cluster.ctl(endpoint, "report", "compliance", "--branch", branch,
                               "--period", "day")
    assert rc == 0, err
    for line in out.splitlines():
        cells = line.split()
        if cells and cells[0] == group:
            return line
    raise AssertionError("no row for %s in %r" % (group, out))


@test
def late_content_is_awaited_then_judged_and_a_dead_hall_is_merged():
    # D0 is two days ahead, so that every phase's clock only moves forward
    d0 = datetime.datetime.now(ZONE).date() + datetime.timedelta(days=2)
    d1, d2 = d0 + datetime.timedelta(days=1), d0 + datetime.timedelta(days=2)
    cluster = Cluster()
    try:
        # Phase 1, D0 12:00: the organisation; b-1 is served by node n1
        set_clock(local_ms(d0, 12, 0))
        hub_proc = cluster.hub()
        hub = Client(hub_proc.endpoint)
        hub.result("policy.set", {"changes": {"timezone": "Asia/Shanghai", "dormant_days": 1,
                                              "dead_days": 1}})
        hub.result("officer.add", {"id": "o-1", "name": "张三"})
        for branch in ("b-1", "b-2"):
            hub.result("branch.create", {"id": branch, "name": branch + "分舵", "leader": "o-1"})
        for hall, fans in (("h-a", 2), ("h-b", 3)):
            lead = "lead-" + hall
            hub.result("member.add", {"id": lead, "name": "堂主" + hall})
            hub.result("member.join", {"id": lead, "branch": "b-2"})
            hub.result("hall.create", {"id": hall, "name": hall + "堂口", "branch": "b-2",
                                       "leader": lead})
            for i in range(fans):
                fan = "fan-%s-%d" % (hall, i)
                hub.result("member.add", {"id": fan, "name": "粉丝%d" % i})
                hub.result("member.join", {"id": fan, "hall": hall})
        hub.result("node.add", {"id": "n1"})
        hub.result("branch.assign", {"id": "b-1", "node": "n1"})
        hub_proc.kill()

        # Phase 2, D1 23:57: n1 posts b-1's article for D1 while the hub is away
        set_clock(local_ms(d1, 23, 57))
        hub_proc.start()
        node_proc = cluster.node("n1", hub_proc)
        node = Client(node_proc.endpoint)
        wait_for(lambda: node.call("branch.show", {"id": "b-1"}).get("ok"), 20, "n1's replica")
        hub_proc.kill()
        node.result("post.add", {"group": "b-1", "kind": "article", "title": "酱酒之道",
                                 "author": "o-1", "topics": ["酱酒"]})
        node_proc.kill()

        # Phase 3, D2 00:01: the hub is back, n1 is not: D1 awaits n1
        set_clock(local_ms(d2, 0, 1))
        hub_proc.start()
        hub = Client(hub_proc.endpoint)
        row = compliance(cluster, hub_proc.endpoint, "b-1", "b-1")
        assert "awaiting node n1" in row, row
        # b-2, at the hub, posted nothing on D1: missed
        row = compliance(cluster, hub_proc.endpoint, "b-2", "b-2")
        assert "missed 0/1" in row, row
        summary = cluster.ok(hub_proc.endpoint, "report", "compliance", "--period", "day")
        by_branch = {r["branch"]: r["quotas"]["articles"] for r in summary}
        assert by_branch["b-1"]["awaiting"] == 1 and by_branch["b-2"]["missed"] == 1, summary

        # n1 reconnects and delivers: D1 is met at the hub, as at n1
        node_proc.start()
        node = Client(node_proc.endpoint)
        wait_for(lambda: "met 1/1" in compliance(cluster, hub_proc.endpoint, "b-1", "b-1"), 30,
                 "b-1's D1 judged at the hub after n1 delivered")
        row = compliance(cluster, node_proc.endpoint, "b-1", "b-1")
        assert "met 1/1" in row, row
        detail = cluster.ok(hub_proc.endpoint, "report", "compliance", "--branch", "b-1",
                            "--period", "day")
        articles = detail[0]["quotas"][0]
        assert articles["period"] == d1.isoformat() and articles["status"] == "met", articles

        # h-b's fans chatted today; h-a has done nothing since D0: dead, and
        # h-b has room for its seats, as hall.merge would check
        hub.result("activity.report", {"rows": [
            {"member": "fan-h-b-%d" % i, "day": d2.isoformat(), "count": 5} for i in range(3)]})
        rc, out, err = cluster.ctl(hub_proc.endpoint, "report", "health", "--branch", "b-2")
        assert rc == 0, err
        lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
        assert "dead" in lines["h-a"] and "merge into h-b (h-b堂口): 3+2=5 seats fit its cap 30" \
            in lines["h-a"], out
        assert "h-b" not in lines, out      # the summary shows only what needs attention
        health = cluster.ok(hub_proc.endpoint, "report", "health", "--branch", "b-2", "--all")
        states = {r["group"]: (r["state"], r["action"], r["into"]) for r in health}
        assert states["h-a"] == ("dead", "merge", "h-b") and states["h-b"][0] == "active", states
    finally:
        harness.ENV.pop("DUOTANG_CLOCK_OFFSET_MS", None)
        cluster.close()


if __name__ == "__main__":
    run()

"""bench_scale.py -- the largest organisation on one machine (SPEC "Scale"),
measured beside a small one in the same run (make bench-scale).

    bench_scale.py BIN_DIR WORK_DIR MEMBERS [SMALL_MEMBERS]

For each size it builds, in WORK_DIR/<size>, an organisation of MEMBERS/500
branches, MEMBERS*35/1000 halls and MEMBERS members (10 000 000 gives SPEC's
20 000 branches, 350 000 halls and 10 million members) on a fresh insecure hub
of BIN_DIR: branches and halls through the protocol (pipelined over a few
connections; in insecure mode each connection has its own rate), the members
through `duotangctl import members` of a generated CSV (generating it is not
timed). Then it measures the import (rows/s), the store's size per member, the
hub's start (process start until it answers hello), the p50/p99 of member.show,
member.join and member.transfer (sequential requests through the protocol), and
a full `duotangctl tree` and `export members` to /dev/null with the CLI's max RSS
and the hub's largest anonymous RSS meanwhile; and prints each large figure
beside the small one, with their ratio. Nothing is asserted."""
import os
import random
import re
import subprocess
import sys
import threading
import time

import msgpack
import zmq

BIN, WORK = sys.argv[1], sys.argv[2]
LARGE = int(sys.argv[3])
SMALL = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
POOL = 2000                 # unplaced members, for member.join / member.transfer
SAMPLES = 2000              # of each latency (fewer joins on a store of few branches)
CONNECTIONS = 6             # one rate of 2 000 requests/s each (PROTOCOL.md 4)


class Conn:
    """A DEALER speaking DTP; requests matched to replies by id."""

    def __init__(self, endpoint):
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.connect(endpoint)
        self.next_id = 1

    def send(self, op, args):
        rid = self.next_id
        self.next_id += 1
        self.sock.send_multipart([b"", msgpack.packb({"v": 1, "id": rid, "op": op,
                                                      "args": args})])
        return rid

    def recv(self, timeout=60000):
        if not self.sock.poll(timeout):
            raise RuntimeError("no reply within %d ms" % timeout)
        return msgpack.unpackb(self.sock.recv_multipart()[1], raw=False)

    def call(self, op, args, timeout=60000):
        rid = self.send(op, args)
        while True:
            reply = self.recv(timeout)
            if reply.get("id") == rid:
                return reply


def bulk(conns, requests, window=400):
    """Run (op, args) requests over the connections, each with `window` in
    flight; BUSY (the rate) is retried after a pause; any other error fails."""
    todo = list(reversed(requests))
    flight = [dict() for _ in conns]
    resume = [0.0 for _ in conns]       # a connection told BUSY rests until then
    while todo or any(flight):
        now = time.monotonic()
        for c, conn in enumerate(conns):
            while todo and len(flight[c]) < window and now >= resume[c]:
                op, args = todo.pop()
                flight[c][conn.send(op, args)] = (op, args)
        if not any(flight):
            time.sleep(max(0.0, min(resume) - time.monotonic()))
        for c, conn in enumerate(conns):
            while flight[c] and conn.sock.poll(0 if len(flight[c]) < window else 5):
                reply = conn.recv()
                request = flight[c].pop(reply["id"], None)
                if request is None:
                    continue
                if not reply["ok"] and reply["error"]["code"] == "BUSY":
                    todo.append(request)
                    resume[c] = time.monotonic() + 0.02
                elif not reply["ok"]:
                    raise RuntimeError("%s %s: %s" % (request[0], request[1], reply["error"]))


def ctl(endpoint, *args, stdout=subprocess.DEVNULL):
    """duotangctl under /usr/bin/time: (seconds, max RSS in KiB)."""
    cmd = ["/usr/bin/time", "-f", "%e %M", os.path.join(BIN, "duotangctl"), "-e", endpoint,
           "--insecure", "-t", "3600000"] + list(args)
    proc = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True)
    if proc.returncode:
        raise RuntimeError("duotangctl %s: %s" % (" ".join(args), proc.stderr))
    seconds, rss = proc.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(rss)


class Hub:
    def __init__(self, datadir):
        self.datadir = datadir
        self.config = os.path.join(os.path.dirname(datadir), "hub.cfg")
        with open(self.config, "w") as out:
            out.write("hub\n    mapsize_mb = 262144\n")
        self.proc = None

    def start(self):
        """Start; the seconds from process start until it answers hello."""
        endpoint_file = os.path.join(self.datadir, "endpoint")
        if os.path.exists(endpoint_file):
            os.unlink(endpoint_file)
        started = time.monotonic()
        self.proc = subprocess.Popen([os.path.join(BIN, "duotang-hub"), "-d", self.datadir,
                                      "-e", getattr(self, "endpoint", "tcp://127.0.0.1:*"),
                                      "--insecure", "-q", "-c", self.config],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not os.path.exists(endpoint_file) or not open(endpoint_file).read().strip():
            time.sleep(0.001)
        self.endpoint = open(endpoint_file).read().strip()
        conn = Conn(self.endpoint)
        while True:
            conn.send("hello", {})
            if conn.sock.poll(20):
                conn.recv()
                break
        elapsed = time.monotonic() - started
        conn.sock.close(0)
        return elapsed

    def stop(self):
        self.proc.terminate()
        self.proc.wait(120)

    def anon_rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as status:
            return int(re.search(r"RssAnon:\s+(\d+)", status.read()).group(1))


class Sampler(threading.Thread):
    """The hub's largest anonymous RSS while a command runs (file pages of
    the LMDB map it reads are the page cache's, not the hub's memory)."""

    def __init__(self, hub):
        super().__init__(daemon=True)
        self.hub, self.top, self.running = hub, hub.anon_rss_kib(), True

    def run(self):
        while self.running:
            self.top = max(self.top, self.hub.anon_rss_kib())
            time.sleep(0.02)

    def stop(self):
        self.running = False
        self.join()
        return self.top


def percentiles(samples):
    samples = sorted(samples)
    return (samples[len(samples) // 2] * 1000,
            samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000)


def timed(conns, requests):
    """Sequential requests, rotating over the connections (under each one's
    rate): the p50 and p99 in ms."""
    took = []
    for i, (op, args) in enumerate(requests):
        conn = conns[i % len(conns)]
        started = time.perf_counter()
        reply = conn.call(op, args)
        took.append(time.perf_counter() - started)
        if not reply["ok"]:
            raise RuntimeError("%s %s: %s" % (op, args, reply["error"]))
        time.sleep(max(0.0, 1 / (1900.0 * len(conns)) - (time.perf_counter() - started)))
    return percentiles(took)


def store_bytes(datadir):
    """Bytes in the pages of every table, and the size of data.mdb (which
    also holds pages freed since, such as the staged parts of the import)."""
    out = subprocess.run(["mdb_stat", "-a", datadir], capture_output=True, text=True).stdout
    pages = sum(int(n) for n in re.findall(r"(?:Branch|Leaf|Overflow) pages: (\d+)", out))
    size = int(re.search(r"Page size: (\d+)", subprocess.run(
        ["mdb_stat", "-e", datadir], capture_output=True, text=True).stdout).group(1))
    return pages * size, os.path.getsize(os.path.join(datadir, "data.mdb"))


def measure(members):
    """Build the organisation of `members` members and measure it."""
    branches = max(1, members // 500)
    halls = max(branches, members * 35 // 1000)
    pool = min(POOL, branches * 100)        # core seats: 200 a branch
    fans = members - branches - pool
    root = os.path.join(WORK, str(members))
    os.makedirs(root)
    hub = Hub(os.path.join(root, "hub"))
    hub.start()
    try:
        return build_and_measure(members, branches, halls, pool, fans, root, hub)
    finally:
        if hub.proc.poll() is None:
            hub.proc.kill()


def build_and_measure(members, branches, halls, pool, fans, root, hub):
    ep = hub.endpoint
    conns = [Conn(ep) for _ in range(CONNECTIONS)]
    fig = {}
    say = lambda text: print("  [%d] %s" % (members, text), file=sys.stderr, flush=True)

    say("%d branches" % branches)
    conns[0].call("officer.add", {"id": "o-1", "name": "舵主"})
    bulk(conns, [("branch.create", {"id": "b-%05d" % b, "name": "分舵%d" % b,
                                    "leader": "o-1"}) for b in range(branches)])
    leaders = os.path.join(root, "leaders.csv")
    with open(leaders, "w") as out:
        out.write("id,name,referrer,group\n")
        for b in range(branches):
            out.write("l-%05d,堂主%d,,b-%05d\n" % (b, b, b))
    ctl(ep, "import", "members", leaders)
    say("%d halls" % halls)
    started = time.monotonic()
    bulk(conns, [("hall.create", {"id": "h-%06d" % h, "name": "堂口%d" % h,
                                  "branch": "b-%05d" % (h % branches),
                                  "leader": "l-%05d" % (h % branches)}) for h in range(halls)])
    fig["hall.create calls/s"] = halls / (time.monotonic() - started)

    say("generating %d rows" % (fans + pool))
    fans_csv = os.path.join(root, "members.csv")
    with open(fans_csv, "w") as out:
        out.write("id,name,referrer,group\n")
        chunk = []
        for i in range(fans):
            chunk.append("m-%08d,粉丝%d,%s,h-%06d\n" % (i, i, "m-%08d" % (i - 1) if i % 4 == 1
                                                        else "", i % halls))
            if len(chunk) == 100000:
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))
        out.write("".join("j-%05d,候补%d,,\n" % (j, j) for j in range(pool)))
    say("import")
    seconds, _ = ctl(ep, "import", "members", fans_csv)
    os.unlink(fans_csv)
    fig["import rows/s"] = (fans + pool) / seconds
    fig["import s"] = seconds
    used, file_size = store_bytes(hub.datadir)
    fig["store bytes/member (tables)"] = used / members
    fig["store bytes/member (data.mdb)"] = file_size / members

    say("restart")
    hub.stop()
    fig["hub start ms"] = hub.start() * 1000
    for c in conns:
        c.sock.close(0)
    conns = [Conn(hub.endpoint) for _ in range(4)]
    say("latencies")
    rng = random.Random(7)
    show = [("member.show", {"id": "m-%08d" % rng.randrange(fans)}) for _ in range(SAMPLES)]
    fig["member.show p50 ms"], fig["member.show p99 ms"] = timed(conns, show)
    join = [("member.join", {"id": "j-%05d" % j, "branch": "b-%05d" % (j % branches)})
            for j in range(pool)]
    fig["member.join p50 ms"], fig["member.join p99 ms"] = timed(conns, join)
    move = [("member.transfer", {"id": "j-%05d" % j, "branch": "b-%05d" % ((j + 1) % branches)})
            for j in range(pool)]
    fig["member.transfer p50 ms"], fig["member.transfer p99 ms"] = timed(conns, move)

    for name, args in (("tree", ["tree"]), ("export members", ["export", "members"])):
        say(name)
        sampler = Sampler(hub)
        sampler.start()
        seconds, rss = ctl(hub.endpoint, *args)
        fig[name + " s"] = seconds
        fig[name + " CLI max RSS MiB"] = rss / 1024
        fig[name + " hub max anon RSS MiB"] = sampler.stop() / 1024
    for c in conns:
        c.sock.close(0)
    hub.stop()
    subprocess.run(["rm", "-rf", root])
    return fig


def main():
    small = measure(SMALL)
    large = measure(LARGE)
    print("scale: %d members (%d branches, %d halls) beside %d members, one run"
          % (LARGE, max(1, LARGE // 500), LARGE * 35 // 1000, SMALL))
    print("%-36s %14s %14s %9s" % ("", "%d" % LARGE, "%d" % SMALL, "ratio"))
    for key in large:
        ratio = large[key] / small[key] if small[key] else float("nan")
        print("%-36s %14.2f %14.2f %8.2fx" % (key, large[key], small[key], ratio))


if __name__ == "__main__":
    main()

"""harness.py -- start real duotang processes on ephemeral loopback ports and
drive them with duotangctl and raw DTP; a tiny test runner with bounded polling."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

import msgpack
import zmq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("DUOTANG_BIN", os.path.join(ROOT, "build", "asan"))
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
ENV.pop("DUOTANG_INSECURE", None)
ENV.pop("DUOTANG_KEY", None)
ENV.pop("DUOTANG_SERVER_KEY", None)
ENV.pop("DUOTANG_ENDPOINT", None)
# duotangctl speaks the locale's language (tests/system/test_i18n.py sets it):
# every other test reads its English
ENV.pop("LANGUAGE", None)
ENV["LC_ALL"] = "C"


def wait_for(predicate, timeout=10.0, what="condition"):
    """Poll predicate until it returns a true value, with a bounded deadline."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def read_keyfile(path):
    """Public and secret Z85 keys of a CZMQ certificate file."""
    public = secret = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("public-key"):
                public = line.split("=", 1)[1].strip().strip('"')
            if line.startswith("secret-key"):
                secret = line.split("=", 1)[1].strip().strip('"')
    return public, secret


class Process:
    """A duotang server process with a data directory that outlives restarts."""

    def __init__(self, program, datadir, args):
        self.program = program
        self.datadir = datadir
        self.args = args
        self.proc = None
        self.endpoint = None
        self.log = os.path.join(datadir + ".log")

    def start(self):
        os.makedirs(self.datadir, exist_ok=True)
        endpoint_file = os.path.join(self.datadir, "endpoint")
        if os.path.exists(endpoint_file):
            os.unlink(endpoint_file)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([os.path.join(BIN, self.program)] + self.args,
                                         stdout=log, stderr=log, env=ENV)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("%s exited with %s: %s" % (
                    self.program, self.proc.returncode, self.tail()))
            if os.path.exists(endpoint_file):
                text = open(endpoint_file).read().strip()
                return text or None
            return None
        self.endpoint = wait_for(ready, 20, self.program + " to listen")
        # Later starts reuse the port, so that connected peers find it again
        self.args = [a if a != "tcp://127.0.0.1:!" else self.endpoint for a in self.args]
        return self

    def tail(self):
        try:
            return open(self.log, errors="replace").read()[-2000:]
        except OSError:
            return ""

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(20)
        code = self.proc.returncode if self.proc else None
        self.proc = None
        return code

    def stop(self):
        return self.kill(signal.SIGTERM)

    def restart(self):
        self.kill()
        return self.start()


class Cluster:
    """A scratch directory with a hub, nodes and keys; cleaned up on close."""

    def __init__(self, secure=False):
        self.dir = tempfile.mkdtemp(prefix="duotang-test-")
        self.secure = secure
        self.procs = []
        self.admin_key = None
        if secure:
            self.admin_key = self.new_key("admin")

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def new_key(self, name):
        prefix = self.path(name)
        rc, out, err = self.ctl_local("key", "new", name, "--dir", self.dir)
        assert rc == 0, "key new failed: " + err
        return prefix

    def ctl_local(self, *args):
        proc = subprocess.run([os.path.join(BIN, "duotangctl")] + list(args),
                              capture_output=True, text=True, env=ENV, timeout=60)
        return proc.returncode, proc.stdout, proc.stderr

    def hub(self, *extra):
        args = ["-d", self.path("hub"), "-e", "tcp://127.0.0.1:!"] + list(extra)
        if self.secure:
            args += ["--admin", self.admin_key + ".pub"]
        else:
            args += ["--insecure"]
        hub = Process("duotang-hub", self.path("hub"), args).start()
        self.procs.append(hub)
        self.hub_proc = hub
        return hub

    def node(self, node_id, hub, *extra, key=None):
        args = ["-n", node_id, "--hub", hub.endpoint, "-d", self.path("node-" + node_id),
                "-e", "tcp://127.0.0.1:!"] + list(extra)
        if self.secure:
            args += ["-k", key + ".key", "--hub-key", self.path("hub", "hub.pub"),
                     "--admin", self.admin_key + ".pub"]
        else:
            args += ["--insecure"]
        node = Process("duotang-node", self.path("node-" + node_id), args).start()
        self.procs.append(node)
        return node

    def ctl(self, endpoint, *args, key=None, server_key=None, json_out=False, timeout=None):
        """Run duotangctl against endpoint; returns (rc, stdout, stderr)."""
        cmd = [os.path.join(BIN, "duotangctl"), "-e", endpoint]
        env = dict(ENV)
        if self.secure:
            cmd += ["-k", (key or self.admin_key) + ".key",
                    "-s", server_key or self.path("hub", "hub.pub")]
        else:
            env["DUOTANG_INSECURE"] = "1"
        if timeout:
            cmd += ["-t", str(timeout)]
        if json_out:
            cmd += ["--json"]
        proc = subprocess.run(cmd + list(args), capture_output=True, text=True, env=env,
                              timeout=120)
        return proc.returncode, proc.stdout, proc.stderr

    def ok(self, endpoint, *args, **kw):
        """Run duotangctl, expect success, return the parsed JSON result."""
        import json
        rc, out, err = self.ctl(endpoint, *args, json_out=True, **kw)
        assert rc == 0, "duotangctl %s failed (%d): %s" % (" ".join(args), rc, err.strip())
        return json.loads(out) if out.strip() else None

    def fails(self, endpoint, *args, expect=None, **kw):
        """Run duotangctl, expect failure with one stderr line containing expect."""
        rc, out, err = self.ctl(endpoint, *args, **kw)
        assert rc != 0, "duotangctl %s succeeded, expected failure" % " ".join(args)
        lines = err.strip().splitlines()
        assert len(lines) == 1, "expected one error line, got: %r" % err
        if expect:
            assert expect in lines[0], "expected %r in %r" % (expect, lines[0])
        return lines[0]

    def close(self):
        for proc in self.procs:
            proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    """A raw DTP client (DEALER), optionally with CURVE keys."""

    def __init__(self, endpoint, key_prefix=None, server_pub=None, timeout=5000):
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        if key_prefix:
            public, secret = read_keyfile(key_prefix + ".key")
            self.sock.curve_publickey = public.encode()
            self.sock.curve_secretkey = secret.encode()
            self.sock.curve_serverkey = read_keyfile(server_pub)[0].encode()
        self.sock.connect(endpoint)
        self.timeout = timeout
        self.next_id = 1

    def send_raw(self, *frames):
        self.sock.send_multipart(list(frames))

    def recv(self, timeout=None):
        if not self.sock.poll(self.timeout if timeout is None else timeout):
            return None
        frames = self.sock.recv_multipart()
        assert len(frames) == 2 and frames[0] == b"", "bad reply framing %r" % frames
        return msgpack.unpackb(frames[1], raw=False)

    def call(self, op, args=None, rid=None, timeout=None):
        request = {"v": 1, "id": self.next_id, "op": op}
        self.next_id += 1
        if args is not None:
            request["args"] = args
        if rid:
            request["rid"] = rid
        self.send_raw(b"", msgpack.packb(request))
        while True:
            reply = self.recv(timeout)
            if reply is None or reply.get("id") == request["id"]:
                return reply

    def result(self, op, args=None, **kw):
        reply = self.call(op, args, **kw)
        assert reply is not None, "no reply to " + op
        assert reply["ok"], "%s failed: %s" % (op, reply.get("error"))
        return reply["result"]

    def error(self, op, args=None, **kw):
        reply = self.call(op, args, **kw)
        assert reply is not None, "no reply to " + op
        assert not reply["ok"], "%s succeeded, expected an error" % op
        return reply["error"]["code"], reply["error"]["message"]

    def close(self):
        self.sock.close(0)


_tests = []


def sample_org(cluster, ep):
    """成都分舵 with a leader, two halls of cap 4 and some fans; 重庆分舵 (cap 3)
    empty: the organisation the CLI tests work on, built through duotangctl."""
    cluster.ok(ep, "officer", "add", "o-1", "张三")
    cluster.ok(ep, "officer", "add", "o-2", "李四")
    cluster.ok(ep, "branch", "create", "b-cd", "成都分舵", "--leader", "o-1")
    cluster.ok(ep, "branch", "create", "b-cq", "重庆分舵", "--leader", "o-2", "--cap", "3")
    for m in ("lead-a", "lead-b", "lead-c"):
        cluster.ok(ep, "member", "add", m, "堂主" + m[-1])
        cluster.ok(ep, "member", "join", m, "--branch", "b-cd")
    cluster.ok(ep, "hall", "create", "h-a", "青羊堂口", "--branch", "b-cd", "--leader", "lead-a",
               "--cap", "4")
    cluster.ok(ep, "hall", "create", "h-b", "锦江堂口", "--branch", "b-cd", "--leader", "lead-b",
               "--cap", "4")
    for i in range(3):
        cluster.ok(ep, "member", "add", "a-%d" % i, "粉丝%d" % i, "--referrer", "lead-a",
                   "--tag", "city=成都")
        cluster.ok(ep, "member", "join", "a-%d" % i, "--hall", "h-a")
    for i in range(2):
        cluster.ok(ep, "member", "add", "b-%d" % i, "酒友%d" % i)
        cluster.ok(ep, "member", "join", "b-%d" % i, "--hall", "h-b")


def test(fn):
    _tests.append(fn)
    return fn


def run(argv=None):
    """Run the registered tests (or those named in argv); print one line each
    and a closing 'N passed, N failed'. Exit status 1 if any failed."""
    names = set((argv or sys.argv)[1:])
    passed = failed = 0
    for fn in _tests:
        if names and fn.__name__ not in names:
            continue
        started = time.monotonic()
        try:
            fn()
            passed += 1
            print("PASS %s (%.1fs)" % (fn.__name__, time.monotonic() - started), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s\n%s" % (fn.__name__, traceback.format_exc()), flush=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)

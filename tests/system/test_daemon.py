"""test_daemon.py -- the hub and the node as daemons: SIGHUP reloads and kills
nobody, one server per data directory, the log's format and levels, strict
config files, and -h / usage errors in all three programs."""
import os
import re
import signal
import subprocess

from harness import BIN, ENV, Cluster, run, test, wait_for

ISO_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z duotang-(hub|node)\[\d+\] "
                      r"(ERROR|WARNING|NOTICE|INFO|DEBUG): ")


def program(name, *args, timeout=30):
    proc = subprocess.run([os.path.join(BIN, name)] + list(args), capture_output=True,
                          text=True, env=ENV, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def read(path):
    try:
        return open(path, errors="replace").read()
    except OSError:
        return ""


@test
def help_on_stdout_and_usage_errors_exit_2():
    cluster = Cluster()
    try:
        for name in ("duotang-hub", "duotang-node", "duotangctl"):
            for flag in ("-h", "--help"):
                rc, out, err = program(name, flag)
                assert rc == 0 and "usage" in out and err == "", (name, flag, rc, out, err)
            rc, out, err = program(name, "--no-such-flag")
            assert rc == 2 and "usage" in err and out == "", (name, rc, out, err)
        # Every flag the hub's usage lists is one it takes: -h after it is reached
        empty = cluster.path("empty.cfg")
        open(empty, "w").close()
        rc, usage, _ = program("duotang-hub", "-h")
        flags = sorted(set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", usage)))
        assert "-v" in flags and "--log" in flags and "--check" in flags, flags
        for flag in flags:
            takes = re.search(re.escape(flag) + r"[ ,]+(?:--[\w-]+ )?([A-Z][A-Z.]*)", usage)
            value = [empty if flag in ("-c", "--config") else "1"] if takes else []
            rc, out, err = program("duotang-hub", flag, *value, "-h")
            assert rc == 0 and ("usage" in out or flag in ("-V", "--version")), (flag, rc, err)
        # The node without its required flags is a usage error, not a crash
        rc, out, err = program("duotang-node", "-n", "n1")
        assert rc == 2 and "--hub" in err, (rc, err)
    finally:
        cluster.close()


@test
def sighup_reopens_the_log_and_kills_nobody():
    cluster = Cluster()
    try:
        log = cluster.path("hub-file.log")
        config = cluster.path("hub.cfg")
        with open(config, "w") as f:
            f.write("hub\n    log_keep = 5000\n")
        hub = cluster.hub("-l", log, "-c", config)
        assert cluster.ok(hub.endpoint, "hello")["role"] == "hq-admin"
        hub.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "SIGHUP" in read(log), what="the hub to log the SIGHUP")
        assert "log %s reopened" % log in read(log), read(log)
        assert "config %s re-read: no change" % config in read(log), read(log)
        # logrotate moves the file, then signals: the hub writes to a new one
        os.rename(log, log + ".1")
        with open(config, "w") as f:
            f.write("hub\n    log_keep = 6000\n")
        hub.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "SIGHUP" in read(log), what="the hub to reopen its log")
        assert "changed: log_keep" in read(log) and "restart" in read(log), read(log)
        assert hub.proc.poll() is None, "SIGHUP stopped the hub"
        assert cluster.ok(hub.endpoint, "hello")["role"] == "hq-admin"
        cluster.ok(hub.endpoint, "node", "add", "n1")
        node = cluster.node("n1", hub)
        node.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "SIGHUP" in node.tail(), what="the node to log the SIGHUP")
        assert node.proc.poll() is None, "SIGHUP stopped the node"
        assert cluster.ok(node.endpoint, "hello")
        assert hub.stop() == 0 and node.stop() == 0
        assert "stopping" in read(log), read(log)
    finally:
        cluster.close()


@test
def one_server_per_data_directory():
    cluster = Cluster()
    try:
        hub = cluster.hub()
        pid = hub.proc.pid
        assert open(cluster.path("hub", "lock")).read().strip() == str(pid)
        rc, out, err = program("duotang-hub", "-d", cluster.path("hub"), "--insecure",
                               "-e", "tcp://127.0.0.1:*")
        assert rc == 1 and "in use by pid %d" % pid in err and "lock" in err, (rc, err)
        cluster.ok(hub.endpoint, "node", "add", "n1")
        node = cluster.node("n1", hub)
        rc, out, err = program("duotang-node", "-n", "n1", "--hub", hub.endpoint, "--insecure",
                               "-d", cluster.path("node-n1"), "-e", "tcp://127.0.0.1:*")
        assert rc == 1 and "in use by pid %d" % node.proc.pid in err, (rc, err)
        # The lock dies with its holder: a hub killed with -9 restarts at once
        hub.restart()
        assert cluster.ok(hub.endpoint, "hello")
    finally:
        cluster.close()


@test
def log_lines_are_iso_8601_with_levels_on_stderr():
    cluster = Cluster()
    try:
        hub = cluster.hub("-v")
        hub.stop()
        lines = [l for l in hub.tail().splitlines() if l.strip()]
        assert lines and all(ISO_LINE.match(l) for l in lines), lines
        text = "\n".join(lines)
        assert "DEBUG: datadir" in text and "WARNING: insecure" in text, text
        quiet = Cluster()
        try:
            hub = quiet.hub("-q")
            assert quiet.ok(hub.endpoint, "hello")
            hub.stop()
            assert "WARNING: insecure" in hub.tail() and "INFO" not in hub.tail(), hub.tail()
        finally:
            quiet.close()
    finally:
        cluster.close()


@test
def unknown_config_keys_are_refused_with_key_and_line():
    cluster = Cluster()
    try:
        config = cluster.path("hub.cfg")
        with open(config, "w") as f:
            f.write("#   duotang hub\nhub\n    datadir = \"%s\"\n    endpont = tcp://*:1\n"
                    % cluster.path("hub"))
        rc, out, err = program("duotang-hub", "-c", config, "--insecure")
        assert rc == 1 and "line 4" in err and "hub/endpont" in err, (rc, err)
        assert not os.path.exists(cluster.path("hub", "data.mdb"))
    finally:
        cluster.close()


if __name__ == "__main__":
    run()

/* dt_daemon.c -- the data directory's lock, SIGHUP, and strict config files. */
#include "dt_daemon.h"
#include <sys/file.h>
#include <pthread.h>

int
dt_daemon_mkdirs (const char *dir)
{
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s", dir);
    for (char *slash = strchr (path + 1, '/'); slash; slash = strchr (slash + 1, '/')) {
        *slash = 0;
        if (mkdir (path, 0700) && errno != EEXIST)
            return -1;
        *slash = '/';
    }
    return mkdir (path, 0700) && errno != EEXIST? -1: 0;
}

int
dt_daemon_lock (const char *datadir, dt_err_t *err)
{
    if (dt_daemon_mkdirs (datadir))
        return dt_err_set (err, "INTERNAL", "data directory %s cannot be created: %s",
                           datadir, strerror (errno));
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s/lock", datadir);
    int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return dt_err_set (err, "INTERNAL", "%s cannot be opened: %s", path, strerror (errno));
    //  flock, not the pid alone: the kernel drops it when the holder dies,
    //  so a stale file after kill -9 never blocks a start
    if (flock (fd, LOCK_EX | LOCK_NB)) {
        int saved = errno;
        char text [32] = "";
        ssize_t got = pread (fd, text, sizeof (text) - 1, 0);
        text [got > 0? got: 0] = 0;
        text [strcspn (text, "\n")] = 0;
        close (fd);
        if (saved == EWOULDBLOCK)
            return dt_err_set (err, "BUSY", "%s is in use by pid %s (%s): one server per "
                               "data directory", datadir, *text? text: "?", path);
        return dt_err_set (err, "INTERNAL", "%s cannot be locked: %s", path,
                           strerror (saved));
    }
    char pid [24];
    int len = snprintf (pid, sizeof (pid), "%d\n", (int) getpid ());
    if (ftruncate (fd, 0) || pwrite (fd, pid, (size_t) len, 0) != len) {
        close (fd);
        return dt_err_set (err, "INTERNAL", "%s cannot be written: %s", path, strerror (errno));
    }
    return fd;
}

static struct {
    pthread_t thread;
    bool running;
    volatile bool stopping;
    dt_daemon_hup_fn *fn;
    void *arg;
} s_hup;

static void *
s_hup_thread (void *unused)
{
    (void) unused;
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGHUP);
    int signum;
    while (sigwait (&set, &signum) == 0 && !s_hup.stopping)
        s_hup.fn (s_hup.arg);
    return NULL;
}

void
dt_daemon_hup_start (dt_daemon_hup_fn *fn, void *arg)
{
    assert (!s_hup.running);
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGHUP);
    pthread_sigmask (SIG_BLOCK, &set, NULL);
    s_hup.fn = fn;
    s_hup.arg = arg;
    s_hup.stopping = false;
    s_hup.running = pthread_create (&s_hup.thread, NULL, s_hup_thread, NULL) == 0;
    assert (s_hup.running);
}

void
dt_daemon_hup_stop (void)
{
    if (s_hup.running) {
        s_hup.stopping = true;
        pthread_kill (s_hup.thread, SIGHUP);
        pthread_join (s_hup.thread, NULL);
        s_hup.running = false;
    }
}

int
dt_daemon_start (const char *ident, dt_log_level_t level, const char *log_path,
                 const char *datadir, bool insecure, dt_daemon_hup_fn *reload)
{
    dt_err_t err;
    dt_err_init (&err);
    dt_daemon_hup_start (reload, NULL);
    int lock = -1;
    if (dt_log_open (ident, level, log_path, &err))
        fprintf (stderr, "%s: %s\n", ident, err.message);
    else
    if ((lock = dt_daemon_lock (datadir, &err)) < 0)
        zsys_error ("start failed: %s", err.message);
    else
    if (insecure)
        zsys_warning ("insecure mode: no CURVE encryption, every peer acts as hq-admin. "
                      "For development on loopback only.");
    dt_err_reset (&err);
    return lock;
}

void
dt_daemon_finish (int lock)
{
    dt_daemon_hup_stop ();
    dt_log_close ();
    if (lock >= 0)
        close (lock);
}

/* True if path is a known key or a section holding one. */
static bool
s_known (const char *path, bool leaf, const char *const *known)
{
    size_t len = strlen (path);
    for (const char *const *k = known; *k; k++)
        if (streq (*k, path) || (!leaf && strncmp (*k, path, len) == 0 && (*k) [len] == '/'))
            return true;
    return false;
}

int
dt_daemon_config_check (const char *path, const char *const *known, dt_err_t *err)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return dt_err_set (err, "BAD_ARGS", "config file %s cannot be read: %s", path,
                           strerror (errno));
    char line [1024];
    char names [DT_DEPTH_MAX][128];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets (line, sizeof (line), file)) {
        lineno++;
        //  ZPL: four spaces of indentation per level, "name = value" or "name"
        size_t indent = strspn (line, " ");
        char *name = line + indent;
        size_t name_len = strcspn (name, " \t=\r\n#");
        if (name_len == 0)
            continue;       //  blank, comment, or a value continuation
        size_t level = indent / 4;
        if (level >= DT_DEPTH_MAX || name_len >= sizeof (names [0])) {
            rc = dt_err_set (err, "BAD_ARGS", "%s line %d: nested too deeply or too long",
                             path, lineno);
            break;
        }
        snprintf (names [level], sizeof (names [0]), "%.*s", (int) name_len, name);
        char key [DT_DEPTH_MAX * 129] = "";
        for (size_t i = 0; i <= level; i++)
            snprintf (key + strlen (key), sizeof (key) - strlen (key), "%s%s",
                      i? "/": "", names [i]);
        const char *rest = name + name_len + strspn (name + name_len, " \t");
        if (!s_known (key, *rest == '=', known)) {
            char list [512] = "";
            for (const char *const *k = known; *k; k++)
                snprintf (list + strlen (list), sizeof (list) - strlen (list), "%s%s",
                          k == known? "": ", ", *k);
            rc = dt_err_set (err, "BAD_ARGS", "%s line %d: unknown key %s (known: %s)",
                             path, lineno, key, list);
        }
    }
    fclose (file);
    return rc;
}

//  Self-test

static volatile int s_test_hups;

static void
s_test_hup (void *arg)
{
    (*(volatile int *) arg)++;
}

void
dt_daemon_test (bool verbose)
{
    (void) verbose;
    char dir [] = "/tmp/duotang-daemon-test-XXXXXX";
    assert (mkdtemp (dir));
    dt_err_t err;
    dt_err_init (&err);
    //  The lock: a second taker is told the first one's pid
    char datadir [PATH_MAX];
    snprintf (datadir, sizeof (datadir), "%s/a/b", dir);
    int fd = dt_daemon_lock (datadir, &err);
    assert (fd >= 0);
    assert (dt_daemon_lock (datadir, &err) == -1 && streq (err.code, "BUSY"));
    char pid [32];
    snprintf (pid, sizeof (pid), "pid %d ", (int) getpid ());
    assert (strstr (err.message, pid) && strstr (err.message, "/a/b/lock"));
    close (fd);
    fd = dt_daemon_lock (datadir, &err);
    assert (fd >= 0);
    close (fd);

    //  SIGHUP calls the function, in its thread, and kills nobody
    dt_daemon_hup_start (s_test_hup, (void *) &s_test_hups);
    for (int i = 0; i < 2; i++) {
        kill (getpid (), SIGHUP);
        for (int wait = 0; s_test_hups == i && wait < 500; wait++)
            zclock_sleep (10);
        assert (s_test_hups == i + 1);
    }
    dt_daemon_hup_stop ();
    assert (s_test_hups == 2);
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGHUP);
    pthread_sigmask (SIG_UNBLOCK, &set, NULL);

    //  Config files: every key known, the unknown one named with its line
    static const char *const known [] = { "hub/datadir", "hub/endpoint", NULL };
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s/hub.cfg", dir);
    FILE *file = fopen (path, "w");
    fprintf (file, "#   duotang\nhub\n    datadir = \"/srv\"  # here\n\n    endpont = x\n");
    fclose (file);
    assert (dt_daemon_config_check (path, known, &err) == -1);
    assert (strstr (err.message, "line 5: unknown key hub/endpont (known: hub/datadir, "));
    file = fopen (path, "w");
    fprintf (file, "hub\n    datadir = /srv\n    endpoint = tcp://*:7700\n");
    fclose (file);
    assert (dt_daemon_config_check (path, known, &err) == 0);
    file = fopen (path, "w");
    fprintf (file, "node\n    id = x\n");
    fclose (file);
    assert (dt_daemon_config_check (path, known, &err) == -1);
    assert (strstr (err.message, "line 1: unknown key node "));
    unlink (path);
    assert (dt_daemon_config_check (path, known, &err) == -1);
    snprintf (path, sizeof (path), "%s/a/b/lock", dir);
    unlink (path);
    snprintf (path, sizeof (path), "%s/a/b", dir);
    rmdir (path);
    snprintf (path, sizeof (path), "%s/a", dir);
    rmdir (path);
    rmdir (dir);
    dt_err_reset (&err);
}

/* bench.c -- make bench: hub join throughput, replication lag, node catch-up,
   posts judged at a node and a node's content backlog reaching the hub, the
   organisation-wide compliance summary, each printed beside a raw baseline
   measured in the same run, as a ratio.

   usage: bench BINDIR WORKDIR [hub|tail|replication|content|report]   (default: all)
   Starts duotang-hub and duotang-node from BINDIR as child processes with
   their data under WORKDIR, and writes the ids of the live ones to
   WORKDIR/pids so that bench.sh can kill them if this program dies. */
#include "args.h"
#include "client.h"
#include "keys.h"
#include "repl.h"
#include "item.h"
#include "uplink.h"
#include "report.h"
#include "page.h"
#include "dt_time.h"
#include "policy.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>

//  Sizes: chosen so that the whole run stays well under three minutes on two cores

#define JOIN_THREADS      16        /* concurrent clients, one connection each */
#define JOIN_WINDOW       8         /* requests in flight per client */
#define JOIN_COUNT        96000     /* timed member.join requests */
#define HALL_SEATS        DT_HALL_CAP_DEFAULT
#define RAW_DURABLE_MAX   3000      /* raw durable puts, or RAW_DURABLE_US */
#define RAW_DURABLE_US    3000000
#define RAW_BATCH         256
#define STREAM_RATE       300       /* background joins per second */
#define PROBES            250
#define PROBE_SPAN_US     6000000   /* probes spread over this much of the stream */
#define PROBE_DEADLINE_US 5000000
#define RTT_ROUNDS        5000
#define CATCHUP_CHANGES   1000000
#define CATCHUP_PUTS_TXN  10000
#define CHURN_MEMBERS     12000     /* members joining and leaving for the catch-up */
#define NODE_CREDIT       4096      /* entries per replica transaction (the node's credit) */
#define SNAPSHOT_KEEP     1000      /* log entries left when forcing a snapshot */
#define START_DEADLINE_MS 20000
#define SYNC_DEADLINE_MS  30000
#define CATCHUP_DEADLINE_MS 90000
#define BENCH_DEADLINE_S  600       /* the whole program, whatever happens */
#define HUB_MAPSIZE_MB    8192

#define CHILDREN_MAX      4

#define S_STR(x)  #x
#define S_XSTR(x) S_STR (x)

//  Where a failing step says why; per thread
static _Thread_local char s_why [400];

static int
s_fail (const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    vsnprintf (s_why, sizeof (s_why), fmt, args);
    va_end (args);
    return -1;
}

static int64_t
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
s_sleep_until (int64_t when_us)
{
    int64_t left = when_us - s_now_us ();
    if (left > 0)
        usleep ((useconds_t) left);
}

/* Flush what earlier steps left for writeback, so that it does not slow the
   fsyncs of the next timed step. */
static void
s_settle (void)
{
    sync ();
}

//  Output

static void
s_header (void)
{
    printf ("%-36s %11s %-9s  %-38s %11s %-9s  %7s\n", "figure", "value", "unit",
            "baseline", "value", "unit", "ratio");
}

/* One figure beside its baseline; both values in units of the same scale. */
static void
s_row (const char *name, double value, const char *unit,
       const char *base_name, double base, const char *base_unit)
{
    printf ("%-36s %11.1f %-9s  %-38s %11.1f %-9s  %7.2f\n", name, value, unit,
            base_name, base, base_unit, base > 0? value / base: 0);
    fflush (stdout);
}

static void
s_row_na (const char *name, const char *why)
{
    printf ("%-36s %11s  (%s)\n", name, "n/a", why);
    fflush (stdout);
}

static void
s_note (const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    printf ("  ");
    vprintf (fmt, args);
    printf ("\n");
    va_end (args);
    fflush (stdout);
}

//  Child processes: every one is killed on every way out

static pid_t s_children [CHILDREN_MAX];
static char s_pids_file [PATH_MAX];
static char s_bindir [PATH_MAX / 4];
static char s_workdir [PATH_MAX / 4];

static void
s_pids_save (void)
{
    FILE *file = fopen (s_pids_file, "w");
    if (!file)
        return;
    for (int i = 0; i < CHILDREN_MAX; i++)
        if (s_children [i] > 0)
            fprintf (file, "%d\n", (int) s_children [i]);
    fclose (file);
}

/* Async-signal-safe: used by the signal handler as well as at exit. */
static void
s_children_kill (void)
{
    for (int i = 0; i < CHILDREN_MAX; i++)
        if (s_children [i] > 0) {
            kill (s_children [i], SIGKILL);
            waitpid (s_children [i], NULL, 0);
            s_children [i] = 0;
        }
}

static void
s_on_signal (int signum)
{
    static const char message [] = "bench: interrupted or past its deadline, stopping\n";
    if (signum == SIGALRM && write (2, message, sizeof (message) - 1) < 0)
        signum = SIGALRM;
    s_children_kill ();
    _exit (128 + signum);
}

static pid_t
s_spawn (char *argv [], const char *log)
{
    int slot = 0;
    while (slot < CHILDREN_MAX && s_children [slot] > 0)
        slot++;
    assert (slot < CHILDREN_MAX);
    pid_t pid = fork ();
    if (pid == 0) {
        int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2 (fd, 1);
            dup2 (fd, 2);
            close (fd);
        }
        execv (argv [0], argv);
        _exit (127);
    }
    if (pid > 0) {
        s_children [slot] = pid;
        s_pids_save ();
    }
    return pid;
}

/* A child that has been reaped is no longer ours to kill. */
static void
s_forget (pid_t pid)
{
    for (int i = 0; i < CHILDREN_MAX; i++)
        if (s_children [i] == pid)
            s_children [i] = 0;
    s_pids_save ();
}

/* Stop a child politely (SIGTERM), then firmly after 5 s. */
static void
s_stop (pid_t *pid_p)
{
    pid_t pid = *pid_p;
    if (pid <= 0)
        return;
    kill (pid, SIGTERM);
    int64_t deadline = s_now_us () + 5000000;
    while (waitpid (pid, NULL, WNOHANG) == 0) {
        if (s_now_us () > deadline) {
            kill (pid, SIGKILL);
            waitpid (pid, NULL, 0);
            break;
        }
        usleep (10000);
    }
    s_forget (pid);
    *pid_p = 0;
}

//  Servers

typedef struct {
    pid_t pid;
    char dir [PATH_MAX / 2];
    char log [PATH_MAX / 2 + 8];
    char endpoint [256];
} s_server_t;

/* Last non-empty line of a log, for a failure reason. */
static void
s_log_tail (const char *path, char *out, size_t size)
{
    *out = 0;
    FILE *file = fopen (path, "r");
    if (!file)
        return;
    char line [512];
    while (fgets (line, sizeof (line), file)) {
        line [strcspn (line, "\r\n")] = 0;
        if (*line)
            snprintf (out, size, "%.250s", line);
    }
    fclose (file);
}

/* Start BINDIR/program with args (NULL-terminated) and wait until it writes
   DIR/endpoint. 0, or -1 with s_why set (and the process stopped). */
static int
s_server_start (s_server_t *self, const char *program, const char *args [])
{
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s/%s", s_bindir, program);
    if (access (path, X_OK))
        return s_fail ("%s is not built", path);
    char *argv [24];
    int argc = 0;
    argv [argc++] = path;
    for (int i = 0; args [i] && argc < 23; i++)
        argv [argc++] = (char *) args [i];
    argv [argc] = NULL;
    mkdir (self->dir, 0700);
    char endpoint_file [PATH_MAX];
    snprintf (endpoint_file, sizeof (endpoint_file), "%s/endpoint", self->dir);
    unlink (endpoint_file);
    snprintf (self->log, sizeof (self->log), "%s.log", self->dir);
    self->pid = s_spawn (argv, self->log);
    if (self->pid < 0)
        return s_fail ("fork failed: %s", strerror (errno));
    int64_t deadline = s_now_us () + START_DEADLINE_MS * 1000LL;
    while (s_now_us () < deadline) {
        int status;
        if (waitpid (self->pid, &status, WNOHANG) == self->pid) {
            s_forget (self->pid);
            self->pid = 0;
            char tail [300];
            s_log_tail (self->log, tail, sizeof (tail));
            return s_fail ("%s exited with status %d: %s", program,
                           WIFEXITED (status)? WEXITSTATUS (status): 128 + WTERMSIG (status),
                           tail);
        }
        FILE *file = fopen (endpoint_file, "r");
        if (file) {
            bool read = fgets (self->endpoint, sizeof (self->endpoint), file) != NULL;
            fclose (file);
            self->endpoint [strcspn (self->endpoint, "\r\n")] = 0;
            if (read && *self->endpoint)
                return 0;
        }
        usleep (20000);
    }
    s_stop (&self->pid);
    return s_fail ("%s did not listen within %d ms", program, START_DEADLINE_MS);
}

static int
s_hub_start (s_server_t *self, const char *log_keep)
{
    const char *args [] = { "--insecure", "-d", self->dir, "-e", "tcp://127.0.0.1:*",
                            "--log-keep", log_keep, NULL };
    return s_server_start (self, "duotang-hub", args);
}

static int
s_node_start (s_server_t *self, const char *hub)
{
    const char *args [] = { "-n", "n1", "--hub", hub, "-d", self->dir,
                            "-e", "tcp://127.0.0.1:*", "--insecure", NULL };
    return s_server_start (self, "duotang-node", args);
}

//  Requests

/* A connection with CURVE key file `key` to a server whose public key is
   `server_key`; both NULL: insecure (the servers the bench starts). */
static client_t *
s_connect_as (const char *endpoint, const char *key, const char *server_key, int timeout_ms)
{
    client_opts_t opts = { .endpoint = endpoint, .insecure = key == NULL, .key_file = key,
                           .server_key = server_key, .timeout_ms = timeout_ms };
    dt_err_t err;
    dt_err_init (&err);
    client_t *client = client_new (&opts, &err);
    if (!client)
        s_fail ("connect %s: %s", endpoint, err.message);
    dt_err_reset (&err);
    return client;
}

static client_t *
s_connect (const char *endpoint, int timeout_ms)
{
    return s_connect_as (endpoint, NULL, NULL, timeout_ms);
}

/* Call op; the reply must be ok. On 0 with reply not NULL the caller
   releases *reply. -1 with s_why set otherwise. */
static int
s_call (client_t *client, const char *op, args_t *args, proto_reply_t *reply)
{
    proto_reply_t local;
    proto_reply_t *r = reply? reply: &local;
    dt_err_t err;
    dt_err_init (&err);
    int rc = client_call (client, op, args? args_map (args): NULL, NULL, r, &err);
    if (args)
        args_destroy (args);
    if (rc)
        s_fail ("%s: %s", op, err.message);
    else
    if (!r->ok) {
        rc = s_fail ("%s: %s %s", op, r->code, r->message);
        proto_reply_release (r);
    }
    else
    if (!reply)
        proto_reply_release (r);
    dt_err_reset (&err);
    return rc;
}

static void
s_id (char out [DT_ID_MAX + 1], const char *prefix, size_t index)
{
    snprintf (out, DT_ID_MAX + 1, "%s-%06zu", prefix, index);
}

/* Build request `index` of a pipeline: its op and packed args. */
typedef const char *(s_make_fn) (size_t index, args_t *args, void *arg);

/* Send count requests over one connection with up to window in flight; every
   reply must be ok. A BUSY reply (the per-connection rate limit) is retried
   after a pause and counted in *busy. 0, or -1 with s_why set. */
static int
s_pipeline (client_t *client, size_t count, int window, s_make_fn *make, void *arg,
            uint64_t *busy)
{
    //  A slot per request in flight (id 0: free). Replies are matched by id:
    //  a BUSY answered on arrival may overtake replies to requests queued
    //  before it (fair share, PROTOCOL.md 4)
    uint64_t *ids = calloc (window, sizeof (uint64_t));
    size_t *index = calloc (window, sizeof (size_t));
    assert (ids && index);
    size_t next = 0, inflight = 0;
    int rc = 0;
    while (rc == 0 && (next < count || inflight)) {
        for (int slot = 0; slot < window && next < count; slot++)
            if (ids [slot] == 0) {
                args_t args;
                const char *op = make (next, &args, arg);
                ids [slot] = client_send (client, op, args_map (&args));
                index [slot] = next++;
                inflight++;
                args_destroy (&args);
            }
        proto_reply_t reply;
        dt_err_t err;
        dt_err_init (&err);
        int slot = -1;
        if (client_recv (client, 30000, &reply, &err))
            rc = s_fail ("no reply within 30 s (%zu of %zu answered)", next - inflight, count);
        else
            for (int i = 0; i < window && slot < 0 && !*reply.push; i++)
                if (ids [i] && ids [i] == reply.id)
                    slot = i;
        if (rc == 0 && slot < 0)
            rc = s_fail ("reply %" PRIu64 " to no request in flight", reply.id);
        else
        if (rc == 0 && !reply.ok && streq (reply.code, "BUSY")) {
            //  Send the same request again, in the same slot
            (*busy)++;
            usleep (2000);
            args_t args;
            const char *op = make (index [slot], &args, arg);
            ids [slot] = client_send (client, op, args_map (&args));
            args_destroy (&args);
        }
        else
        if (rc == 0 && !reply.ok)
            rc = s_fail ("request %zu: %s %s", index [slot], reply.code, reply.message);
        else
        if (rc == 0) {
            ids [slot] = 0;
            inflight--;
        }
        proto_reply_release (&reply);
        dt_err_reset (&err);
    }
    free (ids);
    free (index);
    return rc;
}

//  Organisation set-up through the protocol

/* A group of halls in one branch: leaders "l<tag>-N" hold core seats, halls
   "h<tag>-N" are led by them, members "<tag>-N" start unplaced; member i
   belongs in hall i / 30. */
typedef struct {
    const char *branch;
    char tag [8];
    char leaders [12];
    char halls [12];
    size_t members;
    size_t nhalls;
} s_group_t;

static void
s_group_init (s_group_t *self, const char *branch, const char *tag, size_t members)
{
    self->branch = branch;
    snprintf (self->tag, sizeof (self->tag), "%s", tag);
    snprintf (self->leaders, sizeof (self->leaders), "l%s", tag);
    snprintf (self->halls, sizeof (self->halls), "h%s", tag);
    self->members = members;
    self->nhalls = (members + HALL_SEATS - 1) / HALL_SEATS;
}

/* import.members: ids prefix-N for N in [0, count), all into group ("" =
   unplaced), in requests of 5000 rows. */
static int
s_import (client_t *client, const char *prefix, size_t count, const char *group)
{
    for (size_t first = 0; first < count; first += 5000) {
        size_t rows = count - first < 5000? count - first: 5000;
        args_t args;
        args_init (&args);
        msgpack_packer *pk = args_key (&args, "rows");
        msgpack_pack_array (pk, rows);
        for (size_t i = 0; i < rows; i++) {
            char id [DT_ID_MAX + 1];
            s_id (id, prefix, first + i);
            const char *fields [] = { "id", id, "name", id, "referrer", "", "group", group };
            msgpack_pack_map (pk, 5);
            proto_pack_key (pk, "line");
            msgpack_pack_uint64 (pk, i + 1);
            for (size_t f = 0; f < 8; f++)
                proto_pack_str (pk, fields [f]);
        }
        if (s_call (client, "import.members", &args, NULL))
            return -1;
    }
    return 0;
}

static const char *
s_make_hall (size_t index, args_t *args, void *arg)
{
    s_group_t *group = arg;
    char id [DT_ID_MAX + 1], leader [DT_ID_MAX + 1];
    s_id (id, group->halls, index);
    s_id (leader, group->leaders, index);
    args_init (args);
    args_str (args, "id", id);
    args_str (args, "name", id);
    args_str (args, "branch", group->branch);
    args_str (args, "leader", leader);
    return "hall.create";
}

static int
s_group_create (client_t *client, s_group_t *self)
{
    uint64_t busy = 0;
    if (s_import (client, self->leaders, self->nhalls, self->branch)
    ||  s_pipeline (client, self->nhalls, 32, s_make_hall, self, &busy)
    ||  s_import (client, self->tag, self->members, ""))
        return -1;
    return 0;
}

/* Officer o-1 and a branch with room for many hall leaders. */
static int
s_branch_create (client_t *client, const char *branch)
{
    args_t args;
    args_init (&args);
    args_str (&args, "id", "o-1");
    args_str (&args, "name", "officer one");
    if (s_call (client, "officer.add", &args, NULL))
        return -1;
    args_init (&args);
    args_str (&args, "id", branch);
    args_str (&args, "name", branch);
    args_str (&args, "leader", "o-1");
    args_uint (&args, "cap", DT_CAP_MAX);
    return s_call (client, "branch.create", &args, NULL);
}

typedef struct {
    const s_group_t *group;
    size_t first;               /* member index of request 0 */
} s_join_t;

static const char *
s_make_join (size_t index, args_t *args, void *arg)
{
    s_join_t *self = arg;
    size_t member = self->first + index;
    char id [DT_ID_MAX + 1], hall [DT_ID_MAX + 1];
    s_id (id, self->group->tag, member);
    s_id (hall, self->group->halls, member / HALL_SEATS);
    args_init (args);
    args_str (args, "id", id);
    args_str (args, "hall", hall);
    return "member.join";
}

//  Load from several clients at once

typedef struct {
    const char *endpoint;
    const char *key, *server_key;   /* CURVE, or NULL: insecure */
    s_make_fn *make;
    void *arg;                  /* make's, one per client */
    size_t count;
    int window;
    pthread_barrier_t *start;
    int64_t finished;
    uint64_t busy;
    int rc;
    char why [400];
} s_loader_t;

static void *
s_loader_run (void *arg)
{
    s_loader_t *self = arg;
    client_t *client = s_connect_as (self->endpoint, self->key, self->server_key, 30000);
    self->rc = client? s_call (client, "hello", NULL, NULL): -1;
    pthread_barrier_wait (self->start);
    if (self->rc == 0)
        self->rc = s_pipeline (client, self->count, self->window, self->make, self->arg,
                               &self->busy);
    self->finished = s_now_us ();
    if (self->rc)
        snprintf (self->why, sizeof (self->why), "%s", s_why);
    client_destroy (&client);
    return NULL;
}

/* `clients` connections each send `share` requests built by make (with
   args [i]), `window` in flight; requests/s of them all into *rate. */
static int
s_load (const char *endpoint, int clients, size_t share, int window, s_make_fn *make,
        void **args, double *rate, uint64_t *busy)
{
    s_loader_t *loaders = calloc (clients, sizeof (s_loader_t));
    pthread_t *threads = calloc (clients, sizeof (pthread_t));
    assert (loaders && threads);
    pthread_barrier_t start;
    pthread_barrier_init (&start, NULL, clients + 1);
    for (int i = 0; i < clients; i++) {
        loaders [i] = (s_loader_t) { .endpoint = endpoint, .make = make, .arg = args [i],
                                     .count = share, .window = window, .start = &start };
        pthread_create (&threads [i], NULL, s_loader_run, &loaders [i]);
    }
    s_settle ();
    pthread_barrier_wait (&start);
    int64_t started = s_now_us (), finished = started;
    int rc = 0;
    *busy = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join (threads [i], NULL);
        if (loaders [i].rc && rc == 0)
            rc = s_fail ("client %d: %s", i, loaders [i].why);
        finished = loaders [i].finished > finished? loaders [i].finished: finished;
        *busy += loaders [i].busy;
    }
    pthread_barrier_destroy (&start);
    *rate = (double) share * clients * 1e6 / (double) (finished - started);
    free (loaders);
    free (threads);
    return rc;
}

//  Figure 1: member joins per second through the hub

/* Time JOIN_COUNT joins from JOIN_THREADS clients; joins/s into *rate. */
static int
s_hub_joins (const char *endpoint, const s_group_t *group, double *rate, uint64_t *busy)
{
    s_join_t joins [JOIN_THREADS];
    void *args [JOIN_THREADS];
    size_t share = JOIN_COUNT / JOIN_THREADS;
    for (int i = 0; i < JOIN_THREADS; i++) {
        joins [i] = (s_join_t) { group, i * share };
        args [i] = &joins [i];
    }
    return s_load (endpoint, JOIN_THREADS, share, JOIN_WINDOW, s_make_join, args, rate, busy);
}

static void
s_member_init (member_t *member, const char *id, seat_kind_t seat, const char *group)
{
    memset (member, 0, sizeof (*member));
    snprintf (member->id, sizeof (member->id), "%s", id);
    snprintf (member->name, sizeof (member->name), "%s", id);
    snprintf (member->group, sizeof (member->group), "%s", group);
    member->seat = seat;
    member->created = dt_now_ms ();
}

/* The same records straight into a store: an officer, branch b-1, halls with
   core-seated leaders and unplaced members, written in one transaction. */
static int
s_raw_populate (store_t *store, const s_group_t *group, dt_err_t *err)
{
    store_txn_t txn;
    if (store_begin (store, &txn, NULL, true, err))
        return -1;
    txn.log = true;
    officer_t officer = { .id = "o-1", .name = "officer one", .created = dt_now_ms () };
    branch_t branch = { .cap = DT_CAP_MAX, .created = dt_now_ms () };
    snprintf (branch.id, sizeof (branch.id), "%s", group->branch);
    snprintf (branch.name, sizeof (branch.name), "%s", group->branch);
    strcpy (branch.leader, "o-1");
    int rc = tree_officer_put (&txn, &officer, err) || tree_branch_put (&txn, &branch, err);
    for (size_t i = 0; i < group->nhalls && rc == 0; i++) {
        member_t leader;
        hall_t hall = { .created = dt_now_ms () };
        s_id (hall.id, group->halls, i);
        strcpy (hall.name, hall.id);
        strcpy (hall.branch, branch.id);
        s_id (hall.leader, group->leaders, i);
        s_member_init (&leader, hall.leader, SEAT_CORE, branch.id);
        rc = tree_member_put (&txn, &leader, err) || tree_hall_put (&txn, &hall, err);
    }
    for (size_t i = 0; i < group->members && rc == 0; i++) {
        member_t member;
        char id [DT_ID_MAX + 1];
        s_id (id, group->tag, i);
        s_member_init (&member, id, SEAT_NONE, "");
        rc = tree_member_put (&txn, &member, err);
    }
    if (rc) {
        store_abort (&txn);
        return -1;
    }
    return store_commit (&txn, err);
}

/* Seat members [first, first + count) in their halls, per_txn puts in each
   durable commit; stop early after max_us. Returns puts done, -1 on error. */
static long
s_raw_seat (store_t *store, const s_group_t *group, size_t first, size_t count,
            size_t per_txn, int64_t max_us, dt_err_t *err)
{
    int64_t started = s_now_us ();
    size_t done = 0;
    while (done < count && s_now_us () - started < max_us) {
        store_txn_t txn;
        if (store_begin (store, &txn, NULL, true, err))
            return -1;
        txn.log = true;
        for (size_t i = 0; i < per_txn && done < count; i++, done++) {
            member_t member;
            char id [DT_ID_MAX + 1], hall [DT_ID_MAX + 1];
            s_id (id, group->tag, first + done);
            s_id (hall, group->halls, (first + done) / HALL_SEATS);
            s_member_init (&member, id, SEAT_HALL, hall);
            if (tree_member_put (&txn, &member, err)) {
                store_abort (&txn);
                return -1;
            }
        }
        if (store_commit (&txn, err))
            return -1;
    }
    return (long) done;
}

/* The joins per commit the hub achieved: from its change log (stopped),
   the commits (entries marked "end") holding a member seated in a hall. */
typedef struct {
    uint64_t joins;             /* member changes seating in a hall */
    uint64_t commits;           /* commits holding one */
    bool seen;                  /* the commit being read holds one */
} s_batches_t;

static int
s_count_batch (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    (void) key; (void) key_size;
    s_batches_t *self = arg;
    stream_change_t change;
    dt_err_t err;
    dt_err_init (&err);
    if (stream_change_decode (&change, val, val_size, NULL, &err))
        return 0;
    member_t member;
    if (streq (change.table, "member") && change.value
    &&  record_member_decode (&member, change.value, change.value_size) == 0
    &&  member.seat == SEAT_HALL) {
        self->joins++;
        self->seen = true;
    }
    if (change.end && self->seen) {
        self->commits++;
        self->seen = false;
    }
    return 0;
}

static double
s_hub_batch (const char *dir)
{
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = store_new (dir, 4096, &err);
    s_batches_t batches = { 0 };
    if (store) {
        store_txn_t txn;
        if (store_begin (store, &txn, NULL, false, &err) == 0) {
            store_scan (&txn, TBL_LOG, NULL, 0, NULL, 0, s_count_batch, &batches, &err);
            store_abort (&txn);
        }
        store_destroy (&store);
    }
    dt_err_reset (&err);
    return batches.commits? batches.joins / (double) batches.commits: 0;
}

/* Raw puts per second: one durable commit each, and per_txn per commit. */
static int
s_raw_joins (size_t per_txn, double *durable, double *batched)
{
    char dir [PATH_MAX];
    snprintf (dir, sizeof (dir), "%s/raw-joins", s_workdir);
    mkdir (dir, 0700);
    dt_err_t err;
    dt_err_init (&err);
    s_group_t group;
    s_group_init (&group, "b-1", "m", RAW_DURABLE_MAX + JOIN_COUNT);
    store_t *store = store_new (dir, 2048, &err);
    int rc = store? s_raw_populate (store, &group, &err): -1;
    if (rc == 0) {
        s_settle ();
        int64_t started = s_now_us ();
        long done = s_raw_seat (store, &group, 0, RAW_DURABLE_MAX, 1, RAW_DURABLE_US, &err);
        *durable = done > 0? done * 1e6 / (double) (s_now_us () - started): 0;
        started = s_now_us ();
        long batch = done < 0? -1: s_raw_seat (store, &group, RAW_DURABLE_MAX, JOIN_COUNT,
                                                per_txn, INT64_MAX, &err);
        *batched = batch > 0? batch * 1e6 / (double) (s_now_us () - started): 0;
        rc = done < 0 || batch < 0? -1: 0;
    }
    if (rc)
        s_fail ("raw LMDB: %s", err.message);
    store_destroy (&store);
    store_remove (dir);
    dt_err_reset (&err);
    return rc;
}

static void
s_figure_hub (void)
{
    const char *name = "hub member.join (" S_XSTR (JOIN_THREADS) " clients x "
                       S_XSTR (JOIN_WINDOW) ")";
    s_server_t hub = { 0 };
    snprintf (hub.dir, sizeof (hub.dir), "%s/hub1", s_workdir);
    if (s_hub_start (&hub, "3000000")) {
        s_row_na (name, s_why);
        return;
    }
    s_group_t group;
    s_group_init (&group, "b-1", "m", JOIN_COUNT);
    client_t *client = s_connect (hub.endpoint, 60000);
    double rate = 0, durable = 0, batched = 0;
    uint64_t busy = 0;
    int rc = client? 0: -1;
    if (rc == 0)
        rc = s_branch_create (client, group.branch) || s_group_create (client, &group)
           || s_hub_joins (hub.endpoint, &group, &rate, &busy)? -1: 0;
    client_destroy (&client);
    s_stop (&hub.pid);
    //  The batch the hub achieved, read from its log, is the raw figure's
    double achieved = rc? 0: s_hub_batch (hub.dir);
    store_remove (hub.dir);
    if (rc) {
        s_row_na (name, s_why);
        return;
    }
    size_t per_txn = achieved >= 1? (size_t) (achieved + 0.5): RAW_BATCH;
    double fixed = 0;
    if (s_raw_joins (per_txn, &durable, &batched)
    ||  s_raw_joins (RAW_BATCH, &(double) { 0 }, &fixed)) {
        s_row_na ("raw LMDB member put", s_why);
        return;
    }
    char what [80];
    snprintf (what, sizeof (what), "raw LMDB put, %zu per durable commit (hub's batch)",
              per_txn);
    s_row (name, rate, "joins/s", "raw LMDB put, 1 durable commit each", durable, "puts/s");
    s_row (name, rate, "joins/s", what, batched, "puts/s");
    s_row (name, rate, "joins/s", "raw LMDB put, " S_XSTR (RAW_BATCH) " per durable commit",
           fixed, "puts/s");
    s_note ("%d joins acknowledged ok; the hub group-commits them with fsync, %.1f joins "
            "per commit on average", JOIN_COUNT, achieved);
    if (busy)
        s_note ("%" PRIu64 " BUSY replies (rate limit %d/s per connection) were retried",
                busy, DT_RATE_MAX);
}

//  Raw ZeroMQ round trip: DEALER to an echoing ROUTER over tcp loopback

typedef struct {
    zsock_t *router;
    atomic_bool stop;
} s_echo_t;

static void *
s_echo_run (void *arg)
{
    s_echo_t *self = arg;
    zsock_set_rcvtimeo (self->router, 100);
    while (!self->stop) {
        zmsg_t *msg = zmsg_recv (self->router);
        if (msg)
            zmsg_send (&msg, self->router);
    }
    return NULL;
}

static int
s_compare (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static int64_t
s_percentile (const int64_t *sorted, size_t count, int percent)
{
    size_t rank = (count * percent + 99) / 100;
    return sorted [rank? rank - 1: 0];
}

//  Fair share: another key's latency while one key floods (PROTOCOL.md 4)

#define FLOOD_CLIENTS     20        /* connections of the flooding key */
#define FLOOD_WINDOW      32
#define FLOOD_EACH        300       /* writes per connection */
#define PROBE_HELLOS      200

typedef struct {
    size_t first;
} s_flooder_t;

static const char *
s_make_flood (size_t index, args_t *args, void *arg)
{
    s_flooder_t *self = arg;
    char id [DT_ID_MAX + 1];
    s_id (id, "fl", self->first + index);
    args_init (args);
    args_str (args, "id", id);
    args_str (args, "name", id);
    return "member.add";
}

/* The p50 and p99 of count hello round trips, in us. */
static int
s_hello_latency (client_t *client, int count, int64_t *p50, int64_t *p99)
{
    int64_t *took = calloc (count, sizeof (int64_t));
    assert (took);
    int rc = 0;
    for (int i = 0; i < count && rc == 0; i++) {
        int64_t started = s_now_us ();
        rc = s_call (client, "hello", NULL, NULL);
        took [i] = s_now_us () - started;
    }
    qsort (took, count, sizeof (int64_t), s_compare);
    *p50 = s_percentile (took, count, 50);
    *p99 = s_percentile (took, count, 99);
    free (took);
    return rc;
}

/* Flood from FLOOD_CLIENTS connections of key `flood` while `prober` times
   its hellos; the flooders' BUSY answers into *busy. */
static int
s_flood_and_probe (const char *endpoint, const char *flood, const char *server_key,
                   client_t *prober, int64_t *p50, int64_t *p99, uint64_t *busy)
{
    s_loader_t loaders [FLOOD_CLIENTS];
    s_flooder_t floods [FLOOD_CLIENTS];
    pthread_t threads [FLOOD_CLIENTS];
    pthread_barrier_t start;
    pthread_barrier_init (&start, NULL, FLOOD_CLIENTS + 1);
    for (int i = 0; i < FLOOD_CLIENTS; i++) {
        floods [i].first = (size_t) i * FLOOD_EACH;
        loaders [i] = (s_loader_t) { .endpoint = endpoint, .key = flood,
                                     .server_key = server_key, .make = s_make_flood,
                                     .arg = &floods [i], .count = FLOOD_EACH,
                                     .window = FLOOD_WINDOW, .start = &start };
        pthread_create (&threads [i], NULL, s_loader_run, &loaders [i]);
    }
    pthread_barrier_wait (&start);
    usleep (200000);                //  the flood is on
    int rc = s_hello_latency (prober, PROBE_HELLOS, p50, p99);
    *busy = 0;
    for (int i = 0; i < FLOOD_CLIENTS; i++) {
        pthread_join (threads [i], NULL);
        *busy += loaders [i].busy;
        if (loaders [i].rc && rc == 0)
            rc = s_fail ("flooder %d: %s", i, loaders [i].why);
    }
    pthread_barrier_destroy (&start);
    return rc;
}

static void
s_figure_fair_share (void)
{
    const char *name = "another key's hello while one key floods";
    char flood [PATH_MAX], probe [PATH_MAX], path [4][PATH_MAX + 8];
    snprintf (flood, sizeof (flood), "%s/flood", s_workdir);
    snprintf (probe, sizeof (probe), "%s/probe", s_workdir);
    snprintf (path [0], sizeof (path [0]), "%s.pub", flood);
    snprintf (path [1], sizeof (path [1]), "%s.key", flood);
    snprintf (path [2], sizeof (path [2]), "%s.key", probe);
    s_server_t hub = { 0 };
    snprintf (hub.dir, sizeof (hub.dir), "%s/hub-curve", s_workdir);
    snprintf (path [3], sizeof (path [3]), "%s/hub.pub", hub.dir);
    dt_err_t err;
    dt_err_init (&err);
    const char *args [] = { "-d", hub.dir, "-e", "tcp://127.0.0.1:*", "--admin", path [0],
                            NULL };
    int rc = keys_create (flood, "flood", &err) || keys_create (probe, "probe", &err)?
             s_fail ("keys: %s", err.message): s_server_start (&hub, "duotang-hub", args);
    client_t *admin = rc? NULL: s_connect_as (hub.endpoint, path [1], path [3], 10000);
    client_t *prober = NULL;
    zcert_t *cert = admin? keys_load_public (path [2], &err): NULL;
    if (cert) {
        args_t allow;
        args_init (&allow);
        args_str (&allow, "name", "probe");
        args_str (&allow, "public_key", zcert_public_txt (cert));
        args_str (&allow, "role", "hq-admin");
        if (s_call (admin, "key.allow", &allow, NULL) == 0)
            prober = s_connect_as (hub.endpoint, path [2], path [3], 10000);
        zcert_destroy (&cert);
    }
    int64_t idle50 = 0, idle99 = 0, load50 = 0, load99 = 0;
    uint64_t busy = 0;
    rc = prober? s_hello_latency (prober, PROBE_HELLOS, &idle50, &idle99): -1;
    if (rc == 0)
        rc = s_flood_and_probe (hub.endpoint, path [1], path [3], prober, &load50, &load99,
                                &busy);
    client_destroy (&prober);
    client_destroy (&admin);
    s_stop (&hub.pid);
    store_remove (hub.dir);
    dt_err_reset (&err);
    if (rc) {
        s_row_na (name, s_why);
        return;
    }
    s_row ("2nd key hello p50, 1 key flooding", (double) load50, "us",
           "the same hello, no flood", (double) idle50, "us");
    s_row ("2nd key hello p99, 1 key flooding", (double) load99, "us",
           "the same hello, no flood", (double) idle99, "us");
    s_note ("one hq-admin key pipelines %d writes from %d connections (%d in flight each; "
            "%" PRIu64 " BUSY answers retried) while a second key sends %d hellos in turn",
            FLOOD_CLIENTS * FLOOD_EACH, FLOOD_CLIENTS, FLOOD_WINDOW, busy, PROBE_HELLOS);
}

static int
s_zmq_rtt (int64_t *p50, int64_t *p99)
{
    s_echo_t echo = { zsock_new_router ("tcp://127.0.0.1:*"), false };
    if (!echo.router)
        return s_fail ("bind failed: %s", zmq_strerror (zmq_errno ()));
    zsock_t *dealer = zsock_new_dealer (zsock_endpoint (echo.router));
    assert (dealer);
    zsock_set_rcvtimeo (dealer, 2000);
    pthread_t thread;
    pthread_create (&thread, NULL, s_echo_run, &echo);
    //  A request body of the size the probes send
    args_t args;
    args_init (&args);
    args_str (&args, "id", "p-000000");
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    proto_req_encode (&body, 1, "member.show", args_map (&args), NULL);
    args_destroy (&args);
    int64_t *samples = calloc (RTT_ROUNDS, sizeof (int64_t));
    int rc = 0;
    for (int i = -200; i < RTT_ROUNDS && rc == 0; i++) {
        int64_t sent = s_now_us ();
        zmsg_t *msg = zmsg_new ();
        zmsg_addmem (msg, NULL, 0);
        zmsg_addmem (msg, body.data, body.size);
        zmsg_send (&msg, dealer);
        msg = zmsg_recv (dealer);
        if (!msg)
            rc = s_fail ("raw ZeroMQ echo did not answer");
        zmsg_destroy (&msg);
        if (i >= 0)
            samples [i] = s_now_us () - sent;
    }
    echo.stop = true;
    pthread_join (thread, NULL);
    if (rc == 0) {
        qsort (samples, RTT_ROUNDS, sizeof (int64_t), s_compare);
        *p50 = s_percentile (samples, RTT_ROUNDS, 50);
        *p99 = s_percentile (samples, RTT_ROUNDS, 99);
    }
    free (samples);
    msgpack_sbuffer_destroy (&body);
    zsock_destroy (&dealer);
    zsock_destroy (&echo.router);
    return rc;
}

//  Figures 2 and 3: one hub and node n1 serving branch b-n

typedef struct {
    s_server_t hub;
    s_server_t node;
    client_t *client;           /* to the hub */
    s_group_t stream;           /* background joins */
    s_group_t probes;           /* joins whose arrival at the node is timed */
    s_group_t churn;            /* the catch-up's members */
    int64_t rtt_p50, rtt_p99;
    bool node_ok;               /* the node ran and synced */
    char node_why [400];
} s_repl_t;

/* The node's replication state as the hub's node.list shows it. */
static int
s_node_state (client_t *client, uint64_t *applied, uint64_t *head)
{
    proto_reply_t reply;
    if (s_call (client, "node.list", NULL, &reply))
        return -1;
    const msgpack_object *nodes = proto_map_get (reply.result, "nodes");
    int rc = s_fail ("node.list does not list n1");
    for (uint32_t i = 0; nodes && nodes->type == MSGPACK_OBJECT_ARRAY
                      && i < nodes->via.array.size; i++) {
        const msgpack_object *node = &nodes->via.array.ptr [i];
        char id [DT_ID_MAX + 1];
        const msgpack_object *a = proto_map_get (node, "applied");
        const msgpack_object *h = proto_map_get (node, "head");
        if (proto_obj_str (proto_map_get (node, "id"), id, sizeof (id)) && streq (id, "n1")
        &&  a && a->type == MSGPACK_OBJECT_POSITIVE_INTEGER
        &&  h && h->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            *applied = a->via.u64;
            *head = h->via.u64;
            rc = 0;
        }
    }
    proto_reply_release (&reply);
    return rc;
}

/* Wait until node.list shows n1 at the head, polling every poll_ms, for at
   most deadline_ms. Returns the elapsed µs, or -1 with s_why set. */
static int64_t
s_node_wait_head (client_t *client, int64_t started, int poll_ms, int deadline_ms,
                  uint64_t *head_out)
{
    uint64_t applied = 0, head = 0;
    while (true) {
        if (s_node_state (client, &applied, &head))
            return -1;
        int64_t now = s_now_us ();
        if (head && applied == head) {
            if (head_out)
                *head_out = head;
            return now - started;
        }
        if (now - started > deadline_ms * 1000LL)
            return s_fail ("node n1 at %" PRIu64 " of %" PRIu64 " after %d ms",
                           applied, head, deadline_ms);
        usleep (poll_ms * 1000);
    }
}

static int
s_repl_setup (s_repl_t *self)
{
    args_t args;
    s_group_init (&self->stream, "b-n", "s", STREAM_RATE * (PROBE_SPAN_US / 1000000 + 3));
    s_group_init (&self->probes, "b-n", "p", PROBES);
    s_group_init (&self->churn, "b-n", "c", CHURN_MEMBERS);
    snprintf (self->hub.dir, sizeof (self->hub.dir), "%s/hub2", s_workdir);
    snprintf (self->node.dir, sizeof (self->node.dir), "%s/n1", s_workdir);
    if (s_hub_start (&self->hub, "3000000"))
        return -1;
    self->client = s_connect (self->hub.endpoint, 60000);
    if (!self->client || s_branch_create (self->client, "b-n"))
        return -1;
    args_init (&args);
    args_str (&args, "id", "n1");
    if (s_call (self->client, "node.add", &args, NULL))
        return -1;
    args_init (&args);
    args_str (&args, "id", "b-n");
    args_str (&args, "node", "n1");
    if (s_call (self->client, "branch.assign", &args, NULL)
    ||  s_group_create (self->client, &self->stream)
    ||  s_group_create (self->client, &self->probes)
    ||  s_group_create (self->client, &self->churn))
        return -1;
    return 0;
}

/* Start the node and wait until it holds everything the hub logged. */
static int
s_repl_node_sync (s_repl_t *self)
{
    if (s_node_start (&self->node, self->hub.endpoint)) {
        snprintf (self->node_why, sizeof (self->node_why), "node did not start: %.300s", s_why);
        return -1;
    }
    if (s_node_wait_head (self->client, s_now_us (), 100, SYNC_DEADLINE_MS, NULL) < 0) {
        snprintf (self->node_why, sizeof (self->node_why), "node did not sync: %.300s", s_why);
        return -1;
    }
    self->node_ok = true;
    return 0;
}

typedef struct {
    const char *endpoint;
    const s_group_t *group;
    atomic_bool stop;
    size_t done;
    int rc;
    char why [400];
} s_stream_t;

/* Background writer: member.join at STREAM_RATE per second, paced. */
static void *
s_stream_run (void *arg)
{
    s_stream_t *self = arg;
    client_t *client = s_connect (self->endpoint, 10000);
    self->rc = client? 0: -1;
    s_join_t join = { self->group, 0 };
    int64_t started = s_now_us ();
    while (self->rc == 0 && !self->stop && self->done < self->group->members) {
        s_sleep_until (started + (int64_t) self->done * 1000000 / STREAM_RATE);
        args_t args;
        const char *op = s_make_join (self->done, &args, &join);
        self->rc = s_call (client, op, &args, NULL);
        self->done++;
    }
    if (self->rc)
        snprintf (self->why, sizeof (self->why), "%s", s_why);
    client_destroy (&client);
    return NULL;
}

/* True when member id shows at the server with a hall seat. */
static bool
s_has_seat (client_t *server, const char *id)
{
    args_t args;
    args_init (&args);
    args_str (&args, "id", id);
    proto_reply_t reply;
    if (s_call (server, "member.show", &args, &reply))
        return false;
    char seat [16] = "";
    const msgpack_object *member = proto_map_get (reply.result, "member");
    proto_obj_str (proto_map_get (member, "seat"), seat, sizeof (seat));
    proto_reply_release (&reply);
    return streq (seat, "hall");
}

/* Lag samples in µs of PROBES joins, from the hub's ack to visibility. */
static int
s_probe_lags (s_repl_t *self, int64_t *lags)
{
    client_t *hub = s_connect (self->hub.endpoint, 10000);
    client_t *node [2] = { s_connect (self->node.endpoint, 2000),
                           s_connect (self->node.endpoint, 2000) };
    int rc = hub && node [0] && node [1]? 0: -1;
    s_join_t join = { &self->probes, 0 };
    int64_t started = s_now_us ();
    unsigned polls = 0;
    for (size_t k = 0; k < PROBES && rc == 0; k++) {
        s_sleep_until (started + (int64_t) k * PROBE_SPAN_US / PROBES);
        args_t args;
        const char *op = s_make_join (k, &args, &join);
        char id [DT_ID_MAX + 1];
        s_id (id, self->probes.tag, k);
        if ((rc = s_call (hub, op, &args, NULL)))
            break;
        int64_t acked = s_now_us ();
        //  Two connections in turn, so that neither reaches the rate limit
        while (!s_has_seat (node [polls++ % 2], id)) {
            if (s_now_us () - acked > PROBE_DEADLINE_US) {
                rc = s_fail ("probe %s not at the node %d s after the hub's ack (%s)", id,
                             PROBE_DEADLINE_US / 1000000, s_why);
                break;
            }
            usleep (200);
        }
        lags [k] = s_now_us () - acked;
    }
    client_destroy (&hub);
    client_destroy (&node [0]);
    client_destroy (&node [1]);
    return rc;
}

static void
s_figure_lag (s_repl_t *self)
{
    const char *p50 = "replication lag p50 (ack->node)";
    const char *p99 = "replication lag p99 (ack->node)";
    if (!self->node_ok) {
        s_row_na (p50, self->node_why);
        s_row_na (p99, self->node_why);
        return;
    }
    s_settle ();
    s_stream_t stream = { .endpoint = self->hub.endpoint, .group = &self->stream };
    pthread_t thread;
    pthread_create (&thread, NULL, s_stream_run, &stream);
    usleep (500000);                    //  the stream runs steadily before probing
    int64_t *lags = calloc (PROBES, sizeof (int64_t));
    int rc = s_probe_lags (self, lags);
    char why [400];
    snprintf (why, sizeof (why), "%s", s_why);
    stream.stop = true;
    pthread_join (thread, NULL);
    if (rc == 0 && stream.rc) {
        rc = -1;
        snprintf (why, sizeof (why), "stream writer: %.300s", stream.why);
    }
    if (rc) {
        s_row_na (p50, why);
        s_row_na (p99, why);
    }
    else {
        qsort (lags, PROBES, sizeof (int64_t), s_compare);
        s_row (p50, s_percentile (lags, PROBES, 50), "us",
               "raw ZeroMQ round trip p50", self->rtt_p50, "us");
        s_row (p99, s_percentile (lags, PROBES, 99), "us",
               "raw ZeroMQ round trip p99", self->rtt_p99, "us");
        s_note ("%d probes during a stream of %zu joins at %d/s; lag p90 %.1f ms, max %.1f ms",
                PROBES, stream.done, STREAM_RATE, s_percentile (lags, PROBES, 90) / 1000.0,
                lags [PROBES - 1] / 1000.0);
    }
    free (lags);
}

//  Figure 3: catch-up

/* Mirror the records of branch b-n into a replica, as a snapshot would. */
typedef struct {
    store_txn_t *replica;
    dt_err_t *err;
    size_t records;
} s_mirror_t;

static int
s_mirror_record (store_table_t table, const char *key, const void *val, size_t val_size,
                 void *arg)
{
    s_mirror_t *self = arg;
    self->records++;
    return repl_apply (self->replica, "n1", store_table_name (table), key, val, val_size,
                       self->err);
}

/* Copy branch b-n from the store into a new replica in one durable
   transaction. Returns records copied, -1 on error; µs taken in *took. */
static long
s_mirror (store_t *store, store_t *replica, int64_t *took, dt_err_t *err)
{
    store_txn_t txn, rtxn;
    if (store_begin (store, &txn, NULL, false, err))
        return -1;
    int64_t started = s_now_us ();
    s_mirror_t mirror = { &rtxn, err, 0 };
    int rc = store_begin (replica, &rtxn, NULL, true, err);
    if (rc == 0) {
        rc = repl_branch_records (&txn, "b-n", s_mirror_record, &mirror, err);
        if (rc == 0)
            rc = store_commit (&rtxn, err);
        else
            store_abort (&rtxn);
    }
    *took = s_now_us () - started;
    store_abort (&txn);
    return rc? -1: (long) mirror.records;
}

/* Apply log entries to a replica as a node does: NODE_CREDIT per durable
   transaction. */
typedef struct {
    store_t *replica;
    store_txn_t txn;
    bool open;
    uint64_t last;              /* stop after this seq */
    size_t applied;
    size_t in_txn;
    dt_err_t *err;
} s_apply_t;

static int
s_apply_change (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    s_apply_t *self = arg;
    (void) key_size;
    if (store_seq_from_key (key) > self->last)
        return 1;
    stream_change_t change;
    if (stream_change_decode (&change, val, val_size, NULL, self->err))
        return -1;
    int rc = 0;
    if (stream_change_for (&change, "n1")) {
        if (!self->open && store_begin (self->replica, &self->txn, NULL, true, self->err))
            rc = -1;
        self->open = rc == 0;
        if (rc == 0)
            rc = repl_apply (&self->txn, "n1", change.table, change.key, change.value,
                             change.value_size, self->err);
        self->applied++;
        if (rc == 0 && ++self->in_txn == NODE_CREDIT) {
            self->open = false;
            self->in_txn = 0;
            rc = store_commit (&self->txn, self->err);
        }
    }
    return rc;
}

/* Apply log entries (from, last] of store to replica; changes/s in *rate. */
static int
s_raw_apply (store_t *store, store_t *replica, uint64_t from, uint64_t last, double *rate,
             dt_err_t *err)
{
    store_txn_t txn;
    if (store_begin (store, &txn, NULL, false, err))
        return -1;
    s_apply_t apply = { .replica = replica, .last = last, .err = err };
    uint8_t key [8];
    store_seq_key (from + 1, key);
    int64_t started = s_now_us ();
    int rc = store_scan (&txn, TBL_LOG, NULL, 0, key, 8, s_apply_change, &apply, err);
    if (apply.open && rc == 0)
        rc = store_commit (&apply.txn, err);
    else
    if (apply.open)
        store_abort (&apply.txn);
    *rate = apply.applied * 1e6 / (double) (s_now_us () - started);
    store_abort (&txn);
    return rc;
}

/* Seat or unseat churn member i in place (its hall, or none). */
static int
s_churn_put (store_txn_t *txn, const s_group_t *churn, size_t i, bool seated, dt_err_t *err)
{
    member_t member;
    char id [DT_ID_MAX + 1], hall [DT_ID_MAX + 1];
    s_id (id, churn->tag, i);
    s_id (hall, churn->halls, i / HALL_SEATS);
    if (tree_member_need (txn, id, &member, err))
        return -1;
    member.seat = seated? SEAT_HALL: SEAT_NONE;
    strcpy (member.group, seated? hall: "");
    return tree_member_put (txn, &member, err);
}

/* What the hub's log holds after CATCHUP_CHANGES changes for node n1: churn
   members joining and leaving their halls, CATCHUP_PUTS_TXN per transaction.
   The hub must be stopped. Returns the new head, 0 on error. */
static uint64_t
s_churn (store_t *store, const s_group_t *churn, uint64_t from, dt_err_t *err)
{
    uint64_t head = from;
    size_t put = 0;
    while (head - from < CATCHUP_CHANGES) {
        store_txn_t txn;
        if (store_begin (store, &txn, NULL, true, err))
            return 0;
        txn.log = true;
        int rc = 0;
        for (size_t i = 0; i < CATCHUP_PUTS_TXN && rc == 0
                        && head - from < CATCHUP_CHANGES; i++, put++) {
            //  Pass 0 seats everyone, pass 1 releases them, and so on
            bool seated = (put / churn->members) % 2 == 0;
            rc = s_churn_put (&txn, churn, put % churn->members, seated, err);
            head = store_log_head (&txn);
        }
        if (rc) {
            store_abort (&txn);
            return 0;
        }
        if (store_commit (&txn, err))
            return 0;
    }
    return head;
}

/* With the hub stopped: the raw baseline replica seeded at the current
   head, then the churn, then the baseline applies the churn. */
static int
s_catchup_prepare (s_repl_t *self, uint64_t *from, uint64_t *head, double *raw_rate,
                   double *gen_rate)
{
    char rdir [PATH_MAX];
    snprintf (rdir, sizeof (rdir), "%s/raw-replica", s_workdir);
    mkdir (rdir, 0700);
    dt_err_t err;
    dt_err_init (&err);
    int rc = -1;
    int64_t took;
    store_t *store = store_new (self->hub.dir, HUB_MAPSIZE_MB, &err);
    store_t *replica = store? store_new (rdir, 4096, &err): NULL;
    if (replica && s_mirror (store, replica, &took, &err) >= 0) {
        store_txn_t txn;
        if (store_begin (store, &txn, NULL, false, &err) == 0) {
            *from = store_log_head (&txn);
            store_abort (&txn);
            int64_t started = s_now_us ();
            *head = s_churn (store, &self->churn, *from, &err);
            *gen_rate = (*head - *from) * 1e6 / (double) (s_now_us () - started);
            s_settle ();
            if (*head)
                rc = s_raw_apply (store, replica, *from, *head, raw_rate, &err);
        }
    }
    if (rc)
        s_fail ("preparing the log: %s", err.message);
    store_destroy (&replica);
    store_destroy (&store);
    store_remove (rdir);
    dt_err_reset (&err);
    return rc;
}

/* The node that reports the head holds what the hub holds: a sample of the
   churn members is seated at the node exactly when seated at the hub. */
static int
s_replica_agrees (s_repl_t *self)
{
    client_t *node = s_connect (self->node.endpoint, 5000);
    int rc = node? 0: -1;
    for (size_t i = 0; i < self->churn.members && rc == 0; i += self->churn.members / 16) {
        char id [DT_ID_MAX + 1];
        s_id (id, self->churn.tag, i);
        bool at_hub = s_has_seat (self->client, id), at_node = s_has_seat (node, id);
        if (at_hub != at_node)
            rc = s_fail ("node n1 reports the head, but member %s is %s there and %s at "
                         "the hub", id, at_node? "seated": "unseated",
                         at_hub? "seated": "unseated");
    }
    client_destroy (&node);
    return rc;
}

/* Stop the node and the hub (their stores are then free to be changed). */
static void
s_stop_all (s_repl_t *self)
{
    client_destroy (&self->client);
    s_stop (&self->node.pid);
    s_stop (&self->hub.pid);
}

/* Start the hub again (log kept long), then the node; the time in us until
   the hub reports the node at the head with a replica that agrees, or -1
   with s_why set. */
static int64_t
s_time_node_to_head (s_repl_t *self, int poll_ms, int deadline_ms)
{
    if (s_hub_start (&self->hub, "3000000")
    ||  !(self->client = s_connect (self->hub.endpoint, 60000)))
        return -1;
    s_settle ();
    int64_t started = s_now_us ();
    int64_t took = s_node_start (&self->node, self->hub.endpoint)? -1:
                   s_node_wait_head (self->client, started, poll_ms, deadline_ms, NULL);
    return took < 0 || s_replica_agrees (self)? -1: took;
}

static void
s_figure_catchup (s_repl_t *self)
{
    const char *name = "node catch-up, 1M missed changes";
    if (!self->node_ok) {
        s_row_na (name, self->node_why);
        return;
    }
    //  The node is at the head; then it stops and misses the changes
    uint64_t from = 0, head = 0;
    double raw_rate = 0, gen_rate = 0;
    if (s_node_wait_head (self->client, s_now_us (), 100, SYNC_DEADLINE_MS, NULL) < 0) {
        s_row_na (name, s_why);
        return;
    }
    s_stop_all (self);
    int64_t took = s_catchup_prepare (self, &from, &head, &raw_rate, &gen_rate)? -1:
                   s_time_node_to_head (self, 100, CATCHUP_DEADLINE_MS);
    if (took < 0) {
        s_row_na (name, s_why);
        return;
    }
    double rate = (head - from) * 1e6 / (double) took;
    s_row (name, rate, "changes/s", "raw LMDB apply, 4096 per commit", raw_rate, "changes/s");
    s_note ("%" PRIu64 " changes (log %" PRIu64 "..%" PRIu64 ") applied in %.2f s, "
            "node.list polled every 100 ms; written at %.0f changes/s through the tree layer",
            head - from, from + 1, head, took / 1e6, gen_rate);
}

/* Trim the log of the stopped hub so that a new node needs a snapshot;
   count the records of b-n and time a raw copy of them into a replica. */
static int
s_snapshot_prepare (s_repl_t *self, long *records, double *raw_rate)
{
    char rdir [PATH_MAX];
    snprintf (rdir, sizeof (rdir), "%s/raw-snapshot", s_workdir);
    mkdir (rdir, 0700);
    dt_err_t err;
    dt_err_init (&err);
    int rc = -1;
    store_t *store = store_new (self->hub.dir, HUB_MAPSIZE_MB, &err);
    store_t *replica = store? store_new (rdir, 1024, &err): NULL;
    store_txn_t txn;
    if (replica && store_begin (store, &txn, NULL, true, &err) == 0) {
        if (store_log_trim (&txn, SNAPSHOT_KEEP, &err) || store_commit (&txn, &err))
            store_abort (&txn);
        else {
            int64_t took = 0;
            s_settle ();
            *records = s_mirror (store, replica, &took, &err);
            *raw_rate = *records * 1e6 / (double) (took? took: 1);
            rc = *records < 0? -1: 0;
        }
    }
    if (rc)
        s_fail ("trimming the log: %s", err.message);
    store_destroy (&replica);
    store_destroy (&store);
    store_remove (rdir);
    dt_err_reset (&err);
    return rc;
}

static void
s_figure_snapshot (s_repl_t *self)
{
    const char *name = "new node, snapshot of its branch";
    if (!self->node_ok) {
        s_row_na (name, self->node_why);
        return;
    }
    long records = 0;
    double raw_rate = 0;
    s_stop_all (self);
    snprintf (self->node.dir, sizeof (self->node.dir), "%s/n1-empty", s_workdir);
    int64_t took = s_snapshot_prepare (self, &records, &raw_rate)? -1:
                   s_time_node_to_head (self, 10, SYNC_DEADLINE_MS);
    if (took < 0) {
        s_row_na (name, s_why);
        return;
    }
    s_row (name, records * 1e6 / (double) took, "records/s",
           "raw LMDB copy, one durable commit", raw_rate, "records/s");
    s_note ("%ld records (branch, halls, seated members) in %.2f s from node start, "
            "node.list polled every 10 ms", records, took / 1e6);
}

static void
s_figures_replication (void)
{
    s_repl_t self;
    memset (&self, 0, sizeof (self));
    if (s_zmq_rtt (&self.rtt_p50, &self.rtt_p99))
        snprintf (self.node_why, sizeof (self.node_why), "raw ZeroMQ: %.300s", s_why);
    else
    if (s_repl_setup (&self))
        snprintf (self.node_why, sizeof (self.node_why), "set-up: %.300s", s_why);
    else
        s_repl_node_sync (&self);
    s_figure_lag (&self);
    s_figure_catchup (&self);
    s_figure_snapshot (&self);
    client_destroy (&self.client);
    s_stop (&self.node.pid);
    s_stop (&self.hub.pid);
}

//  Content at a node: posts judged and made durable, and a backlog going up

#define POST_CLIENTS      8
#define POST_WINDOW       16
#define POST_COUNT        48000
#define POST_RAW_BATCH    128       /* POST_CLIENTS x POST_WINDOW: all that can be in flight */
#define BACKLOG_ITEMS     1000000
#define BACKLOG_TXN       10000
#define BACKLOG_DEADLINE_MS 400000

typedef struct {
    size_t first;               /* post index of request 0 */
} s_poster_t;

static const char *
s_make_post (size_t index, args_t *args, void *arg)
{
    s_poster_t *self = arg;
    char id [DT_ID_MAX + 1];
    s_id (id, "bp", self->first + index);
    args_init (args);
    args_str (args, "id", id);
    args_str (args, "group", "b-c");
    args_str (args, "kind", "article");
    args_str (args, "title", "酱酒之道");
    args_str (args, "author", "o-1");
    const char *topics [] = { "酱酒" };
    args_list (args, "topics", topics, 1);
    return "post.add";
}

/* The stored bytes of article `index`, as post.add records it. */
static void
s_post_record (const char *prefix, size_t index, msgpack_sbuffer *out)
{
    item_t post = { .type = ITEM_POST, .kind = KIND_ARTICLE, .ntopics = 1,
                    .at = dt_now_ms (), .accepted = dt_now_ms () };
    s_id (post.id, prefix, index);
    strcpy (post.group, "b-c");
    strcpy (post.branch, "b-c");
    strcpy (post.author, "o-1");
    strcpy (post.by, "admin");
    snprintf (post.title, sizeof (post.title), "酱酒之道");
    snprintf (post.topics [0], sizeof (post.topics [0]), "酱酒");
    msgpack_sbuffer_clear (out);
    item_encode (&post, out);
}

/* Raw durable LMDB puts of count article records (prefix-N) into a fresh
   store WORKDIR/name, per_txn in each commit: puts/s into *rate. */
static int
s_raw_posts (const char *name, const char *prefix, size_t count, size_t per_txn,
             double *rate)
{
    char dir [PATH_MAX];
    snprintf (dir, sizeof (dir), "%s/%s", s_workdir, name);
    mkdir (dir, 0700);
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = store_new (dir, 4096, &err);
    int rc = store? 0: -1;
    msgpack_sbuffer record;
    msgpack_sbuffer_init (&record);
    s_settle ();
    int64_t started = s_now_us ();
    for (size_t done = 0; rc == 0 && done < count; ) {
        store_txn_t txn;
        rc = store_begin (store, &txn, NULL, true, &err);
        for (size_t i = 0; rc == 0 && i < per_txn && done < count; i++, done++) {
            s_post_record (prefix, done, &record);
            char key [DT_ID_MAX + 1];
            s_id (key, prefix, done);
            rc = store_put (&txn, TBL_ITEM, key, strlen (key), record.data, record.size, &err);
        }
        rc = rc? (store_abort (&txn), -1): store_commit (&txn, &err);
    }
    *rate = count * 1e6 / (double) (s_now_us () - started);
    if (rc)
        s_fail ("raw LMDB: %s", err.message);
    msgpack_sbuffer_destroy (&record);
    store_destroy (&store);
    store_remove (dir);
    dt_err_reset (&err);
    return rc;
}

/* What the hub holds from n1: content entries applied, and still waiting. */
static int
s_content_state (client_t *client, uint64_t *items, uint64_t *waiting)
{
    proto_reply_t reply;
    if (s_call (client, "node.list", NULL, &reply))
        return -1;
    const msgpack_object *nodes = proto_map_get (reply.result, "nodes");
    const msgpack_object *node = nodes && nodes->type == MSGPACK_OBJECT_ARRAY
                              && nodes->via.array.size? &nodes->via.array.ptr [0]: NULL;
    const msgpack_object *i = proto_map_get (node, "content_items");
    const msgpack_object *w = proto_map_get (node, "content_waiting");
    int rc = i && w && i->type == MSGPACK_OBJECT_POSITIVE_INTEGER
          && w->type == MSGPACK_OBJECT_POSITIVE_INTEGER? 0: s_fail ("node.list: no content state");
    if (rc == 0) {
        *items = i->via.u64;
        *waiting = w->via.u64;
    }
    proto_reply_release (&reply);
    return rc;
}

/* Wait until the hub holds `expected` entries from n1; µs taken, or -1. */
static int64_t
s_content_wait (client_t *client, uint64_t expected, int64_t started, int deadline_ms)
{
    uint64_t items = 0, waiting = 0;
    while (s_content_state (client, &items, &waiting) == 0) {
        int64_t now = s_now_us ();
        if (items >= expected && waiting == 0)
            return now - started;
        if (now - started > deadline_ms * 1000LL)
            return s_fail ("the hub holds %" PRIu64 " of %" PRIu64 " entries after %d ms",
                           items, expected, deadline_ms);
        usleep (50000);
    }
    return -1;
}

typedef struct {
    s_server_t hub, node;
    client_t *client;           /* to the hub */
} s_content_t;

/* A hub, branch b-c assigned to node n1, and n1 holding it. */
static int
s_content_setup (s_content_t *self)
{
    snprintf (self->hub.dir, sizeof (self->hub.dir), "%s/hub3", s_workdir);
    snprintf (self->node.dir, sizeof (self->node.dir), "%s/n1-content", s_workdir);
    args_t args;
    if (s_hub_start (&self->hub, "3000000")
    ||  !(self->client = s_connect (self->hub.endpoint, 60000))
    ||  s_branch_create (self->client, "b-c"))
        return -1;
    args_init (&args);
    args_str (&args, "id", "n1");
    if (s_call (self->client, "node.add", &args, NULL))
        return -1;
    args_init (&args);
    args_str (&args, "id", "b-c");
    args_str (&args, "node", "n1");
    if (s_call (self->client, "branch.assign", &args, NULL)
    ||  s_node_start (&self->node, self->hub.endpoint))
        return -1;
    client_t *node = s_connect (self->node.endpoint, 5000);
    int rc = node? -1: s_fail ("no node");
    for (int tries = 0; node && rc && tries < 200; tries++) {
        args_init (&args);
        args_str (&args, "id", "b-c");
        rc = s_call (node, "branch.show", &args, NULL);
        if (rc)
            usleep (50000);
    }
    client_destroy (&node);
    return rc;
}

static void
s_figure_posts (s_content_t *self)
{
    const char *name = "node post.add (" S_XSTR (POST_CLIENTS) " clients x "
                       S_XSTR (POST_WINDOW) "), rules + fsync";
    s_poster_t posters [POST_CLIENTS];
    void *args [POST_CLIENTS];
    size_t share = POST_COUNT / POST_CLIENTS;
    for (int i = 0; i < POST_CLIENTS; i++) {
        posters [i].first = i * share;
        args [i] = &posters [i];
    }
    double rate = 0, raw = 0;
    uint64_t busy = 0;
    if (s_load (self->node.endpoint, POST_CLIENTS, share, POST_WINDOW, s_make_post, args,
                &rate, &busy)
    ||  s_content_wait (self->client, POST_COUNT, s_now_us (), SYNC_DEADLINE_MS) < 0) {
        s_row_na (name, s_why);
        return;
    }
    if (s_raw_posts ("raw-posts", "raw", POST_COUNT, POST_RAW_BATCH, &raw)) {
        s_row_na ("raw LMDB post put", s_why);
        return;
    }
    s_row (name, rate, "posts/s", "raw LMDB put, " S_XSTR (POST_RAW_BATCH)
           " per durable commit", raw, "puts/s");
    s_note ("%d articles judged (author's role, branch topic, promo limits) and acknowledged "
            "after a durable commit at the node; all of them then reached the hub",
            POST_COUNT);
}

/* Queue BACKLOG_ITEMS articles in the stopped node's uplink, as if accepted
   while the hub was away; time a raw apply of the same records meanwhile. */
static int
s_backlog_prepare (s_content_t *self, double *raw_rate)
{
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = store_new (self->node.dir, 4096, &err);
    msgpack_sbuffer record;
    msgpack_sbuffer_init (&record);
    int rc = store? 0: -1;
    for (size_t done = 0; rc == 0 && done < BACKLOG_ITEMS; ) {
        store_txn_t txn;
        rc = store_begin (store, &txn, NULL, true, &err);
        for (size_t i = 0; rc == 0 && i < BACKLOG_TXN; i++, done++) {
            s_post_record ("bl", done, &record);
            char key [DT_ID_MAX + 1];
            s_id (key, "bl", done);
            rc = uplink_append (&txn, "post.add", "admin", UPLINK_ITEM, key, strlen (key),
                                record.data, record.size, &err);
        }
        rc = rc? (store_abort (&txn), -1): store_commit (&txn, &err);
    }
    store_destroy (&store);
    msgpack_sbuffer_destroy (&record);
    if (rc)
        s_fail ("preparing the backlog: %s", err.message);
    dt_err_reset (&err);
    //  The baseline: the same records into a fresh store, as the hub batches them
    return rc? rc: s_raw_posts ("raw-backlog", "bl", BACKLOG_ITEMS, UPLINK_BATCH_MAX, raw_rate);
}

static void
s_figure_backlog (s_content_t *self)
{
    const char *name = "node backlog of 1M items to the hub";
    double raw = 0;
    client_destroy (&self->client);
    s_stop (&self->node.pid);
    s_stop (&self->hub.pid);
    int64_t took = -1;
    if (s_backlog_prepare (self, &raw) == 0
    &&  s_hub_start (&self->hub, "3000000") == 0
    &&  (self->client = s_connect (self->hub.endpoint, 60000))) {
        s_settle ();
        int64_t started = s_now_us ();
        took = s_node_start (&self->node, self->hub.endpoint)? -1:
               s_content_wait (self->client, POST_COUNT + BACKLOG_ITEMS, started,
                               BACKLOG_DEADLINE_MS);
    }
    if (took < 0) {
        s_row_na (name, s_why);
        return;
    }
    s_row (name, BACKLOG_ITEMS * 1e6 / (double) took, "items/s",
           "raw LMDB put, " S_XSTR (UPLINK_BATCH_MAX) " per commit", raw, "puts/s");
    s_note ("%d items delivered in %.1f s from node start: applied at the hub exactly once, "
            "indexed and audited (one hash-chained entry each)", BACKLOG_ITEMS, took / 1e6);
}

static void
s_figures_content (void)
{
    s_content_t self;
    memset (&self, 0, sizeof (self));
    if (s_content_setup (&self)) {
        s_row_na ("node post.add", s_why);
        s_row_na ("node backlog of 1M items to the hub", s_why);
    }
    else {
        s_figure_posts (&self);
        s_figure_backlog (&self);
    }
    client_destroy (&self.client);
    s_stop (&self.node.pid);
    s_stop (&self.hub.pid);
}

//  The compliance summary of a large organisation (6.13)

#define REPORT_BRANCHES   20000
#define REPORT_HALLS      350000    /* 17 or 18 per branch */
#define REPORT_TXN        100000    /* records per build transaction */

static int64_t
s_local (const char *text)
{
    int64_t at = 0;
    dt_time_parse ("Asia/Shanghai", text, &at);
    return at;
}

/* One content item of the month, written as the authority writes it
   (item_put: indexes and the cadence counters in the same transaction). */
static int
s_report_item (store_txn_t *txn, item_t *item, const char *group, const char *branch,
               item_kind_t kind, int64_t at, size_t *seq, dt_err_t *err)
{
    item->type = item_kind_type (kind);
    item->kind = kind;
    item->at = item->accepted = at;
    snprintf (item->id, sizeof (item->id), "i-%zu", (*seq)++);
    snprintf (item->group, sizeof (item->group), "%s", group);
    snprintf (item->branch, sizeof (item->branch), "%s", branch);
    item->nphotos = kind == KIND_STORY;
    item->seconds = kind == KIND_VIDEO? 60: 0;
    item->status = kind == KIND_TASTING? STATUS_HELD: STATUS_NONE;
    return item_put (txn, item, err);
}

/* Every branch and hall, and November 2026 of content: a topical article a
   day per branch (every tenth branch skips the 7th), a story and a video
   every Wednesday, a gathering of 3 per hall (every seventh hall none). */
static int
s_report_build (store_t *store, size_t *items, dt_err_t *err)
{
    store_txn_t txn;
    int rc = store_begin (store, &txn, NULL, true, err);
    policy_t policy;
    policy_defaults (&policy);
    if (rc == 0)
        rc = policy_put (&txn, &policy, err);
    item_t item;
    memset (&item, 0, sizeof (item));
    snprintf (item.topics [0], sizeof (item.topics [0]), "酱酒");
    snprintf (item.photos [0], sizeof (item.photos [0]), "a.jpg");
    item.ntopics = 1;
    dt_id_t people [3] = { "m-1", "m-2", "m-3" };
    item.attendees = people;
    item.nattendees = 3;
    int64_t created = s_local ("2026-10-31 12:00");
    size_t seq = 0, done = 0, hall = 0;
    for (size_t b = 0; rc == 0 && b < REPORT_BRANCHES; b++) {
        branch_t branch = { .leader = "o-1", .created = created };
        s_id (branch.id, "b", b);
        snprintf (branch.name, sizeof (branch.name), "分舵%zu", b);
        rc = tree_branch_put (&txn, &branch, err);
        size_t halls = REPORT_HALLS * (b + 1) / REPORT_BRANCHES - hall;
        for (size_t h = 0; rc == 0 && h < halls; h++, hall++) {
            hall_t record = { .leader = "m-1", .created = created };
            s_id (record.id, "h", hall);
            snprintf (record.name, sizeof (record.name), "堂口%zu", hall);
            snprintf (record.branch, sizeof (record.branch), "%s", branch.id);
            rc = tree_hall_put (&txn, &record, err);
            if (rc == 0 && hall % 7)
                rc = s_report_item (&txn, &item, record.id, branch.id, KIND_TASTING,
                                    s_local ("2026-11-15 19:00"), &seq, err);
        }
        for (int day = 1; rc == 0 && day <= 30; day++) {
            char when [32];
            snprintf (when, sizeof (when), "2026-11-%02d 10:00", day);
            if (!(b % 10 == 0 && day == 7))
                rc = s_report_item (&txn, &item, branch.id, branch.id, KIND_ARTICLE,
                                    s_local (when), &seq, err);
            if (rc == 0 && day % 7 == 4)
                rc = s_report_item (&txn, &item, branch.id, branch.id, KIND_STORY,
                                    s_local (when) + 1, &seq, err)
                  || s_report_item (&txn, &item, branch.id, branch.id, KIND_VIDEO,
                                    s_local (when) + 2, &seq, err);
        }
        if (rc == 0 && seq + b + hall >= done + REPORT_TXN) {
            done = seq + b + hall;
            rc = store_commit (&txn, err) || store_begin (store, &txn, NULL, true, err);
        }
    }
    item.attendees = NULL;
    if (rc == 0)
        rc = store_commit (&txn, err);
    else
        store_abort (&txn);
    *items = seq;
    return rc;
}

typedef struct {
    size_t records;
    size_t bytes;
} s_raw_read_t;

static int
s_raw_read_entry (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    (void) key; (void) key_size;
    s_raw_read_t *self = arg;
    self->records++;
    self->bytes += val_size + ((const uint8_t *) val) [0];
    return 0;
}

static void
s_figure_report (void)
{
    const char *name = "org compliance summary (370k groups)";
    char dir [PATH_MAX];
    snprintf (dir, sizeof (dir), "%s/report", s_workdir);
    mkdir (dir, 0700);
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = store_new (dir, HUB_MAPSIZE_MB, &err);
    size_t items = 0;
    int64_t started = s_now_us ();
    if (!store || s_report_build (store, &items, &err)) {
        s_row_na (name, err.message);
        store_destroy (&store);
        return;
    }
    int64_t built = s_now_us () - started;
    //  The summary, every page of it, as the hub answers it
    s_settle ();
    char args [PAGE_KEY_MAX * 2 + 64];
    char cursor [PAGE_KEY_MAX * 2 + 1] = "";
    size_t rows = 0, pages = 0;
    int64_t at = s_local ("2026-12-01 12:00");
    uint64_t met = 0, missed = 0;
    started = s_now_us ();
    int rc = 0;
    do {
        snprintf (args, sizeof (args), "at:=%" PRId64 " limit:=1000%s%s", at,
                  *cursor? " cursor=": "", cursor);
        msgpack_sbuffer result;
        msgpack_sbuffer_init (&result);
        rc = op_run (store, report_ops, NULL, "report.compliance", args, &result, &err);
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        size_t offset = 0;
        *cursor = 0;
        if (rc == 0 && msgpack_unpack_next (&unpacked, result.data, result.size, &offset)
                       == MSGPACK_UNPACK_SUCCESS) {
            const msgpack_object *list = proto_map_get (&unpacked.data, "items");
            const msgpack_object *next = proto_map_get (&unpacked.data, "next");
            rows += list? list->via.array.size: 0;
            for (uint32_t i = 0; list && i < list->via.array.size; i++) {
                const msgpack_object *quotas = proto_map_get (&list->via.array.ptr [i], "quotas");
                const msgpack_object *articles = proto_map_get (quotas, "articles");
                met += proto_map_get (articles, "met")->via.u64;
                missed += proto_map_get (articles, "missed")->via.u64;
            }
            if (next && next->type == MSGPACK_OBJECT_STR)
                proto_obj_str (next, cursor, sizeof (cursor) - 1);
        }
        msgpack_unpacked_destroy (&unpacked);
        msgpack_sbuffer_destroy (&result);
        pages++;
    } while (rc == 0 && *cursor);
    int64_t took = s_now_us () - started;
    //  The baseline: a raw read of as many records (every branch and hall record)
    s_raw_read_t raw = { 0, 0 };
    store_txn_t txn;
    started = s_now_us ();
    if (rc == 0 && store_begin (store, &txn, NULL, false, &err) == 0) {
        store_scan (&txn, TBL_BRANCH, NULL, 0, NULL, 0, s_raw_read_entry, &raw, &err);
        store_scan (&txn, TBL_HALL, NULL, 0, NULL, 0, s_raw_read_entry, &raw, &err);
        store_abort (&txn);
    }
    int64_t raw_took = s_now_us () - started;
    if (rc || rows != REPORT_BRANCHES) {
        s_row_na (name, rc? err.message: "the summary missed branches");
        store_destroy (&store);
        return;
    }
    size_t groups = REPORT_BRANCHES + REPORT_HALLS;
    s_row (name, groups * 1e6 / (double) took, "groups/s", "raw LMDB read of 370k records",
           raw.records * 1e6 / (double) raw_took, "records/s");
    s_note ("summary in %.2f s (%zu pages; the raw read %.3f s): %zu branches, %d halls, "
            "%zu items of November built in %.1f s; articles: %" PRIu64 " met, %" PRIu64
            " missed on 30 Nov", took / 1e6, pages, raw_took / 1e6, rows, REPORT_HALLS, items,
            built / 1e6, met, missed);
    store_destroy (&store);
    store_remove (dir);
    dt_err_reset (&err);
}

//  Join latency beside a whole-organisation reader and a new node's
//  snapshot: writers never wait for readers or snapshots

#define TAIL_BRANCHES     3         /* of the large organisation, all served by n1 */
#define TAIL_PER_BRANCH   80000     /* core seats in each (the cap is DT_CAP_MAX) */
#define TAIL_PROBES       2000      /* timed joins, one in flight, per condition */
#define TAIL_PAGE         "1000"    /* members per export.members page */

/* Pages through export.members of the whole organisation, cursor after
   cursor, from the start again at the end, until stopped. */
typedef struct {
    const char *endpoint;
    atomic_bool stop;
    size_t pages, items, rounds;
    int rc;
    char why [400];
} s_pager_t;

static void *
s_pager_run (void *arg)
{
    s_pager_t *self = arg;
    client_t *client = s_connect (self->endpoint, 30000);
    self->rc = client? 0: -1;
    char cursor [PAGE_KEY_MAX * 2 + 1] = "";
    while (self->rc == 0 && !self->stop) {
        args_t args;
        args_init (&args);
        args_uint (&args, "limit", atoi (TAIL_PAGE));
        if (*cursor)
            args_str (&args, "cursor", cursor);
        proto_reply_t reply;
        self->rc = s_call (client, "export.members", &args, &reply);
        if (self->rc)
            break;
        const msgpack_object *items = proto_map_get (reply.result, "rows");
        const msgpack_object *next = proto_map_get (reply.result, "next");
        self->items += items && items->type == MSGPACK_OBJECT_ARRAY? items->via.array.size: 0;
        self->pages++;
        *cursor = 0;
        if (next && next->type == MSGPACK_OBJECT_STR)
            proto_obj_str (next, cursor, sizeof (cursor) - 1);
        else
            self->rounds++;
        proto_reply_release (&reply);
    }
    if (self->rc)
        snprintf (self->why, sizeof (self->why), "%s", s_why);
    client_destroy (&client);
    return NULL;
}

/* Up to count joins one after the other (request `*next` onwards), each
   timed into lat; stops early, after at least 100, when node n1 has reached
   the head (wait_node). The number timed, or -1 with s_why set. */
static long
s_join_probes (client_t *client, s_join_t *join, size_t *next, size_t count, bool wait_node,
               int64_t *lat)
{
    size_t done = 0;
    uint64_t upto = 0;          /* the hub's head when the node came: its snapshot's */
    while (done < count) {
        if (wait_node && done % 50 == 0) {
            uint64_t applied = 0, head = 0;
            if (s_node_state (client, &applied, &head))
                return -1;
            if (!upto)
                upto = head;
            //  The snapshot is in: what comes after is the node streaming
            //  the probes' own joins, not the snapshot
            if (upto && applied >= upto)
                break;
        }
        args_t args;
        const char *op = s_make_join ((*next)++, &args, join);
        int64_t started = s_now_us ();
        if (s_call (client, op, &args, NULL))
            return -1;
        lat [done++] = s_now_us () - started;
    }
    return (long) done;
}

static void
s_tail_rows (const char *what, int64_t *lat, long count, int64_t base_p99)
{
    char name [64];
    qsort (lat, count, sizeof (int64_t), s_compare);
    snprintf (name, sizeof (name), "join p50, %s", what);
    s_row (name, (double) s_percentile (lat, count, 50), "us", "join p99, unloaded",
           (double) base_p99, "us");
    snprintf (name, sizeof (name), "join p99, %s", what);
    s_row (name, (double) s_percentile (lat, count, 99), "us", "join p99, unloaded",
           (double) base_p99, "us");
}

static int
s_tail_setup (s_server_t *hub, client_t *client, s_group_t *probes)
{
    args_t args;
    if (s_branch_create (client, "b-t1"))
        return -1;
    args_init (&args);
    args_str (&args, "id", "n1");
    if (s_call (client, "node.add", &args, NULL))
        return -1;
    for (int b = 1; b <= TAIL_BRANCHES; b++) {
        char branch [16], prefix [16];
        snprintf (branch, sizeof (branch), "b-t%d", b);
        snprintf (prefix, sizeof (prefix), "big%d", b);
        if (b > 1) {
            args_init (&args);
            args_str (&args, "id", branch);
            args_str (&args, "name", branch);
            args_str (&args, "leader", "o-1");
            args_uint (&args, "cap", DT_CAP_MAX);
            if (s_call (client, "branch.create", &args, NULL))
                return -1;
        }
        args_init (&args);
        args_str (&args, "id", branch);
        args_str (&args, "node", "n1");
        if (s_call (client, "branch.assign", &args, NULL)
        ||  s_import (client, prefix, TAIL_PER_BRANCH - (b == 1? 1000: 0), branch))
            return -1;
    }
    (void) hub;
    return s_group_create (client, probes);
}

static void
s_figure_tail (void)
{
    const char *name = "join p99, unloaded";
    s_server_t hub = { 0 }, node = { 0 };
    snprintf (hub.dir, sizeof (hub.dir), "%s/hub3", s_workdir);
    snprintf (node.dir, sizeof (node.dir), "%s/n1-tail", s_workdir);
    if (s_hub_start (&hub, "3000000")) {
        s_row_na (name, s_why);
        return;
    }
    s_group_t probes;
    s_group_init (&probes, "b-t1", "q", 3 * TAIL_PROBES);
    s_join_t join = { &probes, 0 };
    size_t next = 0;
    int64_t *unloaded = calloc (TAIL_PROBES, sizeof (int64_t));
    int64_t *paged = calloc (TAIL_PROBES, sizeof (int64_t));
    int64_t *snapshot = calloc (TAIL_PROBES, sizeof (int64_t));
    assert (unloaded && paged && snapshot);
    client_t *client = s_connect (hub.endpoint, 60000);
    long n_unloaded = -1, n_paged = -1, n_snapshot = -1;
    s_pager_t pager = { .endpoint = hub.endpoint };
    int64_t started = 0, snapshot_took = 0;
    int rc = client && s_tail_setup (&hub, client, &probes) == 0? 0: -1;
    if (rc == 0) {
        s_settle ();
        n_unloaded = s_join_probes (client, &join, &next, TAIL_PROBES, false, unloaded);
        rc = n_unloaded < 0? -1: 0;
    }
    if (rc == 0) {
        pthread_t thread;
        pthread_create (&thread, NULL, s_pager_run, &pager);
        while (pager.pages < 2 && pager.rc == 0)
            usleep (1000);
        started = s_now_us ();
        n_paged = s_join_probes (client, &join, &next, TAIL_PROBES, false, paged);
        int64_t took = s_now_us () - started;
        pager.stop = true;
        pthread_join (thread, NULL);
        rc = n_paged < 0 || pager.rc? -1: 0;
        if (pager.rc)
            s_fail ("the reader: %s", pager.why);
        else
            s_note ("the reader paged export.members of the whole organisation (%d members, "
                    TAIL_PAGE " a page): %zu pages, %.0f members/s while the joins were timed",
                    TAIL_BRANCHES * TAIL_PER_BRANCH - 1000 + (int) probes.members
                    + (int) probes.nhalls, pager.pages, pager.items * 1e6 / (double) took);
    }
    if (rc == 0 && s_node_start (&node, hub.endpoint) == 0) {
        started = s_now_us ();
        n_snapshot = s_join_probes (client, &join, &next, TAIL_PROBES, true, snapshot);
        snapshot_took = s_now_us () - started;
        rc = n_snapshot < 0? -1: 0;
    }
    else
        rc = -1;
    client_destroy (&client);
    s_stop (&node.pid);
    s_stop (&hub.pid);
    store_remove (node.dir);
    store_remove (hub.dir);
    if (rc == 0 && n_unloaded > 0) {
        qsort (unloaded, n_unloaded, sizeof (int64_t), s_compare);
        int64_t p99 = s_percentile (unloaded, n_unloaded, 99);
        s_tail_rows ("unloaded", unloaded, n_unloaded, p99);
        s_tail_rows ("org paged by a reader", paged, n_paged, p99);
        //  When in the snapshot the slow joins came (the probes are in time
        //  order): the node applies the whole snapshot at its end
        long slow = 0, slow_late = 0;
        for (long i = 0; i < n_snapshot; i++)
            if (snapshot [i] > 2 * p99) {
                slow++;
                slow_late += i >= n_snapshot * 4 / 5;
            }
        if (n_snapshot >= 100)
            s_tail_rows ("new node's snapshot", snapshot, n_snapshot, p99);
        else
            s_row_na ("join p99, new node's snapshot", "the snapshot took fewer than 100 joins");
        s_note ("%d joins timed one at a time per figure; the new node n1 serves %d branches "
                "(%d members): %ld joins timed during its snapshot, %.2f s", TAIL_PROBES,
                TAIL_BRANCHES, TAIL_BRANCHES * TAIL_PER_BRANCH, n_snapshot, snapshot_took / 1e6);
        s_note ("%ld joins during the snapshot took over twice the unloaded p99, %ld of them "
                "in its last fifth", slow, slow_late);
    }
    else
        s_row_na (name, s_why);
    free (unloaded);
    free (paged);
    free (snapshot);
}

int
main (int argc, char *argv [])
{
    const char *only = argc == 4? argv [3]: "";
    if (argc < 3 || argc > 4 || (*only && !streq (only, "hub") && !streq (only, "replication")
                                 && !streq (only, "content") && !streq (only, "report")
                                 && !streq (only, "tail"))) {
        fprintf (stderr, "usage: bench BINDIR WORKDIR [hub|tail|replication|content|report]\n");
        return 1;
    }
    snprintf (s_bindir, sizeof (s_bindir), "%s", argv [1]);
    snprintf (s_workdir, sizeof (s_workdir), "%s", argv [2]);
    snprintf (s_pids_file, sizeof (s_pids_file), "%s/pids", s_workdir);
    //  Our own handlers, so that children die with us
    zsys_handler_set (NULL);
    struct sigaction action = { .sa_handler = s_on_signal };
    sigemptyset (&action.sa_mask);
    int signals [] = { SIGINT, SIGTERM, SIGHUP, SIGALRM, SIGABRT, SIGSEGV };
    for (size_t i = 0; i < sizeof (signals) / sizeof (signals [0]); i++)
        sigaction (signals [i], &action, NULL);
    atexit (s_children_kill);
    alarm (BENCH_DEADLINE_S);
    zsys_init ();

    s_header ();
    if (!*only || streq (only, "hub"))
        s_figure_hub ();
    if (!*only || streq (only, "hub"))
        s_figure_fair_share ();
    if (!*only || streq (only, "tail"))
        s_figure_tail ();
    if (!*only || streq (only, "replication"))
        s_figures_replication ();
    if (!*only || streq (only, "content"))
        s_figures_content ();
    if (!*only || streq (only, "report"))
        s_figure_report ();
    zsys_shutdown ();
    return 0;
}

/* node_sync.c -- replication session of a node: pushes applied exactly once. */
#include "node_sync.h"
#include "policy.h"
#include "repl.h"

//  The session is a small state machine (in the manner of Malamute's server
//  models): each body from the hub, and the silence timer, is an event; the
//  row of s_machine for the state and the event runs its actions and gives
//  the next state. An action that fails raises E_FAILED, which ends the
//  session; the silence timer starts it again from what the replica holds.

typedef enum {
    S_IDLE,                         /* no session: waiting out the pause */
    S_HELLO_SENT,                   /* sync.hello sent, nothing heard yet */
    S_STREAMING,                    /* the hub talks to us */
    S_SNAPSHOTTING                  /* between snapshot_begin and snapshot_end */
} s_state_t;

typedef enum {
    E_NONE,
    E_START,                        /* the node starts */
    E_SILENCE,                      /* nothing heard for NODE_SYNC_SILENCE_MS */
    E_REPLY_OK,                     /* to sync.hello or sync.ack */
    E_REFUSED,                      /* an error reply */
    E_CHANGES,                      /* the pushes of PROTOCOL.md 7.2 */
    E_HEARTBEAT,
    E_SNAPSHOT_BEGIN,
    E_SNAPSHOT,
    E_SNAPSHOT_END,
    E_NEWER_PUSH,                   /* a push of a newer protocol: ignored */
    E_FAILED                        /* a push that cannot be applied */
} s_event_t;

static const char *s_event_names [] = {
    "", "start", "silence", "reply", "refusal", "changes", "heartbeat", "snapshot_begin",
    "snapshot", "snapshot_end", "newer push", "failure"
};

struct _node_sync_t {
    store_t *store;                 /* borrowed */
    dt_id_t node;
    const client_opts_t *opts;      /* borrowed; NULL = no network */
    client_t *hub;
    s_state_t state;
    uint64_t applied;               /* cached TBL_META "applied" */
    int64_t last_heard;             /* mono ms of the last body from the hub */
    bool warned;                    /* the hub's silence was logged */
    char last_error [DT_ERR_MSG_MAX + 32];
    //  The body being taken, and what it leaves to do
    stream_push_t push;
    const proto_reply_t *reply;
    bool ack_due;
    uint64_t credit_due;
    dt_err_t err;                   /* set by a failed action */
    //  A snapshot arrives in several pushes and is applied whole at its end,
    //  so that no write transaction stays open across messages (the outbox
    //  needs to commit in between).
    msgpack_sbuffer snapshot;       /* change maps, back to back */
    //  The pushes taken in one round (node_sync_recv) are applied in one
    //  transaction, committed before the round's ack: a node catching up
    //  syncs its disk once per round, not once per push
    store_txn_t round;
    bool round_open;
    uint64_t round_upto;            /* applied, once the round commits */
    //  Key and branch records decide which keys the node admits: a push
    //  that changed them is reported once (node_sync_admission_changed)
    bool admission_applying;        /* in the push being applied */
    bool admission_changed;         /* in a committed push, not yet reported */
};

typedef void (s_action_fn) (node_sync_t *self);
static s_action_fn s_connect, s_warn_silence, s_log_replicating, s_log_refusal,
                   s_log_failure, s_disconnect, s_apply_changes, s_ack,
                   s_snapshot_start, s_snapshot_keep, s_snapshot_apply;

#define IN(state)     (1 << (state))
#define S_ANY         (IN (S_IDLE) | IN (S_HELLO_SENT) | IN (S_STREAMING) | IN (S_SNAPSHOTTING))
#define S_NOT_SNAP    (IN (S_IDLE) | IN (S_HELLO_SENT) | IN (S_STREAMING))
#define S_SAME        (-1)

static const struct {
    int in;                         /* states the row applies in */
    s_event_t on;
    s_action_fn *actions [3];
    int then;                       /* s_state_t, or S_SAME */
} s_machine [] = {
    //  in                 on                do                               then
    { IN (S_IDLE),         E_START,          { s_connect },                   S_HELLO_SENT },
    { S_ANY,               E_SILENCE,        { s_warn_silence, s_connect },   S_HELLO_SENT },
    { S_NOT_SNAP,          E_REPLY_OK,       { s_log_replicating },           S_STREAMING },
    { IN (S_SNAPSHOTTING), E_REPLY_OK,       { NULL },                        S_SAME },
    { S_ANY,               E_REFUSED,        { s_log_refusal, s_disconnect }, S_IDLE },
    { S_NOT_SNAP,          E_CHANGES,   { s_apply_changes, s_ack, s_log_replicating },
                                                                              S_STREAMING },
    { S_NOT_SNAP,          E_HEARTBEAT,      { s_ack, s_log_replicating },    S_STREAMING },
    { IN (S_SNAPSHOTTING), E_HEARTBEAT,      { s_ack },                       S_SAME },
    { S_ANY,               E_SNAPSHOT_BEGIN, { s_snapshot_start, s_log_replicating },
                                                                              S_SNAPSHOTTING },
    { IN (S_SNAPSHOTTING), E_SNAPSHOT,       { s_snapshot_keep },             S_SAME },
    { IN (S_SNAPSHOTTING), E_SNAPSHOT_END,   { s_snapshot_apply, s_ack },     S_STREAMING },
    { S_ANY,               E_NEWER_PUSH,     { NULL },                        S_SAME },
    { S_ANY,               E_FAILED,         { s_log_failure, s_disconnect }, S_IDLE },
};

/* Take an event in the current state. An event without a row here is a push
   out of order (snapshot entries outside a snapshot): it fails the session.
   Actions after a failed one are skipped; the failure is taken next. */
static void
s_execute (node_sync_t *self, s_event_t event)
{
    while (event != E_NONE) {
        size_t row = 0;
        while (row < sizeof (s_machine) / sizeof (s_machine [0])
           && (!(s_machine [row].in & IN (self->state)) || s_machine [row].on != event))
            row++;
        if (row == sizeof (s_machine) / sizeof (s_machine [0])) {
            dt_err_set (&self->err, "MALFORMED", "%s push out of order",
                        s_event_names [event]);
            event = E_FAILED;
            continue;
        }
        bool failed = dt_err_is_set (&self->err);
        for (int i = 0; i < 3 && s_machine [row].actions [i]; i++)
            if (failed || !dt_err_is_set (&self->err))
                s_machine [row].actions [i] (self);
        if (s_machine [row].then != S_SAME)
            self->state = (s_state_t) s_machine [row].then;
        event = !failed && dt_err_is_set (&self->err)? E_FAILED: E_NONE;
    }
}

node_sync_t *
node_sync_new (store_t *store, const char *node, const client_opts_t *hub)
{
    node_sync_t *self = (node_sync_t *) zmalloc (sizeof (node_sync_t));
    self->store = store;
    self->opts = hub;
    snprintf (self->node, sizeof (self->node), "%s", node);
    msgpack_sbuffer_init (&self->snapshot);
    dt_err_init (&self->err);
    store_txn_t txn;
    if (store_begin (store, &txn, NULL, false, &self->err) == 0) {
        self->applied = store_meta_uint (&txn, "applied");
        store_abort (&txn);
    }
    dt_err_reset (&self->err);
    if (hub)
        s_execute (self, E_START);
    return self;
}

void
node_sync_destroy (node_sync_t **self_p)
{
    assert (self_p);
    node_sync_t *self = *self_p;
    if (self) {
        client_destroy (&self->hub);
        if (self->round_open)
            store_abort (&self->round);
        msgpack_sbuffer_destroy (&self->snapshot);
        dt_err_reset (&self->err);
        free (self);
        *self_p = NULL;
    }
}

uint64_t
node_sync_applied (node_sync_t *self)
{
    return self->applied;
}

zsock_t *
node_sync_sock (node_sync_t *self)
{
    return self->hub? client_sock (self->hub): NULL;
}

bool
node_sync_connected (node_sync_t *self)
{
    return self->state == S_STREAMING || self->state == S_SNAPSHOTTING;
}

bool
node_sync_admission_changed (node_sync_t *self)
{
    bool changed = self->admission_changed;
    self->admission_changed = false;
    return changed;
}

//  Applying pushes

/* Apply one change to the replica in txn; tables a newer hub replicates
   that this node does not know yet are passed over. */
static int
s_apply_change (node_sync_t *self, store_txn_t *txn, const stream_change_t *change,
                dt_err_t *err)
{
    const repl_table_t *table = repl_table (change->table);
    if (!table)
        return 0;
    self->admission_applying |= table->admission;
    return repl_apply (txn, self->node, change->table, change->key, change->value,
                       change->value_size, err);
}

/* Commit txn with applied = upto; the cached value follows only a commit. */
static int
s_commit_upto (node_sync_t *self, store_txn_t *txn, uint64_t upto, dt_err_t *err)
{
    if (store_meta_set_uint (txn, "applied", upto, err)) {
        store_abort (txn);
        return -1;
    }
    if (store_commit (txn, err))
        return -1;
    self->applied = upto;
    self->admission_changed |= self->admission_applying;
    return 0;
}

/* Apply a run of change maps with seq above `after` in txn. */
static int
s_apply_run (node_sync_t *self, store_txn_t *txn, const void *entries, size_t size,
             uint64_t after, dt_err_t *err)
{
    size_t offset = 0;
    stream_change_t change;
    int rc;
    while ((rc = stream_entries_next (entries, size, &offset, &change, err)) == 1)
        if (change.seq > after && s_apply_change (self, txn, &change, err))
            return -1;
    return rc;
}

/* What the replica holds once the open round commits. */
static uint64_t
s_applied_ahead (node_sync_t *self)
{
    return self->round_open? self->round_upto: self->applied;
}

/* Apply a push's entries in the round's transaction (begun by the round's
   first push); a failure aborts the whole round, whose pushes come again
   in the next session. */
static int
s_round_apply (node_sync_t *self, const void *entries, size_t size, uint64_t upto,
               dt_err_t *err)
{
    if (!self->round_open) {
        if (store_begin (self->store, &self->round, NULL, true, err))
            return -1;
        self->round_open = true;
        self->round_upto = self->applied;
        self->admission_applying = false;
    }
    if (s_apply_run (self, &self->round, entries, size, self->round_upto, err)) {
        store_abort (&self->round);
        self->round_open = false;
        return -1;
    }
    self->round_upto = upto;
    return 0;
}

/* Commit the round's pushes, if any. */
static int
s_round_commit (node_sync_t *self, dt_err_t *err)
{
    if (!self->round_open)
        return 0;
    self->round_open = false;
    return s_commit_upto (self, &self->round, self->round_upto, err);
}

/* Replace the replica with a snapshot's entries and commit up to upto,
   after what the round applied before it. */
static int
s_snapshot_commit (node_sync_t *self, const void *entries, size_t size, uint64_t upto,
                   dt_err_t *err)
{
    store_txn_t txn;
    if (s_round_commit (self, err) || store_begin (self->store, &txn, NULL, true, err))
        return -1;
    self->admission_applying = true;
    if (repl_wipe (&txn, err) || s_apply_run (self, &txn, entries, size, 0, err)) {
        store_abort (&txn);
        return -1;
    }
    return s_commit_upto (self, &txn, upto, err);
}

/* ACTION: PUSH changes entries upto. Entries at or below applied were
   applied before (a redelivery after a reconnect) and are skipped. The hub
   took the entries off our credit: they are given back. */
static void
s_apply_changes (node_sync_t *self)
{
    self->credit_due += self->push.nentries;
    if (self->push.upto > s_applied_ahead (self))
        s_round_apply (self, self->push.entries, self->push.entries_size, self->push.upto,
                       &self->err);
}

/* ACTION: PUSH snapshot_begin upto */
static void
s_snapshot_start (node_sync_t *self)
{
    msgpack_sbuffer_clear (&self->snapshot);
}

/* ACTION: PUSH snapshot entries: kept until the snapshot ends. */
static void
s_snapshot_keep (node_sync_t *self)
{
    msgpack_sbuffer_write (&self->snapshot, self->push.entries, self->push.entries_size);
}

/* ACTION: PUSH snapshot_end upto: the snapshot replaces the whole replica
   (records of branches since taken away, any stray record, keys since
   deleted go; no policy means the defaults), in one transaction. */
static void
s_snapshot_apply (node_sync_t *self)
{
    s_snapshot_commit (self, self->snapshot.data, self->snapshot.size, self->push.upto,
                       &self->err);
    msgpack_sbuffer_clear (&self->snapshot);
}

/* ACTION: the hub hears of this body in the next ack. */
static void
s_ack (node_sync_t *self)
{
    self->ack_due = true;
}

static s_event_t
s_push_event (stream_kind_t kind)
{
    switch (kind) {
        case STREAM_CHANGES:        return E_CHANGES;
        case STREAM_HEARTBEAT:      return E_HEARTBEAT;
        case STREAM_SNAPSHOT_BEGIN: return E_SNAPSHOT_BEGIN;
        case STREAM_SNAPSHOT:       return E_SNAPSHOT;
        case STREAM_SNAPSHOT_END:   return E_SNAPSHOT_END;
        default:                    return E_NEWER_PUSH;
    }
}

/* Take one decoded push (decode_rc: its decoding) and report the ack and
   credit it leaves to send. 0, or -1 with self->err. */
static int
s_take_push (node_sync_t *self, int decode_rc, bool *ack, uint64_t *credit)
{
    self->ack_due = false;
    self->credit_due = 0;
    s_execute (self, decode_rc? E_FAILED: s_push_event (self->push.kind));
    *ack = self->ack_due;
    *credit = self->credit_due;
    return dt_err_is_set (&self->err)? -1: 0;
}

int
node_sync_push (node_sync_t *self, const void *data, size_t size, bool *ack,
                uint64_t *credit, dt_err_t *err)
{
    dt_err_reset (&self->err);
    int rc = stream_push_decode (&self->push, data, size, &self->err);
    if (rc == 0 && self->push.kind == STREAM_NONE)
        rc = dt_err_set (&self->err, "MALFORMED", "not a push");
    if (s_take_push (self, rc, ack, credit) == 0 && s_round_commit (self, &self->err) == 0)
        return 0;
    return dt_err_set (err, self->err.code, "%s", self->err.message);
}

//  The session

/* ACTION: (re)build the socket and say hello from what the replica holds. */
static void
s_connect (node_sync_t *self)
{
    client_destroy (&self->hub);
    msgpack_sbuffer_clear (&self->snapshot);
    self->last_heard = zclock_mono ();
    dt_err_t err;
    dt_err_init (&err);
    self->hub = client_new (self->opts, &err);
    if (!self->hub) {
        zsys_error ("node %s: hub session: %s", self->node, err.message);
        dt_err_reset (&err);
        return;
    }
    msgpack_sbuffer args;
    msgpack_sbuffer_init (&args);
    stream_hello_t hello = { .from = self->applied, .credit = NODE_SYNC_CREDIT };
    snprintf (hello.node, sizeof (hello.node), "%s", self->node);
    //  The newest audit checkpoint this node witnessed goes with every hello,
    //  so that the hub's audit.verify can hold its chain against it
    store_txn_t txn;
    if (store_begin (self->store, &txn, NULL, false, &err) == 0) {
        const void *val = NULL;
        size_t size = 0;
        if (store_get (&txn, TBL_WITNESS, "current", 7, &val, &size, &err) == 0
        &&  size <= sizeof (hello.witness)) {
            memcpy (hello.witness, val, size);
            hello.witness_size = size;
        }
        store_abort (&txn);
    }
    dt_err_reset (&err);
    stream_hello_encode (&args, &hello);
    client_send (self->hub, "sync.hello", &args);
    msgpack_sbuffer_destroy (&args);
}

/* ACTION: say why the session is rebuilt: once while the hub never answers. */
static void
s_warn_silence (node_sync_t *self)
{
    if (!self->opts)
        return;
    if (node_sync_connected (self))
        zsys_warning ("node %s: no word from the hub for %d ms, reconnecting", self->node,
                      NODE_SYNC_SILENCE_MS);
    else
    if (!self->warned)
        zsys_warning ("node %s: no answer from the hub at %s yet, retrying (is it up, and "
                      "this node's key allowed there?)", self->node, self->opts->endpoint);
    self->warned = true;
}

/* ACTION: say that replication (re)started, on the first body of a session. */
static void
s_log_replicating (node_sync_t *self)
{
    if (self->opts && !node_sync_connected (self))
        zsys_info ("node %s: replicating from the hub at %s (applied %" PRIu64 ")",
                   self->node, self->opts->endpoint, self->applied);
}

/* ACTION: a refusal ends the session (a lost ack would leak its credit); it
   starts again after the usual pause. Each refusal is logged once, not at
   every new attempt. */
static void
s_log_refusal (node_sync_t *self)
{
    char text [DT_ERR_MSG_MAX + 32];
    snprintf (text, sizeof (text), "%s: %s", self->reply->code, self->reply->message);
    if (!streq (text, self->last_error))
        zsys_error ("node %s: the hub refused the session: %s", self->node, text);
    snprintf (self->last_error, sizeof (self->last_error), "%s", text);
}

static void
s_log_failure (node_sync_t *self)
{
    if (self->opts)
        zsys_error ("node %s: replication stopped: %s", self->node, self->err.message);
}

/* ACTION: start over from what the replica durably holds, after the usual
   pause: a push that cannot be applied would come again. */
static void
s_disconnect (node_sync_t *self)
{
    client_destroy (&self->hub);
}

/* SYNC ACK applied credit ts outbox */
static void
s_send_ack (node_sync_t *self, uint64_t credit)
{
    msgpack_sbuffer args;
    msgpack_sbuffer_init (&args);
    stream_ack_t ack = { .applied = self->applied, .credit = credit, .ts = dt_now_ms (),
                         .outbox = store_size (self->store, TBL_OUTBOX) };
    stream_ack_encode (&args, &ack);
    client_send (self->hub, "sync.ack", &args);
    msgpack_sbuffer_destroy (&args);
}

/* One body from the hub, as delimiter + body: a push, or a reply. A body
   that is not DTP at all is logged and passed over. */
static void
s_body (node_sync_t *self, zmsg_t *msg, bool *ack, uint64_t *credit)
{
    zframe_t *delimiter = zmsg_first (msg);
    zframe_t *body = zmsg_next (msg);
    if (zmsg_size (msg) != 2 || zframe_size (delimiter) != 0) {
        zsys_warning ("node %s: bad body from the hub: not delimiter + body", self->node);
        return;
    }
    dt_err_t err;
    dt_err_init (&err);
    dt_err_reset (&self->err);
    int rc = stream_push_decode (&self->push, zframe_data (body), zframe_size (body),
                                 &self->err);
    if (rc == 0 && self->push.kind == STREAM_NONE) {
        proto_reply_t reply;
        if (proto_reply_decode (&reply, zframe_data (body), zframe_size (body), &err) == 0) {
            self->reply = &reply;
            if (reply.ok)
                self->last_error [0] = 0;
            s_execute (self, reply.ok? E_REPLY_OK: E_REFUSED);
            self->reply = NULL;
        }
        else
            zsys_warning ("node %s: bad body from the hub: %s", self->node, err.message);
        proto_reply_release (&reply);
    }
    else
    //  A push that does not decode ends the session; bytes that are not
    //  msgpack at all are passed over
    if (rc == 0 || proto_check (zframe_data (body), zframe_size (body), &err) == 0) {
        bool due;
        uint64_t granted;
        s_take_push (self, rc, &due, &granted);
        *ack |= due;
        *credit += granted;
    }
    else {
        zsys_warning ("node %s: bad body from the hub: %s", self->node, err.message);
        dt_err_reset (&err);
        return;
    }
    dt_err_reset (&err);
    //  Stamped after the apply (the round commits at the end of
    //  node_sync_recv): a slow disk is not a silent hub
    self->last_heard = zclock_mono ();
    self->warned &= !node_sync_connected (self);
}

void
node_sync_recv (node_sync_t *self)
{
    //  One ack for every push taken in this round: fewer requests at the hub
    bool ack = false;
    uint64_t credit = 0;
    while (self->hub && (zsock_events (client_sock (self->hub)) & ZMQ_POLLIN)) {
        zmsg_t *msg = zmsg_recv (client_sock (self->hub));
        if (!msg)
            break;
        s_body (self, msg, &ack, &credit);
        zmsg_destroy (&msg);
    }
    dt_err_reset (&self->err);
    if (s_round_commit (self, &self->err)) {
        s_execute (self, E_FAILED);
        return;
    }
    if (ack && self->hub)
        s_send_ack (self, credit);
}

void
node_sync_tick (node_sync_t *self)
{
    if (self->opts && zclock_mono () - self->last_heard >= NODE_SYNC_SILENCE_MS) {
        dt_err_reset (&self->err);
        s_execute (self, E_SILENCE);
    }
}

//  Self-test: pushes encoded as the hub encodes them, applied to a replica

/* Add one change to the push's entries; record NULL is a deletion. */
static void
s_test_change (msgpack_sbuffer *entries, uint64_t seq, const char *table, const char *key,
               const msgpack_sbuffer *record)
{
    stream_change_t change = { .seq = seq, .nnodes = 1, .nodes = { "n1" } };
    snprintf (change.table, sizeof (change.table), "%s", table);
    snprintf (change.key, sizeof (change.key), "%s", key);
    if (record) {
        change.value = record->data;
        change.value_size = record->size;
    }
    stream_change_encode (entries, &change);
}

typedef struct {
    stream_push_t push;
    msgpack_sbuffer entries;
    msgpack_sbuffer body;
    msgpack_sbuffer records [8];
    int nrecords;
} s_test_push_t;

static void
s_test_push_begin (s_test_push_t *self, stream_kind_t kind, uint32_t entries, uint64_t upto)
{
    memset (self, 0, sizeof (*self));
    self->push = (stream_push_t) { .kind = kind, .upto = upto, .nentries = entries };
    msgpack_sbuffer_init (&self->entries);
    msgpack_sbuffer_init (&self->body);
}

static msgpack_sbuffer *
s_test_record (s_test_push_t *self)
{
    assert (self->nrecords < 8);
    msgpack_sbuffer *record = &self->records [self->nrecords++];
    msgpack_sbuffer_init (record);
    return record;
}

static void
s_test_branch (s_test_push_t *self, uint64_t seq, const char *id, const char *node,
               uint32_t core, uint32_t halls)
{
    branch_t branch = { .core_seats = core, .halls = halls, .created = 1 };
    snprintf (branch.id, sizeof (branch.id), "%s", id);
    snprintf (branch.name, sizeof (branch.name), "分舵 %s", id);
    snprintf (branch.leader, sizeof (branch.leader), "o-1");
    snprintf (branch.node, sizeof (branch.node), "%s", node);
    msgpack_sbuffer *record = s_test_record (self);
    record_branch_encode (&branch, record);
    s_test_change (&self->entries, seq, "branch", id, record);
}

static void
s_test_hall (s_test_push_t *self, uint64_t seq, const char *id, const char *branch,
             uint32_t seats)
{
    hall_t hall = { .seats = seats, .created = 1 };
    snprintf (hall.id, sizeof (hall.id), "%s", id);
    snprintf (hall.name, sizeof (hall.name), "堂口 %s", id);
    snprintf (hall.branch, sizeof (hall.branch), "%s", branch);
    snprintf (hall.leader, sizeof (hall.leader), "m-lead");
    msgpack_sbuffer *record = s_test_record (self);
    record_hall_encode (&hall, record);
    s_test_change (&self->entries, seq, "hall", id, record);
}

static void
s_test_member (s_test_push_t *self, uint64_t seq, const char *id, seat_kind_t seat,
               const char *group, const char *branch)
{
    member_t member = { .seat = seat, .created = 1 };
    snprintf (member.id, sizeof (member.id), "%s", id);
    snprintf (member.name, sizeof (member.name), "会员 %s", id);
    snprintf (member.group, sizeof (member.group), "%s", group);
    snprintf (member.branch, sizeof (member.branch), "%s", branch);
    msgpack_sbuffer *record = s_test_record (self);
    record_member_encode (&member, record);
    s_test_change (&self->entries, seq, "member", id, record);
}

static void
s_test_key (s_test_push_t *self, uint64_t seq, const char *name)
{
    dt_key_t key = { .role = KEY_LEADER, .branches = { "b-1" }, .nbranches = 1 };
    snprintf (key.name, sizeof (key.name), "%s", name);
    snprintf (key.public_key, sizeof (key.public_key), "%s",
              "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    msgpack_sbuffer *record = s_test_record (self);
    record_key_encode (&key, record);
    s_test_change (&self->entries, seq, "key", name, record);
}

static void
s_test_policy (s_test_push_t *self, uint64_t seq, uint64_t version, uint32_t hall_cap)
{
    policy_t policy;
    policy_defaults (&policy);
    policy.version = version;
    policy.hall_cap = hall_cap;
    msgpack_sbuffer *record = s_test_record (self);
    policy_encode (&policy, record);
    s_test_change (&self->entries, seq, "policy", POLICY_KEY, record);
}

/* The version of the policy the replica holds (0: none, the defaults). */
static uint64_t
s_test_policy_version (store_t *store)
{
    store_txn_t txn;
    dt_err_t err;
    dt_err_init (&err);
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    policy_t policy;
    assert (policy_get (&txn, &policy, &err) == 0);
    store_abort (&txn);
    return policy.version;
}

/* Encode the push into its body. */
static void
s_test_push_encode (s_test_push_t *self)
{
    self->push.entries = self->entries.data;
    self->push.entries_size = self->entries.size;
    msgpack_sbuffer_clear (&self->body);
    stream_push_encode (&self->body, &self->push);
}

/* Send the push as the hub does: routing id, delimiter, body. */
static void
s_test_push_send (s_test_push_t *self, zsock_t *hub, zframe_t *peer)
{
    s_test_push_encode (self);
    zmsg_t *msg = zmsg_new ();
    zframe_t *to = zframe_dup (peer);
    zmsg_append (msg, &to);
    zmsg_addmem (msg, NULL, 0);
    zmsg_addmem (msg, self->body.data, self->body.size);
    assert (zmsg_send (&msg, hub) == 0);
}

/* Feed the push to node_sync_push; return its result code. */
static int
s_test_push_run (s_test_push_t *self, node_sync_t *sync, bool *ack, uint64_t *credit)
{
    s_test_push_encode (self);
    dt_err_t err;
    dt_err_init (&err);
    int rc = node_sync_push (sync, self->body.data, self->body.size, ack, credit, &err);
    dt_err_reset (&err);
    return rc;
}

static void
s_test_push_end (s_test_push_t *self)
{
    for (int i = 0; i < self->nrecords; i++)
        msgpack_sbuffer_destroy (&self->records [i]);
    msgpack_sbuffer_destroy (&self->entries);
    msgpack_sbuffer_destroy (&self->body);
}

/* Which of the ids exist in the replica, as a string of 0/1 per id. */
static void
s_test_expect (store_t *store, const char *table, const char *ids, const char *present)
{
    store_txn_t txn;
    dt_err_t err;
    dt_err_init (&err);
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    char copy [256];
    snprintf (copy, sizeof (copy), "%s", ids);
    int i = 0;
    for (char *save = NULL, *id = strtok_r (copy, " ", &save); id;
         id = strtok_r (NULL, " ", &save), i++) {
        const void *val;
        size_t size;
        store_table_t tbl = streq (table, "branch")? TBL_BRANCH:
                            streq (table, "hall")? TBL_HALL:
                            streq (table, "key")? TBL_KEY:
                            streq (table, "policy")? TBL_POLICY: TBL_MEMBER;
        int found = store_get (&txn, tbl, id, strlen (id), &val, &size, &err);
        if ((found == 0) != (present [i] == '1'))
            printf ("\n%s %s: expected %s\n", table, id, present [i] == '1'? "present": "absent");
        assert ((found == 0) == (present [i] == '1'));
    }
    store_abort (&txn);
}

static uint64_t
s_test_seats (store_t *store, seat_kind_t kind, const char *group)
{
    store_txn_t txn;
    dt_err_t err;
    dt_err_init (&err);
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    zlistx_t *ids = tree_seat_ids (&txn, kind, group, &err);
    assert (ids);
    uint64_t count = zlistx_size (ids);
    zlistx_destroy (&ids);
    store_abort (&txn);
    return count;
}

void
node_sync_test (bool verbose)
{
    (void) verbose;
    char dir [] = "/tmp/duotang-node-sync-test-XXXXXX";
    assert (mkdtemp (dir));
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = store_new (dir, 64, &err);
    assert (store);
    node_sync_t *sync = node_sync_new (store, "n1", NULL);
    assert (node_sync_applied (sync) == 0 && node_sync_sock (sync) == NULL);
    bool ack;
    uint64_t credit;

    //  A changes push: our branch with a hall and members, another node's
    //  branch with a member; entries not meant for us are skipped by upto
    s_test_push_t push;
    s_test_push_begin (&push, STREAM_CHANGES, 6, 20);
    s_test_branch (&push, 3, "b-1", "n1", 1, 1);
    s_test_member (&push, 4, "m-lead", SEAT_CORE, "b-1", "b-1");
    s_test_hall (&push, 5, "h-1", "b-1", 2);
    s_test_member (&push, 6, "m-1", SEAT_HALL, "h-1", "b-1");
    s_test_branch (&push, 7, "b-2", "n2", 1, 0);
    s_test_member (&push, 8, "m-2", SEAT_CORE, "b-2", "b-2");
    assert (s_test_push_run (&push, sync, &ack, &credit) == 0);
    assert (ack && credit == 6 && node_sync_applied (sync) == 20);
    s_test_expect (store, "branch", "b-1 b-2", "10");
    s_test_expect (store, "member", "m-lead m-1 m-2", "110");
    s_test_expect (store, "hall", "h-1", "1");
    assert (s_test_seats (store, SEAT_HALL, "h-1") == 1);
    //  Branches decide which leader keys the node admits
    assert (node_sync_admission_changed (sync) && !node_sync_admission_changed (sync));

    //  m-1 leaves: the member is deleted from the replica
    s_test_push_t leave;
    s_test_push_begin (&leave, STREAM_CHANGES, 2, 22);
    s_test_member (&leave, 21, "m-1", SEAT_NONE, "", "");
    s_test_hall (&leave, 22, "h-1", "b-1", 0);
    assert (s_test_push_run (&leave, sync, &ack, &credit) == 0 && credit == 2);
    s_test_expect (store, "member", "m-1", "0");
    assert (s_test_seats (store, SEAT_HALL, "h-1") == 0);
    assert (!node_sync_admission_changed (sync));

    //  Key records are kept whole, and change who may connect; so is the
    //  policy, whatever branches the node serves
    s_test_push_t keys;
    s_test_push_begin (&keys, STREAM_CHANGES, 2, 24);
    s_test_key (&keys, 23, "lk");
    s_test_policy (&keys, 24, 5, 2);
    assert (s_test_push_run (&keys, sync, &ack, &credit) == 0 && credit == 2);
    s_test_expect (store, "key", "lk", "1");
    assert (s_test_policy_version (store) == 5);
    assert (node_sync_admission_changed (sync));
    s_test_push_end (&keys);

    //  Redelivering the first push (a reconnect) changes nothing: m-1 stays gone
    assert (s_test_push_run (&push, sync, &ack, &credit) == 0);
    assert (ack && credit == 6 && node_sync_applied (sync) == 24);
    s_test_expect (store, "member", "m-lead m-1", "10");
    s_test_push_end (&push);

    //  A push overlapping what was applied applies only the new entries
    s_test_push_t overlap;
    s_test_push_begin (&overlap, STREAM_CHANGES, 2, 30);
    s_test_member (&overlap, 21, "m-1", SEAT_HALL, "h-1", "b-1");
    s_test_member (&overlap, 25, "m-3", SEAT_CORE, "b-1", "b-1");
    assert (s_test_push_run (&overlap, sync, &ack, &credit) == 0);
    s_test_expect (store, "member", "m-1 m-3", "01");
    assert (node_sync_applied (sync) == 30);
    s_test_push_end (&overlap);
    s_test_push_end (&leave);

    //  A damaged change fails the whole push: nothing applied, applied kept
    s_test_push_t bad;
    s_test_push_begin (&bad, STREAM_CHANGES, 2, 40);
    s_test_member (&bad, 31, "m-4", SEAT_CORE, "b-1", "b-1");
    msgpack_sbuffer_write (&bad.entries, "\x81\xa3seq\x20", 6);     /* no table, key, value */
    assert (s_test_push_run (&bad, sync, &ack, &credit) == -1);
    s_test_expect (store, "member", "m-4", "0");
    assert (node_sync_applied (sync) == 30);
    s_test_push_end (&bad);

    //  A snapshot replaces the replica: b-1 is gone, b-3 arrives; a stray
    //  record (no branch) is wiped too
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    assert (store_put (&txn, TBL_MEMBER, "stray", 5, "\x80", 1, &err) == 0);
    assert (store_commit (&txn, &err) == 0);
    s_test_push_t begin, records, end;
    s_test_push_begin (&begin, STREAM_SNAPSHOT_BEGIN, 0, 100);
    assert (s_test_push_run (&begin, sync, &ack, &credit) == 0 && !ack);
    s_test_push_begin (&records, STREAM_SNAPSHOT, 3, 0);
    s_test_branch (&records, 100, "b-3", "n1", 1, 1);
    s_test_hall (&records, 100, "h-3", "b-3", 0);
    s_test_member (&records, 100, "m-5", SEAT_CORE, "b-3", "b-3");
    assert (s_test_push_run (&records, sync, &ack, &credit) == 0 && !ack);
    //  Nothing shows before the snapshot ends
    s_test_expect (store, "branch", "b-1 b-3", "10");
    s_test_push_begin (&end, STREAM_SNAPSHOT_END, 0, 100);
    assert (s_test_push_run (&end, sync, &ack, &credit) == 0 && ack && credit == 0);
    assert (node_sync_applied (sync) == 100);
    s_test_expect (store, "branch", "b-1 b-2 b-3", "001");
    s_test_expect (store, "hall", "h-1 h-3", "01");
    s_test_expect (store, "member", "m-lead m-3 m-5 stray", "0010");
    s_test_expect (store, "key", "lk", "0");
    s_test_expect (store, "policy", POLICY_KEY, "0");
    assert (s_test_policy_version (store) == 0);
    assert (node_sync_admission_changed (sync));
    assert (s_test_seats (store, SEAT_CORE, "b-1") == 0);
    assert (s_test_seats (store, SEAT_CORE, "b-3") == 1);
    //  snapshot_end or snapshot entries without a snapshot are refused, and
    //  end the session; changes in the middle of a snapshot too
    assert (node_sync_connected (sync));
    assert (s_test_push_run (&end, sync, &ack, &credit) == -1 && !ack);
    assert (!node_sync_connected (sync));
    assert (s_test_push_run (&records, sync, &ack, &credit) == -1);
    assert (s_test_push_run (&begin, sync, &ack, &credit) == 0 && node_sync_connected (sync));
    s_test_push_t late;
    s_test_push_begin (&late, STREAM_CHANGES, 0, 200);
    assert (s_test_push_run (&late, sync, &ack, &credit) == -1);
    assert (node_sync_applied (sync) == 100);
    s_test_push_end (&late);
    //  A heartbeat is acked
    s_test_push_end (&begin);
    s_test_push_end (&records);
    s_test_push_end (&end);
    s_test_push_t beat;
    s_test_push_begin (&beat, STREAM_HEARTBEAT, 0, 0);
    assert (s_test_push_run (&beat, sync, &ack, &credit) == 0 && ack && credit == 0);
    s_test_push_end (&beat);

    //  applied is durable: a new session starts from it
    node_sync_destroy (&sync);
    sync = node_sync_new (store, "n1", NULL);
    assert (node_sync_applied (sync) == 100);
    node_sync_destroy (&sync);

    //  A live session: the pushes waiting on the socket are one round, in
    //  one transaction with one ack; a change of the round that cannot be
    //  applied undoes the whole round and ends the session
    zsock_t *hub = zsock_new_router ("inproc://node-sync-test");
    assert (hub);
    client_opts_t opts = { .endpoint = "inproc://node-sync-test", .insecure = true,
                           .timeout_ms = 1000 };
    sync = node_sync_new (store, "n1", &opts);
    zmsg_t *hello = zmsg_recv (hub);
    assert (hello && zmsg_size (hello) == 3);
    zframe_t *peer = zmsg_pop (hello);
    zmsg_destroy (&hello);
    s_test_push_t round [4];
    const char *ids [4] = { "m-r1", "m-r2", "m-r3", "m-r4" };
    for (int i = 0; i < 4; i++) {
        s_test_push_begin (&round [i], STREAM_CHANGES, 1, 110 + 10 * i);
        s_test_member (&round [i], 101 + 10 * i, ids [i], SEAT_CORE, "b-3", "b-3");
    }
    //  The last change decodes as a change, but its member record does not
    msgpack_sbuffer *damaged = s_test_record (&round [3]);
    msgpack_sbuffer_write (damaged, "\xa1x", 2);
    s_test_change (&round [3].entries, 132, "member", "m-r5", damaged);
    round [3].push.nentries = 2;
    zmq_pollitem_t item = { zsock_resolve (node_sync_sock (sync)), 0, ZMQ_POLLIN, 0 };
    for (int r = 0; r < 2; r++) {
        s_test_push_send (&round [2 * r], hub, peer);
        s_test_push_send (&round [2 * r + 1], hub, peer);
        assert (zmq_poll (&item, 1, 1000) == 1);
        node_sync_recv (sync);
        if (r == 0) {
            assert (node_sync_applied (sync) == 120);
            zmsg_t *ack_msg = zmsg_recv (hub);
            assert (ack_msg);
            zmsg_destroy (&ack_msg);
            zmq_pollitem_t acks = { zsock_resolve (hub), 0, ZMQ_POLLIN, 0 };
            assert (zmq_poll (&acks, 1, 50) == 0);          /* one ack for the round */
        }
    }
    assert (node_sync_applied (sync) == 120 && !node_sync_sock (sync));
    s_test_expect (store, "member", "m-r1 m-r2 m-r3 m-r4", "1100");
    for (int i = 0; i < 4; i++)
        s_test_push_end (&round [i]);
    node_sync_destroy (&sync);
    zframe_destroy (&peer);
    zsock_destroy (&hub);
    store_destroy (&store);
    store_remove (dir);
    dt_err_reset (&err);
}

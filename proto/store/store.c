/* store.c -- LMDB tables, transactions, change log and audit chain. */
#include "store.h"
#include "proto.h"
#include <sys/stat.h>
#include <sys/statvfs.h>

static const char *s_table_names [TBL_COUNT] = {
#define S_TABLE_NAME(id, name) name,
    STORE_TABLES (S_TABLE_NAME)
#undef S_TABLE_NAME
};

struct _store_t {
    MDB_env *env;
    MDB_dbi dbi [TBL_COUNT];
    char *dir;
    int faults;                 /* write commits still to fail (tests) */
    uint64_t fault_writes;      /* tests: in each transaction, the writes after
                                   this many fail (0: none do) */
    uint64_t log_keep;          /* change-log entries kept (0: all), store_log_trim */
    zhashx_t *witnesses;        /* who -> store_checkpoint_t, in memory only */
};

const char *
store_table_name (store_table_t table)
{
    return (unsigned) table < TBL_COUNT? s_table_names [table]: "?";
}

store_table_t
store_table_by_name (const char *name)
{
    int table = 0;
    while (table < TBL_COUNT && !streq (s_table_names [table], name))
        table++;
    return (store_table_t) table;
}

size_t
store_rid_key (const char *key_name, const char *rid, char *out, size_t size)
{
    size_t name_len = strlen (key_name), rid_len = rid? strlen (rid): 0;
    if (rid_len == 0 || name_len + 1 + rid_len >= size)
        return 0;
    memcpy (out, key_name, name_len);
    out [name_len] = '/';
    memcpy (out + name_len + 1, rid, rid_len + 1);
    return name_len + 1 + rid_len;
}

static int
s_lmdb_error (dt_err_t *err, const char *what, int rc)
{
    return dt_err_set (err, "INTERNAL", "%s failed: %s", what, mdb_strerror (rc));
}

//  A write that failed for want of room says so: LMDB reports a map used up
//  as MDB_MAP_FULL, and a disk that filled up mid-write as ENOSPC or, for a
//  short write, as EIO (so the free space is looked at)
static int
s_write_error (store_t *self, const char *what, int rc, dt_err_t *err)
{
    if (rc == MDB_MAP_FULL) {
        MDB_envinfo info;
        mdb_env_info (self->env, &info);
        return dt_err_set (err, "INTERNAL", "store %s is full: its map of %zu MiB is used up "
                           "(%s: %s); nothing was changed; raise mapsize_mb", self->dir,
                           info.me_mapsize >> 20, what, mdb_strerror (rc));
    }
    struct statvfs fs;
    if (rc == ENOSPC
    || (rc == EIO && statvfs (self->dir, &fs) == 0
                  && (uint64_t) fs.f_bavail * fs.f_frsize < (1u << 20)))
        return dt_err_set (err, "INTERNAL", "the disk of store %s is full (%s: %s; no space "
                           "left on device); nothing was changed", self->dir, what,
                           mdb_strerror (rc));
    return s_lmdb_error (err, what, rc);
}

//  The marker a directory keeps once it has held a store: a data.mdb that
//  is missing or empty there was lost, not never made (an empty one would
//  start an empty organisation beside the old keys and certificates)
#define S_MARKER "store.held"

static int
s_refuse_vanished (const char *dir, bool *held, dt_err_t *err)
{
    char marker [PATH_MAX], path [PATH_MAX];
    snprintf (marker, sizeof (marker), "%s/" S_MARKER, dir);
    snprintf (path, sizeof (path), "%s/data.mdb", dir);
    *held = zsys_file_exists (marker);
    if (!*held)
        return 0;
    struct stat st;
    if (stat (path, &st))
        return dt_err_set (err, "INTERNAL", "store %s is missing: %s has held a store "
                           "(%s exists) but data.mdb is gone; restore it from a backup, "
                           "or remove the directory to start afresh", dir, dir, marker);
    if (st.st_size == 0)
        return dt_err_set (err, "INTERNAL", "store %s is empty: data.mdb is 0 bytes in a "
                           "directory that has held a store (%s exists); restore it from "
                           "a backup, or remove the directory to start afresh", dir, marker);
    return 0;
}

static int
s_mark_held (const char *dir, dt_err_t *err)
{
    char marker [PATH_MAX];
    snprintf (marker, sizeof (marker), "%s/" S_MARKER, dir);
    FILE *file = fopen (marker, "w");
    if (!file || fprintf (file, "this directory holds a duotang store (data.mdb)\n") < 0
    ||  fclose (file)) {
        if (file)
            fclose (file);
        return dt_err_set (err, "INTERNAL", "writing %s failed: %s", marker, strerror (errno));
    }
    return 0;
}

//  A store file shorter than its last page (as its meta page says) was cut
//  short: refused whole, since any read of the missing pages would fault
static int
s_refuse_truncated (MDB_env *env, const char *dir, dt_err_t *err)
{
    MDB_envinfo info;
    MDB_stat stat_;
    mdb_env_info (env, &info);
    mdb_env_stat (env, &stat_);
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s/data.mdb", dir);
    struct stat st;
    if (stat (path, &st))
        return dt_err_set (err, "INTERNAL", "store %s: stat %s failed: %s",
                           dir, path, strerror (errno));
    uint64_t needed = ((uint64_t) info.me_last_pgno + 1) * stat_.ms_psize;
    if ((uint64_t) st.st_size < needed)
        return dt_err_set (err, "INTERNAL", "store %s is truncated: data.mdb is %lld bytes, "
                           "shorter than its last page (page %zu of %u bytes needs %" PRIu64
                           " bytes); restore it from a backup", dir, (long long) st.st_size,
                           info.me_last_pgno, stat_.ms_psize, needed);
    return 0;
}

store_t *
store_new (const char *dir, size_t mapsize_mb, dt_err_t *err)
{
    store_t *self = (store_t *) zmalloc (sizeof (store_t));
    self->dir = strdup (dir);
    self->witnesses = zhashx_new ();
    zhashx_set_destructor (self->witnesses, (zhashx_destructor_fn *) zstr_free);
    MDB_txn *txn = NULL;
    int rc;
    if (zsys_dir_create ("%s", dir) && !zsys_file_exists (dir)) {
        dt_err_set (err, "INTERNAL", "mkdir %s failed: %s", dir, strerror (errno));
        goto failed;
    }
    if ((rc = mdb_env_create (&self->env))) {
        s_lmdb_error (err, "mdb_env_create", rc);
        goto failed;
    }
    mdb_env_set_maxdbs (self->env, TBL_COUNT);
    mdb_env_set_mapsize (self->env, (size_t) mapsize_mb << 20);
    bool held = false;
    if (s_refuse_vanished (dir, &held, err))
        goto failed;
    if ((rc = mdb_env_open (self->env, dir, MDB_NOTLS, 0600))) {
        char path [PATH_MAX];
        snprintf (path, sizeof (path), "%s/data.mdb", dir);
        struct stat st;
        if (stat (path, &st) == 0)
            dt_err_set (err, "INTERNAL", "store %s is damaged: opening it failed: %s "
                        "(data.mdb is %lld bytes)", dir, mdb_strerror (rc), (long long) st.st_size);
        else
            dt_err_set (err, "INTERNAL", "opening store %s failed: %s", dir, mdb_strerror (rc));
        goto failed;
    }
    //  Before any page past the meta pages is touched: a mapped read past
    //  the end of the file is SIGBUS, not an error
    if (s_refuse_truncated (self->env, dir, err))
        goto failed;
    if ((rc = mdb_txn_begin (self->env, NULL, 0, &txn))) {
        s_lmdb_error (err, "mdb_txn_begin", rc);
        goto failed;
    }
    for (int table = 0; table < TBL_COUNT; table++)
        if ((rc = mdb_dbi_open (txn, s_table_names [table], MDB_CREATE, &self->dbi [table]))) {
            s_lmdb_error (err, "mdb_dbi_open", rc);
            goto failed;
        }
    if ((rc = mdb_txn_commit (txn))) {
        txn = NULL;
        s_lmdb_error (err, "mdb_txn_commit", rc);
        goto failed;
    }
    txn = NULL;
    if (!held && s_mark_held (dir, err))
        goto failed;
    //  Armed after the tables exist, so that only the server's own writes fail
    const char *faults = getenv ("DUOTANG_FAULT_COMMITS");
    if (faults && atoi (faults) > 0) {
        self->faults = atoi (faults);
        zsys_warning ("store %s: the next %d write commits will fail "
                      "(DUOTANG_FAULT_COMMITS, for tests)", dir, self->faults);
    }
    return self;
failed:
    if (txn)
        mdb_txn_abort (txn);
    store_destroy (&self);
    return NULL;
}

void
store_destroy (store_t **self_p)
{
    assert (self_p);
    store_t *self = *self_p;
    if (!self)
        return;
    if (self->env)
        mdb_env_close (self->env);
    zhashx_destroy (&self->witnesses);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

const char *
store_dir (store_t *self)
{
    return self->dir;
}

static int s_log_flush (store_txn_t *txn, dt_err_t *err);

int
store_begin (store_t *self, store_txn_t *txn, store_txn_t *parent, bool write, dt_err_t *err)
{
    //  A child reads the log's ends from TBL_META
    if (parent && s_log_flush (parent, err))
        return -1;
    memset (txn, 0, sizeof (*txn));
    txn->store = self;
    txn->write = write;
    txn->log = parent? parent->log: false;
    txn->audit = parent? parent->audit: false;
    txn->parent = parent;
    int rc = mdb_txn_begin (self->env, parent? parent->txn: NULL,
                            write? 0: MDB_RDONLY, &txn->txn);
    if (rc) {
        txn->txn = NULL;
        return s_lmdb_error (err, "mdb_txn_begin", rc);
    }
    return 0;
}

static void s_detail_destroy (store_detail_t **self_p);

static void
s_changes_free (store_txn_t *txn)
{
    for (size_t i = 0; i < txn->held; i++) {
        free (txn->changes [i].before);
        free (txn->changes [i].after);
    }
    free (txn->changes);
    txn->changes = NULL;
    txn->held = txn->nchanges = txn->audit_bytes = 0;
    txn->audit_args = NULL;
    txn->audit_args_size = 0;
    s_detail_destroy (&txn->detail);
}

/* What a transaction holds in memory, dropped as it ends. */
static void
s_txn_release (store_txn_t *txn)
{
    s_changes_free (txn);
    msgpack_sbuffer_destroy (&txn->log_buf);
    memset (&txn->log_buf, 0, sizeof (txn->log_buf));
}

void
store_fault_set (store_t *self, int commits)
{
    self->faults = commits > 0? commits: 0;
}

void
store_fault_writes (store_t *self, uint64_t writes)
{
    self->fault_writes = writes;
}

int
store_fault_left (store_t *self)
{
    return self->faults;
}

int
store_commit (store_txn_t *txn, dt_err_t *err)
{
    assert (txn->txn);
    s_txn_release (txn);
    if (txn->write && s_log_flush (txn, err)) {
        mdb_txn_abort (txn->txn);
        txn->txn = NULL;
        return -1;
    }
    if (txn->write && txn->store->faults > 0) {
        txn->store->faults--;
        mdb_txn_abort (txn->txn);
        txn->txn = NULL;
        return dt_err_set (err, "INTERNAL", "mdb_txn_commit failed: injected storage fault "
                           "(%d more to come)", txn->store->faults);
    }
    int rc = mdb_txn_commit (txn->txn);
    txn->txn = NULL;
    //  The child's appends are the parent's now
    if (txn->parent)
        txn->parent->log_known = false;
    return rc? s_write_error (txn->store, "mdb_txn_commit", rc, err): 0;
}

void
store_abort (store_txn_t *txn)
{
    s_txn_release (txn);
    if (txn->txn)
        mdb_txn_abort (txn->txn);
    txn->txn = NULL;
}

int
store_get (store_txn_t *txn, store_table_t table, const void *key, size_t key_size,
           const void **val, size_t *val_size, dt_err_t *err)
{
    if (key_size == 0 || key_size > 511)
        return 1;
    MDB_val k = { key_size, (void *) key }, v;
    int rc = mdb_get (txn->txn, txn->store->dbi [table], &k, &v);
    if (rc == MDB_NOTFOUND)
        return 1;
    if (rc)
        return s_lmdb_error (err, "mdb_get", rc);
    *val = v.mv_data;
    *val_size = v.mv_size;
    return 0;
}

/* Count a write; fail it when the tests ask for it. */
static int
s_write_fault (store_txn_t *txn, dt_err_t *err)
{
    txn->writes++;
    if (txn->store->fault_writes && txn->writes > txn->store->fault_writes)
        return dt_err_set (err, "INTERNAL", "write %" PRIu64 " of the transaction failed: "
                           "injected storage fault", txn->writes);
    return 0;
}

int
store_put (store_txn_t *txn, store_table_t table, const void *key, size_t key_size,
           const void *val, size_t val_size, dt_err_t *err)
{
    MDB_val k = { key_size, (void *) key }, v = { val_size, (void *) val };
    if (s_write_fault (txn, err))
        return -1;
    int rc = mdb_put (txn->txn, txn->store->dbi [table], &k, &v, 0);
    return rc? s_write_error (txn->store, "mdb_put", rc, err): 0;
}

int
store_key_order (const void *a, size_t a_size, const void *b, size_t b_size)
{
    int order = memcmp (a, b, a_size < b_size? a_size: b_size);
    return order? order: (a_size > b_size) - (a_size < b_size);
}

int
store_put_ordered (store_txn_t *txn, store_table_t table, const void *key, size_t key_size,
                   const void *val, size_t val_size, store_last_t *last, dt_err_t *err)
{
    MDB_dbi dbi = txn->store->dbi [table];
    if (!last->known) {
        MDB_cursor *cursor;
        MDB_val k, v;
        int rc = mdb_cursor_open (txn->txn, dbi, &cursor);
        if (rc)
            return s_lmdb_error (err, "mdb_cursor_open", rc);
        rc = mdb_cursor_get (cursor, &k, &v, MDB_LAST);
        last->size = rc == 0 && k.mv_size <= sizeof (last->key)? k.mv_size: 0;
        if (last->size)
            memcpy (last->key, k.mv_data, last->size);
        mdb_cursor_close (cursor);
        if (rc && rc != MDB_NOTFOUND)
            return s_lmdb_error (err, "mdb_cursor_get", rc);
        last->known = true;
    }
    if (last->size && store_key_order (key, key_size, last->key, last->size) <= 0)
        return store_put (txn, table, key, key_size, val, val_size, err);
    if (s_write_fault (txn, err))
        return -1;
    MDB_val k = { key_size, (void *) key }, v = { val_size, (void *) val };
    int rc = mdb_put (txn->txn, dbi, &k, &v, MDB_APPEND);
    if (rc)
        return s_write_error (txn->store, "mdb_put", rc, err);
    memcpy (last->key, key, key_size);
    last->size = key_size;
    return 0;
}

int
store_del (store_txn_t *txn, store_table_t table, const void *key, size_t key_size,
           dt_err_t *err)
{
    MDB_val k = { key_size, (void *) key };
    if (s_write_fault (txn, err))
        return -1;
    int rc = mdb_del (txn->txn, txn->store->dbi [table], &k, NULL);
    return rc && rc != MDB_NOTFOUND? s_lmdb_error (err, "mdb_del", rc): 0;
}

void
store_seq_key (uint64_t seq, uint8_t key [8])
{
    for (int i = 7; i >= 0; i--, seq >>= 8)
        key [i] = (uint8_t) seq;
}

uint64_t
store_seq_from_key (const void *key)
{
    const uint8_t *p = key;
    uint64_t seq = 0;
    for (int i = 0; i < 8; i++)
        seq = (seq << 8) | p [i];
    return seq;
}

uint64_t
store_meta_uint (store_txn_t *txn, const char *name)
{
    const void *val = NULL;
    size_t size = 0;
    dt_err_t err;
    dt_err_init (&err);
    if (store_get (txn, TBL_META, name, strlen (name), &val, &size, &err) || size != 8)
        return 0;
    return store_seq_from_key (val);
}

int
store_meta_set_uint (store_txn_t *txn, const char *name, uint64_t value, dt_err_t *err)
{
    uint8_t bytes [8];
    store_seq_key (value, bytes);
    return store_put (txn, TBL_META, name, strlen (name), bytes, 8, err);
}

static void *
s_copy (const void *data, size_t size)
{
    void *copy = malloc (size? size: 1);
    assert (copy);
    memcpy (copy, data, size);
    return copy;
}

/* Copy a string into a fixed field, cut to fit (snprintf is too slow for
   a log entry of every record written). */
static void
s_field (char *out, size_t size, const char *text)
{
    size_t len = strnlen (text, size - 1);
    memcpy (out, text, len);
    out [len] = 0;
}

//  The log's ends are read once per transaction and kept by its appends,
//  which write them to TBL_META once, at commit (or before a child reads
//  them), not once per entry

static void
s_log_ends (store_txn_t *txn)
{
    if (!txn->log_known) {
        txn->log_seq = store_meta_uint (txn, "log_seq");
        txn->log_first = store_meta_uint (txn, "log_first");
        txn->log_known = true;
    }
}

/* A TBL_META counter written as the transaction ends: not a step of a
   request, so not one that store_fault_writes fails. */
static int
s_meta_put_final (store_txn_t *txn, const char *name, uint64_t value, dt_err_t *err)
{
    uint8_t bytes [8];
    store_seq_key (value, bytes);
    MDB_val k = { strlen (name), (void *) name }, v = { 8, bytes };
    int rc = mdb_put (txn->txn, txn->store->dbi [TBL_META], &k, &v, 0);
    return rc? s_write_error (txn->store, "mdb_put", rc, err): 0;
}

static int
s_log_flush (store_txn_t *txn, dt_err_t *err)
{
    if (!txn->log_dirty)
        return 0;
    if (s_meta_put_final (txn, "log_first", txn->log_first, err)
    ||  s_meta_put_final (txn, "log_seq", txn->log_seq, err))
        return -1;
    txn->log_dirty = false;
    return 0;
}

/* The log emptied by a transaction of more changes than it keeps, and
   change seq counted in the head. */
static int
s_log_overflow (store_txn_t *txn, uint64_t seq, dt_err_t *err)
{
    if (txn->log_first != txn->log_seq + 1) {
        int rc = mdb_drop (txn->txn, txn->store->dbi [TBL_LOG], 0);
        if (rc)
            return s_write_error (txn->store, "mdb_drop", rc, err);
    }
    txn->log_seq = seq;
    txn->log_first = seq + 1;
    txn->log_dirty = true;
    return 0;
}

int
store_log_append (store_txn_t *txn, store_table_t table, const char *key,
              const void *val, size_t val_size, const store_scope_t *scope, dt_err_t *err)
{
    s_log_ends (txn);
    uint64_t seq = txn->log_seq + 1;
    uint64_t keep = txn->store->log_keep;
    if (keep && ++txn->log_appended > keep)
        return s_log_overflow (txn, seq, err);
    stream_change_t change = { .seq = seq, .ts = dt_now_ms (), .value = val,
                               .value_size = val? val_size: 0 };
    s_field (change.table, sizeof (change.table), store_table_name (table));
    s_field (change.key, sizeof (change.key), key);
    s_field (change.branch, sizeof (change.branch), scope->branch? scope->branch: "");
    //  Each node once, and no empty names
    for (int i = 0; i < scope->nnodes; i++) {
        bool seen = !scope->nodes [i] || !*scope->nodes [i];
        for (int j = 0; j < change.nnodes && !seen; j++)
            seen = streq (change.nodes [j], scope->nodes [i]);
        if (!seen)
            s_field (change.nodes [change.nnodes++], DT_ID_MAX + 1, scope->nodes [i]);
    }
    msgpack_sbuffer_clear (&txn->log_buf);
    stream_change_encode (&txn->log_buf, &change);
    uint8_t seq_key [8];
    store_seq_key (seq, seq_key);
    //  Sequence keys only grow: appended at the end of the table, unsearched
    MDB_val k = { 8, seq_key }, v = { txn->log_buf.size, txn->log_buf.data };
    int rc = s_write_fault (txn, err)? -1:
             mdb_put (txn->txn, txn->store->dbi [TBL_LOG], &k, &v, MDB_APPEND);
    rc = rc > 0? s_write_error (txn->store, "mdb_put", rc, err): rc;
    uint64_t first = txn->log_first? txn->log_first: seq;
    //  Past the entries kept: the oldest goes as this one comes
    if (rc == 0 && keep && seq - first + 1 > keep) {
        uint8_t oldest [8];
        store_seq_key (first, oldest);
        rc = store_del (txn, TBL_LOG, oldest, 8, err);
        first++;
    }
    if (rc)
        return -1;
    txn->log_seq = seq;
    txn->log_first = first;
    txn->log_dirty = true;
    return 0;
}

static int s_audit_collect (store_txn_t *txn, store_table_t table, const char *key,
                            const void *before, size_t before_size, const void *after,
                            size_t after_size, dt_err_t *err);

int
store_record_put (store_txn_t *txn, store_table_t table, const char *key,
                  const void *val, size_t val_size, const store_scope_t *scope,
                  dt_err_t *err)
{
    size_t key_size = strlen (key);
    const void *old = NULL;
    size_t old_size = 0;
    int found = store_get (txn, table, key, key_size, &old, &old_size, err);
    if (found == -1)
        return -1;
    if (txn->audit && s_audit_collect (txn, table, key, found == 0? old: NULL, old_size,
                                       val, val_size, err))
        return -1;
    int rc = val? store_put (txn, table, key, key_size, val, val_size, err)
                : store_del (txn, table, key, key_size, err);
    if (rc == 0 && txn->log && scope)
        rc = store_log_append (txn, table, key, val, val_size, scope, err);
    return rc;
}

int
store_scan (store_txn_t *txn, store_table_t table, const void *prefix,
            size_t prefix_size, const void *from, size_t from_size,
            store_visit_fn *visit, void *arg, dt_err_t *err)
{
    MDB_cursor *cursor;
    int rc = mdb_cursor_open (txn->txn, txn->store->dbi [table], &cursor);
    if (rc)
        return s_lmdb_error (err, "mdb_cursor_open", rc);
    MDB_val k, v;
    if (from) {
        k.mv_size = from_size;
        k.mv_data = (void *) from;
    }
    else {
        k.mv_size = prefix_size;
        k.mv_data = (void *) prefix;
    }
    MDB_cursor_op op = k.mv_size? MDB_SET_RANGE: MDB_FIRST;
    int result = 0;
    while ((rc = mdb_cursor_get (cursor, &k, &v, op)) == 0) {
        op = MDB_NEXT;
        if (prefix_size && (k.mv_size < prefix_size
                        ||  memcmp (k.mv_data, prefix, prefix_size) != 0))
            break;
        int verdict = visit (k.mv_data, k.mv_size, v.mv_data, v.mv_size, arg);
        if (verdict == 1)
            break;
        if (verdict == -1) {
            result = -1;
            if (!dt_err_is_set (err))
                dt_err_set (err, "INTERNAL", "store scan of %s failed", store_table_name (table));
            break;
        }
    }
    if (rc && rc != MDB_NOTFOUND && result == 0)
        result = s_lmdb_error (err, "mdb_cursor_get", rc);
    mdb_cursor_close (cursor);
    return result;
}

uint64_t
store_count (store_txn_t *txn, store_table_t table)
{
    MDB_stat stat;
    if (mdb_stat (txn->txn, txn->store->dbi [table], &stat))
        return 0;
    return stat.ms_entries;
}

uint64_t
store_size (store_t *self, store_table_t table)
{
    store_txn_t txn;
    dt_err_t err;
    dt_err_init (&err);
    if (store_begin (self, &txn, NULL, false, &err))
        return 0;
    uint64_t size = store_count (&txn, table);
    store_abort (&txn);
    return size;
}

uint64_t
store_log_head (store_txn_t *txn)
{
    return txn->log_known? txn->log_seq: store_meta_uint (txn, "log_seq");
}

uint64_t
store_log_first (store_txn_t *txn)
{
    return txn->log_known? txn->log_first: store_meta_uint (txn, "log_first");
}

int
store_log_mark_end (store_txn_t *txn, uint64_t since, dt_err_t *err)
{
    uint64_t head = store_log_head (txn);
    if (head <= since)
        return 0;
    uint8_t key [8];
    store_seq_key (head, key);
    const void *val = NULL;
    size_t size = 0;
    if (store_get (txn, TBL_LOG, key, 8, &val, &size, err))
        return dt_err_is_set (err)? -1: 0;
    //  Decoded and encoded again with "end": the value points into the map,
    //  so it is copied out before the write
    stream_change_t change;
    dt_err_t damaged;
    dt_err_init (&damaged);
    if (stream_change_decode (&change, val, size, NULL, &damaged) || change.end)
        return 0;                   /* not ours to mark, or marked already */
    change.end = true;
    void *value = change.value? s_copy (change.value, change.value_size): NULL;
    change.value = value;
    msgpack_sbuffer marked;
    msgpack_sbuffer_init (&marked);
    stream_change_encode (&marked, &change);
    int rc = store_put (txn, TBL_LOG, key, 8, marked.data, marked.size, err);
    msgpack_sbuffer_destroy (&marked);
    free (value);
    return rc;
}

int
store_log_trim (store_txn_t *txn, uint64_t keep, dt_err_t *err)
{
    txn->store->log_keep = keep;
    if (s_log_flush (txn, err))
        return -1;
    txn->log_known = false;
    uint64_t head = store_log_head (txn);
    uint64_t first = store_log_first (txn);
    if (first == 0 || head - first + 1 <= keep)
        return 0;
    uint64_t new_first = head - keep + 1;
    for (uint64_t seq = first; seq < new_first; seq++) {
        uint8_t key [8];
        store_seq_key (seq, key);
        if (store_del (txn, TBL_LOG, key, 8, err))
            return -1;
    }
    return store_meta_set_uint (txn, "log_first", new_first, err);
}

//  Audit chain

static void
s_pack_raw_or_nil (msgpack_sbuffer *buf, msgpack_packer *pk, const void *data, size_t size)
{
    if (data)
        msgpack_sbuffer_write (buf, data, size);
    else
        msgpack_pack_nil (pk);
}

static void
s_audit_head (store_txn_t *txn, uint8_t hash [32])
{
    const void *val = NULL;
    size_t size = 0;
    dt_err_t err;
    dt_err_init (&err);
    memset (hash, 0, 32);
    if (store_get (txn, TBL_META, "audit_head", 10, &val, &size, &err) == 0 && size == 32)
        memcpy (hash, val, 32);
}

/* One change as the audit entry holds it. */
static void
s_pack_change (msgpack_sbuffer *buf, msgpack_packer *pk, const store_change_t *change)
{
    msgpack_pack_map (pk, 4);
    proto_pack_key (pk, "table");
    proto_pack_str (pk, store_table_name (change->table));
    proto_pack_key (pk, "key");
    proto_pack_str (pk, change->key);
    proto_pack_key (pk, "before");
    s_pack_raw_or_nil (buf, pk, change->before, change->before_size);
    proto_pack_key (pk, "after");
    s_pack_raw_or_nil (buf, pk, change->after, change->after_size);
}

/* The key of part `part` of entry seq's detail: the entry's key and the part
   number, so the parts follow their entry in TBL_AUDIT (an entry's key is 8
   bytes, a part's 16). */
static void
s_part_key (uint64_t seq, uint64_t part, uint8_t key [16])
{
    store_seq_key (seq, key);
    store_seq_key (part, key + 8);
}

//  The detail of a summary (the args, then every change, as a sequence of
//  msgpack objects) is stored in parts of about STORE_AUDIT_PART bytes and
//  hashed as it is written: from the change that makes the entry too large
//  for a whole one (or, without store_audit_open, at store_audit_append)

struct _store_detail_t {
    crypto_generichash_state hash;  /* first: its alignment is the struct's */
    msgpack_sbuffer part;
    msgpack_packer pk;
    uint64_t seq;               /* of the entry it belongs to */
    uint64_t parts, bytes;
};

static void
s_detail_destroy (store_detail_t **self_p)
{
    store_detail_t *self = *self_p;
    if (self) {
        msgpack_sbuffer_destroy (&self->part);
        free (self);
        *self_p = NULL;
    }
}

static int
s_detail_flush (store_txn_t *txn, dt_err_t *err)
{
    store_detail_t *self = txn->detail;
    if (self->part.size == 0)
        return 0;
    uint8_t key [16];
    s_part_key (self->seq, self->parts++, key);
    crypto_generichash_update (&self->hash, (const unsigned char *) self->part.data,
                               self->part.size);
    self->bytes += self->part.size;
    int rc = store_put (txn, TBL_AUDIT, key, 16, self->part.data, self->part.size, err);
    msgpack_sbuffer_clear (&self->part);
    return rc;
}

static int
s_detail_add (store_txn_t *txn, const store_change_t *change, dt_err_t *err)
{
    store_detail_t *self = txn->detail;
    s_pack_change (&self->part, &self->pk, change);
    return self->part.size >= STORE_AUDIT_PART? s_detail_flush (txn, err): 0;
}

/* Start the detail with the args and the changes held so far, of which
   only the first STORE_AUDIT_SHOWN stay held (the summary shows them). */
static int
s_detail_start (store_txn_t *txn, const void *args, size_t args_size, dt_err_t *err)
{
    size_t size = (sizeof (store_detail_t) + 63) / 64 * 64;
    store_detail_t *self = (store_detail_t *) aligned_alloc (64, size);
    assert (self);
    memset (self, 0, sizeof (*self));
    crypto_generichash_init (&self->hash, NULL, 0, 32);
    msgpack_sbuffer_init (&self->part);
    msgpack_packer_init (&self->pk, &self->part, msgpack_sbuffer_write);
    self->seq = store_meta_uint (txn, "audit_seq") + 1;
    txn->detail = self;
    s_pack_raw_or_nil (&self->part, &self->pk, args, args_size);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < txn->held; i++)
        rc = s_detail_add (txn, &txn->changes [i], err);
    for (size_t i = STORE_AUDIT_SHOWN; i < txn->held; i++) {
        free (txn->changes [i].before);
        free (txn->changes [i].after);
    }
    if (txn->held > STORE_AUDIT_SHOWN)
        txn->held = STORE_AUDIT_SHOWN;
    return rc;
}

/* The detail's last part, and its hash. */
static int
s_detail_finish (store_txn_t *txn, uint8_t hash [32], dt_err_t *err)
{
    if (s_detail_flush (txn, err))
        return -1;
    crypto_generichash_final (&txn->detail->hash, hash, 32);
    return 0;
}

/* Whether the entry of what is collected (with these args) would pass
   STORE_AUDIT_ENTRY, so it must be a summary. */
static bool
s_audit_too_large (store_txn_t *txn, size_t args_size)
{
    return args_size + 64 + txn->audit_bytes > STORE_AUDIT_ENTRY;
}

/* Collect one change: held (copied out of the map) while the entry may be
   whole, added to the detail once it is a summary. */
static int
s_audit_collect (store_txn_t *txn, store_table_t table, const char *key,
                 const void *before, size_t before_size, const void *after,
                 size_t after_size, dt_err_t *err)
{
    store_change_t change = { .table = table,
                              .before = (void *) before, .before_size = before_size,
                              .after = (void *) after, .after_size = after? after_size: 0 };
    s_field (change.key, sizeof (change.key), key);
    txn->nchanges++;
    txn->audit_bytes += change.before_size + change.after_size + 96;
    if (txn->detail && s_detail_add (txn, &change, err))
        return -1;
    if (!txn->detail || txn->held < STORE_AUDIT_SHOWN) {
        //  Capacity doubles (it is full when held is 0 or a power of two)
        if ((txn->held & (txn->held - 1)) == 0) {
            size_t room = txn->held? txn->held * 2: 1;
            store_change_t *grown = realloc (txn->changes, room * sizeof (store_change_t));
            assert (grown);
            txn->changes = grown;
        }
        store_change_t *held = &txn->changes [txn->held++];
        *held = change;
        held->before = before? s_copy (before, before_size): NULL;
        held->after = after? s_copy (after, after_size): NULL;
    }
    if (!txn->detail && txn->audit_args && s_audit_too_large (txn, txn->audit_args_size))
        return s_detail_start (txn, txn->audit_args, txn->audit_args_size, err);
    return 0;
}

void
store_audit_open (store_txn_t *txn, const void *args, size_t args_size)
{
    txn->audit = true;
    //  A detail begun was begun with the args it was opened with
    if (!txn->detail) {
        txn->audit_args = args;
        txn->audit_args_size = args_size;
    }
}

void
store_audit_close (store_txn_t *txn)
{
    s_changes_free (txn);
    txn->audit = false;
}

int
store_audit_append (store_txn_t *txn, const char *actor, const char *op,
                    const void *args, size_t args_size, dt_err_t *err)
{
    if (txn->nchanges == 0)
        return 0;
    //  The detail already begun was begun with store_audit_open's args
    assert (!txn->detail || (args == txn->audit_args && args_size == txn->audit_args_size));
    uint64_t seq = store_meta_uint (txn, "audit_seq") + 1;
    uint8_t prev [32], hash [32];
    s_audit_head (txn, prev);
    //  An entry that would pass STORE_AUDIT_ENTRY holds a summary: the first
    //  changes, their number, and the hash of the full detail, which is
    //  stored beside it in parts (PROTOCOL.md 6.8)
    bool summary = txn->detail || s_audit_too_large (txn, args_size);
    uint8_t detail [32];
    if ((summary && !txn->detail && s_detail_start (txn, args, args_size, err))
    ||  (summary && s_detail_finish (txn, detail, err))) {
        s_changes_free (txn);
        return -1;
    }
    assert (!summary || txn->detail->seq == seq);
    size_t shown = summary && txn->nchanges > STORE_AUDIT_SHOWN? STORE_AUDIT_SHOWN:
                   txn->nchanges;
    assert (shown <= txn->held);
    bool args_shown = !summary || args_size <= STORE_AUDIT_ENTRY / 4;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, summary? 11: 7);
    proto_pack_key (&pk, "seq");
    msgpack_pack_uint64 (&pk, seq);
    proto_pack_key (&pk, "ts");
    msgpack_pack_int64 (&pk, dt_now_ms ());
    proto_pack_key (&pk, "actor");
    proto_pack_str (&pk, actor);
    proto_pack_key (&pk, "op");
    proto_pack_str (&pk, op);
    proto_pack_key (&pk, "args");
    s_pack_raw_or_nil (&buf, &pk, args_shown? args: NULL, args_size);
    proto_pack_key (&pk, "changes");
    msgpack_pack_array (&pk, (uint32_t) shown);
    for (size_t i = 0; i < shown; i++)
        s_pack_change (&buf, &pk, &txn->changes [i]);
    if (summary) {
        proto_pack_key (&pk, "changes_total");
        msgpack_pack_uint64 (&pk, txn->nchanges);
        proto_pack_key (&pk, "detail_parts");
        msgpack_pack_uint64 (&pk, txn->detail->parts);
        proto_pack_key (&pk, "detail_bytes");
        msgpack_pack_uint64 (&pk, txn->detail->bytes);
        proto_pack_key (&pk, "detail_hash");
        msgpack_pack_bin (&pk, 32);
        msgpack_pack_bin_body (&pk, detail, 32);
    }
    proto_pack_key (&pk, "prev");
    msgpack_pack_bin (&pk, 32);
    msgpack_pack_bin_body (&pk, prev, 32);
    crypto_generichash (hash, 32, (const unsigned char *) buf.data, buf.size, NULL, 0);
    uint8_t key [8];
    store_seq_key (seq, key);
    int rc = store_put (txn, TBL_AUDIT, key, 8, buf.data, buf.size, err);
    msgpack_sbuffer_destroy (&buf);
    if (rc == 0)
        rc = store_put (txn, TBL_META, "audit_head", 10, hash, 32, err);
    if (rc == 0)
        rc = store_meta_set_uint (txn, "audit_seq", seq, err);
    s_changes_free (txn);
    return rc;
}

typedef struct {
    uint64_t expect_seq;
    uint8_t expect_prev [32];
    uint64_t first_bad;
    char *reason;
    size_t reason_size;
    //  The detail of the last entry, when it is a summary
    uint64_t detail_seq;        /* 0: none pending */
    uint64_t detail_parts;      /* parts it names */
    uint64_t parts_seen;
    uint8_t detail_hash [32];
    crypto_generichash_state detail;
} s_verify_t;

static int
s_verify_bad (s_verify_t *self, uint64_t seq, const char *what)
{
    self->first_bad = seq;
    snprintf (self->reason, self->reason_size, "entry %" PRIu64 " %s", seq, what);
    return 1;
}

/* The detail of the pending summary is complete: its hash must match. */
static int
s_verify_detail_end (s_verify_t *self)
{
    if (!self->detail_seq)
        return 0;
    uint64_t seq = self->detail_seq;
    self->detail_seq = 0;
    uint8_t hash [32];
    crypto_generichash_final (&self->detail, hash, 32);
    if (self->parts_seen != self->detail_parts)
        return s_verify_bad (self, seq, "is missing parts of its detail");
    if (memcmp (hash, self->detail_hash, 32) != 0)
        return s_verify_bad (self, seq, "does not match the hash of its detail");
    return 0;
}

/* A part of a summary's detail: hashed, in order, for the entry before it. */
static int
s_verify_part (s_verify_t *self, const void *key, const void *val, size_t val_size)
{
    uint64_t seq = store_seq_from_key (key);
    uint64_t part = store_seq_from_key ((const uint8_t *) key + 8);
    if (seq != self->detail_seq || part != self->parts_seen)
        return s_verify_bad (self, seq, "has a detail part it does not name");
    crypto_generichash_update (&self->detail, val, val_size);
    self->parts_seen++;
    return 0;
}

static int
s_verify_entry (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    s_verify_t *self = arg;
    if (key_size == 16)
        return s_verify_part (self, key, val, val_size);
    if (s_verify_detail_end (self))
        return 1;
    uint64_t seq = key_size == 8? store_seq_from_key (key): 0;
    if (seq != self->expect_seq) {
        self->first_bad = self->expect_seq;
        snprintf (self->reason, self->reason_size, "entry %" PRIu64 " is missing", self->expect_seq);
        return 1;
    }
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    dt_err_t err;
    dt_err_init (&err);
    const msgpack_object *prev = NULL, *detail = NULL, *parts = NULL;
    if (proto_check (val, val_size, &err) == 0
    &&  msgpack_unpack_next (&unpacked, val, val_size, &offset) == MSGPACK_UNPACK_SUCCESS) {
        prev = proto_map_get (&unpacked.data, "prev");
        detail = proto_map_get (&unpacked.data, "detail_hash");
        parts = proto_map_get (&unpacked.data, "detail_parts");
    }
    bool readable = prev && prev->type == MSGPACK_OBJECT_BIN && prev->via.bin.size == 32
                 && (!detail || (detail->type == MSGPACK_OBJECT_BIN && detail->via.bin.size == 32
                                 && parts && parts->type == MSGPACK_OBJECT_POSITIVE_INTEGER));
    bool linked = readable && memcmp (prev->via.bin.ptr, self->expect_prev, 32) == 0;
    if (readable && detail) {
        //  Its parts follow it in the table: hashed as they come
        self->detail_seq = seq;
        self->detail_parts = parts->via.u64;
        self->parts_seen = 0;
        memcpy (self->detail_hash, detail->via.bin.ptr, 32);
        crypto_generichash_init (&self->detail, NULL, 0, 32);
    }
    msgpack_unpacked_destroy (&unpacked);
    if (!readable)
        return s_verify_bad (self, seq, "is damaged");
    if (!linked) {
        //  This entry does not point at the previous one as it was written:
        //  the previous entry was altered (or this one's link was).
        self->first_bad = seq > 1? seq - 1: seq;
        snprintf (self->reason, self->reason_size,
                  "entry %" PRIu64 " does not match the hash recorded in entry %" PRIu64,
                  self->first_bad, seq);
        return 1;
    }
    crypto_generichash (self->expect_prev, 32, val, val_size, NULL, 0);
    self->expect_seq++;
    return 0;
}

//  Audit checkpoints and witnesses

#define S_CHECKPOINT_MAGIC "DTCP1"
#define S_CHECKPOINT_SIGNED (STORE_CHECKPOINT_SIZE - crypto_sign_BYTES)

uint64_t
store_audit_seq (store_txn_t *txn)
{
    return store_meta_uint (txn, "audit_seq");
}

void
store_checkpoint_sign (store_txn_t *txn, const uint8_t secret [64],
                       uint8_t out [STORE_CHECKPOINT_SIZE])
{
    uint8_t *at = out;
    memcpy (at, S_CHECKPOINT_MAGIC, 5);
    at += 5;
    store_seq_key (store_audit_seq (txn), at);
    at += 8;
    s_audit_head (txn, at);
    at += 32;
    store_seq_key ((uint64_t) dt_now_ms (), at);
    at += 8;
    crypto_sign_ed25519_sk_to_pk (at, secret);
    at += 32;
    crypto_sign_detached (at, NULL, out, S_CHECKPOINT_SIGNED, secret);
}

int
store_checkpoint_open (const void *data, size_t size, store_checkpoint_t *out)
{
    const uint8_t *bytes = (const uint8_t *) data;
    if (size != STORE_CHECKPOINT_SIZE || memcmp (bytes, S_CHECKPOINT_MAGIC, 5))
        return -1;
    out->seq = store_seq_from_key (bytes + 5);
    memcpy (out->head, bytes + 13, 32);
    out->ts = (int64_t) store_seq_from_key (bytes + 45);
    memcpy (out->signer, bytes + 53, 32);
    return crypto_sign_verify_detached (bytes + S_CHECKPOINT_SIGNED, bytes,
                                        S_CHECKPOINT_SIGNED, out->signer) == 0? 0: -1;
}

void
store_witness_add (store_t *self, const char *who, const store_checkpoint_t *checkpoint)
{
    store_checkpoint_t *held = zhashx_lookup (self->witnesses, who);
    if (held && held->seq > checkpoint->seq)
        return;
    store_checkpoint_t *copy = (store_checkpoint_t *) zmalloc (sizeof (*copy));
    *copy = *checkpoint;
    zhashx_update (self->witnesses, who, copy);
}

/* The chain (intact from 1 to entries) against every witness: one that saw
   more entries names the first removed; one whose hash differs at its seq
   names that entry, altered with every later link (and the head) rewritten
   to match. */
static int
s_verify_witnesses (store_txn_t *txn, uint64_t entries, uint64_t *first_bad,
                    char *reason, size_t reason_size)
{
    zhashx_t *witnesses = txn->store->witnesses;
    uint64_t worst = 0;
    for (store_checkpoint_t *witness = zhashx_first (witnesses); witness;
         witness = zhashx_next (witnesses)) {
        const char *who = (const char *) zhashx_cursor (witnesses);
        uint64_t bad = 0;
        char why [DT_ERR_MSG_MAX];
        if (witness->seq > entries) {
            bad = entries + 1;
            snprintf (why, sizeof (why), "entry %" PRIu64 " was removed: %s holds a checkpoint "
                      "of %" PRIu64 " entries, the chain has %" PRIu64, bad, who,
                      witness->seq, entries);
        }
        else
        if (witness->seq > 0) {
            uint8_t key [8], hash [32];
            store_seq_key (witness->seq, key);
            const void *val = NULL;
            size_t size = 0;
            dt_err_t err;
            dt_err_init (&err);
            if (store_get (txn, TBL_AUDIT, key, 8, &val, &size, &err) == 0)
                crypto_generichash (hash, 32, val, size, NULL, 0);
            if (size == 0 || memcmp (hash, witness->head, 32)) {
                bad = witness->seq;
                snprintf (why, sizeof (why), "entry %" PRIu64 " was altered (or one before it, "
                          "with every later link rewritten): it does not match the checkpoint "
                          "%s holds", bad, who);
            }
        }
        if (bad && (!worst || bad < worst)) {
            worst = bad;
            snprintf (reason, reason_size, "%s", why);
        }
    }
    *first_bad = worst;
    return worst? 1: 0;
}

int
store_audit_verify (store_txn_t *txn, uint64_t *entries, uint64_t *first_bad,
                    char *reason, size_t reason_size)
{
    s_verify_t verify = { .expect_seq = 1, .reason = reason, .reason_size = reason_size };
    dt_err_t err;
    dt_err_init (&err);
    reason [0] = 0;
    *first_bad = 0;
    store_scan (txn, TBL_AUDIT, NULL, 0, NULL, 0, s_verify_entry, &verify, &err);
    if (!verify.first_bad)
        s_verify_detail_end (&verify);
    *entries = verify.expect_seq - 1;
    if (verify.first_bad) {
        *first_bad = verify.first_bad;
        return 1;
    }
    uint64_t last = store_meta_uint (txn, "audit_seq");
    uint8_t head [32];
    s_audit_head (txn, head);
    if (s_verify_witnesses (txn, *entries, first_bad, reason, reason_size))
        return 1;
    if (last != *entries) {
        *first_bad = *entries + 1;
        snprintf (reason, reason_size, "entry %" PRIu64 " is missing (log ends at %" PRIu64
                  ", head is %" PRIu64 ")", *first_bad, *entries, last);
        return 1;
    }
    if (last && memcmp (head, verify.expect_prev, 32) != 0) {
        *first_bad = last;
        snprintf (reason, reason_size, "entry %" PRIu64 " does not match the recorded head hash",
                  last);
        return 1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Self test

static int
s_count_visit (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    (void) key; (void) key_size; (void) val; (void) val_size;
    (*(int *) arg)++;
    return 0;
}

int
store_remove (const char *dir)
{
    zdir_t *files = zdir_new (dir, NULL);
    if (!files)
        return -1;
    zdir_remove (files, true);
    zdir_destroy (&files);
    return 0;
}

void
store_test (bool verbose)
{
    if (verbose)
        printf (" * store: ");
    char dir [] = "/tmp/dt-store-test-XXXXXX";
    assert (mkdtemp (dir));
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = store_new (dir, 64, &err);
    assert (store);
    //  Every table has its name: the change log and the audit log carry it
    for (int table = 0; table < TBL_COUNT; table++)
        assert (s_table_names [table] && *s_table_names [table]);
    assert (streq (store_table_name (TBL_POLICY), "policy"));
    assert (store_table_by_name ("ticket") == TBL_TICKET);
    assert (store_table_by_name ("nonesuch") == TBL_COUNT);
    //  A rid key names the key that asked; one that does not fit is refused
    char rid [16];
    assert (store_rid_key ("zhang", "n1:3@1", rid, sizeof (rid)) == 12
            && streq (rid, "zhang/n1:3@1"));
    assert (store_rid_key ("zhang", "0123456789", rid, sizeof (rid)) == 0);
    assert (store_rid_key ("zhang", "", rid, sizeof (rid)) == 0);

    //  Committed writes are visible, aborted ones are not
    store_txn_t txn, child;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    txn.log = txn.audit = true;
    store_scope_t scope = { .branch = "b-1", .nodes = { "n1", "n1", "" }, .nnodes = 3 };
    assert (store_record_put (&txn, TBL_HALL, "h-1", "\x81\xa1x\x01", 4, &scope, &err) == 0);
    assert (store_audit_append (&txn, "admin", "hall.create", NULL, 0, &err) == 0);
    assert (store_begin (store, &child, &txn, true, &err) == 0);
    assert (store_record_put (&child, TBL_HALL, "h-2", "\x80", 1, &scope, &err) == 0);
    store_abort (&child);
    assert (store_commit (&txn, &err) == 0);

    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    const void *val = NULL;
    size_t size = 0;
    assert (store_get (&txn, TBL_HALL, "h-1", 3, &val, &size, &err) == 0 && size == 4);
    assert (store_get (&txn, TBL_HALL, "h-2", 3, &val, &size, &err) == 1);
    assert (store_log_head (&txn) == 1 && store_log_first (&txn) == 1);
    int count = 0;
    assert (store_scan (&txn, TBL_HALL, "h-", 2, NULL, 0, s_count_visit, &count, &err) == 0);
    assert (count == 1);
    store_abort (&txn);

    //  The audit chain notices an altered entry and a removed one
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    txn.audit = true;
    for (int i = 0; i < 4; i++) {
        assert (store_record_put (&txn, TBL_OFFICER, "o-1", "\x80", 1, NULL, &err) == 0);
        assert (store_audit_append (&txn, "admin", "officer.add", NULL, 0, &err) == 0);
    }
    uint64_t entries, bad;
    char reason [128];
    assert (store_audit_verify (&txn, &entries, &bad, reason, sizeof (reason)) == 0);
    assert (entries == 5);
    assert (store_commit (&txn, &err) == 0);
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    uint8_t key [8];
    store_seq_key (3, key);
    assert (store_get (&txn, TBL_AUDIT, key, 8, &val, &size, &err) == 0);
    char *altered = s_copy (val, size);
    altered [size - 40] ^= 1;
    assert (store_put (&txn, TBL_AUDIT, key, 8, altered, size, &err) == 0);
    assert (store_audit_verify (&txn, &entries, &bad, reason, sizeof (reason)) == 1);
    assert (bad == 3);
    free (altered);
    store_abort (&txn);
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    store_seq_key (5, key);
    assert (store_del (&txn, TBL_AUDIT, key, 8, &err) == 0);
    assert (store_audit_verify (&txn, &entries, &bad, reason, sizeof (reason)) == 1);
    assert (bad == 5);
    store_abort (&txn);

    //  A summary's detail is the same whether it was written as the changes
    //  came (store_audit_open: only the shown ones held) or at the append
    {
        uint8_t hashes [2][32];
        uint64_t parts [2];
        char args [] = "\x81\xa4rows\x90", record [200];
        memset (record, 0xa0, sizeof (record));
        record [0] = (char) 0xd9;
        record [1] = (char) 198;             /* a str 8 of 198 bytes */
        for (int early = 0; early < 2; early++) {
            assert (store_begin (store, &txn, NULL, true, &err) == 0);
            if (early)
                store_audit_open (&txn, args, sizeof (args) - 1);
            else
                txn.audit = true;
            for (int i = 0; i < 4000; i++) {
                char id [16];
                snprintf (id, sizeof (id), "m-%d", i);
                assert (store_record_put (&txn, TBL_MEMBER, id, record, sizeof (record), NULL,
                                          &err) == 0);
                assert (txn.held == (size_t) i + 1 || (early && txn.held <= STORE_AUDIT_SHOWN));
            }
            assert (store_audit_append (&txn, "admin", "import.members", args,
                                        sizeof (args) - 1, &err) == 0);
            assert (store_audit_verify (&txn, &entries, &bad, reason, sizeof (reason)) == 0);
            crypto_generichash_state state;
            crypto_generichash_init (&state, NULL, 0, 32);
            parts [early] = 0;
            uint8_t part_key [16];
            s_part_key (entries, 0, part_key);
            while (store_get (&txn, TBL_AUDIT, part_key, 16, &val, &size, &err) == 0) {
                crypto_generichash_update (&state, val, size);
                s_part_key (entries, ++parts [early], part_key);
            }
            crypto_generichash_final (&state, hashes [early], 32);
            store_abort (&txn);
        }
        assert (parts [0] > 1 && parts [0] == parts [1]);
        assert (memcmp (hashes [0], hashes [1], 32) == 0);
    }

    //  Ordered puts append past the table's last key and put the others
    {
        assert (store_begin (store, &txn, NULL, true, &err) == 0);
        store_last_t last = { .known = false };
        assert (store_put_ordered (&txn, TBL_SEAT, "h", 1, "", 0, &last, &err) == 0);
        assert (store_put (&txn, TBL_SEAT, "hb", 2, "", 0, &err) == 0);
        last.known = false;         /* an empty table, then one of 2 keys */
        const char *keys [] = { "ha", "hb", "hb\x01", "hc", "hc", "hd" };
        for (int i = 0; i < 6; i++)
            assert (store_put_ordered (&txn, TBL_SEAT, keys [i], strlen (keys [i]), "", 0,
                                       &last, &err) == 0);
        assert (last.size == 2 && memcmp (last.key, "hd", 2) == 0);
        int seats = 0;
        assert (store_scan (&txn, TBL_SEAT, "h", 1, NULL, 0, s_count_visit, &seats, &err) == 0);
        assert (seats == 6);
        store_abort (&txn);
    }

    //  A checkpoint held by a witness catches what the chain alone cannot:
    //  the newest entry removed and the head (and count) rewritten to match
    {
        uint8_t pk [32], sk [64], signed_ [STORE_CHECKPOINT_SIZE];
        crypto_sign_keypair (pk, sk);
        assert (store_begin (store, &txn, NULL, true, &err) == 0);
        store_checkpoint_sign (&txn, sk, signed_);
        store_checkpoint_t checkpoint;
        assert (store_checkpoint_open (signed_, sizeof (signed_), &checkpoint) == 0);
        assert (checkpoint.seq == 5 && memcmp (checkpoint.signer, pk, 32) == 0);
        signed_ [10] ^= 1;
        assert (store_checkpoint_open (signed_, sizeof (signed_), &checkpoint) == -1);
        signed_ [10] ^= 1;
        assert (store_checkpoint_open (signed_, sizeof (signed_), &checkpoint) == 0);
        store_witness_add (store, "n1", &checkpoint);
        assert (store_audit_verify (&txn, &entries, &bad, reason, sizeof (reason)) == 0);
        uint8_t head [32];
        store_seq_key (4, key);
        assert (store_get (&txn, TBL_AUDIT, key, 8, &val, &size, &err) == 0);
        crypto_generichash (head, 32, val, size, NULL, 0);
        store_seq_key (5, key);
        assert (store_del (&txn, TBL_AUDIT, key, 8, &err) == 0);
        assert (store_put (&txn, TBL_META, "audit_head", 10, head, 32, &err) == 0);
        assert (store_meta_set_uint (&txn, "audit_seq", 4, &err) == 0);
        assert (store_audit_verify (&txn, &entries, &bad, reason, sizeof (reason)) == 1);
        assert (bad == 5 && strstr (reason, "removed") && strstr (reason, "n1"));
        store_abort (&txn);
        //  ... and the newest entry altered, the head rewritten to match
        assert (store_begin (store, &txn, NULL, true, &err) == 0);
        assert (store_get (&txn, TBL_AUDIT, key, 8, &val, &size, &err) == 0);
        char *forged = s_copy (val, size);
        forged [12] ^= 1;              /* in its ts: still well formed */
        crypto_generichash (head, 32, (const uint8_t *) forged, size, NULL, 0);
        assert (store_put (&txn, TBL_AUDIT, key, 8, forged, size, &err) == 0);
        assert (store_put (&txn, TBL_META, "audit_head", 10, head, 32, &err) == 0);
        free (forged);
        assert (store_audit_verify (&txn, &entries, &bad, reason, sizeof (reason)) == 1);
        assert (bad == 5 && strstr (reason, "altered"));
        store_abort (&txn);
        zhashx_purge (store->witnesses);
    }

    //  The last entry of a commit is marked, once
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    txn.log = true;
    uint64_t before = store_log_head (&txn);
    assert (store_record_put (&txn, TBL_HALL, "h-9", "\x80", 1, &scope, &err) == 0);
    assert (store_log_mark_end (&txn, before, &err) == 0);
    assert (store_log_mark_end (&txn, before + 1, &err) == 0);      /* nothing newer */
    store_seq_key (before + 1, key);
    assert (store_get (&txn, TBL_LOG, key, 8, &val, &size, &err) == 0);
    assert (proto_check (val, size, &err) == 0);
    msgpack_unpacked marked;
    msgpack_unpacked_init (&marked);
    assert (msgpack_unpack_next (&marked, val, size, NULL) == MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *end = proto_map_get (&marked.data, "end");
    assert (end && end->type == MSGPACK_OBJECT_BOOLEAN && end->via.boolean);
    assert (marked.data.via.map.size == 8);
    msgpack_unpacked_destroy (&marked);
    store_abort (&txn);

    //  Log trimming keeps the newest entries
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    txn.log = true;
    for (int i = 0; i < 9; i++)
        assert (store_record_put (&txn, TBL_HALL, "h-1", "\x80", 1, &scope, &err) == 0);
    assert (store_log_head (&txn) == 10);
    assert (store_log_trim (&txn, 4, &err) == 0);
    assert (store_log_first (&txn) == 7 && store_count (&txn, TBL_LOG) == 4);
    assert (store_commit (&txn, &err) == 0);
    //  A transaction of more changes than the log keeps empties it: every
    //  node is behind its start (head + 1) then, and none is lost later
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    txn.log = true;
    for (int i = 0; i < 5; i++)
        assert (store_record_put (&txn, TBL_HALL, "h-1", "\x80", 1, &scope, &err) == 0);
    assert (store_commit (&txn, &err) == 0);
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    assert (store_log_head (&txn) == 15 && store_log_first (&txn) == 16);
    assert (store_count (&txn, TBL_LOG) == 0);
    txn.log = true;
    assert (store_record_put (&txn, TBL_HALL, "h-1", "\x80", 1, &scope, &err) == 0);
    assert (store_log_head (&txn) == 16 && store_log_first (&txn) == 16);
    assert (store_count (&txn, TBL_LOG) == 1);
    assert (store_commit (&txn, &err) == 0);

    //  Injected faults: the next commits fail, child or not, and change nothing
    store_fault_set (store, 2);
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    assert (store_begin (store, &child, &txn, true, &err) == 0);
    assert (store_put (&child, TBL_HALL, "h-f", 3, "\x80", 1, &err) == 0);
    assert (store_commit (&child, &err) == -1 && streq (err.code, "INTERNAL"));
    dt_err_reset (&err);
    assert (store_put (&txn, TBL_HALL, "h-g", 3, "\x80", 1, &err) == 0);
    assert (store_commit (&txn, &err) == -1 && streq (err.code, "INTERNAL"));
    dt_err_reset (&err);
    assert (store_fault_left (store) == 0);
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    assert (store_get (&txn, TBL_HALL, "h-f", 3, &val, &size, &err) == 1);
    assert (store_get (&txn, TBL_HALL, "h-g", 3, &val, &size, &err) == 1);
    assert (store_commit (&txn, &err) == 0);        /* a read commit spends none */
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    assert (store_put (&txn, TBL_HALL, "h-g", 3, "\x80", 1, &err) == 0);
    assert (store_commit (&txn, &err) == 0);
    //  ... and a server process arms them from its environment
    store_destroy (&store);
    setenv ("DUOTANG_FAULT_COMMITS", "3", 1);
    store = store_new (dir, 64, &err);
    unsetenv ("DUOTANG_FAULT_COMMITS");
    assert (store && store_fault_left (store) == 3);
    store_fault_set (store, 0);
    //  Enough pages that the last one lies well past the meta pages
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    char blob [2048] = { 0 };
    for (int i = 0; i < 64; i++) {
        char id [32];
        snprintf (id, sizeof (id), "h-big-%d", i);
        assert (store_put (&txn, TBL_HALL, id, strlen (id), blob, sizeof (blob), &err) == 0);
    }
    assert (store_commit (&txn, &err) == 0);
    store_destroy (&store);

    //  A map used up says so, and changes nothing
    store_t *small = store_new (dir, 1, &err);
    assert (small);
    assert (store_begin (small, &txn, NULL, true, &err) == 0);
    int rc = 0;
    for (int i = 0; i < 1000 && rc == 0; i++) {
        char id [32];
        snprintf (id, sizeof (id), "h-full-%d", i);
        rc = store_put (&txn, TBL_HALL, id, strlen (id), blob, sizeof (blob), &err);
    }
    assert (rc == -1 && streq (err.code, "INTERNAL") && strstr (err.message, "is full"));
    dt_err_reset (&err);
    store_abort (&txn);
    store_destroy (&small);

    //  A damaged store is refused with what is wrong, never mapped past its end
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s/data.mdb", dir);
    struct stat st;
    assert (stat (path, &st) == 0 && st.st_size > 16384);
    assert (truncate (path, st.st_size / 2) == 0);
    store = store_new (dir, 64, &err);
    assert (!store && strstr (err.message, "truncated"));
    dt_err_reset (&err);
    assert (truncate (path, 8192) == 0);
    store = store_new (dir, 64, &err);
    assert (!store && strstr (err.message, "truncated"));
    dt_err_reset (&err);
    assert (truncate (path, 0) == 0);
    store = store_new (dir, 64, &err);
    assert (!store && strstr (err.message, "empty"));
    dt_err_reset (&err);
    assert (unlink (path) == 0);
    store = store_new (dir, 64, &err);
    assert (!store && strstr (err.message, "missing"));
    dt_err_reset (&err);
    //  ... while a directory that never held one starts a fresh store
    store_remove (dir);
    store = store_new (dir, 64, &err);
    assert (store);

    store_destroy (&store);
    assert (store == NULL);
    store_remove (dir);
    if (verbose)
        printf ("OK\n");
}

/* backup.c -- a consistent copy of a live server's data directory. */
#include "backup.h"
#include "dt_daemon.h"

/* Copy the file from/name to to/name with mode, if it exists. */
static int
s_copy_file (const char *from, const char *to, const char *name, mode_t mode, dt_err_t *err)
{
    char source [PATH_MAX], target [PATH_MAX];
    snprintf (source, sizeof (source), "%s/%s", from, name);
    snprintf (target, sizeof (target), "%s/%s", to, name);
    FILE *in = fopen (source, "rb");
    if (!in)
        return errno == ENOENT? 0: dt_err_set (err, "INTERNAL", "%s cannot be read: %s",
                                               source, strerror (errno));
    int fd = open (target, O_WRONLY | O_CREAT | O_EXCL, mode);
    FILE *out = fd >= 0? fdopen (fd, "wb"): NULL;
    int rc = 0;
    if (!out)
        rc = dt_err_set (err, "INTERNAL", "%s cannot be written: %s", target, strerror (errno));
    char buffer [8192];
    size_t got;
    while (rc == 0 && (got = fread (buffer, 1, sizeof (buffer), in)) > 0)
        if (fwrite (buffer, 1, got, out) != got)
            rc = dt_err_set (err, "INTERNAL", "%s: %s", target, strerror (errno));
    fclose (in);
    if (out && fclose (out) && rc == 0)
        rc = dt_err_set (err, "INTERNAL", "%s: %s", target, strerror (errno));
    else
    if (!out && fd >= 0)
        close (fd);
    return rc;
}

int
backup_datadir (const char *datadir, const char *target, dt_err_t *err)
{
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s/data.mdb", datadir);
    if (!zsys_file_exists (path))
        return dt_err_set (err, "NOT_FOUND", "no store in %s", datadir);
    snprintf (path, sizeof (path), "%s/data.mdb", target);
    if (zsys_file_exists (path))
        return dt_err_set (err, "EXISTS", "%s already holds a store: back up into a new "
                           "directory", target);
    if (dt_daemon_mkdirs (target))
        return dt_err_set (err, "INTERNAL", "%s cannot be created: %s", target,
                           strerror (errno));
    //  A second environment on the same files: LMDB lets another process
    //  read while the server writes, and the copy is one read transaction,
    //  so it is the state of one commit (as mdb_copy -c)
    MDB_env *env;
    int rc = mdb_env_create (&env);
    if (rc == 0)
        rc = mdb_env_open (env, datadir, MDB_RDONLY | MDB_NOTLS, 0600);
    if (rc == 0)
        rc = mdb_env_copy2 (env, target, MDB_CP_COMPACT);
    if (env)
        mdb_env_close (env);
    if (rc)
        return dt_err_set (err, "INTERNAL", "copying the store of %s to %s failed: %s",
                           datadir, target, mdb_strerror (rc));
    //  The server's identity, so that its clients' copy of its public key
    //  still holds for the restored server
    const char *keys [] = { "hub.key", "hub.pub", "node.key", "node.pub", NULL };
    for (const char **name = keys; *name; name++)
        if (s_copy_file (datadir, target, *name, strstr (*name, ".key")? 0600: 0644, err))
            return -1;
    return 0;
}

//  Self-test: a copy of a store holds what was committed

void
backup_test (bool verbose)
{
    (void) verbose;
    char dir [] = "/tmp/duotang-backup-test-XXXXXX";
    assert (mkdtemp (dir));
    char source [PATH_MAX], target [PATH_MAX], path [PATH_MAX + 16];
    snprintf (source, sizeof (source), "%s/src", dir);
    snprintf (target, sizeof (target), "%s/copy", dir);
    dt_err_t err;
    dt_err_init (&err);
    assert (backup_datadir (source, target, &err) == -1 && streq (err.code, "NOT_FOUND"));
    assert (dt_daemon_mkdirs (source) == 0);
    store_t *store = store_new (source, 64, &err);
    assert (store);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    assert (store_put (&txn, TBL_META, "k", 1, "v", 1, &err) == 0);
    assert (store_commit (&txn, &err) == 0);
    snprintf (path, sizeof (path), "%s/hub.key", source);
    FILE *file = fopen (path, "w");
    fputs ("secret", file);
    fclose (file);
    //  While the store is open, as a serving hub holds it
    assert (backup_datadir (source, target, &err) == 0);
    assert (backup_datadir (source, target, &err) == -1 && streq (err.code, "EXISTS"));
    store_t *copy = store_new (target, 64, &err);
    assert (copy);
    assert (store_begin (copy, &txn, NULL, false, &err) == 0);
    assert (store_count (&txn, TBL_META) == 1);
    store_abort (&txn);
    store_destroy (&copy);
    store_destroy (&store);
    struct stat st;
    snprintf (path, sizeof (path), "%s/hub.key", target);
    assert (stat (path, &st) == 0 && (st.st_mode & 0777) == 0600);
    const char *files [] = { "src/hub.key", "src/data.mdb", "src/lock.mdb", "copy/hub.key",
                             "copy/data.mdb", "copy/lock.mdb", NULL };
    for (const char **name = files; *name; name++) {
        snprintf (path, sizeof (path), "%s/%s", dir, *name);
        unlink (path);
    }
    rmdir (source);
    rmdir (target);
    rmdir (dir);
    dt_err_reset (&err);
}

/* scratch.c -- throw-away stores for self-tests. */
#include "scratch.h"

store_t *
scratch_new (const char *name, size_t mapsize_mb)
{
    char dir [256];
    snprintf (dir, sizeof (dir), "/tmp/duotang-%s-XXXXXX", name);
    assert (mkdtemp (dir));
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = store_new (dir, mapsize_mb, &err);
    if (!store)
        fprintf (stderr, "scratch store %s: %s\n", dir, err.message);
    assert (store);
    dt_err_reset (&err);
    return store;
}

void
scratch_destroy (store_t **store_p)
{
    assert (store_p);
    if (!*store_p)
        return;
    //  The directory name lives in the store: copy it before closing
    char *dir = strdup (store_dir (*store_p));
    assert (dir);
    store_destroy (store_p);
    store_remove (dir);
    free (dir);
}

//  Self-test

void
scratch_test (bool verbose)
{
    (void) verbose;
    store_t *store = scratch_new ("scratch-test", 16);
    char *dir = strdup (store_dir (store));
    assert (dir && strstr (dir, "/tmp/duotang-scratch-test-") == dir);
    assert (zsys_file_exists (dir));
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    assert (store_put (&txn, TBL_META, "k", 1, "v", 1, &err) == 0);
    assert (store_commit (&txn, &err) == 0);
    scratch_destroy (&store);
    assert (store == NULL && !zsys_file_exists (dir));
    scratch_destroy (&store);
    free (dir);
}

/* certdir.c -- certificate directory of the live keys, reloaded into zauth. */
#include "certdir.h"

int
certdir_write (const char *dir, zlistx_t *keys, zactor_t *auth, dt_err_t *err)
{
    zdir_t *old = zdir_new (dir, NULL);
    if (old) {
        zdir_remove (old, true);
        zdir_destroy (&old);
    }
    if (zsys_dir_create ("%s", dir))
        return dt_err_set (err, "INTERNAL", "mkdir %s failed: %s", dir, strerror (errno));
    //  Files are numbered: two keys may share a name (a node's --admin key
    //  and a hub key), never a file
    size_t count = 0;
    for (const dt_key_t *key = zlistx_first (keys); key; key = zlistx_next (keys)) {
        uint8_t public_key [32];
        if (key->revoked || strlen (key->public_key) != 40
        ||  !zmq_z85_decode (public_key, key->public_key))
            continue;
        zcert_t *cert = zcert_new_from (public_key, (uint8_t [32]) { 0 });
        zcert_set_meta (cert, "name", "%s", key->name);
        char path [PATH_MAX + 80];
        snprintf (path, sizeof (path), "%s/%zu-%s.pub", dir, count++, key->name);
        int rc = zcert_save_public (cert, path);
        zcert_destroy (&cert);
        if (rc)
            return dt_err_set (err, "INTERNAL", "writing %s failed", path);
    }
    if (auth) {
        zstr_sendx (auth, "CURVE", dir, NULL);
        zsock_wait (auth);
    }
    return 0;
}

//  Self-test

static int
s_test_count (const char *dir, const char *public_key)
{
    zdir_t *listing = zdir_new (dir, NULL);
    assert (listing);
    zfile_t **files = zdir_flatten (listing);
    int count = 0;
    for (int i = 0; files [i]; i++) {
        zcert_t *cert = zcert_load (zfile_filename (files [i], NULL));
        assert (cert);
        count += streq (zcert_public_txt (cert), public_key);
        zcert_destroy (&cert);
    }
    zdir_flatten_free (&files);
    zdir_destroy (&listing);
    return count;
}

void
certdir_test (bool verbose)
{
    (void) verbose;
    char dir [] = "/tmp/duotang-certdir-test-XXXXXX";
    assert (mkdtemp (dir));
    dt_err_t err;
    dt_err_init (&err);
    zcert_t *alice = zcert_new (), *bob = zcert_new ();
    dt_key_t keys [3] = {
        { .name = "admin", .role = KEY_HQ_ADMIN },
        { .name = "admin", .role = KEY_LEADER },
        { .name = "gone", .role = KEY_LEADER, .revoked = true }
    };
    snprintf (keys [0].public_key, 41, "%s", zcert_public_txt (alice));
    snprintf (keys [1].public_key, 41, "%s", zcert_public_txt (bob));
    snprintf (keys [2].public_key, 41, "%s", zcert_public_txt (bob));
    zlistx_t *list = zlistx_new ();
    for (int i = 0; i < 3; i++)
        zlistx_add_end (list, &keys [i]);

    //  A stray file goes; live keys are written, even two of one name; a
    //  revoked key is not
    char stray [PATH_MAX];
    snprintf (stray, sizeof (stray), "%s/stray.pub", dir);
    assert (zcert_save_public (bob, stray) == 0);
    zactor_t *auth = zactor_new (zauth, NULL);
    assert (auth);
    assert (certdir_write (dir, list, auth, &err) == 0);
    assert (s_test_count (dir, keys [0].public_key) == 1);
    assert (s_test_count (dir, keys [1].public_key) == 1);
    keys [1].revoked = true;
    assert (certdir_write (dir, list, NULL, &err) == 0);
    assert (s_test_count (dir, keys [0].public_key) == 1);
    assert (s_test_count (dir, keys [1].public_key) == 0);

    zactor_destroy (&auth);
    zlistx_destroy (&list);
    zcert_destroy (&alice);
    zcert_destroy (&bob);
    zdir_t *gone = zdir_new (dir, NULL);
    zdir_remove (gone, true);
    zdir_destroy (&gone);
    dt_err_reset (&err);
}

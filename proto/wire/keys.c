/* keys.c -- CURVE key files: creation with safe modes, checked loading. */
#include "keys.h"
#include <sys/stat.h>

int
keys_create (const char *prefix, const char *name, dt_err_t *err)
{
    char pub [PATH_MAX], sec [PATH_MAX];
    snprintf (pub, sizeof (pub), "%s.pub", prefix);
    snprintf (sec, sizeof (sec), "%s.key", prefix);
    if (zsys_file_exists (pub) || zsys_file_exists (sec))
        return dt_err_set (err, "EXISTS", "key files %s.pub/.key already exist", prefix);
    zcert_t *cert = zcert_new ();
    if (!cert)
        return dt_err_set (err, "INTERNAL", "key generation failed: %s", strerror (errno));
    zcert_set_meta (cert, "name", "%s", name);
    //  The secret is never on disk with a wider mode, not even for a moment
    mode_t old = umask (077);
    int rc = zcert_save_secret (cert, sec);
    umask (old);
    const char *failed = rc? sec: NULL;
    if (rc == 0 && (rc = zcert_save_public (cert, pub)))
        failed = pub;
    zcert_destroy (&cert);
    if (rc)
        return dt_err_set (err, "INTERNAL", "writing %s failed: %s", failed, strerror (errno));
    return chmod (sec, 0600) == 0? 0:
           dt_err_set (err, "INTERNAL", "chmod %s failed: %s", sec, strerror (errno));
}

zcert_t *
keys_load_secret (const char *path, dt_err_t *err)
{
    struct stat st;
    if (stat (path, &st)) {
        dt_err_set (err, "BAD_ARGS", "key file %s: %s", path, strerror (errno));
        return NULL;
    }
    if (st.st_mode & 077) {
        dt_err_set (err, "DENIED", "secret key file %s is accessible by others (mode %03o): "
                    "chmod 600 it", path, (unsigned) (st.st_mode & 0777));
        return NULL;
    }
    zcert_t *cert = zcert_load (path);
    if (!cert || streq (zcert_secret_txt (cert), "0000000000000000000000000000000000000000")) {
        zcert_destroy (&cert);
        dt_err_set (err, "BAD_ARGS", "%s is not a secret key file", path);
    }
    return cert;
}

zcert_t *
keys_load_public (const char *path_or_z85, dt_err_t *err)
{
    if (strlen (path_or_z85) == 40 && !zsys_file_exists (path_or_z85)) {
        uint8_t public_key [32];
        if (zmq_z85_decode (public_key, path_or_z85))
            return zcert_new_from (public_key, (uint8_t [32]) { 0 });
    }
    zcert_t *cert = zsys_file_exists (path_or_z85)? zcert_load (path_or_z85): NULL;
    if (!cert)
        dt_err_set (err, "BAD_ARGS", "%s is neither a public key file nor a Z85 key",
                    path_or_z85);
    return cert;
}

void
keys_name (zcert_t *cert, const char *path_or_z85, char *name, size_t size)
{
    const char *meta = zcert_meta (cert, "name");
    if (meta && dt_id_valid (meta, strlen (meta))) {
        snprintf (name, size, "%s", meta);
        return;
    }
    const char *slash = strrchr (path_or_z85, '/');
    snprintf (name, size, "%s", slash? slash + 1: path_or_z85);
    name [strcspn (name, ".")] = 0;
}

zcert_t *
keys_ensure (const char *dir, const char *name, dt_err_t *err)
{
    char prefix [PATH_MAX / 2], sec [PATH_MAX];
    snprintf (prefix, sizeof (prefix), "%s/%s", dir, name);
    snprintf (sec, sizeof (sec), "%s.key", prefix);
    if (!zsys_file_exists (sec) && keys_create (prefix, name, err))
        return NULL;
    return keys_load_secret (sec, err);
}

int
keys_server (const char *dir, const char *name, zcert_t **cert, zactor_t **auth,
             dt_err_t *err)
{
    *cert = keys_ensure (dir, name, err);
    *auth = *cert? zactor_new (zauth, NULL): NULL;
    if (*cert && !*auth) {
        zcert_destroy (cert);
        dt_err_set (err, "INTERNAL", "starting the ZAP handler failed");
    }
    return *auth? 0: -1;
}

bool
keys_endpoint_is_local (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) == 0 || strncmp (endpoint, "inproc://", 9) == 0)
        return true;
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6;
    if (strncmp (host, "localhost:", 10) == 0 || strncmp (host, "[::1]:", 6) == 0)
        return true;
    //  127.0.0.0/8 as a dotted quad, not a name that merely starts with "127."
    unsigned a, b, c, d;
    char colon;
    return sscanf (host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &colon) == 5
        && a == 127 && b < 256 && c < 256 && d < 256 && colon == ':';
}

//  Self-test

void
keys_test (bool verbose)
{
    (void) verbose;
    char dir [] = "/tmp/duotang-keys-test-XXXXXX";
    assert (mkdtemp (dir));
    dt_err_t err;
    dt_err_init (&err);
    char prefix [PATH_MAX / 2], path [PATH_MAX];
    snprintf (prefix, sizeof (prefix), "%s/alice", dir);
    assert (keys_create (prefix, "alice", &err) == 0);
    assert (keys_create (prefix, "alice", &err) == -1 && streq (err.code, "EXISTS"));
    snprintf (path, sizeof (path), "%s.key", prefix);
    struct stat st;
    assert (stat (path, &st) == 0 && (st.st_mode & 0777) == 0600);
    zcert_t *secret = keys_load_secret (path, &err);
    assert (secret);
    assert (streq (zcert_meta (secret, "name"), "alice"));
    snprintf (path, sizeof (path), "%s.pub", prefix);
    zcert_t *public = keys_load_public (path, &err);
    assert (public && streq (zcert_public_txt (public), zcert_public_txt (secret)));
    //  A key is named by its metadata, else by its file
    char name [DT_ID_MAX + 1];
    keys_name (public, "/x/other.pub", name, sizeof (name));
    assert (streq (name, zcert_meta (public, "name")));
    zcert_destroy (&public);
    public = keys_load_public (zcert_public_txt (secret), &err);     /* no metadata */
    keys_name (public, "/x/other.v2.pub", name, sizeof (name));
    assert (streq (name, "other"));
    zcert_destroy (&public);
    public = keys_load_public (zcert_public_txt (secret), &err);
    assert (public && streq (zcert_public_txt (public), zcert_public_txt (secret)));
    zcert_destroy (&public);
    //  A public file is not a secret one; a readable secret is refused
    assert (keys_load_secret (path, &err) == NULL);
    snprintf (path, sizeof (path), "%s.key", prefix);
    chmod (path, 0640);
    assert (keys_load_secret (path, &err) == NULL && streq (err.code, "DENIED"));
    zcert_destroy (&secret);
    //  Servers create their key pair once and reuse it
    zcert_t *first = keys_ensure (dir, "hub", &err), *again = keys_ensure (dir, "hub", &err);
    assert (first && again && streq (zcert_public_txt (first), zcert_public_txt (again)));
    //  ... and run on it with a ZAP handler
    zcert_t *cert = NULL;
    zactor_t *auth = NULL;
    assert (keys_server (dir, "hub", &cert, &auth, &err) == 0 && cert && auth);
    assert (streq (zcert_public_txt (cert), zcert_public_txt (first)));
    zactor_destroy (&auth);
    zcert_destroy (&cert);
    assert (keys_server ("/nonexistent/dir", "hub", &cert, &auth, &err) == -1);
    assert (!cert && !auth);
    zcert_destroy (&first);
    zcert_destroy (&again);
    assert (keys_endpoint_is_local ("tcp://127.0.0.1:7700"));
    assert (keys_endpoint_is_local ("tcp://localhost:1"));
    assert (!keys_endpoint_is_local ("tcp://10.0.0.1:7700"));
    assert (!keys_endpoint_is_local ("tcp://*:7700"));
    assert (!keys_endpoint_is_local ("tcp://127.evil.com:1"));
    dt_err_reset (&err);
    zdir_t *tmp = zdir_new (dir, NULL);
    zdir_remove (tmp, true);
    zdir_destroy (&tmp);
}

/* keys.h -- CURVE key pairs kept in files (CZMQ certificate format): create
   them, load them (refusing secret files others can read), and decide whether
   an endpoint may run without CURVE (loopback only). */
#ifndef KEYS_H_INCLUDED
#define KEYS_H_INCLUDED

#include "dt.h"
#include "dt_err.h"

/* Write a new key pair: PREFIX.pub (public) and PREFIX.key (secret, mode
   0600). Refuses to overwrite either. `name` goes into the metadata. */
int keys_create (const char *prefix, const char *name, dt_err_t *err);

/* Load a secret key file (both keys). Refused when the file is readable or
   writable by group or others. Returns a new cert (caller destroys) or NULL. */
zcert_t *keys_load_secret (const char *path, dt_err_t *err);

/* Load a public key: a public or secret key file, or a 40-character Z85 text. */
zcert_t *keys_load_public (const char *path_or_z85, dt_err_t *err);

/* The name of a key loaded from path_or_z85 (PROTOCOL.md 3, "Key files"):
   its "name" metadata when that is an id, else the file's base name up to
   its first '.' (hq.pub -> hq). Into name (size DT_ID_MAX + 1); may be an
   invalid id, which the caller refuses. Hub and node name --admin keys so. */
void keys_name (zcert_t *cert, const char *path_or_z85, char *name, size_t size);

/* Load DIR/NAME.key, creating DIR/NAME.key and DIR/NAME.pub when absent
   (servers: the hub's and each node's own key pair). */
zcert_t *keys_ensure (const char *dir, const char *name, dt_err_t *err);

/* What a CURVE server (hub or node) runs on: its key pair DIR/NAME.key (as
   keys_ensure) and a started ZAP handler (zauth) in *auth. 0, or -1 with
   err and nothing left in *cert and *auth. */
int keys_server (const char *dir, const char *name, zcert_t **cert, zactor_t **auth,
                 dt_err_t *err);

/* True if a tcp/ipc/inproc endpoint only reaches this machine:
   tcp://127.x.x.x, tcp://localhost, tcp://[::1], ipc://, inproc://. */
bool keys_endpoint_is_local (const char *endpoint);

void keys_test (bool verbose);

#endif

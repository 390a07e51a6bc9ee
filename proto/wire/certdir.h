/* certdir.h -- the certificate directory a ZAP handler (zauth) admits: one
   public certificate per live key, and nothing else. Written by the hub from
   its key registry and by nodes from the keys they replicate. */
#ifndef CERTDIR_H_INCLUDED
#define CERTDIR_H_INCLUDED

#include "record.h"

/* Replace dir with the public certificates of the keys in `keys` (a list of
   const dt_key_t *, borrowed) that are not revoked, then have the zauth actor
   `auth` load dir afresh (auth NULL: only write). 0, or -1 with err. */
int certdir_write (const char *dir, zlistx_t *keys, zactor_t *auth, dt_err_t *err);

void certdir_test (bool verbose);

#endif

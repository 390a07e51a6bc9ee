/* scratch.h -- a store in a fresh temporary directory, for self-tests: the
   one set-up and tear-down every test that needs a store shares. */
#ifndef SCRATCH_H_INCLUDED
#define SCRATCH_H_INCLUDED

#include "store.h"

/* Open a new store in a new directory /tmp/duotang-NAME-XXXXXX with a map
   of mapsize_mb MiB. Asserts on failure: for self-tests only. */
store_t *scratch_new (const char *name, size_t mapsize_mb);

/* Close the store and remove its directory with everything in it. */
void scratch_destroy (store_t **store_p);

void scratch_test (bool verbose);

#endif

/* dt_idmap.h -- a compact map of ids to numbers for millions of ids (an
   import's rows): open addressing over one array, the ids in one arena, no
   allocation per id, keyed SipHash so that chosen ids cannot collide. */
#ifndef DT_IDMAP_H_INCLUDED
#define DT_IDMAP_H_INCLUDED

#include "dt.h"

typedef struct _dt_idmap_t dt_idmap_t;

/* A new, empty map (it aborts, as CZMQ does, when memory runs out). */
dt_idmap_t *dt_idmap_new (void);
void dt_idmap_destroy (dt_idmap_t **self_p);

/* The number held for id (size bytes, at most DT_ID_MAX), or 0 if none. */
uint32_t dt_idmap_get (dt_idmap_t *self, const char *id, size_t size);

/* Hold value (not 0) for id unless the map holds one already; returns the
   number held for id after the call. */
uint32_t dt_idmap_add (dt_idmap_t *self, const char *id, size_t size, uint32_t value);

/* Ids held. */
size_t dt_idmap_size (dt_idmap_t *self);

void dt_idmap_test (bool verbose);

#endif

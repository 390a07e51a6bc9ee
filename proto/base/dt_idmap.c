/* dt_idmap.c -- a compact id -> number map for millions of ids. */
#include "dt_idmap.h"
#include <sys/mman.h>

typedef struct {
    uint64_t offset;            /* of the id in the arena (length byte first) */
    uint32_t hash;              /* its high 32 bits: where it goes, and
                                   compared before the id */
    uint32_t value;             /* 0: the slot is free */
} s_slot_t;

struct _dt_idmap_t {
    s_slot_t *slots;
    size_t mask;                /* slots - 1 (a power of two) */
    size_t size;
    uint8_t *arena;             /* length (1 byte), then the id, per id */
    size_t arena_used, arena_max;
    unsigned char key [crypto_shorthash_KEYBYTES];
};

/* Slots for count entries, zeroed; in huge pages where the kernel gives
   them only when asked (a map of millions is probed at random). */
static s_slot_t *
s_slots_new (size_t count)
{
    size_t bytes = count * sizeof (s_slot_t);
    if (bytes < (4u << 20))
        return (s_slot_t *) zmalloc (bytes);
    s_slot_t *slots = (s_slot_t *) aligned_alloc (2u << 20, bytes);
    assert (slots);
    madvise (slots, bytes, MADV_HUGEPAGE);
    memset (slots, 0, bytes);
    return slots;
}

dt_idmap_t *
dt_idmap_new (void)
{
    dt_idmap_t *self = (dt_idmap_t *) zmalloc (sizeof (dt_idmap_t));
    self->mask = 1023;
    self->slots = s_slots_new (self->mask + 1);
    crypto_shorthash_keygen (self->key);
    return self;
}

void
dt_idmap_destroy (dt_idmap_t **self_p)
{
    assert (self_p);
    dt_idmap_t *self = *self_p;
    if (self) {
        free (self->slots);
        free (self->arena);
        free (self);
        *self_p = NULL;
    }
}

static uint32_t
s_hash (dt_idmap_t *self, const char *id, size_t size)
{
    uint8_t out [crypto_shorthash_BYTES];
    crypto_shorthash (out, (const unsigned char *) id, size, self->key);
    uint32_t hash;
    memcpy (&hash, out + 4, sizeof (hash));
    return hash;
}

/* The slot of id, or the free slot where it would go. */
static s_slot_t *
s_find (dt_idmap_t *self, const char *id, size_t size, uint32_t hash)
{
    for (size_t at = (size_t) hash & self->mask; ; at = (at + 1) & self->mask) {
        s_slot_t *slot = &self->slots [at];
        if (slot->value == 0)
            return slot;
        const uint8_t *held = self->arena + slot->offset;
        if (slot->hash == hash && held [0] == size && memcmp (held + 1, id, size) == 0)
            return slot;
    }
}

/* Four times the slots, when three quarters are taken (each id moves by
   its kept hash, without reading it). */
static void
s_grow (dt_idmap_t *self)
{
    s_slot_t *old = self->slots;
    size_t count = self->mask + 1;
    self->mask = count * 4 - 1;
    self->slots = s_slots_new (count * 4);
    for (size_t i = 0; i < count; i++) {
        if (old [i].value == 0)
            continue;
        size_t at = old [i].hash & self->mask;
        while (self->slots [at].value)
            at = (at + 1) & self->mask;
        self->slots [at] = old [i];
    }
    free (old);
}

uint32_t
dt_idmap_get (dt_idmap_t *self, const char *id, size_t size)
{
    assert (size <= DT_ID_MAX);
    return s_find (self, id, size, s_hash (self, id, size))->value;
}

uint32_t
dt_idmap_add (dt_idmap_t *self, const char *id, size_t size, uint32_t value)
{
    assert (value && size <= DT_ID_MAX);
    uint32_t hash = s_hash (self, id, size);
    s_slot_t *slot = s_find (self, id, size, hash);
    if (slot->value)
        return slot->value;
    if (self->arena_used + 1 + size > self->arena_max) {
        self->arena_max = self->arena_max? self->arena_max * 2: 65536;
        self->arena = (uint8_t *) realloc (self->arena, self->arena_max);
        assert (self->arena);
    }
    *slot = (s_slot_t) { .offset = self->arena_used, .hash = hash, .value = value };
    self->arena [self->arena_used] = (uint8_t) size;
    memcpy (self->arena + self->arena_used + 1, id, size);
    self->arena_used += 1 + size;
    if (++self->size * 4 > (self->mask + 1) * 3)
        s_grow (self);
    return value;
}

size_t
dt_idmap_size (dt_idmap_t *self)
{
    return self->size;
}

void
dt_idmap_test (bool verbose)
{
    if (verbose)
        printf (" * dt_idmap: ");
    dt_idmap_t *map = dt_idmap_new ();
    assert (dt_idmap_get (map, "m-1", 3) == 0);
    //  Enough ids to grow the slots many times; the first number stays
    char id [16];
    for (uint32_t i = 1; i <= 100000; i++) {
        int size = snprintf (id, sizeof (id), "m-%u", i);
        assert (dt_idmap_add (map, id, (size_t) size, i) == i);
    }
    assert (dt_idmap_add (map, "m-7", 3, 99) == 7);
    assert (dt_idmap_size (map) == 100000);
    for (uint32_t i = 1; i <= 100000; i++) {
        int size = snprintf (id, sizeof (id), "m-%u", i);
        assert (dt_idmap_get (map, id, (size_t) size) == i);
    }
    //  A prefix, a longer id and an id differing in its last byte are others
    assert (dt_idmap_get (map, "m-1", 2) == 0);
    assert (dt_idmap_get (map, "m-10000000", 10) == 0);
    assert (dt_idmap_get (map, "m-100001", 8) == 0);
    assert (dt_idmap_add (map, "", 0, 5) == 5 && dt_idmap_get (map, "", 0) == 5);
    dt_idmap_destroy (&map);
    assert (map == NULL);
    if (verbose)
        printf ("OK\n");
}

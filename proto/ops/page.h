/* page.h -- one page of a list reply: a limit, an opaque cursor, and the
   result { items: [...], next: cursor | nil } (PROTOCOL.md 6.0). Items are
   packed into the page as they are visited; a reply never grows past its
   limit, however large the list. */
#ifndef PAGE_H_INCLUDED
#define PAGE_H_INCLUDED

#include "proto.h"

#define PAGE_LIMIT_DEFAULT  100
#define PAGE_LIMIT_MAX      1000
#define PAGE_KEY_MAX        255         /* bytes of a position; a cursor is its hex */
#define PAGE_BYTES_MAX      (1 << 20)   /* a page takes no item once its items pass
                                           this: a reply stays far below 4 MiB */

typedef struct {
    uint32_t limit;
    uint8_t after [PAGE_KEY_MAX];       /* the position a cursor names */
    size_t after_size;                  /* 0: from the start */
    uint8_t last [PAGE_KEY_MAX];        /* position of the last item packed */
    size_t last_size;
    uint32_t count;
    bool more;                          /* an item was left for the next page */
    msgpack_sbuffer items;
    msgpack_packer pk;
} page_t;

/* Read "limit" (1..PAGE_LIMIT_MAX, default PAGE_LIMIT_DEFAULT) and "cursor"
   (a string from an earlier page's "next") from args. 0, or -1 with
   BAD_ARGS. page_close or page_release afterwards always. */
int page_open (page_t *self, const msgpack_object *args, dt_err_t *err);
/* The same with another default and largest limit (audit.list: 100, 10000). */
int page_open_range (page_t *self, const msgpack_object *args, uint32_t dflt, uint32_t max,
                     dt_err_t *err);
/* The position to resume after, or NULL at the start. */
const void *page_after (page_t *self, size_t *size);
/* Room for one more item at position key: the packer to pack it with, or
   NULL when the page is full, by count or by bytes (then stop visiting:
   `more` is set). */
msgpack_packer *page_item (page_t *self, const void *key, size_t key_size);
/* A cursor this server gave, but for another list (its position does not
   fit this one): release the page, BAD_ARGS; returns -1. */
int page_refuse_cursor (page_t *self, dt_err_t *err);
/* The visit passed over an item at position key that this page does not
   show (out of the asker's scope): a next page resumes after it. A visit
   that stops before the end, having passed many, sets `more` itself. */
void page_pass (page_t *self, const void *key, size_t key_size);
/* Pack { items, next } into pk and release the page. */
void page_close (page_t *self, msgpack_packer *pk);
/* Pack the two pairs name: [items] and next: cursor|nil (no map header: the
   caller's map holds them beside its own pairs) and release the page. The
   lists older than 6.0's "items" keep their names (branches, halls, ...). */
void page_pack (page_t *self, msgpack_packer *pk, const char *name);
void page_release (page_t *self);

void page_test (bool verbose);

#endif

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
/* The position to resume after, or NULL at the start. */
const void *page_after (page_t *self, size_t *size);
/* Room for one more item at position key: the packer to pack it with, or
   NULL when the page is full (then stop visiting: `more` is set). */
msgpack_packer *page_item (page_t *self, const void *key, size_t key_size);
/* Pack { items, next } into pk and release the page. */
void page_close (page_t *self, msgpack_packer *pk);
void page_release (page_t *self);

void page_test (bool verbose);

#endif

/* ctl_print.h -- human output of results: field values as text, one-line
   descriptions and tables of the record shapes of PROTOCOL.md section 6, and
   compact key=value text for audit entries. */
#ifndef CTL_PRINT_H_INCLUDED
#define CTL_PRINT_H_INCLUDED

#include "dt.h"

/* Display text of obj / of map[key]: strings as they are (line breaks and tabs
   as blanks), numbers in decimal, booleans yes/no, nil or absent "-", arrays
   joined with ",", maps as k=v,k=v (empty ones "-"). The text lives until ctl_print_release. */
const char *ctl_print_text (const msgpack_object *obj);
const char *ctl_v (const msgpack_object *map, const char *key);
/* Show times in zone from now on (ctl_zone calls it); NULL or "": UTC. */
void ctl_print_set_zone (const char *zone);
/* map[key] as a time (UTC ISO), or "-" when absent or nil. */
const char *ctl_when (const msgpack_object *map, const char *key);
/* map[key] as an unsigned number, 0 if absent or not one. */
uint64_t ctl_u (const msgpack_object *map, const char *key);
/* True if map[key] is the string value. */
bool ctl_is (const msgpack_object *map, const char *key, const char *value);
/* map[key] if it is an array, else NULL. */
const msgpack_object *ctl_array (const msgpack_object *map, const char *key);
/* Free every text returned so far. */
void ctl_print_release (void);

/* Compact text for audit lines: strings quoted (JSON style) only when empty or
   holding blanks or any of ,=[]{}"; nil as nil; maps {k=v,...}. */
void ctl_print_compact (FILE *out, const msgpack_object *obj);
/* A map's entries as "k=v k=v" (compact values). */
void ctl_print_args (FILE *out, const msgpack_object *map);
/* One audit change { table, key, before, after } as an indented line:
   "  + hall h-2  name=x cap=30", "  - hall h-1  name=y", "  ~ hall h-3  seats 20→25". */
void ctl_print_change (FILE *out, const msgpack_object *change);

/* One-line descriptions of a single record. */
void ctl_print_officer (FILE *out, const msgpack_object *officer);
void ctl_print_branch (FILE *out, const msgpack_object *branch);
void ctl_print_hall (FILE *out, const msgpack_object *hall);
void ctl_print_member (FILE *out, const msgpack_object *member);
void ctl_print_key (FILE *out, const msgpack_object *key);
void ctl_print_node (FILE *out, const msgpack_object *node);

/* Tables with a header row for arrays of records; "(none)" when empty. */
/* The tables of the lists below, one definition each, printed whole
   (ctl_print_officers, ...) or a page at a time (the CLI's list follower,
   ctl_call_table): a header and an alignment per column, each cell's text
   made from an item (it lives until ctl_print_release). */
typedef struct _ctl_list_table_t ctl_list_table_t;
extern const ctl_list_table_t ctl_officers_table, ctl_branches_table, ctl_halls_table,
                              ctl_members_table, ctl_keys_table, ctl_nodes_table;
size_t ctl_list_columns (const ctl_list_table_t *table);
const char *ctl_list_header (const ctl_list_table_t *table, size_t column);
bool ctl_list_right (const ctl_list_table_t *table, size_t column);
const char *ctl_list_cell (const ctl_list_table_t *table, size_t column,
                           const msgpack_object *item);
void ctl_print_officers (FILE *out, const msgpack_object *list);
void ctl_print_branches (FILE *out, const msgpack_object *list);
void ctl_print_halls (FILE *out, const msgpack_object *list);
void ctl_print_members (FILE *out, const msgpack_object *list);
void ctl_print_keys (FILE *out, const msgpack_object *list);
void ctl_print_nodes (FILE *out, const msgpack_object *list);

void ctl_print_test (bool verbose);

#endif

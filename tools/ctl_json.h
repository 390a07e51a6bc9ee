/* ctl_json.h -- print a msgpack object as one JSON document (the CLI's
   --json output): strings escaped, bin and ext as hex strings. */
#ifndef CTL_JSON_H_INCLUDED
#define CTL_JSON_H_INCLUDED

#include "dt.h"

/* Print obj as compact JSON (no newline). Invalid UTF-8 becomes U+FFFD;
   non-finite floats become null; a map key that is not a string is printed
   as the JSON text of the key, quoted. */
void ctl_json_print (FILE *out, const msgpack_object *obj);

/* Print a JSON string literal of len bytes of s. */
void ctl_json_string (FILE *out, const char *s, size_t len);

void ctl_json_test (bool verbose);

#endif

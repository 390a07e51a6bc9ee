/* ctl_lang.h -- duotangctl's language: the locale chooses it (gettext, domain
   "duotangctl"), and a server's error is shown from its template and params
   (PROTOCOL.md 5.2) in that language when the catalogue translates it. */
#ifndef CTL_LANG_H_INCLUDED
#define CTL_LANG_H_INCLUDED

#include "dt_err.h"
#include <libintl.h>

/* A message for people, in the reader's language. Machine formats (JSON
   keys and values, CSV headers, option names) are never translated. */
#define _(text) gettext (text)
/* Marks a string for the catalogue where it is defined (a table); _() it
   where it is printed. */
#define N_(text) (text)

#define CTL_LANG_DOMAIN "duotangctl"

/* Take the language from the locale (LC_ALL, LC_MESSAGES, LANG, LANGUAGE)
   and read the catalogue from the first of: <program's directory>/locale
   (a build tree), <program's directory>/../share/locale (an installed
   program, wherever its prefix), CTL_LOCALEDIR (the one make install used). */
void ctl_lang_init (void);
/* The catalogue's directory ctl_lang_init chose (or would choose). */
const char *ctl_lang_dir (void);
/* A message in the reader's language: the translation of tpl's template,
   rendered with its params, when the catalogue has one that fits them;
   else message (the English rendering). Returns out or message. */
const char *ctl_lang_message (const char *message, const dt_err_tpl_t *tpl, char *out,
                              size_t size);
/* The same for an error of this side (a key file, a connection). */
const char *ctl_lang_err (const dt_err_t *err, char *out, size_t size);
/* As ctl_lang_err, into a buffer of its own that the next call reuses. */
const char *ctl_lang_of (const dt_err_t *err);

void ctl_lang_test (bool verbose);

#endif

/* ctl_lang.c -- duotangctl's language: locale, catalogue, server errors. */
#include "ctl_lang.h"
#include <locale.h>
#include <libgen.h>

#ifndef CTL_LOCALEDIR
#   define CTL_LOCALEDIR "/usr/local/share/locale"
#endif

const char *
ctl_lang_dir (void)
{
    static char dir [PATH_MAX];
    if (*dir)
        return dir;
    char exe [PATH_MAX];
    ssize_t len = readlink ("/proc/self/exe", exe, sizeof (exe) - 1);
    if (len > 0) {
        exe [len] = 0;
        const char *bin = dirname (exe);
        const char *beside [] = { "%s/locale", "%s/../share/locale", NULL };
        for (const char **form = beside; *form; form++) {
            snprintf (dir, sizeof (dir), *form, bin);
            if (zsys_file_exists (dir))
                return dir;
        }
    }
    snprintf (dir, sizeof (dir), "%s", CTL_LOCALEDIR);
    return dir;
}

void
ctl_lang_init (void)
{
    setlocale (LC_ALL, "");
    bindtextdomain (CTL_LANG_DOMAIN, ctl_lang_dir ());
    textdomain (CTL_LANG_DOMAIN);
}

/* The words servers put in params ("unknown %s %s": a table name, then an
   id; item types, kinds and states), for the catalogue under the context
   "param": a translated template shows them translated too. */
#define NC_(context, text) (text)
static const char *s_param_words [] = {
    NC_("param", "officer"), NC_("param", "branch"), NC_("param", "hall"),
    NC_("param", "member"), NC_("param", "key"), NC_("param", "node"),
    NC_("param", "policy"), NC_("param", "post"), NC_("param", "event"),
    NC_("param", "question"), NC_("param", "article"), NC_("param", "story"),
    NC_("param", "video"), NC_("param", "promo"), NC_("param", "notice"),
    NC_("param", "tasting"), NC_("param", "sports"), NC_("param", "other"),
    NC_("param", "scheduled"), NC_("param", "held"), NC_("param", "cancelled"),
    NC_("param", "open"), NC_("param", "answered"), NC_("param", "merge"),
    NC_("param", "dissolve"), NC_("param", "split"), NC_("param", "core"), NULL
};

/* tpl with each param that is one of s_param_words translated. */
static void
s_translate_params (const dt_err_tpl_t *tpl, dt_err_tpl_t *into)
{
    memset (into, 0, sizeof (*into));
    strcpy (into->text, tpl->text);
    for (size_t i = 0; i < tpl->nparams; i++) {
        const char *param = dt_err_param (tpl, i);
        for (const char **word = s_param_words; *word; word++)
            if (streq (*word, param)) {
                char key [64];
                snprintf (key, sizeof (key), "param\004%s", param);
                const char *translated = gettext (key);
                if (translated != key)
                    param = translated;
                break;
            }
        if (dt_err_param_add (into, param, strlen (param))) {
            *into = *tpl;           /* too long translated: as they are */
            return;
        }
    }
}

const char *
ctl_lang_message (const char *message, const dt_err_tpl_t *tpl, char *out, size_t size)
{
    if (!*tpl->text)
        return message;
    const char *translated = gettext (tpl->text);
    //  Untranslated, the message is the template rendered already
    if (translated == tpl->text)
        return message;
    dt_err_tpl_t words;
    s_translate_params (tpl, &words);
    if (dt_err_render (translated, &words, out, size))
        return message;
    return out;
}

const char *
ctl_lang_err (const dt_err_t *err, char *out, size_t size)
{
    return ctl_lang_message (err->message, &err->tpl, out, size);
}

const char *
ctl_lang_of (const dt_err_t *err)
{
    static char text [DT_ERR_MSG_MAX];
    return ctl_lang_err (err, text, sizeof (text));
}

//  Self-test

void
ctl_lang_test (bool verbose)
{
    if (verbose)
        printf (" * ctl_lang: ");
    //  A catalogue of its own, in a domain of its own: the renderer's rules,
    //  not the translations of tools/po (tests/system/test_i18n.py has those)
    char *dir = zsys_sprintf ("/tmp/ctl_lang_test.%d", getpid ());
    char *po = zsys_sprintf ("%s/zh_CN/LC_MESSAGES/t.po", dir);
    char *make = zsys_sprintf ("msgfmt --check-format -o %s/zh_CN/LC_MESSAGES/ctl_lang_test.mo %s",
                               dir, po);
    assert (zsys_dir_create ("%s/zh_CN/LC_MESSAGES", dir) == 0);
    FILE *file = fopen (po, "w");
    assert (file);
    fprintf (file, "msgid \"\"\nmsgstr \"Content-Type: text/plain; charset=UTF-8\\n\"\n\n"
             "#, c-format\nmsgid \"branch %%s is full: %%u/%%u members\"\n"
             "msgstr \"分舵 %%s 已满：%%u/%%u 名成员\"\n\n"
             "#, c-format\nmsgid \"%%s would put %%llu seats in %%s (cap %%u)\"\n"
             "msgstr \"%%3$s（上限 %%4$u）会因%%1$s而有 %%2$llu 个座位\"\n\n"
             "msgid \"hall %%s is gone\"\nmsgstr \"堂口 %%s 与 %%s 已不在\"\n\n"
             "#, c-format\nmsgid \"unknown %%s %%s\"\nmsgstr \"未知的%%s %%s\"\n\n"
             "msgctxt \"param\"\nmsgid \"branch\"\nmsgstr \"分舵\"\n");
    fclose (file);
    int made = system (make);
    if (made != 0)
        fprintf (stderr, "ctl_lang_test: msgfmt failed (is gettext installed? "
                 "tools/install-deps.sh)\n");
    assert (made == 0);
    char *saved_locale = strdup (setlocale (LC_MESSAGES, NULL));
    char *saved_domain = strdup (textdomain (NULL));
    const char *locale = setlocale (LC_MESSAGES, "zh_CN.UTF-8");
    if (!locale)
        fprintf (stderr, "ctl_lang_test: no zh_CN.UTF-8 locale (tools/install-deps.sh "
                 "generates it)\n");
    assert (locale);
    bindtextdomain ("ctl_lang_test", dir);
    bind_textdomain_codeset ("ctl_lang_test", "UTF-8");
    textdomain ("ctl_lang_test");

    dt_err_t err;
    dt_err_init (&err);
    char out [DT_ERR_MSG_MAX];
    dt_err_set (&err, "FULL", "branch %s is full: %u/%u members", "b-1", 200u, 200u);
    assert (streq (ctl_lang_err (&err, out, sizeof (out)), "分舵 b-1 已满：200/200 名成员"));
    //  Reordered with %n$
    dt_err_set (&err, "FULL", "%s would put %llu seats in %s (cap %u)", "the move", 31ULL,
                "h-1", 30u);
    assert (streq (ctl_lang_err (&err, out, sizeof (out)),
                   "h-1（上限 30）会因the move而有 31 个座位"));
    //  A translation that does not fit the params, no translation, no
    //  template: the English message
    dt_err_set (&err, "NOT_FOUND", "hall %s is gone", "h-9");
    assert (streq (ctl_lang_err (&err, out, sizeof (out)), "hall h-9 is gone"));
    //  A param that is one of the servers' words is translated with it
    dt_err_set (&err, "NOT_FOUND", "unknown %s %s", "branch", "b-9");
    assert (streq (ctl_lang_err (&err, out, sizeof (out)), "未知的分舵 b-9"));
    dt_err_set (&err, "NOT_FOUND", "unknown %s %s", "branches", "b-9");
    assert (streq (ctl_lang_err (&err, out, sizeof (out)), "未知的branches b-9"));
    dt_err_set (&err, "NOT_FOUND", "no member %s", "m-9");
    assert (streq (ctl_lang_err (&err, out, sizeof (out)), "no member m-9"));
    dt_err_tpl_t none;
    memset (&none, 0, sizeof (none));
    assert (streq (ctl_lang_message ("as sent", &none, out, sizeof (out)), "as sent"));
    //  Too long for out: the message
    dt_err_set (&err, "FULL", "branch %s is full: %u/%u members", "b-1", 200u, 200u);
    assert (ctl_lang_message (err.message, &err.tpl, out, 10) == err.message);
    dt_err_reset (&err);

    textdomain (saved_domain);
    setlocale (LC_MESSAGES, saved_locale);
    free (saved_domain);
    free (saved_locale);
    char *clean = zsys_sprintf ("rm -rf %s", dir);
    assert (system (clean) == 0);
    zstr_free (&clean);
    zstr_free (&make);
    zstr_free (&po);
    zstr_free (&dir);
    if (verbose)
        printf ("OK\n");
}

/* dt_log.c -- the servers' log: CZMQ's lines re-stamped in ISO 8601 with a level. */
#include "dt_log.h"

static struct {
    char ident [32];
    dt_log_level_t level;
    char *path;                 /* NULL: stderr */
    FILE *out;                  /* stderr or the file */
    FILE *stream;               /* the stream CZMQ writes to */
    bool journal;
    char partial [1024];        /* a line CZMQ has not finished */
    size_t npartial;
} s_log;

/* CZMQ's level letters, their names and syslog priorities. */
static int
s_level (char letter, const char **name)
{
    switch (letter) {
        case 'E': *name = "ERROR"; return 3;
        case 'W': *name = "WARNING"; return 4;
        case 'N': *name = "NOTICE"; return 5;
        case 'I': *name = "INFO"; return 6;
        default:  *name = "DEBUG"; return 7;
    }
}

/* Past a leading "YY-MM-DD HH:MM:SS " of CZMQ's, if there is one. */
static const char *
s_skip_stamp (const char *p, const char *end)
{
    if (end - p > 18 && p [2] == '-' && p [5] == '-' && p [8] == ' ' && p [11] == ':'
    &&  p [14] == ':' && p [17] == ' ')
        p += 18;
    return p;
}

bool
dt_log_format (const char *line, size_t len, int64_t at_ms, bool journal, char *out,
               size_t size)
{
    //  CZMQ 4.2 writes "L: (ident) YY-MM-DD HH:MM:SS text", older ones put
    //  the two-digit-year stamp first: skip it wherever it is
    const char *p = s_skip_stamp (line, line + len), *end = line + len;
    char letter = 'I';
    if (end - p >= 3 && strchr ("EWNID", p [0]) && p [1] == ':' && p [2] == ' ') {
        letter = p [0];
        p += 3;
    }
    //  CZMQ repeats its log ident in parentheses: we print ours once
    if (*s_log.ident && end - p > 2 && *p == '(') {
        size_t n = strlen (s_log.ident);
        if ((size_t) (end - p) > n + 2 && memcmp (p + 1, s_log.ident, n) == 0
        &&  p [n + 1] == ')' && p [n + 2] == ' ')
            p += n + 3;
    }
    p = s_skip_stamp (p, end);
    while (end > p && (end [-1] == '\n' || end [-1] == '\r'))
        end--;
    const char *name;
    int priority = s_level (letter, &name);
    int threshold = s_log.level == DT_LOG_QUIET? 4: s_log.level == DT_LOG_NORMAL? 6: 7;
    if (priority > threshold)
        return false;
    const char *ident = *s_log.ident? s_log.ident: "duotang";
    if (journal)
        snprintf (out, size, "<%d>%s: %.*s\n", priority, name, (int) (end - p), p);
    else {
        time_t seconds = (time_t) (at_ms / 1000);
        struct tm tm;
        gmtime_r (&seconds, &tm);
        char stamp [32];
        strftime (stamp, sizeof (stamp), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf (out, size, "%s.%03dZ %s[%d] %s: %.*s\n", stamp, (int) (at_ms % 1000), ident,
                  (int) getpid (), name, (int) (end - p), p);
    }
    return true;
}

/* The cookie stream's write: complete lines are re-stamped and written out. */
static ssize_t
s_write (void *cookie, const char *data, size_t size)
{
    (void) cookie;
    size_t done = 0;
    while (done < size) {
        const char *newline = memchr (data + done, '\n', size - done);
        size_t chunk = newline? (size_t) (newline - (data + done)) + 1: size - done;
        size_t room = sizeof (s_log.partial) - 1 - s_log.npartial;
        size_t take = chunk < room? chunk: room;
        memcpy (s_log.partial + s_log.npartial, data + done, take);
        s_log.npartial += take;
        done += chunk;
        if (newline || s_log.npartial == sizeof (s_log.partial) - 1) {
            char line [1200];
            if (dt_log_format (s_log.partial, s_log.npartial, dt_now_ms (), s_log.journal,
                               line, sizeof (line))) {
                fputs (line, s_log.out);
                fflush (s_log.out);
            }
            s_log.npartial = 0;
        }
    }
    return (ssize_t) size;
}

/* True when systemd connected stderr to the journal (JOURNAL_STREAM=dev:ino). */
static bool
s_journal (void)
{
    const char *stream = getenv ("JOURNAL_STREAM");
    struct stat st;
    unsigned long long dev, ino;
    return stream && sscanf (stream, "%llu:%llu", &dev, &ino) == 2 && fstat (2, &st) == 0
        && (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

static FILE *
s_open_file (const char *path, dt_err_t *err)
{
    FILE *file = fopen (path, "a");
    if (!file)
        dt_err_set (err, "BAD_ARGS", "log file %s cannot be opened: %s", path,
                    strerror (errno));
    return file;
}

int
dt_log_open (const char *ident, dt_log_level_t level, const char *path, dt_err_t *err)
{
    dt_log_close ();
    FILE *out = path? s_open_file (path, err): stderr;
    if (!out)
        return -1;
    snprintf (s_log.ident, sizeof (s_log.ident), "%s", ident);
    s_log.level = level;
    s_log.path = path? strdup (path): NULL;
    s_log.out = out;
    s_log.journal = !path && s_journal ();
    s_log.npartial = 0;
    cookie_io_functions_t functions = { .write = s_write };
    s_log.stream = fopencookie (NULL, "w", functions);
    assert (s_log.stream);
    //  CZMQ flushes after each line, so the cookie sees whole lines
    setvbuf (s_log.stream, NULL, _IOFBF, 4096);
    zsys_init ();
    zsys_set_logident (ident);
    zsys_set_logstream (s_log.stream);
    return 0;
}

int
dt_log_reopen (dt_err_t *err)
{
    if (!s_log.path)
        return 0;
    FILE *file = s_open_file (s_log.path, err);
    if (!file)
        return -1;
    fclose (s_log.out);
    s_log.out = file;
    return 0;
}

const char *
dt_log_path (void)
{
    return s_log.path;
}

void
dt_log_close (void)
{
    if (s_log.stream) {
        zsys_set_logstream (stdout);
        fclose (s_log.stream);
        s_log.stream = NULL;
    }
    if (s_log.path && s_log.out)
        fclose (s_log.out);
    free (s_log.path);
    s_log.path = NULL;
    s_log.out = NULL;
}

//  Self-test

void
dt_log_test (bool verbose)
{
    (void) verbose;
    char out [256];
    snprintf (s_log.ident, sizeof (s_log.ident), "duotang-hub");
    s_log.level = DT_LOG_NORMAL;
    //  1796156758356 ms = 2026-12-01T20:25:58.356Z
    const char *line = "W: (duotang-hub) 26-12-01 20:25:58 disk is slow\n";
    assert (dt_log_format (line, strlen (line), 1796156758356, false, out, sizeof (out)));
    char expect [128];
    snprintf (expect, sizeof (expect), "2026-12-01T20:25:58.356Z duotang-hub[%d] WARNING: "
              "disk is slow\n", (int) getpid ());
    assert (streq (out, expect));
    assert (dt_log_format (line, strlen (line), 0, true, out, sizeof (out)));
    assert (streq (out, "<4>WARNING: disk is slow\n"));
    //  Debug only with -v, information not with -q
    line = "26-12-01 20:25:58 D: (duotang-hub) detail";
    assert (!dt_log_format (line, strlen (line), 0, true, out, sizeof (out)));
    s_log.level = DT_LOG_VERBOSE;
    assert (dt_log_format (line, strlen (line), 0, true, out, sizeof (out)));
    s_log.level = DT_LOG_QUIET;
    line = "26-12-01 20:25:58 I: (duotang-hub) listening";
    assert (!dt_log_format (line, strlen (line), 0, true, out, sizeof (out)));
    line = "26-12-01 20:25:58 E: zauth: failed";
    assert (dt_log_format (line, strlen (line), 0, true, out, sizeof (out)));
    assert (streq (out, "<3>ERROR: zauth: failed\n"));

    //  Through CZMQ into a file, reopened after a rotation
    char path [] = "/tmp/duotang-log-test-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    close (fd);
    dt_err_t err;
    dt_err_init (&err);
    assert (dt_log_open ("duotang-test", DT_LOG_NORMAL, path, &err) == 0);
    zsys_info ("first %d", 1);
    zsys_debug ("hidden");
    char rotated [64];
    snprintf (rotated, sizeof (rotated), "%s.1", path);
    assert (rename (path, rotated) == 0);
    assert (dt_log_reopen (&err) == 0);
    zsys_error ("second");
    dt_log_close ();
    char text [512] = "";
    FILE *file = fopen (rotated, "r");
    assert (file && fread (text, 1, sizeof (text) - 1, file) > 0);
    fclose (file);
    assert (strstr (text, "duotang-test[") && strstr (text, "] INFO: first 1\n"));
    assert (!strstr (text, "hidden") && !strstr (text, "second"));
    memset (text, 0, sizeof (text));
    file = fopen (path, "r");
    assert (file && fread (text, 1, sizeof (text) - 1, file) > 0);
    fclose (file);
    assert (strstr (text, "ERROR: second\n") && text [4] == '-' && text [10] == 'T');
    unlink (rotated);
    unlink (path);
    assert (dt_log_open ("x", DT_LOG_NORMAL, "/nonexistent/dir/log", &err) == -1);
    assert (strstr (err.message, "/nonexistent/dir/log"));
    *s_log.ident = 0;
    s_log.level = DT_LOG_NORMAL;
    dt_err_reset (&err);
}

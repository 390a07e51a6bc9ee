/* ctl_fake.c -- a scripted DTP server on inproc for the CLI's self-tests. */
#include "ctl_fake.h"
#include "ctl_json.h"
#include "op.h"

struct _ctl_fake_t {
    zactor_t *actor;
    char endpoint [64];
    char *out, *err, *request, *requests;
};

//  The server actor: pipe commands RESULT <bytes>, ERROR <code> <message>
//  <details> (the answer to every request), QUEUE <bytes> and QUEUE-ERROR
//  <code> <message> <details> (the answer to one request, before the standing
//  one, in order), GET (answers the last request and every request since the
//  last GET, then forgets them and any answer still queued)

typedef struct {
    msgpack_sbuffer result;
    bool nil;
    dt_err_t error;
} s_answer_t;

#define S_QUEUE_MAX 16

typedef struct {
    zsock_t *router;
    s_answer_t standing;
    s_answer_t queue [S_QUEUE_MAX];
    size_t queued, next;        /* queue [next .. queued) are still to answer */
    char *last;
    char *all;                  /* every request since the last GET */
} s_server_t;

static void
s_configure (s_answer_t *self, zmsg_t *msg, const char *command)
{
    dt_err_reset (&self->error);
    msgpack_sbuffer_clear (&self->result);
    if (streq (command, "RESULT") || streq (command, "QUEUE")) {
        zframe_t *frame = zmsg_first (msg);
        self->nil = zframe_size (frame) == 0;
        msgpack_sbuffer_write (&self->result, (char *) zframe_data (frame), zframe_size (frame));
        return;
    }
    char *code = zmsg_popstr (msg), *message = zmsg_popstr (msg), *details = zmsg_popstr (msg);
    dt_err_set (&self->error, code, "%s", message);
    for (char *save = NULL, *item = strtok_r (details, "|", &save); item;
         item = strtok_r (NULL, "|", &save))
        dt_err_detail (&self->error, (uint32_t) atoi (item), "%s", strchr (item, ':') + 1);
    free (code);
    free (message);
    free (details);
}

static void
s_answer_init (s_answer_t *self)
{
    msgpack_sbuffer_init (&self->result);
    dt_err_init (&self->error);
    self->nil = true;
}

static void
s_answer_destroy (s_answer_t *self)
{
    msgpack_sbuffer_destroy (&self->result);
    dt_err_reset (&self->error);
}

static void
s_answer (s_server_t *self)
{
    zmsg_t *msg = zmsg_recv (self->router);
    zframe_t *identity = zmsg_pop (msg);
    zframe_t *empty = zmsg_pop (msg);
    zframe_t *body = zmsg_pop (msg);
    proto_req_t req;
    dt_err_t err;
    dt_err_init (&err);
    int rc = proto_req_decode (&req, zframe_data (body), zframe_size (body), &err);
    assert (rc == 0);
    size_t size;
    free (self->last);
    FILE *out = open_memstream (&self->last, &size);
    fprintf (out, "%s ", req.op);
    msgpack_object none = { .type = MSGPACK_OBJECT_MAP };
    ctl_json_print (out, req.args? req.args: &none);
    fclose (out);
    char *all = zsys_sprintf ("%s%s\n", self->all, self->last);
    free (self->all);
    self->all = all;
    s_answer_t *with = self->next < self->queued? &self->queue [self->next++]: &self->standing;
    msgpack_sbuffer reply;
    msgpack_sbuffer_init (&reply);
    proto_reply_encode (&reply, req.id, with->nil? NULL: &with->result, &with->error);
    zmsg_t *answer = zmsg_new ();
    zmsg_append (answer, &identity);
    zmsg_append (answer, &empty);
    zmsg_addmem (answer, reply.data, reply.size);
    zmsg_send (&answer, self->router);
    msgpack_sbuffer_destroy (&reply);
    proto_req_release (&req);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
    dt_err_reset (&err);
}

static void
s_server (zsock_t *pipe, void *endpoint)
{
    s_server_t self = { .router = zsock_new_router ((char *) endpoint) };
    assert (self.router);
    s_answer_init (&self.standing);
    for (size_t i = 0; i < S_QUEUE_MAX; i++)
        s_answer_init (&self.queue [i]);
    self.last = strdup ("");
    self.all = strdup ("");
    zpoller_t *poller = zpoller_new (pipe, self.router, NULL);
    zsock_signal (pipe, 0);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == self.router) {
            s_answer (&self);
            continue;
        }
        zmsg_t *msg = zmsg_recv (pipe);
        char *command = msg? zmsg_popstr (msg): NULL;
        bool done = !command || streq (command, "$TERM");
        if (command && streq (command, "GET")) {
            zstr_sendx (pipe, self.last, self.all, NULL);
            free (self.last);
            free (self.all);
            self.last = strdup ("");
            self.all = strdup ("");
            self.queued = self.next = 0;
        }
        else
        if (!done) {
            bool queue = strncmp (command, "QUEUE", 5) == 0;
            assert (!queue || self.queued < S_QUEUE_MAX);
            s_configure (queue? &self.queue [self.queued++]: &self.standing, msg,
                         queue && streq (command, "QUEUE-ERROR")? "ERROR": command);
            //  The caller waits for this: a request sent next must not be
            //  answered with the previous result
            zsock_signal (pipe, 0);
        }
        free (command);
        zmsg_destroy (&msg);
        if (done)
            break;
    }
    zpoller_destroy (&poller);
    zsock_destroy (&self.router);
    s_answer_destroy (&self.standing);
    for (size_t i = 0; i < S_QUEUE_MAX; i++)
        s_answer_destroy (&self.queue [i]);
    free (self.last);
    free (self.all);
}

ctl_fake_t *
ctl_fake_new (void)
{
    ctl_fake_t *self = calloc (1, sizeof (ctl_fake_t));
    assert (self);
    snprintf (self->endpoint, sizeof (self->endpoint), "inproc://ctl-fake-%p", (void *) self);
    self->actor = zactor_new (s_server, self->endpoint);
    assert (self->actor);
    return self;
}

void
ctl_fake_destroy (ctl_fake_t **self_p)
{
    assert (self_p);
    ctl_fake_t *self = *self_p;
    if (self) {
        zactor_destroy (&self->actor);
        free (self->out);
        free (self->err);
        free (self->request);
        free (self->requests);
        free (self);
        *self_p = NULL;
    }
}

void
ctl_fake_result (ctl_fake_t *self, const msgpack_sbuffer *result)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "RESULT");
    zmsg_addmem (msg, result? result->data: NULL, result? result->size: 0);
    zmsg_send (&msg, self->actor);
    zsock_wait (self->actor);
}

void
ctl_fake_result_text (ctl_fake_t *self, const char *text)
{
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    int rc = op_args_text (text, &result);
    assert (rc == 0);
    ctl_fake_result (self, &result);
    msgpack_sbuffer_destroy (&result);
}

void
ctl_fake_error (ctl_fake_t *self, const char *code, const char *message, const char *details)
{
    zstr_sendx (self->actor, "ERROR", code, message, details? details: "", NULL);
    zsock_wait (self->actor);
}

void
ctl_fake_queue (ctl_fake_t *self, const msgpack_sbuffer *result)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "QUEUE");
    zmsg_addmem (msg, result? result->data: NULL, result? result->size: 0);
    zmsg_send (&msg, self->actor);
    zsock_wait (self->actor);
}

void
ctl_fake_queue_text (ctl_fake_t *self, const char *text)
{
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    int rc = op_args_text (text, &result);
    assert (rc == 0);
    ctl_fake_queue (self, &result);
    msgpack_sbuffer_destroy (&result);
}

void
ctl_fake_queue_error (ctl_fake_t *self, const char *code, const char *message,
                      const char *details)
{
    zstr_sendx (self->actor, "QUEUE-ERROR", code, message, details? details: "", NULL);
    zsock_wait (self->actor);
}

void
ctl_fake_page (ctl_fake_t *self, bool queue, const char *key, const char *next,
               const char **items)
{
    msgpack_sbuffer page;
    msgpack_sbuffer_init (&page);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &page, msgpack_sbuffer_write);
    size_t count = 0;
    while (items [count])
        count++;
    msgpack_pack_map (&pk, 2);
    proto_pack_key (&pk, key);
    msgpack_pack_array (&pk, count);
    for (size_t i = 0; i < count; i++) {
        int rc = op_args_text (items [i], &page);
        assert (rc == 0);
    }
    proto_pack_key (&pk, "next");
    if (next)
        proto_pack_str (&pk, next);
    else
        msgpack_pack_nil (&pk);
    if (queue)
        ctl_fake_queue (self, &page);
    else
        ctl_fake_result (self, &page);
    msgpack_sbuffer_destroy (&page);
}

int
ctl_fake_run (ctl_fake_t *self, const char *cmdline)
{
    free (self->out);
    free (self->err);
    free (self->request);
    free (self->requests);
    int rc = ctl_run_text (self->endpoint, 2000, cmdline, &self->out, &self->err);
    zstr_send (self->actor, "GET");
    int got = zstr_recvx (self->actor, &self->request, &self->requests, NULL);
    assert (got == 2);
    return rc;
}

const char *
ctl_fake_out (ctl_fake_t *self)
{
    return self->out;
}

const char *
ctl_fake_err (ctl_fake_t *self)
{
    return self->err;
}

const char *
ctl_fake_request (ctl_fake_t *self)
{
    return self->request;
}

const char *
ctl_fake_requests (ctl_fake_t *self)
{
    return self->requests;
}

void
ctl_fake_expect (ctl_fake_t *self, const char *cmdline, int code, const char *request,
                 const char *out, const char *err)
{
    int rc = ctl_fake_run (self, cmdline);
    if (rc != code || (request && !streq (request, self->request))
    ||  (out && !streq (out, self->out)) || (err && !streq (err, self->err))) {
        fprintf (stderr, "\n%s\n  expected %d %s\n[%s]\n[%s]\n  got %d %s\n[%s]\n[%s]\n",
                 cmdline, code, request? request: "*", out? out: "*", err? err: "*",
                 rc, self->request, self->out, self->err);
        assert (false);
    }
}

void
ctl_fake_test (bool verbose)
{
    (void) verbose;
    ctl_fake_t *fake = ctl_fake_new ();
    //  Results and errors come back as set; the request is recorded as JSON
    ctl_fake_result_text (fake, "id=o-1 name=张三 branches:=0");
    ctl_fake_expect (fake, "officer add o-1 张三 --json", CTL_OK,
                     "officer.add {\"id\":\"o-1\",\"name\":\"张三\"}",
                     "{\"id\":\"o-1\",\"name\":\"张三\",\"branches\":0}\n", "");
    ctl_fake_error (fake, "EXISTS", "officer o-1 exists", NULL);
    ctl_fake_expect (fake, "officer add o-1 张三", CTL_FAIL, NULL, "",
                     "duotangctl: officer o-1 exists\n");
    //  A usage error sends nothing
    ctl_fake_expect (fake, "officer add o-1", CTL_USAGE, "", "", NULL);
    assert (streq (ctl_fake_requests (fake), ""));
    //  Queued answers go first, in order, then the standing one again; every
    //  request of the run is kept (commands that make several requests, such
    //  as lists that page, are tested in their modules)
    ctl_fake_result_text (fake, "id=o-3 name=c branches:=0");
    ctl_fake_queue_error (fake, "EXISTS", "officer o-2 exists", NULL);
    ctl_fake_expect (fake, "officer add o-2 b", CTL_FAIL,
                     "officer.add {\"id\":\"o-2\",\"name\":\"b\"}", "",
                     "duotangctl: officer o-2 exists\n");
    ctl_fake_queue_text (fake, "id=o-1 name=a branches:=0");
    ctl_fake_expect (fake, "officer add o-1 a --json", CTL_OK, NULL,
                     "{\"id\":\"o-1\",\"name\":\"a\",\"branches\":0}\n", "");
    ctl_fake_expect (fake, "officer add o-3 c --json", CTL_OK, NULL,
                     "{\"id\":\"o-3\",\"name\":\"c\",\"branches\":0}\n", "");
    assert (streq (ctl_fake_requests (fake), "officer.add {\"id\":\"o-3\",\"name\":\"c\"}\n"));
    //  What is still queued when a run ends is dropped
    ctl_fake_queue_text (fake, "id=o-8 name=y branches:=0");
    ctl_fake_queue_text (fake, "id=o-9 name=z branches:=0");
    ctl_fake_expect (fake, "officer add o-8 y --json", CTL_OK, NULL,
                     "{\"id\":\"o-8\",\"name\":\"y\",\"branches\":0}\n", "");
    ctl_fake_expect (fake, "officer add o-3 c --json", CTL_OK, NULL,
                     "{\"id\":\"o-3\",\"name\":\"c\",\"branches\":0}\n", "");
    ctl_fake_destroy (&fake);
    assert (fake == NULL);
}

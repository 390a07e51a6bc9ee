# Makefile -- builds duotang-hub, duotang-node, duotangctl and the test runner.
#
#   make demo    install what is missing, build, run a sample organisation
#   make check   install what is missing, build with sanitizers, run every test
#   make bench   measure throughput and replication lag against raw baselines
#   make bench-scale  the 10-million-member organisation beside a small one
#                (SCALE=100000 for a smaller one)
#   make install install the programs, man pages, systemd units, bash
#                completion and the CLI's translations under $(DESTDIR)$(PREFIX)
#                (PREFIX=/usr/local)
#   make po      extract the CLI's messages (its own and the servers' error
#                templates) into tools/po/duotangctl.pot, merge each LANG.po

PKGS     := libczmq libzmq lmdb msgpack libsodium
CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# proto/ is libduotang, in layers (lower first): base (limits, errors), wire
# (codec, client, server, keys), store (LMDB), org (records, tree, policy,
# rules), ops (catalogue, dispatch, shared reads), content, report.
LAYERS   := base wire store org ops content report
INCLUDES = $(addprefix -Iproto/,$(LAYERS)) -Ihub -Inode -Itools -I$(B) \
           -DCTL_LOCALEDIR='"$(PREFIX)/share/locale"'
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# SKIP leaves sources out (e.g. a file being rewritten): make SKIP=hub/x.c B=build/me
SKIP     ?=
LIB_SRC  := $(filter-out $(SKIP),$(foreach l,$(LAYERS),$(wildcard proto/$(l)/*.c)))
HEADERS  := $(wildcard proto/*/*.h hub/*.h node/*.h tools/*.h)
HUB_SRC  := $(filter-out hub/main.c $(SKIP),$(wildcard hub/*.c))
NODE_SRC := $(filter-out node/main.c $(SKIP),$(wildcard node/*.c))
CTL_SRC  := $(filter-out tools/main.c $(SKIP),$(wildcard tools/*.c))
ALL_SRC  := $(LIB_SRC) $(HUB_SRC) $(NODE_SRC) $(CTL_SRC)

B ?= build
A := $(B)/asan

obj = $(patsubst %.c,$(1)/%.o,$(2))

# The CLI's catalogue (tools/po): one LANG.po per language, compiled into
# <build>/locale/LANG/LC_MESSAGES/duotangctl.mo, where duotangctl looks first
LANGS    := $(patsubst tools/po/%.po,%,$(wildcard tools/po/*.po))
mo = $(foreach l,$(LANGS),$(1)/locale/$(l)/LC_MESSAGES/duotangctl.mo)

.PHONY: all deps demo check bench bench-scale fuzz clean asan install po
all: $(B)/duotang-hub $(B)/duotang-node $(B)/duotangctl $(B)/selftest $(call mo,$(B))

deps:
	@./tools/install-deps.sh

# Normal build
$(B)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(WARN) $(CFLAGS) $(INCLUDES) $(PKG_CFLAGS) -c $< -o $@

$(B)/duotang-hub: $(call obj,$(B),$(LIB_SRC) $(HUB_SRC) hub/main.c)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)
$(B)/duotang-node: $(call obj,$(B),$(LIB_SRC) $(NODE_SRC) node/main.c)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)
$(B)/duotangctl: $(call obj,$(B),$(LIB_SRC) $(CTL_SRC) tools/main.c)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)
# The self-test table: every `x_test (bool verbose)` defined in a built source,
# lower layers first.
$(B)/selftests.inc: $(ALL_SRC)
	@mkdir -p $(B)
	@sed -n 's/^\([a-z_]*\)_test (bool verbose)$$/SELFTEST(\1)/p' $(ALL_SRC) > $@.tmp && mv $@.tmp $@
$(B)/tests/selftest.o $(A)/tests/selftest.o: $(B)/selftests.inc
$(B)/selftest: $(call obj,$(B),$(ALL_SRC) tests/selftest.c)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)
$(B)/bench: $(call obj,$(B),$(LIB_SRC) tests/bench.c)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

# Sanitizer build (what the tests run)
$(A)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  CC    $< (asan)"
	@$(CC) $(WARN) -O1 -g $(SAN) $(INCLUDES) $(PKG_CFLAGS) -c $< -o $@

$(A)/duotang-hub: $(call obj,$(A),$(LIB_SRC) $(HUB_SRC) hub/main.c)
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS)
$(A)/duotang-node: $(call obj,$(A),$(LIB_SRC) $(NODE_SRC) node/main.c)
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS)
$(A)/duotangctl: $(call obj,$(A),$(LIB_SRC) $(CTL_SRC) tools/main.c)
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS)
$(A)/selftest: $(call obj,$(A),$(ALL_SRC) tests/selftest.c)
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS)

asan: $(A)/duotang-hub $(A)/duotang-node $(A)/duotangctl $(A)/selftest $(call mo,$(A))

# A translation that breaks a format (a conversion missing or of another
# type) or the file's syntax fails the build
define msgfmt_rule
$(1)/locale/%/LC_MESSAGES/duotangctl.mo: tools/po/%.po
	@mkdir -p $$(dir $$@)
	@echo "  MSGFMT $$< ($(1))"
	@msgfmt --check --statistics -o $$@ $$<
endef
$(eval $(call msgfmt_rule,$(B)))
$(eval $(call msgfmt_rule,$(A)))

# The messages people read: the CLI's (_, N_, NC_, ctl_usage, ctl_fail) and
# the error templates servers send (dt_err_set, dt_err_detail, DT_N_:
# PROTOCOL.md 5.2.1), which duotangctl renders from its catalogue. Self-tests
# (from "//  Self-test" or a module's x_test on) are blanked first: their
# fixtures are no one's messages, and every line keeps its number.
PO_SRC = $(sort $(wildcard tools/*.c) $(LIB_SRC) $(HUB_SRC) $(NODE_SRC))
po:
	@rm -rf $(B)/po-src
	@for f in $(PO_SRC); do \
	    mkdir -p $(B)/po-src/$$(dirname $$f); \
	    awk '/^\/\/  Self-test/ || /^[a-z_0-9]+_test \(bool verbose\)$$/ { t = 1 } \
	         { print t? "": $$0 }' $$f > $(B)/po-src/$$f; \
	done
	cd $(B)/po-src && xgettext -o $(CURDIR)/tools/po/duotangctl.pot --from-code=UTF-8 \
	    --add-comments=TRANSLATORS: --package-name=duotang \
	    --package-version=$(shell sed -n 's/.*DT_VERSION *"\(.*\)"/\1/p' proto/base/dt.h) \
	    --msgid-bugs-address="duotang developers" --sort-by-file \
	    --keyword=_ --keyword=N_ --keyword=DT_N_ --keyword=NC_:1c,2 \
	    --keyword=dt_err_set:3 --keyword=dt_err_detail:3 --flag=dt_err_set:3:c-format \
	    --flag=dt_err_detail:3:c-format --keyword=ctl_usage:2 --flag=ctl_usage:2:c-format \
	    --keyword=ctl_fail:2 --flag=ctl_fail:2:c-format $(PO_SRC)
	for l in $(LANGS); do \
	    msgmerge --quiet --update --backup=none tools/po/$$l.po tools/po/duotangctl.pot && \
	    msgattrib --no-obsolete -o tools/po/$$l.po tools/po/$$l.po; \
	done
	@for l in $(LANGS); do printf "%s: " $$l; msgfmt --statistics -o /dev/null tools/po/$$l.po; done

# Fuzz harness (libFuzzer, clang): make fuzz FUZZ_SECONDS=600 for a long run
FUZZ_SECONDS ?= 20
$(B)/fuzz_proto: tests/fuzz/fuzz_proto.c $(LIB_SRC) $(HUB_SRC) $(HEADERS)
	@echo "  FUZZ  $@"
	@clang $(WARN) -g -O1 -fsanitize=fuzzer,address,undefined $(INCLUDES) $(PKG_CFLAGS) \
	    -o $@ tests/fuzz/fuzz_proto.c $(LIB_SRC) $(HUB_SRC) $(PKG_LIBS)
fuzz: deps $(B)/fuzz_proto
	@mkdir -p $(B)/fuzz-corpus
	$(B)/fuzz_proto -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    $(B)/fuzz-corpus tests/fuzz/corpus

demo: deps
	@$(MAKE) --no-print-directory all
	@./tests/demo.sh

check: deps
	@$(MAKE) --no-print-directory asan $(B)/fuzz_proto $(B)/bench
	@./tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory $(B)/duotang-hub $(B)/duotang-node $(B)/duotangctl $(B)/bench
	@B=$(B) ./tests/bench.sh

bench-scale: deps
	@$(MAKE) --no-print-directory $(B)/duotang-hub $(B)/duotangctl
	@B=$(B) ./tests/bench_scale.sh

# Installation: PREFIX (/usr/local; /usr for a package), DESTDIR (a staging
# root); the programs come from $(B) (INSTALL_FROM=build/asan installs those)
PREFIX       ?= /usr/local
INSTALL_FROM ?= $(B)
BINDIR       := $(PREFIX)/bin
SBINDIR      := $(PREFIX)/sbin
MANDIR       := $(PREFIX)/share/man
UNITDIR      ?= $(PREFIX)/lib/systemd/system
COMPLETIONDIR := $(PREFIX)/share/bash-completion/completions
LOCALEDIR    := $(PREFIX)/share/locale
install: $(INSTALL_FROM)/duotang-hub $(INSTALL_FROM)/duotang-node $(INSTALL_FROM)/duotangctl \
         $(call mo,$(INSTALL_FROM))
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(COMPLETIONDIR)
	install -m 0755 $(INSTALL_FROM)/duotangctl $(DESTDIR)$(BINDIR)/duotangctl
	install -m 0755 $(INSTALL_FROM)/duotang-hub $(INSTALL_FROM)/duotang-node $(DESTDIR)$(SBINDIR)/
	install -m 0644 tools/man/duotangctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 tools/man/duotang-hub.8 tools/man/duotang-node.8 $(DESTDIR)$(MANDIR)/man8/
	for unit in tools/systemd/*.service; do \
	    sed 's|@SBINDIR@|$(SBINDIR)|g' $$unit > $(DESTDIR)$(UNITDIR)/$$(basename $$unit); \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$unit); \
	done
	install -m 0644 tools/completion/duotangctl $(DESTDIR)$(COMPLETIONDIR)/duotangctl
	for l in $(LANGS); do \
	    install -d $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES; \
	    install -m 0644 $(INSTALL_FROM)/locale/$$l/LC_MESSAGES/duotangctl.mo \
	        $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/duotangctl.mo; \
	done

clean:
	rm -rf build

# Makefile -- builds duotang-hub, duotang-node, duotangctl and the test runner.
#
#   make demo    install what is missing, build, run a sample organisation
#   make check   install what is missing, build with sanitizers, run every test
#   make bench   measure throughput and replication lag against raw baselines

PKGS     := libczmq libzmq lmdb msgpack libsodium
CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
INCLUDES := -Iproto -Ihub -Inode -Itools -Ibuild
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC  := $(wildcard proto/*.c)
HUB_SRC  := $(filter-out hub/main.c,$(wildcard hub/*.c))
NODE_SRC := $(filter-out node/main.c,$(wildcard node/*.c))
CTL_SRC  := $(filter-out tools/main.c,$(wildcard tools/*.c))
ALL_SRC  := $(LIB_SRC) $(HUB_SRC) $(NODE_SRC) $(CTL_SRC)

B := build
A := build/asan

obj = $(patsubst %.c,$(1)/%.o,$(2))

.PHONY: all deps demo check bench fuzz clean asan
all: $(B)/duotang-hub $(B)/duotang-node $(B)/duotangctl $(B)/selftest

deps:
	@./tools/install-deps.sh

# Normal build
$(B)/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(WARN) $(CFLAGS) $(INCLUDES) $(PKG_CFLAGS) -c $< -o $@

$(B)/duotang-hub: $(call obj,$(B),$(LIB_SRC) $(HUB_SRC) hub/main.c)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)
$(B)/duotang-node: $(call obj,$(B),$(LIB_SRC) $(NODE_SRC) node/main.c)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)
$(B)/duotangctl: $(call obj,$(B),$(LIB_SRC) $(CTL_SRC) tools/main.c)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)
# The self-test table: every `void x_test (bool verbose);` in a header, lower layers first.
HEADERS := $(wildcard proto/*.h) $(wildcard hub/*.h) $(wildcard node/*.h) $(wildcard tools/*.h)
build/selftests.inc: $(HEADERS)
	@mkdir -p build
	@sed -n 's/^void \([a-z_]*\)_test (bool verbose);/SELFTEST(\1)/p' $(HEADERS) > $@.tmp && mv $@.tmp $@
$(B)/tests/selftest.o $(A)/tests/selftest.o: build/selftests.inc
$(B)/selftest: $(call obj,$(B),$(ALL_SRC) tests/selftest.c)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)
$(B)/bench: $(call obj,$(B),$(LIB_SRC) tests/bench.c)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

# Sanitizer build (what the tests run)
$(A)/%.o: %.c $(wildcard */*.h)
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

asan: $(A)/duotang-hub $(A)/duotang-node $(A)/duotangctl $(A)/selftest

# Fuzz harness (libFuzzer, clang): make fuzz FUZZ_SECONDS=600 for a long run
FUZZ_SECONDS ?= 20
$(B)/fuzz_proto: tests/fuzz/fuzz_proto.c $(LIB_SRC) $(wildcard proto/*.h)
	clang $(WARN) -g -O1 -fsanitize=fuzzer,address,undefined $(INCLUDES) $(PKG_CFLAGS) \
	    -o $@ tests/fuzz/fuzz_proto.c $(LIB_SRC) $(PKG_LIBS)
fuzz: deps $(B)/fuzz_proto
	@mkdir -p $(B)/fuzz-corpus
	$(B)/fuzz_proto -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    $(B)/fuzz-corpus tests/fuzz/corpus

demo: deps
	@$(MAKE) --no-print-directory all
	@./tests/demo.sh

check: deps
	@$(MAKE) --no-print-directory asan $(B)/fuzz_proto
	@./tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory all $(B)/bench
	@./tests/bench.sh

clean:
	rm -rf build

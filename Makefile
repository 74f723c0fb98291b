# kinesis-sidecar — build, test, lint, demo, image, bench.
# Modules are discovered by glob: pkg/<mod>/*.c is library code, pkg/<mod>/*_test.c
# is one cmocka test binary each, pkg/<mod>/*_testutil.c is linked into tests only,
# pkg/<mod>/*_fuzz.c is a libFuzzer target. Adding a module needs no Makefile edit.

VERSION    ?= $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CC         ?= gcc
PKGS       := libcurl libuv yaml-0.1 libcjson libwebsockets libxml-2.0 openssl zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -DKS_VERSION='"$(VERSION)"' -Ipkg $(PKG_CFLAGS) $(WARN)
CFLAGS     ?= -O2 -g
SAN_FLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

# BUILD: output folder; MODS: modules to build (helpers working in parallel use e.g.
#   make BUILD=build/h-config MODS="core config" san-bin
# so a half-edited file in another module cannot break their build).
BUILD      ?= build
MODS       ?= $(notdir $(wildcard pkg/*))
MOD_SRCS   := $(foreach m,$(MODS),$(wildcard pkg/$(m)/*.c))
LIB_SRCS   := $(filter-out %_test.c %_testutil.c %_fuzz.c,$(MOD_SRCS))
TEST_SRCS  := $(filter %_test.c,$(MOD_SRCS))
TUTIL_SRCS := $(filter %_testutil.c,$(MOD_SRCS))
CMD_SRCS   := $(wildcard cmd/kinesis-sidecar/*.c)
ITEST_SRCS := $(wildcard e2e/itest/*.c)

REL_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/rel/%.o)
SAN_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/san/%.o)
TUTIL_OBJS := $(TUTIL_SRCS:%.c=$(BUILD)/san/%.o)
TEST_BINS  := $(patsubst pkg/%_test.c,$(BUILD)/tests/%_test,$(TEST_SRCS))
ITEST_BINS := $(patsubst e2e/itest/%.c,$(BUILD)/itest/%,$(ITEST_SRCS))

.SECONDARY:
.PHONY: all help deps test unit e2e lint format bench demo image valgrind fuzz clean san-bin
.PHONY: vg-bin fuzz-bin
all: bin/kinesis-sidecar

help: ## list targets
	@grep -E '^[a-z0-9-]+:.*## ' Makefile | sed 's/:.*## /\t/' | sort

deps: ## install Debian and npm packages (idempotent)
	@scripts/install-deps.sh

bin/kinesis-sidecar: $(REL_OBJS) $(CMD_SRCS:%.c=$(BUILD)/rel/%.o) ## release binary
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/rel/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/san/libks.a: $(SAN_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcsT $@ $^

$(BUILD)/tests/%_test: $(BUILD)/san/pkg/%_test.o $(BUILD)/san/libks.a $(TUTIL_OBJS)
	@mkdir -p $(@D)
	$(CC) $(SAN_FLAGS) -o $@ $< $(TUTIL_OBJS) $(BUILD)/san/libks.a $(PKG_LIBS) -lcmocka -lm

$(BUILD)/itest/%: $(BUILD)/san/e2e/itest/%.o $(BUILD)/san/libks.a
	@mkdir -p $(@D)
	$(CC) $(SAN_FLAGS) -o $@ $< $(BUILD)/san/libks.a $(PKG_LIBS) -lm

# The sidecar binary built with sanitizers, used by e2e tests.
$(BUILD)/san/kinesis-sidecar: $(CMD_SRCS:%.c=$(BUILD)/san/%.o) $(BUILD)/san/libks.a
	$(CC) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS) -lm

san-bin: $(BUILD)/san/kinesis-sidecar $(TEST_BINS) $(ITEST_BINS)

test: ## install deps, build with ASan+UBSan, run unit + integration + e2e + manifest checks
	@scripts/install-deps.sh
	@$(MAKE) --no-print-directory san-bin bin/kinesis-sidecar fuzz-bin
	@scripts/run-tests.sh

unit: $(TEST_BINS) ## unit tests only (respects MODS)
	@KS_BUILD=$(BUILD) KS_ONLY=unit scripts/run-tests.sh

e2e: san-bin bin/kinesis-sidecar ## e2e tests only
	@KS_ONLY=e2e scripts/run-tests.sh

lint: ## clang-format (check), clang-tidy, cppcheck
	@scripts/lint.sh

format: ## apply clang-format
	@clang-format -i $(LIB_SRCS) $(TEST_SRCS) $(TUTIL_SRCS) $(CMD_SRCS) $(wildcard pkg/*/*.h) $(ITEST_SRCS)

valgrind: vg-bin ## unit tests under valgrind (non-sanitized build in $(BUILD)/vg)
	@KS_BUILD=$(BUILD) scripts/valgrind.sh

# Unit tests without sanitizers, for valgrind. (gcc's format-truncation analysis without
# sanitizers flags snprintf into fixed buffers that the san/rel builds accept.)
VG_FLAGS   := -O1 -g -Wno-format-truncation
VG_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/vg/%.o)
VG_TUTIL   := $(TUTIL_SRCS:%.c=$(BUILD)/vg/%.o)
VG_BINS    := $(patsubst pkg/%_test.c,$(BUILD)/vg/tests/%_test,$(TEST_SRCS))
$(BUILD)/vg/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(VG_FLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/vg/libks.a: $(VG_OBJS)
	rm -f $@ && ar rcsT $@ $^
$(BUILD)/vg/tests/%_test: $(BUILD)/vg/pkg/%_test.o $(BUILD)/vg/libks.a $(VG_TUTIL)
	@mkdir -p $(@D)
	$(CC) -g -o $@ $< $(VG_TUTIL) $(BUILD)/vg/libks.a $(PKG_LIBS) -lcmocka -lm
vg-bin: $(VG_BINS)

# libFuzzer targets (pkg/<mod>/<name>_fuzz.c -> $(BUILD)/fuzz/<mod>/<name>_fuzz, corpus
# e2e/fuzz/corpus/<name>/), clang only, library built with -fsanitize=fuzzer-no-link.
# fuzz-bin skips (with a message) when clang cannot link libFuzzer; run-tests.sh decides.
FUZZ_CC    ?= clang
FUZZ_SECONDS ?= 30
FUZZ_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SRCS  := $(filter %_fuzz.c,$(MOD_SRCS))
FUZZ_OBJS  := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS) $(TUTIL_SRCS))
FUZZ_BINS  := $(patsubst pkg/%_fuzz.c,$(BUILD)/fuzz/%_fuzz,$(FUZZ_SRCS))
$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<
$(BUILD)/fuzz/libks.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcsT $@ $^
$(BUILD)/fuzz/%_fuzz: $(BUILD)/fuzz/obj/pkg/%_fuzz.o $(BUILD)/fuzz/libks.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/fuzz/libks.a $(PKG_LIBS) -lm
fuzz-bin:
	@if scripts/fuzz.sh --probe; then $(MAKE) --no-print-directory $(FUZZ_BINS); \
	else echo "fuzz: $(FUZZ_CC) cannot link libFuzzer (apt-get install libclang-rt-dev): fuzz targets not built" >&2; fi
fuzz: $(FUZZ_BINS) ## build the libFuzzer targets, fuzz each for FUZZ_SECONDS (default 30)
	@KS_BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

bench: bin/kinesis-sidecar ## benchmark against a peer consumer (not a test)
	@KS_BENCH=1 scripts/install-deps.sh
	@node e2e/bench/bench.mjs

demo: bin/kinesis-sidecar ## local emulators, a producer, two sidecars and readers, live view
	@scripts/install-deps.sh
	@node e2e/demo/demo.mjs

image: ## build the container image (private dockerd if needed)
	@scripts/image.sh

clean: ## remove build outputs
	rm -rf build bin

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)

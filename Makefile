# ngx_prefs: consent and preference management as an nginx module.
#
#   make            build build/ngx_http_prefs_module.so
#   make run        install what is missing, start a private PostgreSQL,
#                   migrate, load a demo account, serve on 127.0.0.1:$(PORT)
#   make test       the same set-up on a throwaway database, then the suite
#   make test SANITIZE=1   the suite against an ASan/UBSan build
#   make unit       the C unit tests only
#   make layers     checks that no include in src/ points up (make does too)
#   make fuzz       the libFuzzer harnesses, FUZZ_TIME seconds each
#   make deb        build/deb/libnginx-mod-http-prefs_<version>_<arch>.deb
#                   (debian/; the version is debian/changelog's)
#   make clean

PORT     ?= 8080
SANITIZE ?=
CC       ?= cc

ifeq ($(SANITIZE),1)
BUILD    := build/asan
MODE     := sanitize
else
BUILD    := build
MODE     :=
endif

MODULE   := $(BUILD)/ngx_http_prefs_module.so
SRCS     := $(wildcard src/*.c src/*/*.[ch] src/*/*/*.[ch]) config

UNIT_CFLAGS := -std=c99 -g -O1 -Wall -Wextra -Werror -Isrc/lib \
               -fsanitize=address,undefined -fno-omit-frame-pointer
UNIT_TESTS  := $(patsubst t/unit/%.c,build/unit/%,$(wildcard t/unit/test_*.c))
LIB_SRCS    := $(wildcard src/lib/*.c)

FUZZ_TIME   ?= 30
FUZZ_CC     ?= clang
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all -Isrc/lib
FUZZERS     := $(patsubst fuzz/%.c,build/fuzz/%,$(wildcard fuzz/fuzz_*.c))

.PHONY: all deps run test unit fuzz layers clean deb

all: $(MODULE) build/prefs-secret

build/prefs-secret: tools/prefs-secret.c $(LIB_SRCS) $(wildcard src/lib/*.h)
	@mkdir -p build
	$(CC) -std=c99 -O2 -g -Wall -Wextra -Werror -Isrc/lib $(EXTRA_CFLAGS) -o $@ \
	    tools/prefs-secret.c $(LIB_SRCS) $(EXTRA_LDFLAGS) -lcrypto -ljansson

$(MODULE): $(SRCS) scripts/build.sh scripts/check-layers.sh
	@scripts/check-layers.sh
	@scripts/build.sh $(BUILD) $(MODE)

deps:
	@scripts/deps.sh

layers:
	@scripts/check-layers.sh

build/unit/%: t/unit/%.c t/unit/unit.h $(LIB_SRCS) $(wildcard src/lib/*.h)
	@mkdir -p build/unit
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(LIB_SRCS) -lcrypto -ljansson

unit: $(UNIT_TESTS)
	@scripts/unit.sh $(UNIT_TESTS)

# libFuzzer: each harness runs FUZZ_TIME seconds on a fresh copy of its
# seed corpus; a crash or sanitizer report fails the target and leaves
# the input in build/fuzz/<name>-crash-*.
build/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(LIB_SRCS) $(wildcard src/lib/*.h)
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRCS) -lcrypto -ljansson

fuzz: $(FUZZERS)
	@set -e; for f in $(FUZZERS); do                                      \
	    n=$${f#build/fuzz/fuzz_};                                         \
	    rm -rf build/fuzz/corpus-$$n;                                     \
	    mkdir -p build/fuzz/corpus-$$n;                                   \
	    cp fuzz/corpus/$$n/* build/fuzz/corpus-$$n/;                      \
	    echo "fuzz: $$n for $(FUZZ_TIME)s";                               \
	    $$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1             \
	        -artifact_prefix=build/fuzz/$$n- build/fuzz/corpus-$$n;       \
	done

# The Debian package (debian/, built by dpkg-buildpackage in a copy of the
# tree under build/deb/); needs no network.
deb: deps
	@scripts/deb.sh

run: deps
	@$(MAKE) --no-print-directory all
	@PORT=$(PORT) RUN_PARENT=$$PPID scripts/run.sh $(MODULE)

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_TESTS)
	@SANITIZE=$(SANITIZE) scripts/test.sh $(MODULE) $(UNIT_TESTS)

clean:
	rm -rf build t/servroot*

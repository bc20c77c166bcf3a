# fcm — Firecracker microVM manager.
#
#   make            build every program into bin/ (and the test doubles)
#   make test       run the whole Bats suite (ends with "N passed, N failed")
#   make asan       the same suite against AddressSanitizer/UBSan builds
#   make deps       install every Debian package build, tests and runtime need
#   make image      build (or take from cache) the guest image, install it
#   make demo       all set-up, then boot a VM, push a sample app, fetch its URL
#   make bench      benchmarks (ratios against baselines measured in the run)
#   make fuzz       every libFuzzer target in test/fuzz/ for FUZZ_SECONDS each
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX     ?= /usr/local
LIBEXECDIR ?= $(PREFIX)/lib/fcm
BINDIR     ?= $(PREFIX)/bin
DESTDIR    ?=
VERSION    := 0.1.0

CC      ?= cc
OPT     ?= -O2 -g
CFLAGS  ?= $(OPT)
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
CPPFLAGS += -D_GNU_SOURCE -DFCM_LIBEXECDIR='"$(LIBEXECDIR)"' -DFCM_VERSION='"$(VERSION)"' -iquote lib -I/usr/include/libnl3
LDFLAGS += -Wl,--as-needed
# Every program links the same list; --as-needed keeps only what each uses.
LDLIBS  := -ljq -lcurl -lmicrohttpd -lcrypto -lnftnl -lmnl -lnl-route-3 -lnl-3 -lskarnet -lutil -lvterm

ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS)

LIB_SRC  := $(sort $(wildcard lib/*.c))
LIB_OBJ  := $(LIB_SRC:.c=.o)
LIB_HDR  := $(wildcard lib/*.h)
PROG_SRC := $(sort $(wildcard bin/*.c))
PROGS    := $(PROG_SRC:.c=)
DOUBLE_SRC := $(sort $(wildcard test/firecracker/*.c))
DOUBLES  := $(if $(DOUBLE_SRC),test/firecracker/firecracker)

# Rebuild everything when the build flags change (e.g. SANITIZE=1 and back).
FLAGS_STAMP := .build-flags
FLAGS_NOW   := $(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS)
$(shell [ "$$(cat $(FLAGS_STAMP) 2>/dev/null)" = '$(FLAGS_NOW)' ] || echo '$(FLAGS_NOW)' > $(FLAGS_STAMP))

.PHONY: all test asan check-build deps image demo bench install clean fuzz
all: $(PROGS) $(DOUBLES)

lib/%.o: lib/%.c $(LIB_HDR) $(FLAGS_STAMP)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

lib/libfcm.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

bin/%: bin/%.c lib/libfcm.a $(LIB_HDR) $(FLAGS_STAMP)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< lib/libfcm.a $(LDLIBS)

test/firecracker/firecracker: $(DOUBLE_SRC) $(wildcard test/firecracker/*.h) lib/libfcm.a $(LIB_HDR) $(FLAGS_STAMP)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(DOUBLE_SRC) lib/libfcm.a $(LDLIBS)

# The suite: every test/*.bats, TAP counted into one closing line.
# TESTS=test/name.bats runs a subset.
TESTS ?= $(sort $(wildcard test/*.bats))
test: all
	@test/run $(TESTS)

asan:
	$(MAKE) SANITIZE=1 OPT='-O1 -g' all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  FCM_SANITIZED=1 test/run $(TESTS)

deps:
	scripts/deps

image: all
	rootfs/build

demo: deps all image
	examples/demo

bench: all
	bench/run

# libFuzzer targets in test/fuzz/, each for FUZZ_SECONDS (clang).
FUZZ_SECONDS ?= 60
fuzz:
	test/fuzz/run $(FUZZ_SECONDS)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 bin/fcm $(DESTDIR)$(BINDIR)/fcm
	for p in $(filter-out bin/fcm,$(PROGS)); do install -m 0755 $$p $(DESTDIR)$(LIBEXECDIR)/; done
	install -d $(DESTDIR)$(PREFIX)/share/doc/fcm
	install -m 0644 README.md doc/*.md $(DESTDIR)$(PREFIX)/share/doc/fcm/
	install -d $(DESTDIR)$(LIBEXECDIR)/s6 $(DESTDIR)$(LIBEXECDIR)/rootfs $(DESTDIR)$(LIBEXECDIR)/guest
	cp -R s6/. $(DESTDIR)$(LIBEXECDIR)/s6/
	cp -R rootfs/. $(DESTDIR)$(LIBEXECDIR)/rootfs/
	cp -R guest/. $(DESTDIR)$(LIBEXECDIR)/guest/
	install -d $(DESTDIR)$(LIBEXECDIR)/plugins
	install -m 0755 plugins/fcm-* $(DESTDIR)$(LIBEXECDIR)/plugins/

clean:
	rm -f lib/*.o lib/libfcm.a $(PROGS) $(DOUBLES) $(FLAGS_STAMP)

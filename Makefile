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
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS)

# lib/ is one archive per area (doc/architecture.md); a program links the
# areas it uses, dependents first, and each area brings its own libraries.
AREAS     := http auth net vm tty core
LIBS_http := -lmicrohttpd -lcurl -lcrypto
LIBS_auth := -lcurl -lcrypto
LIBS_net  := -lnftnl -lmnl -lnl-route-3 -lnl-3
LIBS_vm   :=
LIBS_tty  := -lvterm -lutil
LIBS_core := -ljq -lskarnet

# What each program links (areas, in link order).
USES_fcm           := vm core
USES_fcm-api       := http auth vm tty core
USES_fcm-auth      := auth vm core
USES_fcm-client    := http auth vm tty core
USES_fcm-console   := vm tty core
USES_fcm-create    := vm core
USES_fcm-daemon    := auth vm core
USES_fcm-deploy    := vm core
USES_fcm-destroy   := vm core
USES_fcm-disk      := vm core
USES_fcm-expose    := vm core
USES_fcm-fc        := vm core
USES_fcm-git-shell := vm core
USES_fcm-keys      := vm core
USES_fcm-login     := http auth vm core
USES_fcm-logout    := auth vm core
USES_fcm-logs      := vm core
USES_fcm-ls        := vm core
USES_fcm-name      := vm core
USES_fcm-net       := net vm core
USES_fcm-proxy     := http vm core
USES_fcm-remote    := vm core
USES_fcm-repo      := vm core
USES_fcm-start     := vm core
USES_fcm-stop      := vm core
USES_fcm-tty       := vm tty core
USES_fcm-unexpose  := vm core
USES_fcm-whoami    := auth vm core
USES_firecracker   := core
LDLIBS_firecracker := -lmicrohttpd -lm
# Libraries a program uses itself, beside those of its areas.
LDLIBS_fcm-fc      := -lcurl

LIB_HDR  := $(wildcard lib/*/*.h)
area_objs = $(patsubst %.c,%.o,$(sort $(wildcard lib/$(1)/*.c)))
archives  = $(foreach a,$(1),lib/$(a)/libfcm-$(a).a)
libs_of   = $(sort $(foreach a,$(1),$(LIBS_$(a))))
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

define area_rule
lib/$(1)/libfcm-$(1).a: $(call area_objs,$(1))
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach a,$(AREAS),$(eval $(call area_rule,$(a))))

.SECONDEXPANSION:
bin/%: bin/%.c $$(call archives,$$(USES_$$*)) $(LIB_HDR) $(FLAGS_STAMP)
	$(if $(USES_$*),,$(error bin/$*: add USES_$* to the Makefile))
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(call archives,$(USES_$*)) $(call libs_of,$(USES_$*)) $(LDLIBS_$*)

test/firecracker/firecracker: $(DOUBLE_SRC) $(wildcard test/firecracker/*.h) $(call archives,$(USES_firecracker)) $(LIB_HDR) $(FLAGS_STAMP)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(DOUBLE_SRC) $(call archives,$(USES_firecracker)) $(call libs_of,$(USES_firecracker)) $(LDLIBS_firecracker)

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
	rm -f lib/*/*.o lib/*/*.a $(PROGS) $(DOUBLES) $(FLAGS_STAMP)

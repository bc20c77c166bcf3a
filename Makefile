# fcm — Firecracker microVM manager.
#
#   make            build every program into bin/ (and the test doubles)
#   make test       run the whole Bats suite (ends with "N passed, N failed")
#   make asan       the same suite against AddressSanitizer/UBSan builds
#   make deps       install every Debian package build, tests and runtime need
#   make image      build (or take from cache) the guest image, install it as the default
#                   (FLAVOR=debian: Debian's kernel instead of ours; DEFAULT=false)
#   make demo       all set-up, then boot a VM, push a sample app, fetch its URL
#   make bench      benchmarks (ratios against baselines measured in the run)
#   make fuzz       every libFuzzer target in test/fuzz/ for FUZZ_SECONDS each
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX     ?= /usr/local
LIBEXECDIR ?= $(PREFIX)/lib/fcm
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DATADIR    ?= $(PREFIX)/share/fcm
DESTDIR    ?=
VERSION    := 0.1.0

CC      ?= cc
OPT     ?= -O2 -g
CFLAGS  ?= $(OPT)
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
CPPFLAGS += -D_GNU_SOURCE -DFCM_LIBEXECDIR='"$(LIBEXECDIR)"' -DFCM_VERSION='"$(VERSION)"' -DFCM_MANDIR='"$(MANDIR)"' -iquote lib -I/usr/include/libnl3
LDFLAGS += -Wl,--as-needed
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS)

# lib/ is one archive per area (doc/architecture.md); a program links the
# areas it uses, dependents first, and each area brings its own libraries.
# The user commands of cmd/ are one more archive, "cmds", linked after
# lib/cmd, which finds them in its table (cmd/list.c).
AREAS     := cmd http auth net vm tty core
LIBS_cmds :=
LIBS_cmd  :=
LIBS_http := -lmicrohttpd
LIBS_auth :=
LIBS_net  := -lnftnl -lmnl -lnl-route-3 -lnl-3
LIBS_vm   := -lsodium -lext2fs -lcom_err
LIBS_tty  := -lvterm -lutil
LIBS_core := -ljq -lskarnet

# What each program links (areas, in link order).
USES_fcm           := cmd cmds http auth net vm tty core
USES_fcm-api       := cmd cmds http auth vm tty core
USES_fcm-auth      := auth vm core
USES_fcm-console   := http auth vm tty core
USES_fcm-deploy    := vm core
USES_fcm-disk      := vm core
USES_fcm-fc        := vm core
USES_fcm-git-shell := auth vm core
USES_fcm-image     := vm core
USES_fcm-login     := http auth vm core
USES_fcm-logout    := http auth vm core
USES_fcm-name      := vm core
USES_fcm-net       := net vm core
USES_fcm-proxy     := http vm core
USES_fcm-repo      := vm core
USES_fcm-tty       := vm tty core
USES_fcm-whoami    := http auth vm core
USES_firecracker   := core
LDLIBS_firecracker := -lmicrohttpd -lm
# LDLIBS_<program>: libraries a program uses itself, beside those of its
# areas.  No program links libcurl or libcrypto: lib/core/curl.c and
# crypto.c load them at their first call (lib/core/lazylib.h), so that
# commands which never call them do not pay for loading them.

LIB_HDR  := $(wildcard lib/*/*.h)
area_objs = $(patsubst %.c,%.o,$(sort $(wildcard lib/$(1)/*.c)))
archives  = $(foreach a,$(1),$(if $(filter cmds,$(a)),cmd/libfcm-cmds.a,lib/$(a)/libfcm-$(a).a))
libs_of   = $(sort $(foreach a,$(1),$(LIBS_$(a))))
PROG_SRC := $(sort $(wildcard bin/*.c))
PROGS    := $(PROG_SRC:.c=)
# The user commands: cmd/*.c define `const struct fcm_cmd fcm_cmd_<name>`;
# each is also bin/fcm-<name>, a link to bin/fcm.
CMD_SRC  := $(filter-out cmd/list.c,$(sort $(wildcard cmd/*.c)))
CMDS     := $(sort $(shell sed -n 's/^const struct fcm_cmd fcm_cmd_\([a-z0-9_]*\) = {/\1/p' $(CMD_SRC)))
CMD_LINKS := $(CMDS:%=bin/fcm-%)
DOUBLE_SRC := $(sort $(wildcard test/firecracker/*.c))
DOUBLES  := $(if $(DOUBLE_SRC),test/firecracker/firecracker) test/jailer/jailer test/vmm-standin/vmm-standin

# Rebuild everything when the build flags change (e.g. SANITIZE=1 and back).
FLAGS_STAMP := .build-flags
FLAGS_NOW   := $(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS)
$(shell [ "$$(cat $(FLAGS_STAMP) 2>/dev/null)" = '$(FLAGS_NOW)' ] || echo '$(FLAGS_NOW)' > $(FLAGS_STAMP))

.PHONY: all test asan check-build deps image demo bench install clean fuzz web deb
all: $(PROGS) $(CMD_LINKS) $(DOUBLES) web man/stamp

# The web dashboard (doc/web.md): web/src bundled with xterm.js by esbuild
# into web/dist, which fcm-api serves.  Its npm packages are pinned by
# web/package-lock.json; npm ci runs only when the lockfile changed, and
# takes them from npm's cache (~/.npm) when they are there, so a rebuild
# needs no network.
WEB_SRC := $(wildcard web/src/*) web/build.mjs
web: web/dist/index.html
web/node_modules/.package-lock.json: web/package-lock.json
	npm ci --prefix web --no-audit --no-fund --prefer-offline
web/dist/index.html: $(WEB_SRC) web/node_modules/.package-lock.json
	cd web && rm -rf dist.tmp && node build.mjs dist.tmp && rm -rf dist && mv dist.tmp dist

# The man pages: roff made by pandoc from doc/fcm*.md (scripts/mkman).
man/stamp: $(wildcard doc/fcm*.md) scripts/mkman Makefile
	scripts/mkman man $(VERSION) && touch $@

lib/%.o: lib/%.c $(LIB_HDR) $(FLAGS_STAMP)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

cmd/%.o: cmd/%.c $(LIB_HDR) $(FLAGS_STAMP)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

cmd/list.c: $(CMD_SRC) Makefile
	{ echo '/* list.c — every command of cmd/ (made by make; do not edit). */'; \
	  echo '#include "cmd/cmd.h"'; \
	  for c in $(CMDS); do echo "extern const struct fcm_cmd fcm_cmd_$$c;"; done; \
	  echo 'const struct fcm_cmd *const fcm_cmds[] = {'; \
	  for c in $(CMDS); do echo "	&fcm_cmd_$$c,"; done; \
	  echo '	NULL,'; echo '};'; } > $@.tmp && mv $@.tmp $@

cmd/libfcm-cmds.a: $(CMD_SRC:.c=.o) cmd/list.o
	rm -f $@ && ar rcs $@ $^

$(CMD_LINKS): bin/fcm
	ln -sf fcm $@

define area_rule
lib/$(1)/libfcm-$(1).a: $(call area_objs,$(1))
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach a,$(AREAS),$(eval $(call area_rule,$(a))))

.SECONDEXPANSION:
bin/%: bin/%.c $$(call archives,$$(USES_$$*)) $(LIB_HDR) $(FLAGS_STAMP)
	$(if $(USES_$*),,$(error bin/$*: add USES_$* to the Makefile))
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< -Wl,--start-group $(call archives,$(USES_$*)) -Wl,--end-group $(call libs_of,$(USES_$*)) $(LDLIBS_$*)

test/firecracker/firecracker: $(DOUBLE_SRC) $(wildcard test/firecracker/*.h) $(call archives,$(USES_firecracker)) $(LIB_HDR) $(FLAGS_STAMP)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(DOUBLE_SRC) $(call archives,$(USES_firecracker)) $(call libs_of,$(USES_firecracker)) $(LDLIBS_firecracker)

# The jailer double (doc/testing-firecracker.md): one file, libc only.
test/jailer/jailer: test/jailer/jailer.c $(FLAGS_STAMP)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Wno-format-truncation $(LDFLAGS) -o $@ $<

# Not a double: a VMM stand-in that boots no guest, for bench/scale.
test/vmm-standin/vmm-standin: test/vmm-standin/vmm-standin.c $(FLAGS_STAMP)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $<

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
	FLAVOR='$(FLAVOR)' DEFAULT='$(DEFAULT)' rootfs/build

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
	for c in $(CMDS); do ln -sf $(BINDIR)/fcm $(DESTDIR)$(LIBEXECDIR)/fcm-$$c; done
	install -d $(DESTDIR)$(PREFIX)/share/doc/fcm
	install -m 0644 README.md doc/*.md $(DESTDIR)$(PREFIX)/share/doc/fcm/
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(DATADIR)/sshd_config.d
	sed 's|@BINDIR@|$(BINDIR)|g' dist/fcm.service.in > $(DESTDIR)$(SYSTEMDUNITDIR)/fcm.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/fcm.service
	install -m 0644 dist/sshd-fcm.conf $(DESTDIR)$(DATADIR)/sshd_config.d/fcm.conf
	install -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0644 completion/fcm.bash $(DESTDIR)$(BASHCOMPDIR)/fcm
	install -m 0644 completion/_fcm $(DESTDIR)$(ZSHCOMPDIR)/_fcm
	for d in man/man*; do install -d $(DESTDIR)$(MANDIR)/$${d#man/}; cp -P $$d/* $(DESTDIR)$(MANDIR)/$${d#man/}/; done
	install -d $(DESTDIR)$(LIBEXECDIR)/s6 $(DESTDIR)$(LIBEXECDIR)/rootfs $(DESTDIR)$(LIBEXECDIR)/guest
	cp -R s6/. $(DESTDIR)$(LIBEXECDIR)/s6/
	cp -R rootfs/. $(DESTDIR)$(LIBEXECDIR)/rootfs/
	cp -R guest/. $(DESTDIR)$(LIBEXECDIR)/guest/
	install -d $(DESTDIR)$(LIBEXECDIR)/web
	cp -R web/dist/. $(DESTDIR)$(LIBEXECDIR)/web/
	install -d $(DESTDIR)$(LIBEXECDIR)/plugins
	install -m 0755 plugins/fcm-* $(DESTDIR)$(LIBEXECDIR)/plugins/

# The Debian package (debian/), built from a copy of the committed tree and
# what the work tree changes, in build/deb/; lintian's verdict after it.
deb:
	rm -rf build/deb && mkdir -p build/deb/fcm-$(VERSION)
	git ls-files -z --cached --others --exclude-standard | \
	  xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
	  cpio -0pdm --quiet build/deb/fcm-$(VERSION)
	cd build/deb/fcm-$(VERSION) && dpkg-buildpackage -us -uc -b
	lintian --info build/deb/fcm_$(VERSION)_*.changes || true

clean:
	rm -rf man
	rm -f lib/*/*.o lib/*/*.a cmd/*.o cmd/*.a cmd/list.c $(CMD_LINKS) $(PROGS) $(DOUBLES) $(FLAGS_STAMP)
	rm -rf web/dist web/dist.tmp

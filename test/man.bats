#!/usr/bin/env bats
# Man pages (scripts/mkman: doc/fcm*.md → roff by pandoc), `fcm help CMD`,
# and what `make install` puts in place.
load test_helper

@test "every command page of doc/ has a built man page; each renders without a warning, whatis reads it" {
	local md page n=0
	for md in "$FCM_SRC"/doc/fcm*.md; do
		head -n 1 "$md" | grep -q '^# fcm.*([0-9])' || continue
		page=$(basename "$md" .md)
		[ -s "$FCM_SRC/man/man1/$page.1" ] || fail "no man page for $md"
	done
	for page in "$FCM_SRC"/man/man*/*; do
		n=$((n + 1))
		run --separate-stderr env MANWIDTH=80 man --warnings -E UTF-8 -l "$page"
		assert_success
		[ -z "$stderr" ] || fail "$page: $stderr"
		assert_line --regexp '^NAME$'
		assert_line --regexp '^SYNOPSIS$'
		# whatis (apropos, lintian) can read its NAME
		lexgrog "$page" >/dev/null || fail "$page: lexgrog cannot parse its NAME"
	done
	[ "$n" -ge 25 ]
}

@test "the other names of a page lead to it: fcm-unexpose(1) is fcm-expose(1)" {
	run env MANWIDTH=80 man -l "$FCM_SRC/man/man1/fcm-unexpose.1"
	assert_success
	assert_line --partial 'fcm-expose, fcm-unexpose'
}

@test "fcm help CMD shows the same text as man fcm-CMD; fcm CMD --help its usage" {
	run env MANWIDTH=80 fcm help create
	assert_success
	assert_line --index 0 --regexp '^fcm-create\(1\) +fcm manual +fcm-create\(1\)$'
	assert_line --partial 'fcm-create — make a VM'
	assert_output "$(MANWIDTH=80 man -l "$FCM_SRC/man/man1/fcm-create.1")"
	run fcm create --help
	assert_output --partial 'usage: fcm create'
	refute_output --partial 'fcm manual'
}

@test "fcm help of a plugin without a man page shows its usage" {
	mkdir -p "$BATS_TEST_TMPDIR/p"
	printf '#!/bin/sh\necho "usage: fcm-hello [$1]"\n' > "$BATS_TEST_TMPDIR/p/fcm-hello"
	chmod +x "$BATS_TEST_TMPDIR/p/fcm-hello"
	PATH="$BATS_TEST_TMPDIR/p:$PATH" run fcm help hello
	assert_success
	assert_output 'usage: fcm-hello [--help]'
}

@test "make install puts the pages where man finds them: man fcm-create == fcm help create" {
	local d=$BATS_TEST_TMPDIR/dest
	run make -s -C "$FCM_SRC" install DESTDIR="$d" PREFIX=/usr/local
	assert_success
	[ -f "$d/usr/local/share/man/man1/fcm-create.1" ]
	[ -L "$d/usr/local/share/man/man1/fcm-git-shell.1" ]
	run env MANWIDTH=80 man -M "$d/usr/local/share/man" fcm-create
	assert_success
	assert_output "$(MANWIDTH=80 fcm help create)"
}

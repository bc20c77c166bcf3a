#!/usr/bin/env bats
# fcm-name: fresh names and checking given ones.
load test_helper

# make_vms N [names-file]: N VM records under FCM_ROOT, named from the file
# (one name a line) or vm-<i>.
make_vms() {
	python3 - "$FCM_ROOT" "$1" "${2:-}" <<'PY'
import json, os, sys, random, string
root, n, names = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lst = open(names).read().split() if names else ["vm-%d" % i for i in range(n)]
for i, name in enumerate(lst[:n]):
    vid = "v%07d" % i
    os.makedirs(f"{root}/vms/{vid}", exist_ok=True)
    with open(f"{root}/vms/{vid}/config.json", "w") as f:
        json.dump({"id": vid, "name": name, "created_at": i}, f)
PY
}

@test "a fresh name is an adjective-noun DNS label, as JSON" {
	run fcm-name
	assert_success
	assert_output --regexp '^\{"ok":true,"name":"[a-z]+-[a-z]+"\}$'
}

@test "1,000 names in a row are distinct, valid and unused when 1,000 VMs exist" {
	fcm-name -n 1000 | jq -r .name > "$BATS_TEST_TMPDIR/existing"
	make_vms 1000 "$BATS_TEST_TMPDIR/existing"
	run fcm-name -n 1000
	assert_success
	echo "$output" | jq -r .name > "$BATS_TEST_TMPDIR/new"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/new")" -eq 1000 ]
	[ "$(sort -u "$BATS_TEST_TMPDIR/new" | wc -l)" -eq 1000 ]
	run grep -vE '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' "$BATS_TEST_TMPDIR/new"
	assert_failure	# no invalid name
	run comm -12 <(sort "$BATS_TEST_TMPDIR/new") <(sort "$BATS_TEST_TMPDIR/existing")
	assert_output ""	# none in use
}

@test "there are at least 10,000 names" {
	run fcm-name -n 10000
	assert_success
	[ "$(echo "$output" | jq -r .name | sort -u | wc -l)" -eq 10000 ]
}

@test "when every name is taken: a clear error, not a hang" {
	n=$(fcm-name -n 100000 2>/dev/null | jq -r .name | tee "$BATS_TEST_TMPDIR/all" | wc -l)
	[ "$n" -ge 10000 ]
	make_vms "$n" "$BATS_TEST_TMPDIR/all"
	run timeout 20 fcm-name
	assert_failure 111
	assert_output --partial "names is taken: give one with --name"
}

@test "--check accepts a valid unused name" {
	run fcm-name --check my-app-2
	assert_success
	assert_output '{"ok":true,"name":"my-app-2"}'
}

@test "--check refuses a name in use" {
	make_vms 1
	run fcm-name --check vm-0
	assert_failure 100
	assert_output --partial "name 'vm-0' is already used by a VM"
}

@test "--check refuses bad names with one clear line each" {
	long=$(printf 'a%.0s' $(seq 64))
	for bad in "" "$long" "../x" "UPPER" "a_b" "-ab" "ab-" "a b" "$(printf 'a\xffb')" "é"; do
		run --separate-stderr fcm-name --check "$bad"
		assert_failure 100
		[ "${#stderr_lines[@]}" -eq 1 ]
		[[ "$stderr" == "fcm-name: fatal: name "* ]]
		[ "$(echo "$output" | jq -r .ok)" = false ]
	done
	run fcm-name --check "$long"
	assert_output --partial "64 characters long: at most 63"
	run fcm-name --check UPPER
	assert_output --partial "uppercase letter"
	run fcm-name --check ../x
	assert_output --partial "has '.' at position 1"
}

@test "63 characters is the longest name" {
	ok=$(printf 'a%.0s' $(seq 63))
	run fcm-name --check "$ok"
	assert_success
}

@test "bad options and counts are refused and change nothing" {
	before=$(tree_snapshot "$FCM_ROOT")
	for args in "--bogus" "-n 0" "-n -1" "-n abc" "-n 100001" "extra"; do
		run fcm-name $args
		assert_failure 100
	done
	[ "$(tree_snapshot "$FCM_ROOT")" = "$before" ]
}

@test "the name index (made by fcm doctor, as by the daemon's start) answers for the records" {
	make_vms 3
	run fcm doctor
	assert_success
	[ -e "$FCM_ROOT/vms/.names/.complete" ]
	[ "$(readlink "$FCM_ROOT/vms/.names/vm-1")" = v0000001 ]
	run fcm-name --check vm-1
	assert_failure 100
	assert_output --partial "already used"
	run fcm-ls --json vm-2
	assert_success
	[ "$(jq -r .id <<< "$output")" = v0000002 ]
	# A link left by a VM that is gone holds no name.
	ln -s v0000009 "$FCM_ROOT/vms/.names/gone-vm"
	run fcm-name --check gone-vm
	assert_success
}

#!/usr/bin/env bats
# fcm-image: the image store ($FCM_ROOT/images), with a private FCM_ROOT and
# tiny fake images (test/image.bats boots the real one).
load test_helper

ID=abcd1234

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	fake_image "$IMG" v1
}

@test "add registers an image and makes it the default" {
	run fcm-image add dir="$IMG"
	assert_success
	echo "$output" | jq -e '.ok and .version == "v1" and .default and .kernel == "6.1.0-test"'
	[ "$(readlink "$FCM_ROOT/images/default")" = v1 ]
	for f in vmlinux rootfs.ext4 manifest.json; do
		[ -f "$FCM_ROOT/images/v1/$f" ]
	done
	[ ! -e "$FCM_ROOT/images/v1/initramfs.cpio.gz" ]
	# what the image needs from the VMM is kept
	jq -e '.version == "v1" and .kernel == "6.1.0-test" and .created_at == 1700000000
		and .boot == "root-device" and .boot_args == "init=/usr/local/lib/fcm/boot"
		and .devices == ["cmdline","acpi"]' "$FCM_ROOT/images/v1/manifest.json"
	# installed read-only, and the same content
	cmp "$IMG/rootfs.ext4" "$FCM_ROOT/images/v1/rootfs.ext4"
	[ ! -w "$FCM_ROOT/images/v1/rootfs.ext4" ] || [ "$(stat -c %a "$FCM_ROOT/images/v1/rootfs.ext4")" = 444 ]
}

@test "add is idempotent; a second version is not the default unless asked" {
	add_image
	add_image
	fake_image "$BATS_TEST_TMPDIR/img2" v2
	run fcm-image add dir="$BATS_TEST_TMPDIR/img2"
	assert_success
	echo "$output" | jq -e '.default == false'
	[ "$(readlink "$FCM_ROOT/images/default")" = v1 ]
	run fcm-image add dir="$BATS_TEST_TMPDIR/img2" default=true
	assert_success
	[ "$(readlink "$FCM_ROOT/images/default")" = v2 ]
	run fcm-image default version=v1
	assert_success
	[ "$(readlink "$FCM_ROOT/images/default")" = v1 ]
}

@test "add takes version= when the dir has no manifest (then it boots through its initramfs)" {
	rm "$IMG/manifest.json"
	echo initramfs > "$IMG/initramfs.cpio.gz"
	run fcm-image add dir="$IMG"
	assert_failure 100
	assert_output --partial "give version=V"
	run fcm-image add dir="$IMG" version=7e900b0b463d
	assert_success
	jq -e '.version == "7e900b0b463d" and .kernel == "unknown" and .boot == "initramfs" and (has("devices") | not)' \
		"$FCM_ROOT/images/7e900b0b463d/manifest.json"
}

@test "an image that boots through an initramfs must have one; its manifest says so" {
	jq -c '.boot = "initramfs" | .devices = ["acpi"] | .flavor = "debian" | del(.boot_args)' "$IMG/manifest.json" > "$IMG/m"
	mv "$IMG/m" "$IMG/manifest.json"
	run fcm-image add dir="$IMG"
	assert_failure 100
	assert_line --partial "fcm-image: fatal: unable to add image from $IMG: initramfs.cpio.gz: No such file or directory"
	echo initramfs > "$IMG/initramfs.cpio.gz"
	run fcm-image add dir="$IMG"
	assert_success
	[ -f "$FCM_ROOT/images/v1/initramfs.cpio.gz" ]
	jq -e '.boot == "initramfs" and .devices == ["acpi"] and .flavor == "debian" and (has("boot_args") | not)' \
		"$FCM_ROOT/images/v1/manifest.json"
	run fcm-image ls
	echo "$output" | jq -e '.images[0] | .flavor == "debian" and .boot == "initramfs" and .devices == ["acpi"]'
}

@test "a manifest with unknown boot fields is refused with what is wrong" {
	for edit in '.boot = "pxe"' '.devices = ["pci"]' '.devices = "acpi"' '.boot_args = "init=/x; rm -rf /"'; do
		fake_image "$IMG"
		jq -c "$edit" "$IMG/manifest.json" > "$IMG/m" && mv "$IMG/m" "$IMG/manifest.json"
		run fcm-image add dir="$IMG"
		assert_failure 100
		assert_output --regexp "unable to add image from $IMG: manifest.json: \"(boot|devices|boot_args)\""
	done
	[ -z "$(ls -A "$FCM_ROOT/images" 2>/dev/null | grep -v '^\.lock$')" ]
}

@test "add refuses an incomplete dir, a bzImage and a bad version, leaving nothing" {
	rm "$IMG/rootfs.ext4"
	run fcm-image add dir="$IMG"
	assert_failure 100
	assert_line --partial "fcm-image: fatal: unable to add image from $IMG: rootfs.ext4: No such file or directory"
	fake_image "$IMG"
	printf 'MZ\x00\x00bzImage' > "$IMG/vmlinux"
	run fcm-image add dir="$IMG"
	assert_failure 100
	assert_output --partial "vmlinux is not an ELF file"
	fake_image "$IMG"
	for v in default ../x .hidden 'a b'; do
		run fcm-image add dir="$IMG" version="$v"
		assert_failure 100
		assert_output --partial "invalid image version"
	done
	run fcm-image add dir=relative/path
	assert_failure 100
	[ -z "$(ls -A "$FCM_ROOT/images" 2>/dev/null | grep -v '^\.lock$')" ]
}

@test "ls lists versions, the default, kernel, sizes and users" {
	add_image
	fake_image "$BATS_TEST_TMPDIR/img2" v2
	fcm-image add dir="$BATS_TEST_TMPDIR/img2" >/dev/null
	run fcm-image ls
	assert_success
	echo "$output" | jq -e '.default == "v1" and (.images | length) == 2'
	echo "$output" | jq -e '.images[0] | .version == "v1" and .default and .complete and .apparent > 8000000 and (.vms | length) == 0'
	echo "$output" | jq -e '.images[1] | .version == "v2" and (.default | not)'
}

@test "rm refuses an image a VM uses, removes an unused one" {
	add_image
	fake_image "$BATS_TEST_TMPDIR/img2" v2
	fcm-image add dir="$BATS_TEST_TMPDIR/img2" >/dev/null
	mkdir -p "$FCM_ROOT/vms/$ID"
	echo '{"id":"'$ID'","name":"cosmic-nova","image":"v2"}' > "$FCM_ROOT/vms/$ID/config.json"
	run fcm-image rm version=v2
	assert_failure 100
	assert_output --partial "unable to remove image v2: 1 VM uses it (cosmic-nova)"
	[ -d "$FCM_ROOT/images/v2" ]
	rm "$FCM_ROOT/vms/$ID/config.json"
	run fcm-image rm version=v2
	assert_success
	[ ! -e "$FCM_ROOT/images/v2" ]
	run fcm-image rm version=v2
	assert_failure 100
	assert_output --partial "unknown image 'v2'"
	# removing the default removes the link too
	run fcm-image rm version=v1
	assert_success
	echo "$output" | jq -e '.was_default'
	[ ! -e "$FCM_ROOT/images/default" ] && [ ! -L "$FCM_ROOT/images/default" ]
}

@test "add across file systems copies, keeping the holes; a copy that fails leaves nothing" {
	# FCM_ROOT on a tmpfs of its own, in a private mount namespace: no hard link.
	run unshare -m bash -c 'mount -t tmpfs -o size=64m fcmt-img "$FCM_ROOT" || exit 99
		fcm-image add dir="'"$IMG"'" >/dev/null || exit 1
		cmp "'"$IMG"'/vmlinux" "$FCM_ROOT/images/v1/vmlinux" || exit 2
		stat -c "%n %s %b %a %h" "$FCM_ROOT"/images/v1/rootfs.ext4'
	assert_success
	assert_output "$FCM_ROOT/images/v1/rootfs.ext4 8388608 0 444 1"
	head -c 2M /dev/urandom > "$IMG/rootfs.ext4"
	run unshare -m bash -c 'mount -t tmpfs -o size=1m fcmt-img "$FCM_ROOT" || exit 99
		fcm-image add dir="'"$IMG"'"; rc=$?; echo "left: $(ls -A "$FCM_ROOT/images")"; exit $rc'
	assert_failure 111
	assert_output --partial "fcm-image: fatal: unable to install $IMG/rootfs.ext4 into $FCM_ROOT/images/v1: "
	assert_output --partial "cp: error writing"
	assert_output --partial "No space left on device"
	assert_line --partial '"kind":"internal"'
	assert_line "left: .lock"
}

# --- the protocol, and bad input: one clear line, a JSON error with its kind,
# nothing changed -------------------------------------------------------------

@test "requests as JSON lines on stdin, and through the fcm front end" {
	fake_image "$BATS_TEST_TMPDIR/img2" v2
	run fcm-image <<-EOF
	{"op":"add","dir":"$IMG"}
	{"op":"add","dir":"$BATS_TEST_TMPDIR/img2"}
	{"op":"default","version":"v2"}
	{"op":"ls"}
	EOF
	assert_success
	[ "${#lines[@]}" -eq 4 ]
	echo "${lines[2]}" | jq -e '.ok and .default == "v2"'
	echo "${lines[3]}" | jq -e '.default == "v2" and ([.images[].version] == ["v1","v2"])'
	run fcm image ls
	assert_success
	echo "$output" | jq -e '.default == "v2"'
}

@test "bad requests: one clear line, a JSON error with its kind, nothing changed" {
	add_image
	before=$(tree_snapshot "$FCM_ROOT")
	# check KIND EXIT MESSAGE -- WORDS...: the error, on stderr and as JSON
	check() {
		local kind=$1 rc=$2 msg=$3; shift 4
		run --separate-stderr fcm-image "$@"
		[ "$status" -eq "$rc" ] || { echo "exit $status, not $rc: $*"; return 1; }
		[ "${#stderr_lines[@]}" -eq 1 ] || { echo "stderr: $stderr"; return 1; }
		[[ $stderr == "fcm-image: fatal: "*"$msg"* ]] || { echo "stderr: $stderr"; return 1; }
		jq -e --arg k "$kind" --arg m "$msg" '.ok == false and .kind == $k and (.error | contains($m))' <<<"$output"
	}
	check usage 100 "unknown op 'frobnicate'" -- frobnicate
	check usage 100 "unknown op 'image-add'" -- image-add dir="$IMG"
	check usage 100 "dir" -- add
	check usage 100 "'default' must be true or false" -- add dir="$IMG" default=maybe
	check usage 100 "bogus" -- ls bogus=1
	check usage 100 "invalid image version '../v1'" -- rm version=../v1
	check not_found 100 "unknown image 'v9': see 'fcm-image ls'" -- rm version=v9
	check not_found 100 "unknown image 'v9': see 'fcm-image ls'" -- default version=v9
	check usage 100 "give a version, not 'default'" -- default version=default
	run fcm-image <<< 'not json'
	assert_failure 100
	[ "$(tree_snapshot "$FCM_ROOT")" = "$before" ]
	[ "$(readlink "$FCM_ROOT/images/default")" = v1 ]
}

@test "rm of an image in use is a conflict, and leaves it whole" {
	add_image
	mkdir -p "$FCM_ROOT/vms/$ID"
	echo '{"id":"'$ID'","name":"cosmic-nova","image":"v1"}' > "$FCM_ROOT/vms/$ID/config.json"
	before=$(tree_snapshot "$FCM_ROOT")
	run --separate-stderr fcm-image rm version=v1
	assert_failure 100
	jq -e '.kind == "conflict" and .error == "unable to remove image v1: 1 VM uses it (cosmic-nova): destroy them first"' <<<"$output"
	[ "$(tree_snapshot "$FCM_ROOT")" = "$before" ]
}

@test "fcm-disk no longer answers image operations" {
	run fcm-disk image-ls
	assert_failure 100
	assert_output --partial "unknown op 'image-ls'"
	[ ! -e "$FCM_ROOT/images" ]
}


#!/usr/bin/env bats
# fcm-disk: the VMs' writable disks, with a private FCM_ROOT and a tiny fake
# image (no guest is booted here; test/image.bats boots the real one).
load test_helper

ID=abcd1234
KEY1="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc1dGVzdGtleW9uZXRlc3RrZXlvbmV0ZXN0a2V5 alice@laptop"
KEY2="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJvYnNrZXlib2Jza2V5Ym9ic2tleWJvYnNrZXkx bob@desk"

setup() {
	IMG=$BATS_TEST_TMPDIR/img
	fake_image "$IMG" v1
}

# de FILE PATH: a file's contents inside an ext4 image, via debugfs.
de_cat() { debugfs -R "cat $2" "$1" 2>/dev/null; }
de_stat() { debugfs -R "stat $2" "$1" 2>/dev/null; }

# --- disks -------------------------------------------------------------------

@test "create makes a sparse 2G ext4 disk seeded with hostname, host key and authorized_keys" {
	add_image
	run fcm-disk create id=$ID name=cosmic-nova keys:="[\"$KEY1\",\"$KEY2\"]"
	assert_success
	disk=$FCM_ROOT/vms/$ID/disk.img
	reply=$output
	echo "$output" | jq -e --arg d "$disk" --arg r "$FCM_ROOT" '
		.ok and .id == "'$ID'" and .disk == $d and .size == 2147483648 and .image == "v1"
		and .kernel == $r + "/images/v1/vmlinux"
		and (has("initrd") | not)
		and .rootfs == $r + "/images/v1/rootfs.ext4"
		and .ssh_key == $r + "/ssh/id_ed25519"
		and (.host_key | startswith("ssh-ed25519 "))'
	[ "$(stat -c %s "$disk")" -eq 2147483648 ]
	# sparse: a few MB allocated at most
	[ "$(stat -c %b "$disk")" -lt $((16 * 2048)) ]
	# the host's fcm key: made on first need, private part 0600
	[ "$(stat -c %a "$FCM_ROOT/ssh/id_ed25519")" = 600 ]
	[ "$(stat -c %a "$FCM_ROOT/ssh")" = 700 ]
	# the seed
	run de_cat "$disk" /upper/etc/hostname
	assert_output cosmic-nova
	run de_cat "$disk" /upper/root/.ssh/authorized_keys
	assert_line --index 0 "$(cat "$FCM_ROOT/ssh/id_ed25519.pub")"
	assert_line --index 1 "$KEY1"
	assert_line --index 2 "$KEY2"
	de_stat "$disk" /upper/root/.ssh/authorized_keys | grep -q 'Mode:  0600'
	de_stat "$disk" /upper/root | grep -q 'Mode:  0700'
	de_stat "$disk" /upper/etc/ssh/ssh_host_ed25519_key | grep -q 'Mode:  0600'
	[ "$(de_cat "$disk" /upper/etc/ssh/ssh_host_ed25519_key.pub)" = "$(echo "$reply" | jq -r .host_key)" ]
	de_cat "$disk" /upper/etc/ssh/ssh_host_ed25519_key | grep -q 'BEGIN OPENSSH PRIVATE KEY'
	[ "$(de_cat "$disk" /upper/var/lib/fcm/random-seed | wc -c)" -eq 512 ]
	debugfs -R 'ls /' "$disk" 2>/dev/null | grep -qw work
	# nothing else left in the VM's directory
	run ls -A "$FCM_ROOT/vms/$ID"
	assert_output disk.img
}

@test "each VM gets its own ssh host key, reported by create" {
	add_image
	a=$(fcm-disk create id=aaaa1111 name=one | jq -r .host_key)
	b=$(fcm-disk create id=bbbb2222 name=two | jq -r .host_key)
	[ "$a" != "$b" ]
	[ "$(de_cat "$FCM_ROOT/vms/aaaa1111/disk.img" /upper/etc/ssh/ssh_host_ed25519_key.pub)" = "$a" ]
	# the same host key for the fcm side of both
	[ "$(de_cat "$FCM_ROOT/vms/aaaa1111/disk.img" /upper/root/.ssh/authorized_keys)" = \
	  "$(de_cat "$FCM_ROOT/vms/bbbb2222/disk.img" /upper/root/.ssh/authorized_keys)" ]
}

@test "the keys fcm makes (without ssh-keygen) are OpenSSH's: ssh-keygen and sshd read them" {
	add_image
	reply=$(fcm-disk create id=$ID name=cosmic-nova)
	disk=$FCM_ROOT/vms/$ID/disk.img
	hk=$BATS_TEST_TMPDIR/hostkey
	de_cat "$disk" /upper/etc/ssh/ssh_host_ed25519_key > "$hk"
	chmod 600 "$hk"
	# the private key holds the public half create reported, and its comment
	echo "$reply" | jq -e '.host_key | endswith(" root@cosmic-nova")'
	[ "$(ssh-keygen -y -f "$hk")" = "$(echo "$reply" | jq -r .host_key)" ]
	[ "$(echo "$reply" | jq -r .host_key)" = "$(de_cat "$disk" /upper/etc/ssh/ssh_host_ed25519_key.pub)" ]
	run ssh-keygen -l -f "$hk"
	assert_output --regexp '^256 SHA256:.* root@cosmic-nova \(ED25519\)$'
	/usr/sbin/sshd -t -f /dev/null -o PidFile=none -h "$hk"
	# the host's own key into its guests, likewise
	k=$FCM_ROOT/ssh/id_ed25519
	[ "$(ssh-keygen -y -f "$k")" = "$(cat "$k.pub")" ]
	[ "$(stat -c %a "$k.pub")" = 644 ]
	# the same layout as ssh-keygen's own: 70-column base64, 242 bytes
	ssh-keygen -q -t ed25519 -N '' -C fcm@host -f "$BATS_TEST_TMPDIR/ref"
	[ "$(awk '{ print length }' "$k")" = "$(awk '{ print length }' "$BATS_TEST_TMPDIR/ref")" ]
}

@test "what a killed template build left in cache/ goes: the next build sweeps it, and so does fcm doctor" {
	add_image
	# a build killed part-way: its seed directory and its file system
	mkdir -p "$FCM_ROOT/cache/.seed.AbC123/upper/etc"
	truncate -s 2G "$FCM_ROOT/cache/.ext4.XyZ789"
	fcm-disk create id=aaaa1111 name=one >/dev/null
	run ls -A "$FCM_ROOT/cache"
	assert_output --regexp '^\.lock
ext4-2147483648-[0-9.]+\.img$'
	# with the template made, no build runs: fcm doctor sweeps (as the
	# daemon's start does)
	mkdir "$FCM_ROOT/cache/.seed.Left01"
	truncate -s 1M "$FCM_ROOT/cache/.ext4.Left02"
	run script -qec "fcm doctor" /dev/null
	assert_success
	assert_output --partial "Removed 2 leftovers of killed disk template builds from $FCM_ROOT/cache."
	run ls -A "$FCM_ROOT/cache"
	assert_output --regexp '^\.lock
ext4-2147483648-[0-9.]+\.img$'
	run fcm doctor --json
	[ "$(echo "$output" | jq .swept)" = 0 ]
}

@test "create takes sizes 512M, 10G, 1T and a byte count" {
	add_image
	fcm-disk create id=aaaa0001 size=512M | jq -e '.size == 536870912'
	fcm-disk create id=aaaa0002 size=10G | jq -e '.size == 10737418240'
	fcm-disk create id=aaaa0003 size:=1073741824 | jq -e '.size == 1073741824'
	fcm-disk create id=aaaa0004 size=3GiB | jq -e '.size == 3221225472'
	fcm-disk create id=aaaa0005 size=1T | jq -e '.size == 1099511627776'
	[ "$(stat -c %s "$FCM_ROOT/vms/aaaa0002/disk.img")" -eq 10737418240 ]
	# each a whole file system (the 1T one's journal has an extent tree block)
	for i in 1 2 3 4 5; do e2fsck -fn "$FCM_ROOT/vms/aaaa000$i/disk.img"; done
}

@test "each disk is a copy of one empty file system per size, with its own UUID" {
	add_image
	fcm-disk create id=aaaa1111 name=one >/dev/null
	fcm-disk create id=bbbb2222 name=two >/dev/null
	run ls "$FCM_ROOT/cache"
	assert_output --regexp '^ext4-2147483648-[0-9.]+\.img$'
	uuid() { dumpe2fs -h "$1" 2>/dev/null | sed -n "s/^$2: *//p"; }
	a=$FCM_ROOT/vms/aaaa1111/disk.img b=$FCM_ROOT/vms/bbbb2222/disk.img t=$(echo "$FCM_ROOT"/cache/*.img)
	[ -n "$(uuid "$a" 'Filesystem UUID')" ]
	[ "$(printf '%s\n' "$(uuid "$a" 'Filesystem UUID')" "$(uuid "$b" 'Filesystem UUID')" "$(uuid "$t" 'Filesystem UUID')" | sort -u | wc -l)" -eq 3 ]
	[ "$(uuid "$a" 'Directory Hash Seed')" != "$(uuid "$b" 'Directory Hash Seed')" ]
	# every checksum right under the new UUID: their seed is the template's,
	# kept in the superblock (metadata_csum_seed); the label and features
	# mkfs.ext4 gave, and that one
	e2fsck -fn "$a"
	e2fsck -fn "$b"
	[ "$(uuid "$a" 'Filesystem volume name')" = fcm-disk ]
	[[ " $(uuid "$a" 'Filesystem features') " == *" metadata_csum_seed "* ]]
	[ "$(uuid "$a" 'Filesystem features' | sed 's/ metadata_csum_seed//')" = "$(uuid "$t" 'Filesystem features')" ]
	[ -n "$(uuid "$a" 'Checksum seed')" ]
	[ "$(uuid "$a" 'Checksum seed')" = "$(uuid "$b" 'Checksum seed')" ]
	# the directories and the files, modes and owners, as mkfs.ext4 -d made them
	run debugfs -R 'ls -l /upper/etc' "$a"
	assert_output --regexp '40755 \(2\) +0 +0 +4096 .* ssh'
	assert_output --regexp '100644 \(1\) +0 +0 +4 .* hostname'
	run debugfs -R 'ls -l /upper/etc/ssh' "$a"
	assert_line --regexp '100600 \(1\) +0 +0 +[0-9]+ .* ssh_host_ed25519_key *$'
	assert_line --regexp '100644 \(1\) +0 +0 +[0-9]+ .* ssh_host_ed25519_key.pub *$'
	de_stat "$a" /work | grep -q 'Mode:  0700'
	de_stat "$a" /upper/var/lib/fcm | grep -q 'Mode:  0755'
}

@test "create reads requests as JSON lines and names the default hostname after the id" {
	add_image
	run fcm-disk <<-EOF
	{"op":"create","id":"cccc3333","size":"1G"}
	{"op":"usage","id":"cccc3333"}
	EOF
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	echo "${lines[1]}" | jq -e '.apparent == 1073741824 and .allocated > 0 and .allocated < 16777216'
	[ "$(de_cat "$FCM_ROOT/vms/cccc3333/disk.img" /upper/etc/hostname)" = cccc3333 ]
}

@test "create does not copy the base: time and space do not grow with it" {
	add_image
	truncate -s 4G "$FCM_ROOT/images/v1/rootfs.ext4" 2>/dev/null || true
	run fcm-disk create id=$ID
	assert_success
	[ "$(stat -c %b "$FCM_ROOT/vms/$ID/disk.img")" -lt $((16 * 2048)) ]
}

# --- bad input: a clear error, and nothing left behind ------------------------

@test "create with no base image installed: clear error, nothing left" {
	before=$(tree_snapshot "$FCM_ROOT")
	run fcm-disk create id=$ID
	assert_failure 100
	assert_output --partial "fcm-disk: fatal: unable to find a base image"
	assert_output --partial "make image"
	[ "$(tree_snapshot "$FCM_ROOT")" = "$before" ]
}

@test "create with a base image missing its files: clear error, nothing left" {
	add_image
	chmod u+w "$FCM_ROOT/images/v1"
	rm -f "$FCM_ROOT/images/v1/rootfs.ext4"
	before=$(tree_snapshot "$FCM_ROOT")
	run fcm-disk create id=$ID
	assert_failure 111
	assert_output --partial "unable to use the base image: image 'v1' is incomplete"
	assert_output --partial "rootfs.ext4: No such file or directory"
	[ "$(tree_snapshot "$FCM_ROOT")" = "$before" ]
}

@test "create with an unknown image: clear error, nothing left" {
	add_image
	before=$(tree_snapshot "$FCM_ROOT")
	run fcm-disk create id=$ID image=nosuch
	assert_failure 100
	assert_output --partial "fcm-disk: fatal: unable to create the disk of VM $ID: unknown image 'nosuch'"
	assert_line --partial '"kind":"not_found"'
	run fcm-disk create id=$ID image=../../etc
	assert_failure 100
	assert_output --partial "invalid image version"
	[ "$(tree_snapshot "$FCM_ROOT")" = "$before" ]
}

@test "create refuses bad sizes: -1, 2X, 0, too small, too big, junk" {
	add_image
	before=$(tree_snapshot "$FCM_ROOT")
	for s in -1 2X 0 0G 1.5G '' ' 2G' 2GG 99999999999999999999G; do
		run fcm-disk create id=$ID size="$s"
		assert_failure 100
		assert_output --partial "fcm-disk: fatal: unable to create the disk of VM $ID: invalid disk size '$s'"
	done
	for s in 100M 511M 2T; do
		run fcm-disk create id=$ID size="$s"
		assert_failure 100
		assert_output --partial "disk size '$s' is out of range: from 512M to 1T"
	done
	run fcm-disk create id=$ID size:=-1
	assert_failure 100
	run fcm-disk create id=$ID size:=true
	assert_failure 100
	[ "$(tree_snapshot "$FCM_ROOT")" = "$before" ]
}

@test "create refuses bad ids, names and keys" {
	add_image
	before=$(tree_snapshot "$FCM_ROOT")
	for id in ABCD1234 abc ../../../x abcd12345 'abcd 123'; do
		run fcm-disk create id="$id"
		assert_failure 100
		assert_output --partial "invalid VM id"
	done
	for name in -bad Bad_Name "$(printf 'a%.0s' {1..64})"; do
		run fcm-disk create id=$ID name="$name"
		assert_failure 100
		assert_output --partial "invalid name"
	done
	run fcm-disk create id=$ID keys:='["not a key"]'
	assert_failure 100
	assert_output --partial "key 1 is not an ssh public key"
	run fcm-disk create id=$ID keys:="[\"$KEY1\\ncommand=\\\"sh\\\" $KEY2\"]"
	assert_failure 100
	assert_output --partial "is not an ssh public key"
	run fcm-disk create id=$ID keys:='[1]'
	assert_failure 100
	run fcm-disk create id=$ID bogus=1
	assert_failure 100
	assert_output --partial "bogus"
	run fcm-disk create
	assert_failure 100
	[ "$(tree_snapshot "$FCM_ROOT")" = "$before" ]
}

@test "create refuses a disk that exists, and leaves it untouched" {
	add_image
	fcm-disk create id=$ID name=first >/dev/null
	sum=$(sha256sum < "$FCM_ROOT/vms/$ID/disk.img")
	before=$(tree_snapshot "$FCM_ROOT")
	run fcm-disk create id=$ID name=second
	assert_failure 100
	assert_output --partial "fcm-disk: fatal: unable to create the disk of VM $ID: $FCM_ROOT/vms/$ID/disk.img already exists"
	assert_line --partial '"kind":"conflict"'
	[ "$(sha256sum < "$FCM_ROOT/vms/$ID/disk.img")" = "$sum" ]
	[ "$(tree_snapshot "$FCM_ROOT")" = "$before" ]
}

# cached_fs: the image added and the empty file system of the default size
# made once, as the first create makes it, in the cache; prints its path.
cached_fs() {
	add_image
	fcm-keys guest >/dev/null
	fcm-disk create id=eeee5555 >/dev/null
	fcm-disk delete id=eeee5555 >/dev/null
	[ -f "$FCM_ROOT"/cache/ext4-2147483648-*.img ]
	echo "$FCM_ROOT"/cache/ext4-2147483648-*.img
}

@test "create with no space left: clear error, nothing left behind" {
	cached_fs >/dev/null
	mkdir -p "$FCM_ROOT/vms"
	before=$(tree_snapshot "$FCM_ROOT")
	# A 300 KiB tmpfs over vms/, in a private mount namespace.
	run unshare -m bash -c 'mount -t tmpfs -o size=300k fcmt-full "$FCM_ROOT/vms" &&
		fcm-disk create id='$ID'; rc=$?; echo "left: $(ls -A "$FCM_ROOT/vms")"; exit $rc'
	assert_failure 111
	assert_output --partial "fcm-disk: fatal: unable to make the file system of VM $ID's disk: unable to copy"
	assert_output --partial "No space left on device"
	assert_line "left: "
	[ "$(tree_snapshot "$FCM_ROOT")" = "$before" ]
}

@test "a damaged cached file system is refused, named, with what to do; nothing left behind" {
	tpl=$(cached_fs)
	# the superblock's checksum (offset 0x3fc of the superblock at 1024) spoilt
	printf '\377\377\377\377' | dd of="$tpl" bs=1 seek=$((1024 + 0x3fc)) conv=notrunc status=none
	before=$(tree_snapshot "$FCM_ROOT")
	run fcm-disk create id=$ID
	assert_failure 111
	assert_output --partial "fcm-disk: fatal: unable to make the file system of VM $ID's disk: unable to open the file system"
	assert_output --partial "(a copy of $tpl: remove that file and fcm makes it anew)"
	[ "$(tree_snapshot "$FCM_ROOT")" = "$before" ]
	# as it says: removed, it is made anew and the create works
	rm "$tpl"
	run fcm-disk create id=$ID
	assert_success
	e2fsck -fn "$FCM_ROOT/vms/$ID/disk.img"
}

@test "on failure a VM directory that existed is kept, one made by create is removed" {
	add_image
	mkdir -p "$FCM_ROOT/vms"
	run unshare -m bash -c 'mount -t tmpfs -o size=300k fcmt-full "$FCM_ROOT/vms" || exit 99
		mkdir "$FCM_ROOT/vms/'$ID'" && echo "{}" > "$FCM_ROOT/vms/'$ID'/config.json"
		fcm-disk create id='$ID' 2>/dev/null
		fcm-disk create id=bbbb2222 2>/dev/null
		echo "left: $(cd "$FCM_ROOT/vms" && find . | sort | tr "\n" " ")"'
	assert_success
	assert_line "left: . ./$ID ./$ID/config.json "
}

# --- usage, delete ----------------------------------------------------------

@test "usage reports allocated and apparent bytes; unknown disk is an error" {
	add_image
	fcm-disk create id=$ID size=1G >/dev/null
	run fcm-disk usage id=$ID
	assert_success
	echo "$output" | jq -e '.apparent == 1073741824 and .allocated > 0 and .allocated < .apparent'
	run fcm-disk usage id=eeee5555
	assert_failure 100
	assert_output --partial "VM eeee5555 has no disk"
	assert_line --partial '"kind":"not_found"'
}

@test "delete removes the disk and is idempotent" {
	add_image
	fcm-disk create id=$ID >/dev/null
	run fcm-disk delete id=$ID
	assert_success
	echo "$output" | jq -e '.deleted'
	[ ! -e "$FCM_ROOT/vms/$ID/disk.img" ]
	run fcm-disk delete id=$ID
	assert_success
	echo "$output" | jq -e '.deleted == false'
	run fcm-disk delete id=nosuchvm
	assert_success
	run fcm-disk delete id=../../x
	assert_failure 100
}

@test "delete cleans up leftovers of an interrupted create" {
	mkdir -p "$FCM_ROOT/vms/$ID/.seed.abc123/upper"
	touch "$FCM_ROOT/vms/$ID/.disk.img.tmp.XyZ123" "$FCM_ROOT/vms/$ID/config.json"
	run fcm-disk delete id=$ID
	assert_success
	run ls -A "$FCM_ROOT/vms/$ID"
	assert_output config.json
}

@test "unknown op and bad JSON get a clear error" {
	run fcm-disk frobnicate
	assert_failure 100
	assert_output --partial "unknown op 'frobnicate'"
	run fcm-disk <<< 'not json'
	assert_failure 100
}

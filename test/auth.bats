#!/usr/bin/env bats
# Logins and per-user VMs (doc/auth.md): fcm login (loopback and device
# flows), whoami, logout, the user store, ownership through the API, and ID
# tokens the host must refuse.  Against a real OpenID provider run here
# (test/oidc/provider.js, the oidc-provider package) and a tiny issuer that
# mints good and bad ID tokens with its own keys (test/oidc/minter.js).
# The API, its daemon and the real commands behind it: test/api_helper.bash.
# NETWORK SAFETY: the issuers, the API, fcm login's callback server, the
# "browser" and every request run inside the namespace api_helper makes.
load test_helper
load api_helper

# fcm, login's callback and the browser it starts: in the namespace.
fcm() { ip netns exec "$NS" "$FCM_SRC/bin/fcm" "$@"; }

OIDC=$FCM_SRC/test/oidc

# Start a node server, wait for the issuer it writes: start_issuer SCRIPT NAME
start_issuer() {
	local f=$BATS_FILE_TMPDIR/$2 i
	ip netns exec "$NS" node "$OIDC/$1" "$f" > "$BATS_FILE_TMPDIR/$2.log" 2>&1 3>&- &
	echo $! > "$f.pid"
	for i in $(seq 600); do [ -s "$f" ] && return 0; sleep 0.1; done	# node starts slowly on a busy host
	cat "$BATS_FILE_TMPDIR/$2.log" >&2
	return 1
}

setup_file() {
	[ -d "$OIDC/node_modules/oidc-provider" ] || skip "no test OIDC provider: run 'npm ci --prefix test/oidc'"
	api_setup_file auth
	start_issuer provider.js provider
	start_issuer minter.js minter
}

teardown_file() {
	local p
	for p in provider minter; do
		if [ -f "$BATS_FILE_TMPDIR/$p.pid" ]; then
			kill "$(cat "$BATS_FILE_TMPDIR/$p.pid")" 2>/dev/null || true
		fi
	done
	api_teardown_file
}

setup() {
	PROVIDER=$(cat "$BATS_FILE_TMPDIR/provider")
	MINTER=$(cat "$BATS_FILE_TMPDIR/minter")
	export FCM_OIDC_ISSUER=$PROVIDER FCM_OIDC_CLIENT_ID=fcm-test FCM_OIDC_CLIENT_SECRET=fcm-test-secret
	unset FCM_OIDC_ADMINS FCM_TOKEN
	api_setup --no-vms
	# Who may log in: the provider's people are all @example.test.
	nsfcm users allow @example.test > /dev/null
	export FCM_HOST=127.0.0.1:$API_PORT
	# The "browser": drive the provider's pages as $LOGIN_AS.
	cat > "$BATS_TEST_TMPDIR/browser" <<SH
#!/bin/sh
exec node "$OIDC/drive.js" "\$1" "\$LOGIN_AS" >> "$BATS_TEST_TMPDIR/browser.log" 2>&1
SH
	chmod +x "$BATS_TEST_TMPDIR/browser"
	export FCM_BROWSER=$BATS_TEST_TMPDIR/browser FCM_LOGIN_TIMEOUT=30
}

teardown() {
	api_teardown
}

# as USER cmd...: run with USER's own home (and so ~/.fcm-token)
as() {
	local u=$1
	shift
	mkdir -p "$BATS_TEST_TMPDIR/home-$u"
	HOME=$BATS_TEST_TMPDIR/home-$u LOGIN_AS=$u "$@"
}

# Log USER in with the loopback flow.
login() {
	as "$1" timeout 60 ip netns exec "$NS" "$FCM_SRC/bin/fcm" login > /dev/null 2>&1
}

# Log USER in with the device flow: fcm login --device, then a "browser"
# opens the URL it prints.
login_device() {
	local u=$1 err=$BATS_TEST_TMPDIR/device-$1.err i url
	as "$u" timeout 60 ip netns exec "$NS" "$FCM_SRC/bin/fcm" login --device > "$BATS_TEST_TMPDIR/device-$u.out" 2> "$err" 3>&- &
	local pid=$!
	for i in $(seq 100); do
		url=$(sed -n 's/^(or open \(.*\))$/\1/p' "$err")
		[ -n "$url" ] && break
		sleep 0.1
	done
	[ -n "$url" ] || { cat "$err" >&2; return 1; }
	ip netns exec "$NS" node "$OIDC/drive.js" "$url" "$u" >> "$BATS_TEST_TMPDIR/browser.log" 2>&1
	wait "$pid"
}

mint() { curl -s "$MINTER/mint?$1"; }

# POST /v1/auth/login with an ID token: status, then the body.
login_id_token() {
	curl -s -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}\n' -X POST \
		-d "{\"id_token\":\"$1\"${2:+,\"nonce\":\"$2\"}}" "$API/v1/auth/login"
	cat "$BATS_TEST_TMPDIR/body"
}

token_of() { cat "$BATS_TEST_TMPDIR/home-$1/.fcm-token"; }

# Restart the API with the environment as it is now.
api_restart() {
	api_stop
	api_start
	export FCM_HOST=127.0.0.1:$API_PORT
}

# --- the flows ------------------------------------------------------------------

@test "GET /v1/auth/config gives the issuer, client id and flows, never the secret" {
	run curl -s -w '\n%{http_code}' "$API/v1/auth/config"
	assert_line -n 1 200
	assert_equal "$(jq -r .issuer <<< "${lines[0]}")" "$PROVIDER"
	assert_equal "$(jq -r .client_id <<< "${lines[0]}")" fcm-test
	assert_equal "$(jq -c .flows <<< "${lines[0]}")" '["loopback","device"]'
	refute_output --partial fcm-test-secret
}

@test "loopback flow: fcm login stores a 0600 token; whoami prints the user; the first user is not an admin" {
	run as alice timeout 60 ip netns exec "$NS" "$FCM_SRC/bin/fcm" login
	assert_success
	assert_output --partial "Logged in to 127.0.0.1:$API_PORT as alice@example.test (Alice Example)"
	refute_output --partial 'an admin'
	grep -q 'callback 200' "$BATS_TEST_TMPDIR/browser.log"
	run stat -c %a "$BATS_TEST_TMPDIR/home-alice/.fcm-token"
	assert_output 600
	run as alice fcm whoami
	assert_success
	assert_equal "$(jq -r .email <<< "$output")" alice@example.test
	assert_equal "$(jq -r .full_name <<< "$output")" "Alice Example"
	assert_equal "$(jq -r .admin <<< "$output")" false
	assert_equal "$(jq -r .host <<< "$output")" "127.0.0.1:$API_PORT"
	[[ $(jq -r .name <<< "$output") =~ ^alice-[0-9a-f]{6}$ ]]
	# The user store and token files: 0600 in 0700 directories, hashed.
	assert_equal "$(stat -c %a "$FCM_ROOT/auth/users.json" "$FCM_ROOT/auth" "$FCM_ROOT/tokens")" "$(printf '600\n700\n700')"
	run find "$FCM_ROOT/tokens" -type f ! -perm 600
	assert_output ''
	[ -f "$FCM_ROOT/tokens/$(printf '%s' "$(token_of alice)" | sha256sum | cut -d' ' -f1)" ]
	run ! grep -rq "$(token_of alice)" "$FCM_ROOT"
}

@test "device flow: fcm login --device prints a URL and a code and ends with a stored token" {
	login_device bob
	grep -q 'enter the code: ' "$BATS_TEST_TMPDIR/device-bob.err"
	run cat "$BATS_TEST_TMPDIR/device-bob.out"
	assert_output --partial 'as bob@example.test (Bob Example)'
	run stat -c %a "$BATS_TEST_TMPDIR/home-bob/.fcm-token"
	assert_output 600
	run as bob fcm whoami --json
	assert_equal "$(jq -r .email <<< "$output")" bob@example.test
}

@test "fcm whoami on a terminal-less run without a token: not logged in" {
	run as nobody fcm whoami
	assert_failure 100
	assert_output --partial "not logged in to 127.0.0.1:$API_PORT: run 'fcm login'"
}

# --- ownership ---------------------------------------------------------------------

@test "two users: each creates a VM and sees only their own; the other's is not found; the admin token sees both" {
	export FCM_OIDC_ADMINS=root@example.test	# neither of them
	api_restart
	login alice
	login bob
	alice_id=$(as alice fcm whoami --json | jq -r .name)
	bob_id=$(as bob fcm whoami --json | jq -r .name)
	run as alice fcm create --name alice-app --json
	assert_success
	assert_equal "$(jq -r .owner <<< "$output")" "$alice_id"
	run as bob fcm create --name bob-app --json
	assert_success
	assert_equal "$(jq -r .owner <<< "$output")" "$bob_id"
	run as alice fcm ls --json
	assert_equal "$(jq -sr 'map(.name)|join(",")' <<< "$output")" alice-app
	run as bob fcm ls --json
	assert_equal "$(jq -sr 'map(.name)|join(",")' <<< "$output")" bob-app
	for cmd in stop start destroy logs; do
		run as alice fcm "$cmd" bob-app
		assert_failure
		assert_output --partial "no VM named 'bob-app'"
		refute_output --partial 'another user'
	done
	# The same answer, status and all, as for a VM that does not exist.
	A="Authorization: Bearer $(token_of alice)"
	run curl -s -w '%{http_code}' -H "$A" "$API/v1/vms/bob-app"
	assert_line -n 0 "{\"ok\":false,\"kind\":\"not_found\",\"error\":\"no VM named 'bob-app' (see 'fcm ls')\"}"
	assert_line -n 1 404
	run curl -s -w '%{http_code}' -H "$A" "$API/v1/vms/no-such-vm"
	assert_line -n 0 "{\"ok\":false,\"kind\":\"not_found\",\"error\":\"no VM named 'no-such-vm' (see 'fcm ls')\"}"
	assert_line -n 1 404
	# Nothing of alice's touched bob's VM: not stopped, not destroyed.
	[ "$(nsfcm ls --json bob-app | jq -r .state)" = running ]
	run grep -c "fcm-create --request --as $bob_id {\"name\":\"bob-app\"}" "$FCM_ROOT/calls.log"
	assert_output 1
	run grep -c "bob-app" "$FCM_ROOT/calls.log"
	assert_output 5		# bob's create; alice's stop, start, destroy, logs: all refused (GET is answered in-process)
	run ip netns exec "$NS" env FCM_TOKEN="$TOKEN" "$FCM_SRC/bin/fcm" ls --json
	assert_equal "$(jq -sr 'map(.name)|sort|join(",")' <<< "$output")" alice-app,bob-app
	run as bob fcm stop --json bob-app
	assert_success
}

@test "admins by email: with FCM_OIDC_ADMINS set, the first user is not admin, the listed one is" {
	export FCM_OIDC_ADMINS=bob@example.test
	api_restart
	login alice
	login bob
	assert_equal "$(as alice fcm whoami --json | jq -r .admin)" false
	assert_equal "$(as bob fcm whoami --json | jq -r .admin)" true
	vm_new carol-app carol >/dev/null
	run as bob fcm ls --json
	assert_output --partial carol-app
	run as alice fcm ls --json
	refute_output --partial carol-app
}

# --- logout, revocation, logs ------------------------------------------------------

@test "fcm logout revokes the token on the host (401 after) and removes ~/.fcm-token" {
	login alice
	old=$(token_of alice)
	run curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $old" "$API/v1/auth/me"
	assert_output 200
	run as alice fcm logout
	assert_success
	assert_output --partial 'Logged out of'
	[ ! -e "$BATS_TEST_TMPDIR/home-alice/.fcm-token" ]
	run curl -s -w '%{http_code}' -H "Authorization: Bearer $old" "$API/v1/vms"
	assert_line -n 0 '{"ok":false,"kind":"unauthorized","error":"invalid token"}'
	assert_line -n 1 401
	run ip netns exec "$NS" env FCM_TOKEN="$old" "$FCM_SRC/bin/fcm" ls
	assert_failure 100
	assert_output 'fcm-ls: fatal: invalid token'
	run as alice fcm logout
	assert_failure 100
	assert_output --partial 'not logged in'
	# The admin token is not revoked by logging out.
	run curl -s -w '%{http_code}' -X POST -H "$AUTH" "$API/v1/auth/logout"
	assert_line -n 0 --partial 'admin token is not revoked'
	assert_line -n 1 400
}

@test "no token, code or secret appears in the API's log" {
	login alice
	login_device bob
	as alice fcm ls >/dev/null
	as alice fcm logout >/dev/null
	grep -q 'POST /v1/auth/login 200' "$API_LOG"
	for t in "$(token_of bob)" "$TOKEN" fcm-test-secret; do
		run ! grep -q -- "$t" "$API_LOG"
	done
	# nor a code of the loopback flow
	run ! grep -q 'code=' "$API_LOG"
}

# --- ID tokens the host refuses -------------------------------------------------------

@test "ID tokens: good RS256 and ES256 are taken; expired, forged, tampered, wrong audience or issuer, bad alg refused" {
	export FCM_OIDC_ISSUER=$MINTER
	api_restart
	run login_id_token "$(mint 'sub=carol&nonce=n-1')" n-1
	assert_line -n 0 200
	tok=$(jq -r .token <<< "${lines[1]}")
	run curl -s -H "Authorization: Bearer $tok" "$API/v1/auth/me"
	assert_equal "$(jq -r .email <<< "$output")" carol@example.test
	run login_id_token "$(mint 'sub=dave&alg=ES256&nonce=n-2')" n-2
	assert_line -n 0 200
	run login_id_token "$(mint 'sub=erin&nonce=n-123')" n-123
	assert_line -n 0 200
	before=$(ls "$FCM_ROOT/tokens" | wc -l)
	check() {
		run login_id_token "$1" "${3:-n-1}"
		assert_line -n 0 "${4:-401}"
		assert_line -n 1 --partial "$2"
	}
	check "$(mint 'exp=-600&nonce=n-1')" 'the ID token is refused: it expired at'
	check "$(mint 'key=other&nonce=n-1')" "signature does not verify against the issuer's keys"
	check "$(mint 'tamper=1&nonce=n-1')" "signature does not verify against the issuer's keys"
	check "$(mint 'aud=someone-else&nonce=n-1')" "it is meant for 'someone-else', not for this host's client id 'fcm-test'"
	check "$(mint 'iss=https://evil.example&nonce=n-1')" "it was issued by 'https://evil.example', not by this host's issuer '$MINTER'"
	check "$(mint 'alg=HS256&nonce=n-1')" "signed with 'HS256': only RS256 and ES256 are accepted"
	check "$(mint 'alg=none&nonce=n-1')" "signature is missing"
	check "$(mint 'nonce=old')" "its nonce is not the one this login sent" new
	check "not-a-jwt" "not a JWT"
	# A direct ID token needs the nonce of its login, whatever it holds.
	run login_id_token "$(mint 'sub=carol&nonce=n-1')"
	assert_line -n 0 400
	assert_line -n 1 --partial 'nonce is required with an id_token'
	run login_id_token "$(mint 'sub=carol')"
	assert_line -n 0 400
	# email_verified must be there and true: who may log in goes by the address.
	check "$(mint 'sub=gina&verified=absent&nonce=n-1')" 'has not verified the e-mail address gina@example.test' n-1 403
	check "$(mint 'sub=gina&verified=false&nonce=n-1')" 'has not verified the e-mail address gina@example.test' n-1 403
	# A signature one decoded byte too long for any key (1,368 characters:
	# 1,026 bytes) is refused; under 'make asan' fcm-api runs sanitized.
	long=$(mint 'sub=frank&nonce=n-1')
	check "${long%.*}.$(printf 'A%.0s' $(seq 1368))" "the token's signature is not base64url of a signature"
	assert_equal "$(ls "$FCM_ROOT/tokens" | wc -l)" "$before"
	# The one good login kept the issuer's user store consistent.
	assert_equal "$(jq length "$FCM_ROOT/auth/users.json")" 3
}

@test "login requests: bad bodies are 400; a code needs PKCE and a loopback redirect" {
	for body in '[1]' 'nope' '{"op":"users"}' '{}' '{"code":"x","id_token":"y"}' \
		'{"code":"x","redirect_uri":"http://127.0.0.1:5/cb","nonce":"n"}' \
		'{"code":"x","code_verifier":"'"$(printf 'v%.0s' $(seq 43))"'","redirect_uri":"https://example.com/cb","nonce":"n"}' \
		'{"id_token":"x","extra":1}'; do
		run curl -s -o /dev/null -w '%{http_code}' -X POST -d "$body" "$API/v1/auth/login"
		[ "$output" = 400 ] || fail "$body gave $output"
	done
	run curl -s -o /dev/null -w '%{http_code}' "$API/v1/auth/login"
	assert_output 405
}

@test "a host without a client id says how to set logins up; fcm login --issuer must match the host's" {
	run as alice fcm login --issuer https://accounts.google.com --no-browser
	assert_failure 100
	assert_output --partial "trusts logins from $PROVIDER, not from https://accounts.google.com"
	unset FCM_OIDC_CLIENT_ID
	api_restart
	run curl -s -w '%{http_code}' "$API/v1/auth/config"
	assert_line -n 0 --regexp 'logins are not set up on this host: put the OAuth client id.*auth.json'
	assert_line -n 1 503
	run as alice fcm login
	assert_failure
	assert_output --partial 'logins are not set up on this host'
}

@test "auth.json readable by others is refused (it holds the client secret)" {
	unset FCM_OIDC_ISSUER FCM_OIDC_CLIENT_ID FCM_OIDC_CLIENT_SECRET
	printf '{"issuer":"%s","client_id":"fcm-test","client_secret":"fcm-test-secret"}\n' "$PROVIDER" > "$FCM_ROOT/auth.json"
	chmod 644 "$FCM_ROOT/auth.json"
	api_restart
	run curl -s "$API/v1/auth/config"
	assert_output --partial 'is readable by others and holds the client secret: chmod 600 it'
	chmod 600 "$FCM_ROOT/auth.json"
	run curl -s "$API/v1/auth/config"
	assert_equal "$(jq -r .client_id <<< "$output")" fcm-test
	login alice
	[ -s "$BATS_TEST_TMPDIR/home-alice/.fcm-token" ]
}

@test "the JWT decoder refuses a 1,368-character signature and writes nothing past its buffer (AddressSanitizer)" {
	# test/fuzz/jwt.c built as a unit test (its main runs the edge cases)
	# with AddressSanitizer and UBSan; the same file is the libFuzzer target
	# of 'make fuzz'.
	cc -std=c11 -D_GNU_SOURCE -DFCM_UNIT -DFCM_VERSION='"test"' -Wall -Wextra -Werror -g -O1 \
	    -fsanitize=address,undefined -fno-sanitize-recover=undefined -iquote "$FCM_SRC/lib" \
	    -o "$BATS_TEST_TMPDIR/jwt" "$FCM_SRC/test/fuzz/jwt.c" "$FCM_SRC/lib/auth/jwt.c" "$FCM_SRC/lib/core/err.c" -ljq
	ASAN_OPTIONS=detect_leaks=1 run "$BATS_TEST_TMPDIR/jwt"
	assert_success
	assert_output 'all jwt checks passed'
}

# --- who may log in ----------------------------------------------------------------

@test "an empty allow-list lets nobody in: a clear refusal at login and no token" {
	nsfcm users deny @example.test > /dev/null
	run nsfcm users ls --json
	assert_equal "$(jq -c '[.allow,.admins,.deny]' <<< "$output")" '[[],[],[]]'
	run as alice timeout 60 ip netns exec "$NS" "$FCM_SRC/bin/fcm" login
	assert_failure
	assert_output --partial "alice@example.test may not log in to this host: an admin must allow it first ('fcm users allow alice@example.test')"
	[ ! -e "$BATS_TEST_TMPDIR/home-alice/.fcm-token" ]
	assert_equal "$(ls "$FCM_ROOT/tokens" | wc -l)" 0
	# the same through the direct ID-token login: 403, no token
	export FCM_OIDC_ISSUER=$MINTER
	api_restart
	run login_id_token "$(mint 'sub=carol&nonce=n-1')" n-1
	assert_line -n 0 403
	assert_line -n 1 --partial '"kind":"forbidden"'
	refute_line -n 1 --partial '"token"'
	assert_equal "$(ls "$FCM_ROOT/tokens" | wc -l)" 0
}

@test "allow-list: an exact address and a domain let in; others are refused; deny by name beats the domain" {
	nsfcm users deny @example.test > /dev/null
	export FCM_OIDC_ISSUER=$MINTER
	api_restart
	nsfcm users allow Carol@Example.TEST > /dev/null
	nsfcm users allow example.org > /dev/null
	run login_id_token "$(mint 'sub=carol&nonce=n-1')" n-1
	assert_line -n 0 200
	run login_id_token "$(mint 'sub=dave&nonce=n-1')" n-1
	assert_line -n 0 403
	assert_line -n 1 --partial 'dave@example.test may not log in to this host'
	run login_id_token "$(mint 'sub=erin&email=erin@example.org&nonce=n-1')" n-1
	assert_line -n 0 200
	run login_id_token "$(mint 'sub=erin&email=erin@sub.example.org&nonce=n-1')" n-1
	assert_line -n 0 403
	nsfcm users deny erin@example.org > /dev/null
	run login_id_token "$(mint 'sub=erin&email=erin@example.org&nonce=n-1')" n-1
	assert_line -n 0 403
	run nsfcm users ls --json
	assert_equal "$(jq -c '[.allow,.deny]' <<< "$output")" '[["carol@example.test","@example.org"],["erin@example.org"]]'
	# bad entries: one clear line, nothing changed
	before=$(cat "$FCM_ROOT/auth/access.json")
	for bad in 'a b@example.org' 'x@@example.org' 'nodot' '@' 'x@exa_mple.org'; do
		run nsfcm users allow "$bad"
		assert_failure 100
		assert_equal "${#lines[@]}" 1
	done
	run nsfcm users deny nobody@example.net
	assert_failure 100
	assert_output --partial 'is not on the allow-list'
	assert_equal "$(cat "$FCM_ROOT/auth/access.json")" "$before"
}

@test "admins are named: fcm users admin makes one (and takes it back); only admins manage users, here or through the API" {
	login alice
	login bob
	assert_equal "$(as alice fcm whoami --json | jq -r .admin)" false
	run as alice fcm users ls
	assert_failure 100
	assert_output --partial 'only an admin may manage users'
	run as alice fcm users allow alice2@example.net
	assert_failure 100
	# the admin token (through the API) names bob; his token is an admin's at once
	run ip netns exec "$NS" env FCM_TOKEN="$TOKEN" "$FCM_SRC/bin/fcm" users admin bob@example.test --json
	assert_success
	assert_equal "$(jq -c .admins <<< "$output")" '["bob@example.test"]'
	assert_equal "$(as bob fcm whoami --json | jq -r .admin)" true
	run as bob fcm users ls --json
	assert_success
	assert_equal "$(jq -r '.users|map(select(.admin))|map(.email)|join(",")' <<< "$output")" bob@example.test
	assert_equal "$(jq -r '.users|length' <<< "$output")" 2
	run as bob fcm users admin --remove bob@example.test
	assert_success
	assert_equal "$(as bob fcm whoami --json | jq -r .admin)" false
}

@test "removing a user revokes their tokens; their VMs stay, owned; an admin reassigns or destroys them" {
	login alice
	login bob
	alice_id=$(as alice fcm whoami --json | jq -r .name)
	bob_id=$(as bob fcm whoami --json | jq -r .name)
	as alice fcm create --name alice-one --json > /dev/null
	as alice fcm create --name alice-two --json > /dev/null
	# a push key of alice's: git may use it for her app
	ssh-keygen -q -t ed25519 -N '' -C alice -f "$BATS_TEST_TMPDIR/alice-key"
	key=$(nsfcm keys add --owner "$alice_id" "$BATS_TEST_TMPDIR/alice-key.pub" --json | jq -r .key.id)
	push_as_key() { SSH_ORIGINAL_COMMAND="git-receive-pack 'alice-one.git'" "$FCM_SRC/bin/fcm-git-shell" --root "$FCM_ROOT" "$key" < /dev/null; }
	run push_as_key
	assert_output --partial 'report-status'	# let through to git, which advertises its refs
	old=$(token_of alice)
	nsfcm users deny alice@example.test > /dev/null
	run curl -s -w '%{http_code}' -H "Authorization: Bearer $old" "$API/v1/vms"
	assert_line -n 0 '{"ok":false,"kind":"unauthorized","error":"invalid token"}'
	assert_line -n 1 401
	run as alice fcm login
	assert_failure
	assert_output --partial 'may not log in to this host'
	# nor may her push keys act for her
	run push_as_key
	assert_failure 100
	assert_output "fcm-git-shell: fatal: key $key belongs to $alice_id, who may no longer use this host: an admin lets them back with 'fcm users allow'"
	run nsfcm users ls --json
	assert_equal "$(jq -r ".users[]|select(.id==\"$alice_id\")|[.allowed,.vms]|@csv" <<< "$output")" 'false,2'
	run nsfcm ls --json
	assert_equal "$(jq -sr "map(select(.owner==\"$alice_id\"))|map(.name)|sort|join(\",\")" <<< "$output")" alice-one,alice-two
	# bob may not take them; the admin gives them to bob, then destroys one
	run as bob fcm users reassign "$alice_id" bob@example.test
	assert_failure 100
	run nsfcm users reassign alice@example.test nobody@example.test
	assert_failure 100
	assert_output --partial "no user 'nobody@example.test' who may log in"
	run nsfcm users reassign alice@example.test bob@example.test --json
	assert_success
	assert_equal "$(jq -c .vms <<< "$output")" '["alice-one","alice-two"]'
	run as bob fcm ls --json
	assert_equal "$(jq -sr 'map(.name)|sort|join(",")' <<< "$output")" alice-one,alice-two
	run ip netns exec "$NS" env FCM_TOKEN="$TOKEN" "$FCM_SRC/bin/fcm" destroy alice-two
	assert_success
	run nsfcm ls --json
	assert_equal "$(jq -sr "map(select(.owner==\"$bob_id\"))|map(.name)|join(\",\")" <<< "$output")" alice-one
}

@test "1,000 login attempts without a token from one address are throttled (429, Retry-After); requests with a token are not" {
	run ip netns exec "$NS" python3 - "$API_PORT" <<'PY'
import http.client, sys, collections
port = int(sys.argv[1]); seen = collections.Counter(); retry = set()
for i in range(1000):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/v1/auth/login", body=b'{"id_token":"x"}')
    r = c.getresponse(); r.read()
    seen[r.status] += 1
    if r.status == 429: retry.add(r.getheader("Retry-After"))
    c.close()
print(seen[429], sum(v for k, v in seen.items() if k != 429), ",".join(sorted(x or "-" for x in retry)))
PY
	assert_success
	read -r throttled passed retry <<< "$output"
	# a burst of 30, then 30 a minute (FCM_API_AUTH_BURST, FCM_API_AUTH_RATE)
	[ "$passed" -ge 30 ] && [ "$passed" -le 60 ] || fail "$passed answered, $throttled throttled"
	[ "$throttled" -ge 940 ] || fail "only $throttled of 1000 throttled"
	[[ $retry =~ ^[0-9]+(,[0-9]+)*$ ]] || fail "Retry-After: $retry"
	run curl -s -w '\n%{http_code}' -X POST -d '{}' "$API/v1/auth/login"
	assert_line -n 0 --partial '"error":"too many requests without a token from 127.0.0.1: try again in'
	assert_line -n 1 429
	run curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$API/v1/vms"
	assert_output 200
}

@test "the issuer's discovery document and keys are cached as their Cache-Control says, not fetched per login" {
	export FCM_OIDC_ISSUER=$MINTER
	api_restart
	before=$(curl -s "$MINTER/stats")
	for i in 1 2 3 4 5; do
		run login_id_token "$(mint "sub=carol&nonce=n-$i")" "n-$i"
		assert_line -n 0 200
	done
	after=$(curl -s "$MINTER/stats")
	d() { echo $(( $(jq -r ".[\"$1\"] // 0" <<< "$after") - $(jq -r ".[\"$1\"] // 0" <<< "$before") )); }
	assert_equal "$(d /.well-known/openid-configuration)" 1
	assert_equal "$(d /jwks)" 1
	run stat -c %a "$FCM_ROOT/auth/cache"
	assert_output 700
	# a token signed with a key the cached set lacks makes one fresh fetch (rotation), and is refused
	run login_id_token "$(mint 'key=other&nonce=n-1')" n-1
	assert_line -n 0 401
	assert_equal "$(( $(curl -s "$MINTER/stats" | jq -r '.["/jwks"]') - $(jq -r '.["/jwks"] // 0' <<< "$before") ))" 2
}

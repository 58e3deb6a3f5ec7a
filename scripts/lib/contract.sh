# shellcheck shell=bash
# contract.sh: `scripts/store test`'s checks of the API contract by outside tools: Prism as a
# validating proxy in front of each listener while the integration suite runs, Swagger UI at
# /docs/ in headless Chromium, and a TypeScript client generated from docs/openapi.yaml.
#
# Sourced by scripts/store, which holds the settings (ports, versions) this file reads; not a
# program of its own. Each function runs in a `step` subshell unless said otherwise.

# contract_ports: the ports of the two Prism proxies (STORE_TEST_PRISM_PORT and
# STORE_TEST_PRISM_INTERNAL_PORT), in PRISM_PORT and PRISM_INTERNAL_PORT. Not a step.
contract_ports() {
	PRISM_PORT=${STORE_TEST_PRISM_PORT:-$TEST_PRISM_PORT}
	PRISM_INTERNAL_PORT=${STORE_TEST_PRISM_INTERNAL_PORT:-$TEST_PRISM_INTERNAL_PORT}
	local v
	for v in PRISM_PORT PRISM_INTERNAL_PORT; do
		[[ ${!v} =~ ^[1-9][0-9]{0,4}$ ]] || die "$v must be a port number, not '${!v}'"
	done
}

# start_prism NAME PORT SPEC UPSTREAM: `prism proxy --errors` on 127.0.0.1:PORT in front of
# UPSTREAM, validating against SPEC; its log is $LOG/NAME.log.
start_prism() {
	local name=$1 port=$2 spec=$3 upstream=$4
	check_port "$port" "$name" "STORE_TEST_PRISM_PORT / STORE_TEST_PRISM_INTERNAL_PORT"
	: >"$LOG/$name.log"
	# NO_COLOR: the log is read by contract_verdict below, not by a terminal.
	NO_COLOR=1 FORCE_COLOR=0 spawn "$name" "$LOG/$name.log" "$(tool prism)" proxy --errors \
		-h 127.0.0.1 -p "$port" "$ROOT/$spec" "$upstream"
	wait_for "$name" "$(<"$RUN/$name.pid")" "$LOG/$name.log" port_busy "$port"
	say "$name: 127.0.0.1:$port validates $spec in front of $upstream"
}

# test_contract_up: both proxies, before the integration programs.
test_contract_up() {
	ensure_npm_tools "@stoplight/prism-cli@$PRISM_VERSION"
	contract_ports
	start_prism prism-public "$PRISM_PORT" docs/openapi.yaml "http://127.0.0.1:$HTTP_PORT"
	start_prism prism-internal "$PRISM_INTERNAL_PORT" docs/openapi-internal.yaml "http://127.0.0.1:$INTERNAL_PORT"
	: >"$VAR/contract-refused.log"
}

# contract_down: stops the proxies (also on exit). Not a step.
contract_down() {
	stop prism-public prism 2>/dev/null || true
	stop prism-internal prism 2>/dev/null || true
}

# test_contract_verdict: what Prism saw. A response the spec does not allow (Prism's VIOLATIONS,
# which the test also sees as a 500) or any other failure of Prism's fails the step. Requests the
# spec refuses (UNPROCESSABLE_ENTITY, UNAUTHORIZED, NO_PATH_MATCHED_ERROR, NO_METHOD_MATCHED_ERROR)
# never reach the gateway through Prism: the test client sent each straight there and failed its
# test if the gateway accepted it; they are counted here.
test_contract_verdict() {
	contract_down
	local name bad rc=0 refused
	local refusals='errors#(UNPROCESSABLE_ENTITY|UNAUTHORIZED|NO_PATH_MATCHED_ERROR|NO_METHOD_MATCHED_ERROR):'
	for name in prism-public prism-internal; do
		bad=$(grep -E 'Request terminated with error|error +Violation:' "$LOG/$name.log" | grep -vE "$refusals" || true)
		if [[ -n $bad ]]; then
			echo "--- $name: $(wc -l <<<"$bad") violation(s) (log: $LOG/$name.log):"
			head -n 40 <<<"$bad"
			rc=1
		else
			echo "$name: no violations in $(grep -c 'Request received' "$LOG/$name.log" || true) requests"
		fi
	done
	refused=$(wc -l <"$VAR/contract-refused.log")
	echo "requests the spec refuses, sent to the gateway instead and refused there too: $refused" \
		"($VAR/contract-refused.log)"
	return "$rc"
}

# test_docs_browser: /docs/ of the test stack in headless Chromium (tests/contract/docs_browser.cjs):
# every operation of the public spec listed, "Try it out" on GET /users/me with a token given in
# Authorize answers 200. Screenshots: $VAR/docs.png and $VAR/docs-try-it-out.png.
test_docs_browser() {
	ensure_npm_tools "puppeteer-core@$PUPPETEER_VERSION"
	[[ -x /usr/bin/chromium ]] || die "Debian's chromium is not installed (/usr/bin/chromium)"
	# The Debian wrapper script trips over an unset variable on some machines; its
	# output is noise, its exit status is what counts.
	NODE_PATH=$TOOLS_DIR/node_modules PUPPETEER_SKIP_DOWNLOAD=1 \
		node "$ROOT/tests/contract/docs_browser.cjs" "http://127.0.0.1:$HTTP_PORT" "$VAR/docs.png"
	echo "screenshots: $VAR/docs.png $VAR/docs-try-it-out.png"
}

# test_ts_client: a TypeScript client generated from docs/openapi.yaml (openapi-typescript for the
# types, openapi-fetch for the calls), type-checked with tsc --strict, and a short session with
# it against the test stack (tests/contract/client_session.ts), in $VAR/ts-client.
test_ts_client() {
	ensure_npm_tools "openapi-typescript@$OPENAPI_TYPESCRIPT_VERSION" "openapi-fetch@$OPENAPI_FETCH_VERSION" \
		"typescript@$TYPESCRIPT_VERSION"
	local dir=$VAR/ts-client
	rm -rf "$dir"
	mkdir -p "$dir"
	ln -s "$TOOLS_DIR/node_modules" "$dir/node_modules"
	"$(tool openapi-typescript)" "$ROOT/docs/openapi.yaml" -o "$dir/schema.d.ts"
	cp "$ROOT/tests/contract/client_session.ts" "$dir/"
	printf '{"type": "module", "private": true}\n' >"$dir/package.json"
	cat >"$dir/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "es2022", "module": "nodenext", "moduleResolution": "nodenext",
    "strict": true, "noUncheckedIndexedAccess": true, "exactOptionalPropertyTypes": false,
    "skipLibCheck": false, "types": [], "lib": ["es2022", "dom"], "outDir": "dist"
  },
  "files": ["client_session.ts", "schema.d.ts"]
}
JSON
	"$(tool tsc)" -p "$dir"
	echo "generated client ($(grep -c '^    "/' "$dir/schema.d.ts" || true) paths) type-checks with tsc --strict"
	node "$dir/dist/client_session.js" "http://127.0.0.1:$HTTP_PORT"
}

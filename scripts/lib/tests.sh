# shellcheck shell=bash
# tests.sh: `scripts/store test`: every check against a throwaway stack.
#
# Sourced by scripts/store, which holds the settings (ports, package lists, the
# SERVICES list) this file reads; not a program of its own.

# --- test --------------------------------------------------------------------
STEP_NAMES=() STEP_RESULTS=()

# step NAME COMMAND...: runs COMMAND in a subshell (so `die` ends only the
# step, and set -e holds inside it), records pass/fail and goes on.
step() {
	local name=$1 rc start=$SECONDS
	shift
	printf '\n==== %s\n' "$name"
	set +e
	("$@")
	rc=$?
	set -e
	STEP_NAMES+=("$name")
	if ((rc == 0)); then
		STEP_RESULTS+=("PASS ($((SECONDS - start))s)")
	else
		STEP_RESULTS+=("FAIL (exit $rc, $((SECONDS - start))s)")
	fi
	return 0
}

summary() {
	local i passed=0 failed=0
	printf '\n==== summary\n'
	for i in "${!STEP_NAMES[@]}"; do
		printf '  %-40s %s\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}"
		if [[ ${STEP_RESULTS[$i]} == PASS* ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	done
	printf 'steps: %d passed, %d failed\n' "$passed" "$failed"
	((failed == 0))
}

test_unit() {
	cd "$ROOT"
	if ! make -j"$(nproc 2>/dev/null || echo 2)" check; then
		tail -n 200 test-suite.log 2>/dev/null || true
		exit 1
	fi
}

test_integration_build() { cd "$ROOT" && make -j"$(nproc 2>/dev/null || echo 2)" integration-programs; }

# run_integration_test PROGRAM: one Criterion executable against the test stack, through the
# contract proxies (scripts/lib/contract.sh): STORE_TEST_URL and STORE_TEST_INTERNAL_URL are
# Prism's, STORE_TEST_RAW_URL and STORE_TEST_RAW_INTERNAL_URL the gateway's own listeners.
# STORE_VAR is set too, so a test that runs $STORE_TEST_STORE acts on this stack.
run_integration_test() {
	contract_ports
	STORE_VAR=$VAR STORE_TEST_URL=http://127.0.0.1:$PRISM_PORT \
		STORE_TEST_INTERNAL_URL=http://127.0.0.1:$PRISM_INTERNAL_PORT \
		STORE_TEST_RAW_URL=http://127.0.0.1:$HTTP_PORT \
		STORE_TEST_RAW_INTERNAL_URL=http://127.0.0.1:$INTERNAL_PORT \
		STORE_TEST_CONTRACT_LOG=$VAR/contract-refused.log \
		STORE_TEST_REDIS_HOST=127.0.0.1 STORE_TEST_REDIS_PORT=$REDIS_PORT \
		STORE_TEST_MAILDIR=$MAILDIR STORE_TEST_VAR=$VAR \
		STORE_TEST_DB_SOCKET=$DB_SOCKET STORE_TEST_DB_ADMIN_USER=$(id -un) \
		STORE_TEST_STORE=$ROOT/scripts/store \
		STORE_TEST_JWT_SECRET=$(<"$SECRETS/jwt_secret") \
		STORE_TEST_AUTH_RATE=$AUTH_RATE STORE_TEST_AUTH_BURST=$AUTH_BURST \
		"$1"
}

integration_programs() {
	local t
	for t in "$ROOT"/tests/integration/test_*; do
		[[ -f $t && -x $t && ${t##*/} != *.* ]] && printf '%s\n' "$t"
	done
	return 0
}

# The card numbers the tests pay with, as digits and as printed: none of them may be
# at rest anywhere the stack writes (issue 12: not in a database, a log, Redis or a mail).
CARD_NUMBERS=(4242424242424242 4000000000000002 4000000000009995 4000000000000119 5555555555554444
	378282246310005 "4242 4242 4242 4242" "4000 0000 0000 0002")

# redis_everything: every key's name and value, readable (streams, hashes, sets... as text), in
# one server-side script rather than a round trip per key.
redis_everything() {
	# shellcheck disable=SC2016 # Lua, not shell: $ is never expanded here.
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --no-raw EVAL '
		local out = {}
		for _, k in ipairs(redis.call("KEYS", "*")) do
			out[#out + 1] = k
			local t = redis.call("TYPE", k).ok
			local v
			if t == "string" then v = {redis.call("GET", k)}
			elseif t == "hash" then v = redis.call("HGETALL", k)
			elseif t == "set" then v = redis.call("SMEMBERS", k)
			elseif t == "zset" then v = redis.call("ZRANGE", k, 0, -1)
			elseif t == "list" then v = redis.call("LRANGE", k, 0, -1)
			elseif t == "stream" then
				v = {}
				for _, e in ipairs(redis.call("XRANGE", k, "-", "+")) do
					for _, f in ipairs(e[2]) do v[#v + 1] = f end
				end
			else v = {} end
			for _, x in ipairs(v) do out[#out + 1] = x end
		end
		return out' 0
}

test_no_card_data() {
	local tmp n rc=0
	local -a dbs
	tmp=$(mktemp -d)
	mapfile -t dbs < <(admin_sql -e "SHOW DATABASES LIKE 'store\\_%'")
	mariadb-dump --no-defaults --socket="$DB_SOCKET" --user="$(id -un)" --skip-extended-insert \
		--databases "${dbs[@]}" >"$tmp/db.sql" || rc=1
	redis_everything >"$tmp/redis.txt" || rc=1
	for n in "${CARD_NUMBERS[@]}"; do
		if grep -rlF -- "$n" "$tmp" "$LOG" "$MAILDIR" 2>/dev/null; then
			echo "card number $n found at rest (above)"
			rc=1
		fi
	done
	((rc == 0)) && echo "no test card number in $(du -sh "$tmp" | cut -f1) of database dump and Redis, nor in $LOG or $MAILDIR"
	rm -rf "$tmp"
	return "$rc"
}

# Leak reports are written at exit, so the services are stopped first.
test_sanitizers() {
	stop_programs
	local found
	found=$(grep -l -E 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$LOG"/*.log 2>/dev/null || true)
	if [[ -n $found ]]; then
		for f in $found; do
			echo "--- sanitizer report in $f:"
			grep -n -A 30 -E 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$f" | head -n 80
		done
		exit 1
	fi
	echo "no sanitizer reports in $LOG/*.log"
}

# A service on the socket systemd lends it (store-svc@.socket) is stopped with SIGTERM and
# killed with SIGKILL under a steady load, and started again each time: every request must be
# answered (#18.3). Every service shares lib/server.c; the product service stands for them.
test_inherited_socket() {
	python3 "$ROOT/tests/integration/inherited_socket.py" "$(service_binary product)" "$ENVDIR/product.env" \
		/api/v1/products/health "$LOG/inherited-socket.log"
}

# Several instances of a service (the test stack runs STORE_TEST_INSTANCES of each): one killed
# under load, and rolling restarts under GETs and POSTs, lose nothing (tests/integration/instances).
test_instances() {
	STORE_VAR=$VAR STORE_TEST_HTTP_PORT=$HTTP_PORT "$ROOT/tests/integration/instances"
}

# systemd-analyze verify checks that ExecStart's binary exists. The units name
# their installed paths (/usr/local/bin/store-*), so the check runs on copies
# whose binary paths point at this build: for each service in SERVICES an
# instance of the template pair (store-svc@<name>.service and .socket, the way
# systemd instantiates them), and every other unit as shipped.
test_systemd() {
	local tmp name entry f ext out rc=0
	local -a units=() sed_args=()
	tmp=$(mktemp -d)
	for name in $(service_names); do
		# A copy of the template per service is what the template replaced.
		[[ ! -e $ROOT/systemd/store-$name.service && ! -e $ROOT/systemd/store-$name.socket ]] ||
			{ echo "systemd/store-$name.*: services run as instances of store-svc@.service/.socket, not copies"; rc=1; }
		# Also a second instance of each (store-svc@<name>-2: the program found by stripping "-2").
		for ext in service socket; do
			cp "$ROOT/systemd/store-svc@.$ext" "$tmp/store-svc@$name.$ext"
			cp "$ROOT/systemd/store-svc@.$ext" "$tmp/store-svc@$name-2.$ext"
			units+=("store-svc@$name.$ext" "store-svc@$name-2.$ext")
		done
	done
	# The program an instance runs: ExecStart's shell expansion, for a service and a further instance.
	local prog
	for name in user product-2; do
		prog=$(sed -n "s/^ExecStart=\/bin\/sh -c '\(.*\)' store %i\$/\1/p" "$ROOT/systemd/store-svc@.service" |
			sed -e 's/\$\$/$/g' -e 's/%%/%/g')
		prog=$(sh -c "${prog/exec /printf '%s' }" store "$name")
		[[ $prog == "/usr/local/bin/store-${name%-2}" ]] ||
			{ echo "store-svc@$name would run '$prog', not /usr/local/bin/store-${name%-2}"; rc=1; }
	done
	for entry in "${WORKERS[@]}"; do
		name=$(basename "$(worker_binary "$entry")")
		sed_args+=(-e "s|/usr/local/bin/$name\\b|$(worker_binary "$entry")|g")
	done
	for f in "$ROOT"/systemd/*.service "$ROOT"/systemd/*.socket; do
		# Restart=on-failure with RestartSec=2s never reaches systemd's default start limit (#18.5).
		if grep -q '^Restart=' "$f" && ! grep -q '^StartLimitBurst=' "$f"; then
			echo "${f##*/}: restarts without an explicit start limit"; rc=1
		fi
		[[ ${f##*/} == *@.* ]] && continue # templates: verified through their instances above
		sed "${sed_args[@]}" "$f" >"$tmp/${f##*/}"
		units+=("${f##*/}")
	done
	# The user service lowers its hashing threads' priority: the unit must let it (a later
	# allow-list entry takes setpriority out of the denied @resources group).
	grep -qx 'SystemCallFilter=setpriority' "$ROOT/systemd/store-svc@.service" ||
		{ echo "store-svc@.service denies setpriority (@resources) without allowing it again"; rc=1; }
	# The gateway runs as www-data: what gateway-config writes must be readable by it, also
	# when an operator's umask is 077 (#18.2: a 0600 nginx.conf kept the gateway from starting).
	local unreadable
	(umask 077 && cmd_gateway_config "$tmp/gateway" >/dev/null 2>&1) || { echo "gateway-config failed"; rc=1; }
	unreadable=$(find "$tmp/gateway" \( -type d ! -perm -o=rx \) -o \( -type f ! -perm -o=r \))
	[[ -z $unreadable ]] || { printf 'gateway-config wrote files nginx (www-data) cannot read:\n%s\n' "$unreadable"; rc=1; }
	# A service's socket outlives the service (#18.3): no PartOf= that would restart it with the service.
	! grep -q '^PartOf=' "$ROOT/systemd/store-svc@.socket" ||
		{ echo "store-svc@.socket is PartOf= its service: a restart would close the socket"; rc=1; }
	# verify exits 0 on unknown keys and bad values (it only warns), so any output fails.
	out=$(cd "$tmp" && systemd-analyze verify "${units[@]/#/./}" 2>&1) || rc=1
	rm -rf "$tmp"
	[[ -z $out ]] || { printf '%s\n' "$out"; rc=1; }
	((rc == 0)) && echo "systemd units verified: ${units[*]}"
	return "$rc"
}

# docker-compose.yml needs its secrets from the environment (or .env); the
# syntax check gets throwaway ones. No Docker engine is needed for either check.
test_compose() {
	cd "$ROOT"
	local name services rc=0
	for name in $(service_names); do export "STORE_DB_PASSWORD_${name^^}=$(random_hex 16)"; done
	STORE_JWT_SECRET=$(random_hex 32) STORE_DB_ROOT_PASSWORD=$(random_hex 16) STORE_REDIS_PASSWORD=$(random_hex 24)
	export STORE_JWT_SECRET STORE_DB_ROOT_PASSWORD STORE_REDIS_PASSWORD
	docker-compose -f docker-compose.yml config -q
	echo "docker-compose.yml: valid"
	# Every service runs in compose too: a container, migrated, behind the gateway.
	services=$(docker-compose -f docker-compose.yml config --services)
	# Each service depends on MariaDB and Redis themselves (healthy), not only through migrate:
	# compose stops in reverse dependency order, and a service must stop before its backends.
	local deps
	deps=$(docker-compose -f docker-compose.yml config | python3 -c 'import sys, yaml
for name, svc in yaml.safe_load(sys.stdin)["services"].items():
	d = svc.get("depends_on") or {}
	print(name, *sorted(k for k, v in d.items() if v.get("condition") == "service_healthy"))')
	for name in $(service_names); do
		grep -qx "$name" <<<"$services" || { echo "docker-compose.yml has no service '$name'"; rc=1; }
		if ! grep -qE "^$name( .*)? mariadb( .*)? redis( |$)" <<<"$deps"; then
			echo "docker-compose.yml: '$name' does not depend on mariadb and redis being healthy"; rc=1
		fi
		grep -q "scripts/migrate\".*\"$name\"" docker-compose.yml ||
			{ echo "docker-compose.yml: the migrate job does not migrate '$name'"; rc=1; }
	done
	# The gateway image's configuration (the Dockerfile renders it the same way); compose
	# service names do not resolve here, so they are pointed at loopback, and /tmp at a
	# scratch directory, for the check.
	local tmp
	tmp=$(mktemp -d)
	cmd_gateway_config --compose "$tmp/gateway" >/dev/null
	# Compose recreates containers with new addresses: the gateway must resolve the services'
	# names again (variables and a resolver), never once at start in an upstream block (#18.6).
	if grep -qE '^[[:space:]]*(upstream |server [a-z]+:9000)' "$tmp/gateway/nginx.conf" ||
		! grep -qE 'fastcgi_pass [$]store_[a-z]+;' "$tmp/gateway/nginx.conf"; then
		echo "the compose gateway resolves the services' names once, at start"; rc=1
	fi
	# The secrets the compose docs put in .env never reach an image layer (#18.7).
	grep -qx '.env' .dockerignore || { echo ".dockerignore does not keep .env out of the build context"; rc=1; }
	printf 'resolver 127.0.0.1 valid=5s ipv6=off;\n' >"$tmp/store-resolver.conf"
	sed -E -e "s#/tmp/(nginx\.pid|client_body|fastcgi|proxy|scgi|uwsgi|store-resolver\.conf)\b#$tmp/\1#g" \
		"$tmp/gateway/nginx.conf" >"$tmp/gateway/nginx-t.conf"
	if nginx -t -q -c "$tmp/gateway/nginx-t.conf" -e stderr; then
		echo "gateway image configuration (gateway-config --compose): valid"
	else
		rc=1
	fi
	rm -rf "$tmp"
	return "$rc"
}

# The gateway's routes come from SERVICES: it renders into a configuration nginx accepts,
# with the review regex after the product prefix. Every service of SERVICES is named where an
# operator looks for it: as an instance of the one systemd template, and among the services
# whose routes the nginx template receives.
test_gateway_routes() {
	local tmp rc=0 name
	for name in $(service_names); do
		grep -q "store-svc@$name\b" "$ROOT/systemd/store-svc@.service" ||
			{ echo "systemd/store-svc@.service does not name the instance store-svc@$name"; rc=1; }
		grep -q "^# Services routed: .*\b$name\b" "$ROOT/nginx/store.conf.in" ||
			{ echo "nginx/store.conf.in does not name the service $name among those it routes"; rc=1; }
	done
	tmp=$(mktemp -d)
	cmd_gateway_config "$tmp" >/dev/null
	sed -E -e "s#(/run/store-gateway|/var/cache/store-gateway|/var/log/store-gateway)#$tmp#g" \
		"$tmp/nginx.conf" >"$tmp/nginx-t.conf"
	nginx -t -q -c "$tmp/nginx-t.conf" -e stderr || rc=1
	grep -qF 'location ~ "^/api/v1/products/[0-9]{1,20}/reviews(/|$)" { fastcgi_pass store_review; }' "$tmp/nginx.conf" ||
		{ echo "no regex location for the review service"; rc=1; }
	grep -qF 'location /internal/cart/ { fastcgi_pass store_cart; }' "$tmp/nginx.conf" ||
		{ echo "no internal location for the cart service"; rc=1; }
	rm -rf "$tmp"
	((rc == 0)) && echo "gateway rendered and accepted with $(service_names | wc -l) services"
	return "$rc"
}

# shell_scripts: every shell program of the tree (scripts/, bench/, tests/, .ci/:
# by its #! line), one per line, relative to ROOT; not the generated configure & co.
shell_scripts() {
	local f line
	while IFS= read -r f; do
		IFS= read -r line <"$f" || true
		[[ $line =~ ^\#!(/usr/bin/env\ |/bin/|/usr/bin/)(ba)?sh($|\ ) ]] && printf '%s\n' "$f"
	done < <(cd "$ROOT" && find scripts bench tests .ci -type f ! -name '*.*' | sort)
	return 0
}

# test_shellcheck: every shell script clean under shellcheck, at every level (style notes too).
# scripts/lib/*.sh are checked on their own: shellcheck -x follows the sources
# of scripts/store but reports nothing inside them.
test_shellcheck() {
	cd "$ROOT" || exit
	local -a scripts
	mapfile -t scripts < <(shell_scripts)
	shellcheck -x "${scripts[@]}" scripts/lib/*.sh
	echo "shellcheck: clean: ${scripts[*]} scripts/lib/*.sh"
}

redocly_version() {
	local v major minor
	v=$(node --version 2>/dev/null) || die "node is not installed"
	v=${v#v} major=${v%%.*} minor=${v#*.} minor=${minor%%.*}
	if ((major > 22 || (major == 22 && minor >= 12) || (major == 20 && minor >= 19))); then
		echo "$REDOCLY_VERSION"
	else
		echo "$REDOCLY_VERSION_NODE18"
	fi
}

test_openapi() {
	local want have=""
	want=$(redocly_version)
	local pkg=$TOOLS_DIR/node_modules/@redocly/cli/package.json
	[[ -r $pkg ]] && have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkg" | head -n 1)
	if [[ $have != "$want" ]]; then
		say "installing @redocly/cli@$want into $TOOLS_DIR"
		mkdir -p "$TOOLS_DIR"
		NPM_CONFIG_UPDATE_NOTIFIER=false npm install --no-audit --no-fund --save-exact \
			--prefix "$TOOLS_DIR" "@redocly/cli@$want"
	fi
	ensure_npm_tools "js-yaml@$JS_YAML_VERSION"
	cd "$ROOT"
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		"$TOOLS_DIR/node_modules/.bin/redocly" lint docs/openapi.yaml docs/openapi-internal.yaml
	openapi_heads
}

# openapi_heads: every path of either spec that has a GET has a HEAD operation too (the router
# answers HEAD wherever GET is); redocly's rules cannot say that.
openapi_heads() {
	node -e 'const y = require(process.argv[1]), fs = require("fs"); let bad = 0;
		for (const f of process.argv.slice(2)) {
			for (const [p, item] of Object.entries(y.load(fs.readFileSync(f, "utf8")).paths || {}))
				if (item.get && !item.head) { console.log(f + ": " + p + " has GET but no HEAD"); bad = 1; }
		}
		process.exit(bad);' "$TOOLS_DIR/node_modules/js-yaml" docs/openapi.yaml docs/openapi-internal.yaml
	echo "every GET has its HEAD operation"
}

cmd_test() {
	set_stack "${STORE_VAR:-$ROOT/var}/test" test
	trap 'contract_down >/dev/null 2>&1 || true; stack_down >/dev/null 2>&1 || true' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	ensure_test_packages
	# A test stack left over from an interrupted run is stopped, then wiped.
	stack_down >/dev/null 2>&1 || true
	rm -rf "$VAR"

	step "build (configure $*)" build "$@"
	step "unit tests (make check)" test_unit
	step "stack up ($VAR)" stack_up
	step "integration programs (make)" test_integration_build
	step "contract proxies (Prism) up" test_contract_up
	local t
	while IFS= read -r t; do
		step "integration: ${t##*/}" run_integration_test "$t"
	done < <(integration_programs)
	step "contract (Prism): zero violations" test_contract_verdict
	step "restart and kill on an inherited socket: zero failed requests" test_inherited_socket
	step "instances: one killed, rolling restarts (GET and POST load): zero failed requests" test_instances
	step "metrics: every service, the worker, alert rules (promtool)" test_metrics_format
	step "docs in headless Chromium" test_docs_browser
	step "generated TypeScript client" test_ts_client
	step "no card data at rest (databases, Redis, logs, mail)" test_no_card_data
	step "sanitizer reports in service logs" test_sanitizers
	step "systemd-analyze verify" test_systemd
	step "docker-compose config" test_compose
	step "Kubernetes: deploy/k8s up to date, both overlays rendered and validated" test_k8s
	step "gateway routes from SERVICES" test_gateway_routes
	step "shellcheck" test_shellcheck
	step "openapi lint (@redocly/cli)" test_openapi
	step "fuzz targets (${FUZZ_SECONDS}s each)" "$ROOT/tests/fuzz/run" "$FUZZ_SECONDS"

	stack_down
	summary
}

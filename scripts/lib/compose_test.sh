# shellcheck shell=bash
# compose_test.sh: `scripts/store test-compose`: docker-compose.yml built and run under rootful podman.
#
# Sourced by scripts/store, which holds the settings (ports, package lists, the
# SERVICES list) this file reads; not a program of its own.
#
# The engine is Debian's podman with its Docker-compatible API (`podman system service` on a
# socket of its own) and Debian's docker-compose 1.29 talking to it: the compose file is run by
# the same docker-compose an operator uses, with its depends_on conditions (service_healthy,
# service_completed_successfully), which podman-compose 1.0 ignores. Everything podman keeps
# (images, containers, volumes, networks) lives in var/compose-test/ rather than the system's
# /var/lib/containers, so the test never meets an operator's containers, nor they it.
# No registry is reachable here: the images the compose file and the Dockerfile name
# (debian:12-slim, node:20-bookworm-slim, mariadb:10.11, redis:7) are stand-ins made locally,
# debian:12-slim by debootstrap and the others from it with tests/compose/<name>/Dockerfile;
# they are kept in that storage for the next run.

COMPOSE_TEST_PACKAGES=(podman runc netavark aardvark-dns iptables debootstrap docker-compose curl)
# The stand-ins: image name, then its build directory under tests/compose/ (debian:12-slim: made
# by debootstrap, no directory).
COMPOSE_TEST_IMAGES=("node:20-bookworm-slim node" "mariadb:10.11 mariadb" "redis:7 redis")
COMPOSE_TEST_PORT=25080 # the gateway's published port (STORE_COMPOSE_TEST_PORT), loopback only

# ct_podman ARGS...: podman on the test's own storage, network configuration and runtime settings
# (CT_PODMAN, the command as an array, is what `timeout` and background jobs run).
# runc, not crun: crun refuses this kind of host's hybrid cgroup hierarchy (v1 controllers with a
# controller in the v2 tree too); cgroupfs and the file event log: there may be no systemd.
ct_podman() { "${CT_PODMAN[@]}" "$@"; }

# ct_compose ARGS...: docker-compose against the test's podman socket, as the test's project,
# with the generated secrets and nothing else from the caller's environment (nor the checkout's
# .env). CT_COMPOSE is the command as an array.
ct_compose() { "${CT_COMPOSE[@]}" "$@"; }

# ct_standin_tag LOCAL NAME: gives the stand-in built as LOCAL (localhost/store-standin/...) the
# name the files use (NAME, e.g. debian:12-slim), through podman's Docker API: it stores a short
# name as the Docker client asks for it, so the same API finds it when docker-compose builds and
# starts the stack (and the test never spells out a registry).
ct_standin_tag() {
	local repo=${2%:*} tag=${2##*:}
	curl -fsS --max-time 30 -X POST --unix-socket "$CT_RUNROOT/podman.sock" \
		"http://d/v1.41/images/${1//\//%2F}/tag?repo=$repo&tag=$tag" >>"$CT_DIR/standins.log" 2>&1 ||
		die "tagging the stand-in $1 as $2 failed ($CT_DIR/standins.log)"
}

# ct_apt_sources: "URI SUITE" for each Debian archive (deb) source this machine's apt reads, from
# one-line (.list) and deb822 (.sources) files: where the stand-ins' packages come from.
ct_apt_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -r $f ]] || continue
		awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++; if ($i ~ /\]$/ && $2 ~ /^\[/) i++; print $i, $(i + 1) }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -r $f ]] || continue
		awk 'function flush() { if (types ~ /(^| )deb( |$)/) { n = split(uris, u, " "); m = split(suites, s, " ");
				for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j] }
				types = uris = suites = "" }
			/^[[:space:]]*$/ { flush(); next }
			/^#/ { next }
			tolower($1) == "types:" { $1 = ""; types = $0 }
			tolower($1) == "uris:" { $1 = ""; uris = $0 }
			tolower($1) == "suites:" { $1 = ""; suites = $0 }
			END { flush() }' "$f"
	done
}

# ct_base_image: debian:12-slim, made by debootstrap --variant=minbase of bookworm from the mirror
# this machine's apt uses, with that mirror (and bookworm-updates and the security archive where
# this machine has them) as its /etc/apt/sources.list.d/debian.sources, as in the official image,
# apt's lists and caches removed; imported with podman import. The machine's own CA certificates
# (/usr/local/share/ca-certificates) go in too, so that an image which installs ca-certificates
# trusts what this machine trusts (a TLS-inspecting proxy on the way to the npm registry, say).
# Made again only when what it is made from changes (its label store.standin).
ct_base_image() {
	local sources mirror security rootfs=$CT_DIR/rootfs suites=bookworm recipe crt
	sources=$(ct_apt_sources)
	mirror=$(awk '$2 == "bookworm" { print $1; exit }' <<<"$sources")
	security=$(awk '$2 == "bookworm-security" { print $1; exit }' <<<"$sources")
	[[ -n $mirror ]] || die "no Debian bookworm source in /etc/apt/sources.list*: nowhere to debootstrap from"
	grep -q ' bookworm-updates$' <<<"$sources" && suites+=" bookworm-updates"
	recipe=$( {
		printf '1 %s %s %s\n' "$mirror" "$suites" "$security"
		cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true
	} | sha256sum | cut -c1-16)
	if [[ $(ct_podman image inspect --format '{{index .Labels "store.standin"}}' localhost/store-standin/debian:12-slim \
		2>/dev/null) == "$recipe" ]]; then
		ct_standin_tag localhost/store-standin/debian:12-slim debian:12-slim
		return 0
	fi
	say "debootstrap of Debian 12 (minbase) for the stand-in debian:12-slim (a minute or two)"
	rm -rf "$rootfs"
	debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$CT_DIR/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$CT_DIR/debootstrap.log" >&2; die "debootstrap failed"; }
	rm -f "$rootfs/etc/apt/sources.list"
	{
		printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			"$mirror" "$suites"
		[[ -z $security ]] ||
			printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
				"$security"
	} >"$rootfs/etc/apt/sources.list.d/debian.sources"
	for crt in /usr/local/share/ca-certificates/*.crt; do
		[[ -r $crt ]] && install -D -m 0644 "$crt" "$rootfs/usr/local/share/ca-certificates/${crt##*/}"
	done
	rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
		"$rootfs"/var/log/*.log "$rootfs"/var/log/apt/*
	tar -C "$rootfs" --numeric-owner -cf - . |
		ct_podman import --change 'CMD ["bash"]' --change "LABEL store.standin=$recipe" - \
			localhost/store-standin/debian:12-slim >>"$CT_DIR/standins.log" 2>&1 ||
		die "podman import of the debootstrapped root failed ($CT_DIR/standins.log)"
	ct_standin_tag localhost/store-standin/debian:12-slim debian:12-slim
	rm -rf "$rootfs"
}

# ct_standins: the other stand-ins, built from tests/compose/ on debian:12-slim (podman's layer
# cache makes this instant once built, and rebuilds one whose Dockerfile changed).
ct_standins() {
	local entry name dir
	: >"$CT_DIR/standins.log"
	ct_base_image
	for entry in "${COMPOSE_TEST_IMAGES[@]}"; do
		read -r name dir <<<"$entry"
		say "stand-in $name (tests/compose/$dir)"
		ct_podman build --pull=never --layers -t "localhost/store-standin/$name" "$ROOT/tests/compose/$dir" \
			>>"$CT_DIR/standins.log" 2>&1 || { tail -n 20 "$CT_DIR/standins.log" >&2; die "building the stand-in $name failed"; }
		ct_standin_tag "localhost/store-standin/$name" "$name"
	done
}

# ct_engine_up: containers.conf for the test's podman, then its API service on a socket.
ct_engine_up() {
	local nofile nproc
	# runc sets each container's limits, and without CAP_SYS_RESOURCE (a sandboxed host) it cannot
	# go beyond podman's own: podman's defaults (1048576 files, and as many processes) are clamped
	# to the hard limits podman runs with (it keeps at most 32768 processes for itself).
	nofile=$(ulimit -Hn) nproc=$(ulimit -Hu)
	if [[ $nofile == unlimited ]] || ((nofile > 1048576)); then nofile=1048576; fi
	if [[ $nproc == unlimited ]] || ((nproc > 32768)); then nproc=32768; fi
	cat >"$CT_CONF" <<-CONF
		[containers]
		default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
		[engine]
		runtime = "runc"
		cgroup_manager = "cgroupfs"
		events_logger = "file"
		[network]
		network_config_dir = "$CT_DIR/networks"
	CONF
	mkdir -p "$CT_RUNROOT" "$CT_DIR/networks"
	rm -f "$CT_RUNROOT/podman.sock"
	# Health checks: podman schedules them with systemd timers, which a host without systemd as
	# PID 1 lacks (DISABLE_HC_SYSTEMD: do not try); ct_health_driver runs them instead.
	DISABLE_HC_SYSTEMD=true "${CT_PODMAN[@]}" system service --time=0 "unix://$CT_RUNROOT/podman.sock" \
		>"$CT_DIR/podman-service.log" 2>&1 {CT_LOCK}>&- &
	CT_SERVICE_PID=$!
	local deadline=$((SECONDS + 30))
	until curl -fsS --max-time 2 --unix-socket "$CT_RUNROOT/podman.sock" http://d/_ping >/dev/null 2>&1; do
		kill -0 "$CT_SERVICE_PID" 2>/dev/null || { cat "$CT_DIR/podman-service.log" >&2; die "podman system service exited"; }
		((SECONDS < deadline)) || die "podman's API socket does not answer"
		sleep 0.5
	done
}

# ct_health_driver: runs the health check of each of the project's running containers at the
# interval its definition gives (what podman's systemd timers would do), until killed. (It runs
# under set -e, as all of scripts/store: every command that may fail is caught.)
ct_health_driver() {
	local id ns now
	local -A every=() due=()
	while :; do
		now=$(date +%s)
		for id in $("${CT_PODMAN[@]}" ps -q --filter "label=com.docker.compose.project=$CT_PROJECT" 2>/dev/null); do
			if [[ -z ${every[$id]:-} ]]; then
				# The interval in nanoseconds; none (0): no health check (the worker, the migrate job).
				ns=$("${CT_PODMAN[@]}" inspect --format '{{json .Config.Healthcheck.Interval}}' "$id" 2>/dev/null) || ns=0
				[[ $ns =~ ^[0-9]+$ ]] || ns=0
				every[$id]=$(((ns + 999999999) / 1000000000)) due[$id]=$now
			fi
			if ((every[$id] > 0 && now >= due[$id])); then
				DISABLE_HC_SYSTEMD=true timeout 20 "${CT_PODMAN[@]}" healthcheck run "$id" >/dev/null 2>&1 || true
				due[$id]=$(($(date +%s) + every[$id]))
			fi
		done
		sleep 1
	done
}

# ct_clean: the project's containers, volumes and networks (the images stay, as a cache).
ct_clean() {
	local kind filter="label=com.docker.compose.project=$CT_PROJECT"
	local -a ids
	if [[ -S $CT_RUNROOT/podman.sock ]]; then
		timeout 120 "${CT_COMPOSE[@]}" down -v --remove-orphans -t 10 >>"$CT_LOG" 2>&1 || true
	fi
	# Whatever down left (a run killed half-way): by the project's label.
	mapfile -t ids < <(ct_podman ps -aq --filter "$filter" 2>/dev/null)
	((${#ids[@]} == 0)) || ct_podman rm -f -v "${ids[@]}" >>"$CT_LOG" 2>&1 || true
	for kind in volume network; do
		mapfile -t ids < <(ct_podman "$kind" ls -q --filter "$filter" 2>/dev/null)
		((${#ids[@]} == 0)) || ct_podman "$kind" rm -f "${ids[@]}" >>"$CT_LOG" 2>&1 || true
	done
	return 0
}

# ct_save_logs: every container's log and exit code into var/compose-test/logs/ (before the cleanup
# removes them).
ct_save_logs() {
	local id name
	rm -rf "$CT_DIR/logs"
	mkdir -p "$CT_DIR/logs"
	for id in $("${CT_PODMAN[@]}" ps -aq --filter "label=com.docker.compose.project=$CT_PROJECT" 2>/dev/null); do
		name=$(ct_inspect "$id" '{{.Name}}') || name=$id
		{
			ct_inspect "$id" 'status {{.State.Status}}, exit code {{.State.ExitCode}}, restarts {{.RestartCount}}'
			"${CT_PODMAN[@]}" logs "$id" 2>&1
		} >"$CT_DIR/logs/$name.log" 2>&1
	done
}

ct_cleanup() {
	local rc=$?
	set +e
	[[ -n ${CT_DRIVER_PID:-} ]] && kill "$CT_DRIVER_PID" 2>/dev/null && wait "$CT_DRIVER_PID" 2>/dev/null
	if [[ -n ${CT_SERVICE_PID:-} ]]; then
		# Stopped first (the engine's default 10 s grace), so that the saved logs end with each
		# program's shutdown and its exit code.
		timeout 120 "${CT_COMPOSE[@]}" stop -t 10 >>"$CT_LOG" 2>&1
		ct_save_logs
		say "cleaning up the project $CT_PROJECT (containers, volumes, networks; the images stay)"
		ct_clean
		kill "$CT_SERVICE_PID" 2>/dev/null && wait "$CT_SERVICE_PID" 2>/dev/null
		# A conmon of this storage still running has nothing left to watch (its container is
		# gone): the test's own, found by the storage path on its command line.
		local pid
		for pid in $(pgrep -x conmon); do
			grep -qF "$CT_DIR/storage/" "/proc/$pid/cmdline" 2>/dev/null && kill "$pid" 2>/dev/null
		done
	fi
	[[ -n ${CT_TMP:-} ]] && rm -rf "$CT_TMP"
	((rc == 0)) || say "test-compose: FAIL (exit $rc, $((SECONDS - CT_STARTED)) s; logs: $CT_LOG, $CT_DIR/logs/)"
	return "$rc"
}

ct_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" || true; }

# ct_wait SECONDS WHAT COMMAND...: runs COMMAND every second until it succeeds; dies after SECONDS.
ct_wait() {
	local limit=$1 what=$2 deadline
	shift 2
	deadline=$((SECONDS + limit))
	until "$@"; do
		((SECONDS < deadline)) || die "$what: not within $limit s"
		sleep 1
	done
}

# ct_all_healthy: every service answers its health route through the gateway.
ct_all_healthy() {
	local entry
	for entry in "${SERVICES[@]}"; do
		[[ $(ct_code "$CT_URL$(svc_health "$entry")") == 200 ]] || return 1
	done
}

ct_login() {
	curl -s --max-time 10 -H 'Content-Type: application/json' \
		-d "{\"email\":\"$CT_EMAIL\",\"password\":\"$CT_PASSWORD\"}" "$CT_URL/api/v1/auth/login" |
		grep -q '"access_token"'
}

# (podman exec, not `docker-compose exec`: podman 4.3 leaves the conmon of an exec session made
# through its Docker API running after the session, one per call.)
ct_mail_arrived() {
	ct_podman exec "$(ct_container smtp)" grep -rlqF "$CT_EMAIL" /maildir/new /maildir/cur >/dev/null 2>&1
}

# ct_container SERVICE: the id of the service's (first) container.
ct_container() { ct_compose ps -q "$1" 2>/dev/null | head -n 1; }
ct_inspect() { ct_podman inspect --format "$2" "$1" 2>/dev/null; }
# ct_restarted ID COUNT: the container runs again, restarted COUNT times in all.
ct_restarted() { [[ $(ct_inspect "$1" '{{.RestartCount}} {{.State.Status}}') == "$2 running" ]]; }

# ct_up WHAT ARGS...: `up -d ARGS` (bounded), then every health route through the gateway.
ct_up() {
	local what=$1 started=$SECONDS
	shift
	say "$what: docker-compose up -d${*:+ $*} (log: $CT_LOG)"
	timeout "$CT_BUILD_TIMEOUT" "${CT_COMPOSE[@]}" up -d "$@" >>"$CT_LOG" 2>&1 ||
		{ tail -n 40 "$CT_LOG" >&2; die "$what: docker-compose up failed"; }
	ct_wait "$CT_TIMEOUT" "$what: every health route answering 200 through the gateway" ct_all_healthy
	say "$what: every service healthy through the gateway ($((SECONDS - started)) s)"
}

# test-compose: docker-compose.yml under podman with the stand-in images: build, up, health,
# register and login, the welcome e-mail, down and up keeping the data, a killed container
# restarted by its restart policy; everything of the project removed at the end.
cmd_test_compose() {
	((EUID == 0)) || die "test-compose runs as root (rootful podman)"
	CT_STARTED=$SECONDS
	CT_DIR=${STORE_VAR:-$ROOT/var}/compose-test
	[[ $CT_DIR == /* ]] || CT_DIR=$PWD/$CT_DIR # podman's storage wants one absolute path
	CT_RUNROOT=/run/store-compose-test CT_CONF=$CT_DIR/containers.conf
	CT_PROJECT=${STORE_COMPOSE_TEST_PROJECT:-store-compose-test}
	CT_PORT=${STORE_COMPOSE_TEST_PORT:-$COMPOSE_TEST_PORT}
	CT_TIMEOUT=${STORE_COMPOSE_TEST_TIMEOUT:-180}             # seconds for each wait on the stack
	CT_BUILD_TIMEOUT=${STORE_COMPOSE_TEST_BUILD_TIMEOUT:-1500} # seconds for `up` with the builds
	CT_URL=http://127.0.0.1:$CT_PORT
	[[ $CT_PORT =~ ^[1-9][0-9]{0,4}$ ]] || die "STORE_COMPOSE_TEST_PORT must be a port number, not '$CT_PORT'"
	[[ $CT_PROJECT =~ ^[a-z0-9][a-z0-9_-]*$ ]] || die "STORE_COMPOSE_TEST_PROJECT: lower-case letters, digits, - and _"
	mkdir -p "$CT_DIR"
	CT_LOG=$CT_DIR/compose.log
	: >"$CT_LOG"
	# One run at a time: the project name and the port are the test's own.
	exec {CT_LOCK}>"$CT_DIR/lock"
	flock -n "$CT_LOCK" || die "another test-compose runs ($CT_DIR/lock)"
	CT_TMP=$(mktemp -d)
	CT_PODMAN=(env CONTAINERS_CONF="$CT_CONF" podman --root "$CT_DIR/storage" --runroot "$CT_RUNROOT"
		--runtime runc --cgroup-manager cgroupfs --events-backend file --network-config-dir "$CT_DIR/networks")
	CT_COMPOSE=(env -i PATH="$PATH" HOME="$CT_TMP" LANG=C.UTF-8 DOCKER_HOST="unix://$CT_RUNROOT/podman.sock"
		DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0 COMPOSE_HTTP_TIMEOUT=600
		docker-compose --ansi never --env-file "$CT_TMP/env" --project-directory "$ROOT"
		-f "$ROOT/docker-compose.yml" -p "$CT_PROJECT")
	trap ct_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	# The secrets, as docs/OPERATIONS.md makes them, in a file of the temporary directory.
	local name
	{
		printf 'STORE_JWT_SECRET=%s\nSTORE_DB_ROOT_PASSWORD=%s\nSTORE_REDIS_PASSWORD=%s\n' \
			"$(random_hex 32)" "$(random_hex 16)" "$(random_hex 24)"
		for name in $(service_names); do printf 'STORE_DB_PASSWORD_%s=%s\n' "${name^^}" "$(random_hex 16)"; done
		printf 'STORE_HTTP_BIND=127.0.0.1\nSTORE_HTTP_PORT=%s\n' "$CT_PORT"
	} >"$CT_TMP/env"
	chmod 0600 "$CT_TMP/env"

	ensure_packages "${COMPOSE_TEST_PACKAGES[@]}"
	ct_engine_up
	# A project left over from an interrupted run goes first.
	ct_clean
	ct_standins

	ct_health_driver {CT_LOCK}>&- &
	CT_DRIVER_PID=$!

	# 1. Build every image and start the stack.
	ct_up "first start" --build
	local id status
	id=$(ct_compose ps -q migrate)
	status=$(ct_inspect "$id" '{{.State.Status}} {{.State.ExitCode}}')
	[[ $status == "exited 0" ]] || die "the migrate job: $status"
	say "the migrate job ran and exited 0"

	# 2. Register and sign in; the welcome e-mail reaches the SMTP sink's Maildir.
	CT_EMAIL="compose-$(random_hex 4)@test.example" CT_PASSWORD="correct horse battery staple"
	local c
	c=$(ct_code -H 'Content-Type: application/json' \
		-d "{\"email\":\"$CT_EMAIL\",\"password\":\"$CT_PASSWORD\",\"name\":\"Compose Test\"}" "$CT_URL/api/v1/auth/register")
	[[ $c == 201 ]] || die "register answered $c"
	ct_wait 30 "login of $CT_EMAIL" ct_login
	say "register (201) and login of $CT_EMAIL"
	ct_wait 60 "the welcome e-mail to $CT_EMAIL in the smtp container's Maildir" ct_mail_arrived
	say "the welcome e-mail reached the smtp container's Maildir"

	# 3. stop: every container ends on its stop signal within the grace period (none needs the
	# SIGKILL that follows it: exit code 137); then down (volumes kept) and up: the account is still there.
	say "docker-compose stop (30 s grace), then down (volumes kept)"
	timeout 300 "${CT_COMPOSE[@]}" stop -t 30 >>"$CT_LOG" 2>&1 || die "docker-compose stop failed"
	local killed=""
	for id in $(ct_podman ps -aq --filter "label=com.docker.compose.project=$CT_PROJECT"); do
		[[ $(ct_inspect "$id" '{{.State.ExitCode}}') != 137 ]] || killed+=" $(ct_inspect "$id" '{{.Name}}')"
	done
	[[ -z $killed ]] || die "SIGKILLed after 30 s, not stopped by their stop signal:$killed"
	say "every container stopped on its stop signal"
	timeout 300 "${CT_COMPOSE[@]}" down -t 30 >>"$CT_LOG" 2>&1 || die "docker-compose down failed"
	[[ -z $(ct_podman ps -aq --filter "label=com.docker.compose.project=$CT_PROJECT") ]] ||
		die "containers left after down"
	ct_up "after down"
	ct_wait 30 "login of $CT_EMAIL after down and up" ct_login
	say "the account survived down and up (login works)"

	# 4. A crash: the user service's process killed with SIGKILL (not a stop: a stop by hand is
	# not restarted); its restart policy brings it back, and requests succeed again.
	local pid restarts
	id=$(ct_container user)
	pid=$(ct_inspect "$id" '{{.State.Pid}}')
	restarts=$(ct_inspect "$id" '{{.RestartCount}}')
	[[ $pid =~ ^[1-9][0-9]*$ ]] || die "no pid for the user service's container"
	say "SIGKILL to the user service's process (pid $pid on this host)"
	kill -KILL "$pid"
	ct_wait 60 "the user service restarted by its restart policy" ct_restarted "$id" "$((restarts + 1))"
	ct_wait "$CT_TIMEOUT" "every health route after the kill" ct_all_healthy
	ct_wait 30 "login after the kill" ct_login
	say "the user service came back (restart count $((restarts + 1))); health and login answer"

	say "test-compose: PASS ($((SECONDS - CT_STARTED)) s)"
}

# shellcheck shell=bash
# processes.sh: starting, watching and stopping the local stack's processes (MariaDB, Redis, SMTP sink, services, workers).
#
# Sourced by scripts/store, which holds the settings (ports, package lists, the
# SERVICES list) this file reads; not a program of its own.

# alive PID: the process exists and is not a zombie.
alive() {
	local pid=$1 state
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
	state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
	[[ $state != Z ]]
}

# running NAME PATTERN: prints the pid when var/run/NAME.pid names a live process
# whose command line contains PATTERN (so a pid reused after a reboot is not ours).
running() {
	local pidfile=$RUN/$1.pid pid
	[[ -r $pidfile ]] || return 1
	pid=$(tr -dc '0-9' <"$pidfile")
	alive "$pid" || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
	printf '%s' "$pid"
}

# port_busy PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_busy() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# check_port PORT WHAT VARIABLE: refuse to start on a port someone else holds.
check_port() {
	! port_busy "$1" || die "port $1 ($2) is already in use by another program; set $3 to another port"
}

# wait_for WHAT PID COMMAND...: polls COMMAND until it succeeds, the process
# dies (then the log is shown) or START_TIMEOUT passes.
wait_for() {
	local what=$1 pid=$2 logfile=$3 deadline=$((SECONDS + START_TIMEOUT))
	shift 3
	until "$@" >/dev/null 2>&1; do
		if [[ -n $pid ]] && ! alive "$pid"; then
			tail -n 30 "$logfile" >&2 2>/dev/null || true
			die "$what exited during start (log: $logfile)"
		fi
		((SECONDS < deadline)) || { tail -n 30 "$logfile" >&2 2>/dev/null || true; die "$what did not become ready within ${START_TIMEOUT}s (log: $logfile)"; }
		sleep 0.2
	done
}

# spawn NAME LOGFILE COMMAND...: starts COMMAND in its own session, detached
# from this shell (so Ctrl-C here does not reach it), and writes its pid.
spawn() {
	local name=$1 logfile=$2
	shift 2
	# setsid execs in place (no fork) because the background job is not a
	# process-group leader, so $! is the program's own pid.
	(setsid "$@" </dev/null >>"$logfile" 2>&1 & echo $! >"$RUN/$name.pid")
}

# stop NAME PATTERN: SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL; removes the pid file.
stop() {
	local name=$1 pattern=$2 pid deadline
	if pid=$(running "$name" "$pattern"); then
		kill -TERM "$pid" 2>/dev/null || true
		deadline=$((SECONDS + STOP_TIMEOUT))
		while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
		if alive "$pid"; then
			warn "$name (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		say "stopped $name (pid $pid)"
	fi
	rm -f "$RUN/$name.pid"
}

# --- the stack, one function per part ---------------------------------------
make_dirs() {
	mkdir -p "$RUN" "$LOG" "$ENVDIR" "$REDIS_DIR" "$MAILDIR"/{cur,new,tmp} \
		"$NGINX_DIR"/{conf.d,tmp}
	(umask 077 && mkdir -p "$SECRETS")
}

# The ports a stack was started with, so status/down/migrate find it again.
write_stack_file() {
	printf 'HTTP_PORT=%s\nINTERNAL_PORT=%s\nDB_PORT=%s\nREDIS_PORT=%s\nSMTP_PORT=%s\n' \
		"$HTTP_PORT" "$INTERNAL_PORT" "$DB_PORT" "$REDIS_PORT" "$SMTP_PORT" >"$STACK_FILE"
	# The instances it was started with, so that down, restart and status find them all.
	printf '%s\n' "$INSTANCES" >"$VAR/instances"
	env | sed -n 's/^\(STORE_INSTANCES_[A-Z0-9]*=[1-9]\)$/\1/p' >>"$VAR/instances"
}

# load_instances: the instance counts the running stack was started with (see write_stack_file).
load_instances() {
	[[ -r $VAR/instances ]] || return 0
	local line
	{
		read -r INSTANCES
		while read -r line; do
			[[ $line =~ ^STORE_INSTANCES_[A-Z0-9]+=[1-9]$ ]] && export "${line?}"
		done
	} <"$VAR/instances"
}

# Refuse to change ports under processes that still use the old ones.
check_stack_ports() {
	[[ -r $STACK_FILE ]] || return 0
	local want had
	want=$(printf 'HTTP_PORT=%s\nINTERNAL_PORT=%s\nDB_PORT=%s\nREDIS_PORT=%s\nSMTP_PORT=%s\n' \
		"$HTTP_PORT" "$INTERNAL_PORT" "$DB_PORT" "$REDIS_PORT" "$SMTP_PORT")
	had=$(<"$STACK_FILE")
	[[ $want == "$had" ]] && return 0
	if any_running; then
		die "the stack in $VAR is running with other ports ($(tr '\n' ' ' <"$STACK_FILE")); run '$PROG down' first"
	fi
}

# Secrets are made once; later runs reuse them (the database keeps the passwords).
make_secrets() {
	local svc
	(
		umask 077
		[[ -s $SECRETS/jwt_secret ]] || random_hex 32 >"$SECRETS/jwt_secret"
		for svc in $(service_names); do
			[[ -s $SECRETS/db_$svc.password ]] || random_hex 24 >"$SECRETS/db_$svc.password"
		done
	)
}

admin_sql() { mariadb --no-defaults --socket="$DB_SOCKET" --user="$(id -un)" --batch --skip-column-names "$@"; }

start_mariadb() {
	local pid
	if pid=$(running mariadb mariadbd); then
		say "mariadb already running (pid $pid)"
		return 0
	fi
	if [[ ! -d $DB_DATA/mysql ]]; then
		say "creating MariaDB data directory $DB_DATA"
		mariadb-install-db --no-defaults --datadir="$DB_DATA" --user="$(id -un)" \
			--auth-root-authentication-method=socket --skip-test-db >"$LOG/mariadb-install.log" 2>&1 ||
			{ tail -n 20 "$LOG/mariadb-install.log" >&2; die "mariadb-install-db failed (log: $LOG/mariadb-install.log)"; }
	fi
	check_port "$DB_PORT" MariaDB STORE_DB_PORT
	say "starting mariadb on 127.0.0.1:$DB_PORT"
	rm -f "$DB_SOCKET"
	spawn mariadb "$LOG/mariadb.log" mariadbd --no-defaults --datadir="$DB_DATA" \
		--socket="$DB_SOCKET" --port="$DB_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
		--pid-file="$RUN/mariadb.pid" --log-error="$LOG/mariadb.log" --user="$(id -un)" \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
		--max-connections=1000 # one per thread of every instance (STORE_INSTANCES), and the tests'
	wait_for mariadb "$(<"$RUN/mariadb.pid")" "$LOG/mariadb.log" admin_sql -e 'SELECT 1'
}

start_redis() {
	local pid
	if pid=$(running redis redis-server); then
		say "redis already running (pid $pid)"
		return 0
	fi
	check_port "$REDIS_PORT" Redis STORE_REDIS_PORT
	say "starting redis on 127.0.0.1:$REDIS_PORT"
	# daemonize: redis forks and writes its own pid file. The append-only file in
	# var/redis (written at once, fsynced every second) keeps sessions and queued
	# jobs across down/up and a crash of Redis itself (a power loss may cost the
	# last second); the RDB snapshot is its compact base.
	# A Redis started with appendonly and no append-only file yet starts empty
	# (it ignores the snapshot): a stack made before AOF is switched on while
	# running instead, which writes the file from what was loaded.
	local aof=yes
	[[ -e $REDIS_DIR/dump.rdb && ! -d $REDIS_DIR/appendonlydir ]] && aof=no
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode yes \
		--dir "$REDIS_DIR" --pidfile "$RUN/redis.pid" --logfile "$LOG/redis.log" \
		--daemonize yes --save '60 1' --appendonly "$aof" --appendfsync everysec >/dev/null
	wait_for redis "" "$LOG/redis.log" redis_ping
	if [[ $aof == no ]]; then
		say "redis: switching the existing data to an append-only file"
		redis-cli -h 127.0.0.1 -p "$REDIS_PORT" config set appendonly yes >/dev/null
	fi
}

redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

start_smtp() {
	local pid
	if pid=$(running smtp aiosmtpd); then
		say "smtp sink already running (pid $pid)"
		return 0
	fi
	check_port "$SMTP_PORT" SMTP STORE_SMTP_PORT
	say "starting smtp sink on 127.0.0.1:$SMTP_PORT (Maildir $MAILDIR)"
	# Debian's python3, which has aiosmtpd; a python3 earlier on PATH may not.
	spawn smtp "$LOG/smtp.log" /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" \
		-c aiosmtpd.handlers.Mailbox "$MAILDIR"
	wait_for "smtp sink" "$(<"$RUN/smtp.pid")" "$LOG/smtp.log" port_busy "$SMTP_PORT"
}


# write_env NAME KIND: var/env/NAME.env (KEY=value lines, also valid as a
# systemd EnvironmentFile). KIND "service" adds the socket and database; NAME may be an
# instance (product-2): its own socket, its service's database.
write_env() {
	local name=$1 kind=$2 svc
	svc=$(instance_service "$1")
	(
		umask 077
		{
			echo "# $name: written by scripts/store up; rewritten on every up"
			if [[ $kind == service ]]; then
				echo "STORE_LISTEN=$RUN/$name.sock"
				echo "STORE_THREADS=${STORE_THREADS:-8}"
				echo "STORE_SOCKET_MODE=0666"
				echo "STORE_DB_HOST=127.0.0.1"
				echo "STORE_DB_PORT=$DB_PORT"
				echo "STORE_DB_SOCKET=$DB_SOCKET"
				echo "STORE_DB_NAME=store_$svc"
				echo "STORE_DB_USER=store_$svc"
				echo "STORE_DB_PASSWORD=$(<"$SECRETS/db_$svc.password")"
			fi
			echo "STORE_LOG_LEVEL=${STORE_LOG_LEVEL:-info}"
			echo "STORE_REDIS_HOST=127.0.0.1"
			echo "STORE_REDIS_PORT=$REDIS_PORT"
			echo "STORE_JWT_SECRET=$(<"$SECRETS/jwt_secret")"
			echo "STORE_INTERNAL_URL=http://127.0.0.1:$INTERNAL_PORT"
			echo "STORE_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT"
			echo "STORE_SMTP_FROM=${STORE_SMTP_FROM:-store@localhost}"
			if [[ $kind == worker ]]; then
				echo "STORE_TEMPLATE_DIR=$ROOT/worker/templates"
				echo "STORE_METRICS_FILE=$RUN/$name.prom"
			fi
		} >"$ENVDIR/$name.env"
	)
}

# start_program NAME BINARY: the program with exactly its env file's variables
# on top of this environment (ASAN_OPTIONS and the like pass through).
start_program() {
	local name=$1 bin=$2 pid
	local -a vars
	if pid=$(running "$name" "${bin##*/}"); then
		say "$name already running (pid $pid)"
		return 0
	fi
	[[ -x $bin ]] || die "$bin is not built (run '$PROG up' or make)"
	mapfile -t vars < <(grep -E '^[A-Z_][A-Z0-9_]*=' "$ENVDIR/$name.env")
	say "starting $name ($bin)"
	spawn "$name" "$LOG/$name.log" env "${vars[@]}" "$bin"
}

start_services() {
	local entry name inst f wanted
	for entry in "${SERVICES[@]}"; do
		name=$(svc_name "$entry")
		wanted=" $(instance_names "$name" | tr '\n' ' ')"
		for inst in $(instance_names "$name"); do
			write_env "$inst" service
			start_program "$inst" "$(service_binary "$name")"
		done
		# Instances beyond the count asked for now (an earlier up with more) are stopped, and
		# their env files go, running or not.
		for f in "$ENVDIR/$name"-[0-9].env "$RUN/$name"-[0-9].pid; do
			[[ -e $f ]] || continue
			inst=$(basename "${f%.*}")
			[[ $wanted == *" $inst "* ]] && continue
			say "removing $inst (STORE_INSTANCES is fewer now)"
			stop "$inst" "store-$name"
			rm -f "$RUN/$inst.sock" "$ENVDIR/$inst.env"
		done
	done
	for entry in "${WORKERS[@]}"; do
		name=$(worker_name "$entry")
		write_env "$name" worker
		start_program "$name" "$(worker_binary "$entry")"
	done
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" 2>/dev/null || true; }
health_ok() { [[ $(http_code "$1") == 200 ]]; }

wait_healthy() {
	local entry name url pid
	for entry in "${SERVICES[@]}"; do
		name=$(svc_name "$entry")
		url="http://127.0.0.1:$HTTP_PORT$(svc_health "$entry")"
		pid=$(running "$name" "store-$name") || pid=$(<"$RUN/$name.pid")
		wait_for "$name (GET $url)" "$pid" "$LOG/$name.log" health_ok "$url"
		say "$name healthy: $url"
	done
}
stack_up() {
	check_stack_ports
	make_dirs
	write_stack_file
	make_secrets
	start_mariadb
	run_migrations
	start_redis
	start_smtp
	start_services
	start_nginx
	wait_healthy
}

# The components in start order: name=pattern in its command line.
components() {
	echo mariadb=mariadbd
	echo redis=redis-server
	echo smtp=aiosmtpd
	echo nginx=nginx
	local entry name inst
	for entry in "${SERVICES[@]}"; do
		name=$(svc_name "$entry")
		for inst in $(instance_names "$name"); do echo "$inst=store-$name"; done
	done
	for entry in "${WORKERS[@]}"; do
		name=$(worker_name "$entry")
		echo "$name=$(basename "$(worker_binary "$entry")")"
	done
}

any_running() {
	local c
	for c in $(components); do
		running "${c%%=*}" "${c#*=}" >/dev/null && return 0
	done
	return 1
}

stop_programs() {
	local c
	for c in $(components | tail -n +5 | tac); do
		stop "${c%%=*}" "${c#*=}"
		rm -f "$RUN/${c%%=*}.sock"
	done
}

# stack_down: programs first (newest first), then nginx, smtp, redis, mariadb.
stack_down() {
	stop prometheus prometheus
	# Every instance the stack was started with; in a subshell, so that an `up` or `test` that
	# first clears a stack left running keeps the instance counts it was asked for.
	(
		load_instances
		stop_programs
	)
	stop nginx nginx
	# The stack's sink, or the light one bench/run puts in its place (a run killed before its
	# cleanup leaves it holding the port).
	if running smtp store-bench-smtp >/dev/null; then stop smtp store-bench-smtp; else stop smtp aiosmtpd; fi
	stop redis redis-server
	stop mariadb mariadbd
}

# --- commands --------------------------------------------------------------
cmd_up() {
	local with_prometheus=0
	if [[ ${1:-} == --with-prometheus ]]; then with_prometheus=1; shift; fi
	set_stack "${STORE_VAR:-$ROOT/var}" up
	ensure_run_packages
	build "$@"
	stack_up
	((with_prometheus)) && start_prometheus
	say "gateway: http://127.0.0.1:$HTTP_PORT/  (internal: http://127.0.0.1:$INTERNAL_PORT/)"
	say "try: curl -i http://127.0.0.1:$HTTP_PORT$(svc_health "${SERVICES[0]}")"
}

# restart SERVICE...: each instance of each service in turn: SIGTERM (it stops taking
# connections, the gateway sends new requests to the other instances, and it finishes those
# it took), then started again on its socket, before the next instance. With several
# instances no request fails; with one, requests arriving in the gap get the gateway's 502.
cmd_restart() {
	(($#)) || die "usage: $PROG restart SERVICE..."
	set_stack "${STORE_VAR:-$ROOT/var}" up
	load_stack_ports
	load_instances
	local name inst known
	known=" $(service_names | tr '\n' ' ')"
	for name in "$@"; do
		[[ $known == *" $name "* ]] || die "no service '$name' (the SERVICES list: $known)"
	done
	local -a up
	for name in "$@"; do
		# First the instances that are not running (a crash: no supervisor here), so that the
		# others have company before they go one by one.
		up=()
		for inst in $(instance_names "$name"); do
			if running "$inst" "store-$name" >/dev/null; then
				up+=("$inst")
			else
				restart_instance "$name" "$inst"
			fi
		done
		for inst in "${up[@]}"; do restart_instance "$name" "$inst"; done
	done
}

# restart_instance SERVICE INSTANCE: stops it if it runs (SIGTERM: it stops taking connections
# and finishes those it took), starts it, and waits until it listens.
restart_instance() {
	local name=$1 inst=$2 deadline mark
	stop "$inst" "store-$name"
	[[ -r $ENVDIR/$inst.env ]] || write_env "$inst" service
	# Ready is the new process's own "listening" line, written after its socket is bound and its
	# threads wait (an older line, or the socket file a killed process left, says nothing).
	mark=$(stat -c %s "$LOG/$inst.log" 2>/dev/null || echo 0)
	start_program "$inst" "$(service_binary "$name")"
	deadline=$((SECONDS + 30))
	until tail -c +"$((mark + 1))" "$LOG/$inst.log" 2>/dev/null | grep -q 'msg="listening on'; do
		((SECONDS < deadline)) || die "$inst did not start listening (log: $LOG/$inst.log)"
		sleep 0.1
	done
	say "$inst restarted"
}

cmd_down() {
	set_stack "${STORE_VAR:-$ROOT/var}" up
	stack_down
	say "stack in $VAR stopped (data kept)"
}

cmd_status() {
	set_stack "${STORE_VAR:-$ROOT/var}" up
	load_stack_ports
	load_instances
	local c pid entry url code rc=0
	printf '%-10s %-8s %s\n' PROCESS STATE PID
	for c in $(components); do
		if pid=$(running "${c%%=*}" "${c#*=}"); then
			printf '%-10s %-8s %s\n' "${c%%=*}" running "$pid"
		else
			printf '%-10s %-8s %s\n' "${c%%=*}" stopped -
			rc=1
		fi
	done
	echo
	printf '%-10s %-6s %s\n' SERVICE HTTP 'HEALTH URL'
	for entry in "${SERVICES[@]}"; do
		url="http://127.0.0.1:$HTTP_PORT$(svc_health "$entry")"
		code=$(http_code "$url")
		[[ $code == 200 ]] || rc=1
		printf '%-10s %-6s %s\n' "$(svc_name "$entry")" "${code:-000}" "$url"
	done
	return "$rc"
}

cmd_logs() {
	set_stack "${STORE_VAR:-$ROOT/var}" up
	local follow=()
	if [[ ${1:-} == -f ]]; then follow=(-F); shift; fi
	if [[ $# -gt 0 ]]; then
		[[ -e $LOG/$1.log ]] || die "no log $LOG/$1.log (see: ls $LOG)"
		tail -n 100 "${follow[@]}" "$LOG/$1.log"
	else
		shopt -s nullglob
		local files=("$LOG"/*.log)
		((${#files[@]})) || die "no logs in $LOG yet"
		tail -n 20 "${follow[@]}" "${files[@]}"
	fi
}

# shellcheck shell=bash
# jobs.sh: `scripts/store jobs`: the e-mail job stream (see worker/queue.h for the keys).
#
# Sourced by scripts/store, which holds the settings (ports, package lists, the
# SERVICES list) this file reads; not a program of its own.

# --- jobs: the e-mail job stream (see worker/queue.h for the keys) ----------
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

# The group's lag (entries not handed to any worker yet) and pending count, from XINFO GROUPS.
jobs_group_field() {
	rcli XINFO GROUPS "$1" 2>/dev/null | awk -v want="$2" 'prev == want { print; exit } { prev = $0 }'
}

jobs_status() {
	local s=$1 len waiting pending delayed dead
	len=$(rcli XLEN "$s")
	waiting=$(jobs_group_field "$s" lag)
	pending=$(jobs_group_field "$s" pending)
	delayed=$(rcli ZCARD "$s:delayed")
	dead=$(rcli XLEN "$s:dead")
	printf 'stream %s (redis 127.0.0.1:%s)\n' "$s" "$REDIS_PORT"
	printf '  %-12s %8s  %s\n' length "$len" "entries on the stream (acknowledged ones stay a day)" \
		waiting "${waiting:--}" "not handed to a worker yet" \
		pending "${pending:--}" "handed to a worker, not acknowledged yet" \
		delayed "$delayed" "$s:delayed: waiting for their next attempt" \
		dead "$dead" "$s:dead: '$PROG jobs dead' lists them, 'jobs retry-dead' re-queues them"
	if [[ -n $pending ]]; then
		echo "consumers (name, pending, idle ms):"
		rcli XINFO CONSUMERS "$s" workers | awk '
			prev == "name" { name = $0 } prev == "pending" { pending = $0 }
			prev == "idle" { printf "  %-40s %6s %10s\n", name, pending, $0 } { prev = $0 }'
	fi
}

# The newest N dead letters, two lines each: id, time, attempts and error; then the job.
jobs_dead() {
	# shellcheck disable=SC2016 # Lua, not shell
	rcli EVAL '
		local out = {}
		for _, e in ipairs(redis.call("XREVRANGE", KEYS[1], "+", "-", "COUNT", tonumber(ARGV[1]))) do
			local h = {}
			for i = 1, #e[2], 2 do h[e[2][i]] = e[2][i + 1] end
			table.insert(out, e[1] .. "  " .. (h.failed_at or "") .. "  attempts=" .. (h.attempts or "?") ..
				"  " .. (h.error or ""))
			table.insert(out, "    " .. (h.job or ""))
		end
		return out' 1 "$1:dead" "$2"
}

# Moves dead letters (all, or the one with entry id $2) back onto the stream as new jobs
# with fresh attempts, in one script per 100 so a worker never sees half a move.
jobs_retry_dead() {
	local s=$1 first=${2:--} last=${2:-+} n total=0
	[[ $first == - || $first =~ ^[0-9]+-[0-9]+$ ]] || die "not a stream entry id: $first"
	while :; do
		# shellcheck disable=SC2016 # Lua, not shell
		n=$(rcli EVAL '
			local n = 0
			for _, e in ipairs(redis.call("XRANGE", KEYS[2], ARGV[1], ARGV[2], "COUNT", 100)) do
				for i = 1, #e[2], 2 do
					if e[2][i] == "job" then redis.call("XADD", KEYS[1], "*", "job", e[2][i + 1]) break end
				end
				redis.call("XDEL", KEYS[2], e[1])
				n = n + 1
			end
			return n' 2 "$s" "$s:dead" "$first" "$last")
		[[ $n =~ ^[0-9]+$ ]] || die "redis: $n"
		total=$((total + n))
		((n == 100)) || break
	done
	say "re-queued $total dead job(s) onto $s"
}

# jobs [dead [N] | retry-dead [ID]]: counts of the e-mail job stream, its dead letters, re-queueing.
cmd_jobs() {
	set_stack "${STORE_VAR:-$ROOT/var}" up
	load_stack_ports
	redis_ping || die "the Redis of $VAR (port $REDIS_PORT) is not running; run '$PROG up' first"
	local stream=${STORE_JOB_STREAM:-jobs:email}
	case ${1:-} in
	"") jobs_status "$stream" ;;
	dead) jobs_dead "$stream" "${2:-20}" ;;
	retry-dead) jobs_retry_dead "$stream" "${2:-}" ;;
	*) die "usage: $PROG jobs [dead [N] | retry-dead [ID]]" ;;
	esac
}

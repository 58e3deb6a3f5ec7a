# shellcheck shell=bash
# common.sh: small helpers shared by every module: messages, the SERVICES list's fields, the paths and ports of a stack.
#
# Sourced by scripts/store, which holds the settings (ports, package lists, the
# SERVICES list) this file reads; not a program of its own.

# --- small helpers ---------------------------------------------------------
die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }
say() { printf '==> %s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }

# The fields of one SERVICES entry "NAME HEALTH ROUTE...".
svc_name() { local name rest; read -r name rest <<<"$1"; printf '%s' "$name"; }
svc_health() { local name health rest; read -r name health rest <<<"$1"; printf '%s' "$health"; }
svc_routes() { local name health routes; read -r name health routes <<<"$1"; printf '%s' "$routes"; }
worker_name() { printf '%s' "${1%%=*}"; }
service_names() { local s; for s in "${SERVICES[@]}"; do svc_name "$s"; echo; done; }
service_binary() { printf '%s' "$ROOT/fcgi-apps/$1/store-$1"; }

# instance_names SERVICE: the names of the service's instances on a local stack: SERVICE, then
# SERVICE-2 ... SERVICE-N (each its own process, socket, env file, log and pid file), N being
# STORE_INSTANCES_<SERVICE> or INSTANCES (STORE_INSTANCES; STORE_TEST_INSTANCES for the test stack).
instance_names() {
	local var n i
	var=STORE_INSTANCES_${1^^}
	n=${!var:-${INSTANCES:-1}}
	[[ $n =~ ^[1-9]$ ]] || die "$var / STORE_INSTANCES must be 1 to 9, not '$n'"
	printf '%s\n' "$1"
	for ((i = 2; i <= n; i++)); do printf '%s-%d\n' "$1" "$i"; done
}
# instance_service INSTANCE: the service an instance name belongs to (product-2: product).
instance_service() { printf '%s' "${1%-[0-9]}"; }
worker_binary() { printf '%s' "$ROOT/${1#*=}"; }

# set_stack VAR_DIR MODE: the paths and ports of one stack (MODE "up" or "test").
# shellcheck disable=SC2034 # the paths and ports set here are read by the other modules
set_stack() {
	VAR=$1
	case $VAR in /*) ;; *) VAR=$PWD/$VAR ;; esac
	[[ $VAR =~ ^[A-Za-z0-9/._+-]+$ ]] || die "the var directory '$VAR' must not contain spaces or shell/nginx special characters"
	if [[ $2 == test ]]; then
		HTTP_PORT=${STORE_TEST_HTTP_PORT:-$TEST_HTTP_PORT}
		INTERNAL_PORT=${STORE_TEST_INTERNAL_PORT:-$TEST_INTERNAL_PORT}
		DB_PORT=${STORE_TEST_DB_PORT:-$TEST_DB_PORT}
		REDIS_PORT=${STORE_TEST_REDIS_PORT:-$TEST_REDIS_PORT}
		SMTP_PORT=${STORE_TEST_SMTP_PORT:-$TEST_SMTP_PORT}
		AUTH_RATE=${STORE_TEST_AUTH_RATE:-$TEST_AUTH_RATE}
		AUTH_BURST=${STORE_TEST_AUTH_BURST:-$TEST_AUTH_BURST}
		INSTANCES=${STORE_TEST_INSTANCES:-$TEST_INSTANCES}
	else
		HTTP_PORT=${STORE_HTTP_PORT:-$DEFAULT_HTTP_PORT}
		INTERNAL_PORT=${STORE_INTERNAL_PORT:-$DEFAULT_INTERNAL_PORT}
		DB_PORT=${STORE_DB_PORT:-$DEFAULT_DB_PORT}
		REDIS_PORT=${STORE_REDIS_PORT:-$DEFAULT_REDIS_PORT}
		SMTP_PORT=${STORE_SMTP_PORT:-$DEFAULT_SMTP_PORT}
		AUTH_RATE=${STORE_AUTH_RATE:-$DEFAULT_AUTH_RATE}
		AUTH_BURST=${STORE_AUTH_BURST:-$DEFAULT_AUTH_BURST}
		INSTANCES=${STORE_INSTANCES:-1}
	fi
	CONN_PER_CLIENT=${STORE_CONN_PER_CLIENT:-$DEFAULT_CONN_PER_CLIENT}
	PROMETHEUS_PORT=${STORE_PROMETHEUS_PORT:-$DEFAULT_PROMETHEUS_PORT}
	check_numbers
	# The local stack listens on loopback only.
	HTTP_BIND=127.0.0.1 INTERNAL_BIND=127.0.0.1
	RUN=$VAR/run LOG=$VAR/log SECRETS=$VAR/secrets ENVDIR=$VAR/env
	DB_DATA=$VAR/mariadb DB_SOCKET=$VAR/run/mysqld.sock
	REDIS_DIR=$VAR/redis MAILDIR=$VAR/mail NGINX_DIR=$VAR/nginx
	STACK_FILE=$VAR/stack.env
	# A unix socket path must fit sockaddr_un (108 bytes with the NUL).
	((${#DB_SOCKET} < 100)) || die "var directory path too long for unix sockets: $VAR (set STORE_VAR)"
}

check_numbers() {
	local v
	for v in HTTP_PORT INTERNAL_PORT DB_PORT REDIS_PORT SMTP_PORT AUTH_RATE AUTH_BURST CONN_PER_CLIENT; do
		[[ ${!v} =~ ^[1-9][0-9]{0,4}$ ]] || die "$v must be a positive integer, not '${!v}'"
	done
}

# load_stack_ports: a running stack keeps the ports it was started with.
load_stack_ports() {
	[[ -r $STACK_FILE ]] || return 0
	local k v
	while IFS='=' read -r k v; do
		case $k in
		HTTP_PORT | INTERNAL_PORT | DB_PORT | REDIS_PORT | SMTP_PORT) printf -v "$k" '%s' "$v" ;;
		esac
	done <"$STACK_FILE"
}

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

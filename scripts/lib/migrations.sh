# shellcheck shell=bash
# migrations.sh: the databases: migrations, the first admin, demo data.
#
# Sourced by scripts/store, which holds the settings (ports, package lists, the
# SERVICES list) this file reads; not a program of its own.

run_migrations() {
	local -a names
	mapfile -t names < <(service_names)
	MIGRATE_DB_SOCKET=$DB_SOCKET MIGRATE_ADMIN_USER=$(id -un) MIGRATE_SECRETS_DIR=$SECRETS \
		MIGRATE_ACCOUNT_HOSTS="localhost 127.0.0.1" MIGRATE_SQL_DIR=$ROOT/sql \
		"$ROOT/scripts/migrate" "${names[@]}"
}

# stack_up: everything after the build; shared by `up` and `test`.
cmd_migrate() {
	set_stack "${STORE_VAR:-$ROOT/var}" up
	load_stack_ports
	running mariadb mariadbd >/dev/null || die "MariaDB of $VAR is not running; run '$PROG up' first"
	make_secrets
	run_migrations
}

# create-admin [--host] EMAIL: creates (or promotes) an admin with the password read from
# standard input (one line), through the user service's own code and database account: the
# local stack's (var/env/user.env and the build), or with --host a systemd install's
# (/etc/store/user.env and /usr/local/bin/store-user, as root).
cmd_create_admin() {
	local env bin
	if [[ ${1:-} == --host ]]; then
		shift
		env=$HOST_ETC/user.env bin=/usr/local/bin/store-user
		[[ -r $env ]] || die "cannot read $env (run as root, after '$PROG host-install')"
	else
		set_stack "${STORE_VAR:-$ROOT/var}" up
		env=$ENVDIR/user.env bin=$(service_binary user)
		[[ -r $env ]] || die "no $env; run '$PROG up' first"
	fi
	local email=${1:?usage: $PROG create-admin [--host] EMAIL  (password on standard input)}
	[[ -x $bin ]] || die "$bin is not built; run '$PROG up' (or host-install) first"
	(
		set -a
		# shellcheck disable=SC1090,SC1091
		. "$env"
		set +a
		exec "$bin" create-admin "$email"
	)
}

# seed: loads the demo catalogue (scripts/seed/NN-<service>.sql, in order, each into its service's database).
# Idempotent: the seed files insert by unique keys.
cmd_seed() {
	set_stack "${STORE_VAR:-$ROOT/var}" up
	load_stack_ports
	running mariadb mariadbd >/dev/null || die "MariaDB of $VAR is not running; run '$PROG up' first"
	local f svc
	for f in "$ROOT"/scripts/seed/*.sql; do
		svc=$(basename "$f" .sql)
		svc=${svc#*-} # NN-<service>.sql: NN orders the files
		say "seeding store_$svc from ${f#"$ROOT"/}"
		admin_sql --database="store_$svc" <"$f" || die "seeding store_$svc failed"
	done
	# The catalogue changed behind the product service: drop its cached reads.
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --scan --pattern 'product:*' | xargs -r redis-cli -h 127.0.0.1 -p "$REDIS_PORT" DEL >/dev/null
	say "demo data loaded"
}

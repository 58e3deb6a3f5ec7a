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

# create-admin EMAIL: creates (or promotes) an admin with the password read from
# standard input (one line), through the user service's own code and database account.
cmd_create_admin() {
	local email=${1:?usage: $PROG create-admin EMAIL  (password on standard input)}
	set_stack "${STORE_VAR:-$ROOT/var}" up
	[[ -r $ENVDIR/user.env ]] || die "no $ENVDIR/user.env; run '$PROG up' first"
	[[ -x $(service_binary user) ]] || die "$(service_binary user) is not built; run '$PROG up' first"
	(
		set -a
		# shellcheck disable=SC1090,SC1091
		. "$ENVDIR/user.env"
		set +a
		exec "$(service_binary user)" create-admin "$email"
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

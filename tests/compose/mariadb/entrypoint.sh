#!/bin/bash
# entrypoint.sh: the stand-in mariadb:10.11's entrypoint. As the official one: options alone mean
# mariadbd with them; an empty data directory is initialised first (root@localhost and root@'%' with
# MARIADB_ROOT_PASSWORD, and a `healthcheck` account whose credentials healthcheck.sh reads from
# /var/lib/mysql/.my-healthcheck.cnf), by a server that listens on its unix socket only meanwhile.
set -euo pipefail
DATADIR=/var/lib/mysql SOCKET=/run/mysqld/mysqld.sock

case ${1:-} in -* | '') set -- mariadbd "$@" ;; esac
[[ $1 == mariadbd || $1 == mysqld ]] || exec "$@"

log() { printf '%s [Note] [Entrypoint]: %s\n' "$(date '+%F %T')" "$*" >&2; }
# sql_string VALUE: VALUE as a single-quoted SQL string literal.
sql_string() { local s=${1//\\/\\\\}; printf "'%s'" "${s//\'/\\\'}"; }

mkdir -p "$DATADIR" /run/mysqld
chown mysql:mysql "$DATADIR" /run/mysqld
if [[ ! -d $DATADIR/mysql ]]; then
	root_pw=${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}
	[[ -n $root_pw ]] || { echo "the database is uninitialised and MARIADB_ROOT_PASSWORD is not set" >&2; exit 1; }
	log "initialising $DATADIR"
	mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db --auth-root-authentication-method=normal \
		--skip-name-resolve --skip-log-bin >/dev/null
	"$@" --user=mysql --skip-networking --socket="$SOCKET" &
	pid=$!
	for ((i = 0; i < 60; i++)); do
		mariadb --no-defaults --socket="$SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || { echo "the initialising server exited" >&2; exit 1; }
		sleep 1
	done
	health_pw=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
	mariadb --no-defaults --socket="$SOCKET" -uroot <<-SQL
		-- mariadb-install-db also made root at 127.0.0.1, ::1 and the host name without a password.
		DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');
		DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost';
		FLUSH PRIVILEGES;
		SET PASSWORD FOR 'root'@'localhost' = PASSWORD($(sql_string "$root_pw"));
		CREATE USER 'root'@'%' IDENTIFIED BY $(sql_string "$root_pw");
		GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
		CREATE USER 'healthcheck'@'127.0.0.1' IDENTIFIED BY '$health_pw';
		CREATE USER 'healthcheck'@'::1' IDENTIFIED BY '$health_pw';
		CREATE USER 'healthcheck'@'localhost' IDENTIFIED BY '$health_pw';
		GRANT USAGE ON *.* TO 'healthcheck'@'127.0.0.1', 'healthcheck'@'::1', 'healthcheck'@'localhost';
	SQL
	printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\n' "$SOCKET" "$health_pw" \
		>"$DATADIR/.my-healthcheck.cnf"
	chown mysql:mysql "$DATADIR/.my-healthcheck.cnf"
	chmod 0600 "$DATADIR/.my-healthcheck.cnf"
	MYSQL_PWD=$root_pw mariadb-admin --no-defaults --socket="$SOCKET" -uroot shutdown
	wait "$pid" || true
	log "initialised; starting the server"
fi
exec "$@" --user=mysql

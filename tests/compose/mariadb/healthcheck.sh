#!/bin/bash
# healthcheck.sh: the stand-in mariadb:10.11's health check, for the tests docker-compose.yml names:
#   --connect              a TCP connection to the server is accepted (as the official one: a refused
#                          login still counts; only "Can't connect" fails)
#   --innodb_initialized   InnoDB is up (asked as the healthcheck account the entrypoint made)
# Each named test must pass; exit 0 if all do.
set -uo pipefail
# The healthcheck account's credentials (the entrypoint wrote them); without them, no option file.
defaults=(--no-defaults)
[[ -r /var/lib/mysql/.my-healthcheck.cnf ]] && defaults=(--defaults-file=/var/lib/mysql/.my-healthcheck.cnf)
client() { mariadb "${defaults[@]}" -h 127.0.0.1 --protocol tcp "$@"; }
(($# > 0)) || set -- --connect
for test in "$@"; do
	case $test in
	--connect)
		out=$(client -e 'SELECT 1' 2>&1)
		grep -qF "Can't connect" <<<"$out" && { echo "healthcheck connect failed" >&2; exit 1; } ;;
	--innodb_initialized)
		[[ $(client -N -B -e "SELECT 1 FROM information_schema.ENGINES WHERE engine = 'innodb' AND support IN ('YES', 'DEFAULT', 'ENABLED')" 2>/dev/null) == 1 ]] ||
			{ echo "healthcheck innodb_initialized failed" >&2; exit 1; } ;;
	--*) ;; # the official image's other tests are not used by docker-compose.yml
	esac
done
exit 0

# shellcheck shell=bash
# host.sh: installing (and upgrading) the platform on a Debian 12 host under systemd, from a
# checkout: the procedure of docs/OPERATIONS.md "systemd", as one command.
#
# Sourced by scripts/store, which holds the settings this file reads; not a program of its own.

# What a host runs besides the build (no SMTP sink, no benchmark tools: a real relay is configured).
HOST_PACKAGES=(mariadb-server mariadb-client redis-server nginx-light ca-certificates curl logrotate)
HOST_ETC=${STORE_HOST_ETC:-/etc/store}
HOST_DB_SOCKET=/run/mysqld/mysqld.sock
HOST_HTTP_PORT=8080 HOST_INTERNAL_PORT=8081

# host_secret FILE BYTES: FILE holds BYTES random bytes in hex, made once (never rewritten).
host_secret() {
	[[ -s $1 ]] && return 0
	(umask 077 && random_hex "$2" >"$1.new" && mv "$1.new" "$1")
}

# host_env TEMPLATE NAME [SERVICE]: HOST_ETC/NAME.env from systemd/env/TEMPLATE, unless it exists
# (an operator's edits are kept; delete the file to have it written again). NAME may be a
# further instance of SERVICE (product-2), which uses its service's database.
host_env() {
	local out=$HOST_ETC/$2.env svc=${3:-$2} pw=""
	if [[ -e $out ]]; then
		say "keeping $out"
		return 0
	fi
	[[ $1 == service.env.example ]] && pw=$(<"$HOST_ETC/secrets/db_$svc.password")
	(
		umask 077
		sed -e "s|@NAME@|$2|g" -e "s|@SERVICE@|$svc|g" -e "s|@DB_PASSWORD@|$pw|" -e "s|@JWT_SECRET@|$(<"$HOST_ETC/secrets/jwt_secret")|" \
			-e "s|@SMTP_URL@|$(sed_escape "${STORE_SMTP_URL:-smtp://127.0.0.1:25}")|" \
			-e "s|@SMTP_FROM@|$(sed_escape "${STORE_SMTP_FROM:-store@$(hostname -f 2>/dev/null || hostname)}")|" \
			"$ROOT/systemd/env/$1" >"$out.new"
		mv "$out.new" "$out"
	)
	say "wrote $out"
}

# host_wait_health: every service's health route through the gateway answers 200 (60 s at most).
host_wait_health() {
	local entry url deadline=$((SECONDS + 60))
	for entry in "${SERVICES[@]}"; do
		url="http://127.0.0.1:$HOST_HTTP_PORT$(svc_health "$entry")"
		until [[ $(http_code "$url") == 200 ]]; do
			((SECONDS < deadline)) || die "$url does not answer 200"
			sleep 0.5
		done
	done
	say "every service answers 200 through the gateway on port $HOST_HTTP_PORT"
}

# host-install: run as root on a Debian 12 host with systemd, from a checkout. Installs the
# packages, builds and installs the programs, makes the secrets (once) and the env files
# (unless they exist), sets Redis to append-only, creates the databases and accounts and
# applies the migrations, renders the gateway, installs the units and the log rotation, and
# starts everything. Run again after a `git pull`, it is the upgrade: build, install, migrate,
# then restart the services one at a time (each socket keeps its connections meanwhile).
# STORE_HTTP_BIND (default 0.0.0.0), STORE_SMTP_URL, STORE_SMTP_FROM are read the first time;
# STORE_INSTANCES / STORE_INSTANCES_<SERVICE> (1) instances of each service (store-svc@product-2 ...).
cmd_host_install() {
	((EUID == 0)) || die "host-install runs as root"
	[[ -d /run/systemd/system ]] || die "systemd is not running here (host-install sets up systemd units)"
	local name upgrade=0
	# Instances of each service on this host (STORE_INSTANCES, STORE_INSTANCES_<SERVICE>; 1).
	# shellcheck disable=SC2034 # read by instance_names (scripts/lib/common.sh)
	INSTANCES=${STORE_INSTANCES:-1}
	[[ -e /etc/systemd/system/store-svc@.service ]] && upgrade=1
	ensure_packages "${BUILD_PACKAGES[@]}" "${HOST_PACKAGES[@]}"
	# The API reference the gateway serves is built with npm, unless it was built elsewhere.
	[[ -n ${STORE_DOCS_FROM:-} ]] || ensure_packages -- node=nodejs npm=npm

	say "building and installing into /usr/local"
	build
	make -C "$ROOT" install >/dev/null

	install -d -m 0755 "$HOST_ETC"
	install -d -m 0700 "$HOST_ETC/secrets"
	host_secret "$HOST_ETC/secrets/jwt_secret" 32
	local inst
	for name in $(service_names); do
		host_secret "$HOST_ETC/secrets/db_$name.password" 24
		for inst in $(instance_names "$name"); do host_env service.env.example "$inst" "$name"; done
	done
	host_env worker.env.example worker

	say "MariaDB and Redis (Redis: append-only file, fsynced every second)"
	sed -i -e 's/^#* *appendonly .*/appendonly yes/' -e 's/^#* *appendfsync .*/appendfsync everysec/' /etc/redis/redis.conf
	systemctl enable --now mariadb.service redis-server.service
	systemctl restart redis-server.service
	local -a names
	mapfile -t names < <(service_names)
	MIGRATE_DB_SOCKET=$HOST_DB_SOCKET MIGRATE_ADMIN_USER=root MIGRATE_SECRETS_DIR=$HOST_ETC/secrets \
		"$ROOT/scripts/migrate" "${names[@]}"

	STORE_HTTP_BIND=${STORE_HTTP_BIND:-0.0.0.0} STORE_HTTP_PORT=$HOST_HTTP_PORT STORE_INTERNAL_PORT=$HOST_INTERNAL_PORT \
		cmd_gateway_config "$HOST_ETC/nginx"
	install -m 0644 "$ROOT"/systemd/*.service "$ROOT"/systemd/*.socket /etc/systemd/system/
	install -m 0644 "$ROOT/systemd/store-gateway.logrotate" /etc/logrotate.d/store-gateway
	systemctl daemon-reload
	# The worker first: an upgraded service may queue an e-mail type the old worker has no
	# template for, and the old worker would dead-letter it.
	if ((upgrade)); then
		systemctl restart store-worker.service
	fi
	for name in $(service_names); do
		for inst in $(instance_names "$name"); do
			systemctl enable --now "store-svc@$inst.socket"
			systemctl enable "store-svc@$inst.service"
			if ((upgrade)); then
				# One at a time: the socket queues requests while the service restarts.
				systemctl restart "store-svc@$inst.service"
				# A binary from before the socket was kept shut it down on SIGTERM: then the socket
				# unit failed, and both are started again (once; later upgrades never need it).
				if ! systemctl is-active --quiet "store-svc@$inst.socket"; then
					warn "store-svc@$inst.socket was closed by the old binary; starting it and the service again"
					systemctl restart "store-svc@$inst.socket" "store-svc@$inst.service"
				fi
			else
				systemctl start "store-svc@$inst.service"
			fi
		done
	done
	systemctl enable store-worker.service store-gateway.service
	if ((upgrade)); then
		systemctl reload-or-restart store-gateway.service
	else
		systemctl start store-worker.service store-gateway.service
	fi
	host_wait_health
	say "installed. First admin: $PROG create-admin --host EMAIL (password on standard input)"
}

# --- test-systemd: the procedure above, in a booted Debian 12 container ---------------------
# What the container's root holds besides Debian's minimal base: systemd to boot, everything
# host-install would install (the container has no network), and what the test itself uses.
SYSTEMD_TEST_PACKAGES=(systemd systemd-sysv dbus procps iproute2 "${BUILD_PACKAGES[@]}" "${HOST_PACKAGES[@]}"
	python3-aiosmtpd wrk)

# systemd_test_root ROOT: a Debian 12 root with SYSTEMD_TEST_PACKAGES, made once by debootstrap
# and kept (ROOT.pristine) for the next runs; ROOT is a fresh copy of it each time.
systemd_test_root() {
	local croot=$1 want
	want=$(printf '%s\n' "${SYSTEMD_TEST_PACKAGES[@]}" | sort | tr '\n' ' ')
	if [[ ! -r $croot.pristine/.store-packages || $(<"$croot.pristine/.store-packages") != "$want" ]]; then
		say "debootstrap of Debian 12 into $croot.pristine (once; a few minutes)"
		rm -rf "$croot.pristine" "$croot.new"
		debootstrap --variant=minbase --include="$(tr ' ' ',' <<<"${want% }")" bookworm "$croot.new" \
			>"$croot.debootstrap.log" 2>&1 || { tail -n 20 "$croot.debootstrap.log" >&2; die "debootstrap failed"; }
		printf '%s' "$want" >"$croot.new/.store-packages"
		mv "$croot.new" "$croot.pristine"
	fi
	rm -rf "$croot"
	cp -a "$croot.pristine" "$croot"
}

# test-systemd: boots a Debian 12 container (systemd-nspawn, its own network namespace with
# loopback only) whose test unit runs tests/systemd/in-container: `host-install` from a copy of
# this checkout's tracked files, then health, sign-in, e-mail, restarts and kills of every
# service under load with zero failed requests, a reboot, and everything back after it.
# --root-only: make (or check) the cached root and stop; .ci/run does this while the suite runs.
cmd_test_systemd() {
	((EUID == 0)) || die "test-systemd runs as root (systemd-nspawn)"
	local root_only=0
	case ${1:-} in
	--root-only) root_only=1 ;;
	"") ;;
	*) die "test-systemd: unknown option $1 (only --root-only)" ;;
	esac
	ensure_packages systemd-container debootstrap
	local dir=$ROOT/var/systemd-test croot boot rc started=$SECONDS
	croot=$dir/root
	mkdir -p "$dir"
	systemd_test_root "$croot"
	if ((root_only)); then
		say "test-systemd: the root is ready ($((SECONDS - started)) s)"
		return 0
	fi
	say "copying the checkout (tracked files) and the API reference into the container"
	mkdir -p "$croot/srv/store"
	git -C "$ROOT" ls-files -z | (cd "$ROOT" && tar --null -T - -cf -) | tar -xf - -C "$croot/srv/store"
	build_docs "$croot/srv/docs"
	install -d "$croot/var/mail/sink/tmp" "$croot/var/mail/sink/new" "$croot/var/mail/sink/cur"
	cat >"$croot/etc/systemd/system/store-test-smtp.service" <<-UNIT
		[Unit]
		Description=test SMTP sink (Maildir /var/mail/sink)
		[Service]
		ExecStart=/usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:2525 -c aiosmtpd.handlers.Mailbox /var/mail/sink
		[Install]
		WantedBy=multi-user.target
	UNIT
	cat >"$croot/etc/systemd/system/store-systemd-test.service" <<-UNIT
		[Unit]
		Description=scripts/store test-systemd, inside the container
		After=multi-user.target store-test-smtp.service
		[Service]
		Type=oneshot
		ExecStart=/srv/store/tests/systemd/in-container
		TimeoutStartSec=15min
		[Install]
		WantedBy=multi-user.target
	UNIT
	ln -sf /etc/systemd/system/store-test-smtp.service "$croot/etc/systemd/system/multi-user.target.wants/"
	ln -sf /etc/systemd/system/store-systemd-test.service "$croot/etc/systemd/system/multi-user.target.wants/"
	for boot in 1 2; do
		say "boot $boot of the container (log: $dir/boot-$boot.log)"
		rc=0
		# Not under systemd here: no machine registration, no scope unit of its own.
		timeout 900 systemd-nspawn -b -D "$croot" --register=no --keep-unit --private-network -q \
			>"$dir/boot-$boot.log" 2>&1 || rc=$?
		# 133: the container asked for a reboot (boot 1 ends so); 0: it powered off.
		[[ $rc == 0 || $rc == 133 ]] || { tail -n 30 "$dir/boot-$boot.log" >&2; die "boot $boot: systemd-nspawn exit $rc"; }
		[[ -e $croot/var/lib/store-test/result ]] && break
	done
	cat "$croot/var/lib/store-test/log" 2>/dev/null
	local result
	result=$(cat "$croot/var/lib/store-test/result" 2>/dev/null || echo "FAIL: no result")
	say "test-systemd: $result ($((SECONDS - started)) s)"
	[[ $result == PASS ]]
}

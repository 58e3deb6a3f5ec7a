# shellcheck shell=bash
# nginx.sh: the gateway: rendering nginx/store.conf.in and running nginx.
#
# Sourced by scripts/store, which holds the settings (ports, package lists, the
# SERVICES list) this file reads; not a program of its own.

# sed_escape: a value safe as the replacement of s|...|...|.
sed_escape() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

# render_nginx OUT_DIR PID ERROR_LOG ACCESS_LOG TEMP_DIR CONF_D SOCK_DIR USER_LINE:
# the gateway template with explicit values, plus problem-pages.conf beside it.
render_nginx() {
	local out=$1 tmp
	tmp=$(mktemp "$out/nginx.conf.XXXXXX")
	sed -e "s|@HTTP_BIND@|$(sed_escape "$HTTP_BIND")|g" \
		-e "s|@HTTP_PORT@|$HTTP_PORT|g" \
		-e "s|@INTERNAL_BIND@|$(sed_escape "$INTERNAL_BIND")|g" \
		-e "s|@INTERNAL_PORT@|$INTERNAL_PORT|g" \
		-e "s|@PID_FILE@|$(sed_escape "$2")|g" \
		-e "s|@ERROR_LOG@|$(sed_escape "$3")|g" \
		-e "s|@ACCESS_LOG@|$(sed_escape "$4")|g" \
		-e "s|@TEMP_DIR@|$(sed_escape "$5")|g" \
		-e "s|@CONF_D@|$(sed_escape "$6")|g" \
		-e "s|@SOCK_DIR@|$(sed_escape "$7")|g" \
		-e "s|@USER_LINE@|$(sed_escape "$8")|g" \
		-e "s|@FASTCGI_PARAMS@|/etc/nginx/fastcgi_params|g" \
		-e "s|@AUTH_RATE@|$AUTH_RATE|g" \
		-e "s|@AUTH_BURST@|$AUTH_BURST|g" \
		"$ROOT/nginx/store.conf.in" >"$tmp"
	! grep -n '^[^#]*@[A-Z_]*@' "$tmp" >&2 || die "unrendered placeholder in nginx/store.conf.in"
	cp "$ROOT/nginx/problem-pages.conf" "$out/problem-pages.conf"
	mv "$tmp" "$out/nginx.conf"
}

nginx_cmd() { nginx -p "$NGINX_DIR/" -c "$NGINX_DIR/nginx.conf" -e "$LOG/nginx-error.log" "$@"; }

start_nginx() {
	local pid user_line old=""
	if ((EUID == 0)); then
		user_line="user $(id -un) $(id -gn);"
	else
		user_line="# user: not started as root, so the workers run as $(id -un)"
	fi
	[[ -f $NGINX_DIR/nginx.conf ]] && old=$(<"$NGINX_DIR/nginx.conf")
	render_nginx "$NGINX_DIR" "$RUN/nginx.pid" "$LOG/nginx-error.log" "$LOG/nginx-access.log" \
		"$NGINX_DIR/tmp" "$NGINX_DIR/conf.d" "$RUN" "$user_line"
	nginx_cmd -t -q || die "nginx rejected $NGINX_DIR/nginx.conf"
	if pid=$(running nginx nginx); then
		if [[ $old != "$(<"$NGINX_DIR/nginx.conf")" ]]; then
			say "nginx running (pid $pid); configuration changed, reloading"
			nginx_cmd -s reload
		else
			say "nginx already running (pid $pid)"
		fi
		return 0
	fi
	check_port "$HTTP_PORT" "public gateway" STORE_HTTP_PORT
	check_port "$INTERNAL_PORT" "internal gateway" STORE_INTERNAL_PORT
	say "starting nginx on 127.0.0.1:$HTTP_PORT (internal 127.0.0.1:$INTERNAL_PORT)"
	nginx_cmd # daemonizes; the master writes var/run/nginx.pid
	wait_for nginx "" "$LOG/nginx-error.log" port_busy "$HTTP_PORT"
}
# gateway-config DIR: the gateway configuration for a systemd install (see
# systemd/store-gateway.service): sockets in /run/store, logs to the journal,
# listeners on STORE_HTTP_BIND:STORE_HTTP_PORT and STORE_INTERNAL_BIND:STORE_INTERNAL_PORT.
cmd_gateway_config() {
	local out=${1:?usage: $PROG gateway-config DIR}
	HTTP_PORT=${STORE_HTTP_PORT:-$DEFAULT_HTTP_PORT}
	INTERNAL_PORT=${STORE_INTERNAL_PORT:-$DEFAULT_INTERNAL_PORT}
	AUTH_RATE=${STORE_AUTH_RATE:-$DEFAULT_AUTH_RATE}
	AUTH_BURST=${STORE_AUTH_BURST:-$DEFAULT_AUTH_BURST}
	# Not used by the gateway; set only so that check_numbers passes.
	# shellcheck disable=SC2034 # read by check_numbers through ${!v}
	DB_PORT=1 REDIS_PORT=1 SMTP_PORT=1
	# On a host the public listener usually faces the network: STORE_HTTP_BIND=0.0.0.0.
	HTTP_BIND=${STORE_HTTP_BIND:-127.0.0.1} INTERNAL_BIND=${STORE_INTERNAL_BIND:-127.0.0.1}
	local ip_re='^([0-9.]+|\[[0-9A-Fa-f:]+\])$' # IPv4, or IPv6 in brackets
	[[ $HTTP_BIND =~ $ip_re && $INTERNAL_BIND =~ $ip_re ]] ||
		die "STORE_HTTP_BIND and STORE_INTERNAL_BIND must be IPv4 addresses or [IPv6] ones"
	check_numbers
	mkdir -p "$out/conf.d"
	render_nginx "$out" /run/store-gateway/nginx.pid stderr /var/log/store-gateway/access.log \
		/var/cache/store-gateway "$out/conf.d" /run/store "# user: set by the systemd unit (User=)"
	say "wrote $out/nginx.conf and $out/problem-pages.conf"
}

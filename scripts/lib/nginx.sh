# shellcheck shell=bash
# nginx.sh: the gateway: rendering nginx/store.conf.in and running nginx.
#
# Sourced by scripts/store, which holds the settings (ports, package lists, the
# SERVICES list) this file reads; not a program of its own.

# sed_escape: a value safe as the replacement of s|...|...|.
sed_escape() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

# check_services: every SERVICES entry is "NAME HEALTH ROUTE..." as described
# above the list in scripts/store; dies naming the first entry that is not.
check_services() {
	local entry name health route seen=" "
	for entry in "${SERVICES[@]}"; do
		name=$(svc_name "$entry") health=$(svc_health "$entry")
		[[ $name =~ ^[a-z][a-z0-9]*$ ]] || die "SERVICES: '$entry': the name must be lower-case letters and digits"
		[[ $seen != *" $name "* ]] || die "SERVICES: '$name' is listed twice"
		seen+="$name "
		[[ $health =~ ^/[A-Za-z0-9/._-]+$ ]] || die "SERVICES: '$entry': no health path"
		[[ -n $(svc_routes "$entry") ]] || die "SERVICES: '$entry': no public route"
		for route in $(svc_routes "$entry"); do
			[[ $route =~ ^/[A-Za-z0-9/._-]*[A-Za-z0-9._-](:auth)?$ || $route =~ ^~[^\"\\[:space:]]+$ ]] ||
				die "SERVICES: '$name': route '$route' is neither /PATH, /PATH:auth nor ~REGEX (no quotes, backslash-free)"
		done
	done
}

# How the locations name a service's address: "store_<name>", an upstream block (a host,
# where the sockets never move), or, with GATEWAY_RESOLVER_CONF set (compose), "$store_<name>",
# a variable holding <name>:9000, which nginx resolves again as the resolver's answers expire:
# an upstream block's names are resolved once at start, and compose gives a recreated
# container a new address (#18.6).
GATEWAY_RESOLVER_CONF=""
# Set for a systemd install, whose sockets outlive their services (see nginx_upstreams).
GATEWAY_RETRY_SAME=""
pass_prefix() { [[ -n $GATEWAY_RESOLVER_CONF ]] && printf '$'; return 0; }

# nginx_upstreams FORMAT: what each service's name stands for; FORMAT is its server address
# with %s for the service's name (unix:/run/store/%s.sock, %s:9000).
nginx_upstreams() {
	local entry name inst
	if [[ -n $GATEWAY_RESOLVER_CONF ]]; then
		printf '    # resolver <the container'"'"'s name server> valid=...: written at container start\n'
		printf '    include %s;\n' "$GATEWAY_RESOLVER_CONF"
	fi
	for entry in "${SERVICES[@]}"; do
		name=$(svc_name "$entry")
		if [[ -n $GATEWAY_RESOLVER_CONF ]]; then
			# shellcheck disable=SC2059 # the format is the caller's address pattern
			printf "    map \$host \$store_%s { default $1; }\n" "$name" "$name"
		elif [[ -n $GATEWAY_RETRY_SAME ]]; then
			# Each instance's socket (store-svc@<name>, @<name>-2 ...); with one instance, the
			# same socket twice: a GET whose connection the service dropped (it crashed) is tried
			# again (fastcgi_next_upstream: error, timeout) on the "next" server, which is then
			# that socket: systemd queues it there for the restarted service. max_fails=0:
			# never marked down. Non-idempotent requests are never retried by nginx.
			local -a insts
			mapfile -t insts < <(instance_names "$name")
			((${#insts[@]} > 1)) || insts+=("$name")
			printf '    upstream store_%s {\n' "$name"
			for inst in "${insts[@]}"; do
				# shellcheck disable=SC2059 # the format is the caller's address pattern
				printf "        server $1 max_fails=0;\n" "$inst"
			done
			printf '    }\n'
		else
			# One server per instance (a local stack's STORE_INSTANCES): a request whose
			# instance refuses the connection or drops it goes to the next (GETs; a POST only
			# when it was not sent yet). max_fails=0: an instance is never set aside, so that
			# during a rolling restart the one just restarted takes requests at once (with the
			# default, the two restarted one after the other were both "down" for 10 s).
			printf '    upstream store_%s {\n' "$name"
			for inst in $(instance_names "$name"); do
				# shellcheck disable=SC2059 # the format is the caller's address pattern
				printf "        server $1 max_fails=0;\n" "$inst"
			done
			printf '    }\n'
		fi
	done
}

# nginx_public_locations: the public listener's locations of every service, from its routes.
nginx_public_locations() {
	local entry name route path zone
	for entry in "${SERVICES[@]}"; do
		name=$(svc_name "$entry")
		printf '\n        # %s service: %s\n' "$name" "$(svc_routes "$entry")"
		for route in $(svc_routes "$entry"); do
			case $route in
			~*)
				printf '        location ~ "%s" { fastcgi_pass %sstore_%s; }\n' "${route#\~}" "$(pass_prefix)" "$name"
				;;
			*:*)
				path=${route%:*} zone=${route##*:}
				printf '        location = %s { fastcgi_pass %sstore_%s; }\n' "$path" "$(pass_prefix)" "$name"
				printf '        location %s/ {\n            limit_req zone=%s burst=%s nodelay;\n            fastcgi_pass %sstore_%s;\n        }\n' \
					"$path" "$zone" "$AUTH_BURST" "$(pass_prefix)" "$name"
				;;
			*)
				printf '        location = %s { fastcgi_pass %sstore_%s; }\n' "$route" "$(pass_prefix)" "$name"
				printf '        location %s/ { fastcgi_pass %sstore_%s; }\n' "$route" "$(pass_prefix)" "$name"
				;;
			esac
		done
	done
}

# The worker's metrics file (STORE_METRICS_FILE), served at /internal/worker/metrics when set.
WORKER_METRICS_FILE=""

# nginx_internal_locations: /internal/<name>/ of every service, for the internal listener.
nginx_internal_locations() {
	local name
	for name in $(service_names); do
		printf '        location /internal/%s/ { fastcgi_pass %sstore_%s; }\n' "$name" "$(pass_prefix)" "$name"
	done
	if [[ -n $WORKER_METRICS_FILE ]]; then
		printf '        # The worker has no listener: the file it rewrites every 5 s.\n'
		printf '        location = /internal/worker/metrics {\n            alias %s;\n' "$WORKER_METRICS_FILE"
		printf '            default_type "text/plain; version=0.0.4";\n            access_log off;\n        }\n'
	fi
}

# nginx_real_ip: the realip lines for STORE_TRUSTED_PROXIES (addresses or CIDR ranges,
# space-separated): a request from one of them is taken to come from the last address of its
# X-Forwarded-For that is not a trusted proxy, for the per-client limits and the logs.
nginx_real_ip() {
	local p
	if [[ -z ${STORE_TRUSTED_PROXIES:-} ]]; then
		printf '    # no STORE_TRUSTED_PROXIES: the client is the connection'"'"'s address\n'
		return 0
	fi
	for p in $STORE_TRUSTED_PROXIES; do
		[[ $p =~ ^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$ ]] || die "STORE_TRUSTED_PROXIES: '$p' is not an address or CIDR range"
		printf '    set_real_ip_from %s;\n' "$p"
	done
	printf '    real_ip_header X-Forwarded-For;\n    real_ip_recursive on;\n'
}

# render_nginx OUT_DIR PID ERROR_LOG ACCESS_LOG TEMP_DIR CONF_D UPSTREAM USER_LINE DOCS_DIR:
# the gateway template with explicit values and the services' upstreams and
# locations (UPSTREAM: a service's server address, %s for its name; see
# nginx_upstreams), plus problem-pages.conf and docs-location.conf beside it.
# DOCS_DIR holds what /docs/ serves (build_docs in scripts/lib/docs.sh).
render_nginx() {
	local out=$1 tmp parts
	check_services
	tmp=$(mktemp "$out/nginx.conf.XXXXXX")
	parts=$(mktemp -d)
	nginx_upstreams "$7" >"$parts/upstreams"
	nginx_public_locations >"$parts/public"
	nginx_internal_locations >"$parts/internal"
	nginx_real_ip >"$parts/realip"
	# A placeholder line of its own is replaced by a generated part (sed's r, then d).
	sed -e "/^ *@SERVICE_UPSTREAMS@\$/{r $parts/upstreams" -e 'd' -e '}' \
		-e "/^ *@SERVICE_PUBLIC_LOCATIONS@\$/{r $parts/public" -e 'd' -e '}' \
		-e "/^ *@SERVICE_INTERNAL_LOCATIONS@\$/{r $parts/internal" -e 'd' -e '}' \
		-e "/^ *@REAL_IP@\$/{r $parts/realip" -e 'd' -e '}' \
		"$ROOT/nginx/store.conf.in" |
		sed -e "s|@HTTP_BIND@|$(sed_escape "$HTTP_BIND")|g" \
			-e "s|@HTTP_PORT@|$HTTP_PORT|g" \
			-e "s|@INTERNAL_BIND@|$(sed_escape "$INTERNAL_BIND")|g" \
			-e "s|@INTERNAL_PORT@|$INTERNAL_PORT|g" \
			-e "s|@PID_FILE@|$(sed_escape "$2")|g" \
			-e "s|@ERROR_LOG@|$(sed_escape "$3")|g" \
			-e "s|@ACCESS_LOG@|$(sed_escape "$4")|g" \
			-e "s|@TEMP_DIR@|$(sed_escape "$5")|g" \
			-e "s|@CONF_D@|$(sed_escape "$6")|g" \
			-e "s|@USER_LINE@|$(sed_escape "$8")|g" \
			-e "s|@DOCS_DIR@|$(sed_escape "$9")|g" \
			-e "s|@FASTCGI_PARAMS@|/etc/nginx/fastcgi_params|g" \
			-e "s|@AUTH_RATE@|$AUTH_RATE|g" \
			-e "s|@AUTH_BURST@|$AUTH_BURST|g" \
			-e "s|@CONN_PER_CLIENT@|$CONN_PER_CLIENT|g" >"$tmp"
	rm -rf "$parts"
	! grep -n '^[^#]*@[A-Z_]*@' "$tmp" >&2 || die "unrendered placeholder in nginx/store.conf.in"
	cp "$ROOT/nginx/problem-pages.conf" "$out/problem-pages.conf"
	cp "$ROOT/nginx/docs-location.conf" "$out/docs-location.conf"
	# Readable by the user nginx runs as (www-data under systemd), whatever the umask and
	# mktemp's 0600: the configuration holds no secret.
	chmod 0644 "$tmp" "$out/problem-pages.conf" "$out/docs-location.conf"
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
	build_docs "$VAR/docs"
	local WORKER_METRICS_FILE=$RUN/worker.prom
	render_nginx "$NGINX_DIR" "$RUN/nginx.pid" "$LOG/nginx-error.log" "$LOG/nginx-access.log" \
		"$NGINX_DIR/tmp" "$NGINX_DIR/conf.d" "unix:$RUN/%s.sock" "$user_line" "$VAR/docs"
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

# gateway-config [--compose] DIR: the gateway configuration for a systemd install
# (see systemd/store-gateway.service): sockets in /run/store, logs to the journal,
# listeners on STORE_HTTP_BIND:STORE_HTTP_PORT and STORE_INTERNAL_BIND:STORE_INTERNAL_PORT.
# With --compose, the one of the gateway image of docker-compose.yml (the Dockerfile
# renders it at build): services at <name>:9000 on the compose network, listeners on
# 8080 and 8081 of every address, pid and temp files in /tmp, logs to the container's output.
# /docs/ is served from DIR/docs: built here for a host (npm fetches Swagger UI into var/tools);
# the compose image copies it from its docs stage (`scripts/store docs-build`, see the Dockerfile).
cmd_gateway_config() {
	local compose=no
	if [[ ${1:-} == --compose ]]; then compose=yes; shift; fi
	local out=${1:?usage: $PROG gateway-config [--compose] DIR}
	AUTH_RATE=${STORE_AUTH_RATE:-$DEFAULT_AUTH_RATE}
	AUTH_BURST=${STORE_AUTH_BURST:-$DEFAULT_AUTH_BURST}
	CONN_PER_CLIENT=${STORE_CONN_PER_CLIENT:-$DEFAULT_CONN_PER_CLIENT}
	# Not used by the gateway; set only so that check_numbers passes.
	# shellcheck disable=SC2034 # read by check_numbers through ${!v}
	DB_PORT=1 REDIS_PORT=1 SMTP_PORT=1
	if [[ $compose == yes ]]; then
		# The ports inside the container; docker-compose.yml publishes 8080 only.
		HTTP_PORT=8080 INTERNAL_PORT=8081 HTTP_BIND=0.0.0.0 INTERNAL_BIND=0.0.0.0
	else
		HTTP_PORT=${STORE_HTTP_PORT:-$DEFAULT_HTTP_PORT}
		INTERNAL_PORT=${STORE_INTERNAL_PORT:-$DEFAULT_INTERNAL_PORT}
		# On a host the public listener usually faces the network: STORE_HTTP_BIND=0.0.0.0.
		HTTP_BIND=${STORE_HTTP_BIND:-127.0.0.1} INTERNAL_BIND=${STORE_INTERNAL_BIND:-127.0.0.1}
	fi
	local ip_re='^([0-9.]+|\[[0-9A-Fa-f:]+\])$' # IPv4, or IPv6 in brackets
	[[ $HTTP_BIND =~ $ip_re && $INTERNAL_BIND =~ $ip_re ]] ||
		die "STORE_HTTP_BIND and STORE_INTERNAL_BIND must be IPv4 addresses or [IPv6] ones"
	check_numbers
	mkdir -p "$out/conf.d"
	if [[ $compose == yes ]]; then
		local GATEWAY_RESOLVER_CONF=/tmp/store-resolver.conf
		render_nginx "$out" /tmp/nginx.pid stderr /dev/stdout /tmp "$out/conf.d" "%s:9000" \
			"# user: the image's USER (www-data)" "$out/docs"
	else
		out=$(cd "$out" && pwd)
		# STORE_DOCS_FROM: docs built elsewhere by `docs-build` (a host without npm).
		if [[ -n ${STORE_DOCS_FROM:-} ]]; then
			[[ -d $STORE_DOCS_FROM/public && -d $STORE_DOCS_FROM/internal ]] ||
				die "STORE_DOCS_FROM=$STORE_DOCS_FROM has no public/ and internal/ (scripts/store docs-build DIR)"
			rm -rf "$out/docs"
			cp -r "$STORE_DOCS_FROM" "$out/docs"
		else
			build_docs "$out/docs"
		fi
		local WORKER_METRICS_FILE=/run/store-worker/worker.prom # systemd/store-worker.service
		local GATEWAY_RETRY_SAME=1
		# shellcheck disable=SC2034 # read by instance_names (scripts/lib/common.sh)
		local INSTANCES=${STORE_INSTANCES:-1} # host-install's instances of each service
		render_nginx "$out" /run/store-gateway/nginx.pid stderr /var/log/store-gateway/access.log \
			/var/cache/store-gateway "$out/conf.d" "unix:/run/store/%s.sock" "# user: set by the systemd unit (User=)" \
			"$out/docs"
		# nginx reads all of it as www-data (store-gateway.service), also when written with umask 077.
		chmod 0755 "$out" "$out/conf.d"
		find "$out/docs" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
	fi
	say "wrote $out/nginx.conf, problem-pages.conf, docs-location.conf and docs/"
}

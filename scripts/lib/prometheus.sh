# shellcheck shell=bash
# prometheus.sh: a Prometheus scraping the local stack (`up --with-prometheus`), and the metrics checks of `test`.
#
# Sourced by scripts/store, which holds the settings this file reads; not a program of its own.

# prometheus_jobs INTERNAL: the scrape jobs, one per service and one for the worker, all
# through the gateway's internal listener at INTERNAL (host:port).
prometheus_jobs() {
	local name
	for name in $(service_names) worker; do
		printf '  - job_name: store-%s\n    metrics_path: /internal/%s/metrics\n' "$name" "$name"
		printf '    static_configs:\n      - targets: ["%s"]\n' "$1"
	done
}

# render_prometheus DIR INTERNAL: DIR/prometheus.yml from deploy/prometheus/prometheus.yml.in.
render_prometheus() {
	local dir=$1 jobs
	mkdir -p "$dir"
	jobs=$(mktemp)
	prometheus_jobs "$2" >"$jobs"
	sed -e "s|@RULES@|$(sed_escape "$ROOT/deploy/prometheus/alerts.yml")|" \
		-e "/^@JOBS@\$/{r $jobs" -e 'd' -e '}' "$ROOT/deploy/prometheus/prometheus.yml.in" >"$dir/prometheus.yml"
	rm -f "$jobs"
}

# start_prometheus: Debian's prometheus on 127.0.0.1:PROMETHEUS_PORT, its data in VAR/prometheus.
start_prometheus() {
	local pid
	ensure_packages prometheus
	render_prometheus "$VAR/prometheus" "127.0.0.1:$INTERNAL_PORT"
	promtool check config "$VAR/prometheus/prometheus.yml" >/dev/null || die "promtool refused $VAR/prometheus/prometheus.yml"
	if pid=$(running prometheus prometheus); then
		say "prometheus already running (pid $pid); reloading its configuration"
		kill -HUP "$pid"
		return 0
	fi
	check_port "$PROMETHEUS_PORT" Prometheus STORE_PROMETHEUS_PORT
	say "starting prometheus on http://127.0.0.1:$PROMETHEUS_PORT/ (scraping every service and the worker)"
	spawn prometheus "$LOG/prometheus.log" prometheus --config.file="$VAR/prometheus/prometheus.yml" \
		--storage.tsdb.path="$VAR/prometheus/data" --web.listen-address="127.0.0.1:$PROMETHEUS_PORT"
	wait_for prometheus "$(<"$RUN/prometheus.pid")" "$LOG/prometheus.log" port_busy "$PROMETHEUS_PORT"
}

# test_metrics_format: every service's metrics, the worker's and the gateway's status as a
# scraper reads them through the internal listener, checked by promtool; the alert rules
# and the rendered Prometheus configuration too.
test_metrics_format() {
	local name out rc=0 tmp
	tmp=$(mktemp -d)
	for name in $(service_names) worker; do
		out=$(curl -sf --max-time 10 "http://127.0.0.1:$INTERNAL_PORT/internal/$name/metrics") ||
			{ echo "GET /internal/$name/metrics failed"; rc=1; continue; }
		if ! promtool check metrics <<<"$out"; then
			echo "promtool refused the metrics of $name"; rc=1
		fi
		echo "$name: $(grep -vc '^#' <<<"$out") samples, promtool: valid"
	done
	curl -sf --max-time 10 "http://127.0.0.1:$INTERNAL_PORT/internal/nginx/status" | grep -q '^Active connections:' ||
		{ echo "the gateway's stub_status does not answer on the internal listener"; rc=1; }
	promtool check rules "$ROOT/deploy/prometheus/alerts.yml" || rc=1
	render_prometheus "$tmp" "127.0.0.1:$INTERNAL_PORT"
	promtool check config "$tmp/prometheus.yml" || rc=1
	rm -rf "$tmp"
	return "$rc"
}

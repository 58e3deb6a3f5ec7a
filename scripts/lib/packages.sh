# shellcheck shell=bash
# packages.sh: Debian packages and the autotools build.
#
# Sourced by scripts/store, which holds the settings (ports, package lists, the
# SERVICES list) this file reads; not a program of its own.

# --- packages and build ----------------------------------------------------
# ensure_packages PACKAGES... -- COMMAND=PACKAGE...: installs what is missing.
ensure_packages() {
	local -a missing=()
	local p
	while [[ $# -gt 0 && $1 != -- ]]; do
		[[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == ii* ]] || missing+=("$1")
		shift
	done
	[[ ${1:-} == -- ]] && shift
	for p in "$@"; do
		command -v "${p%%=*}" >/dev/null 2>&1 || missing+=("${p#*=}")
	done
	((${#missing[@]} == 0)) && return 0

	local -a sudo=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null 2>&1 || die "missing packages (${missing[*]}), and not root and no sudo to install them"
		sudo=(sudo -n)
	fi
	say "installing ${missing[*]}"
	# One install at a time among our own commands (.ci/run runs two at once), and apt waits for
	# anyone else's lock instead of failing.
	local lock=${TMPDIR:-/tmp}/store-packages.lock
	(
		flock -w 900 9 || die "waited 15 minutes for $lock"
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq -o DPkg::Lock::Timeout=600 ||
			die "apt-get update failed (not root? run: sudo apt-get install ${missing[*]})"
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			-o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
			"${missing[@]}" || die "apt-get install failed: ${missing[*]}"
	) 9>"$lock" || exit 1
}

ensure_run_packages() { ensure_packages "${BUILD_PACKAGES[@]}" "${RUN_PACKAGES[@]}" -- "${RUN_COMMANDS[@]}"; }
ensure_test_packages() {
	ensure_packages "${BUILD_PACKAGES[@]}" "${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}" -- \
		"${RUN_COMMANDS[@]}" "${TEST_COMMANDS[@]}"
}

# build [CONFIGURE ARGS]: autoreconf and configure only when needed, then make.
build() {
	local args="$*" jobs
	jobs=$(nproc 2>/dev/null || echo 2)
	mkdir -p "$ROOT/var"
	cd "$ROOT" || exit
	if [[ ! -x configure ]]; then
		say "autoreconf -fi"
		autoreconf -fi
	fi
	if [[ ! -f Makefile || ! -f $BUILD_STAMP || $(<"$BUILD_STAMP") != "$args" ]]; then
		say "./configure $args"
		./configure "$@"
		# Objects built with other flags (say, without ASan) must not be linked in.
		make clean >/dev/null
		printf '%s' "$args" >"$BUILD_STAMP"
	fi
	say "make -j$jobs"
	make -j"$jobs"
}

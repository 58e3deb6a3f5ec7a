# shellcheck shell=bash
# docs.sh: the npm tools under var/tools, and the gateway's /docs/: Swagger UI with the API specs.
#
# Sourced by scripts/store, which holds the settings (NPM_TOOLS and the versions) this file
# reads; not a program of its own.

# ensure_npm_tools NAME@VERSION...: installs into TOOLS_DIR each package that is missing or at
# another version (exact pins, one npm call for all of them). Never prompts.
ensure_npm_tools() {
	local spec name want have pkg
	local -a missing=()
	command -v npm >/dev/null 2>&1 || die "npm is not installed (apt-get install npm)"
	for spec in "$@"; do
		name=${spec%@*} want=${spec##*@} have=""
		pkg=$TOOLS_DIR/node_modules/$name/package.json
		[[ -r $pkg ]] && have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkg" | head -n 1)
		[[ $have == "$want" ]] || missing+=("$spec")
	done
	((${#missing[@]} == 0)) && return 0
	say "installing ${missing[*]} into $TOOLS_DIR"
	mkdir -p "$TOOLS_DIR"
	# PUPPETEER_SKIP_DOWNLOAD: puppeteer-core never downloads a browser, this is belt and braces.
	NPM_CONFIG_UPDATE_NOTIFIER=false PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund \
		--save-exact --prefix "$TOOLS_DIR" "${missing[@]}" >&2
}

# tool NAME: the path of an installed npm tool's program.
tool() { printf '%s/node_modules/.bin/%s' "$TOOLS_DIR" "$1"; }

# docs_listing SPEC OUT: a Swagger UI in OUT showing SPEC (a YAML file), which is served
# beside it as openapi.yaml and openapi.json (and under its own name).
docs_listing() {
	local spec=$1 out=$2 ui=$TOOLS_DIR/node_modules/swagger-ui-dist f
	mkdir -p "$out"
	for f in index.html index.css swagger-ui.css swagger-ui-bundle.js swagger-ui-standalone-preset.js \
		favicon-16x16.png favicon-32x32.png \
		oauth2-redirect.html oauth2-redirect.js; do
		cp "$ui/$f" "$out/$f"
	done
	cp "$spec" "$out/openapi.yaml"
	[[ ${spec##*/} == openapi.yaml ]] || cp "$spec" "$out/${spec##*/}"
	node -e 'const y = require(process.argv[1]), fs = require("fs");
		fs.writeFileSync(process.argv[3], JSON.stringify(y.load(fs.readFileSync(process.argv[2], "utf8")), null, 2) + "\n");' \
		"$TOOLS_DIR/node_modules/js-yaml" "$spec" "$out/openapi.json"
	# Swagger UI's own initializer points at a demo; this one at the spec beside it, with no
	# call to an outside validator and "Try it out" against the same gateway (servers: "/").
	cat >"$out/swagger-initializer.js" <<'JS'
// swagger-initializer.js: written by scripts/store (scripts/lib/docs.sh); Swagger UI on the spec beside it.
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "./openapi.yaml",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    displayOperationId: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
};
JS
}

# build_docs OUT: OUT/public (docs/openapi.yaml) and OUT/internal (docs/openapi-internal.yaml),
# what the gateway's public and internal listeners serve at /docs/.
build_docs() {
	local out=$1
	ensure_npm_tools "swagger-ui-dist@$SWAGGER_UI_VERSION" "js-yaml@$JS_YAML_VERSION"
	rm -rf "$out.new"
	docs_listing "$ROOT/docs/openapi.yaml" "$out.new/public"
	docs_listing "$ROOT/docs/openapi-internal.yaml" "$out.new/internal"
	rm -rf "$out"
	mv "$out.new" "$out"
}

# docs-build DIR: the same for an install (the compose gateway image's docs stage runs it).
cmd_docs_build() {
	local out=${1:?usage: $PROG docs-build DIR}
	mkdir -p "$(dirname "$out")"
	build_docs "$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
	say "wrote $out/public and $out/internal"
}

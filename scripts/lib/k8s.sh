# shellcheck shell=bash
# k8s.sh: the parts of deploy/k8s/ made from the SERVICES list and the gateway template (one
# list, one template, as for the local stack), and the check that the manifests render and
# validate.
#
# Sourced by scripts/store, which holds the settings this file reads; not a program of its own.

K8S_DIR=$ROOT/deploy/k8s
K8S_NAMESPACE=store # deploy/k8s/base/namespace.yaml and every kustomization

# k8s_service NAME HEALTH: a service's Deployment (FastCGI over TCP on 9000), Service, PodDisruptionBudget
# and HorizontalPodAutoscaler. Requests and limits are sized from the measured figures
# (docs/SCALING.md, docs/BENCHMARKS.md): 12-20 MiB resident, 0.1-0.4 ms of CPU a read.
k8s_service() {
	local name=$1 health=$2 db_key
	db_key="db_$name"
	cat <<-YAML
		---
		apiVersion: apps/v1
		kind: Deployment
		metadata:
		  name: $name
		  labels: {app.kubernetes.io/name: $name, app.kubernetes.io/part-of: store, store/tier: service}
		spec:
		  replicas: 2
		  selector:
		    matchLabels: {app.kubernetes.io/name: $name}
		  strategy:
		    type: RollingUpdate
		    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
		  template:
		    metadata:
		      labels: {app.kubernetes.io/name: $name, app.kubernetes.io/part-of: store, store/tier: service}
		    spec:
		      securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: {type: RuntimeDefault}}
		      terminationGracePeriodSeconds: 40
		      containers:
		        - name: $name
		          image: store/runtime
		          command: ["store-$name"]
		          ports:
		            - {name: fastcgi, containerPort: 9000}
		          envFrom:
		            - configMapRef: {name: store-config}
		          env:
		            - {name: STORE_LISTEN, value: "0.0.0.0:9000"}
		            - {name: STORE_DB_NAME, value: store_$name}
		            - {name: STORE_DB_USER, value: store_$name}
		            - name: STORE_DB_PASSWORD
		              valueFrom: {secretKeyRef: {name: store-secrets, key: $db_key}}
		            - name: STORE_JWT_SECRET
		              valueFrom: {secretKeyRef: {name: store-secrets, key: jwt_secret}}
		            - name: STORE_REDIS_PASSWORD
		              valueFrom: {secretKeyRef: {name: store-secrets, key: redis_password}}
		          readinessProbe:
		            exec:
		              command: ["sh", "-c", "REQUEST_METHOD=GET REQUEST_URI=$health SCRIPT_NAME=$health QUERY_STRING= cgi-fcgi -bind -connect 127.0.0.1:9000 | head -n 1 | grep -q '^Status: 200'"]
		            periodSeconds: 5
		            timeoutSeconds: 3
		          livenessProbe:
		            tcpSocket: {port: 9000}
		            initialDelaySeconds: 5
		            periodSeconds: 10
		          resources:
		            requests: {cpu: 100m, memory: 32Mi}
		            limits: {cpu: "1", memory: 128Mi}
		          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
		---
		apiVersion: v1
		kind: Service
		metadata:
		  name: $name
		  labels: {app.kubernetes.io/name: $name, app.kubernetes.io/part-of: store}
		spec:
		  selector: {app.kubernetes.io/name: $name}
		  ports:
		    - {name: fastcgi, port: 9000, targetPort: fastcgi}
		---
		apiVersion: policy/v1
		kind: PodDisruptionBudget
		metadata:
		  name: $name
		spec:
		  minAvailable: 1
		  selector:
		    matchLabels: {app.kubernetes.io/name: $name}
		---
		apiVersion: autoscaling/v2
		kind: HorizontalPodAutoscaler
		metadata:
		  name: $name
		spec:
		  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: $name}
		  minReplicas: 2
		  maxReplicas: 10
		  metrics:
		    - type: Resource
		      resource:
		        name: cpu
		        target: {type: Utilization, averageUtilization: 70}
	YAML
}

# k8s_migrate: the migration Job (Dockerfile target migrate: scripts/migrate with sql/ and the
# MariaDB client), for every service of SERVICES, as MariaDB's administrator from the Secret.
k8s_migrate() {
	local name
	cat <<-YAML
		# migrate.yaml: written by \`scripts/store k8s-render\` from the SERVICES list; do not edit.
		# Run it before (or with) each release: it applies the new migrations only.
		apiVersion: batch/v1
		kind: Job
		metadata:
		  name: migrate
		  labels: {app.kubernetes.io/name: migrate, store/tier: migrate}
		spec:
		  backoffLimit: 6
		  ttlSecondsAfterFinished: 86400
		  template:
		    metadata:
		      labels: {app.kubernetes.io/name: migrate, store/tier: migrate}
		    spec:
		      restartPolicy: OnFailure
		      securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: {type: RuntimeDefault}}
		      containers:
		        - name: migrate
		          image: store/migrate
		          args: [$(service_names | paste -sd, | sed 's/,/, /g')]
		          env:
		            - name: MIGRATE_DB_HOST
		              valueFrom: {configMapKeyRef: {name: store-config, key: STORE_DB_HOST}}
		            - name: MIGRATE_DB_PORT
		              valueFrom: {configMapKeyRef: {name: store-config, key: STORE_DB_PORT}}
		            - {name: MIGRATE_ACCOUNT_HOSTS, value: "%"}
		            - name: MIGRATE_ADMIN_USER
		              valueFrom: {secretKeyRef: {name: store-secrets, key: db_admin_user}}
		            - name: MIGRATE_ADMIN_PASSWORD
		              valueFrom: {secretKeyRef: {name: store-secrets, key: db_admin_password}}
	YAML
	for name in $(service_names); do
		printf '            - name: STORE_DB_PASSWORD_%s
              valueFrom: {secretKeyRef: {name: store-secrets, key: db_%s}}
' \
			"${name^^}" "$name"
	done
	cat <<-YAML
		          resources:
		            requests: {cpu: 50m, memory: 32Mi}
		            limits: {cpu: 500m, memory: 128Mi}
		          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
	YAML
}

# k8s-render: writes deploy/k8s/base/services.yaml (every service of SERVICES) and
# deploy/k8s/base/gateway/ (the gateway's configuration, rendered as for compose: services at
# <name>:9000, which are the Services above). Committed; `test` checks they are up to date.
cmd_k8s_render() {
	local out=${1:-$K8S_DIR/base} entry tmp
	{
		echo '# services.yaml: written by scripts/store k8s-render from the SERVICES list; do not edit.'
		for entry in "${SERVICES[@]}"; do k8s_service "$(svc_name "$entry")" "$(svc_health "$entry")"; done
	} >"$out/services.yaml"
	k8s_migrate >"$out/migrate.yaml"
	tmp=$(mktemp -d)
	cmd_gateway_config --compose "$tmp" >/dev/null
	mkdir -p "$out/gateway"
	# Rendered as the gateway image renders it (Dockerfile): its paths are /etc/store/nginx. The
	# services by their full names: nginx's resolver does not use resolv.conf's search domains.
	sed -e "s|$tmp|/etc/store/nginx|g" \
		-e "s|^\( *map \$host \$store_[a-z0-9]* { default [a-z0-9]*\):9000; }|\1.$K8S_NAMESPACE.svc.cluster.local:9000; }|" \
		"$tmp/nginx.conf" >"$out/gateway/nginx.conf"
	grep -q "svc.cluster.local:9000" "$out/gateway/nginx.conf" || die "k8s-render: the services' addresses were not rewritten"

	cp "$tmp/problem-pages.conf" "$tmp/docs-location.conf" "$out/gateway/"
	rm -rf "$tmp"
	say "wrote $out/services.yaml, $out/migrate.yaml and $out/gateway/"
}

# test_k8s: the rendered parts are up to date; both overlays render with `kubectl kustomize`;
# every object they hold validates against the Kubernetes schemas (kubernetes-models, npm).
test_k8s() {
	local tmp overlay rc=0
	tmp=$(mktemp -d)
	mkdir -p "$tmp/base"
	cmd_k8s_render "$tmp/base" >/dev/null
	if ! diff -r -q "$tmp/base/gateway" "$K8S_DIR/base/gateway" >/dev/null ||
		! cmp -s "$tmp/base/services.yaml" "$K8S_DIR/base/services.yaml" ||
		! cmp -s "$tmp/base/migrate.yaml" "$K8S_DIR/base/migrate.yaml"; then
		echo "deploy/k8s/base is not what k8s-render writes from SERVICES and the gateway template (run: scripts/store k8s-render)"
		rc=1
	fi
	ensure_npm_tools "kubernetes-models@$KUBERNETES_MODELS_VERSION" "js-yaml@$JS_YAML_VERSION"
	for overlay in dev prod; do
		if ! kubectl kustomize "$K8S_DIR/overlays/$overlay" >"$tmp/$overlay.yaml" 2>"$tmp/$overlay.err"; then
			cat "$tmp/$overlay.err"
			echo "kubectl kustomize deploy/k8s/overlays/$overlay failed"
			rc=1
			continue
		fi
		NODE_PATH=$TOOLS_DIR/node_modules node "$ROOT/deploy/k8s/validate.js" "$tmp/$overlay.yaml" || rc=1
	done
	rm -rf "$tmp"
	return "$rc"
}

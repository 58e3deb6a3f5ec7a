# Dockerfile: the store platform's images on debian:12-slim: build, runtime (the C programs), smtp (sink),
# docs (Swagger UI and the specs, built with Node.js), gateway (nginx).
#
#   docker build --target runtime -t store-runtime .   # what docker-compose.yml builds

# --- build: compile everything with the -dev packages -------------------------
FROM debian:12-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential autoconf automake libtool pkg-config \
      libfcgi-dev default-libmysqlclient-dev libjson-c-dev libhiredis-dev libjwt-dev \
      libcriterion-dev libsodium-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# .dockerignore keeps var/, .git and any in-tree build products out.
COPY . .
# Every program in bin_PROGRAMS lands in /out/usr/local/bin.
RUN autoreconf -fi \
 && ./configure --prefix=/usr/local \
 && make -j"$(nproc)" \
 && make install-strip DESTDIR=/out

# --- runtime: only the shared libraries, a non-root user, the binaries ----------
FROM debian:12-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libfcgi0ldbl libmariadb3 libjson-c5 libhiredis0.14 libjwt0 libsodium23 libcurl4 ca-certificates \
      libfcgi-bin \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin store
# libfcgi-bin brings cgi-fcgi, which the compose health checks use to ask a service directly.
COPY --from=build /out/usr/local/bin/ /usr/local/bin/
# The worker's e-mail templates, where it looks by default (STORE_TEMPLATE_DIR).
COPY --from=build /out/usr/local/share/store/ /usr/local/share/store/
USER store
# The service is chosen by the command, e.g. ["store-user"]; configuration is STORE_* environment.
CMD ["store-user"]

# --- migrate: scripts/migrate with the migrations and the MariaDB client (the Kubernetes Job) --
FROM debian:12-slim AS migrate
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mariadb-client \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin store
COPY scripts/migrate /usr/local/lib/store/scripts/migrate
COPY sql/ /usr/local/lib/store/sql/
USER store
# The services to migrate are the arguments (deploy/k8s/base/migrate.yaml gives them all).
ENTRYPOINT ["bash", "/usr/local/lib/store/scripts/migrate"]

# --- smtp: the SMTP sink that stores mail in a Maildir -------------------------
FROM debian:12-slim AS smtp
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-aiosmtpd \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin store \
 && mkdir -p /maildir/cur /maildir/new /maildir/tmp && chown -R store:store /maildir
USER store
EXPOSE 2525
# As PID 1 it ignores SIGTERM (no handler: the kernel drops the signal), so every stop waited for
# the engine's timeout and ended in SIGKILL; SIGINT is Python's KeyboardInterrupt: it exits 0 at once.
STOPSIGNAL SIGINT
CMD ["python3", "-m", "aiosmtpd", "-n", "-l", "0.0.0.0:2525", "-c", "aiosmtpd.handlers.Mailbox", "/maildir"]

# --- docs: what the gateway serves at /docs/ (scripts/store docs-build: the pinned swagger-ui-dist
# from npm, with docs/openapi.yaml on the public listener and docs/openapi-internal.yaml on the internal)
FROM node:20-bookworm-slim AS docs
WORKDIR /src
COPY scripts/ scripts/
COPY docs/openapi.yaml docs/openapi-internal.yaml docs/
RUN bash scripts/store docs-build /out/docs

# --- gateway: Debian's nginx (as on a host) with the compose configuration -------
FROM debian:12-slim AS gateway
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light curl \
 && rm -rf /var/lib/apt/lists/*
# Its configuration is rendered from nginx/store.conf.in and the SERVICES list of
# scripts/store, as for a host (routes, limits and timeouts are the same by construction):
# /etc/store/nginx/nginx.conf and problem-pages.conf, services at <name>:9000.
COPY scripts/ /usr/local/src/store/scripts/
COPY nginx/ /usr/local/src/store/nginx/
# docker-compose.yml's build argument: trusted proxies for the client address (docs/OPERATIONS.md).
ARG STORE_TRUSTED_PROXIES=""
RUN bash /usr/local/src/store/scripts/store gateway-config --compose /etc/store/nginx \
 && rm -rf /usr/local/src/store
# /docs/ of both listeners (DOCS_DIR of the rendered configuration is /etc/store/nginx/docs).
COPY --from=docs /out/docs/ /etc/store/nginx/docs/
# Unprivileged: listens on 8080/8081, pid and temp files in /tmp.
USER www-data
EXPOSE 8080 8081
# The services' names are resolved again as the answers expire (5 s), through the name server
# the engine gives the container (127.0.0.11 under Docker, the network's gateway under podman):
# a service container recreated with a new address is found again without restarting the gateway.
CMD ["sh", "-c", "ns=$(awk '$1 == \"nameserver\" { print $2; exit }' /etc/resolv.conf); case $ns in *:*) ns=\"[$ns]\" ;; esac; printf 'resolver %s valid=5s ipv6=off;\\n' \"${ns:?no nameserver in /etc/resolv.conf}\" >/tmp/store-resolver.conf && exec nginx -c /etc/store/nginx/nginx.conf -e stderr -g 'daemon off;'"]

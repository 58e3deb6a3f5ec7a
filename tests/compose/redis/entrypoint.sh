#!/bin/sh
# entrypoint.sh: the stand-in redis:7's entrypoint: as the official one, options alone mean
# redis-server with them, and redis-server started as root runs as the redis user (owning /data).
set -e
case $1 in -*) set -- redis-server "$@" ;; esac
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
	find . \! -user redis -exec chown redis '{}' +
	exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"

#!/bin/sh
# `redis-server ARGS…` as the official image runs it: as the redis user, in
# /data, reachable from other containers (all interfaces, protected mode off);
# ARGS come after our defaults, so they win. Anything else is run as given.
set -eu
if [ "${1:-}" = redis-server ]; then
  shift
  chown -R redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups \
    redis-server --bind '* -::*' --protected-mode no --dir /data --daemonize no "$@"
fi
exec "$@"

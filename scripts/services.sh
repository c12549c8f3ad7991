#!/usr/bin/env bash
# Starts the local services the test suite talks to, when they are down, and fails loudly when one
# cannot be started. Safe to run repeatedly. Services: Redis, RabbitMQ, PostgreSQL, and Debian's
# Chromium for browser tests (installed when missing; never a downloaded browser).
set -uo pipefail

log() { printf '[services] %s\n' "$*" >&2; }
fail() { printf '[services] FATAL: %s\n' "$*" >&2; exit 1; }

wait_for() { # wait_for <name> <seconds> <command...>
  local name=$1 secs=$2; shift 2
  for _ in $(seq 1 "$((secs * 4))"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  fail "$name did not come up within ${secs}s"
}

# Redis
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null || fail "redis-server is not installed"
  log "starting redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  wait_for redis 20 redis-cli -h 127.0.0.1 -p 6379 ping
fi

# PostgreSQL
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  command -v pg_ctlcluster >/dev/null || fail "PostgreSQL is not installed"
  log "starting postgresql"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  wait_for postgresql 60 pg_isready -h 127.0.0.1 -p 5432
fi

# RabbitMQ
rabbit_up() { timeout 10 rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1 || (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if ! rabbit_up; then
  command -v rabbitmq-server >/dev/null || fail "rabbitmq-server is not installed"
  log "starting rabbitmq"
  rabbitmq-server -detached >/dev/null 2>&1 || true
  wait_for rabbitmq 120 rabbit_up
fi

# Chromium (browser tests). Debian's package only; never a downloaded browser.
if [ ! -x /usr/bin/chromium ]; then
  log "installing Debian chromium"
  if [ "$(id -u)" = 0 ]; then
    (apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y chromium >/dev/null 2>&1; }) \
      || fail "could not install chromium with apt-get"
  else
    (sudo -n apt-get install -y chromium >/dev/null 2>&1 || { sudo -n apt-get update >/dev/null 2>&1 && sudo -n apt-get install -y chromium >/dev/null 2>&1; }) \
      || fail "chromium is missing and cannot be installed (need root or passwordless sudo)"
  fi
fi
log "redis, postgresql, rabbitmq and chromium are ready"

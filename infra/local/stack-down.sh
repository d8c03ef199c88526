#!/usr/bin/env bash
# Stop the services started by stack-up.sh: only pids from our pid files, never by name.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

stop() {
  local name="$1" pattern="$2" pidfile="$RUN/$1.pid" pid i
  [ -f "$pidfile" ] || { log "$name: no pid file, nothing to stop"; return; }
  if ! pid="$(pid_is "$name" "$pattern")"; then
    log "$name: pid $(head -n1 "$pidfile") is not running (or is not $name); removing stale pid file"
    rm -f "$pidfile" "$RUN/$name.port"; return
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 40; i++)); do pid_alive "$pid" || break; sleep 0.25; done
  if pid_alive "$pid"; then
    log "$name did not exit within 10 s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do pid_alive "$pid" || break; sleep 0.25; done
    pid_alive "$pid" && die "$name (pid $pid) survived KILL"
  fi
  rm -f "$pidfile" "$RUN/$name.port"
  log "$name stopped"
}

stop dynamodb DynamoDBLocal.jar
stop moto moto_server
rm -f "$RUN/stack.env"

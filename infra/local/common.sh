# shellcheck shell=bash
# Shared helpers for stack-up.sh / stack-down.sh (sourced, not executed).
# Paths come from this file's location, never from the caller's cwd.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL="$REPO_ROOT/.local"
# STACK_RUN_DIR lets a second stack (e.g. the test suite's) run beside the dev one.
RUN="${STACK_RUN_DIR:-$LOCAL/run}"
DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
MOTO_PORT="${MOTO_PORT:-5000}"

log() { echo "[stack] $*" >&2; }
die() { echo "[stack] ERROR: $*" >&2; exit 1; }

# pid_alive PID -> true if PID runs and is not a zombie. (A killed child can stay a
# zombie for a while when PID 1 is not a reaping init; kill -0 would still succeed.)
pid_alive() {
  local state
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  state="$(sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f1)"
  [ "$state" != "Z" ] && [ "$state" != "X" ]
}

# pid_is NAME PATTERN -> prints the pid from $RUN/NAME.pid if that process is alive
# and its command line contains PATTERN (guards against a recycled pid).
pid_is() {
  local pid
  pid="$(head -n1 "$RUN/$1.pid" 2>/dev/null || true)"
  pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" && echo "$pid"
}

# DynamoDB Local answers a plain GET / with HTTP 400 MissingAuthenticationToken in the
# DynamoDB namespace (moto answers GET / as S3, so the two cannot be confused).
probe_dynamodb() {
  curl -s --max-time 2 "http://127.0.0.1:$DYNAMODB_PORT/" 2>/dev/null \
    | grep -qF 'com.amazonaws.dynamodb.v20120810#MissingAuthenticationToken'
}
# moto serves its dashboard at /moto-api/ (HTTP 200, <title>Moto</title>).
probe_moto() {
  curl -s -f --max-time 2 "http://127.0.0.1:$MOTO_PORT/moto-api/" 2>/dev/null | grep -qF '<title>Moto</title>'
}
# port_open PORT -> true if something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

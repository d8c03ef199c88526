#!/usr/bin/env bash
# Fuzzes the whole API against its own OpenAPI document with schemathesis (pinned, from
# PyPI): the dev server on a port of its own, on the stack the caller brought up
# (with-test-stack.sh), as a tenant's API key, as a signed-in agent, on a second tenant for
# the key operations, and as the platform admin. Every generated request must be answered
# without a 5xx, with a status the document lists for the operation, and with a body
# matching its schema.
#   FUZZ_PORT (default 3977), FUZZ_EXAMPLES per operation (default 10), FUZZ_SEED (default 1)
#   usage: infra/local/with-test-stack.sh infra/local/fuzz.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
"$here/install.sh" fuzz >&2

port="${FUZZ_PORT:-3977}"
base="http://127.0.0.1:$port"
admin_key="wati_admin_fuzz_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
run_dir="$root/.local/run-fuzz-$port"
mkdir -p "$run_dir"

# The dev server's own prefix, so its tables and queues are its own on this stack.
PORT="$port" PLATFORM_ADMIN_KEY="$admin_key" DEV_STACK_PREFIX="fuzz$port" \
  target/debug/dev-server >"$run_dir/dev-server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
  curl -sf "$base/health" >/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$run_dir/dev-server.log" >&2; exit 1; }
  sleep 0.2
done
curl -sf "$base/health" >/dev/null || { echo "[fuzz] the dev server did not start" >&2; exit 1; }

# POSTs JSON and prints one field of the answer (a status other than 2xx stops the run).
post() { # post <path> <bearer> <json> <python expression on the answer `a`>
  curl -sf -X POST "$base$1" -H "Authorization: Bearer $2" -H 'content-type: application/json' \
    -d "$3" | python3 -c "import json,sys; a=json.load(sys.stdin); print($4)"
}
tenant_key() { # a new pro tenant's key with room for the whole run
  local first
  first="$(post /api/admin/tenants "$admin_key" "{\"name\":\"$1\",\"plan\":\"pro\"}" 'a["apiKey"]')"
  post /api/keys "$first" '{"name":"fuzz","rateLimitPerMinute":100000}' 'a["apiKey"]'
}
key="$(tenant_key Fuzz)"
post /api/devices "$key" '{"name":"Fuzz","provider":"sandbox"}' 'a["device"]["id"]' >/dev/null
# Key operations on a tenant of their own: they can lower their own key's rate limit.
keys_key="$(tenant_key "Fuzz keys")"
# A signed-in agent, the narrowest role.
invitation="$(post /api/team "$key" '{"email":"agent@fuzz.example","role":"agent"}' \
  'a["invitation"]["token"]')"
post /api/auth/accept-invitation "" \
  "{\"token\":\"$invitation\",\"password\":\"a long fuzz passphrase\"}" 1 >/dev/null

st=(.local/venv-fuzz/bin/schemathesis run "$base/api/openapi.json"
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
  --max-examples "${FUZZ_EXAMPLES:-10}" --seed "${FUZZ_SEED:-1}" --workers 1
  --warnings off --suppress-health-check all)
status=0
# The agent first (the key's run may remove members): every route must refuse it or scope
# it to its own. Signed in now: a token lasts 15 minutes.
agent_token="$(post /api/auth/login "" \
  '{"email":"agent@fuzz.example","password":"a long fuzz passphrase"}' 'a["token"]')"
echo "[fuzz] the tenant's API, as a signed-in agent" >&2
"${st[@]}" -H "Authorization: Bearer $agent_token" \
  --exclude-path-regex '^/api/(admin|keys|auth)' || status=1
echo "[fuzz] the tenant's API, as an API key" >&2
"${st[@]}" -H "Authorization: Bearer $key" \
  --exclude-path-regex '^/api/(admin|keys)' || status=1
echo "[fuzz] API keys, on a tenant of their own" >&2
"${st[@]}" -H "Authorization: Bearer $keys_key" --include-path-regex '^/api/keys' || status=1
echo "[fuzz] the platform admin API, as the platform admin" >&2
"${st[@]}" -H "Authorization: Bearer $admin_key" --include-path-regex '^/api/admin' || status=1
[ "$status" -eq 0 ] && echo "[fuzz] OK" >&2 || echo "[fuzz] FAILED (dev server log: $run_dir/dev-server.log)" >&2
exit "$status"

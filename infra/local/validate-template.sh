#!/usr/bin/env bash
# Validate a SAM template offline: `sam validate` (SAM transform) and
# `sam validate --lint` (cfn-lint 1.53.3, which still runs the SAM translator).
#   validate-template.sh [TEMPLATE]   (default: <repo>/template.yaml; relative paths
#                                      are taken from the caller's cwd)
# Needs no AWS credentials; plain `sam validate` only needs a region.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SAM="$REPO_ROOT/.local/venv-sam/bin/sam"

template="${1:-$REPO_ROOT/template.yaml}"
[ -f "$template" ] || { echo "[validate] ERROR: template not found: $template" >&2; exit 1; }
template="$(cd "$(dirname "$template")" && pwd)/$(basename "$template")"

"$REPO_ROOT/infra/local/install.sh" sam

# Hermetic AWS settings: a region is required; a stray AWS_PROFILE or ~/.aws file
# ("The config profile (x) could not be found") must not break an offline check.
unset AWS_PROFILE AWS_DEFAULT_PROFILE
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 SAM_CLI_TELEMETRY=0
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

cd "$REPO_ROOT"
status=0
for mode in "" "--lint"; do
  echo "[validate] sam validate${mode:+ $mode} --template $template" >&2
  if ! out="$("$SAM" validate $mode --template "$template" 2>&1)"; then
    status=1
  fi
  echo "$out"
done
[ "$status" -eq 0 ] && echo "[validate] OK: $template" >&2 || echo "[validate] FAILED: $template" >&2
exit "$status"

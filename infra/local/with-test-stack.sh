#!/usr/bin/env bash
# Runs a command against a local stack of its own (DynamoDB Local + moto on their own
# ports and run folder, so a running `make dev` is left alone), then stops that stack.
#   TEST_DYNAMODB_PORT (default 8100), TEST_MOTO_PORT (default 5100)
#   usage: infra/local/with-test-stack.sh cargo test --workspace
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DYNAMODB_PORT="${TEST_DYNAMODB_PORT:-8100}" MOTO_PORT="${TEST_MOTO_PORT:-5100}"
# One run folder per port pair, so test stacks on other ports can run side by side.
export STACK_RUN_DIR="$here/../../.local/run-test-$DYNAMODB_PORT"

"$here/stack-up.sh" >&2
trap '"$here/stack-down.sh" >&2' EXIT
# shellcheck disable=SC1091
source "$STACK_RUN_DIR/stack.env"
"$@"

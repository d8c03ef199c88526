# The two commands of the README: `make dev` and `make test`. Both install what they need
# (pinned versions, into .local/) on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DEFAULT_GOAL := help

include infra/local/local.mk

LOCAL_PREFIX ?= wati-local

.PHONY: help dev test fuzz lint admin bench bench-cost bench-rules bench-webhooks bench-pacing bench-import dashboard test-dashboard bench-dashboard deploy-dashboard bench-inbox bench-coldstart openapi

help: ## this list
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

dev: dashboard ## fresh machine -> DynamoDB Local + moto + dev server and dashboard on 127.0.0.1:3000 (Ctrl-C stops the server)
	infra/local/stack-up.sh
	cargo build --locked -p wati-infra --bin dev-server
	set -a; source .local/run/stack.env; set +a; exec target/debug/dev-server

test: ## every test: template checks, fmt, clippy, unit and end-to-end tests on a stack of their own
	infra/local/validate-template.sh
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	infra/local/install.sh verifiers
	infra/local/with-test-stack.sh cargo test --locked --workspace 2>&1 | infra/local/test-summary.sh
	cargo build --locked -q -p wati-infra --bin dev-server
	infra/local/with-test-stack.sh infra/local/fuzz.sh
	$(MAKE) test-dashboard

dashboard: ## build the dashboard (npm ci with the pinned lockfile, type check, vite build) into dashboard/dist
	infra/local/install.sh dashboard
	npm --prefix dashboard run build

test-dashboard: dashboard ## the dashboard in headless Chromium against a stack of its own (screenshots in target/screenshots/)
	npm --prefix dashboard run format:check
	infra/local/install.sh browser
	cargo build --locked -q -p wati-tests --bin browser-stack
	infra/local/with-test-stack.sh npm --prefix dashboard run test:browser

bench-dashboard: dashboard ## compressed JS of each screen's first load, gzip and brotli (budget: the inbox <= 250 KB)
	node dashboard/scripts/bench.mjs

deploy-dashboard: dashboard ## upload dashboard/dist to the stack's bucket and invalidate CloudFront (STACK=name, default from samconfig.toml)
	infra/deploy-dashboard.sh $(STACK)

fuzz: ## schemathesis against the dev server's OpenAPI document (part of make test; FUZZ_EXAMPLES=10 FUZZ_SEED=1)
	cargo build --locked -q -p wati-infra --bin dev-server
	infra/local/with-test-stack.sh infra/local/fuzz.sh

lint: ## fmt + clippy only
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings

bench: ## AWS calls, round trips and DynamoDB capacity per send and lookup (on a stack of its own)
	cargo build --locked -q -p wati-tests --bin bench
	infra/local/with-test-stack.sh target/debug/bench

bench-cost: ## the AWS bill per million sends, full send lives, keyword-answered inbound messages and campaign recipients (ARGS='--n 20 --detail': --detail adds the calls per function and operation)
	cargo build --locked -q -p wati-tests --bin bench-cost
	infra/local/with-test-stack.sh target/debug/bench-cost $(ARGS)

# Every function crate (functions/<name> is the package fn-<name>).
FUNCTION_PACKAGES := $(patsubst functions/%/,-p fn-%,$(wildcard functions/*/))

bench-coldstart: ## each function's release binary against a local fake Lambda Runtime API: init, first invocation, peak memory, zipped size (ARGS='--runs 3')
	nice -n 10 cargo build --locked --release -q $(FUNCTION_PACKAGES) --bins
	cargo build --locked -q -p wati-infra --bin bench-coldstart
	@if infra/local/install.sh lambda; then \
	  PATH="$(CURDIR)/.local/venv-lambda/bin:$$PATH" nice -n 10 cargo lambda build --release --arm64 --locked $(FUNCTION_PACKAGES) >/dev/null && \
	  echo "arm64 (cargo lambda build --release --arm64), bootstrap zipped:" && \
	  for b in target/lambda/*/bootstrap; do (cd "$$(dirname $$b)" && rm -f size.zip && zip -q -9 -X size.zip bootstrap && echo "  $$(basename $$(dirname $$b)): $$(awk -v b=$$(stat -c %s size.zip) 'BEGIN{printf "%.2f MB (%d bytes)", b/1048576, b}')" && rm -f size.zip); done; \
	else \
	  echo "arm64: cargo-lambda or Rust's aarch64 target could not be installed here: the figures below are x86_64 only"; \
	fi
	infra/local/with-test-stack.sh target/debug/bench-coldstart $(ARGS)

openapi: ## rewrite functions/meta/openapi.json (the document meta serves) from every function crate's routes; run after changing a route or its types
	cargo run --locked -q -p wati-infra --bin openapi

admin: ## wati-admin against the local stack, e.g. make admin ARGS='tenant create --name Acme --plan pro'
	cargo build --locked -q -p wati-infra --bin wati-admin
	set -a; source .local/run/stack.env; set +a; TABLE_NAME=$(LOCAL_PREFIX)-Table target/debug/wati-admin $(ARGS)

bench-rules: ## keyword matching speed with 10 to 20,000 rules (release build)
	cargo run --locked --release -q -p wati-shared --example bench_rules
bench-webhooks: ## deliveries per second from the webhook dispatcher to a local receiver (ARGS='--events 1000')
	infra/local/stack-up.sh
	cargo build --locked -q -p wati-infra --bin bench-webhooks
	set -a; source .local/run/stack.env; set +a; target/debug/bench-webhooks $(ARGS)
bench-pacing: ## gaps between a campaign's consecutive sends at delaySeconds 1 and 3: median and worst deviation (ARGS='--messages 30 --batch-size 5')
	infra/local/stack-up.sh
	cargo build --locked -q -p wati-tests --bin bench-pacing
	set -a; source .local/run/stack.env; set +a; target/debug/bench-pacing $(ARGS)
bench-import: ## 100,000 generated contacts imported by CSV on the local stack: time and DynamoDB capacity per contact, then export and re-import (ARGS='--rows 100000 --concurrency 8')
	cargo build --locked --release -q -p wati-tests --bin bench-import
	infra/local/with-test-stack.sh target/release/bench-import $(ARGS)
bench-inbox: ## a tenant with 10,000 conversations: AWS calls and read capacity of a page per listing filter, write cost of a customer message (ARGS='--conversations 10000')
	cargo build --locked -q -p wati-tests --bin bench-inbox
	infra/local/with-test-stack.sh target/debug/bench-inbox $(ARGS)

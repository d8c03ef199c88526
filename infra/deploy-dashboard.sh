#!/usr/bin/env bash
# Upload the built dashboard (dashboard/dist) to the stack's bucket and invalidate its
# CloudFront distribution: `make deploy-dashboard [STACK=name]` after `sam deploy`.
# Needs the AWS CLI with the deploying account's credentials.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="$REPO_ROOT/dashboard/dist"
STACK="${1:-$(sed -n 's/^stack_name *= *"\(.*\)"/\1/p' "$REPO_ROOT/samconfig.toml" | head -1)}"

die() { echo "[deploy-dashboard] ERROR: $*" >&2; exit 1; }
command -v aws >/dev/null || die "the AWS CLI is not on PATH"
[ -f "$DIST/index.html" ] || die "$DIST/index.html missing: run make dashboard"
[ -n "$STACK" ] || die "no stack name (STACK=… or samconfig.toml's stack_name)"

output() {
  aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
BUCKET="$(output DashboardBucketName)"
DISTRIBUTION="$(output DashboardDistributionId)"
URL="$(output DashboardUrl)"
[ -n "$BUCKET" ] && [ "$BUCKET" != None ] || die "stack $STACK has no DashboardBucketName output: sam deploy first"

# Hashed files first and forever; then the shell, never cached, so a new build shows at once.
aws s3 sync "$DIST/assets" "s3://$BUCKET/assets" --delete \
  --cache-control "public, max-age=31536000, immutable"
aws s3 sync "$DIST" "s3://$BUCKET" --delete --exclude "assets/*" --exclude ".vite/*" \
  --cache-control "no-cache"
aws cloudfront create-invalidation --distribution-id "$DISTRIBUTION" --paths "/index.html" "/" >/dev/null
echo "[deploy-dashboard] uploaded to s3://$BUCKET; the dashboard is at $URL"

#!/usr/bin/env bash
# make workflows: the getting-started journeys written as Arazzo 1.0 (openapi/workflows/*.arazzo.yaml)
# run against a fresh instance with Redocly's `respect`: register and call as a user; a partner's token,
# idempotent create and replay, pages, If-Match and a stale ETag; a webhook endpoint and its test
# delivery. Uses DATABASE_URL (a fresh database on that server) or a throwaway embedded PGlite directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=build/workflows
rm -rf "$out"
mkdir -p "$out"
export REDOCLY_TELEMETRY=off

# shellcheck source=lib/live-instance.sh
source "$root/scripts/lib/live-instance.sh"
start_live_instance "$out"

uuid() { node -p 'crypto.randomUUID()'; }
# Nothing listens there: the test event is recorded as a delivery whether or not it arrives.
hook_port=$(node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
status=0
for file in openapi/workflows/*.arazzo.yaml; do
  npx redocly respect "$file" --server "partnerApi=$BASE_URL" \
    --input "email=workflow-$(uuid)@example.com" --input 'password=correct horse battery staple' \
    --input "client_id=$CLIENT_ID" --input "client_secret=$CLIENT_SECRET" --input "idempotency_key=$(uuid)" \
    --input "webhook_url=http://127.0.0.1:$hook_port/hooks" --json-output "$out/$(basename "$file" .yaml).json" || status=1
done
exit $status

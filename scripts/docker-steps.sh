#!/usr/bin/env bash
# There is no Docker engine on the build machines, so this replays Dockerfile_production's steps in a
# clean directory (both stages) and smoke-tests the result: migrate, serve, /health/ready, SIGTERM.
# Needs DATABASE_URL (production refuses the embedded database); generates a throwaway signing key.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL database for the smoke test}"
# The images run Node 24 (see the Dockerfiles' FROM); replay their steps on it too. CI and the Makefile
# (on a node older than 22.12) already put it first on PATH; on a 22.x or a newer node, fetch it here (the
# npm registry ships Node as the package `node`, so this needs nothing but npm).
if [[ $(node -v 2>/dev/null) != v24.* ]]; then
  export PATH="$(dirname "$(npx -y node@24 -p process.execPath)")":$PATH
fi
echo "== on Node $(node --version)"
work=$(mktemp -d)
# (Only the server, once started: `kill 0` would signal this whole process group, make and CI included.)
trap 'if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

echo "== build stage in $work/build"
mkdir -p "$work/build" "$work/runtime"
cd "$root"
cp package.json package-lock.json tsconfig.json tsconfig.build.json redocly.yaml "$work/build/"
cp -r patches openapi generated migrations src "$work/build/"
mkdir -p "$work/build/scripts" "$work/build/docs"
cp -r scripts/docs "$work/build/scripts/docs" && cp -r scripts/versions "$work/build/scripts/versions" && cp -r docs/portal "$work/build/docs/portal"
(cd "$work/build" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build && REDOCLY_TELEMETRY=off npm run --silent docs)

echo "== runtime stage in $work/runtime"
cp package.json package-lock.json "$work/runtime/"
cp -r patches "$work/runtime/"
(cd "$work/runtime" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
cp -r "$work/build/dist" "$work/runtime/dist"
mkdir -p "$work/runtime/build" && cp -r "$work/build/build/docs" "$work/runtime/build/docs"
test ! -e "$work/runtime/node_modules/typescript" || { echo 'dev dependency leaked into runtime'; exit 1; }

echo "== migrate then serve (NODE_ENV=production)"
port=$(node -e "const s=require('net').createServer().listen(0,()=>{console.log(s.address().port);s.close()})")
cd "$work/runtime"
export NODE_ENV=production PORT="$port" HOST=127.0.0.1 DOCS_HTML_PATH=build/docs/index.html
export PUBLIC_BASE_URL="http://127.0.0.1:$port"
# A throwaway signing key for this smoke test only; production supplies its own through the environment.
AUTH_JWT_PRIVATE_KEY=$(node -e "process.stdout.write(require('crypto').generateKeyPairSync('ec',{namedCurve:'P-256'}).privateKey.export({format:'pem',type:'pkcs8'}))")
export AUTH_JWT_PRIVATE_KEY
WEBHOOK_SECRETS_KEY=$(node -e "process.stdout.write(require('crypto').randomBytes(32).toString('base64'))")
export WEBHOOK_SECRETS_KEY
node dist/src/cli.js migrate
node dist/src/main.js > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  if node -e "fetch('http://127.0.0.1:$port/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then break; fi
  sleep 0.2
done
node -e "fetch('http://127.0.0.1:$port/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" || { cat "$work/server.log"; exit 1; }
for path in /docs /docs/try /docs/try/swagger-ui-bundle.js /favicon.ico; do
  node -e "fetch('http://127.0.0.1:$port$path').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" || { echo "$path failed"; exit 1; }
done
node -e "fetch('http://127.0.0.1:$port/.well-known/jwks.json').then(r=>r.json()).then(b=>process.exit(b.keys.length===1?0:1),()=>process.exit(1))" || { echo 'JWKS failed'; exit 1; }
kill -TERM "$pid"
wait "$pid"
echo "== production steps OK (ready, docs portal served, clean exit on SIGTERM)"

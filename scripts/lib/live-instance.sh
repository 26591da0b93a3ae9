# Sourced by make sdk-matrix and make workflows: a fresh instance of the API, as a partner meets it.
# `start_live_instance OUT` starts one on a free port (a fresh database on the server in DATABASE_URL, or a
# throwaway embedded PGlite directory), its log in OUT/server.log, and exports BASE_URL plus a partner
# client's CLIENT_ID and CLIENT_SECRET (items and webhooks scopes) that an administrator created. It is
# stopped, and its database dropped, when the calling script exits.
start_live_instance() {
  local out=$1
  work=$(mktemp -d)
  # Globals on purpose: the EXIT trap reads them after this function has returned.
  server_pid=''
  live_db=''
  cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    if [ -n "$live_db" ]; then psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $live_db WITH (FORCE)" || true; fi
    rm -rf "$work"
  }
  trap cleanup EXIT

  export NODE_ENV=development LOG_LEVEL=warn LOG_PRETTY=false WEBHOOK_ALLOW_LOOPBACK_HTTP=true
  if [ -n "${DATABASE_URL:-}" ]; then
    admin_url=$DATABASE_URL
    live_db="live_$(date +%s)_$$"
    psql -q "$admin_url" -c "CREATE DATABASE $live_db"
    export DATABASE_URL="${admin_url%/*}/$live_db"
  else
    export PGLITE_DATA_DIR="$work/pglite"
  fi
  port=$(node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  base="http://127.0.0.1:$port"
  export HOST=127.0.0.1 PORT=$port PUBLIC_BASE_URL=$base

  admin_password="live-admin-$(node -e "console.log(require('node:crypto').randomBytes(12).toString('hex'))")"
  ADMIN_PASSWORD=$admin_password node --import tsx src/cli.ts create-admin --email live-admin@example.com >/dev/null
  node --import tsx src/main.ts >"$out/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do
    curl -fs "$base/health/ready" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$out/server.log"; echo 'the server exited during start-up' >&2; exit 1; }
    sleep 0.5
  done

  # What an administrator hands a partner: a client id and secret.
  admin_token=$(curl -fs "$base/v1/auth/token" -d grant_type=password -d username=live-admin@example.com \
    --data-urlencode "password=$admin_password" | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  client=$(curl -fs "$base/v1/clients" -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
    -d '{"name":"Live partner","scopes":["items:read","items:write","webhooks:read","webhooks:write"]}')
  export BASE_URL=$base
  CLIENT_ID=$(node -pe 'JSON.parse(process.argv[1]).client_id' "$client")
  CLIENT_SECRET=$(node -pe 'JSON.parse(process.argv[1]).client_secret' "$client")
  export CLIENT_ID CLIENT_SECRET
}

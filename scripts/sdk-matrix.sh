#!/usr/bin/env bash
# make sdk-matrix: from the spec a live instance serves, each pinned generator in sdk/matrix/package.json
# writes a client; the partner journey written on it (sdk/matrix/journeys/<generator>.ts) must compile under
# strict TypeScript and run against that instance with configuration only (base URL, token). Uses a fresh
# database on the server in DATABASE_URL, or a throwaway embedded PGlite directory. MATRIX=name[,name] runs
# some generators only. Output and the server log land in build/sdk-matrix/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=build/sdk-matrix
rm -rf "$out"
mkdir -p "$out"
matrix=sdk/matrix
generators=${MATRIX:-openapi-fetch,hey-api,orval,swagger-typescript-api,openapi-typescript-codegen}

# The generators are installed apart from the API, from their own lockfile, once.
stamp="$matrix/node_modules/.installed-from"
if [ "$(cat "$stamp" 2>/dev/null)" != "$(sha256sum <"$matrix/package-lock.json")" ]; then
  (cd "$matrix" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  sha256sum <"$matrix/package-lock.json" >"$stamp"
fi
bin="$root/$matrix/node_modules/.bin"

# shellcheck source=lib/live-instance.sh
source "$root/scripts/lib/live-instance.sh"
start_live_instance "$out"

# The partner's starting point: the spec this deployment serves.
curl -fs "$base/openapi.json" -o "$out/openapi.json"
spec="$root/$out/openapi.json"

generate() {
  local name=$1 dir=$2
  case $name in
    # From its own directory: at the root, redocly.yaml's `apis` would take the place of the argument.
    openapi-fetch) (cd "$dir" && "$bin/openapi-typescript" "$spec" --output api.ts) ;;
    hey-api) "$bin/openapi-ts" --input "$spec" --output "$dir" ;;
    orval) ORVAL_INPUT=$spec ORVAL_OUTPUT="$root/$dir/api.ts" "$bin/orval" --config "$root/$matrix/journeys/orval.config.cjs" ;;
    swagger-typescript-api) "$bin/swagger-typescript-api" generate --path "$spec" --output "$dir" --name api.ts ;;
    openapi-typescript-codegen) "$bin/openapi" --input "$spec" --output "$dir" --client fetch ;;
    *) echo "unknown generator $name" >&2; return 1 ;;
  esac
}

# Generate and compile two at a time (tsc on a generated client is the long part), then run the journeys.
prepare() {
  local name=$1 project="$out/$1"
  mkdir -p "$project/generated"
  cp "$matrix/journeys/journey.ts" "$matrix/journeys/$name.ts" "$project/"
  cat >"$project/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "ESNext",
    "moduleResolution": "Bundler",
    "lib": ["ES2023", "DOM", "DOM.Iterable"],
    "types": ["node"],
    "typeRoots": ["../../../node_modules/@types"],
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "skipLibCheck": true,
    "noEmit": true,
    "baseUrl": ".",
    "paths": { "*": ["../../../sdk/matrix/node_modules/*", "../../../node_modules/*"] }
  },
  "include": ["*.ts", "generated"]
}
JSON
  generate "$name" "$project/generated" >"$project/generate.log" 2>&1 || { echo generate >"$project/failed"; return; }
  "$bin/tsc" -p "$project/tsconfig.json" >"$project/tsc.log" 2>&1 || echo 'strict compile' >"$project/failed"
}

IFS=, read -r -a names <<<"$generators"
started=$SECONDS
# (Waits name the preparing jobs: a bare `wait` would also wait for the server.)
preparing=()
for name in "${names[@]}"; do
  if [ ${#preparing[@]} -ge 2 ]; then wait "${preparing[0]}"; preparing=("${preparing[@]:1}"); fi
  prepare "$name" &
  preparing+=($!)
done
for pid in "${preparing[@]}"; do wait "$pid"; done
echo "== generated and compiled ${#names[@]} clients in $((SECONDS - started))s"

failed=()
for name in "${names[@]}"; do
  project="$out/$name"
  if [ -f "$project/failed" ]; then
    cat "$project/generate.log" "$project/tsc.log" 2>/dev/null | tail -40
    failed+=("$name ($(cat "$project/failed"))")
    continue
  fi
  if ! node --import tsx "$project/$name.ts" 2>&1 | tee "$project/journey.log"; then failed+=("$name (journey)"); fi
done

if [ ${#failed[@]} -gt 0 ]; then
  printf '== sdk-matrix failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "== sdk-matrix: ${#names[@]} generators green in ${SECONDS}s"

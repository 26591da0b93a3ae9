#!/usr/bin/env bash
# `make sdk`: the TypeScript SDK in build/sdk/ (openapi-fetch + types generated from generated/openapi.json,
# compiled to dist/ and packed as an npm tarball); it sends that spec's info.x-api-version as `Api-Version`. `make sdk-check`: a second generator
# (@hey-api/openapi-ts) must turn the same spec into a client that compiles under strict TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."

build() {
  local out=build/sdk
  rm -rf "$out" build/partner-api-sdk-*.tgz
  mkdir -p "$out/src"
  # Fresh types from the bundled spec (the same generator as generated/api.ts, so they must agree).
  # (Run from build/sdk: at the root, redocly.yaml's `apis` would take precedence over the argument.)
  (cd "$out" && npx openapi-typescript ../../generated/openapi.json --output src/api.ts >/dev/null)
  cmp -s <(tail -n +6 "$out/src/api.ts") <(tail -n +6 generated/api.ts) ||
    { echo 'build/sdk types differ from generated/api.ts: run make generate' >&2; exit 1; }
  sed -e "s#'../generated/api'#'./api'#" -e "s#'../generated/api-versions'#'./api-version'#" sdk/index.ts >"$out/src/index.ts"
  # The version of the spec the types come from (generated/api-versions.ts also imports every older bundle,
  # which a client does not need).
  node -e '
    const version = require("./generated/openapi.json").info["x-api-version"];
    if (!/^\d{4}-\d{2}-\d{2}$/.test(version)) throw new Error("generated/openapi.json has no info.x-api-version");
    process.stdout.write(`// The x-api-version of the spec this SDK was generated from (scripts/sdk.sh).\nexport const LATEST_API_VERSION = "${version}";\n`);
  ' >"$out/src/api-version.ts"
  node -e '
    const spec = require("./generated/openapi.json");
    const root = require("./package.json");
    const pkg = {
      name: "@partner-api/sdk",
      version: spec.info.version,
      description: `Typed client for ${spec.info.title} ${spec.info.version}, API version ${spec.info["x-api-version"]} (openapi-fetch)`,
      license: root.license,
      main: "dist/index.js",
      types: "dist/index.d.ts",
      files: ["dist", "src"],
      dependencies: {
        "openapi-fetch": root.devDependencies["openapi-fetch"],
        // verifyWebhook: the same Standard Webhooks library, at the same version, as the server signs with.
        standardwebhooks: root.dependencies.standardwebhooks,
      },
    };
    require("fs").writeFileSync(process.argv[1], JSON.stringify(pkg, null, 2) + "\n");
  ' "$out/package.json"
  cat >"$out/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "Node16",
    "moduleResolution": "Node16",
    "lib": ["ES2023", "DOM", "DOM.Iterable"],
    "types": [],
    "strict": true,
    "declaration": true,
    "skipLibCheck": true,
    "rootDir": "src",
    "outDir": "dist"
  },
  "include": ["src"]
}
JSON
  npx tsc -p "$out/tsconfig.json"
  # The compiled SDK loads, builds a client, and verifies what the server's signing library signs.
  node -e '
    const sdk = require("./build/sdk/dist/index.js");
    sdk.createPartnerApiClient({ baseUrl: "http://localhost:3000" }).GET;
    if (sdk.API_VERSION !== require("./generated/openapi.json").info["x-api-version"]) throw new Error("API_VERSION");
    const { Webhook } = require("standardwebhooks");
    const secret = "whsec_" + Buffer.alloc(32, 7).toString("base64");
    const body = JSON.stringify({ id: "e", type: "webhook.test", occurred_at: "", data: {} });
    const now = new Date();
    const headers = { "webhook-id": "msg_e", "webhook-timestamp": String(Math.floor(now / 1000)),
      "webhook-signature": new Webhook(secret).sign("msg_e", now, body) };
    if (sdk.verifyWebhook(secret, body, headers).type !== "webhook.test") throw new Error("verifyWebhook");
  '
  npm pack "./$out" --pack-destination build --silent >/dev/null
  echo "SDK: $out (types, client, dist/) and $(ls build/partner-api-sdk-*.tgz)"
}

check() {
  local out=build/sdk-hey-api
  rm -rf "$out"
  # A path starting with ./ : a bare one would be read as a registry name.
  npx openapi-ts --input ./generated/openapi.json --output "$out" >/dev/null
  echo '{ "type": "module" }' >"$out/package.json"
  cat >"$out/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "lib": ["ES2023", "DOM", "DOM.Iterable"],
    "types": [],
    "strict": true,
    "noEmit": true,
    "skipLibCheck": true
  },
  "include": ["**/*.ts"]
}
JSON
  npx tsc -p "$out/tsconfig.json"
  echo "SDK check: @hey-api/openapi-ts client in $out compiles ($(find "$out" -name '*.gen.ts' | wc -l) files)"
}

case "${1:-}" in
  build) build ;;
  check) check ;;
  *) echo "usage: $0 build|check" >&2; exit 2 ;;
esac

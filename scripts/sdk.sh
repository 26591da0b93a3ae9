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
  # The spec with the generator hints of openapi/overlays/ (Speakeasy pagination and retries, Fern names),
  # for partners who generate their own SDK; every overlay target must have matched.
  (cd "$out" && npx openapi-format ../../generated/openapi.json --no-sort \
    --overlayFile ../../openapi/overlays/generator-hints.overlay.yaml -o openapi.sdk.json >overlay.log 2>&1) ||
    { cat "$out/overlay.log" >&2; exit 1; }
  rm -f "$out/overlay.log"
  node -e '
    const { parse } = require("yaml");
    const overlay = parse(require("fs").readFileSync("openapi/overlays/generator-hints.overlay.yaml", "utf8"));
    const spec = require("./build/sdk/openapi.sdk.json");
    for (const { target, update } of overlay.actions) {
      const match = /^\$(?:\.paths\[.(.+).\]\.(\w+))?$/.exec(target);
      if (!match) throw new Error(`overlay target this check cannot read: ${target}`);
      const node = match[1] ? spec.paths[match[1]]?.[match[2]] : spec;
      for (const key of Object.keys(update))
        if (!node || !(key in node)) throw new Error(`overlay target ${target} did not get ${key}`);
    }
  '
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
      files: ["dist", "src", "openapi.sdk.json"],
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
  # Served by the API at /sdk/typescript.tgz, with what it was built from: the API refuses to serve a
  # package built from another document than the one it serves.
  mkdir -p build/docs/sdk
  cp build/partner-api-sdk-*.tgz build/docs/sdk/typescript.tgz
  node -e '
    const spec = require("./generated/openapi.json");
    const digest = require("crypto").createHash("sha256").update(JSON.stringify(spec)).digest("hex");
    const manifest = { version: spec.info.version, spec_sha256: digest };
    require("fs").writeFileSync("build/docs/sdk/typescript.json", JSON.stringify(manifest) + "\n");
  '
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

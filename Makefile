# Every target runs offline once dependencies are installed. `make help` lists them.
SHELL := /bin/bash
export REDOCLY_TELEMETRY := off
NPM := npm run --silent

# Node 24 LTS is the target (.nvmrc, the images, CI); package.json allows 22.12+. When the `node` on PATH is
# older (or absent), every recipe runs on Node 24 from the npm registry instead (the package `node`, fetched
# once into npm's cache by npx), as CI does. `make help` and `make clean` need no Node.
ifneq ($(filter-out help clean,$(or $(MAKECMDGOALS),help)),)
PATH_NODE := $(shell node -e 'const [a, b] = process.versions.node.split(".").map(Number); console.log(a > 22 || (a === 22 && b >= 12) ? "ok" : process.version)' 2>/dev/null)
ifneq ($(PATH_NODE),ok)
NODE24_BIN := $(shell dirname "$$(npx -y node@24 -p process.execPath)")
ifeq ($(wildcard $(NODE24_BIN)/node),)
$(error Node 22.12+ is required and `npx -y node@24` could not provide it: install Node 24 (see .nvmrc))
endif
export PATH := $(NODE24_BIN):$(PATH)
$(info Node $(PATH_NODE) is older than 22.12: using Node $(shell $(NODE24_BIN)/node -v) from npm ($(NODE24_BIN)))
endif
endif

.PHONY: help install run test test-browser test-cluster generate check-generated lint typecheck docs build migrate docker-steps bench bench-latency clean \
	sdk sdk-check sdk-matrix workflows breaking changelog mock fuzz deploy-check load

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

install: ## Install dependencies from the lockfile if node_modules is missing or stale
	@node scripts/ensure-installed.mjs

run: install docs build/docs/sdk/typescript.tgz ## Run the API (embedded PGlite under .data/ unless DATABASE_URL is set), migrating first
	@$(NPM) serve

test: install ## Run the whole test suite (PGlite, or the server named by DATABASE_URL)
	@$(NPM) test

test-browser: install docs ## Drive the docs portal in headless Chromium (installs Debian's chromium if missing)
	@bash scripts/test-browser.sh

test-cluster: install ## Three instances behind a round-robin proxy agree (needs DATABASE_URL and REDIS_URL)
	@test -n "$$DATABASE_URL" -a -n "$$REDIS_URL" || (echo 'make test-cluster needs DATABASE_URL (a PostgreSQL server; it creates and drops its own databases) and REDIS_URL' && exit 1)
	@$(NPM) test:cluster

generate: install ## Bundle openapi/ and regenerate generated/ (types and openapi.json)
	@$(NPM) generate

check-generated: generate ## Fail if generated/ differs from what the spec produces
	@git diff --exit-code --stat -- generated/ || (echo 'generated/ is stale: run make generate and commit' && exit 1)
	@test -z "$$(git status --porcelain -- generated/)" || (git status --porcelain -- generated/ && echo 'untracked files in generated/' && exit 1)

lint: install typecheck ## ESLint, Prettier, redocly lint (zero warnings; the 3.0 rendition valid as 3.0), Spectral + OWASP (zero warnings), Dockerfile lint
	@$(NPM) lint:code
	@$(NPM) lint:spec
	@$(NPM) lint:spec-3.0
	@$(NPM) lint:spectral
	@$(NPM) lint:docker

typecheck: install ## TypeScript, strict, no emit
	@$(NPM) typecheck

docs: install build/docs/index.html ## Build the docs portal into build/docs/: Redoc reference per API version (/docs, /docs/versions/<date>), changelog (/docs/changelog), try-it console (/docs/try)

# Rebuilt only when the spec changed, so `make run` starts at once the second time.
build/docs/index.html: redocly.yaml $(shell find openapi scripts/docs scripts/versions docs/portal -type f)
	@$(NPM) docs

build: install ## Compile to dist/ for production
	@$(NPM) build

migrate: install ## Apply pending migrations to the configured database
	@$(NPM) cli -- migrate

sdk: install ## Build the typed TypeScript SDK (openapi-fetch + generated types) into build/sdk/, pack it, and have the API serve it
	@bash scripts/sdk.sh build

# What GET /sdk/typescript.tgz serves; rebuilt only when the spec or the SDK's entry changed.
build/docs/sdk/typescript.tgz: generated/openapi.json sdk/index.ts scripts/sdk.sh
	@bash scripts/sdk.sh build

sdk-check: install ## Generate a second client with @hey-api/openapi-ts into build/sdk-hey-api/ and compile it
	@bash scripts/sdk.sh check

sdk-matrix: install ## Five pinned generators (sdk/matrix/) each build a client from the served spec, compile it strictly and run the partner journey live
	@bash scripts/sdk-matrix.sh

workflows: install ## Run the getting-started journeys (Arazzo 1.0, openapi/workflows/) against a fresh instance with Redocly respect
	@bash scripts/workflows.sh

breaking: install ## Fail on breaking changes to any supported API version from the specs at REF (default: last commit on main that changed openapi/)
	@$(NPM) bundle >/dev/null 2>&1 || $(NPM) bundle
	@npx tsx scripts/versions/bundle-versions.ts build/spec
	@$(NPM) spec-diff -- breaking --head-dir build/spec $(if $(REF),--base $(REF))

changelog: install ## Write the spec changes FROM=<ref> (default as breaking) TO=<ref> (default HEAD) as Markdown
	@$(NPM) spec-diff -- changelog --out build/changelog.md $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO))

MOCK_PORT ?= 4010
mock: install ## Serve the spec's examples with Prism on http://127.0.0.1:4010 (MOCK_PORT=... to change; offline)
	@$(NPM) mock -- --port $(MOCK_PORT)

deploy-check: install ## Render deploy/ (base and each overlay) with kubectl kustomize; validate every object offline
	@npx tsx scripts/deploy/check.ts

docker-steps: ## Run Dockerfile_production's steps in a clean directory and smoke-test the result
	@bash scripts/docker-steps.sh

fuzz: install docs ## Schemathesis per API version against a fresh instance (DATABASE_URL, or embedded PGlite): FUZZ_EXAMPLES=n FUZZ_SEED=n FUZZ_VERSIONS=<dates>
	@bash scripts/fuzz.sh

# BENCH_NODE=<node binary> runs the servers on another Node, e.g. $$(npx -y node@22 -p process.execPath).
bench: build ## Throughput, CPU and latency per endpoint against a bare baseline (needs DATABASE_URL; see docs/performance.md)
	@npx tsx scripts/bench/bench.ts
	@npx tsx scripts/bench/limiter-cost.ts
	@npx tsx scripts/bench/version-cost.ts
	@npx tsx scripts/bench/request-log-cost.ts

bench-latency: install ## Login latency and keyset-pagination figures (PGlite, or DATABASE_URL: it writes there)
	@npx tsx scripts/bench/login-latency.ts
	@npx tsx scripts/bench/items-pagination.ts

load: install ## Mixed workload against a running instance: LOAD_URL, LOAD_DURATION (60s), LOAD_CONNECTIONS (see docs/performance.md)
	@npx tsx scripts/load/load.ts

clean: ## Remove build output and the local embedded database
	rm -rf dist build coverage .data

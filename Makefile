# Every target runs offline once dependencies are installed. `make help` lists them.
SHELL := /bin/bash
export REDOCLY_TELEMETRY := off
NPM := npm run --silent

.PHONY: help install run test generate check-generated lint typecheck docs build migrate docker-steps bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

install: ## Install dependencies from the lockfile if node_modules is missing or stale
	@node scripts/ensure-installed.mjs

run: install docs ## Run the API (embedded PGlite under .data/ unless DATABASE_URL is set), migrating first
	@$(NPM) serve

test: install ## Run the whole test suite (PGlite, or the server named by DATABASE_URL)
	@$(NPM) test

generate: install ## Bundle openapi/ and regenerate generated/ (types and openapi.json)
	@$(NPM) generate

check-generated: generate ## Fail if generated/ differs from what the spec produces
	@git diff --exit-code --stat -- generated/ || (echo 'generated/ is stale: run make generate and commit' && exit 1)
	@test -z "$$(git status --porcelain -- generated/)" || (git status --porcelain -- generated/ && echo 'untracked files in generated/' && exit 1)

lint: install typecheck ## ESLint, Prettier, redocly lint (zero warnings), Dockerfile lint
	@$(NPM) lint:code
	@$(NPM) lint:spec
	@$(NPM) lint:docker

typecheck: install ## TypeScript, strict, no emit
	@$(NPM) typecheck

docs: install build/docs/index.html ## Build the standalone Redoc reference into build/docs/index.html (served at /docs)

# Rebuilt only when the spec changed, so `make run` starts at once the second time.
build/docs/index.html: redocly.yaml $(shell find openapi -type f)
	@$(NPM) docs

build: install ## Compile to dist/ for production
	@$(NPM) build

migrate: install ## Apply pending migrations to the configured database
	@$(NPM) cli -- migrate

docker-steps: ## Run Dockerfile_production's steps in a clean directory and smoke-test the result
	@bash scripts/docker-steps.sh

bench: install ## Print login latency and keyset-pagination figures (PGlite, or DATABASE_URL: it writes there)
	@npx tsx scripts/bench/login-latency.ts
	@npx tsx scripts/bench/items-pagination.ts

clean: ## Remove build output and the local embedded database
	rm -rf dist build coverage .data

#!/usr/bin/env bash
# `make test-browser`: the docs portal in a real browser (tests/browser/, playwright-core driving Debian's
# Chromium). Installs the browser when it is missing; playwright-core's own browser downloads are never used.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM_PATH" ]; then
  echo "== installing chromium (apt-get)"
  if [ "$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
npm run --silent test:browser -- "$@"

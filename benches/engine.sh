#!/usr/bin/env bash
# Engine benchmark: loadbuild against ninja on the same DAG, measured in the same run.
#
# 1,280 `command` cells (one tiny input file → one tiny output file each, via `tr`) plus one
# node that depends on all of them (`cat` of every output). Measures full build, no-op, and
# one input changed, with hyperfine (medians), and loadbuild's peak RSS over a full build.
# Usage: benches/engine.sh            (needs hyperfine and ninja: apt-get install hyperfine ninja-build)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-10}
jobs=${JOBS:-2}
for tool in hyperfine ninja /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "benches/engine.sh: \`$tool\` is missing: apt-get install hyperfine ninja-build time" >&2; exit 2; }
done
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
lb="$here/target/release/loadbuild"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# --- the project, for both tools -------------------------------------------------------------
mkdir -p lbproj/rules lbproj/templates lbproj/inputs njproj/inputs njproj/out
xs=(); for i in $(seq -w 0 31); do xs+=("\"x$i\""); done
ys=(); for i in $(seq -w 0 39); do ys+=("\"y$i\""); done
cat > lbproj/Loadfile.toml <<TOML
[project]
name = "engine-bench"
[dimensions]
x = [$(IFS=,; echo "${xs[*]}")]
y = [$(IFS=,; echo "${ys[*]}")]
[tiers.all]
select = {}
expect = 1280
TOML
cat > lbproj/rules/bench.toml <<'TOML'
[rule.cell]
per = ["x", "y"]
sources = { input = "inputs/{{ x }}-{{ y }}.txt" }
command = "tr a-z A-Z < {{ src.input }} > {{ out }}/out.txt"

[rule.all]
deps = ["cell"]
command = "cat {% for d in deps.cell %}{{ d }}/out.txt {% endfor %}> {{ out }}/all.txt"
TOML
{
  echo 'rule upper'
  echo '  command = tr a-z A-Z < $in > $out'
  echo 'rule cat'
  echo '  command = cat $in > $out'
  all=""
  for x in $(seq -w 0 31); do for y in $(seq -w 0 39); do
    echo "cell x$x y$y" > "lbproj/inputs/x$x-y$y.txt"
    echo "cell x$x y$y" > "njproj/inputs/x$x-y$y.txt"
    echo "build out/x$x-y$y.txt: upper inputs/x$x-y$y.txt"
    all="$all out/x$x-y$y.txt"
  done; done
  echo "build all.txt: cat$all"
  echo "default all.txt"
} > njproj/build.ninja
# Let input mtimes age past the stat cache's racy window, as real sources would be.
sleep 2.5

median() { python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['results'][0]['median'], 4))" "$1"; }
hf() { hyperfine --style none --runs "$runs" --export-json "$1" "${@:2}" >/dev/null 2>&1; median "$1"; }

lb_build="$lb build all -j $jobs"
# --- full build ------------------------------------------------------------------------------
lb_full=$(cd lbproj && hf "$work/lf.json" --prepare 'rm -rf cache' "$lb_build")
nj_full=$(cd njproj && hf "$work/nf.json" --prepare 'rm -rf out .ninja_log .ninja_deps all.txt' "ninja -j $jobs")
# --- no-op -----------------------------------------------------------------------------------
(cd lbproj && $lb_build >/dev/null 2>&1) && (cd njproj && ninja -j "$jobs" >/dev/null)
lb_noop=$(cd lbproj && hf "$work/ln.json" --warmup 2 "$lb_build")
nj_noop=$(cd njproj && hf "$work/nn.json" --warmup 2 "ninja -j $jobs")
# --- one input changed (new content each run) -------------------------------------------------
lb_one=$(cd lbproj && hf "$work/lo.json" --prepare 'date +%s%N > inputs/x00-y00.txt' "$lb_build")
nj_one=$(cd njproj && hf "$work/no.json" --prepare 'date +%s%N > inputs/x00-y00.txt' "ninja -j $jobs")
# --- peak RSS of a full build ----------------------------------------------------------------
rss_kb=$(cd lbproj && rm -rf cache && /usr/bin/time -f '%M' $lb_build 2>&1 >/dev/null | tail -n 1)

echo "loadbuild_full_s=$lb_full"
echo "loadbuild_noop_s=$lb_noop"
echo "loadbuild_one_changed_s=$lb_one"
echo "ninja_full_s=$nj_full"
echo "ninja_noop_s=$nj_noop"
echo "ninja_one_changed_s=$nj_one"
echo "loadbuild_peak_rss_mb=$(python3 -c "print(round($rss_kb/1024, 1))")"

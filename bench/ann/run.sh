#!/usr/bin/env bash
# Reference-index benchmark (crates/3-match/src/index.rs) -> bench/results/ann.md.
# Rows are appended to bench/results/ann-rows/<name>.md, one file per run, so parts can be
# re-run alone; the table is assembled at the end.
#   XIEZHI_ANN_COMPARE_N   vectors for the three-crate comparison (default 100000)
#   XIEZHI_ANN_SIZES       vector counts for the shipped index (default "1000000")
#   XIEZHI_ANN_REFS        references for the "100,000 references < 2 GB" check (default 100000)
#   XIEZHI_ANN_REAL        images embedded per folder for the real seeds (default 80)
#   XIEZHI_ANN_BACKENDS    crates compared (default "usearch hnsw-rs instant")
# Runs under `nice -n 10`; the load average before/after each run is in its row.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/xiezhi"
TARGET="${CARGO_TARGET_DIR:-target}"
cargo build --release --locked -p xiezhi-bench-ann
BIN="nice -n 10 $TARGET/release/ann-bench"
ROWS=bench/results/ann-rows
mkdir -p "$ROWS" "$CACHE/ann"

# Real Lite0 embeddings (whole image + 14 windows; edited copies as queries), made once.
SEEDS="$CACHE/ann/seeds-${XIEZHI_ANN_REAL:-80}.bin"
data="$CACHE/bench-data/root/usr/share"
if [ ! -s "$SEEDS" ]; then
  dirs=(crates/demo/assets)
  for d in "$data/games/wesnoth/1.16/data/core/images/portraits" "$data/stellarium/nebulae/default" \
           "$data/openclipart/png"; do
    [ -d "$d" ] && dirs+=("$d")
  done
  $BIN embed --out "$SEEDS" --limit "${XIEZHI_ANN_REAL:-80}" "${dirs[@]}"
fi

# 1. The crates side by side on the same codes: real embeddings, then real-shaped synthetic vectors.
for b in ${XIEZHI_ANN_BACKENDS:-usearch hnsw-rs instant}; do
  $BIN real --backend "$b" "$SEEDS" --label "demo + Wesnoth + nebulae + openclipart" > "$ROWS/real-$b.md"
  n=${XIEZHI_ANN_COMPARE_N:-100000}
  $BIN synthetic --backend "$b" --data real-shaped --n "$n" --seeds "$SEEDS" > "$ROWS/shaped-$n-$b.md"
done

# 2. The shipped index at scale: real-shaped and the random worst case.
for n in ${XIEZHI_ANN_SIZES:-1000000}; do
  $BIN synthetic --backend usearch --data real-shaped --n "$n" --seeds "$SEEDS" > "$ROWS/shaped-$n-usearch.md"
  $BIN synthetic --backend usearch --data random --n "$n" > "$ROWS/random-$n-usearch.md"
done

# 3. The engine's index for 100,000 references (15 vectors each): build, then load + shortlist,
#    each in its own process so each peak RSS is its own.
refs=${XIEZHI_ANN_REFS:-100000}
idx="$CACHE/ann/refs-$refs.xzann"
$BIN refs build --refs "$refs" --seeds "$SEEDS" --out "$idx" > "$ROWS/refs-$refs-build.md"
$BIN refs query "$idx" --seeds "$SEEDS" > "$ROWS/refs-$refs-query.md"
rm -f "$idx"

bash bench/ann/report.sh

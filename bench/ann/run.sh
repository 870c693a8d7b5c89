#!/usr/bin/env bash
# Reference-index benchmark (crates/3-match/src/index.rs) -> bench/results/ann.md.
#   XIEZHI_ANN_SIZES  vector counts of the synthetic runs (default "100000 1000000")
#   XIEZHI_ANN_REAL   real images to embed (default 150): the demo's assets, plus Wesnoth's
#                     painted portraits when bench/detect has fetched them
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/xiezhi"
cargo build --release --locked -p xiezhi-bench-ann
BIN="$CARGO_TARGET_DIR/release/ann-bench"
OUT=bench/results/ann.md
rows="$(mktemp)"
trap 'rm -f "$rows"' EXIT
for n in ${XIEZHI_ANN_SIZES:-100000 1000000}; do
  echo "ann-bench synthetic --n $n" >&2
  "$BIN" synthetic --n "$n" >> "$rows"
done
"$BIN" real crates/demo/assets --limit 40 >> "$rows"
portraits="$CACHE/bench-data/root/usr/share/games/wesnoth/1.16/data/core/images/portraits"
if [ -d "$portraits" ]; then
  "$BIN" real "$portraits" --limit "${XIEZHI_ANN_REAL:-150}" >> "$rows"
fi
{
  echo "# Reference index (HNSW over reduced embeddings)"
  echo
  echo "$(nproc) cores, $(uname -m); release build; \`bash bench/ann/run.sh\` (part of \`./run bench\`)."
  echo "Vectors: 1280-d EfficientNet-Lite0 embeddings projected to 256-d (fixed random orthonormal"
  echo "projection), quantised to i8; HNSW M=32, ef_construction=100, ef_search=64 (instant-distance)."
  echo "recall@10: share of the exact top-10 (full 1280-d f32 cosine, brute force) that the index returns"
  echo "in its top-10. Latency: one query on one thread, projection included."
  echo
  echo "| data | vectors | queries | build (2 cores) | p50 ms | p99 ms | recall@10 | file (load) | peak RSS | notes |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  cat "$rows"
} > "$OUT"
cat "$OUT"

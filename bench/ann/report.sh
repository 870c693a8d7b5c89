#!/usr/bin/env bash
# Assembles bench/results/ann.md from the rows bench/ann/run.sh wrote to bench/results/ann-rows/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROWS=bench/results/ann-rows
rows() { for f in "$@"; do [ -s "$f" ] && cat "$f"; done; return 0; }
{
  cat bench/ann/README.md
  echo
  echo "## Results ($(nproc) cores, $(uname -m), release build, \`bash bench/ann/run.sh\`)"
  echo
  echo "Single-thread queries (projection 1280→256 + i8 included) while the other core was busy with"
  echo "other work (shared machine; load average in the last column). recall@10: share of the exact top-10"
  echo "(full 1280-d f32 cosine, brute force) found in the index's top-10. Peak RSS of the whole bench"
  echo "process, which also holds the input codes (256 B/vector) and, for the real data, the 1280-d vectors."
  echo
  echo "| crate | data | vectors | queries | build (2 threads) | p50 ms | p99 ms | recall@10 | file | load | peak RSS | notes |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  rows "$ROWS"/real-*.md "$ROWS"/shaped-*.md "$ROWS"/random-*.md
  echo
  echo "### The engine's reference index for 100,000 references"
  echo
  echo "Synthetic references of 15 real-shaped embeddings each (whole image + the 14 windows of"
  echo "\`xiezhi_fingerprint::regions::windows\`), added in batches of 2,000 through \`ReferenceIndex::add\`;"
  echo "then a new process loads the file and shortlists 100 candidates (15 query vectors each, k = 16)."
  echo
  echo "| step | references | vectors / result | time | file | peak RSS | notes |"
  echo "|---|---|---|---|---|---|---|"
  rows "$ROWS"/refs-*-build.md
  rows "$ROWS"/refs-*-query.md | sed 's/^| load + shortlist | /| load + shortlist | — | /'
} > bench/results/ann.md
cat bench/results/ann.md

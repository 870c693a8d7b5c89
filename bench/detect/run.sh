#!/usr/bin/env bash
# Copy-detection benchmark, end to end:
#   bench/detect/run.sh [--refs N] [--ratio R] [--fit]
# fetches the Debian image packages, builds the references/edits/distractors,
# runs Xiezhi's harness and the PyPI peers on the same images, and writes
# bench/results/detect.{md,json} and models/METHOD-error-rates.md.
# --fit refits models/calibration.json on the train split (then rebuild to use it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REFS=100
RATIO=10
FIT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --refs) REFS="$2"; shift 2 ;;
    --ratio) RATIO="$2"; shift 2 ;;
    --fit) FIT=1; shift ;;
    *) echo "usage: bench/detect/run.sh [--refs N] [--ratio R] [--fit]" >&2; exit 2 ;;
  esac
done
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/xiezhi"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
PEERS=(imagehash-phash imagehash-dhash pdqhash imagededup-phash imagededup-dhash imagededup-whash imagededup-ahash)

DATA="$(bash bench/detect/fetch_data.sh | tail -1)"

# Peers and edit tools from PyPI. imagededup imports torch: Debian's python3-torch is
# used when the venv's Python is Debian's; otherwise pip brings torch itself.
VENV="$CACHE/bench-venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import augly.image, imagehash, pdqhash, imagededup, sklearn" 2>/dev/null; then
  echo "==> installing the benchmark's Python tools into $VENV" >&2
  [ -x "$VENV/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check augly ImageHash pdqhash imagededup \
    "numpy==1.26.4" "scipy<1.14" scikit-learn
fi
PY="$VENV/bin/python"

WORK="$CACHE/bench-work/refs$REFS-x$RATIO"
mkdir -p "$WORK"
nice -n 10 "$PY" bench/detect/prepare.py --data "$DATA" --out "$WORK" --refs "$REFS" --distractor-ratio "$RATIO"

cargo build --release --locked -p xiezhi-bench-detect
nice -n 10 "$CARGO_TARGET_DIR/release/detect-bench" --manifest "$WORK/manifest.json" --out "$WORK" \
  --fp-cache "$CACHE/bench-work/fp-cache"
for p in "${PEERS[@]}"; do
  nice -n 10 "$PY" bench/detect/peers.py --manifest "$WORK/manifest.json" --method "$p" --out "$WORK/peer-$p.jsonl"
done
mkdir -p bench/results
if [ "$REFS" = 100 ]; then SEL=detect-selection.tsv; else SEL="detect-refs$REFS-selection.tsv"; fi
cp "$WORK/selection.tsv" "bench/results/$SEL"
IFS=,
"$PY" bench/detect/evaluate.py --work "$WORK" --repo . --peers "${PEERS[*]}" $([ -n "$FIT" ] || echo --no-fit)

#!/usr/bin/env bash
# Scale benchmark: a case with 100,000 references -> bench/results/refs-scale.md.
# Peak RSS (/usr/bin/time -v) and wall time of (a) indexing the references (the first
# `xiezhi check` after they are added: every fingerprint row read once, the reference index
# brought up to date) and (b) `xiezhi scan` of the demo site's real crawl against them.
#   XIEZHI_REFS_SCALE_N      references added (default 100000)
#   XIEZHI_REFS_SCALE_SEEDS  real images fingerprinted once as seeds (default 400)
#   XIEZHI_REFS_SCALE_WORK   work folder (default: a new one under $TMPDIR; ~12 GB at 100k)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/xiezhi"
TARGET="${CARGO_TARGET_DIR:-target}"
N="${XIEZHI_REFS_SCALE_N:-100000}"
NSEEDS="${XIEZHI_REFS_SCALE_SEEDS:-400}"
cargo build --release --locked -p xiezhi-bench-refs-scale -p xiezhi-cli
BIN="$TARGET/release/refs-scale"
XZ="$TARGET/release/xiezhi"
OUT=bench/results/refs-scale.md

# Real images: the demo's assets and Wesnoth portraits/units from Debian main, extracted
# once into the benchmarks' data cache (no system install).
DATA="$CACHE/bench-data"
if [ ! -e "$DATA/root/.done-wesnoth-1.16-data" ]; then
  mkdir -p "$DATA/debs" "$DATA/root"
  (cd "$DATA/debs" && { ls wesnoth-1.16-data_*.deb >/dev/null 2>&1 || apt-get download wesnoth-1.16-data \
     || { apt-get update -qq && apt-get download wesnoth-1.16-data; }; } \
     && dpkg-deb -x "$(ls wesnoth-1.16-data_*.deb | head -1)" "$DATA/root")
  touch "$DATA/root/.done-wesnoth-1.16-data"
fi
WESNOTH="$DATA/root/usr/share/games/wesnoth/1.16/data/core/images"
# Seeds are stored fingerprints: keyed by their format version, so a format change makes new ones.
FORMAT="$(sed -n 's/^pub const STORED_FORMAT_VERSION: u16 = \([0-9]*\);/\1/p' crates/2-fingerprint/src/stored.rs)"
SEEDS="$DATA/refs-scale/seeds-$NSEEDS-v$FORMAT.bin"
mkdir -p "$DATA/refs-scale"
if [ ! -s "$SEEDS" ]; then
  "$BIN" seed --out "$SEEDS" --limit "$NSEEDS" crates/demo/assets "$WESNOTH/portraits" "$WESNOTH/units"
fi

WORK="${XIEZHI_REFS_SCALE_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/xiezhi-refs-scale.XXXXXX")}"
mkdir -p "$WORK"
CASE="$WORK/demo/case"
# time -v's peak RSS (MiB) and wall time (s) of a logged run.
rss_mib() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$1"; }
wall_s() { awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; printf "%.1f", s}' "$1"; }
measure() { # name, command...
  local name=$1; shift
  echo "load before $name: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$WORK/load.txt"
  /usr/bin/time -v "$@" > "$WORK/$name.out" 2> "$WORK/$name.time"
  echo "load after $name: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$WORK/load.txt"
}

# The demo: a real crawl of the bundled site on 127.0.0.1, its 6 real references, one scan.
"$XZ" demo --out "$WORK/demo" > "$WORK/demo.log"
# Setting up the case is not what is measured: without its 4 fsyncs per reference (blob,
# folder, two commits) it takes minutes instead of half an hour, so it runs under eatmydata.
command -v eatmydata >/dev/null || apt-get install -y -qq eatmydata >/dev/null || true
NOSYNC=$(command -v eatmydata || true)
measure populate $NOSYNC "$BIN" populate --case "$CASE" --seeds "$SEEDS" --n "$N" \
  --exclude crates/demo/assets
measure index "$XZ" --json check "$CASE" "$WORK/demo/references/rocket.jpg"
measure scan "$XZ" --json scan "$CASE"
"$XZ" matches "$CASE" --min-score 0.5 > "$WORK/matches.txt"
refs=$("$XZ" --json case show "$CASE" | grep -o '"references": *[0-9]*' | grep -o '[0-9]*$' || echo "?")
db_mib=$(du -m "$CASE/case.db" | cut -f1)
ann_mib=$(du -m "$CASE"/ann/*.xzann | cut -f1 | paste -sd+ | bc)
blobs_mib=$(du -sm "$CASE/blobs" | cut -f1)
# Matches on crawled images last written by an earlier scan than the last one.
missed() {
  sqlite3 -readonly "$CASE/case.db" "SELECT printf('%.3f', m.score), r.original_path, a.locator FROM matches m
    JOIN refs r ON r.id = m.reference_id JOIN assets a ON a.id = m.asset_id
    WHERE a.origin = 'crawl' AND m.scan_id < (SELECT max(id) FROM scans WHERE kind = 'scan')
    ORDER BY m.score DESC" | sed "s|$WORK/||" || echo "(sqlite3 missing)"
}
field() { grep -o "\"$1\": *[0-9]*" "$WORK/scan.out" | head -1 | grep -o '[0-9]*$'; }

{
  echo "# 100,000 references: memory and time of indexing and scanning"
  echo
  echo "\`bash bench/refs-scale/run.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores; \`XIEZHI_REFS_SCALE_N=$N\`)."
  echo "Target (issue 4): 100,000 references indexed in < 2 GB RSS."
  echo
  echo "| step | peak RSS | wall time |"
  echo "|---|---|---|"
  echo "| setting up: adding $N references (\`refs-scale populate\`, store API${NOSYNC:+, fsync disabled by eatmydata}) | $(rss_mib "$WORK/populate.time") MiB | $(wall_s "$WORK/populate.time") s |"
  echo "| (a) indexing them: first \`xiezhi check\` of one image (every row read once, $N references added to the ANN index, index stored) | $(rss_mib "$WORK/index.time") MiB | $(wall_s "$WORK/index.time") s |"
  echo "| (b) \`xiezhi scan\` of the demo crawl ($(field candidates) captured images) against them | $(rss_mib "$WORK/scan.time") MiB | $(wall_s "$WORK/scan.time") s |"
  echo
  echo "Case: $refs references; case.db $db_mib MiB, reference index $ann_mib MiB, blobs $blobs_mib MiB."
  echo "Scan (b): $(field compared) reference-candidate pairs compared in full, $(field reference_loads) reference"
  echo "fingerprints read back from case.db (cache budget 256 MiB), $(field from_cache) fingerprints reused, $(field fingerprinted) computed."
  echo
  echo "Load average (1/5/15 min) around each step — the machine is shared with builds, so times are noisy:"
  echo
  sed 's/^/    /' "$WORK/load.txt"
  echo
  echo "Matches at or above 0.5 after the scan (the demo's planted copies must stay on top):"
  echo
  sed 's/^/    /' "$WORK/matches.txt" | head -20
  echo
  echo "Pairs of the demo's own 6-reference scan (crawl images only) that the scan against $N references"
  echo "did not find again (its rows still carry the first scan's id: the pair was not shortlisted):"
  echo
  missed | sed 's/^/    /'
  echo
  echo "## What is real and what is synthetic"
  echo
  echo "- Real: the demo site's crawl (served on 127.0.0.1 by \`xiezhi demo\`) and its 6 references;"
  echo "  the code path (\`xiezhi check\`/\`scan\` release builds, case.db rows read through the store);"
  echo "  the seed fingerprints ($(grep -o '^[0-9]* seed' "$WORK/populate.time" | grep -o '[0-9]*')), computed by the full pipeline from real images: Wesnoth 1.16"
  echo "  portraits and unit sprites from Debian's \`wesnoth-1.16-data\` (seeds made from the demo's own"
  echo "  assets are left out: the crawl holds those images, so their copies would be real matches)."
  echo "- Synthetic: the $N added references. Each blob is a distinct 4x4 PNG (never decoded: its"
  echo "  fingerprint row is already stored); its stored fingerprint is a seed's (real size, real"
  echo "  keypoints and descriptors) with the whole-image and window embeddings perturbed (Gaussian"
  echo "  noise of 0.5/sqrt(1280) per component, ReLU, renormalised; seeded), 64 random bits flipped"
  echo "  in each PDQ hash, and its own SHA-256 and pixel SHA-256."
} > "$OUT"
cat "$OUT"
echo "work folder (delete when done): $WORK"

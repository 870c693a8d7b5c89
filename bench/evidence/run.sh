#!/usr/bin/env bash
# Evidence-stage benchmark: export of N exhibits (default 200; target < 20 s on 2 cores) and
# verify of a ~1 GiB bundle against `sha256sum` over the same file (target ≥ 0.8× its speed).
# Usage: bench/evidence/run.sh [--exhibits N] [--gib G]; writes bench/results/evidence.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
n=200 gib=1.0
while [ $# -gt 0 ]; do
  case "$1" in
    --exhibits) n="$2"; shift 2 ;;
    --gib) gib="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release --locked -p xiezhi-evidence --example bench_evidence
bin="${CARGO_TARGET_DIR:-target}/release/examples/bench_evidence"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" "$work" "$n" "$gib" > "$work/result.json"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p bench/results
python3 - "$work/result.json" "$load_before" "$load_after" > bench/results/evidence.md <<'PY'
import json, os, platform, sys
d = json.load(open(sys.argv[1]))
print("# Evidence bundle: export and verify (release build)\n")
print("Command: `bench/evidence/run.sh` (`./run bench` runs it).\n")
print(f"- machine: {os.cpu_count()} cores, {platform.machine()}; load average (1/5/15 min) "
      f"before {sys.argv[2]}, after {sys.argv[3]}")
print(f"- export of {d['exhibits']} exhibits (reference PNG 800×600, candidate JPEG 1024×768, an overlay drawn per "
      f"exhibit ({d['overlays']} written), a page screenshot for every fourth, WACZ, two RFC 3161 stages with a local TSA, "
      f"report with thumbnails): **{d['export_seconds']:.1f} s** (target < 20 s); bundle "
      f"{d['bundle_bytes']/2**20:.1f} MiB, {d['bundle_files']} files")
print(f"- verify of that bundle: {d['verify_seconds']:.2f} s")
print(f"- verify of a {d['big_bundle_bytes']/2**30:.2f} GiB bundle whose capture.wacz is "
      f"{d['big_wacz_bytes']/2**20:.0f} MiB (streamed from the bundle, not held in memory): "
      f"**{d['verify_big_seconds']:.1f} s** vs `sha256sum` over the same file {d['sha256sum_big_seconds']:.1f} s → "
      f"**{d['verify_over_sha256sum_speed']:.2f}×** sha256sum's speed (target ≥ 0.8×)")
PY
cat bench/results/evidence.md

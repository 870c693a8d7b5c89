#!/usr/bin/env bash
# Fetches the real images of the detection benchmark from Debian main:
# `apt-get download` + `dpkg-deb -x` into a cache folder (no system install).
# Idempotent: a package already extracted is skipped.
set -euo pipefail
DATA="${XIEZHI_BENCH_DATA:-$HOME/.cache/xiezhi/bench-data}"
PACKAGES=(wesnoth-1.16-data hedgewars-data freedroidrpg-data openclipart-png stellarium-data gnome-backgrounds python3-skimage)
mkdir -p "$DATA/debs" "$DATA/root"
cd "$DATA/debs"
for p in "${PACKAGES[@]}"; do
    if [ -e "$DATA/root/.done-$p" ]; then continue; fi
    if ! ls "$p"_*.deb >/dev/null 2>&1; then
        apt-get download "$p" || { apt-get update -qq && apt-get download "$p"; }
    fi
    dpkg-deb -x "$(ls "$p"_*.deb | head -1)" "$DATA/root"
    touch "$DATA/root/.done-$p"
done
echo "$DATA/root"

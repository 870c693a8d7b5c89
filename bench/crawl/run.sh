#!/usr/bin/env bash
# Crawl benchmark: `xiezhi crawl` vs `wget --mirror` on sites served by nginx on 127.0.0.1.
#   bench/crawl/run.sh XIEZHI_BINARY
# Sites: the GIMP manual (Debian gimp-help-en + gimp-help-common, a real site nobody here
# wrote) and a generated site of CRAWL_PAGES pages (default 5000, 4 images each) plus a
# CRAWL_SMALL_PAGES variant (default 1000) to show memory against the number of pages.
# CRAWL_REPEATS (default 3) runs of each tool per site; the ratio reported is the median.
# Data is cached in ~/.cache/xiezhi/bench-data/crawl. Results: bench/results/crawl.{md,json}.
# Needs: nginx (nginx-light), wget, GNU time, python3 with warcio (the test venv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BIN="$(realpath "${1:?usage: bench/crawl/run.sh XIEZHI_BINARY}")"
PAGES="${CRAWL_PAGES:-5000}"
SMALL="${CRAWL_SMALL_PAGES:-1000}"
CONC="${CRAWL_CONCURRENCY:-16}"
REPEATS="${CRAWL_REPEATS:-3}"
DATA="${XDG_CACHE_HOME:-$HOME/.cache}/xiezhi/bench-data/crawl"
PY="${XIEZHI_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/xiezhi/venv}/bin/python"
OUT="${CRAWL_OUT:-bench/results}"
mkdir -p "$OUT" "$DATA"
for tool in nginx wget /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "crawl bench needs $tool (apt-get install nginx-light wget time)" >&2; exit 1; }
done

# --- data -------------------------------------------------------------------------------
GIMP="$DATA/gimp/usr/share/gimp/2.0/help/en"
if [ ! -f "$GIMP/index.html" ]; then
  echo "==> fetching the GIMP manual (gimp-help-en, gimp-help-common) from Debian" >&2
  mkdir -p "$DATA/debs"
  # apt-get download needs package lists; refresh them once if it fails.
  (cd "$DATA/debs" && { apt-get download gimp-help-en gimp-help-common || { apt-get update -qq &&
    apt-get download gimp-help-en gimp-help-common; }; })
  for deb in "$DATA"/debs/gimp-help-*.deb; do dpkg-deb -x "$deb" "$DATA/gimp"; done
fi
for n in "$PAGES" "$SMALL"; do
  if [ ! -f "$DATA/gen-$n/.done" ]; then
    echo "==> generating a $n-page site" >&2
    rm -rf "$DATA/gen-$n"
    nice -n 10 python3 bench/crawl/gen_site.py "$DATA/gen-$n" "$n" 4
    touch "$DATA/gen-$n/.done"
  fi
done

work="$(mktemp -d)"
nginx_pid=""
cleanup() {
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# --- nginx on a free loopback port, one server per site -----------------------------------
port_base=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root;"
sites=(gimp "gen-$SMALL" "gen-$PAGES")
roots=("$GIMP" "$DATA/gen-$SMALL" "$DATA/gen-$PAGES")
servers=""
for i in "${!sites[@]}"; do
  servers+="server { listen 127.0.0.1:$((port_base + i)); root ${roots[$i]}; location / { index index.html; } }
"
done
mkdir -p "$work/nginx/tmp"
cat > "$work/nginx/nginx.conf" <<CONF
$user_line
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  $servers
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
for _ in $(seq 50); do
  curl_ok=$(python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port_base/index.html'); print(1)" 2>/dev/null || true)
  [ "$curl_ok" = 1 ] && break
  sleep 0.1
done
[ "${curl_ok:-}" = 1 ] || { echo "nginx did not start:" >&2; cat "$work/nginx/error.log" >&2; exit 1; }

# --- the runs -----------------------------------------------------------------------------
runs="$work/runs.json"
echo "[" > "$runs"
first=1
add_run() { # site tool warc_glob time_file exit_code load_before repetition
  [ $first -eq 1 ] || echo "," >> "$runs"
  first=0
  printf '{"site": "%s", "tool": "%s", "warc_glob": "%s", "time_file": "%s", "exit_code": %s, "load": %s, "rep": %s}\n' "$@" >> "$runs"
}
load() { cut -d' ' -f1 /proc/loadavg; }
# Each repetition runs wget then xiezhi on every site, so both meet the same moments of
# machine noise (this VM's disk latency varies several-fold between minutes); measure.py
# reports every run and the median ratio.
for rep in $(seq "$REPEATS"); do
for i in "${!sites[@]}"; do
  site="${sites[$i]}"
  url="http://127.0.0.1:$((port_base + i))/index.html"
  dir="$work/$site/r$rep"
  echo "==> $site (run $rep of $REPEATS): wget" >&2
  mkdir -p "$dir/wget"
  load_before=$(load)
  set +e
  (cd "$dir/wget" && /usr/bin/time -v -o ../wget.time wget --mirror --page-requisites --no-parent \
    -e robots=off --no-verbose --warc-file=site "$url" > ../wget.log 2>&1)
  code=$?
  set -e
  add_run "$site" wget "$dir/wget/site*.warc.gz" "$dir/wget.time" "$code" "$load_before" "$rep"
  echo "==> $site (run $rep of $REPEATS): xiezhi crawl" >&2
  "$BIN" case init "$dir/case" --name "crawl bench $site" > /dev/null
  load_before=$(load)
  set +e
  /usr/bin/time -v -o "$dir/xiezhi.time" "$BIN" crawl "$dir/case" "$url" --rate 0 \
    --concurrency "$CONC" --max-pages 1000000 --max-depth 1000 --ignore-robots --json \
    > "$dir/xiezhi.json" 2> "$dir/xiezhi.log"
  code=$?
  set -e
  add_run "$site" xiezhi "$dir/case/warc/*.warc.gz" "$dir/xiezhi.time" "$code" "$load_before" "$rep"
done
done
echo "]" >> "$runs"
CRAWL_BINARY="$BIN" "$PY" bench/crawl/measure.py "$OUT" "$runs"

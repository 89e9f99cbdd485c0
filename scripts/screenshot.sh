#!/usr/bin/env bash
# Screenshot of an HTML report in headless Chromium (Debian's `chromium` package), offline.
# Usage: scripts/screenshot.sh HTML_FILE OUT_PNG [WIDTH] [HEIGHT]
#   WIDTH defaults to 1280 (use 390 for a phone); HEIGHT (the part of the page captured) to 3000.
# Exits non-zero when Chromium fails or writes no picture; Chromium's own log is shown then.
set -euo pipefail

if [[ $# -lt 2 || $# -gt 4 ]]; then
  echo "usage: $0 HTML_FILE OUT_PNG [WIDTH] [HEIGHT]" >&2
  exit 2
fi
html=$1
out=$2
width=${3:-1280}
height=${4:-3000}
[[ -f $html ]] || { echo "$0: no such file: $html" >&2; exit 2; }
[[ $width =~ ^[0-9]+$ && $height =~ ^[0-9]+$ ]] || { echo "$0: WIDTH and HEIGHT are pixels" >&2; exit 2; }
command -v chromium >/dev/null || { echo "$0: chromium not found (apt-get install -y --no-install-recommends chromium)" >&2; exit 3; }

html_abs=$(realpath "$html")
out_abs=$(realpath -m "$out")
profile=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$profile" "$log"' EXIT
rm -f "$out_abs"

status=0
timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
  --user-data-dir="$profile" --window-size="$width,$height" --screenshot="$out_abs" \
  "file://$html_abs" >"$log" 2>&1 || status=$?

if [[ $status -ne 0 || ! -s $out_abs ]]; then
  echo "$0: chromium failed (exit $status) or wrote no screenshot; its log:" >&2
  cat "$log" >&2
  exit 1
fi
echo "$out_abs (${width}x${height})"

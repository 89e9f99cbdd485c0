#!/usr/bin/env bash
# Side-by-side throughput: formcheck (release build) vs MediaPipe 0.10.14's Python pose pipeline,
# on the same clip, one right after the other. Prints the frames/s figures and their ratios.
# Usage: scripts/bench.sh [CLIP]
#   default CLIP: ${FORMCHECK_CLIPS_DIR:-../shared/clips}/gymapp_deadlift_1080p60.mp4 (relative to the project root)
# MediaPipe runs from a venv at PROJECT/.venv-bench, created and filled on first use (needs PyPI).
# Exits non-zero only when something fails; the ratio itself never fails the script.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
CLIP=${1:-${FORMCHECK_CLIPS_DIR:-../shared/clips}/gymapp_deadlift_1080p60.mp4}
[[ -f $CLIP ]] || { echo "bench: no such clip: $CLIP" >&2; exit 2; }

# --- MediaPipe venv -------------------------------------------------------------------------
# mediapipe 0.10.14 needs numpy<2. It declares opencv-contrib-python, which would install a second
# cv2 over opencv-python-headless (mixed files, and it wants libGL), and jax/jaxlib, which only its
# LLM converter imports: so install mediapipe --no-deps plus its other dependencies.
VENV=$ROOT/.venv-bench
PY=$VENV/bin/python
[[ -x $PY ]] || python3 -m venv "$VENV"
if ! "$PY" -c 'import cv2, mediapipe as m; assert m.__version__ == "0.10.14"' 2>/dev/null; then
    echo "bench: installing mediapipe 0.10.14 into $VENV ..." >&2
    "$PY" -m pip install -q --disable-pip-version-check \
        'numpy<2' 'protobuf>=4.25.3,<5' 'opencv-python-headless<4.11' \
        absl-py 'attrs>=19.1.0' 'flatbuffers>=2.0' matplotlib 'sounddevice>=0.4.4'
    "$PY" -m pip install -q --disable-pip-version-check --no-deps 'mediapipe==0.10.14'
fi

# --- formcheck ---------------------------------------------------------------------------
# Twice: as shipped (the pose model at most 30 times a second of the clip, frames between
# interpolated, the plate on every frame) and with the model on every frame, as MediaPipe does.
cargo build --release -q
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "== formcheck: $CLIP"
target/release/formcheck analyze "$CLIP" -o "$OUT/default" --timings --no-video | tee "$OUT/formcheck.txt"
FC=$(awk '/end to end/ { print $4; exit }' "$OUT/formcheck.txt")
[[ -n $FC ]] || { echo "bench: no 'end to end' line from formcheck" >&2; exit 1; }
echo "== formcheck --pose-hz 0 (pose model on every frame): $CLIP"
target/release/formcheck analyze "$CLIP" -o "$OUT/every" --timings --no-video --pose-hz 0 | tee "$OUT/formcheck0.txt"
FC0=$(awk '/end to end/ { print $4; exit }' "$OUT/formcheck0.txt")
[[ -n $FC0 ]] || { echo "bench: no 'end to end' line from formcheck --pose-hz 0" >&2; exit 1; }

# --- MediaPipe ------------------------------------------------------------------------------
echo "== mediapipe: $CLIP"
# MediaPipe's C++ log chatter goes to a file, shown only if the run fails.
MP_LINE=$("$PY" scripts/bench_mediapipe.py "$CLIP" 2>"$OUT/mediapipe.log") || { cat "$OUT/mediapipe.log" >&2; exit 1; }
echo "$MP_LINE"
MP=$(awk '{ print $(NF-1) }' <<<"$MP_LINE")

# --- Summary --------------------------------------------------------------------------------
echo "== summary"
printf 'formcheck:               %s frames/s\nformcheck --pose-hz 0:   %s frames/s\nmediapipe:               %s frames/s\n' "$FC" "$FC0" "$MP"
awk -v a="$FC" -v a0="$FC0" -v b="$MP" 'BEGIN {
    if (b > 0) { printf "ratio formcheck/mediapipe: %.2fx (every frame: %.2fx)\n", a / b, a0 / b }
    else print "ratio formcheck/mediapipe: n/a" }'

#!/usr/bin/env bash
# formcheck against MediaPipe 0.10.14's Python pose pipeline, whole processes, on this machine.
#
#   scripts/bench.sh [CLIP]            one clip: formcheck as shipped, formcheck --pose-hz 0 (the
#                                      pose model on every frame, like MediaPipe) and MediaPipe,
#                                      RUNS times each (default 3), alternated, medians reported
#   scripts/bench.sh --batch [N]       a coach's batch: N dev clips (default 12), formcheck
#                                      `analyze --no-video` with its default -j against MediaPipe
#                                      over the same clips as two parallel processes
#
# Every run is timed by /usr/bin/time: wall seconds and CPU seconds (user + system, the process's
# own accounting, all threads and children). Printed: wall time, frames/s, CPU seconds per frame
# (batch: clips per hour and CPU seconds per clip) and the ratios against MediaPipe. The default
# CLIP is ${FORMCHECK_CLIPS_DIR:-../shared/clips}/gymapp_deadlift_1080p60.mp4. MediaPipe runs from a
# venv at PROJECT/.venv-bench, created and filled on first use (needs PyPI). The machine is
# shared and noisy: runs alternate so that drift hits all three alike; compare ratios, not
# absolute figures across days. Exits non-zero only when something fails, never on a ratio.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-3}
CLIPS_DIR=${FORMCHECK_CLIPS_DIR:-../shared/clips}
MODE=single
if [[ ${1:-} == --batch ]]; then
    MODE=batch
    N=${2:-12}
else
    CLIP=${1:-$CLIPS_DIR/gymapp_deadlift_1080p60.mp4}
    [[ -f $CLIP ]] || { echo "bench: no such clip: $CLIP" >&2; exit 2; }
fi
command -v /usr/bin/time >/dev/null || { echo "bench: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

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

cargo build --release -q
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# timed NAME CMD...: runs CMD under /usr/bin/time, appends "wall cpu" to $OUT/NAME.times;
# the command's own output goes to $OUT/NAME.log (shown if it fails).
timed() {
    local name=$1; shift
    if ! /usr/bin/time -f '%e %U %S' -o "$OUT/$name.t" "$@" >"$OUT/$name.log" 2>&1; then
        cat "$OUT/$name.log" >&2; echo "bench: $name failed" >&2; exit 1
    fi
    awk '{ printf "%s %.3f\n", $1, $2 + $3 }' "$OUT/$name.t" >>"$OUT/$name.times"
}
# median FILE COLUMN
median() { sort -g -k"$2","$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

if [[ $MODE == single ]]; then
    FRAMES=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$CLIP")
    echo "== $CLIP: $FRAMES frames; $RUNS runs each, alternated"
    for r in $(seq "$RUNS"); do
        timed fc target/release/formcheck analyze "$CLIP" -o "$OUT/fc$r" --no-video -q
        timed fc0 target/release/formcheck analyze "$CLIP" -o "$OUT/fc0$r" --no-video -q --pose-hz 0
        timed mp "$PY" scripts/bench_mediapipe.py "$CLIP"
        echo "  run $r: formcheck $(tail -1 "$OUT/fc.times"), --pose-hz 0 $(tail -1 "$OUT/fc0.times"), mediapipe $(tail -1 "$OUT/mp.times") (wall s, CPU s)"
    done
    target/release/formcheck analyze "$CLIP" -o "$OUT/timings" --no-video --timings | sed -n '/end to end/,/writing outputs/p'
    echo "== medians (whole processes, start-up included)"
    printf '%-24s %8s %10s %14s %10s %10s\n' "" "wall s" "frames/s" "CPU ms/frame" "wall vs MP" "CPU vs MP"
    MPW=$(median "$OUT/mp.times" 1); MPC=$(median "$OUT/mp.times" 2)
    for name in fc fc0 mp; do
        W=$(median "$OUT/$name.times" 1); C=$(median "$OUT/$name.times" 2)
        label=$([[ $name == fc ]] && echo "formcheck" || { [[ $name == fc0 ]] && echo "formcheck --pose-hz 0" || echo "mediapipe"; })
        awk -v l="$label" -v w="$W" -v c="$C" -v f="$FRAMES" -v mw="$MPW" -v mc="$MPC" 'BEGIN {
            printf "%-24s %8.2f %10.1f %14.1f %9.2fx %9.2fx\n", l, w, f / w, 1000 * c / f, mw / w, c / mc }'
    done
    echo "(wall vs MP: how many times faster than MediaPipe; CPU vs MP: CPU per frame as a share of MediaPipe's)"
else
    mapfile -t CLIPS < <(find "$CLIPS_DIR" -maxdepth 1 -name '*.mp4' | sort | head -n "$N")
    [[ ${#CLIPS[@]} -gt 0 ]] || { echo "bench: no clips in $CLIPS_DIR" >&2; exit 2; }
    FRAMES=0
    for c in "${CLIPS[@]}"; do
        FRAMES=$((FRAMES + $(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$c")))
    done
    HALF=$(( (${#CLIPS[@]} + 1) / 2 ))
    echo "== batch of ${#CLIPS[@]} clips ($FRAMES frames); $RUNS runs each, alternated"
    for r in $(seq "$RUNS"); do
        timed fcb target/release/formcheck analyze "${CLIPS[@]}" -o "$OUT/batch$r" --no-video -q
        # Two MediaPipe processes over the two halves of the list, both waited for.
        timed mpb bash -c 'py=$1 half=$2; shift 2
            "$py" scripts/bench_mediapipe.py "${@:1:half}" & a=$!
            "$py" scripts/bench_mediapipe.py "${@:half+1}" & b=$!
            wait "$a" && wait "$b"' _ "$PY" "$HALF" "${CLIPS[@]}"
        echo "  run $r: formcheck $(tail -1 "$OUT/fcb.times"), mediapipe x2 $(tail -1 "$OUT/mpb.times") (wall s, CPU s)"
    done
    echo "== medians"
    MW=$(median "$OUT/mpb.times" 1); MC=$(median "$OUT/mpb.times" 2)
    for name in fcb mpb; do
        W=$(median "$OUT/$name.times" 1); C=$(median "$OUT/$name.times" 2)
        label=$([[ $name == fcb ]] && echo "formcheck (-j default)" || echo "mediapipe (2 processes)")
        awk -v l="$label" -v w="$W" -v c="$C" -v n="${#CLIPS[@]}" -v f="$FRAMES" -v mw="$MW" -v mc="$MC" 'BEGIN {
            printf "%-24s %8.1f s wall  %7.0f clips/hour  %6.2f CPU s/clip  %6.1f CPU ms/frame  %5.2fx MP clips/hour  %5.2fx MP CPU\n",
                   l, w, 3600 * n / w, c / n, 1000 * c / f, mw / w, c / mc }'
    done
fi

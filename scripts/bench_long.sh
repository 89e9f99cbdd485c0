#!/usr/bin/env bash
# Long clips: peak memory must not grow with the clip's length. Loops a real 1080p30 clip with
# ffmpeg (stream copy, no re-encode) into 1, 5 and 10 minute clips, analyses each with
# `--no-video --timings` under GNU time, and prints minutes, frames/s and peak RSS per clip.
# Then analyses a 4K clip (the 4K sample, looped to 20 s) with the annotated video.
# Usage: scripts/bench_long.sh [CLIP] [MINUTES...]
#   default CLIP: ${FORMCHECK_CLIPS_DIR:-../shared/clips}/mattiolato_good_01.mp4; MINUTES: 1 5 10
# Needs ffmpeg and /usr/bin/time (Debian package `time`). Exits non-zero only when a run fails.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
CLIPS=${FORMCHECK_CLIPS_DIR:-../shared/clips}
CLIP=${1:-$CLIPS/mattiolato_good_01.mp4}
shift || true
MINUTES=("$@")
[[ ${#MINUTES[@]} -gt 0 ]] || MINUTES=(1 5 10)
[[ -f $CLIP ]] || { echo "bench_long: no such clip: $CLIP" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "bench_long: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
cargo build --release -q
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

run() {  # label clip extra-args...
    local label=$1 clip=$2; shift 2
    /usr/bin/time -v target/release/formcheck analyze "$clip" -o "$WORK/out" --force --timings "$@" \
        >"$WORK/log.txt" 2>&1 || { cat "$WORK/log.txt" >&2; echo "bench_long: $label failed" >&2; exit 1; }
    local rss fps frames
    rss=$(awk '/Maximum resident set size/ { print $6 }' "$WORK/log.txt")
    fps=$(awk '/end to end/ { print $4; exit }' "$WORK/log.txt")
    frames=$(awk '/end to end/ { print $9; exit }' "$WORK/log.txt")
    printf '%-10s %7s frames %8s frames/s   peak RSS %5d MiB\n' "$label" "$frames" "$fps" "$((rss / 1024))"
}

echo "== peak memory vs length ($CLIP looped, --no-video)"
for m in "${MINUTES[@]}"; do
    ffmpeg -v error -y -stream_loop -1 -i "$CLIP" -t $((m * 60)) -c copy "$WORK/long_${m}min.mp4"
    run "${m} min" "$WORK/long_${m}min.mp4" --no-video
    rm -f "$WORK/long_${m}min.mp4"
done

FOURK=$CLIPS/bichraix_4k_angled.mp4
if [[ -f $FOURK ]]; then
    echo "== 4K ($FOURK looped to 20 s, with the annotated video)"
    ffmpeg -v error -y -stream_loop -1 -i "$FOURK" -t 20 -c copy "$WORK/4k.mp4"
    run "4K 20 s" "$WORK/4k.mp4"
fi

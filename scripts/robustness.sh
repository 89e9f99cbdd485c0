#!/usr/bin/env bash
# Robustness over every clip of a folder: for each clip, a near-lossless re-encode (libx264
# -crf 12) and a copy shifted 2 px right must give the same rep count and the same
# fault-severity findings as the original. Prints one line per clip and variant, and a summary;
# exits 1 when any differs. Warnings that differ are listed and counted, without failing.
#   scripts/robustness.sh [CLIPS_FOLDER (default ../shared/clips)] [OUT (default a temp folder)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
clips="${1:-$root/../shared/clips}"
out="${2:-$(mktemp -d)}"
bin="$root/target/release/formcheck"
[ -x "$bin" ] || { echo "robustness: build first (scripts/setup.sh)" >&2; exit 2; }
mkdir -p "$out/variants"
for clip in "$clips"/*.mp4; do
  stem="$(basename "$clip" .mp4)"
  ffmpeg -v error -y -i "$clip" -c:v libx264 -crf 12 -preset veryfast -an "$out/variants/${stem}__crf12.mp4"
  ffmpeg -v error -y -i "$clip" -vf "pad=iw+2:ih:2:0,crop=iw-2:ih:0:0" -c:v libx264 -crf 12 -preset veryfast -an \
    "$out/variants/${stem}__shift2.mp4"
done
"$bin" analyze "$clips"/*.mp4 "$out"/variants/*.mp4 -o "$out/reports" --no-video -q || true
python3 - "$out/reports" <<'PY'
import json, os, sys
reports = sys.argv[1]
def outcome(stem):
    path = os.path.join(reports, stem, "report.json")
    if not os.path.exists(path):
        return None
    r = json.load(open(path))
    faults = sorted((rep.get("index", rep.get("rep", {}).get("index")), f["code"])
                    for rep in r["reps"] for f in rep["faults"] if f["severity"] == "fault")
    return len(r["reps"]), faults
bad = 0
stems = sorted(d for d in os.listdir(reports) if os.path.isdir(os.path.join(reports, d)) and "__" not in d)
for stem in stems:
    want = outcome(stem)
    for v in ("crf12", "shift2"):
        got = outcome(f"{stem}__{v}")
        same = got == want
        bad += not same
        print(f"{'same' if same else 'DIFF'}  {stem:30} {v:7} reps/faults {got}  original {want}")
print(f"{bad} of {2 * len(stems)} variants differ")
# Warnings are not held to this (a value near its limit moves across it), but they are counted,
# so that a knife-edge measure shows: every (rep, code) whose warn-or-worse severity differs.
def warned(stem):
    path = os.path.join(reports, stem, "report.json")
    if not os.path.exists(path):
        return {}
    r = json.load(open(path))
    return {(rep["index"], f["code"]): f["severity"] for rep in r["reps"] for f in rep["faults"]
            if f["severity"] in ("warn", "fault")}
moved = {}
for stem in stems:
    want = warned(stem)
    for v in ("crf12", "shift2"):
        got = warned(f"{stem}__{v}")
        for key in set(want) | set(got):
            if want.get(key) != got.get(key):
                moved[key[1]] = moved.get(key[1], 0) + 1
                print(f"warn  {stem:30} {v:7} rep {key[0]} {key[1]}: {got.get(key)} (original {want.get(key)})")
print(f"warnings that differ from the original's: {sum(moved.values())} {dict(sorted(moved.items()))}")
sys.exit(1 if bad else 0)
PY

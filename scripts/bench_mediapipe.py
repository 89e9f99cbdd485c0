#!/usr/bin/env python3
"""Throughput of MediaPipe's Python pose pipeline (the baseline formcheck is compared with).

Decodes each CLIP with OpenCV (BGR -> RGB) and runs mediapipe.solutions.pose.Pose (full model,
tracking on, no smoothing, no segmentation) on every frame, a fresh graph per clip as a separate
analysis would. The timed loop covers decode + inference; building the graph is outside it (the
whole process, start-up included, is timed by scripts/bench.sh). Prints
`mediapipe: N frames in S s = F frames/s`, or with --json {"frames": N, "seconds": S, "fps": F}.
Made for scripts/bench.sh, which sets up the venv (mediapipe 0.10.14).

Usage: bench_mediapipe.py [--json] CLIP...
"""
import argparse, json, sys, time

import cv2
import mediapipe as mp

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("clips", nargs="+")
ap.add_argument("--json", action="store_true", help="print a JSON object instead of the text line")
args = ap.parse_args()

frames = 0
seconds = 0.0
for clip in args.clips:
    cap = cv2.VideoCapture(clip)
    if not cap.isOpened():
        sys.exit(f"bench_mediapipe: cannot open {clip}")
    pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=False,
                                  enable_segmentation=False)
    n = 0
    t0 = time.perf_counter()
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        pose.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        n += 1
    seconds += time.perf_counter() - t0
    pose.close()
    cap.release()
    if n == 0:
        sys.exit(f"bench_mediapipe: no frames decoded from {clip}")
    frames += n

fps = frames / seconds
if args.json:
    print(json.dumps({"frames": frames, "seconds": round(seconds, 3), "fps": round(fps, 2)}))
else:
    print(f"mediapipe: {frames} frames in {seconds:.2f} s = {fps:.1f} frames/s")

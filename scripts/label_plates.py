#!/usr/bin/env python3
"""label_plates.py - helper for hand-labelling barbell plate centres (tests/data/plate_labels.tsv).

Frames are addressed by 0-based decode index (the sequence of cv2.VideoCapture.read()).
Coordinates are pixels of the decoded (upright) frame.

  label_plates.py extract CLIP FRAME...      -> OUTDIR/<clip>_f<frame>.png with a 50 px grid and
                                                 labelled ruler ticks on all four borders
  label_plates.py zoom CLIP FRAME X Y R      -> OUTDIR/<clip>_f<frame>_zoom_<X>_<Y>.png: the square
                                                 (X-R..X+R, Y-R..Y+R) scaled 3x, 10 px grid labelled in
                                                 ORIGINAL frame coordinates, red cross at (X,Y)
OUTDIR defaults to /tmp/plate_frames (override with env LABEL_OUT).
Read the centre off the picture by eye, then write it into tests/data/plate_labels.tsv.
"""
import os
import sys

import cv2

OUT = os.environ.get("LABEL_OUT", "/tmp/plate_frames")
FONT = cv2.FONT_HERSHEY_SIMPLEX


def read_frame(clip, idx):
    cap = cv2.VideoCapture(clip)
    frame = None
    for _ in range(idx + 1):  # sequential read: index == decode order, no seek ambiguity
        ok, frame = cap.read()
        if not ok:
            sys.exit(f"{clip}: only {_} frames decodable, wanted index {idx}")
    cap.release()
    return frame


def grid(img, x0, y0, scale, step, label_every, margin):
    """Draw grid on img (already scaled crop with origin x0,y0 in frame coords) plus border labels."""
    h, w = img.shape[:2]
    canvas = cv2.copyMakeBorder(img, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    fs = 0.35 if margin < 40 else 0.45
    first_x = (x0 + step - 1) // step * step
    for gx in range(first_x, x0 + int(w / scale) + 1, step):
        px = margin + int(round((gx - x0) * scale))
        major = gx % label_every == 0
        col = (0, 255, 255) if major else (200, 200, 200)
        cv2.line(canvas, (px, margin), (px, margin + h), col, 1)
        if major:
            for ty in (margin - 5, margin + h + 14):
                cv2.putText(canvas, str(gx), (px - 12, ty), FONT, fs, (0, 0, 0), 1)
    first_y = (y0 + step - 1) // step * step
    for gy in range(first_y, y0 + int(h / scale) + 1, step):
        py = margin + int(round((gy - y0) * scale))
        major = gy % label_every == 0
        col = (0, 255, 255) if major else (200, 200, 200)
        cv2.line(canvas, (margin, py), (margin + w, py), col, 1)
        if major:
            cv2.putText(canvas, str(gy), (2, py + 4), FONT, fs, (0, 0, 0), 1)
            cv2.putText(canvas, str(gy), (margin + w + 2, py + 4), FONT, fs, (0, 0, 0), 1)
    return canvas


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("extract", "zoom"):
        sys.exit(__doc__)
    os.makedirs(OUT, exist_ok=True)
    cmd, clip = sys.argv[1], sys.argv[2]
    name = os.path.splitext(os.path.basename(clip))[0]
    if cmd == "extract":
        for f in map(int, sys.argv[3:]):
            img = grid(read_frame(clip, f), 0, 0, 1.0, 50, 50, 40)
            path = f"{OUT}/{name}_f{f:04d}.png"
            cv2.imwrite(path, img)
            print(path)
    else:
        f, x, y, r = map(int, sys.argv[3:7])
        fr = read_frame(clip, f)
        H, W = fr.shape[:2]
        x0, y0, x1, y1 = max(0, x - r), max(0, y - r), min(W, x + r), min(H, y + r)
        crop = cv2.resize(fr[y0:y1, x0:x1], None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
        img = grid(crop, x0, y0, 3.0, 10, 10 if r <= 60 else 50, 40)
        cx, cy = 40 + int((x - x0 + 0.5) * 3), 40 + int((y - y0 + 0.5) * 3)
        cv2.drawMarker(img, (cx, cy), (0, 0, 255), cv2.MARKER_CROSS, 15, 1)
        path = f"{OUT}/{name}_f{f:04d}_zoom_{x}_{y}.png"
        cv2.imwrite(path, img)
        print(path)


if __name__ == "__main__":
    main()

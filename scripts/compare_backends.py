#!/usr/bin/env python3
"""Speed and agreement of other CPU back ends for the landmark model, on real ROI crops.

Usage: compare_backends.py MODEL.onnx OUT_DIR [CLIPS_DIR]

OUT_DIR is a `formcheck analyze` output folder: each clip's poses.json gives the crop the pipeline
fed the model on every frame it ran (`roi`: centre x, y, side, rotation). Crops are cut from the
clip's frames as the pipeline cuts them (rotated square, bilinear, black outside the frame, RGB
0..1), every few frames, and split by clip: the first half of the clips calibrate the int8 model,
the second half are measured. ONNX Runtime's float CPU run on one thread is the reference; each
alternative prints its time per run (one thread, median of alternated rounds) and how far its
landmarks (crop px of 256, the 33 body points) and outputs are from the reference.

Alternatives: OpenVINO at f32 and at its CPU default precision (bf16 on CPUs with AMX or
AVX512-BF16), and a static int8 (QDQ, per-channel) quantisation of the model calibrated on the
calibration crops. Needs numpy, opencv-python-headless, onnxruntime, onnx and openvino (pip).
"""
import glob
import json
import math
import os
import statistics
import sys
import tempfile
import time

import cv2
import numpy as np
import onnxruntime as ort

EVERY = 6  # frames between crops
PER_CLIP = 24  # crops per clip at most
ROUNDS = 5


def crops_of(clip_path, poses_path):
    frames = json.load(open(poses_path))["frames"]
    want = {f["i"]: f["roi"] for f in frames[::EVERY] if f.get("roi")}
    want = dict(list(want.items())[:PER_CLIP])
    cap, out, i = cv2.VideoCapture(clip_path), [], 0
    while want and cap.isOpened():
        ok, bgr = cap.read()
        if not ok:
            break
        if i in want:
            cx, cy, side, angle = want.pop(i)
            cos, sin, s = math.cos(angle), math.sin(angle), 256.0 / side
            rot = np.array([[cos, sin], [-sin, cos]], np.float32) * s
            t = np.array([128, 128], np.float32) - rot @ np.array([cx, cy], np.float32)
            crop = cv2.warpAffine(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), np.hstack([rot, t[:, None]]), (256, 256),
                                  flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
            out.append(crop.astype(np.float32)[None] / 255.0)
        i += 1
    return out


def ort_runner(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in s.get_outputs()]
    return lambda x: dict(zip(names, s.run(None, {"input_1": x})))


def openvino_runner(path, precision):
    import openvino as ov
    core = ov.Core()
    cfg = {"INFERENCE_NUM_THREADS": 1, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
    if precision:
        cfg["INFERENCE_PRECISION_HINT"] = precision
    compiled = core.compile_model(core.read_model(path), "CPU", cfg)
    req = compiled.create_infer_request()
    outs = [(o.get_any_name(), o) for o in compiled.outputs]

    def run(x):
        r = req.infer({0: x})
        return {n: r[o] for n, o in outs}
    return run


def int8_model(path, calib, dest):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(calib)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {"input_1": x}
    pre = dest + ".pre.onnx"
    quant_pre_process(path, pre, skip_symbolic_shape=True)
    quantize_static(pre, dest, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return dest


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    model, out_dir = sys.argv[1], sys.argv[2]
    clips_dir = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(__file__), "..", "..", "shared", "clips")
    names = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(out_dir, "*", "poses.json")))
    names = [n for n in names if os.path.exists(os.path.join(clips_dir, n + ".mp4"))]
    if len(names) < 2:
        sys.exit(f"compare_backends: need poses.json of two or more clips of {clips_dir} under {out_dir}")
    calib_names, test_names = names[: len(names) // 2], names[len(names) // 2:]
    crops = {n: crops_of(os.path.join(clips_dir, n + ".mp4"), os.path.join(out_dir, n, "poses.json")) for n in names}
    calib = [c for n in calib_names for c in crops[n]]
    test = [c for n in test_names for c in crops[n]]
    print(f"{len(calib)} calibration crops ({len(calib_names)} clips), {len(test)} measured crops ({len(test_names)} clips)")

    runners = {"onnxruntime f32": ort_runner(model)}
    try:
        runners["openvino f32"] = openvino_runner(model, "f32")
        runners["openvino default precision"] = openvino_runner(model, None)
    except ImportError:
        print("openvino not installed: skipped")
    tmp = tempfile.mkdtemp()
    runners["onnxruntime int8 (QDQ, real crops)"] = ort_runner(int8_model(model, calib, os.path.join(tmp, "int8.onnx")))

    ref = [runners["onnxruntime f32"](x) for x in test]
    times = {k: [] for k in runners}
    for _ in range(ROUNDS):
        for k, run in runners.items():
            t = time.perf_counter()
            for x in test[:20]:
                run(x)
            times[k].append((time.perf_counter() - t) / min(20, len(test)) * 1000)
    print(f"{'back end':36s} {'ms/run':>7s} {'landmark px: median':>20s} {'p95':>6s} {'max':>7s}  other outputs, max abs diff")
    for k, run in runners.items():
        dists, other = [], {}
        for x, r in zip(test, ref):
            o = run(x)
            a, b = o["Identity"].reshape(39, 5)[:33, :2], r["Identity"].reshape(39, 5)[:33, :2]
            dists.extend(np.hypot(*(a - b).T).tolist())
            for n, v in r.items():
                if n != "Identity":
                    other[n] = max(other.get(n, 0.0), float(np.abs(o[n] - v).max()))
        q = np.percentile(dists, [50, 95, 100])
        rest = ", ".join(f"{n} {v:.3g}" for n, v in sorted(other.items()))
        print(f"{k:36s} {statistics.median(times[k]):7.2f} {q[0]:20.3f} {q[1]:6.2f} {q[2]:7.2f}  {rest}")


if __name__ == "__main__":
    main()

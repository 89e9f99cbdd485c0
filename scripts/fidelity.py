#!/usr/bin/env python3
"""Compare formcheck poses.json files with MediaPipe reference landmarks (a development aid; the
authoritative check is the Rust test tests/fidelity.rs). Usage: fidelity.py OUTDIR REFDIR"""
import json, math, os, sys, statistics as st
IDX = [11, 12, 23, 24, 25, 26, 27, 28, 15, 16, 7, 8]
out, ref = sys.argv[1], sys.argv[2]
pooled = []
for name in sorted(os.listdir(out)):
    p = os.path.join(out, name, 'poses.json'); r = os.path.join(ref, name + '.json')
    if not (os.path.exists(p) and os.path.exists(r)): continue
    a = json.load(open(p))['frames']; b = json.load(open(r))['frames']
    per = []; both = 0; mp_found = 0; ours_on_mp = 0
    for fa, fb in zip(a, b):
        la, lb = fa['landmarks'], fb.get('landmarks')
        if lb: mp_found += 1
        if lb and la: ours_on_mp += 1
        if not (la and lb): continue
        sh = ((lb[11][0]+lb[12][0])/2, (lb[11][1]+lb[12][1])/2); hp = ((lb[23][0]+lb[24][0])/2, (lb[23][1]+lb[24][1])/2)
        L = math.dist(sh, hp)
        d = [math.dist(la[i][:2], lb[i][:2]) / L for i in IDX]
        per.append(st.median(d))
    if per:
        pooled += per
        print(f"{name:32s} n={len(per):4d}/{len(a):4d} frames(ref {len(b)}) median={100*st.median(per):6.2f}%  p90={100*sorted(per)[int(.9*len(per))]:6.1f}%  found={100*ours_on_mp/max(mp_found,1):5.1f}%")
print(f"POOLED median {100*st.median(pooled):.2f}% over {len(pooled)} frames")

#!/usr/bin/env python3
"""Score formcheck's report.json files against the per-rep labels made by eye.

Usage:
    python3 scripts/score.py OUT_DIR LABELS_TSV [--check] [--json FILE]

OUT_DIR holds one report per clip, found as OUT_DIR/<stem>/report.json or OUT_DIR/<stem>.json
(<stem> = the clip's file name without .mp4). LABELS_TSV is /work/shared/clips/LABELS.tsv (protocol:
LABELING.md next to it). Only rows with confidence `sure` or `likely` are used; a `?` is never scored.

1. Reps: detected reps are matched one-to-one to labelled reps, greedily by the smallest
   |detected lockout_s - label lockout_s| (floor_break_s vs floor_s when the label lockout is `?`),
   only within MATCH_WINDOW_S. Unmatched detections are false positives, unmatched labels misses.
   On a rep=0 clip every detection is a false positive, unless the report says it cannot judge the
   view (a `not_side_view` warning or `reliable: false`): then the clip is "excluded".
2. Timing of matched reps: |floor_break_s - floor_s| and |lockout_s - label lockout_s|.
3. Per-code confusion on matched reps. Label -> code (yes / no; anything else is skipped):
     rounded_lower_back     yes: back_setup or back_pull in {rounded_lower, rounded_both}
                            no:  both in {neutral, arched, rounded_upper}
     rounded_upper_back     yes: back_setup or back_pull in {rounded_upper, rounded_both}
                            no:  both in {neutral, arched, rounded_lower}
     early_hip_rise         hips_first yes / no
     squatting_the_deadlift squatting yes / no
     soft_lockout           lockout soft = yes; full, leanback = no
     lockout_hyperextension lockout leanback = yes; full, soft = no
     bar_away_from_shins    bar_far yes / no
     hitching               hitch yes / no
   formcheck's side is the highest severity of that code among the rep's faults: fault, warn or
   none (info, a missing severity or `measurable: false` count as none). Set-level faults are not
   scored. recall = yes reps flagged warn or fault / yes reps; fault-rate (warn-rate) on no = no
   reps whose highest severity is fault (warn) / no reps.
4. Clean reps (no fault in any label column, `?` allowed): share with no fault-severity finding of
   any code at all.
--check prints each acceptance check (thresholds below) and exits 1 unless all pass.
--json FILE writes every number as JSON. Exit 2 when an input cannot be read.
"""
import argparse
import json
import math
import os
import sys

MATCH_WINDOW_S = 1.0
MIN_REP_PRECISION = 0.97
MIN_REP_RECALL = 0.97
FLOOR_TOL_S = 0.2
LOCKOUT_TOL_S = 0.3
MIN_TIMING_SHARE = 0.90
MIN_YES_FOR_RECALL = 3      # codes with fewer labelled-yes reps get no recall check
MIN_FAULT_RECALL = 0.8
MAX_FAULT_RATE_ON_NO = 0.05
MAX_WARN_RATE_ON_NO = 0.15
MIN_CLEAN_SHARE = 0.95
WORST_N = 5

BACK_OK = {"neutral", "arched"}
CODES = {
    "rounded_lower_back": lambda l: back_label(l, {"rounded_lower", "rounded_both"}, "rounded_upper"),
    "rounded_upper_back": lambda l: back_label(l, {"rounded_upper", "rounded_both"}, "rounded_lower"),
    "early_hip_rise": lambda l: yes_no(l["hips_first"]),
    "squatting_the_deadlift": lambda l: yes_no(l["squatting"]),
    "soft_lockout": lambda l: {"soft": "yes", "full": "no", "leanback": "no"}.get(l["lockout"]),
    "lockout_hyperextension": lambda l: {"leanback": "yes", "full": "no", "soft": "no"}.get(l["lockout"]),
    "bar_away_from_shins": lambda l: yes_no(l["bar_far"]),
    "hitching": lambda l: yes_no(l["hitch"]),
}
SEVERITIES = ("fault", "warn", "none")


def back_label(lab, yes_set, other):
    vals = (lab["back_setup"], lab["back_pull"])
    if any(v in yes_set for v in vals):
        return "yes"
    if all(v in BACK_OK or v == other for v in vals):
        return "no"
    return None


def yes_no(v):
    return v if v in ("yes", "no") else None


def is_clean(lab):
    return (all(lab[k] in BACK_OK or lab[k] == "?" for k in ("back_setup", "back_pull"))
            and all(lab[k] in ("no", "?") for k in ("hips_first", "squatting", "bar_far", "hitch"))
            and lab["lockout"] in ("full", "?"))


def die(msg):
    print(f"score.py: {msg}", file=sys.stderr)
    sys.exit(2)


def num(s):
    s = (s or "").strip()
    if s in ("", "?"):
        return None
    return float(s)


def read_labels(path):
    """{clip: {"reps": [label rows with rep >= 1], "zero": bool}} in file order."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        header = lines[0].split("\t")
        clips = {}
        for n, line in enumerate(lines[1:], 2):
            if not line.strip():
                continue
            row = dict(zip(header, (c.strip() for c in line.split("\t"))))
            for k in header:
                row.setdefault(k, "")
            if row["confidence"] not in ("sure", "likely"):
                continue
            c = clips.setdefault(row["clip"], {"reps": [], "zero": False})
            rep = int(row["rep"])
            if rep == 0:
                c["zero"] = True
            else:
                row["rep"], row["floor_s"], row["lockout_s"] = rep, num(row["floor_s"]), num(row["lockout_s"])
                c["reps"].append(row)
        return clips
    except (OSError, ValueError, KeyError, IndexError) as e:
        die(f"cannot read labels {path}: {e}")


def find_report(out_dir, stem):
    for p in (os.path.join(out_dir, stem, "report.json"), os.path.join(out_dir, stem + ".json")):
        if os.path.isfile(p):
            try:
                with open(p, encoding="utf-8") as f:
                    return json.load(f)
            except (OSError, ValueError) as e:
                die(f"cannot read report {p}: {e}")
    return None


def rep_time(rep, key):
    v = rep.get(key, (rep.get("rep") or {}).get(key))
    return float(v) if isinstance(v, (int, float)) else None


def rep_severity(rep, code):
    """Highest severity of `code` among the rep's faults: 'fault', 'warn' or 'none'."""
    best = "none"
    for f in rep.get("faults") or []:
        if f.get("code") != code or f.get("measurable") is False:
            continue
        s = f.get("severity")
        if s == "fault":
            return "fault"
        if s == "warn":
            best = "warn"
    return best


def match(dets, labs):
    pairs = []
    for i, d in enumerate(dets):
        for j, l in enumerate(labs):
            if l["lockout_s"] is not None:
                t = rep_time(d, "lockout_s")
                diff = None if t is None else abs(t - l["lockout_s"])
            elif l["floor_s"] is not None:
                t = rep_time(d, "floor_break_s")
                diff = None if t is None else abs(t - l["floor_s"])
            else:
                diff = None
            if diff is not None and diff <= MATCH_WINDOW_S:
                pairs.append((diff, i, j))
    used_d, used_l, out = set(), set(), []
    for diff, i, j in sorted(pairs):
        if i not in used_d and j not in used_l:
            used_d.add(i)
            used_l.add(j)
            out.append((i, j))
    return sorted(out, key=lambda p: p[1])


def ratio(a, b):
    return a / b if b else None


def pct(x):
    return "n/a" if x is None else f"{100 * x:.1f}%"


def secs(x):
    return "n/a" if x is None else f"{x:.3f}s"


def quantile(xs, q):
    """Linear interpolation between order statistics (numpy's default)."""
    if not xs:
        return None
    s = sorted(xs)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def timing_stats(errs, tol):
    vals = [e["err"] for e in errs]
    within = sum(v <= tol for v in vals)
    return {"n": len(vals), "median": quantile(vals, 0.5), "p90": quantile(vals, 0.9),
            "max": max(vals) if vals else None, "tol_s": tol, "within": within,
            "share_within": ratio(within, len(vals)),
            "worst": sorted(errs, key=lambda e: -e["err"])[:WORST_N]}


def score(out_dir, labels):
    clips, missing, excluded, fps, misses, matched = [], [], [], [], [], []
    for clip, lab in labels.items():
        stem = os.path.splitext(clip)[0]
        rep = find_report(out_dir, stem)
        if rep is None:
            missing.append(clip)
            clips.append({"clip": clip, "status": "missing", "labelled": len(lab["reps"])})
            continue
        dets = rep.get("reps") or []
        warn_codes = [w.get("code") for w in rep.get("warnings") or []]
        reliable = rep.get("reliable", True) is not False
        row = {"clip": clip, "status": "ok", "labelled": len(lab["reps"]), "detected": len(dets),
               "reliable": reliable, "warnings": warn_codes}
        if not lab["reps"] and ("not_side_view" in warn_codes or not reliable):
            row["status"] = "excluded"
            excluded.append(clip)
            clips.append(row)
            continue
        pairs = match(dets, lab["reps"])
        md, ml = {i for i, _ in pairs}, {j for _, j in pairs}
        for i, d in enumerate(dets):
            if i not in md:
                fps.append({"clip": clip, "index": d.get("index", i + 1), "lockout_s": rep_time(d, "lockout_s")})
        for j, l in enumerate(lab["reps"]):
            if j not in ml:
                misses.append({"clip": clip, "rep": l["rep"], "lockout_s": l["lockout_s"]})
        for i, j in pairs:
            matched.append({"clip": clip, "det": dets[i], "lab": lab["reps"][j]})
        row.update(matched=len(pairs), fp=len(dets) - len(pairs), fn=len(lab["reps"]) - len(pairs))
        clips.append(row)

    n_lab = sum(len(l["reps"]) for c, l in labels.items() if c not in missing)
    n_lab_all = sum(len(l["reps"]) for l in labels.values())
    # Reps of clips without a report are left out here; "no missing reports" is its own check.
    reps = {"labelled": n_lab, "labelled_without_report": n_lab_all - n_lab, "matched": len(matched),
            "false_positives": len(fps), "misses": len(misses),
            "precision": ratio(len(matched), len(matched) + len(fps)),
            "recall": ratio(len(matched), n_lab)}

    floor_errs, lock_errs = [], []
    for m in matched:
        who = {"clip": m["clip"], "rep": m["lab"]["rep"], "det": m["det"].get("index")}
        for errs, dk, lk in ((floor_errs, "floor_break_s", "floor_s"), (lock_errs, "lockout_s", "lockout_s")):
            if m["lab"][lk] is not None:
                t = rep_time(m["det"], dk)
                errs.append(dict(who, err=math.inf if t is None else abs(t - m["lab"][lk])))
    timing = {"floor": timing_stats(floor_errs, FLOOR_TOL_S), "lockout": timing_stats(lock_errs, LOCKOUT_TOL_S)}

    faults = {}
    for code, rule in CODES.items():
        table = {"yes": dict.fromkeys(SEVERITIES, 0), "no": dict.fromkeys(SEVERITIES, 0)}
        miss_list, false_flags = [], []
        for m in matched:
            truth = rule(m["lab"])
            if truth is None:
                continue
            sev = rep_severity(m["det"], code)
            table[truth][sev] += 1
            who = {"clip": m["clip"], "rep": m["lab"]["rep"], "severity": sev}
            if truth == "yes" and sev == "none":
                miss_list.append(who)
            elif truth == "no" and sev != "none":
                false_flags.append(who)
        y, n = sum(table["yes"].values()), sum(table["no"].values())
        faults[code] = {"table": table, "yes": y, "no": n,
                        "recall": ratio(table["yes"]["fault"] + table["yes"]["warn"], y),
                        "fault_rate_no": ratio(table["no"]["fault"], n),
                        "warn_rate_no": ratio(table["no"]["warn"], n),
                        "misses": miss_list, "false_flags": false_flags}

    clean = [m for m in matched if is_clean(m["lab"])]
    flagged = []
    for m in clean:
        codes = sorted({f.get("code") for f in m["det"].get("faults") or []
                        if f.get("severity") == "fault" and f.get("measurable") is not False})
        if codes:
            flagged.append({"clip": m["clip"], "rep": m["lab"]["rep"], "codes": codes})
    clean_s = {"n": len(clean), "no_fault": len(clean) - len(flagged),
               "share": ratio(len(clean) - len(flagged), len(clean)), "flagged": flagged}

    res = {"clips": clips, "missing": missing, "excluded": excluded, "reps": reps,
           "false_positives": fps, "misses": misses, "timing": timing, "faults": faults, "clean": clean_s}
    res["checks"] = checks(res)
    return res


def checks(r):
    """[(name, passed, detail)]; a rate with an empty denominator passes (nothing to judge)."""
    def at_least(v, t):
        return v is None or v >= t

    def at_most(v, t):
        return v is None or v <= t
    out = [{"name": "rep precision", "pass": at_least(r["reps"]["precision"], MIN_REP_PRECISION),
            "detail": f"{pct(r['reps']['precision'])} >= {pct(MIN_REP_PRECISION)}"},
           {"name": "rep recall", "pass": at_least(r["reps"]["recall"], MIN_REP_RECALL),
            "detail": f"{pct(r['reps']['recall'])} >= {pct(MIN_REP_RECALL)}"}]
    for k, label in (("floor", "floor break"), ("lockout", "lockout")):
        t = r["timing"][k]
        out.append({"name": f"{label} within {t['tol_s']}s", "pass": at_least(t["share_within"], MIN_TIMING_SHARE),
                    "detail": f"{t['within']}/{t['n']} = {pct(t['share_within'])} >= {pct(MIN_TIMING_SHARE)}"})
    for code, f in r["faults"].items():
        if f["yes"] >= MIN_YES_FOR_RECALL:
            out.append({"name": f"{code} recall", "pass": at_least(f["recall"], MIN_FAULT_RECALL),
                        "detail": f"{pct(f['recall'])} of {f['yes']} yes >= {pct(MIN_FAULT_RECALL)}"})
        out.append({"name": f"{code} fault-rate on no", "pass": at_most(f["fault_rate_no"], MAX_FAULT_RATE_ON_NO),
                    "detail": f"{pct(f['fault_rate_no'])} of {f['no']} no <= {pct(MAX_FAULT_RATE_ON_NO)}"})
        out.append({"name": f"{code} warn-rate on no", "pass": at_most(f["warn_rate_no"], MAX_WARN_RATE_ON_NO),
                    "detail": f"{pct(f['warn_rate_no'])} of {f['no']} no <= {pct(MAX_WARN_RATE_ON_NO)}"})
    c = r["clean"]
    out.append({"name": "clean reps without a fault", "pass": at_least(c["share"], MIN_CLEAN_SHARE),
                "detail": f"{c['no_fault']}/{c['n']} = {pct(c['share'])} >= {pct(MIN_CLEAN_SHARE)}"})
    out.append({"name": "no missing reports", "pass": not r["missing"], "detail": f"{len(r['missing'])} missing"})
    return out


def who(e):
    return f"{e['clip']} rep {e['rep']}"


def print_report(r, show_checks):
    p = print
    p("== Reps ==")
    p(f"{'clip':36} {'lab':>3} {'det':>3} {'match':>5} {'FP':>3} {'FN':>3}  note")
    for c in r["clips"]:
        if c["status"] == "missing":
            p(f"{c['clip']:36} {c['labelled']:>3} {'-':>3} {'-':>5} {'-':>3} {'-':>3}  MISSING report")
        elif c["status"] == "excluded":
            p(f"{c['clip']:36} {0:>3} {c['detected']:>3} {'-':>5} {'-':>3} {'-':>3}  excluded (tool says not side view)")
        else:
            note = "" if c["reliable"] else "reliable=false"
            if "not_side_view" in c["warnings"]:
                note += " not_side_view"
            p(f"{c['clip']:36} {c['labelled']:>3} {c['detected']:>3} {c['matched']:>5} {c['fp']:>3} {c['fn']:>3}  {note}")
    s = r["reps"]
    p(f"labelled {s['labelled']}, matched {s['matched']}, false positives {s['false_positives']}, "
      f"misses {s['misses']}: precision {pct(s['precision'])}, recall {pct(s['recall'])}")
    for e in r["false_positives"]:
        p(f"  FP   {e['clip']} detected #{e['index']} (lockout {secs(e['lockout_s'])})")
    for e in r["misses"]:
        p(f"  MISS {who(e)} (lockout {secs(e['lockout_s'])})")
    if r["missing"]:
        p(f"  missing reports ({s['labelled_without_report']} labelled reps not scored): {', '.join(r['missing'])}")

    p("\n== Timing (matched reps) ==")
    for k, label in (("floor", "floor break"), ("lockout", "lockout")):
        t = r["timing"][k]
        p(f"{label:12} n={t['n']:3}  median {secs(t['median'])}  p90 {secs(t['p90'])}  max {secs(t['max'])}  "
          f"within {t['tol_s']}s: {t['within']}/{t['n']} ({pct(t['share_within'])})")
        if t["worst"]:
            p("  worst: " + ", ".join(f"{who(e)} {e['err']:.2f}s" for e in t["worst"]))

    p("\n== Faults (matched reps; columns = formcheck's highest severity) ==")
    for code, f in r["faults"].items():
        t = f["table"]
        p(f"{code}: recall {pct(f['recall'])} (of {f['yes']} yes), on {f['no']} no: "
          f"fault-rate {pct(f['fault_rate_no'])}, warn-rate {pct(f['warn_rate_no'])}")
        p(f"    {'':10}{'fault':>7}{'warn':>7}{'none':>7}")
        for truth in ("yes", "no"):
            p(f"    label {truth:4}" + "".join(f"{t[truth][s]:>7}" for s in SEVERITIES))
        if f["misses"]:
            p("    missed: " + ", ".join(who(e) for e in f["misses"]))
        if f["false_flags"]:
            p("    false flags: " + ", ".join(f"{who(e)} ({e['severity']})" for e in f["false_flags"]))

    c = r["clean"]
    p(f"\n== Clean reps ==\n{c['no_fault']}/{c['n']} ({pct(c['share'])}) with no fault-severity finding")
    for e in c["flagged"]:
        p(f"  {who(e)}: {', '.join(e['codes'])}")

    if show_checks:
        p("\n== Checks ==")
        for ch in r["checks"]:
            p(f"{'PASS' if ch['pass'] else 'FAIL'}  {ch['name']}: {ch['detail']}")


def jsonable(x):
    if isinstance(x, float) and math.isinf(x):
        return None
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, list):
        return [jsonable(v) for v in x]
    return x


def main():
    ap = argparse.ArgumentParser(description="Score formcheck reports against LABELS.tsv.")
    ap.add_argument("out_dir")
    ap.add_argument("labels")
    ap.add_argument("--check", action="store_true", help="exit 1 unless every acceptance check passes")
    ap.add_argument("--json", metavar="FILE", help="write all numbers as JSON")
    a = ap.parse_args()
    if not os.path.isdir(a.out_dir):
        die(f"cannot read output folder {a.out_dir}: not a directory")
    res = score(a.out_dir, read_labels(a.labels))
    print_report(res, a.check)
    if a.json:
        try:
            with open(a.json, "w", encoding="utf-8") as f:
                json.dump(jsonable(res), f, indent=2)
        except OSError as e:
            die(f"cannot write {a.json}: {e}")
    if a.check and not all(c["pass"] for c in res["checks"]):
        sys.exit(1)


if __name__ == "__main__":
    main()

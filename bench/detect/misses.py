#!/usr/bin/env python3
"""Why copies of one edit family are missed at precision 0.99 (diagnosis; writes nothing).

For each held-out copy of `--family` it says whether it is found (its best reference is
its own, or one showing the same artwork, with a logit at or above the family's cut-off
for precision 0.99), never compared with its reference (a shortlist loss), beaten (its
reference was compared but another one scored higher), or below the cut-off. Misses are
broken down by the reference's source and visible share and by the evidence the true
pair had (keypoint inliers, best window cosine, searched pixels); the unrelated images
and wrong references above the cut-off are listed with their evidence.

    bench/detect/misses.py --work W --family paste30 [--pairs W/pairs.jsonl] [--show 20]

Scores use the committed models/calibration.json, as evaluate.py --no-fit does; the
unrelated images listed in known-derivatives.tsv are left out, as in the figures the
issue's targets are read from ("without known derivatives").
"""
import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import beats, derivatives, load_jsonl, logit, ranked_blocks, visible_share  # noqa: E402
from prepare import source_of  # noqa: E402

# Buckets of the share of a reference's pixels at least half opaque (evaluate.visible_share).
SHARES = [(0.0, 0.05), (0.05, 0.15), (0.15, 0.3), (0.3, 0.6), (0.6, 1.01)]
# Visible shares below which references are left out in the sensitivity table: how much of
# a family's shortfall is glows, halos and masks that show next to nothing once edited.
VISIBLE_FLOORS = [0.0, 0.05, 0.15, 0.3]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cut_off(preds, positives):
    """The lowest logit down to which precision stays at least 0.99 at the best recall
    (ties as one block, as evaluate.micro_ap ranks them); None when no recall reaches it."""
    best = (0.0, None)
    for score, tp, fp in ranked_blocks(preds):
        if tp / (tp + fp) >= 0.99 and tp / positives > best[0]:
            best = (tp / positives, score)
    return best


def recall_without_faint_references(queries, best, share_of, floors=VISIBLE_FLOORS):
    """Per floor, the family's figures had references less visible than it not been drawn:
    (floor, copies kept, recall at precision 0.99, cut-off logit, copies whose best match is
    right at any score). Every unrelated image is kept, so the cut-off is the one their
    false alarms set. `share_of` gives a reference's visible share; `best` a query's
    (logit, reference, ...)."""
    rows = []
    for floor in floors:
        kept = [q for q in queries.values() if q["reference"] is None or share_of(q["reference"]) >= floor]
        copies = [q for q in kept if q["reference"] is not None]
        preds = [(best[q["id"]][0], best[q["id"]][1] in q["copy_of"]) for q in kept if q["id"] in best]
        recall, cut = cut_off(preds, len(copies)) if copies else (0.0, None)
        right = sum(1 for q in copies if q["id"] in best and best[q["id"]][1] in q["copy_of"])
        rows.append((floor, len(copies), recall, cut, right))
    return rows


def evidence(p):
    """A short line of what a pair's signals were."""
    if p is None:
        return "not compared"
    s = p["signals"]
    sp = s.get("searched_pixels")
    searched = f" searched r={sp['correlation']:.2f}/d={sp['detail_correlation'] or 0:.2f}" if sp else ""
    pix = f" pixels r={s['pixel_correlation']:.2f}" if s.get("pixel_correlation") is not None else ""
    return (f"inliers {s['local_inliers']}/{s['local_matches']} region {s['region_cosine']:.2f} "
            f"({s['region_kind']}) pdq {s['pdq_distance']}{pix}{searched}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True, help="the benchmark's work folder (manifest.json)")
    ap.add_argument("--pairs", help="pairs.jsonl of a detect-bench run (default: <work>/pairs.jsonl)")
    ap.add_argument("--family", default="paste30")
    ap.add_argument("--show", type=int, default=15, help="misses and false alarms listed one by one")
    ap.add_argument("--alarms-down-to", type=float, metavar="LOGIT",
                    help="list the wrong best references down to this logit instead of the cut-off "
                         "(what a lower cut-off would let through)")
    args = ap.parse_args()
    with open(os.path.join(args.work, "manifest.json")) as f:
        man = json.load(f)
    with open(os.path.join(REPO, "models", "calibration.json")) as f:
        cal = json.load(f)
    refs = {r["id"]: r for r in man["refs"]}
    queries = {q["id"]: q for q in man["queries"] if q["split"] == "eval"
               and (q["family"] == args.family or q["reference"] is None)}
    # As the figures: without the unrelated images that are known edits of a reference.
    for qid in derivatives(queries, refs):
        del queries[qid]
    for q in queries.values():
        q["copy_of"] = set() if q["reference"] is None else {q["reference"], *refs[q["reference"]].get("same_artwork", [])}
    best, true_pair = {}, {}
    for p in load_jsonl(args.pairs or os.path.join(args.work, "pairs.jsonl")):
        q = queries.get(p["query"])
        if q is None:
            continue
        z = logit(p, cal)
        old = best.get(p["query"])
        if beats((z, p["reference"]), old[:2] if old else None):
            best[p["query"]] = (z, p["reference"], p)
        if p["reference"] in q["copy_of"]:
            old = true_pair.get(p["query"])
            if old is None or z > old[0]:
                true_pair[p["query"]] = (z, p)
    copies = [q for q in queries.values() if q["reference"] is not None]
    preds = [(best[q["id"]][0], best[q["id"]][1] in q["copy_of"]) for q in queries.values() if q["id"] in best]
    recall, cut = cut_off(preds, len(copies))
    print(f"{args.family}: {len(copies)} held-out copies, {len(queries) - len(copies)} unrelated images; "
          f"recall at precision 0.99 {recall:.3f}" + (f", cut-off logit {cut:.2f}" if cut is not None else ""))
    cut = float("inf") if cut is None else cut
    causes = collections.Counter()
    by_source = collections.defaultdict(collections.Counter)
    by_share = collections.defaultdict(collections.Counter)
    missed = []
    shares = {}

    def share_of(ref_id):
        if ref_id not in shares:
            shares[ref_id] = visible_share(refs[ref_id]["path"])
        return shares[ref_id]

    for q in copies:
        b = best.get(q["id"])
        t = true_pair.get(q["id"])
        if b is not None and b[1] in q["copy_of"] and b[0] >= cut:
            cause = "found"
        elif t is None:
            cause = "never compared"
        elif b[1] not in q["copy_of"]:
            cause = "beaten by another reference"
        else:
            cause = "below the cut-off"
        causes[cause] += 1
        ref = refs[q["reference"]]
        source = source_of(ref["path"][ref["path"].find("usr/share/"):])[0]
        by_source[source][cause] += 1
        share = share_of(q["reference"])
        by_share[next(f"{lo:.0%}–{hi:.0%}" for lo, hi in SHARES if share < hi)][cause] += 1
        if cause != "found":
            missed.append((cause, q, t, b))
    print("\n| cause | copies |\n|---|---|")
    for cause, n in causes.most_common():
        print(f"| {cause} | {n} |")
    print("\n| reference source | " + " | ".join(c for c, _ in causes.most_common()) + " |")
    print("|---|" + "---|" * len(causes))
    for source, c in sorted(by_source.items(), key=lambda kv: -sum(kv[1].values())):
        print(f"| {source} | " + " | ".join(str(c[k]) for k, _ in causes.most_common()) + " |")
    print("\n| reference's visible share | " + " | ".join(c for c, _ in causes.most_common()) + " |")
    print("|---|" + "---|" * len(causes))
    for label in [f"{lo:.0%}–{hi:.0%}" for lo, hi in SHARES]:
        c = by_share[label]
        print(f"| {label} | " + " | ".join(str(c[k]) for k, _ in causes.most_common()) + " |")
    inl = collections.Counter()
    for cause, q, t, b in missed:
        if t is None:
            continue
        n = t[1]["signals"]["local_inliers"]
        inl[(cause, "≥ 6 inliers" if n >= 6 else "≤ 5 inliers")] += 1
    print("\nCompared misses by keypoint geometry:", dict(inl))
    print("\nHad references less visible than a floor not been drawn (every unrelated image kept; "
          "best match right: at any score):\n\n| visible share at least | copies | recall at precision 0.99 "
          "| cut-off logit | best match right |\n|---|---|---|---|---|")
    for floor, n, recall, cut, right in recall_without_faint_references(queries, best, share_of):
        print(f"| {floor:.0%} | {n} | {recall:.3f} | " + (f"{cut:.2f}" if cut is not None else "–")
              + f" | {right} ({right / max(n, 1):.3f}) |")
    print(f"\nFirst {args.show} misses of each cause:")
    for cause in [c for c, _ in causes.most_common() if c != "found"]:
        print(f"\n### {cause}")
        for _, q, t, b in [m for m in missed if m[0] == cause][: args.show]:
            ref = refs[q["reference"]]
            share = share_of(q["reference"])
            line = f"- {q['id']} ({ref['path'][ref['path'].find('usr/share/') + 10:]}, visible {share:.2f})"
            line += f": true logit {t[0]:.2f}, {evidence(t[1])}" if t else ": " + evidence(None)
            if b is not None and b[1] not in q["copy_of"]:
                line += f"; best {b[1]} logit {b[0]:.2f}, {evidence(b[2])}"
            print(line)
    floor = "the cut-off"
    if args.alarms_down_to is not None:
        cut, floor = args.alarms_down_to, f"logit {args.alarms_down_to:.2f}"
    false_alarms = sorted(((b[0], qid, b) for qid, b in best.items()
                           if b[1] not in queries[qid]["copy_of"] and b[0] >= cut), key=lambda x: -x[0])
    print(f"\n### {len(false_alarms)} wrong best references at or above {floor}")
    for z, qid, b in false_alarms[: args.show]:
        print(f"- {qid} → {b[1]} logit {z:.2f}: {evidence(b[2])}")


if __name__ == "__main__":
    main()

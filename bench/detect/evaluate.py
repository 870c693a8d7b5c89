#!/usr/bin/env python3
"""Calibrates Xiezhi's score on the train split and measures everything on the eval split.

Reads the harness output (pairs.jsonl, global.jsonl, run.json) and the peers'
files, then
  1. fits a logistic regression on the train split's pair features (positives: each
     edited copy with its own reference; negatives: every shortlisted pair of an
     unrelated image; features whose weight comes out negative are dropped and the fit
     repeated, so that every signal can only raise the score) and writes it to
     models/calibration.json: this is the score the product ranks by and shows;
  2. on the eval split (references never seen in training): µAP and recall at
     precision 0.99, overall and per edit family, for Xiezhi (calibrated), its
     global-embedding-only ablation, and every peer; throughput and peak RSS;
  3. precision/recall at the score thresholds 0.5 / 0.9 / 0.99, overall and per family;
and writes bench/results/detect.{md,json} (detect-refsN.* at other scales than 100) and
models/METHOD-error-rates.md (only for the scale the calibration was fitted at).

Usage: evaluate.py --work DIR --repo REPO_ROOT [--peers a,b,...] [--no-fit]
"""
import argparse
import datetime
import json
import math
import os
import sys

import numpy as np

from prepare import changed_share, known_derivatives, rgba

THRESHOLDS = [0.5, 0.9, 0.99]
MAX_ALARMS_LISTED = 60
KNOWN_DERIVATIVES = known_derivatives()


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def micro_ap(preds, positives):
    """µAP (as in the DISC21 copy-detection challenge): one prediction (score, correct)
    per query, ranked by score over all queries; ties are taken as a block so that
    coarse scores (hash distances) get no credit from an arbitrary order."""
    if positives == 0:
        return float("nan"), float("nan")
    ap = prev_recall = best_recall_at_p99 = 0.0
    for _, tp, fp in ranked_blocks(preds):
        precision = tp / (tp + fp)
        recall = tp / positives
        ap += (recall - prev_recall) * precision
        prev_recall = recall
        if precision >= 0.99:
            best_recall_at_p99 = max(best_recall_at_p99, recall)
    return ap, best_recall_at_p99


def ranked_blocks(preds):
    """Predictions (score, correct) best first, tied scores as one block: yields each
    block's score with the true and false predictions counted down to it."""
    preds = sorted(preds, key=lambda p: -p[0])
    tp = fp = i = 0
    while i < len(preds):
        j = i
        while j < len(preds) and preds[j][0] == preds[i][0]:
            j += 1
        block_tp = sum(1 for p in preds[i:j] if p[1])
        tp += block_tp
        fp += (j - i) - block_tp
        yield preds[i][0], tp, fp
        i = j


def at_threshold(preds, positives, t, key=lambda t: t):
    """Precision and recall at score threshold `t`; `key` maps `t` to the unit of the
    predictions (the logit for Xiezhi's own, see `logit`)."""
    kept = [p for p in preds if p[0] >= key(t)]
    tp = sum(1 for p in kept if p[1])
    return {"threshold": t, "flagged": len(kept), "true": tp, "false": len(kept) - tp,
            "precision": tp / len(kept) if kept else float("nan"),
            "recall": tp / positives if positives else float("nan")}


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def derivatives(queries, refs):
    """Ids of the distractors listed in known-derivatives.tsv whose reference is one of
    this run's references."""
    ref_paths = [r["path"] for r in refs.values()]
    return {qid for qid, q in queries.items() if q["reference"] is None and any(
        q["path"].endswith(d) and any(rp.endswith(r) for rp in ref_paths)
        for d, (r, _) in KNOWN_DERIVATIVES.items())}


def fit_calibration(pairs, queries, names, derived):
    from sklearn.linear_model import LogisticRegression
    X, y = [], []
    for p in pairs:
        q = queries.get(p["query"])
        if q is None:  # a family measured beside the issue's: not fitted on
            continue
        s = p["signals"]
        if q["split"] != "train" or s["exact_bytes"] or s["exact_pixels"]:
            continue
        # A distractor that is a copy of a reference is no clean negative either.
        if q["id"] in derived:
            continue
        # An edited copy paired with ANOTHER reference is no clean negative: references
        # can share content (variants of one portrait, cards of one deck).
        if q.get("reference") is not None and q["reference"] != p["reference"]:
            continue
        X.append(p["features"])
        y.append(1 if q.get("reference") == p["reference"] else 0)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    active = list(range(X.shape[1]))
    while True:
        model = LogisticRegression(C=10.0, max_iter=5000)
        model.fit(X[:, active], y)
        w = model.coef_[0]
        if (w >= 0).all() or len(active) == 1:
            break
        active = [a for a, wi in zip(active, w) if wi > 0]
    weights = [0.0] * X.shape[1]
    for a, wi in zip(active, w):
        weights[a] = round(float(wi), 4)
    return {
        "method": "logistic regression (scikit-learn, L2, C=10) on the train split: each edited copy with its "
                  "own reference (positive) and every shortlisted pair of an unrelated image (negative); "
                  "features with a negative weight dropped and the fit repeated",
        "features": names,
        "weights": weights,
        "bias": round(float(model.intercept_[0]), 4),
        "train_pairs": int(len(y)),
        "train_positive_pairs": int(y.sum()),
    }


def session2_handset(s):
    """The hand-set score that ranked matches until session 3 (for comparison only)."""
    if s["exact_bytes"] or s["exact_pixels"]:
        return 1.0
    damp = min(s["pdq_quality"], 50) / 50
    pdq = max(0.0, 1 - s["pdq_distance"] / 128) * damp
    e, r = (s["embedding_cosine"], s["region_cosine"]) if s["same_model"] else (0.0, 0.0)
    sim = 8 * pdq + 4 * e + 20 * r
    if s["pdq_distance"] > 31:
        sim = min(sim, 19.0)
    loc = min(max((s["local_inliers"] - 5) / 7, 0.0), 1.0)
    return sigmoid(-16 + sim + 20 * loc)


def beats(new, old):
    """Whether (score, reference) `new` becomes a query's best prediction over `old`. Equal
    scores go to the smaller reference id, so that a tie (the sigmoid saturates: a downscaled
    Hedgewars map scores 1.0 with its own map and with its sibling preview.png, which is that
    map downscaled) does not follow the order in which the harness wrote pairs.jsonl."""
    return old is None or new[0] > old[0] or (new[0] == old[0] and new[1] < old[1])


def logit(p, cal):
    """What ranks Xiezhi's predictions: the calibrated score's logit (+inf for identical
    bytes or pixels). The score is its sigmoid, which rounds to exactly 1.0 from a logit
    of about 37 (17 in the engine's f32): ranking by the score would tie strong matches
    that the evidence still tells apart."""
    s = p["signals"]
    if s["exact_bytes"] or s["exact_pixels"]:
        return math.inf
    return cal["bias"] + sum(w * f for w, f in zip(cal["weights"], p["features"]))


def calibrated(p, cal):
    z = logit(p, cal)
    return 1.0 if z == math.inf else sigmoid(z)


def logit_of(t):
    """The logit at which the calibrated score reaches probability t."""
    return math.log(t / (1.0 - t))


def metrics(preds_by_query, queries, split, families, same_group=None, key=lambda t: t):
    """preds_by_query: qid -> (score, predicted_ref). With `same_group(a, b)`, a copy whose
    best reference is another reference of its own reference's group counts as found;
    `key` maps a score threshold to the unit of the predictions (see `at_threshold`)."""
    out = {}
    eval_q = [q for q in queries.values() if q["split"] == split]
    distr = [q for q in eval_q if q["reference"] is None]

    def pred(q):
        if q["id"] not in preds_by_query:
            return None
        s, r = preds_by_query[q["id"]]
        hit = r is not None and (r in q["copy_of"] or (
            same_group is not None and q["reference"] is not None and same_group(r, q["reference"])))
        return (s, hit)

    def block(qs):
        positives = sum(1 for q in qs if q["reference"] is not None)
        preds = [p for p in (pred(q) for q in qs) if p is not None]
        ap, r99 = micro_ap(preds, positives)
        return {"uAP": ap, "recall_at_p99": r99, "positives": positives, "queries": len(qs)}, preds, positives

    overall, preds, positives = block(eval_q)
    overall["thresholds"] = [at_threshold(preds, positives, t, key) for t in THRESHOLDS]
    out["overall"] = overall
    for fam in families:
        fq = [q for q in eval_q if q["family"] == fam] + distr
        m, fp, fpos = block(fq)
        m["thresholds"] = [at_threshold(fp, fpos, t, key) for t in THRESHOLDS]
        out[fam] = m
    return out


VISIBLE_SHARE_BUCKETS = [(0.0, 0.01), (0.01, 0.05), (0.05, 0.3), (0.3, 1.01)]


def visible_share(path):
    """Share of a picture's pixels at least half opaque (1.0 without an alpha channel)."""
    from PIL import Image  # the bench venv has Pillow (AugLy's dependency)
    with Image.open(path) as im:
        if im.mode not in ("RGBA", "LA", "PA") and "transparency" not in im.info:
            return 1.0
        alpha = np.asarray(im.convert("RGBA"))[..., 3]
    return float((alpha >= 128).mean())


def found_by_visible_share(best, queries, refs, families):
    """Markdown lines: how often an edited copy's best match is its own reference, by how
    much of that reference is visible (opaque). Sprites whose canvas is almost all
    transparent (a thin outline, a shadow mask) leave little to find once edited."""
    share = {r: visible_share(d["path"]) for r, d in refs.items() if d["split"] == "eval"}
    L = ["\n## Copies whose best match is their own reference, by visible share of the reference\n",
         "Visible share: pixels of the reference at least half opaque. Eval split, every edit family, and "
         "pasted copies alone.\n",
         "| visible share | eval references | all families | paste30 |", "|---|---|---|---|"]
    for lo, hi in VISIBLE_SHARE_BUCKETS:
        group = {r for r, v in share.items() if lo <= v < hi}
        cells = []
        for fams in (families, ["paste30"]):
            qs = [q for q in queries.values()
                  if q["split"] == "eval" and q["reference"] in group and q["family"] in fams]
            hit = sum(1 for q in qs if best.get(q["id"], (0, None))[1] in q["copy_of"])
            cells.append(f"{hit}/{len(qs)} ({hit / len(qs):.2f})" if qs else "–")
        label = f"{lo:.0%}–{min(hi, 1.0):.0%}" if hi <= 1.0 else f"≥ {lo:.0%}"
        L.append(f"| {label} | {len(group)} | " + " | ".join(cells) + " |")
    return L


PASTE_CHANGE_BUCKETS = [(0.0, 0.01), (0.01, 0.03), (0.03, 0.06), (0.06, 0.12), (0.12, 1.01)]


PASTE_RECIPES = {
    "paste30": "The benchmark pastes the reference cut to its visible pixels (its opaque box) at 30 % of the scene, "
               "so only a dark sprite on a dark photograph, or a thin or hollow one, changes little of it.",
    "paste30-canvas": "This family pastes a reference's whole canvas, transparent margins included, at 30 % of the "
                      "scene, so a mostly transparent sprite, or a dark one on a dark photograph, changes little of it.",
}


def found_by_paste_change(best, queries, family="paste30", cal_threshold=0.9):
    """Markdown lines: held-out pasted copies of `family` (`best`: query -> (logit,
    reference)) by the share of their scene the paste changed (prepare.changed_share).
    Manifests written before prepare.py recorded the scene have none, and the table is left out."""
    from PIL import Image
    pastes = [q for q in queries.values() if q["split"] == "eval" and q["family"] == family and q.get("scene")]
    if not pastes:
        return []
    share = {}
    for q in pastes:
        with Image.open(q["path"]) as im:
            share[q["id"]] = changed_share(im, rgba(q["scene"]))
    L = [f"\n## Pasted copies ({family}) by how much of the scene the paste changed\n",
         "Changed: pixels of the pasted copy more than 40 of 255 away from its scene in some channel. "
         + PASTE_RECIPES.get(family, "") + " "
         f"Found: the copy's best match is its own reference; at ≥ {cal_threshold}: with a calibrated score "
         f"of at least {cal_threshold}.\n",
         f"| scene changed | eval pastes | found | found at ≥ {cal_threshold} |", "|---|---|---|---|"]
    for lo, hi in PASTE_CHANGE_BUCKETS:
        qs = [q for q in pastes if share[q["id"]] is not None and lo <= share[q["id"]] < hi]
        hit = [q for q in qs if best.get(q["id"], (0, None))[1] in q["copy_of"]]
        sure = [q for q in hit if best[q["id"]][0] >= logit_of(cal_threshold)]
        label = f"{lo:.0%}–{min(hi, 1.0):.0%}" if hi <= 1.0 else f"≥ {lo:.0%}"
        cells = [f"{len(x)} ({len(x) / len(qs):.2f})" if qs else "–" for x in (hit, sure)]
        L.append(f"| {label} | {len(qs)} | " + " | ".join(cells) + " |")
    return L


def fmt(v, digits=3):
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--peers", default="")
    ap.add_argument("--no-fit", action="store_true", help="use the committed models/calibration.json as is")
    args = ap.parse_args()
    with open(os.path.join(args.work, "manifest.json")) as f:
        man = json.load(f)
    families = man["families"]
    # Families measured beside the issue's (prepare.EXTRA_FAMILIES): reported on their own,
    # outside the overall figures and the calibration fit.
    extra = man.get("extra_families", [])
    all_queries = {q["id"]: q for q in man["queries"]}
    queries = {k: q for k, q in all_queries.items() if q["family"] not in extra}
    refs = {r["id"]: r for r in man["refs"]}
    # The references an edited copy is a copy of: its own, and those showing the same
    # artwork (prepare.py's same_artwork_key: a Hedgewars map and its preview, which is
    # the map scaled down). Matching either is finding it, for every method alike.
    for q in all_queries.values():
        ref = q["reference"]
        q["copy_of"] = set() if ref is None else {ref, *refs[ref].get("same_artwork", [])}
    derived = derivatives(queries, refs)
    pairs = load_jsonl(os.path.join(args.work, "pairs.jsonl"))
    globals_ = load_jsonl(os.path.join(args.work, "global.jsonl"))
    with open(os.path.join(args.work, "run.json")) as f:
        run = json.load(f)
    if run.get("eval_only") and not args.no_fit:
        sys.exit("run.json is from a run over the eval split only (detect-bench --eval-only): "
                 "the fit needs the train split; pass --no-fit or rerun detect-bench without --eval-only")
    if run.get("oracle"):
        sys.exit("run.json is from a --oracle diagnosis run (true references added to the shortlist): "
                 "its pairs are not the benchmark's; rerun detect-bench without --oracle")
    names = [
        "pdq_similarity", "pdq_same_picture", "embedding_cosine", "region_cosine",
        "local_verified", "local_inlier_log", "local_coverage", "local_spread", "pixel_agreement",
        "pixel_confirmed_inliers", "searched_pixel_agreement", "colour_agreement",
    ]
    # The harness writes xiezhi_match::features(); a harness of another version would
    # silently shift every weight.
    if pairs and len(pairs[0]["features"]) != len(names):
        sys.exit(f"pairs.jsonl has {len(pairs[0]['features'])} features per pair, this script names "
                 f"{len(names)}: rerun the harness built from this checkout")
    cal_path = os.path.join(args.repo, "models", "calibration.json")
    if args.no_fit:
        with open(cal_path) as f:
            cal = json.load(f)
    else:
        cal = fit_calibration(pairs, queries, names, derived)
        cal["fitted_at"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        cal["benchmark"] = {"references": len(refs), "queries": len(queries), "seed": man["seed"],
                            "train_references": sum(1 for r in refs.values() if r["split"] == "train")}
        with open(cal_path, "w") as f:
            json.dump(cal, f, indent=2)
            f.write("\n")

    # Ours: best shortlisted reference per query under the calibrated score.
    ours, handset = {}, {}
    mismatches = 0
    for p in pairs:
        # The harness wrote the score of the build it ran; with the same calibration it must agree.
        if args.no_fit and abs(calibrated(p, cal) - p["score"]) > 1e-4:
            mismatches += 1
        z = logit(p, cal)
        if beats((z, p["reference"]), ours.get(p["query"])):
            ours[p["query"]] = (z, p["reference"])
        h = session2_handset(p["signals"])
        if beats((h, p["reference"]), handset.get(p["query"])):
            handset[p["query"]] = (h, p["reference"])
    if mismatches:
        print(f"WARNING: {mismatches} pairs whose stored score differs from models/calibration.json "
              "(rebuild and rerun detect-bench --rescore)")
    ablation = {g["query"]: (g["best_global_cosine"], g["best_global"]) for g in globals_ if g["best_global"]}
    methods = {"xiezhi (calibrated score)": ours, "xiezhi, session-2 hand-set score (comparison)": handset,
               "xiezhi, global embedding only (ablation)": ablation}
    speed = {
        "xiezhi (calibrated score)": (run["full_fingerprint_images_per_s"], run["threads"], run["peak_rss_kib"],
                                      "full fingerprint: decode, SHA-256, PDQ x8, 10 embeddings, keypoints"
                                      + (f"; images/s from {run['full_fingerprint_rate_from']}"
                                         if run.get("full_fingerprint_rate_from") else "")),
        "xiezhi, session-2 hand-set score (comparison)": (run["full_fingerprint_images_per_s"], run["threads"],
                                                          run["peak_rss_kib"], "same fingerprints and signals"),
        "xiezhi, global embedding only (ablation)": (run["quick"]["images_per_s"], run["quick"]["threads"], None,
                                                     "decode + PDQ + global embedding"),
    }
    for peer in [p for p in args.peers.split(",") if p]:
        path = os.path.join(args.work, f"peer-{peer}.jsonl")
        if not os.path.exists(path):
            continue
        rows = load_jsonl(path)
        methods[peer] = {r["query"]: (r["score"], r["reference"]) for r in rows}
        with open(path + ".run.json") as f:
            info = json.load(f)
        speed[peer] = (info["images_per_s"], info["threads"], info["peak_rss_kib"], f"{rows[0]['bits']}-bit hash" if rows else "")

    # Ours are ranked by logit; the score thresholds 0.5/0.9/0.99 are probabilities.
    results = {name: metrics(preds, queries, "eval", families, key=logit_of if preds is ours else (lambda t: t))
               for name, preds in methods.items()}

    without_derived = metrics(ours, {k: v for k, v in queries.items() if k not in derived}, "eval", families,
                              key=logit_of)
    # References may come three to a group (frames of one animation, a map and its
    # preview, which IS the map downscaled): a copy attributed to its reference's sibling
    # is counted as a false alarm by the headline, as a find by this sensitivity line.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from prepare import source_of

    def group_of(path):
        return source_of(path[path.find("usr/share/"):])

    ref_group = {rid: group_of(r["path"]) for rid, r in refs.items()}
    with_siblings = metrics(ours, {k: v for k, v in queries.items() if k not in derived}, "eval", families,
                            same_group=lambda a, b: ref_group.get(a) == ref_group.get(b), key=logit_of)
    # The fitted half, as a check on the fit (none when only the eval split was matched).
    train_check = None if run.get("eval_only") else metrics(ours, queries, "train", families, key=logit_of)["overall"]
    extra_q = {k: q for k, q in all_queries.items() if q["family"] in extra or q["reference"] is None}
    extra_results = {name: metrics(preds, extra_q, "eval", extra, key=logit_of if preds is ours else (lambda t: t))
                     for name, preds in methods.items()} if extra else {}
    extra_without = metrics(ours, {k: v for k, v in extra_q.items() if k not in derived}, "eval", extra,
                            key=logit_of) if extra else {}
    extra_siblings = metrics(ours, {k: v for k, v in extra_q.items() if k not in derived}, "eval", extra,
                             same_group=lambda a, b: ref_group.get(a) == ref_group.get(b),
                             key=logit_of) if extra else {}
    n_eval_refs = sum(1 for r in refs.values() if r["split"] == "eval")
    n_eval_distr = sum(1 for q in queries.values() if q["split"] == "eval" and q["reference"] is None)

    loadavg = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
    doc = {"run": run, "calibration": cal, "loadavg_at_evaluation": loadavg, "results": results, "speed": speed, "train_overall": train_check,
           "eval_references": n_eval_refs, "eval_distractors": n_eval_distr,
           "without_known_derivatives": {"excluded": sorted(derived), "results": without_derived},
           "without_known_derivatives_siblings_found": with_siblings,
           "extra_families": {"families": extra, "results": extra_results, "without_known_derivatives": extra_without,
                              "without_known_derivatives_siblings_found": extra_siblings}}
    os.makedirs(os.path.join(args.repo, "bench", "results"), exist_ok=True)
    # The default 100-reference run writes detect.*; other scales their own files, so
    # running one never overwrites the other's figures.
    stem = "detect" if len(refs) == 100 else f"detect-refs{len(refs)}"
    with open(os.path.join(args.repo, "bench", "results", f"{stem}.json"), "w") as f:
        json.dump(doc, f, indent=1, default=str)

    L = []
    L.append("# Copy detection: Xiezhi vs peers (eval split)\n")
    L.append(f"Scale: {len(refs)} references ({n_eval_refs} in the eval split), {len(families)} edits each, "
             f"{sum(1 for q in queries.values() if q['reference'] is None)} distractors ({n_eval_distr} in eval); "
             f"seed {man['seed']}. Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
             f"by `bench/detect/run.sh` (see bench/detect/README.md). One prediction per query (its best reference); "
             f"µAP over all eval queries, distractors included; per family: that family's queries plus all eval distractors.\n")
    L.append("| method | µAP | recall@P0.99 | images/s | threads | peak RSS MiB | what is computed |")
    L.append("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        ips, th, rss, what = speed[name]
        L.append(f"| {name} | {fmt(r['overall']['uAP'])} | {fmt(r['overall']['recall_at_p99'])} | {fmt(ips, 1)} | {th} | "
                 f"{'–' if rss is None else f'{rss / 1024:.0f}'} | {what} |")
    L.append("\n## µAP per edit family\n")
    L.append("| method | " + " | ".join(families) + " |")
    L.append("|---|" + "---|" * len(families))
    for name, r in results.items():
        L.append(f"| {name} | " + " | ".join(fmt(r[f]["uAP"], 2) for f in families) + " |")
    L.append("\n## Recall at precision 0.99 per edit family\n")
    L.append("| method | " + " | ".join(families) + " |")
    L.append("|---|" + "---|" * len(families))
    for name, r in results.items():
        L.append(f"| {name} | " + " | ".join(fmt(r[f]["recall_at_p99"], 2) for f in families) + " |")
    excluded_eval = [q for q in derived if queries[q]["split"] == "eval"]
    if excluded_eval:
        L.append(f"| xiezhi (calibrated), without {len(excluded_eval)} unrelated image(s) that are edits of a reference "
                 "(sensitivity, see below) | " + " | ".join(fmt(without_derived[f]["recall_at_p99"], 2) for f in families) + " |")
        listed = [f"{queries[q]['path'].split('/usr/share/', 1)[-1]} ({KNOWN_DERIVATIVES[k][1]} as "
                  f"{KNOWN_DERIVATIVES[k][0].split('/')[-1]})"
                  for q in excluded_eval for k in KNOWN_DERIVATIVES if queries[q]["path"].endswith(k)]
        L.append("| the same, and a copy attributed to another reference of its own reference's group counted as found "
                 "(sensitivity) | " + " | ".join(fmt(with_siblings[f]["recall_at_p99"], 2) for f in families) + " |")
        L.append("\nExcluded in those lines only: " + ("; ".join(listed) if len(listed) <= 5 else
                 f"{len(listed)} eval distractors, each listed with what was seen in "
                 "`bench/detect/known-derivatives.tsv`")
            + f". Overall without it: µAP {fmt(without_derived['overall']['uAP'])}, "
            f"recall@P0.99 {fmt(without_derived['overall']['recall_at_p99'])}; with siblings counted as found: µAP "
            f"{fmt(with_siblings['overall']['uAP'])}, recall@P0.99 {fmt(with_siblings['overall']['recall_at_p99'])}. "
            "References are drawn up to three per group (frames of one animation, variants of one item), so a copy "
            "may match its reference's sibling best; the headline counts that as a false alarm, unless the two "
            "references show the same artwork (a Hedgewars map and its preview, which is the map scaled down; see "
            "`same_artwork_key` in prepare.py), when the copy is a copy of both and counts as found.")
    # Where copies are lost: never compared with their reference (the shortlist), or
    # compared and scored low (the comparison).
    compared = {(p["query"], p["reference"]) for p in pairs}
    L.append("\n## Edited copies (eval) whose own reference was compared with them (shortlist recall)\n")
    L.append("| " + " | ".join(families) + " |")
    L.append("|" + "---|" * len(families))
    row = []
    for f in families:
        fq = [q for q in queries.values() if q["split"] == "eval" and q["family"] == f]
        row.append(fmt(sum(1 for q in fq if (q["id"], q["reference"]) in compared) / len(fq), 2) if fq else "–")
    L.append("| " + " | ".join(row) + " |")
    L.extend(found_by_visible_share(ours, queries, refs, families))
    L.extend(found_by_paste_change(ours, queries))
    if extra:
        L.append("\n## Measured beside the issue's families\n")
        L.append(f"{', '.join(extra)}: outside the overall figures above and the calibration fit. paste30-canvas "
                 "pastes the reference's whole canvas, transparent margins included, at 30 % of the scene (the "
                 "benchmark's paste30 before session 18): a sprite that is mostly margin then covers a few percent of "
                 "the scene, a small-paste case. Each family's queries plus all eval distractors.\n")
        L.append("| method | " + " | ".join(f"{f} µAP | {f} recall@P0.99" for f in extra) + " |")
        L.append("|---|" + "---|---|" * len(extra))
        for name, r in extra_results.items():
            L.append(f"| {name} | " + " | ".join(f"{fmt(r[f]['uAP'], 2)} | {fmt(r[f]['recall_at_p99'], 2)}"
                                                  for f in extra) + " |")
        L.append("| xiezhi (calibrated), without the known derivatives (sensitivity) | " + " | ".join(
            f"{fmt(extra_without[f]['uAP'], 2)} | {fmt(extra_without[f]['recall_at_p99'], 2)}" for f in extra) + " |")
        L.append("| the same, siblings counted as found (sensitivity) | " + " | ".join(
            f"{fmt(extra_siblings[f]['uAP'], 2)} | {fmt(extra_siblings[f]['recall_at_p99'], 2)}" for f in extra) + " |")
        for f in extra:
            fq = [q for q in all_queries.values() if q["split"] == "eval" and q["family"] == f]
            got = sum(1 for q in fq if (q["id"], q["reference"]) in compared)
            L.append(f"\n{f}: the own reference was compared with {got} of {len(fq)} eval copies (shortlist recall "
                     f"{fmt(got / len(fq), 2) if fq else '–'}).")
            if f.startswith("paste"):
                L.extend(found_by_paste_change(ours, all_queries, family=f))
    sources = sorted({r.get("source", "?") for r in refs.values()})
    L.append("\n## Recall at precision 0.99 by source of the reference (xiezhi calibrated)\n")
    L.append("Each line: the edited copies of that source's eval references plus all eval distractors but "
             "the known derivatives (so the threshold is the one a reader of the headline would meet).\n")
    L.append("| source | eval references | " + " | ".join(families) + " |")
    L.append("|---|---|" + "---|" * len(families))
    for src in sources:
        group = {r for r, d in refs.items() if d.get("source", "?") == src}
        sub = {k: v for k, v in queries.items()
               if k not in derived and (v["reference"] is None or v["reference"] in group)}
        m = metrics(ours, sub, "eval", families, key=logit_of)
        n = sum(1 for r in group if refs[r]["split"] == "eval")
        L.append(f"| {src} | {n} | " + " | ".join(fmt(m[f]["recall_at_p99"], 2) for f in families) + " |")
    # The false alarms behind the recall at precision 0.99, by name, so a reader can look at them.
    alarms = sorted(((z, qid, ref) for qid, (z, ref) in ours.items()
                     if qid in queries and queries[qid]["split"] == "eval" and queries[qid]["reference"] is None and z >= 0.0),
                    reverse=True)
    if alarms:
        L.append("\n## Unrelated images (eval split) that the calibrated score puts at 0.5 or more\n")
        L.append("| score | unrelated image | best reference |")
        L.append("|---|---|---|")
        rel = lambda path: path.split("/usr/share/", 1)[-1]
        for z, qid, ref in alarms[:MAX_ALARMS_LISTED]:
            sc = 1.0 if z == math.inf else sigmoid(z)
            known = " (known derivative)" if qid in derived else ""
            L.append(f"| {sc:.3f} | {rel(queries[qid]['path'])}{known} | {rel(refs[ref]['path'])} |")
        if len(alarms) > MAX_ALARMS_LISTED:
            L.append(f"\n{len(alarms) - MAX_ALARMS_LISTED} more at 0.5 or above are in the pairs file of the run.")
    L.append(f"\nHarness: {run['threads']} threads; fingerprinting took {run['full_fingerprint_seconds']:.0f} s, "
             f"matching {run['match_seconds']:.0f} s; unreadable files: {len(run['unreadable'])}. "
             f"Peers run single-threaded in Python (their images/s include decoding). "
             + (f"Scores recomputed from the stored signals by `detect-bench --rescore` on "
                f"{datetime.datetime.fromtimestamp(run['rescored_at_unix'], datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
                f"(fingerprints and signals from the harness run above). " if run.get("rescored_at_unix") else "")
             + (f"The candidates were embedded where keypoints placed each reference (`located_cosine`) "
                f"afterwards, by `detect-bench --locate` on that run's pairs, in "
                f"{run['located_afterwards_seconds']:.0f} s more. " if run.get("located_afterwards_seconds") else "")
             +
             f"Load average when evaluated: {' '.join(loadavg)} (2 cores shared with other work; the images/s "
             f"are from the harness run itself, see run.json).")
    md = "\n".join(L) + "\n"
    with open(os.path.join(args.repo, "bench", "results", f"{stem}.md"), "w") as f:
        f.write(md)
    print(md)

    # The error-rate file the evidence report cites.
    ours_r = results["xiezhi (calibrated score)"]
    E = []
    E.append("# How the match score is calibrated, and its measured error rates\n")
    E.append("This file is written by `bench/detect/evaluate.py`; the evidence report cites it. "
             "Do not edit by hand: rerun the benchmark.\n")
    E.append("## Method\n")
    E.append("- `xiezhi_match::score` (the score that is shown; its logit ranks the predictions below) = 1 for identical bytes or identical pixels; otherwise "
             "`sigmoid(bias + Σ weight_i · feature_i)` with the features of `xiezhi_match::features` "
             "(source: `crates/3-match/src/lib.rs`) and the weights in `models/calibration.json`:\n")
    E.append("| feature | weight |\n|---|---|")
    for n, w in zip(cal["features"], cal["weights"]):
        E.append(f"| {n} | {w} |")
    E.append(f"| (bias) | {cal['bias']} |\n")
    E.append(f"- Fit: {cal['method']}; {cal.get('train_pairs', '?')} training pairs "
             f"({cal.get('train_positive_pairs', '?')} true copies).")
    E.append(f"- Data: {len(refs)} real reference images from Debian packages (Wesnoth portraits and sprites, "
             "Openclipart, Stellarium astrophotos, GNOME backgrounds, scikit-image photos, FreedroidRPG, Hedgewars), "
             f"{len(families)} edited copies of each ({', '.join(families)}), and "
             f"{sum(1 for q in queries.values() if q['reference'] is None)} unrelated images from the same packages. "
             "References are split in two halves by a hash, drawn once for each set of related references (one "
             "asset's variants, such as a map, its mask and its preview, or one screen in several languages, fall in "
             "the same half): the weights are fitted on one half (and its copies, and half of the unrelated images), "
             "the figures below are measured on the other half only.")
    E.append("- An edited copy is a copy of its reference and of any reference showing the same artwork (a "
             "Hedgewars map and its preview, which is the map scaled down): matching either is a true match.")
    E.append(f"- Eval split: {n_eval_refs} references, {ours_r['overall']['positives']} edited copies, "
             f"{n_eval_distr} unrelated images. Each query keeps its best-scoring reference.\n")
    E.append("## Error rates on the held-out split\n")
    E.append("Precision = share of flagged matches (score ≥ threshold, best reference per image) that are true copies of "
             "that reference; recall = share of the edited copies flagged with the right reference.\n")
    E.append("| family | " + " | ".join(f"precision ≥{t} | recall ≥{t}" for t in THRESHOLDS) + " | µAP |")
    E.append("|---|" + "---|---|" * len(THRESHOLDS) + "---|")
    for fam in ["overall"] + families:
        th = ours_r[fam]["thresholds"]
        E.append(f"| {fam} | " + " | ".join(f"{fmt(x['precision'])} | {fmt(x['recall'])}" for x in th) +
                 f" | {fmt(ours_r[fam]['uAP'])} |")
    E.append("\nPer family, the unrelated images of the eval split are included, so precision counts their false alarms.")
    E.append(f"\nSource of these figures: `bench/results/{stem}.json` ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d}).")
    # Only the run the calibration was fitted on (or at the scale it records) speaks
    # for the error rates the report cites.
    if not args.no_fit or cal.get("benchmark", {}).get("references") == len(refs):
        with open(os.path.join(args.repo, "models", "METHOD-error-rates.md"), "w") as f:
            f.write("\n".join(E) + "\n")
    else:
        print(f"models/METHOD-error-rates.md left as it is: the calibration was fitted at "
              f"{cal.get('benchmark', {}).get('references')} references, this run has {len(refs)}")


if __name__ == "__main__":
    main()

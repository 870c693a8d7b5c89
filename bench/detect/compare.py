"""Evaluated runs side by side, family by family, to tell what a change did.

    python3 bench/detect/compare.py committed=bench/results/detect-refs1000.json \
        change=/tmp/try/bench/results/detect-refs1000.json

Each argument is NAME=PATH of a results JSON that `evaluate.py` wrote. Prints a Markdown table:
recall at precision 0.99 per edit family without the known derivatives (the issue's figures),
the headline µAP and recall at precision 0.99, and recall and false alarms at scores 0.5, 0.9 and
0.99; every run after the first also shows its change from the first. A family's recall at
precision 0.99 moves with its cut-off as much as with its copies: a single unrelated image
scoring higher lifts the cut-off of every family (see `misses.py --alarms-down-to`).
"""
import argparse
import json

OURS = "xiezhi (calibrated score)"


def rows(results):
    """(label, value, is_count) of one run's results JSON, in table order."""
    w = results["without_known_derivatives"]["results"]
    head = results["results"][OURS]["overall"]
    out = [("headline µAP", head["uAP"], False), ("headline recall@P0.99", head["recall_at_p99"], False)]
    out.extend((f"{fam} recall@P0.99", m["recall_at_p99"], False) for fam, m in w.items())
    for fam in ("overall", "paste30"):
        for t in w.get(fam, {}).get("thresholds", []):
            out.append((f"{fam} recall at score {t['threshold']}", t["recall"], False))
            out.append((f"{fam} false alarms at score {t['threshold']}", t["false"], True))
    return out


def table(runs):
    """Markdown lines comparing `runs`, a list of (name, results JSON)."""
    first = {label: v for label, v, _ in rows(runs[0][1])}
    by_run = [{label: (v, count) for label, v, count in rows(r)} for _, r in runs]
    labels = list(first) + [lab for r in by_run[1:] for lab in r if lab not in first]
    L = ["| | " + " | ".join(name for name, _ in runs) + " |", "|---" * (len(runs) + 1) + "|"]
    for label in dict.fromkeys(labels):
        cells = []
        for i, r in enumerate(by_run):
            if label not in r:
                cells.append("–")
                continue
            v, count = r[label]
            shown = (lambda x: f"{x}") if count else (lambda x: f"{x:.3f}")
            cell = shown(v)
            # A change is shown where it shows at the table's precision.
            if i > 0 and label in first and cell != shown(first[label]):
                d = v - first[label]
                cell += f" ({d:+d})" if count else f" ({d:+.3f})"
            cells.append(cell)
        L.append(f"| {label} | " + " | ".join(cells) + " |")
    return L


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", metavar="NAME=PATH", help="a results JSON written by evaluate.py")
    args = ap.parse_args()
    runs = []
    for arg in args.runs:
        name, sep, path = arg.partition("=")
        if not sep:
            name, path = arg, arg
        try:
            with open(path) as f:
                results = json.load(f)
            rows(results)
        except (OSError, ValueError) as e:
            raise SystemExit(f"compare.py: cannot read {path}: {e}")
        except (KeyError, TypeError, AttributeError) as e:
            raise SystemExit(f"compare.py: {path} is not a results JSON written by evaluate.py (no {e})")
        runs.append((name, results))
    print("\n".join(table(runs)))


if __name__ == "__main__":
    main()

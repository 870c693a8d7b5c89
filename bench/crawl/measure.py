#!/usr/bin/env python3
"""Reads the WARC output and GNU time reports of each crawl and writes the comparison.

  measure.py RESULTS_DIR RUNS_JSON

RUNS_JSON lists {site, tool, warc_glob, time_file, exit_code, load, rep};
the counts come from the WARC files themselves (warcio), the same way for both tools.
Each repetition runs both tools back to back; the ratio reported per site is the median
of the repetitions' ratios (this machine's disk latency varies several-fold over minutes).
"""
import statistics
import glob
import json
import os
import platform
import re
import sys

from warcio.archiveiterator import ArchiveIterator

IMAGE_EXT = re.compile(r"\.(png|jpe?g|gif|webp|bmp|ico|svg|tiff?|avif)$", re.I)


def gnu_time(path):
    text = open(path).read()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (.+)", text).group(1).strip()
    parts = [float(p) for p in wall.split(":")]
    secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1)) + float(
        re.search(r"System time \(seconds\): ([\d.]+)", text).group(1)
    )
    return secs, rss_kb, cpu


def warc_counts(pattern):
    pages, images, other, payload = set(), set(), 0, 0
    files = sorted(glob.glob(pattern))
    for f in files:
        with open(f, "rb") as stream:
            for rec in ArchiveIterator(stream):
                if rec.rec_type != "response" or rec.http_headers is None:
                    continue
                status = rec.http_headers.get_statuscode()
                ctype = (rec.http_headers.get_header("Content-Type") or "").split(";")[0].strip().lower()
                uri = rec.rec_headers.get_header("WARC-Target-URI")
                body = rec.content_stream().read()
                payload += len(body)
                if status != "200":
                    other += 1
                elif ctype == "text/html":
                    pages.add(uri)
                elif ctype.startswith("image/") or IMAGE_EXT.search(uri.split("?")[0]):
                    images.add(uri)
                else:
                    other += 1
    return {"files": len(files), "pages": pages, "images": images, "other": other, "payload_bytes": payload}


def main():
    out_dir, runs_file = sys.argv[1], sys.argv[2]
    runs = json.load(open(runs_file))
    rows, by_site = [], {}
    for r in runs:
        c = warc_counts(r["warc_glob"])
        secs, rss_kb, cpu = gnu_time(r["time_file"])
        row = {
            "site": r["site"],
            "tool": r["tool"],
            "exit_code": r["exit_code"],
            "seconds": round(secs, 2),
            "cpu_seconds": round(cpu, 2),
            "peak_rss_mib": round(rss_kb / 1024, 1),
            "pages": len(c["pages"]),
            "images": len(c["images"]),
            "other_responses": c["other"],
            "payload_bytes": c["payload_bytes"],
            "warc_files": c["files"],
            "pages_per_s": round(len(c["pages"]) / secs, 1) if secs else None,
            "images_per_s": round(len(c["images"]) / secs, 1) if secs else None,
            "mib_per_s": round(c["payload_bytes"] / secs / 2**20, 2) if secs else None,
            "load_before": r.get("load"),
            "rep": r.get("rep", 1),
        }
        rows.append(row)
        by_site.setdefault(r["site"], {}).setdefault(row["rep"], {})[r["tool"]] = c

    # Every repetition's xiezhi run must find every image of the same repetition's wget run;
    # the comparison kept per site is the repetition where xiezhi missed the most.
    comparisons = {}
    for site, reps in by_site.items():
        for rep, tools in sorted(reps.items()):
            if "wget" in tools and "xiezhi" in tools:
                w, x = tools["wget"]["images"], tools["xiezhi"]["images"]
                c = {
                    "rep": rep,
                    "wget_images": len(w),
                    "xiezhi_images": len(x),
                    "missed_by_xiezhi": sorted(w - x),
                    "only_xiezhi": sorted(x - w),
                }
                worst = comparisons.get(site)
                if worst is None or len(c["missed_by_xiezhi"]) > len(worst["missed_by_xiezhi"]):
                    comparisons[site] = c


    md = ["# Crawl benchmark: `xiezhi crawl` vs `wget --mirror`\n"]
    md.append(
        f"- machine: {os.cpu_count()} cores, {platform.machine()}; sites served by nginx on 127.0.0.1; "
        "xiezhi with `--rate 0 --ignore-robots` and full WARC output (one gzip member per record; group commit on a recording thread beside the fetches: per batch, one WARC fdatasync, the batch's blobs made durable with two syncfs, then one case.db transaction); "
        "wget with `--mirror --page-requisites --no-parent -e robots=off --warc-file`.\n"
        "- counts come from each tool's WARC files read with warcio: pages = 200 text/html responses, "
        "images = 200 image responses (distinct URLs); MiB/s = response payload bytes / wall time.\n"
    )
    md.append(f"- xiezhi binary: `{os.environ.get('CRAWL_BINARY', '?')}`; `load` = 1-minute load average just before each run "
              "(other work on the machine slows both tools).\n")
    if os.environ.get("CRAWL_NOTE"):
        md.append(f"- note: {os.environ['CRAWL_NOTE']}\n")
    md.append("| site | run | tool | exit | wall s | CPU s | pages | images | pages/s | images/s | MiB/s | peak RSS MiB | load |")
    md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        md.append(
            f"| {r['site']} | {r['rep']} | {r['tool']} | {r['exit_code']} | {r['seconds']} | {r['cpu_seconds']} | {r['pages']} | "
            f"{r['images']} | {r['pages_per_s']} | {r['images_per_s']} | {r['mib_per_s']} | {r['peak_rss_mib']} | "
            f"{r['load_before']} |"
        )
    md.append("\n## Image sets (every image wget found must be found by xiezhi; worst run shown)\n")
    for site, c in comparisons.items():
        md.append(
            f"- **{site}** (run {c['rep']}): wget {c['wget_images']}, xiezhi {c['xiezhi_images']}; "
            f"missed by xiezhi: {len(c['missed_by_xiezhi'])}; found only by xiezhi: {len(c['only_xiezhi'])}"
        )
        for u in c["missed_by_xiezhi"][:20]:
            md.append(f"  - missed: {u}")
        for u in c["only_xiezhi"][:10]:
            md.append(f"  - only xiezhi: {u}")
    speed = {}
    for r in rows:
        speed.setdefault(r["site"], {}).setdefault(r["rep"], {})[r["tool"]] = r
    md.append("\n## Ratios (median of the runs; each run's ratio in brackets)\n")
    summary = {}
    for site, reps in speed.items():
        ratios = [
            t["xiezhi"]["pages_per_s"] / t["wget"]["pages_per_s"]
            for _, t in sorted(reps.items())
            if "wget" in t and "xiezhi" in t and t["wget"]["pages_per_s"]
        ]
        if not ratios:
            continue
        rss = [t["xiezhi"]["peak_rss_mib"] for t in reps.values() if "xiezhi" in t]
        summary[site] = {"median_ratio": round(statistics.median(ratios), 2), "ratios": [round(x, 2) for x in ratios],
                         "xiezhi_peak_rss_mib_max": max(rss)}
        md.append(
            f"- {site}: xiezhi/wget pages/s = {statistics.median(ratios):.2f} "
            f"[{', '.join(f'{x:.2f}' for x in ratios)}] (target ≥ 2); xiezhi peak RSS max {max(rss)} MiB"
        )
    json.dump({"runs": rows, "image_sets": comparisons, "summary": summary},
              open(os.path.join(out_dir, "crawl.json"), "w"), indent=2)
    open(os.path.join(out_dir, "crawl.md"), "w").write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()

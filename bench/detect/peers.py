#!/usr/bin/env python3
"""One peer method of the detection benchmark, run on the same manifest as Xiezhi.

Hashes every reference and query with the peer library as published on PyPI, and
for each query writes the nearest reference by Hamming distance (score = -distance).
One method per process, so its peak RSS is its own.

Usage: peers.py --manifest M --method NAME --out FILE.jsonl
Methods: imagehash-phash, imagehash-dhash, pdqhash, imagededup-phash,
         imagededup-dhash, imagededup-whash, imagededup-ahash
"""
import argparse
import json
import resource
import sys
import time

import numpy as np
from PIL import Image

Image.MAX_IMAGE_PIXELS = 40_000_000


def bits_from_hex(h):
    return np.unpackbits(np.frombuffer(bytes.fromhex(h), dtype=np.uint8))


def hasher(method):
    """Returns path -> list of bit vectors (several for the reference's variants)."""
    if method.startswith("imagehash-"):
        import imagehash
        fn = {"phash": imagehash.phash, "dhash": imagehash.dhash}[method.split("-", 1)[1]]
        return lambda path, is_ref: [fn(Image.open(path)).hash.flatten().astype(np.uint8)]
    if method == "pdqhash":
        import pdqhash

        def pdq(path, is_ref):
            arr = np.asarray(Image.open(path).convert("RGB"))
            if is_ref:  # the reference's 8 rotations/mirrorings, as PDQ is meant to be used
                hashes, _ = pdqhash.compute_dihedral(arr)
                return [np.asarray(h, dtype=np.uint8) for h in hashes]
            h, _ = pdqhash.compute(arr)
            return [np.asarray(h, dtype=np.uint8)]
        return pdq
    if method.startswith("imagededup-"):
        from imagededup import methods
        kind = method.split("-", 1)[1]
        m = {"phash": methods.PHash, "dhash": methods.DHash, "whash": methods.WHash, "ahash": methods.AHash}[kind](
            verbose=False)

        def dedup(path, is_ref):
            h = m.encode_image(image_file=path)
            if h is None:
                raise ValueError("imagededup could not read the file")
            return [bits_from_hex(h)]
        return dedup
    sys.exit(f"unknown method {method}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--method", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.manifest) as f:
        man = json.load(f)
    h = hasher(args.method)
    t0 = time.perf_counter()
    ref_bits, ref_owner, failed = [], [], 0
    for i, r in enumerate(man["refs"]):
        try:
            for b in h(r["path"], True):
                ref_bits.append(b)
                ref_owner.append(i)
        except Exception:
            failed += 1
    q_bits = []
    for q in man["queries"]:
        try:
            q_bits.append(h(q["path"], False)[0])
        except Exception:
            q_bits.append(None)
            failed += 1
    hash_secs = time.perf_counter() - t0
    R = np.stack(ref_bits).astype(bool)
    owner = np.asarray(ref_owner)
    with open(args.out, "w") as out:
        for q, b in zip(man["queries"], q_bits):
            if b is None:
                continue
            d = np.count_nonzero(R != b.astype(bool), axis=1)
            j = int(np.argmin(d))
            out.write(json.dumps({"query": q["id"], "reference": man["refs"][owner[j]]["id"],
                                  "score": -int(d[j]), "bits": int(R.shape[1])}) + "\n")
    n = len(man["refs"]) + len(man["queries"])
    info = {"method": args.method, "images": n, "failed": failed, "hash_seconds": hash_secs,
            "images_per_s": n / hash_secs, "threads": 1,
            "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    with open(args.out + ".run.json", "w") as f:
        json.dump(info, f)
    print(json.dumps(info), file=sys.stderr)


if __name__ == "__main__":
    main()

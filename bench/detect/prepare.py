#!/usr/bin/env python3
"""Builds the copy-detection benchmark from the real images fetched by fetch_data.sh.

Selects references and distractors with a fixed seed (no distractor from a
reference's group, nor of its kin: see kinship()), makes the edited copies of
every reference (AugLy where it offers the edit, Pillow for the rest), splits
references (and everything made from them) into train/eval halves that never
share a reference, nor two related ones (see related_reference_keys()), and writes
manifest.json (read by the Rust harness) plus selection.tsv (every file used, for the
results folder).

Usage: prepare.py --data ROOT --out DIR --refs N [--distractor-ratio 10] [--seed 4]
"""
import argparse
import hashlib
import io
import json
import math
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFont, ImageStat

Image.MAX_IMAGE_PIXELS = 40_000_000  # larger files are left out of the pool (decoder-limit tests live elsewhere)

FAMILIES = ["crop60", "crop35", "down25", "jpeg25", "flip", "hue", "palette",
            "text", "logo", "paste30", "rot10", "combo"]
# Measured and reported beside the families, but outside their overall figures and
# the calibration fit: the reference's whole canvas, transparent margins included, pasted at
# 30 % of the scene. For a sprite that is mostly margin, the artwork then covers a few
# percent of the scene: a small-paste case, harder than the "30 % of its area".
EXTRA_FAMILIES = ["paste30-canvas"]
ALL_FAMILIES = FAMILIES + EXTRA_FAMILIES
EXTS = (".png", ".jpg", ".jpeg")
MAX_EDIT_SIDE = 1200  # edited copies of large photos are stored at most this long


def source_of(rel):
    """(source, group): references and distractors never come from one group, so
    an animation frame next to a reference is never labelled 'unrelated'."""
    if "/portraits/" in rel:
        return "wesnoth-portrait", "portrait:" + os.path.splitext(os.path.basename(rel))[0]
    if rel.startswith("usr/share/games/wesnoth"):
        return "wesnoth-sprite", os.path.dirname(rel)
    if rel.startswith("usr/share/openclipart"):
        # By folder: a folder is often one set (cards of one deck, generated stars,
        # one icon theme) whose members share drawn parts, so none is "unrelated".
        return "openclipart", os.path.dirname(rel)
    if "/nebulae/" in rel or rel.startswith("usr/share/backgrounds") or "/skimage/" in rel:
        return "photo", rel
    if rel.startswith("usr/share/freedroidrpg"):
        return "freedroid", os.path.dirname(rel)
    if rel.startswith("usr/share/games/hedgewars"):
        return "hedgewars", os.path.dirname(rel)
    return "other", os.path.dirname(rel)


def kinship(rel):
    """Keys under which a file is the same asset as another in a different folder:
    packages keep one asset's variants (locales, themes, item retextures, maps) under one
    file name in sibling folders, and Wesnoth draws the units of an advancement line on
    one body within a faction's folder. A distractor sharing a key with a reference is
    left out: by looking at the top of the 1,000-reference ranking, such files were
    copies of the reference more often than not (bench/detect/known-derivatives.tsv)."""
    parts = rel.split("/")
    keys = {("sibling", "/".join(parts[:-2]), parts[-1])}
    if rel.startswith("usr/share/games/wesnoth") and "units" in parts:
        i = parts.index("units")
        keys.add(("faction", "/".join(parts[: i + 2])))
    return keys


KNOWN_DERIVATIVES_TSV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "known-derivatives.tsv")


def known_derivatives(path=KNOWN_DERIVATIVES_TSV):
    """Distractor path suffix -> (reference path suffix, what was seen): distractors found,
    by looking at them, to be edited versions of a reference drawn from another group.
    Labelled "unrelated" by the selection, they are copies in fact."""
    out = {}
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            distractor, reference, seen = line.rstrip("\n").split("\t")
            out[distractor] = (reference, seen)
    return out


def known_copy_test(ref_rels):
    """A predicate on pool paths: listed in known-derivatives.tsv as a copy of one of
    these references."""
    suffixes = tuple(d for d, (r, _) in known_derivatives().items() if any(x.endswith(r) for x in ref_rels))
    return lambda rel: bool(suffixes) and rel.endswith(suffixes)


REF_SHARES = {"wesnoth-portrait": 0.25, "openclipart": 0.25, "photo": 0.15,
              "wesnoth-sprite": 0.15, "freedroid": 0.1, "hedgewars": 0.1}


BLANK_LUMA_STD = 1.0  # 0..255; below it, a picture on the grey the model sees is one flat colour


def is_blank(path):
    """Whether a picture shows nothing: on the neutral grey the model composites it on, it
    is one flat colour (fully transparent, or a single colour). Such a file is no artwork
    to protect, and its copies are as blank as it is. At seed 4, 8 of the 1,000 references
    drawn before this rule were: four fully transparent Wesnoth wall placeholders, three
    light overlays fainter than one grey level, and a fully transparent Openclipart
    "gradient". The engine warns of such references (Fingerprint::shows_nothing)."""
    with Image.open(path) as im:
        im = im.convert("RGBA")
        im.thumbnail((256, 256))
    grey = Image.new("RGBA", im.size, (128, 128, 128, 255))
    grey.alpha_composite(im)
    return ImageStat.Stat(grey.convert("L")).stddev[0] < BLANK_LUMA_STD


def same_artwork_key(rel):
    """A key shared by files that show one artwork, one derived from the other, or None.
    Hedgewars ships each map's preview.png as its map.png scaled into 256 x 128: all 47
    pairs of hedgewars-data were looked at, and all but one show the map's own drawing
    (most simply scaled, some reframed: Cheese's preview is zoomed in, the SB_ maps sit
    lower); Knockball's preview is a game scene instead. An edited copy of one is thus a
    copy of the other, and the benchmark credits a copy matched to either (evaluate.py)."""
    parts = rel.split("/")
    if (rel.startswith("usr/share/games/hedgewars/Data/Maps/") and parts[-1] in ("map.png", "preview.png")
            and parts[-2] != "Knockball"):
        return ("hedgewars-map", "/".join(parts[:-1]))
    return None


def same_artwork_ids(refs):
    """Per reference index, the indices of the other references showing the same artwork:
    by same_artwork_key(), or listed together in known-derivatives.tsv (an edit of the
    other, found by looking; a line names a distractor, but when both files are drawn as
    references, each is a copy of the other)."""
    by_key = {}
    for i, r in enumerate(refs):
        key = same_artwork_key(r["rel"])
        if key is not None:
            by_key.setdefault(key, []).append(i)
    out = [{j for j in by_key.get(same_artwork_key(r["rel"]), []) if j != i} for i, r in enumerate(refs)]
    for copy, (original, _) in known_derivatives().items():
        ends_copy = [i for i, r in enumerate(refs) if r["rel"].endswith(copy)]
        ends_original = [i for i, r in enumerate(refs) if r["rel"].endswith(original)]
        for i in ends_copy:
            for j in ends_original:
                if i != j:
                    out[i].add(j)
                    out[j].add(i)
    return [sorted(s) for s in out]


def related_reference_keys(refs):
    """Per reference rel, the key its train/eval split is drawn from: the smallest SHA-256
    among the references related to it (same group, kin, or same artwork, transitively).
    Related references share drawn content (a map and its preview, one dialog in five
    languages, frames of one animation), so splitting them apart would train the
    calibration on copies of what the evaluation then measures."""
    parent = list(range(len(refs)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_holder = {}
    for i, r in enumerate(refs):
        for key in {("group", r["source"], r["group"])} | kinship(r["rel"]):
            if key in first_holder:
                parent[root(i)] = root(first_holder[key])
            else:
                first_holder[key] = i
    for i, others in enumerate(same_artwork_ids(refs)):
        for j in others:
            parent[root(i)] = root(j)
    smallest = {}
    for i, r in enumerate(refs):
        c = root(i)
        smallest[c] = min(smallest.get(c, r["sha256"]), r["sha256"])
    return {r["rel"]: smallest[root(i)] for i, r in enumerate(refs)}


def scan_pool(root, cache):
    if os.path.exists(cache):
        with open(cache) as f:
            return json.load(f)
    pool, seen = [], set()
    for d, _, files in os.walk(root):
        for name in sorted(files):
            if not name.lower().endswith(EXTS):
                continue
            path = os.path.join(d, name)
            try:
                with open(path, "rb") as f:
                    data = f.read()
                digest = hashlib.sha256(data).hexdigest()
                if digest in seen:
                    continue
                with Image.open(io.BytesIO(data)) as im:
                    w, h = im.size
            except Exception:
                continue  # unreadable or over the pixel ceiling: not part of the pool
            if min(w, h) < 64:
                continue
            seen.add(digest)
            rel = os.path.relpath(path, root)
            src, group = source_of(rel)
            pool.append({"path": path, "rel": rel, "w": w, "h": h, "source": src, "group": group, "sha256": digest})
    pool.sort(key=lambda p: p["rel"])
    with open(cache, "w") as f:
        json.dump(pool, f)
    return pool


def rgba(path):
    im = Image.open(path)
    im.load()
    im = im.convert("RGBA")
    if max(im.size) > MAX_EDIT_SIDE:
        im.thumbnail((MAX_EDIT_SIDE, MAX_EDIT_SIDE), Image.LANCZOS)
    return im


def on_white(im):
    bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
    bg.alpha_composite(im)
    return bg.convert("RGB")


def hue_shift(im, degrees):
    alpha = im.getchannel("A")
    h, s, v = im.convert("RGB").convert("HSV").split()
    shift = int(round(degrees / 360 * 255))
    h = h.point(lambda x: (x + shift) % 256)
    out = Image.merge("HSV", (h, s, v)).convert("RGB").convert("RGBA")
    out.putalpha(alpha)
    return out


def palette_swap(im):
    """Team-colour style recolour: the colour channels rotate (R->G->B->R), alpha kept."""
    r, g, b, a = im.split()
    return Image.merge("RGBA", (b, r, g, a))


def random_crop(imaugs, im, area, rng):
    side = math.sqrt(area)
    x1 = rng.uniform(0, 1 - side)
    y1 = rng.uniform(0, 1 - side)
    return imaugs.crop(im, x1=x1, y1=y1, x2=x1 + side, y2=y1 + side)


def text_overlay(im, rng, text="SALE 50% www.example.shop"):
    out = im.copy()
    d = ImageDraw.Draw(out)
    size = max(10, out.height // 9)
    try:
        font = ImageFont.truetype("DejaVuSans-Bold.ttf", size)
    except OSError:
        font = ImageFont.load_default(size=size)
    y = int(out.height * rng.uniform(0.05, 0.8))
    d.text((int(out.width * 0.03), y), text, fill=(255, 255, 0, 255), font=font, stroke_width=max(1, size // 12),
           stroke_fill=(0, 0, 0, 255))
    return out


def changed_share(paste, scene):
    """Share of a pasted copy's pixels that differ from its scene (on white, as saved) by
    more than 40 of 255 in some channel: how much of the reference the paste shows. A
    sprite is pasted with its whole canvas, so a mostly transparent one, or a dark one on
    a dark photograph, changes little of the scene. None when the sizes differ."""
    import numpy as np
    a = np.asarray(on_white(scene), dtype=np.int16)
    b = np.asarray(paste.convert("RGB"), dtype=np.int16)
    if a.shape != b.shape:
        return None
    return float((np.abs(a - b).max(axis=2) > 40).mean())


def opaque_box(im, min_alpha=8):
    """The reference cut to the box of its visible pixels (alpha >= `min_alpha`; faint
    anti-aliasing haze does not widen it). A picture without transparency is returned whole."""
    box = im.getchannel("A").point(lambda a: 255 if a >= min_alpha else 0).getbbox()
    if box is None or box == (0, 0, im.width, im.height):
        return im
    return im.crop(box)


def paste_into(im, scene, area, rng):
    """The reference pasted into an unrelated picture, covering `area` of it."""
    bg = scene.copy()
    scale = math.sqrt(area * bg.width * bg.height / (im.width * im.height))
    w, h = max(1, int(im.width * scale)), max(1, int(im.height * scale))
    if w > bg.width or h > bg.height:  # very elongated reference: fit it
        f = min(bg.width / w, bg.height / h)
        w, h = max(1, int(w * f)), max(1, int(h * f))
    small = im.resize((w, h), Image.LANCZOS)
    x, y = rng.randint(0, bg.width - w), rng.randint(0, bg.height - h)
    bg.alpha_composite(small, (x, y))
    return bg


def make_edits(imaugs, ref_path, logo_path, scene_path, rng):
    im = rgba(ref_path)
    logo = rgba(logo_path)
    scene = rgba(scene_path)
    out = {}
    out["crop60"] = (random_crop(imaugs, im, 0.60, rng), "png")
    out["crop35"] = (random_crop(imaugs, im, 0.35, rng), "png")
    small = (max(32, im.width // 4), max(32, im.height // 4))
    out["down25"] = (imaugs.resize(im, width=small[0], height=small[1]), "png")
    out["jpeg25"] = (on_white(im), "jpeg25")
    out["flip"] = (imaugs.hflip(im), "png")
    out["hue"] = (hue_shift(im, 60), "png")
    out["palette"] = (palette_swap(im), "png")
    out["text"] = (text_overlay(im, rng), "png")
    out["logo"] = (imaugs.overlay_image(im, overlay=logo, opacity=1.0, overlay_size=0.35,
                                        x_pos=rng.uniform(0, 0.6), y_pos=rng.uniform(0, 0.6)), "png")
    # paste30: the artwork (the reference cut to its visible pixels) covers 30 % of the
    # scene. paste30-canvas: the whole canvas does, margins included (the recipe before
    # session 18). Both draw the same position from one saved state of `rng`, and the
    # canvas paste advances `rng` as the only paste did before, so the later edits are
    # unchanged.
    state = rng.getstate()
    out["paste30-canvas"] = (paste_into(im, scene, 0.30, rng), "jpeg85")
    content_rng = random.Random()
    content_rng.setstate(state)
    out["paste30"] = (paste_into(opaque_box(im), scene, 0.30, content_rng), "jpeg85")
    out["rot10"] = (imaugs.rotate(im, degrees=10), "png")
    combo = random_crop(imaugs, im, 0.70, rng)
    combo = hue_shift(imaugs.hflip(combo), 30)
    combo = text_overlay(combo, rng, "© copy")
    out["combo"] = (on_white(combo), "jpeg40")
    return out


def save(im, kind, path_base):
    if kind.startswith("jpeg"):
        path = path_base + ".jpg"
        on = im if im.mode == "RGB" else on_white(im)
        on.save(path, "JPEG", quality=int(kind[4:]))
    else:
        path = path_base + ".png"
        im.save(path, "PNG")
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--refs", type=int, default=100)
    ap.add_argument("--distractor-ratio", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args()
    import augly.image as imaugs

    os.makedirs(args.out, exist_ok=True)
    pool = scan_pool(args.data, os.path.join(os.path.dirname(os.path.abspath(args.out)), "pool.json"))
    for p in pool:  # groups from the current rules, not those cached in pool.json
        p["source"], p["group"] = source_of(p["rel"])
    rng = random.Random(args.seed)

    groups = {}
    for p in pool:
        groups.setdefault((p["source"], p["group"]), []).append(p)
    keys = sorted(groups)
    rng.shuffle(keys)
    quota = {s: int(round(args.refs * share)) for s, share in REF_SHARES.items()}
    quota["wesnoth-portrait"] += args.refs - sum(quota.values())
    refs, ref_groups = [], set()
    for key in keys:  # up to 3 references per group, groups in seeded order
        src = key[0]
        if quota.get(src, 0) <= 0:
            continue
        members = sorted(groups[key], key=lambda p: p["rel"])
        rng.shuffle(members)
        take = []
        for p in members:  # blank files are no artwork: the next member instead
            if len(take) == min(3, quota[src]):
                break
            if not is_blank(p["path"]):
                take.append(p)
        if not take:
            continue
        refs.extend(take)
        quota[src] -= len(take)
        ref_groups.add(key)
    for key in keys:  # a source that ran short is filled from the others
        if len(refs) >= args.refs:
            break
        if key in ref_groups:
            continue
        shown = next((p for p in groups[key] if not is_blank(p["path"])), None)
        if shown is None:
            continue
        refs.append(shown)
        ref_groups.add(key)
    refs = refs[: args.refs]
    rest = [p for k in keys if k not in ref_groups for p in groups[k]]
    rest.sort(key=lambda p: p["rel"])
    rng.shuffle(rest)
    n_distr = int(args.refs * args.distractor_ratio)
    ref_kin = set().union(*(kinship(r["rel"]) for r in refs))
    # Logos and scenes for the overlays come from outside both sets, and are neither kin
    # nor a known copy of a reference: a scene that is another reference's screenshot
    # would make a pasted copy contain two references, and the benchmark would count
    # the other one as a false match.
    is_known_copy = known_copy_test([r["rel"] for r in refs])
    extras = [p for p in rest[n_distr:] if not kinship(p["rel"]) & ref_kin and not is_known_copy(p["rel"])]
    logos = [p for p in extras if p["source"] == "openclipart"][:50] or extras[:50]
    scenes = [p for p in extras if min(p["w"], p["h"]) >= 400][:50] or extras[:50]
    if not logos or not scenes:
        sys.exit("pool too small for the requested scale")
    overlays = {p["rel"] for p in logos + scenes}
    kin = [p for p in rest if kinship(p["rel"]) & ref_kin]
    distractors = [p for p in rest if p["rel"] not in overlays and not kinship(p["rel"]) & ref_kin][:n_distr]
    if len(distractors) < n_distr:
        sys.exit(f"pool too small: {len(distractors)} distractors unrelated to the references, {n_distr} wanted")

    split = lambda key: "train" if int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2 == 0 else "eval"
    ref_split_key = related_reference_keys(refs)
    same_artwork = same_artwork_ids(refs)
    edits_dir = os.path.join(args.out, "edits")
    os.makedirs(edits_dir, exist_ok=True)
    manifest = {"seed": args.seed, "families": FAMILIES, "extra_families": EXTRA_FAMILIES, "refs": [],
                "queries": []}
    selection = ["role\tid\tsplit\tsource\tpath\tsha256"]
    for i, r in enumerate(refs):
        rid = f"r{i:05d}"
        s = split(f"{args.seed}:{ref_split_key[r['rel']]}")
        manifest["refs"].append({"id": rid, "path": r["path"], "split": s, "source": r["source"],
                                 "same_artwork": [f"r{j:05d}" for j in same_artwork[i]]})
        selection.append(f"reference\t{rid}\t{s}\t{r['source']}\t{r['rel']}\t{r['sha256']}")
        erng = random.Random(f"{args.seed}:{rid}")
        logo, scene = erng.choice(logos), erng.choice(scenes)
        # Named after the reference's bytes and its overlays, so a changed selection never
        # reuses edits of another picture, or with another scene, left by an earlier run.
        made_of = hashlib.sha256(f"{r['sha256']}:{logo['rel']}:{scene['rel']}".encode()).hexdigest()
        base = os.path.join(edits_dir, f"{rid}-{made_of[:12]}")
        existing = {f: None for f in ALL_FAMILIES}
        done = all(os.path.exists(f"{base}-{f}.png") or os.path.exists(f"{base}-{f}.jpg") for f in ALL_FAMILIES)
        if done:
            for f in ALL_FAMILIES:
                existing[f] = f"{base}-{f}.png" if os.path.exists(f"{base}-{f}.png") else f"{base}-{f}.jpg"
        else:
            for f, (im, kind) in make_edits(imaugs, r["path"], logo["path"], scene["path"], erng).items():
                existing[f] = save(im, kind, f"{base}-{f}")
        for f in ALL_FAMILIES:
            query = {"id": f"{rid}-{f}", "path": existing[f], "reference": rid, "family": f, "split": s}
            if f.startswith("paste30"):  # evaluate.py measures how much of it the paste changed
                query["scene"] = scene["path"]
            manifest["queries"].append(query)
        if (i + 1) % 25 == 0:
            print(f"edited {i + 1}/{len(refs)} references", file=sys.stderr)
    for i, d in enumerate(distractors):
        did = f"d{i:06d}"
        s = split(f"{args.seed}:{d['sha256']}")
        manifest["queries"].append({"id": did, "path": d["path"], "reference": None, "family": "distractor",
                                    "split": s, "source": d["source"]})
        selection.append(f"distractor\t{did}\t{s}\t{d['source']}\t{d['rel']}\t{d['sha256']}")
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    with open(os.path.join(args.out, "selection.tsv"), "w") as f:
        f.write("\n".join(selection) + "\n")
    counts = {}
    for r in refs:
        counts[r["source"]] = counts.get(r["source"], 0) + 1
    print(json.dumps({"refs": len(refs), "by_source": counts, "distractors": len(distractors),
                      "left_out_as_kin_of_a_reference": len(kin),
                      "queries": len(manifest["queries"])}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Deterministic synthetic site for the crawl benchmark (standard library only).

  gen_site.py OUT_DIR PAGES [IMAGES_PER_PAGE]

Pages form a tree (page i links to pages 10i+1 … 10i+10), plus previous/next links; each page
shows IMAGES_PER_PAGE images of its own (small real PNGs with a per-image pattern) through
<img src>, and every page shares a stylesheet whose background image is found through CSS.
Re-running with the same arguments gives byte-identical files.
"""
import os
import random
import struct
import sys
import zlib


def png(width, height, rng):
    """A truecolour PNG: a gradient with a few rectangles, so it compresses like real art."""
    base = [rng.randrange(256) for _ in range(3)]
    rects = [(rng.randrange(width), rng.randrange(height), rng.randrange(8, 32), rng.randrange(8, 32),
              [rng.randrange(256) for _ in range(3)]) for _ in range(3)]
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            c = [(base[0] + x * 3) % 256, (base[1] + y * 3) % 256, (base[2] + x + y) % 256]
            for rx, ry, rw, rh, rc in rects:
                if rx <= x < rx + rw and ry <= y < ry + rh:
                    c = rc
            row += bytes(c)
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def page_name(i):
    return "index.html" if i == 0 else f"p/{i:05d}.html"


def href(src, dst):
    """Relative link from page src to page dst."""
    a, b = page_name(src), page_name(dst)
    if a.startswith("p/") and b.startswith("p/"):
        return b[2:]
    if a.startswith("p/"):
        return "../" + b
    return b


def main():
    out, pages = sys.argv[1], int(sys.argv[2])
    per_page = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    os.makedirs(os.path.join(out, "p"), exist_ok=True)
    os.makedirs(os.path.join(out, "img"), exist_ok=True)
    rng = random.Random(20261123)
    with open(os.path.join(out, "site.css"), "w") as f:
        f.write("body { font-family: sans-serif; background: #fff url(img/paper.png) repeat; }\n")
    with open(os.path.join(out, "img", "paper.png"), "wb") as f:
        f.write(png(32, 32, rng))
    words = "art sprite texture logo photo copy original studio game brand frame layer colour".split()
    for i in range(pages):
        prefix = "../" if i else ""
        imgs = []
        for k in range(per_page):
            name = f"img/{i:05d}-{k}.png"
            path = os.path.join(out, name)
            if not os.path.exists(path):
                with open(path, "wb") as f:
                    f.write(png(48 + (i + k) % 32, 48 + (i * 7 + k) % 32, random.Random(i * 131 + k)))
            imgs.append(f'<img src="{prefix}{name}" alt="picture {i}-{k}">')
        links = [f'<a href="{href(i, c)}">page {c}</a>' for c in range(10 * i + 1, min(10 * i + 11, pages))]
        if i > 0:
            links.append(f'<a href="{href(i, i - 1)}">previous</a>')
        if i + 1 < pages:
            links.append(f'<a href="{href(i, i + 1)}">next</a>')
        text = " ".join(rng.choice(words) for _ in range(60))
        html = (
            f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Page {i}</title>'
            f'<link rel="stylesheet" href="{prefix}site.css"></head><body><h1>Page {i}</h1><p>{text}</p>'
            f'{"".join(imgs)}<nav>{" ".join(links)}</nav></body></html>\n'
        )
        with open(os.path.join(out, page_name(i)), "w") as f:
            f.write(html)


if __name__ == "__main__":
    main()

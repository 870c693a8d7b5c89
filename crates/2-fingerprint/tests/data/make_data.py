#!/usr/bin/env python3
"""Make the small test images from scikit-image's sample data (Debian python3-skimage 0.19.3).

    apt-get download python3-skimage && dpkg-deb -x python3-skimage_*.deb /tmp/skimage
    python3 make_data.py /tmp/skimage/usr/lib/python3/dist-packages/skimage/data

Needs Pillow.  chelsea/coffee stay PNG (lossless) so the PyTorch and PDQ references
see exactly the pixels the Rust decoder sees; their short side is kept at 224 so the
model test can take an unresized 224x224 centre crop.
"""
import os
import sys

from PIL import Image

src = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
jobs = [
    # name, output, size, format
    ("chelsea.png", "chelsea.png", (336, 224), "PNG"),
    ("coffee.png", "coffee.png", (336, 224), "PNG"),
    ("camera.png", "camera.png", (224, 224), "PNG"),
    ("astronaut.png", "astronaut.jpg", (300, 300), "JPEG"),
    ("rocket.jpg", "rocket.jpg", None, "JPEG"),
    ("hubble_deep_field.jpg", "hubble.jpg", None, "JPEG"),
    ("coins.png", "coins.jpg", None, "JPEG"),
]
for name, out, size, fmt in jobs:
    im = Image.open(os.path.join(src, name))
    im = im.convert("L" if im.mode in ("L", "I", "I;16") else "RGB")
    if size is None:
        scale = 300 / max(im.size)
        size = (round(im.size[0] * scale), round(im.size[1] * scale))
    im = im.resize(size, Image.LANCZOS)
    kw = {"quality": 90} if fmt == "JPEG" else {"optimize": True}
    im.save(os.path.join(here, out), fmt, **kw)
    print(out, im.size, os.path.getsize(os.path.join(here, out)))

